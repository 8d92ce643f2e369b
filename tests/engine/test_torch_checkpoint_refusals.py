"""Hostile PyTorch checkpoints: each is refused, with what and where, and nothing in it runs.

The files are built here byte by byte (no torch needed): the zip layout torch.save writes with a
data.pkl of our making, or the legacy stream of pickles. The code-running ones would create a canary
file if anything executed them; the tests assert it was not created.
"""
import os
import pickle
import sys
import zipfile

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import serialization
from layerforge.engine.serialization import SerializationError


# -- writing pickles by hand -------------------------------------------------------------------------
def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def text(value):
    raw = value.encode()
    return b"X" + len(raw).to_bytes(4, "little") + raw


def num(value):
    return b"\x8a\x08" + value.to_bytes(8, "little", signed=True)   # LONG1: any integer


def tup(*items):
    return b"(" + b"".join(items) + b"t"


def tensor(key, numel, offset, size, stride, storage="FloatStorage"):
    pid = tup(text("storage"), glob("torch", storage), text(key), text("cpu"), num(numel))
    args = (pid + b"Q" + num(offset) + tup(*map(num, size)) + tup(*map(num, stride)) + b"\x89"
            + glob("collections", "OrderedDict") + b")R")
    return glob("torch._utils", "_rebuild_tensor_v2") + b"(" + args + b"tR"


def dict_of(**items):
    return b"}(" + b"".join(text(k) + v for k, v in items.items()) + b"u"


def stream(body):
    return b"\x80\x02" + body + b"."


