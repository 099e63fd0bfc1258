"""sync/inotify.py: the blocking directory notifier behind the watcher on Linux."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from opstui.sync.inotify import DirNotify

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux")


def test_reports_a_change_after_a_quiet_step(tmp_path: Path) -> None:
    stop = threading.Event()
    with DirNotify(tmp_path) as notify:
        threading.Timer(0.05, (tmp_path / "x.db-wal").write_bytes, [b"1"]).start()
        t0 = time.monotonic()
        changes = notify.watch(500, 10, 5000, stop)
        took = time.monotonic() - t0
    assert changes == {(2, str(tmp_path / "x.db-wal"))}
    assert took < 2.0  # seen when it happened, not at the 5 s timeout


def test_timeout_and_stop(tmp_path: Path) -> None:
    stop = threading.Event()
    with DirNotify(tmp_path) as notify:
        assert notify.watch(50, 10, 100, stop) == "timeout"

        def stop_it() -> None:
            stop.set()
            notify.wake()

        threading.Timer(0.05, stop_it).start()
        t0 = time.monotonic()
        assert notify.watch(50, 10, 10_000, stop) == "stop"
        assert time.monotonic() - t0 < 5.0  # woken, not the 10 s timeout


def test_a_stream_of_changes_is_delivered_within_debounce(tmp_path: Path) -> None:
    stop = threading.Event()
    target = tmp_path / "x.db-wal"
    done = threading.Event()

    def writer() -> None:
        while not done.is_set():
            target.write_bytes(b"1")
            time.sleep(0.002)

    t = threading.Thread(target=writer)
    t.start()
    try:
        with DirNotify(tmp_path) as notify:
            t0 = time.monotonic()
            changes = notify.watch(200, 50, 10_000, stop)
            took = time.monotonic() - t0
    finally:
        done.set()
        t.join()
    assert (2, str(target)) in changes
    assert took < 5.0


def test_other_files_in_the_directory_do_not_count(tmp_path: Path) -> None:
    stop = threading.Event()
    with DirNotify(tmp_path, frozenset({"x.db", "x.db-wal"})) as notify:
        (tmp_path / "notes.txt").write_text("busy shared directory")
        assert notify.watch(50, 10, 300, stop) == "timeout"
        threading.Timer(0.05, (tmp_path / "x.db-wal").write_bytes, [b"1"]).start()
        assert notify.watch(50, 10, 5000, stop) == {(2, str(tmp_path / "x.db-wal"))}
