"""Live sync: cursor, watcher (watch and poll paths), own writes, notices.

Real SQLite files in tmp_path; "another terminal" is a second Database (its own connections),
or a real second process in the tests marked ``slow``.  The tests marked ``both_engines`` run
on PostgreSQL too, where the detector is the LISTEN connection (``sync.listener``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import pg_url

from opstui.services import items as svc
from opstui.services import loading as loader
from opstui.store import queries as q
from opstui.store.engine import Database
from opstui.store.schema import open_database
from opstui.sync import ChangeWatcher, EventCursor, WatchSettings
from opstui.sync.follow import follow_events
from opstui.sync.listener import watcher_for
from opstui.sync.live import LiveFeed
from opstui.sync.notices import TriageQueue, Viewer, load_viewer, notices_for, sla_owners
from opstui.sync.watcher import network_fs_type

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).with_name("sync_fixture.toml")


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sync") / "template.db"
    db = open_database(path, create=True, unix_user="loader")
    loader.load_file(db, FIXTURE)
    db.dispose()
    return path


@pytest.fixture(scope="module")
def pg_template(pg_admin: Any) -> Iterator[str]:
    """The fixture loaded once into a PostgreSQL database used as a template."""
    name = f"opstui_sync_{uuid.uuid4().hex[:12]}"
    pg_admin(f"CREATE DATABASE {name}")
    db = open_database(pg_url(name), create=True, unix_user="loader")
    loader.load_file(db, FIXTURE)
    db.dispose()
    yield name
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def shared_path(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh copy of the loaded fixture database (loading once per module keeps this fast):
    a file, or on PostgreSQL a database made from the template."""
    if engine == "postgresql":
        return request.getfixturevalue("new_pg_db")(request.getfixturevalue("pg_template"))
    template_db = request.getfixturevalue("template_db")
    path = tmp_path / "ops.db"
    src, dst = sqlite3.connect(template_db), sqlite3.connect(path)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return str(path)


def terminal(path: Path | str, user: str) -> Database:
    """Another terminal on the same file: its own engine and connections."""
    return open_database(path, create=False, unix_user=user)


@pytest.fixture
def two(shared_path: str) -> Iterator[tuple[Database, Database]]:
    a, b = terminal(shared_path, "alice"), terminal(shared_path, "bob")
    yield a, b
    a.dispose()
    b.dispose()


class Collector:
    """Runs ``watcher.batches()`` in a thread and keeps every event it yields."""

    def __init__(self, watcher: ChangeWatcher) -> None:
        self.watcher = watcher
        self.events: list[q.EventRecord] = []
        self.batches = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for batch in self.watcher.batches():
            self.batches += 1
            self.events.extend(batch)

    def wait_for(self, event_id: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.id >= event_id for e in self.events):
                return True
            time.sleep(0.005)
        return False

    def stop(self) -> None:
        self.watcher.close()
        self.thread.join(5)
        assert not self.thread.is_alive()


def last_id(db: Database) -> int:
    with db.read() as conn:
        return q.last_event_id(conn)


# --- EventCursor -----------------------------------------------------------------------


@dataclass(frozen=True)
class Ev:
    id: int


def ids(events: list[Ev]) -> list[int]:
    return [e.id for e in events]


def test_cursor_read_then_own_write_not_repeated() -> None:
    c = EventCursor(10)
    assert ids(c.claim_read([Ev(11), Ev(12)], 10)) == [11, 12]
    assert ids(c.claim_own([Ev(13)])) == [13]
    assert c.position == 13
    # The watcher's next read still contains 13: it is not delivered again.
    assert ids(c.claim_read([Ev(13), Ev(14)], 12)) == [14]
    assert c.position == 14


def test_cursor_own_write_ahead_of_unseen_foreign_events() -> None:
    """Own write 12 applied before foreign 11 was read: 11 must still come, 12 not twice."""
    c = EventCursor(10)
    assert ids(c.claim_own([Ev(12), Ev(13)])) == [12, 13]
    assert c.position == 10  # 11 not seen yet: no jump over it
    assert c.is_applied(12) and not c.is_applied(11)
    assert ids(c.claim_read([Ev(11), Ev(12), Ev(13)], 10)) == [11]
    assert c.position == 13
    assert ids(c.claim_own([Ev(13)])) == []


