"""Reading a user's file: the memory a read takes is the file's size, not the reader's cap."""
import tracemalloc

from layerforge.data import read_regular_file


def test_reading_a_small_file_allocates_its_size_not_the_cap(tmp_path):
    path = tmp_path / "small.bin"
    path.write_bytes(b"0123456789")
    tracemalloc.start()
    try:
        data = read_regular_file(path)   # the default cap is 4 GiB
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data == b"0123456789"
    assert peak < 1024 ** 2