def zip_checkpoint(path, pickle_bytes, storages=None, root="archive"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{root}/data.pkl", pickle_bytes)
        archive.writestr(f"{root}/byteorder", "little")
        for key, data in (storages or {}).items():
            archive.writestr(f"{root}/data/{key}", data)
        archive.writestr(f"{root}/version", "3\n")
    return path


SIX_FLOATS = np.arange(6, dtype="<f4").tobytes()


def test_the_hand_built_checkpoint_itself_loads(tmp_path):
    """The builder writes what torch.save does: a well-formed file made with it loads."""
    path = zip_checkpoint(tmp_path / "ok.pt", stream(dict_of(w=tensor("0", 6, 1, (2, 2), (1, 2)))), {"0": SIX_FLOATS})
    assert lf.load(path)["w"].tolist() == [[1.0, 3.0], [2.0, 4.0]]


# -- code is never run ---------------------------------------------------------------------------------
class _RunsACommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class _CallsBuiltin:
    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


def _canary_command(canary):
    return f"{sys.executable} -c \"open({str(canary)!r}, 'w').write('ran')\""


@pytest.mark.parametrize("protocol", [2, 4])
def test_os_system_via_reduce_is_refused_by_name_and_never_runs(tmp_path, protocol):
    canary = tmp_path / "canary"
    evil = pickle.dumps({"weight": [1.0], "payload": _RunsACommand(_canary_command(canary))}, protocol=protocol)
    system = f"{os.system.__module__}.system"   # posix.system (nt.system on Windows)
    path = zip_checkpoint(tmp_path / "evil.pt", evil)
    with pytest.raises(SerializationError, match=rf"refused global {system} in '.*evil\.pt' \(data\.pkl\): "
                                                 r"Layerforge loads only weights"):
        lf.load(path)
    legacy = tmp_path / "evil_legacy.pt"   # the same payload as the first pickle of a legacy file
    legacy.write_bytes(evil)
    with pytest.raises(SerializationError, match=rf"refused global {system}"):
        lf.load(legacy)
    with pytest.raises(SerializationError, match=rf"refused global {system}"):
        lf.load(open(legacy, "rb"))
    assert not canary.exists()


def test_a_payload_after_the_legacy_header_is_refused_and_never_runs(tmp_path):
    canary = tmp_path / "canary"
    header = pickle.dumps(0x1950A86A20F9469CFC6C, 2) + pickle.dumps(1001, 2) + pickle.dumps({"little_endian": True}, 2)
    path = tmp_path / "legacy.pt"
    path.write_bytes(header + pickle.dumps({"state": {"w": _RunsACommand(_canary_command(canary))}}, 2))
    with pytest.raises(SerializationError, match="refused global .*system"):
        lf.load(path)
    assert not canary.exists()


@pytest.mark.parametrize("function, qualname", [
    (eval, "builtins.eval"), (exec, "builtins.exec"), (getattr, "builtins.getattr"),
    (setattr, "builtins.setattr"), (open, "io.open"), (compile, "builtins.compile"),
])
def test_builtins_that_run_or_reach_code_are_refused_by_name(tmp_path, function, qualname):
    canary = tmp_path / "canary"
    argument = f"open({str(canary)!r}, 'w')"
    nested = {"model": {"layer": [{"deep": (1, _CallsBuiltin(function, argument))}]}}
    path = zip_checkpoint(tmp_path / "builtin.pt", pickle.dumps(nested, protocol=2))
    with pytest.raises(SerializationError, match=rf"refused global {qualname} .*never code or objects$"):
        lf.load(path)
    assert not canary.exists()


@pytest.mark.parametrize("module, name, hint", [
    ("torch.nn.modules.linear", "Linear", "save model.state_dict()"),
    ("__main__", "MyNet", "save model.state_dict()"),
    ("subprocess", "Popen", ""),
    ("torch", "load", ""),
    ("numpy.core.multiarray", "_reconstruct", ""),
])
def test_unknown_globals_are_refused_naming_them(tmp_path, module, name, hint):
    body = dict_of(w=tensor("0", 6, 0, (6,), (1,)), obj=glob(module, name) + b")R")
    path = zip_checkpoint(tmp_path / "unknown.pt", stream(body), {"0": SIX_FLOATS})
    with pytest.raises(SerializationError, match=rf"refused global {module}\.{name} ") as raised:
        lf.load(path)
    assert hint in str(raised.value)


@pytest.mark.parametrize("body, message", [
    (glob("collections", "OrderedDict") + b")\x81", "creates an object of a class .*NEWOBJ"),
    (b"(icollections\nOrderedDict\n", "creates an object of a class .*INST"),
    (glob("torch", "float32") + b")R", "calls torch.float32"),
    (text("x") + b")R", "calls str"),
    (b"\x82\x01", "extension registry"),
    (b"P0\n", "text persistent id"),
    (glob("torch._utils", "_rebuild_tensor_v2") + tup(text("not a storage"), num(0), tup(), tup(), b"\x89") + b"R",
     "not one of the file's storages"),
])
def test_opcodes_and_calls_a_weights_file_never_has_are_refused(tmp_path, body, message):
    path = zip_checkpoint(tmp_path / "odd.pt", stream(body))
    with pytest.raises(SerializationError, match=message):
        lf.load(path)


def test_build_on_anything_but_a_dict_is_refused(tmp_path):
    body = glob("torch", "Size") + tup(tup(num(2))) + b"R" + b"}b"
    with pytest.raises(SerializationError, match="BUILD .* sets the state of a Size"):
        lf.load(zip_checkpoint(tmp_path / "build.pt", stream(body)))


# -- sizes, offsets and strides are checked before anything is allocated ------------------------------
def test_a_storage_claiming_more_bytes_than_its_record_holds_is_refused(tmp_path):
    path = zip_checkpoint(tmp_path / "big.pt", stream(dict_of(w=tensor("0", 10 ** 15, 0, (4,), (1,)))),
                          {"0": SIX_FLOATS})
    with pytest.raises(SerializationError, match=r"storage '0' claims 1,000,000,000,000,000 float32 elements .* "
                                                 r"data/0 holds 24 bytes"):
        lf.load(path)


def test_storages_past_the_memory_cap_are_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "_torch_cap", lambda: 40)
    body = dict_of(a=tensor("0", 6, 0, (6,), (1,)), b=tensor("1", 6, 0, (6,), (1,)))
    path = zip_checkpoint(tmp_path / "cap.pt", stream(body), {"0": SIX_FLOATS, "1": SIX_FLOATS})
    with pytest.raises(SerializationError, match=r"storage '1' claims 24 bytes, which with the others \(24\) is "
                                                 r"more than this machine can load \(40 bytes\)"):
        lf.load(path)