def test_cursor_is_thread_safe() -> None:
    c = EventCursor(0)
    delivered: list[int] = []
    lock = threading.Lock()
    all_events = [Ev(i) for i in range(1, 2001)]

    def reader() -> None:
        for start in range(0, 2000, 50):
            got = c.claim_read(all_events[start : start + 50])
            with lock:
                delivered.extend(ids(got))

    def own() -> None:
        for e in all_events[::7]:
            got = c.claim_own([e])
            with lock:
                delivered.extend(ids(got))

    threads = [
        threading.Thread(target=reader),
        threading.Thread(target=own),
        threading.Thread(target=reader),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(delivered) == list(range(1, 2001))
    assert c.position == 2000


# --- watcher, in one process with two terminals -------------------------------------------


def test_check_sees_other_terminals_commit_only_once(two: tuple[Database, Database]) -> None:
    a, b = two
    w = ChangeWatcher(a)
    try:
        assert w.check() == []
        svc.assign(b, "SUP-1", "bob")
        events = w.check()
        assert [(e.item_key, e.field, e.new, e.unix_user) for e in events] == [
            ("SUP-1", "owner", "bob", "bob")
        ]
        assert w.check() == []  # nothing new: data_version unchanged, no read
        reads = w.reads
        assert w.check() == [] and w.reads == reads
    finally:
        w.close()


def _varied_changes(b: Database) -> None:
    """Events with and without a person, an item key, old and new values."""
    svc.assign(b, "SUP-1", "bob")
    svc.comment(b, "SUP-1", "on it")
    svc.create_item(b, queue="support", title="Mouse missing")
    svc.assign(b, "SUP-2", "alice")


def test_raw_event_read_is_the_sqlalchemy_read(two: tuple[Database, Database]) -> None:
    """The watcher's read (queries.events_after_sqlite on a plain sqlite3 connection) returns
    the same records as queries.events_after through SQLAlchemy, for every cursor and
    limit: same rows, same order, same types (timestamps aware, as SQLAlchemy makes them)."""
    a, b = two
    _varied_changes(b)
    raw = sqlite3.connect(f"file:{a.path}?mode=ro", uri=True, isolation_level=None)
    try:
        last = last_id(a)
        with a.read() as conn:
            everything = q.events_after(conn, 0, None)
        assert [e.id for e in everything] == list(range(1, last + 1))
        assert any(e.person for e in everything) and any(e.person is None for e in everything)
        assert any(e.item_key for e in everything) and any(e.item_key is None for e in everything)
        for after in range(0, last + 1):
            for limit in (1, 3, 1000):
                with a.read() as conn:
                    expected = q.events_after(conn, after, limit)
                got = q.events_after_sqlite(raw, a.engine.dialect, after, limit)
                assert got == expected, (after, limit)
                assert [type(e.ts) for e in got] == [type(e.ts) for e in expected]
                assert all(e.ts.tzinfo is not None for e in got)
    finally:
        raw.close()


def test_watcher_reads_pages_on_its_own_connection_in_order(
    two: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paging through the raw read: every event once, in id order, and SQLAlchemy's read
    is not needed for it."""
    import opstui.sync.watcher as watcher_mod

    a, b = two
    w = ChangeWatcher(a)
    try:
        start = w.cursor.position
        monkeypatch.setattr(watcher_mod, "PAGE", 2)

        def no_sqlalchemy(*_a: Any, **_k: Any) -> Any:
            raise AssertionError("the watcher read through SQLAlchemy")

        monkeypatch.setattr(q, "events_after", no_sqlalchemy)
        _varied_changes(b)
        last = last_id(b)
        reads = w.reads
        events = w.check()
        assert [e.id for e in events] == list(range(start + 1, last + 1))
        assert w.reads - reads == (last - start) // 2 + 1  # full pages, then a short one
        assert w.cursor.position == last
        assert w.check() == []
    finally:
        w.close()


def test_watcher_read_falls_back_to_sqlalchemy_on_a_driver_error(
    two: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two
    w = ChangeWatcher(a)
    try:
        start = w.cursor.position

        def broken(*_a: Any, **_k: Any) -> Any:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(q, "events_after_sqlite", broken)
        _varied_changes(b)
        events = w.check()
        assert [e.id for e in events] == list(range(start + 1, last_id(b) + 1))
        assert w._conn is None  # dropped: the next look opens a new connection
        svc.assign(b, "SUP-1", "carol")
        assert [(e.item_key, e.new) for e in w.check()] == [("SUP-1", "carol")]
    finally:
        w.close()


async def test_async_watch_yields_only_batches_with_events(
    two: tuple[Database, Database],
) -> None:
    """abatches: one worker-thread call per batch; a file change that brings no events (a
    checkpoint) is not yielded, ``on_batch`` sees each batch in the worker thread, and a
    cancelled wait stops the watcher."""
    import asyncio

    a, b = two
    w = ChangeWatcher(a, poll_interval=30)
    seen_in: list[tuple[list[q.EventRecord], str]] = []
    w.on_batch = lambda events: seen_in.append((events, threading.current_thread().name))
    batches = w.abatches()
    try:
        nxt = asyncio.ensure_future(batches.__anext__())
        await asyncio.sleep(0.1)
        with sqlite3.connect(b.path) as raw:  # writes the main file, commits nothing
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await asyncio.sleep(0.2)
        assert not nxt.done()
        svc.assign(b, "SUP-2", "carol")
        events = await asyncio.wait_for(nxt, 5)
        assert [(e.item_key, e.new) for e in events] == [("SUP-2", "carol")]
        assert len(seen_in) == 1 and seen_in[0][0] is events
        assert seen_in[0][1] != threading.current_thread().name
        nxt = asyncio.ensure_future(batches.__anext__())
        await asyncio.sleep(0.05)
        nxt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await nxt
        assert w.stopped
    finally:
        w.close()
        await batches.aclose()


@pytest.mark.both_engines
def test_watching_delivers_a_change_from_another_terminal(two: tuple[Database, Database]) -> None:
    a, b = two
    col = Collector(watcher_for(a, poll_interval=30))  # no safety poll: the watcher must do it
    try:
        assert col.watcher.mode == "watching"
        time.sleep(0.05)
        t0 = time.monotonic()
        svc.assign(b, "SUP-2", "alice")
        assert col.wait_for(last_id(b))
        assert time.monotonic() - t0 < 1.0
        assert [(e.item_key, e.new) for e in col.events] == [("SUP-2", "alice")]
    finally:
        col.stop()


@pytest.mark.both_engines
def test_commit_between_cursor_and_watcher_start_is_not_lost(
    two: tuple[Database, Database],
) -> None:
    """The dashboard's first load reads the cursor; a commit before the watcher's first
    data_version would never change it again: the watcher starts with one catch-up read."""
    a, b = two
    cursor = EventCursor(last_id(a))
    svc.assign(b, "SUP-1", "bob")
    col = Collector(watcher_for(a, cursor, poll_interval=30))
    try:
        assert col.wait_for(last_id(a), timeout=3)
        assert [e.item_key for e in col.events] == ["SUP-1"]
    finally:
        col.stop()


def test_poll_mode_when_forced(two: tuple[Database, Database]) -> None:
    a, b = two
    col = Collector(ChangeWatcher(a, poll_interval=0.05, force_poll=True))
    try:
        assert col.watcher.mode == "polling (--poll)"
        svc.assign(b, "SUP-1", "carol")
        svc.comment(b, "SUP-1", "on it")
        assert col.wait_for(last_id(b))
        assert [e.field for e in col.events][:1] == ["owner"]
        assert col.watcher.fs_wakeups == 0
    finally:
        col.stop()


def test_falls_back_to_polling_when_inotify_fails(
    two: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    from opstui.sync import inotify

    def no_watches(*_a: object, **_k: object) -> None:
        # what inotify_add_watch says when fs.inotify.max_user_watches is reached
        raise OSError(28, "inotify_add_watch: No space left on device")

    monkeypatch.setattr(inotify, "open_notify", no_watches)
    a, b = two
    col = Collector(ChangeWatcher(a, poll_interval=0.05))
    try:
        svc.assign(b, "SUP-1", "bob")
        assert col.wait_for(last_id(b))
        assert col.watcher.mode == "polling (inotify limit reached)"
    finally:
        col.stop()


def test_network_filesystem_is_polled(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/sda1 / ext4 rw 0 0\n"
        "server:/export /mnt/team nfs4 rw 0 0\n"
        "me@host:/srv /mnt/ssh fuse.sshfs rw 0 0\n"
    )
    assert network_fs_type(Path("/mnt/team/ops"), mounts) == "nfs4"
    assert network_fs_type(Path("/mnt/ssh"), mounts) == "fuse.sshfs"
    assert network_fs_type(Path("/mnt/teamwork"), mounts) is None
    assert network_fs_type(Path("/home/x"), mounts) is None


def test_safety_poll_catches_a_commit_the_watcher_missed(two: tuple[Database, Database]) -> None:
    """Watch a *different* directory: no file event ever arrives, the safety poll still finds it."""
    a, b = two
    w = ChangeWatcher(a, poll_interval=0.1)
    w._relevant_names = lambda: frozenset({"not-this-file"})  # type: ignore[method-assign]
    col = Collector(w)
    try:
        svc.assign(b, "SUP-1", "bob")
        assert col.wait_for(last_id(b), timeout=3)
        assert w.fs_wakeups == 0
    finally:
        col.stop()


def _own_write(a: Database, cursor: EventCursor, key: str, handle: str) -> list[int]:
    """What the app does after its own write: read the write's events, claim, apply."""
    before = cursor.position
    svc.assign(a, key, handle)
    with a.read() as conn:
        own = [e for e in q.events_after(conn, before) if e.unix_user == a.unix_user]
    return [e.id for e in cursor.claim_own(own)]


@pytest.mark.both_engines
def test_own_write_is_applied_once(two: tuple[Database, Database]) -> None:
    """The app applies its own write at once; its watcher must not deliver it again,
    but must still deliver a foreign event committed just before it."""
    a, b = two
    w = watcher_for(a, EventCursor(last_id(a)))
    try:
        start = w.cursor.position
        svc.assign(b, "SUP-1", "bob")  # foreign, committed first, not read yet
        applied = _own_write(a, w.cursor, "SUP-2", "alice")
        assert len(applied) == 1
        assert w.cursor.position == start  # the foreign event is not skipped over
        delivered = w.check()
        assert [(e.unix_user, e.item_key) for e in delivered] == [("bob", "SUP-1")]
        assert w.cursor.position == last_id(a)
        assert w.check() == [] and w.check(force=True) == []
    finally:
        w.close()


@pytest.mark.both_engines
def test_own_writes_racing_the_watcher_thread_are_never_doubled(
    two: tuple[Database, Database],
) -> None:
    a, b = two
    start = last_id(a)
    cursor = EventCursor(start)
    col = Collector(watcher_for(a, cursor, poll_interval=30))
    applied: list[int] = []
    try:
        time.sleep(0.05)
        for i in range(20):
            svc.assign(b, "BIL-1", ["bob", "carol"][i % 2])
            applied += _own_write(a, cursor, "SUP-2", ["alice", "bob"][i % 2])
        deadline = time.monotonic() + 5
        while cursor.position < last_id(a) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        from_watcher = [e.id for e in col.events]
        assert not set(from_watcher) & set(applied)
        assert sorted(from_watcher + applied) == list(range(start + 1, last_id(a) + 1))
        assert {e.item_key for e in col.events if e.unix_user == "bob"} == {"BIL-1"}
    finally:
        col.stop()


@pytest.mark.both_engines
def test_follow_events_starts_after_cursor_and_follows(two: tuple[Database, Database]) -> None:
    a, b = two
    start = last_id(a)
    svc.assign(b, "SUP-1", "bob")
    got: list[q.EventRecord] = []
    gen = follow_events(a, start, poll_interval=30)

    def consume() -> None:
        for e in gen:
            got.append(e)
            if len(got) == 2:
                return

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    time.sleep(0.1)
    svc.assign(b, "SUP-2", "bob")
    t.join(5)
    gen.close()
    assert [e.item_key for e in got] == ["SUP-1", "SUP-2"]


# --- real processes -----------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OPSTUI_CONFIG": "/nonexistent/opstui.toml"}


@pytest.mark.both_engines
@pytest.mark.slow
def test_cli_assign_in_another_process_reaches_the_watcher(shared_path: str) -> None:
    a = terminal(shared_path, "alice")
    col = Collector(watcher_for(a, poll_interval=30))
    try:
        subprocess.run(
            [sys.executable, "-m", "opstui", "--db", str(shared_path), "assign", "BIL-1", "carol"],
            cwd=ROOT,
            env=_env(),
            check=True,
            capture_output=True,
            timeout=30,
        )
        assert col.wait_for(last_id(a))
        assert [(e.item_key, e.field, e.new) for e in col.events] == [("BIL-1", "owner", "carol")]
    finally:
        col.stop()
        a.dispose()


@pytest.mark.both_engines
@pytest.mark.slow
def test_follow_process_sees_a_write_from_this_process(shared_path: str) -> None:
    """`opstui events --follow --json` in a second process runs the watcher."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "opstui",
            "--db",
            str(shared_path),
            "events",
            "--follow",
            "--json",
            "-n",
            "1",
        ],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    b = terminal(shared_path, "bob")
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the last existing event: the follower is up
        time.sleep(0.2)
        svc.assign(b, "SUP-2", "bob")
        line = proc.stdout.readline()
        assert json.loads(line)["item"] == "SUP-2" and json.loads(line)["new"] == "bob"
    finally:
        proc.terminate()
        proc.wait(10)
        b.dispose()


BURST = """
import sys
from opstui.store.schema import open_database
from opstui.services.context import writing
from opstui.services.context import Ctx
db = open_database(sys.argv[1], create=False, unix_user="burst")
for i in range(int(sys.argv[2])):
    with writing(db) as ctx:
        ctx.record("comment", None, f"burst {i}", item_id=1, item_version=1)
print("done", flush=True)
"""


@pytest.mark.both_engines
@pytest.mark.slow
def test_burst_of_1000_commits_is_caught_up_in_order(shared_path: str) -> None:
    a = terminal(shared_path, "alice")
    start = last_id(a)
    col = Collector(watcher_for(a, poll_interval=30))
    try:
        subprocess.run(
            [sys.executable, "-c", BURST, str(shared_path), "1000"],
            cwd=ROOT,
            env=_env(),
            check=True,
            capture_output=True,
            timeout=60,
        )
        assert col.wait_for(start + 1000, timeout=10)
        seen = [e.id for e in col.events]
        assert seen == list(range(start + 1, start + 1001))
        assert [e.new for e in col.events] == [f"burst {i}" for i in range(1000)]
        assert col.batches < 1000  # batched, not one read per commit
    finally:
        col.stop()
        a.dispose()


# --- notices -------------------------------------------------------------------------------


@pytest.mark.both_engines
def test_notices_for_me(two: tuple[Database, Database]) -> None:
    a, b = two  # a = alice (triages support), b = bob
    viewer = load_viewer(a)
    assert viewer.handle == "alice" and [t.slug for t in viewer.triage] == ["support"]
    start = last_id(a)
    svc.assign(b, "BIL-1", "alice")  # assigned to me
    svc.create_item(b, queue="support", title="New laptop for Jo")  # lands in my queue
    svc.create_item(b, queue="billing", title="Refund")  # not my queue
    svc.assign(b, "SUP-1", "bob")  # not to me
    svc.assign(a, "SUP-2", "alice")  # my own change: never a notice
    with a.read() as conn:
        events = q.events_after(conn, start)
    notices = notices_for(events, viewer)
    assert [(n.kind, n.item_key) for n in notices] == [("assigned", "BIL-1"), ("queued", "SUP-3")]
    assert "by bob" in notices[0].message


@dataclass(frozen=True)
class FakeEvent:  # the EventRecord shape, for events other services will write
    id: int
    field: str
    new: str | None
    unix_user: str = "bob"
    person: str | None = "bob"
    item_id: int | None = 7
    item_key: str | None = "SUP-7"
    entity: str = "item"
    entity_id: int | None = 7
    old: str | None = None


def test_notices_queue_moves_notify_and_sla() -> None:
    me = Viewer(
        unix_user="alice", handle="alice", triage=(TriageQueue("support", "Support", "SUP"),)
    )
    events = [
        FakeEvent(1, "queue", "support"),
        FakeEvent(2, "queue", "billing"),
        FakeEvent(3, "notify", "alice: SUP-7 needs your approval"),
        FakeEvent(4, "notify", "bob: not for me"),
        FakeEvent(5, "sla_warning", "first response due in 10m"),
        FakeEvent(6, "sla_breached", "resolution", item_id=8, item_key="SUP-8"),
        FakeEvent(
            7, "owner", "alice", unix_user="alice", person="alice", item_id=8, item_key="SUP-8"
        ),
        FakeEvent(
            8,
            "sla_breached",
            "resolution",
            unix_user="opstui",
            person=None,
            item_id=8,
            item_key="SUP-8",
        ),
        FakeEvent(9, "notify", "alice: \x1b[31mred[/b]", unix_user="root", person=None),
        # my own terminal's SLA timer recorded this crossing: still a notice for me
        FakeEvent(10, "sla_warning", "resolution", unix_user="alice", person="alice"),
        # ...but my own queue move is not
        FakeEvent(11, "queue", "support", unix_user="alice", person="alice"),
    ]
    notices = notices_for(events, me, owners={7: "alice", 8: "bob"})
    assert [(n.event_id, n.kind, n.severity) for n in notices] == [
        (1, "queued", "information"),
        (3, "notify", "information"),
        (5, "sla_warning", "warning"),
        (8, "sla_breached", "error"),  # SUP-8 became mine at event 7
        (9, "notify", "information"),
        (10, "sla_warning", "warning"),
    ]
    assert "\x1b" not in notices[-2].message  # control bytes stripped; markup stays literal text


@pytest.mark.both_engines
def test_sla_owners_reads_current_owners(two: tuple[Database, Database]) -> None:
    a, b = two
    svc.assign(b, "SUP-1", "alice")
    with a.read() as conn:
        item = q.get_item(conn, "SUP-1")
    assert item is not None
    events = [
        FakeEvent(1, "sla_warning", "x", item_id=item.id),
        FakeEvent(2, "owner", "bob", item_id=99),
    ]
    assert sla_owners(a, events) == {item.id: "alice"}
    assert sla_owners(a, [FakeEvent(1, "owner", "x")]) == {}


def test_watch_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert WatchSettings.from_env() == WatchSettings()
    monkeypatch.setenv("OPSTUI_WATCH_STEP", "20")
    monkeypatch.setenv("OPSTUI_WATCH_DEBOUNCE", "nonsense")  # ignored, default kept
    assert WatchSettings.from_env() == WatchSettings(step=20, debounce=WatchSettings().debounce)


# --- LiveFeed (what the dashboard runs as an async worker) ----------------------------------


@pytest.mark.both_engines
async def test_live_feed_yields_events_and_notices(two: tuple[Database, Database]) -> None:
    import asyncio

    a, b = two  # a is alice's terminal
    feed = LiveFeed(a, last_id(a), poll_interval=30)
    updates = feed.updates()
    try:
        nxt = asyncio.ensure_future(updates.__anext__())
        await asyncio.sleep(0.1)
        # alice's own write, applied by her app at once: the feed skips it once told (on
        # PostgreSQL the notification may win that race: then it comes back, harmlessly, as
        # the app applies events idempotently, and never as a notice)...
        svc.assign(a, "SUP-2", "alice")
        feed.applied(last_id(a))
        # ...and delivers bob's change with a notice for alice.
        svc.assign(b, "BIL-1", "alice")
        events, notices = [], []
        while ("bob", "BIL-1") not in events:
            update = await asyncio.wait_for(nxt, 5)
            events += [(e.unix_user, e.item_key) for e in update.events]
            notices += [(n.kind, n.item_key) for n in update.notices]
            nxt = asyncio.ensure_future(updates.__anext__())
        assert events in ([("bob", "BIL-1")], [("alice", "SUP-2"), ("bob", "BIL-1")])
        assert notices == [("assigned", "BIL-1")]
        assert feed.mode == "watching"
        nxt.cancel()
    finally:
        feed.close()
        await updates.aclose()


@pytest.mark.both_engines
async def test_live_feed_poll_mode(two: tuple[Database, Database]) -> None:
    import asyncio

    a, b = two
    feed = LiveFeed(a, last_id(a), poll_interval=0.05, force_poll=True)
    updates = feed.updates()
    try:
        svc.create_item(b, queue="support", title="Mouse missing")
        update = await asyncio.wait_for(updates.__anext__(), 5)
        assert update.events[0].field == "created"
        assert [n.kind for n in update.notices] == ["queued"]  # alice triages support
        assert feed.mode == "polling (--poll)"
    finally:
        feed.close()
        await updates.aclose()


def test_drift_notices_go_to_the_owner_and_the_triage_owner() -> None:
    me = Viewer(
        unix_user="alice", handle="alice", person_id=1, triage=(TriageQueue("support", "", "SUP"),)
    )
    late = "finishes Fri 11 Dec 10:08, due Wed 09 Dec 17:00: 1d17h late"
    events = [
        # my own terminal's timer noticed: still told
        FakeEvent(1, "drifting", late, unix_user="alice", item_id=7, item_key="PRJ-7"),
        FakeEvent(2, "drifting", late, item_id=8, item_key="PRJ-8"),  # bob's: not mine
        FakeEvent(3, "drifting", late, item_id=9, item_key="SUP-9"),  # unowned in my queue
        FakeEvent(4, "drifting", None, item_id=7, item_key="PRJ-7"),  # back on time: quiet
        FakeEvent(5, "drifting", late, item_id=10, item_key="INF-1"),  # unowned elsewhere
    ]
    notices = notices_for(events, me, owners={7: "alice", 8: "bob", 9: None, 10: None})
    assert [(n.event_id, n.kind, n.title) for n in notices] == [
        (1, "drifting", "Drifting"),
        (3, "drifting", "Unowned work drifting"),
    ]
    assert notices[0].message == f"PRJ-7: {late}" and notices[0].severity == "warning"


# --- PostgreSQL: LISTEN/NOTIFY -------------------------------------------------------------


@pytest.fixture
def pg_two(new_pg_db: Any, pg_template: str) -> Iterator[tuple[Database, Database]]:
    url = new_pg_db(pg_template)
    a, b = terminal(url, "alice"), terminal(url, "bob")
    yield a, b
    a.dispose()
    b.dispose()


def test_pg_notification_is_sent_only_when_the_change_commits(
    pg_two: tuple[Database, Database],
) -> None:
    import psycopg

    from opstui.services.context import writing
    from opstui.store import dialect

    a, _b = pg_two
    with psycopg.connect(dialect.libpq_url(a.target), autocommit=True) as listen:
        listen.execute(f"LISTEN {dialect.CHANNEL}")
        with writing(a, dry_run=True) as ctx:  # rolled back
            ctx.record("comment", None, "never", item_id=1, item_version=1)
        assert list(listen.notifies(timeout=0.3)) == []
        svc.comment(a, "SUP-1", "for real")
        got = list(listen.notifies(timeout=2, stop_after=1))
        assert [n.channel for n in got] == [dialect.CHANNEL]


def test_pg_listener_reconnects_and_catches_up(pg_two: tuple[Database, Database]) -> None:
    a, b = pg_two
    modes: list[str] = []
    col = Collector(watcher_for(a, poll_interval=30, on_mode=modes.append))
    try:
        assert col.watcher.mode == "watching"
        with b.write() as conn:  # the server drops the listening session
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'opstui-listen' AND datname = current_database()"
            )
        svc.assign(b, "SUP-1", "bob")  # committed while alice's listener is down
        assert col.wait_for(last_id(b), timeout=10)
        assert [(e.item_key, e.new) for e in col.events] == [("SUP-1", "bob")]
        assert any(m.startswith("reconnecting") for m in modes) and modes[-1] == "watching"
        assert col.watcher.reconnects == 1
        svc.assign(b, "SUP-2", "carol")  # and it listens again
        assert col.wait_for(last_id(b), timeout=5)
    finally:
        col.stop()
