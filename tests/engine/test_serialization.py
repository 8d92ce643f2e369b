"""save/load: round trips in both formats, atomic writes, clear errors for bad files, interop."""
import os
import zipfile

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import serialization
from layerforge.engine.serialization import SerializationError

FORMATS = ["safetensors", "npz"]


def _nested():
    return {
        "model": {
            "0.weight": lf.randn(4, 3),
            "0.bias": lf.zeros(4, dtype=lf.float64),
            "bn.num_batches_tracked": lf.tensor(7),
        },
        "optimizer": {
            "state": {0: {"step": lf.tensor(3.0), "exp_avg": lf.ones(4, 3)}},
            "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "amsgrad": False, "foreach": None,
                              "params": [0, 1]}],
        },
        "masks": [lf.tensor([True, False]), lf.tensor(np.arange(3, dtype=np.uint8)),
                  lf.tensor(np.ones(2, dtype=np.float16))],
        "epoch": 12,
        "best": float("inf"),
        "name": "run-1",
    }


def _assert_equal_trees(a, b, where="root"):
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, lf.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(np.asarray(a._data), np.asarray(b._data), err_msg=where)
        assert not b.requires_grad
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _assert_equal_trees(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_equal_trees(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.parametrize("fmt", FORMATS)
def test_nested_state_dict_round_trips_with_types_intact(tmp_path, fmt):
    original = _nested()
    path = tmp_path / f"checkpoint.{fmt}"
    lf.save(original, path)
    loaded = lf.load(path)
    _assert_equal_trees(original, loaded)
    assert list(loaded["optimizer"]["state"]) == [0]  # integer keys stay integers
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    loaded["model"]["0.weight"].add_(1)  # loaded tensors are ordinary, writable tensors


@pytest.mark.parametrize("fmt", FORMATS)
def test_plain_state_dict_and_bare_tensor_round_trip(tmp_path, fmt):
    path = tmp_path / f"w.{fmt}"
    state = {"fc.weight": lf.randn(2, 2), "fc.bias": lf.randn(2)}
    lf.save(state, str(path))
    _assert_equal_trees(state, lf.load(str(path)))
    lf.save(lf.arange(5), path)
    _assert_equal_trees(lf.arange(5), lf.load(path))


def test_npz_holds_plain_arrays_under_the_flat_keys(tmp_path):
    path = tmp_path / "c.npz"
    lf.save(_nested(), path)
    with np.load(path, allow_pickle=False) as npz:
        assert "optimizer.state.0.exp_avg" in npz.files
        assert npz["model.0.weight"].shape == (4, 3)


def test_foreign_npz_loads_as_flat_dict(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, w=np.ones((2, 3), np.float32), idx=np.arange(4))
    loaded = lf.load(path)
    assert set(loaded) == {"w", "idx"}
    assert loaded["w"].dtype == lf.float32 and loaded["idx"].dtype == lf.int64


@pytest.mark.parametrize("fmt", FORMATS)
def test_failed_write_leaves_the_previous_file_intact(tmp_path, monkeypatch, fmt):
    path = tmp_path / f"model.{fmt}"
    lf.save({"w": lf.ones(3)}, path)
    before = path.read_bytes()

    def write_half_then_fail(handle, arrays, header):
        handle.write(b"partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(serialization, f"_write_{fmt}", write_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        lf.save({"w": lf.zeros(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name], "the temporary file was left behind"
    np.testing.assert_array_equal(lf.load(path)["w"].numpy(), np.ones(3, np.float32))


def test_saved_file_is_not_private(tmp_path):
    path = tmp_path / "m.npz"
    lf.save({"w": lf.ones(1)}, path)
    assert path.stat().st_mode & 0o044  # readable by others as a plain open() would make it


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_file_error_names_the_file(tmp_path, fmt):
    path = tmp_path / f"model.{fmt}"
    lf.save({"w": lf.randn(64, 64)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SerializationError, match="model." + fmt) as info:
        lf.load(path)
    assert "truncated" in str(info.value)


def test_corrupted_safetensors_header_is_reported(tmp_path):
    path = tmp_path / "bad.safetensors"
    lf.save({"w": lf.ones(4)}, path)
    data = bytearray(path.read_bytes())
    data[10:20] = b"\xff" * 10
    path.write_bytes(bytes(data))
    with pytest.raises(SerializationError, match="bad.safetensors"):
        lf.load(path)


def test_corrupted_npz_member_is_reported_with_its_key(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, weights=np.arange(1000, dtype=np.float64))
    data = bytearray(path.read_bytes())
    offset = data.index(b"\x93NUMPY") + 200  # inside the array's bytes: the zip CRC no longer matches
    data[offset:offset + 8] = b"\x00\x01\x02\x03\x04\x05\x06\x07"
    path.write_bytes(bytes(data))
    with pytest.raises(SerializationError, match=r"bad\.npz.*'weights'"):
        lf.load(path)


@pytest.mark.parametrize("content", [b"", b"abc", b"this is not a tensor file at all"])
def test_garbage_file_is_reported(tmp_path, content):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(content)
    with pytest.raises(SerializationError, match="junk.safetensors"):
        lf.load(path)


def test_structure_that_disagrees_with_the_data_names_the_key(tmp_path):
    path = tmp_path / "edited.npz"
    lf.save({"layer.weight": lf.ones(2, 3)}, path)
    with np.load(path, allow_pickle=False) as npz:
        header = str(npz["__layerforge_structure__"])
    np.savez(path, **{"layer.weight": np.ones((3, 3), np.float32), "__layerforge_structure__": header})
    with pytest.raises(SerializationError, match=r"edited\.npz.*layer\.weight.*\[3, 3\]"):
        lf.load(path)
    np.savez(path, **{"__layerforge_structure__": header})
    with pytest.raises(SerializationError, match=r"layer\.weight.*missing"):
        lf.load(path)


def test_pickle_checkpoints_that_name_code_are_refused(tmp_path):
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:  # the layout torch.save writes, asking for os.system
        archive.writestr("model/data.pkl", b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.")
    with pytest.raises(SerializationError, match="refused global posix.system"):
        lf.load(path)


def test_save_refuses_what_it_cannot_store(tmp_path):
    with pytest.raises(SerializationError, match=r"'opt\.hook' is a function"):
        lf.save({"opt": {"hook": lambda: None}}, tmp_path / "m.npz")
    with pytest.raises(SerializationError, match="same key 'a.b'"):
        lf.save({"a.b": lf.ones(1), "a": {"b": lf.ones(1)}}, tmp_path / "m.npz")
    assert not any(tmp_path.iterdir()), "a refused save must not create a file"


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        lf.load(tmp_path / "nope.npz")
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        lf.save({"w": lf.ones(1)}, tmp_path / "no_such_dir" / "m.npz")


def test_map_location(tmp_path):
    path = tmp_path / "m.safetensors"
    lf.save({"w": lf.ones(2)}, path)
    assert lf.load(path, map_location="cpu")["w"].device == lf.device("cpu")
    assert lf.load(path, map_location=lf.device("cpu"))["w"].device == lf.device("cpu")
    if not lf.cuda.is_available():
        with pytest.raises(RuntimeError, match="cuda"):
            lf.load(path, map_location="cuda")


# ----------------------------------------------------------------------------- PyTorch interop
def test_our_safetensors_file_loads_in_torch(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    st_torch = pytest.importorskip("safetensors.torch")
    state = {"0.weight": lf.randn(3, 2), "0.bias": lf.randn(3), "steps": lf.tensor(5),
             "half": lf.tensor(np.ones(2, np.float16)), "mask": lf.tensor([True, False])}
    path = tmp_path / "ours.safetensors"
    lf.save(state, path)
    theirs = st_torch.load_file(str(path))
    assert set(theirs) == set(state)
    for key, value in state.items():
        assert str(theirs[key].dtype) == f"torch.{value.dtype.name}".replace("bool_", "bool")
        np.testing.assert_array_equal(theirs[key].numpy(), value.numpy())
    model = torch.nn.Linear(2, 3)
    model.load_state_dict({"weight": theirs["0.weight"], "bias": theirs["0.bias"]})


def test_torch_safetensors_file_loads_here(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    st_torch = pytest.importorskip("safetensors.torch")
    model = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5))
    path = tmp_path / "theirs.safetensors"
    st_torch.save_file(model.state_dict(), str(path))
    loaded = lf.load(path)
    assert set(loaded) == set(model.state_dict())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy())
        assert loaded[key].dtype.name == str(value.dtype).removeprefix("torch.")


@pytest.mark.parametrize("fmt", FORMATS)
def test_model_and_optimizer_checkpoint_resumes_training_exactly(tmp_path, fmt):
    nn = pytest.importorskip("layerforge.engine.nn")
    lf.manual_seed(0)
    x, y = lf.randn(16, 4), lf.randint(0, 3, (16,))
    loss_fn = nn.CrossEntropyLoss()

    def make():
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        return model, lf.optim.Adam(model.parameters(), lr=0.01, amsgrad=True)

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

    model, opt = make()
    train(model, opt, 5)
    path = tmp_path / f"checkpoint.{fmt}"
    lf.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 5}, path)
    checkpoint = lf.load(path)
    resumed_model, resumed_opt = make()
    resumed_model.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    assert checkpoint["epoch"] == 5
    train(model, opt, 5)
    train(resumed_model, resumed_opt, 5)
    for (name, a), (_, b) in zip(model.state_dict().items(), resumed_model.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_missing_safetensors_package_says_what_to_do(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)  # makes the import fail
    with pytest.raises(SerializationError, match=r"pip install safetensors.*\.npz"):
        lf.save({"w": lf.ones(1)}, tmp_path / "m.safetensors")
    lf.save({"w": lf.ones(1)}, tmp_path / "m.npz")  # npz needs only numpy
    assert lf.load(tmp_path / "m.npz")["w"].tolist() == [1.0]


# -- the disk, the writer and the reader failing in the ways a user's machine does -----------------

def test_a_full_disk_in_the_safetensors_writer_is_one_message_naming_the_file(tmp_path, monkeypatch):
    import safetensors
    import safetensors.numpy

    path = tmp_path / "model.safetensors"
    lf.save({"w": lf.ones(3)}, path)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise safetensors.SafetensorError('Error while serializing: I/O error: No space left on device (os error 28)')

    monkeypatch.setattr(safetensors.numpy, "save", disk_full)
    with pytest.raises(SerializationError) as caught:
        lf.save({"w": lf.zeros(3)}, path)
    message = str(caught.value)
    assert str(path) in message and "the disk is full" in message and "\n" not in message
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]


def test_a_full_disk_while_writing_the_bytes_is_an_oserror_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    path = tmp_path / "model.npz"

    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: _Wrapped(real_fdopen(fd, mode, *a, **k)))

    class _Wrapped:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.handle, name)

    with pytest.raises(OSError) as caught:
        lf.save({"w": lf.zeros(3)}, path)
    assert caught.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []


def test_cleanup_after_a_failed_write_never_raises(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"

    def fail(handle, arrays, header):
        raise OSError(30, "Read-only file system")

    def unlink_refused(target):
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(serialization, "_write_npz", fail)
    monkeypatch.setattr(os, "unlink", unlink_refused)
    with pytest.raises(OSError, match="Read-only file system"):   # the write's error, not the cleanup's
        lf.save({"w": lf.zeros(3)}, path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_folder_is_an_oserror_naming_nothing_half_written(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError):
            lf.save({"w": lf.zeros(3)}, folder / "m.safetensors")
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_load_refuses_fifos_devices_and_folders_without_opening_them(tmp_path):
    fifo = tmp_path / "weights.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(SerializationError, match="named pipe"):   # open() would block forever
        lf.load(fifo)
    with pytest.raises(SerializationError, match="a folder"):
        lf.load(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(SerializationError, match="character device"):
            lf.load("/dev/zero")
    with pytest.raises(FileNotFoundError, match="no such file"):
        lf.load(tmp_path / "missing.npz")


def test_load_refuses_a_file_larger_than_the_machines_memory(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    lf.save({"w": lf.zeros(300)}, path)
    monkeypatch.setattr(serialization, "_physical_memory", lambda: 1000)
    with pytest.raises(SerializationError, match="more than this machine's"):
        lf.load(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_structure_nested_too_deeply_is_a_corrupt_file_not_a_recursion_error(tmp_path, fmt):
    path = tmp_path / f"m.{fmt}"
    header = '{"version": 1, "tree": ' + "[" * 100_000 + "]" * 100_000 + "}"
    arrays = {"w": np.zeros(2, np.float32)}
    if fmt == "npz":
        np.savez(path, **arrays, **{serialization._NPZ_STRUCTURE: np.array(header)})
    else:
        import safetensors.numpy
        safetensors.numpy.save_file(arrays, str(path), metadata={serialization.STRUCTURE_KEY: header})
    with pytest.raises(SerializationError, match="nested too deeply"):
        lf.load(path)


# -- torch.save / torch.load as tutorials call them --------------------------------------------------

def _checkpoint():
    model = lf.nn.Linear(3, 2)
    opt = lf.optim.Adam(model.parameters(), lr=0.01)
    model(lf.ones(4, 3)).sum().backward()
    opt.step()
    return {"epoch": 7, "loss": 0.125, "name": "run-1", "history": [1.5, 0.5], "best": None,
            "model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(),
            "mean": np.array([0.5, 1.5], np.float32), "shape": (3, 2), "flags": {"amp": False}}


@pytest.mark.parametrize("name", ["model.pth", "checkpoint.pt", "weights.bin", "no_suffix", "m.safetensors"])
def test_any_file_name_holds_a_checkpoint_without_pickle(tmp_path, name):
    saved = _checkpoint()
    path = tmp_path / name
    lf.save(saved, path)
    assert not path.read_bytes().startswith(b"\x80") and b"data.pkl" not in path.read_bytes()
    loaded = lf.load(path)
    assert {k: loaded[k] for k in ("epoch", "loss", "name", "history", "best", "shape", "flags")} == \
        {k: saved[k] for k in ("epoch", "loss", "name", "history", "best", "shape", "flags")}
    assert isinstance(loaded["mean"], np.ndarray) and loaded["mean"].dtype == np.float32
    np.testing.assert_array_equal(loaded["mean"], saved["mean"])
    for key, value in saved["model_state_dict"].items():
        np.testing.assert_array_equal(loaded["model_state_dict"][key].numpy(), value.numpy())
    model = lf.nn.Linear(3, 2)
    model.load_state_dict(loaded["model_state_dict"])
    opt = lf.optim.Adam(model.parameters(), lr=0.01)
    opt.load_state_dict(loaded["optimizer_state_dict"])
    assert opt.state_dict()["param_groups"][0]["lr"] == 0.01
    assert float(opt.state_dict()["state"][0]["step"]) == 1.0


def test_file_objects_and_format_found_by_bytes_not_by_name(tmp_path):
    import io

    buffer = io.BytesIO()
    lf.save({"w": lf.arange(3.0), "step": 2}, buffer)
    buffer.seek(0)
    loaded = lf.load(buffer)
    assert loaded["step"] == 2 and loaded["w"].tolist() == [0.0, 1.0, 2.0]
    npz = tmp_path / "weights.npz"
    lf.save({"w": lf.ones(2)}, npz)
    renamed = tmp_path / "weights.pt"
    npz.rename(renamed)  # an npz under a .pt name still loads: the bytes decide
    assert lf.load(renamed)["w"].tolist() == [1.0, 1.0]
    with open(renamed, "rb") as handle:
        assert lf.load(handle, map_location="cpu", weights_only=True)["w"].tolist() == [1.0, 1.0]
    assert lf.load(renamed, map_location=lambda storage, location: storage)["w"].tolist() == [1.0, 1.0]


def test_a_real_pytorch_checkpoint_loads_from_a_path_or_a_file_object(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch writes the checkpoints read here")
    import io

    for legacy in (False, True):
        path = tmp_path / f"torch_{legacy}.pt"
        torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=not legacy)
        assert lf.load(path)["w"].tolist() == [1.0, 1.0]
        assert lf.load(io.BytesIO(path.read_bytes()))["w"].tolist() == [1.0, 1.0]