@pytest.mark.parametrize("offset, size, stride, reach", [
    (5, (4,), (1,), 8), (0, (2, 3), (3, 2), 7), (6, (1,), (1,), 6), (0, (7,), (1,), 6),
])
def test_offsets_and_strides_past_the_storage_are_refused_with_where(tmp_path, offset, size, stride, reach):
    body = dict_of(model=dict_of(fc=tensor("0", 6, offset, size, stride)))
    path = zip_checkpoint(tmp_path / "reach.pt", stream(body), {"0": SIX_FLOATS})
    with pytest.raises(SerializationError, match=rf"tensor 'model\.fc' .* reaches element {reach} of storage '0', "
                                                 r"which holds only 6"):
        lf.load(path)


def test_negative_sizes_and_mismatched_strides_are_refused(tmp_path):
    for size, stride, message in (((-1,), (1,), "negative entry"), ((2, 3), (1,), "as many entries")):
        path = zip_checkpoint(tmp_path / "neg.pt", stream(dict_of(w=tensor("0", 6, 0, size, stride))),
                              {"0": SIX_FLOATS})
        with pytest.raises(SerializationError, match=message):
            lf.load(path)


def test_a_missing_storage_record_is_refused(tmp_path):
    path = zip_checkpoint(tmp_path / "missing.pt", stream(dict_of(w=tensor("7", 6, 0, (6,), (1,)))))
    with pytest.raises(SerializationError, match=r"storage '7' is named in data.pkl but the archive has no data/7"):
        lf.load(path)


def test_storage_keys_cannot_leave_the_archive_folder(tmp_path):
    path = zip_checkpoint(tmp_path / "escape.pt", stream(dict_of(w=tensor("../../etc/passwd", 6, 0, (6,), (1,)))))
    with pytest.raises(SerializationError, match="is not a plain name"):
        lf.load(path)


