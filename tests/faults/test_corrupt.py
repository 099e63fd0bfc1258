"""Truncated and garbage-filled database files: every command gives one clear line on
stderr and exit 1, never a traceback, and leaves the file's bytes exactly as they were."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from .conftest import assert_one_line_error, file_digest, invoke, make_db, run_cli

COMMANDS = [
    ("ls",),
    ("show", "OPS-1"),
    ("add", "-q", "ops", "-t", "new work"),
    ("mv", "OPS-2", "in_progress"),
]


def _truncated(src: Path, dst: Path) -> None:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2 + 100])  # cut mid-page, header intact


def _garbage(src: Path, dst: Path) -> None:
    rng = random.Random(3)
    dst.write_bytes(bytes(rng.randrange(256) for _ in range(src.stat().st_size)))


def _garbage_pages(src: Path, dst: Path) -> None:
    """A valid header and schema page, then noise where the tables should be."""
    data = bytearray(src.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    rng = random.Random(5)
    for i in range(page, len(data)):
        data[i] = rng.randrange(256)
    dst.write_bytes(bytes(data))


def _zeros(src: Path, dst: Path) -> None:
    dst.write_bytes(b"\0" * src.stat().st_size)


DAMAGE = {
    "truncated": (_truncated, "truncated"),
    "garbage": (_garbage, "not an opstui database"),
    "garbage-pages": (_garbage_pages, "corrupt"),
    "zeros": (_zeros, "not an opstui database"),
}


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_db(tmp_path_factory.mktemp("good") / "good.db", n_items=40)


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_file_refused_and_untouched(tmp_path: Path, good_db: Path, kind: str) -> None:
    damage, needle = DAMAGE[kind]
    db = tmp_path / "damaged.db"
    damage(good_db, db)
    before = file_digest(db)
    size = db.stat().st_size
    for n, args in enumerate(COMMANDS):
        # the first command in a real process, the rest through the same CLI in-process
        res = run_cli(db, *args) if n == 0 else invoke(db, *args)
        assert_one_line_error(res, needle)
        assert file_digest(db) == before, f"{args} changed the bytes of a {kind} file"
        assert db.stat().st_size == size
        wal = Path(str(db) + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0, f"{args} left a -wal on a {kind} file"
