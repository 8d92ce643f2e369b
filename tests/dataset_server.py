"""A local HTTP server in a thread, and small files in the real dataset formats, so that every
download path is tested without the internet.

``serve(files)`` serves ``{url path: bytes}``; ``server.behaviour[path]`` makes one path misbehave:
"404", "drop" (the first response stops half way), "ignore_range" (always 200, whole file),
"slow" (a few bytes, then a pause, forever), "steady" (about 400 kB/s). ``server.requests`` lists (path, Range header).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import struct
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from layerforge.data import remote_datasets
from layerforge.data.downloads import RemoteFile
from layerforge.data.remote_datasets import RemoteDataset


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):   # quiet
        pass

    def do_GET(self):
        server = self.server
        path = self.path
        server.requests.append((path, self.headers.get("Range")))
        behaviour = server.behaviour.get(path, "")
        body = server.files.get(path)
        if body is None or behaviour == "404":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start = 0
        wanted = self.headers.get("Range")
        if wanted and behaviour != "ignore_range" and wanted.startswith("bytes="):
            start = int(wanted[6:].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        rest = body[start:]
        self.send_header("Content-Length", str(len(rest)))
        self.send_header("Connection", "close")
        self.end_headers()
        if behaviour == "drop" and path not in server.dropped:
            server.dropped.add(path)
            self.wfile.write(rest[:len(rest) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if behaviour == "steady":   # about 400 kB/s: a download one can watch
            for i in range(0, len(rest), 8192):
                if server.stopping.is_set():
                    return
                self.wfile.write(rest[i:i + 8192])
                time.sleep(0.02)
            return
        if behaviour == "slow":
            for i in range(0, len(rest), 16):
                if server.stopping.is_set():
                    return
                self.wfile.write(rest[i:i + 16])
                self.wfile.flush()
                time.sleep(0.2)
            return
        self.wfile.write(rest)


class DatasetServer:
    def __init__(self, files: dict):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.files = dict(files)
        self.httpd.behaviour = {}
        self.httpd.requests = []
        self.httpd.dropped = set()
        self.httpd.stopping = threading.Event()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def files(self):
        return self.httpd.files

    @property
    def behaviour(self):
        return self.httpd.behaviour

    @property
    def requests(self):
        return self.httpd.requests

    def close(self) -> None:
        self.httpd.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# -- files in the real formats ----------------------------------------------------------------------

def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    return header + np.ascontiguousarray(array).astype(dtype).tobytes()


def mnist_like(n_train: int = 60, n_test: int = 20, seed: int = 0, size: int = 28):
    """Images whose class is readable from where the bright square sits (a learnable toy)."""
    rng = np.random.default_rng(seed)

    def make(n):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = (rng.random((n, size, size)) * 40).astype(np.uint8)
        for i, label in enumerate(labels):
            row, col = divmod(int(label), 4)
            images[i, 2 + row * 8:8 + row * 8, 2 + col * 6:7 + col * 6] = 250
        return images, labels

    return make(n_train), make(n_test)


def mnist_files(n_train=60, n_test=20, seed=0) -> dict:
    (train_x, train_y), (test_x, test_y) = mnist_like(n_train, n_test, seed)
    return {"train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(train_x), mtime=0),
            "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(train_y), mtime=0),
            "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(test_x), mtime=0),
            "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(test_y), mtime=0)}


def _tar(members: dict) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def cifar_arrays(per_batch: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8),
             rng.integers(0, 10, per_batch).astype(np.uint8)) for _ in range(6)]


BATCH_NAMES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar_binary_tar(batches) -> bytes:
    members = {"cifar-10-batches-bin/batches.meta.txt": ("\n".join(CLASS_NAMES) + "\n\n").encode()}
    for name, (images, labels) in zip(BATCH_NAMES, batches):
        records = np.concatenate([labels[:, None], images.reshape(len(images), -1)], axis=1)
        members[f"cifar-10-batches-bin/{name}.bin"] = records.astype(np.uint8).tobytes()
    return _tar(members)


def cifar_python_tar(batches) -> bytes:
    import pickle   # only to WRITE a test file in the published format
    members = {"cifar-10-batches-py/batches.meta": pickle.dumps(
        {b"label_names": [n.encode() for n in CLASS_NAMES], b"num_vis": 3072}, protocol=2)}
    for name, (images, labels) in zip(BATCH_NAMES, batches):
        members[f"cifar-10-batches-py/{name}"] = pickle.dumps(
            {b"batch_label": name.encode(), b"labels": [int(v) for v in labels],
             b"data": images.reshape(len(images), -1), b"filenames": [b"x.png"] * len(labels)}, protocol=2)
    return _tar(members)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def register_test_dataset(monkeypatch, name: str, files: dict, mirrors, layout="idx", title=None,
                          input_shape=(1, 28, 28), n_train=60, n_test=20, checksums=None) -> RemoteDataset:
    """Put a dataset named ``name`` whose published files are ``files`` (checksums computed here,
    or ``checksums`` to publish wrong ones) in the catalog for this test."""
    checksums = checksums or {}
    remote = tuple(RemoteFile(n, len(data), sha256=checksums.get(n, sha256(data))) for n, data in files.items())
    info = RemoteDataset(name, title or name.upper(), "a test dataset", remote, tuple(mirrors), layout,
                         tuple(str(i) for i in range(10)) if layout == "idx" else tuple(CLASS_NAMES),
                         input_shape, n_train, n_test, "made by a test")
    monkeypatch.setitem(remote_datasets._BY_NAME, name, info)
    return info


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh dataset cache folder for one test (``LAYERFORGE_DATA_CACHE``), no mirror override.
    Use it in a test module with ``cache = dataset_server.cache``."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("LAYERFORGE_DATA_CACHE", str(folder))
    monkeypatch.delenv("LAYERFORGE_DATASET_MIRROR", raising=False)
    return folder
