"""Calling something that might block forever (a FIFO, /dev/zero) without letting it hang the suite."""
from __future__ import annotations

import threading


def call_with_deadline(function, *args, seconds: float = 5.0) -> dict:
    """function(*args) in a thread: {"value": ...} or {"error": ...}; the test fails instead of
    hanging if it has not returned after ``seconds`` (a hang, not a speed, is what is checked)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function(*args)
        except Exception as error:   # handed back to the test
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{function.__name__} blocked for {seconds} s"
    return outcome