# -- damaged files ---------------------------------------------------------------------------------------
def test_truncated_zip_checkpoints_are_refused(tmp_path):
    whole = zip_checkpoint(tmp_path / "whole.pt", stream(dict_of(w=tensor("0", 6, 0, (6,), (1,)))),
                           {"0": SIX_FLOATS}).read_bytes()
    for cut in (len(whole) // 3, len(whole) - 30, 40):
        path = tmp_path / f"cut{cut}.pt"
        path.write_bytes(whole[:cut])
        with pytest.raises(SerializationError, match="truncated or corrupted"):
            lf.load(path)


def test_a_truncated_pickle_and_a_truncated_legacy_file_are_refused(tmp_path):
    path = zip_checkpoint(tmp_path / "short.pt", stream(dict_of(w=text("x")))[:-4])
    with pytest.raises(SerializationError, match="truncated"):
        lf.load(path)
    header = pickle.dumps(0x1950A86A20F9469CFC6C, 2) + pickle.dumps(1001, 2) + pickle.dumps({}, 2)
    legacy = header + stream(dict_of(w=tensor("k", 6, 0, (6,), (1,)))) + pickle.dumps(["k"], 2)
    legacy += (6).to_bytes(8, "little") + SIX_FLOATS
    (tmp_path / "legacy_ok.pt").write_bytes(legacy)
    assert lf.load(tmp_path / "legacy_ok.pt")["w"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    (tmp_path / "legacy_cut.pt").write_bytes(legacy[:-5])
    with pytest.raises(SerializationError, match=r"storage 'k' needs 24 bytes but only 19 remain; the file is "
                                                 "truncated"):
        lf.load(tmp_path / "legacy_cut.pt")


def test_a_plain_pickle_that_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps({"weights": [1, 2]}, 2))
    with pytest.raises(SerializationError, match="a pickle file but not a PyTorch checkpoint"):
        lf.load(path)


def test_data_nested_too_deeply_is_refused(tmp_path):
    depth = 200_000
    path = zip_checkpoint(tmp_path / "deep.pt", stream(b"]" * depth + b"a" * (depth - 1)))
    with pytest.raises(SerializationError, match="nests its data too deeply"):
        lf.load(path)


def test_a_folder_and_a_fifo_are_refused_without_opening_them(tmp_path):
    folder = tmp_path / "model.pt"
    folder.mkdir()
    with pytest.raises(SerializationError, match="is a folder"):
        lf.load(folder)
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    fifo = tmp_path / "weights.pth"
    os.mkfifo(fifo)
    with pytest.raises(SerializationError, match=r"named pipe \(FIFO\)"):
        lf.load(fifo)   # returns at once: a FIFO opened for reading would block forever


def test_old_tar_checkpoints_get_a_clear_message(tmp_path):
    import tarfile

    path = tmp_path / "old.pt"
    with tarfile.open(path, "w") as archive:
        source = tmp_path / "storages"
        source.write_bytes(b"\x00" * 16)
        archive.add(source, arcname="storages")
    with pytest.raises(SerializationError, match="tar archive: PyTorch before 0.4"):
        lf.load(path)


def test_a_data_pkl_larger_than_any_state_dicts_is_refused_before_reading(tmp_path, monkeypatch):
    from layerforge.engine import torch_checkpoint

    monkeypatch.setattr(torch_checkpoint, "MAX_PICKLE_BYTES", 64)
    body = dict_of(**{f"name{i}": text("x" * 10) for i in range(10)})
    with pytest.raises(SerializationError, match=r"data.pkl is \d+ bytes, far more than a state dict's"):
        lf.load(zip_checkpoint(tmp_path / "huge_pickle.pt", stream(body)))


def test_a_big_endian_checkpoint_reads_in_this_machines_order(tmp_path):
    path = tmp_path / "big_endian.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", stream(dict_of(w=tensor("0", 6, 0, (3, 2), (2, 1)))))
        archive.writestr("archive/byteorder", "big")
        archive.writestr("archive/data/0", np.arange(6, dtype=">f4").tobytes())
    loaded = lf.load(path)["w"]
    assert loaded.tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]] and loaded.dtype == lf.float32
    tampered = tmp_path / "tampered.pt"   # bytes changed behind the archive's back: its CRC says so
    tampered.write_bytes(path.read_bytes().replace(b"big", b"mid"))
    with pytest.raises(SerializationError, match="archive/byteorder cannot be read .*CRC"):
        lf.load(tampered)
    with zipfile.ZipFile(tmp_path / "odd.pt", "w") as archive:
        archive.writestr("archive/data.pkl", stream(dict_of()))
        archive.writestr("archive/byteorder", "middle")
    with pytest.raises(SerializationError, match="byteorder record says 'middle', not little or big"):
        lf.load(tmp_path / "odd.pt")


def test_random_bytes_named_pt_are_refused_as_no_known_format(tmp_path):
    """Not "not a readable safetensors file": the user chose a .pt, so the message names every format."""
    import io
    junk = bytes(range(7, 250)) * 3
    path = tmp_path / "weights.pt"
    path.write_bytes(junk)
    for source in (path, io.BytesIO(junk)):
        with pytest.raises(SerializationError, match="neither a PyTorch checkpoint .zip or pickle. nor a "
                                                     r"\.safetensors or \.npz file \(its first bytes are 07 08"):
            lf.load(source)
