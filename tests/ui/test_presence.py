"""Presence across processes: "bob is viewing" appears within seconds and clears when bob
leaves, politely or by kill -9; an idle terminal writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ui_helpers import settle

from opstui.sync.presence import Presence, presence_dir

ROOT = Path(__file__).resolve().parents[2]


def peer(db_path: str, who: str, key: str, activity: str = "viewing") -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "presence_peer.py"), db_path, who, key, activity],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


async def wait_for(pilot, condition, timeout: float = 5.0) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "timed out"
        await pilot.pause(0.1)
    return time.monotonic() - start


def shown(app) -> str:
    line = app.screen.query_one("#presence")
    return str(line.content) if line.display else ""


async def test_presence_appears_and_clears_across_processes(shop_db, make):
    app = make(shop_db)
    app.presence_interval = 0.2
    async with app.run_test(size=(80, 24)) as pilot:
        app.start_presence()
        await settle(pilot, app)
        app.open_item("SUP-3")
        await settle(pilot, app)
        assert shown(app) == ""
        bob = peer(str(shop_db.path), "bob", "SUP-3")
        carol = peer(str(shop_db.path), "carol", "SUP-3", "editing a comment")
        other = peer(str(shop_db.path), "dana", "SUP-4")  # another item: not shown here
        try:
            await wait_for(
                pilot, lambda: shown(app).count(" is ") == 2, timeout=5
            )  # within a few seconds
            assert "bob is viewing" in shown(app)
            assert "carol is editing a comment" in shown(app) and "dana" not in shown(app)
            bob.stdin.write("bye\n")  # bob closes the item
            bob.stdin.flush()
            bob.wait(10)
            await wait_for(pilot, lambda: "bob" not in shown(app), timeout=3)
            carol.kill()  # kill -9: no goodbye, the file stays, the dead pid is skipped
            carol.wait(10)
            await wait_for(pilot, lambda: shown(app) == "", timeout=3)
            # this terminal announces itself too: another reader sees "tester"
            reader = Presence(shop_db.path, "reader")
            reader.file = reader.dir / "elsewhere-1.json"  # a reader that is not this app
            assert [(v.who, v.key) for v in reader.others() if v.key == "SUP-3"] == [
                ("tester", "SUP-3")
            ]
        finally:
            for p in (bob, carol, other):
                p.kill()
                p.wait(10)
        await pilot.press("escape")
        await settle(pilot, app)
        assert not (presence_dir(shop_db.path) / app.presence.file.name).exists()


def test_idle_presence_writes_nothing(tmp_path: Path):
    db = tmp_path / "x.db"
    me = Presence(db, "me")
    me.set("SUP-1")
    me.set("SUP-1")  # same item again: no write
    before = os.stat(me.file).st_mtime_ns
    others = [Presence(db, f"p{n}") for n in range(3)]
    for n, p in enumerate(others):
        p.pid = 10_000_000 + n  # not a live process: a left-over file
        p.file = p.dir / f"{p.host}-{p.pid}.json"
        p.set(f"SUP-{n}")
    assert me.others() == []  # dead pids are skipped (and their files removed)
    assert sorted(os.listdir(me.dir)) == [me.file.name]
    assert os.stat(me.file).st_mtime_ns == before
    me.close()
    assert not me.file.exists()
