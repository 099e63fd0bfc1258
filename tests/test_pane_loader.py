"""sync.pane_loader: one long-lived thread applies deltas; deltas requested while one is
applied are merged into one run; a failure makes the next run a full reload."""

from __future__ import annotations

import threading
from typing import Any

from opstui.services import items as svc
from opstui.store import queries as q
from opstui.store.engine import Database
from opstui.sync.delta import Delta, PaneModel, PaneSnapshot
from opstui.sync.pane_loader import PaneLoader


class Sink:
    def __init__(self) -> None:
        self.snaps: list[PaneSnapshot] = []
        self.errors: list[BaseException] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def deliver(self, snap: PaneSnapshot) -> None:
        self.entered.set()
        self.gate.wait(10)
        self.snaps.append(snap)

    def failed(self, exc: BaseException) -> None:
        self.errors.append(exc)


def _loader(db: Database, sink: Sink, model: PaneModel | None = None) -> PaneLoader:
    return PaneLoader(db, model or PaneModel(), db.clock.now, sink.deliver, sink.failed)


def _events_after(db: Database, cursor: int) -> list[q.EventRecord]:
    with db.read() as conn:
        return q.events_after(conn, cursor)


def test_deltas_requested_while_busy_are_applied_as_one(sample_db: Database) -> None:
    sink = Sink()
    loader = _loader(sample_db, sink)
    try:
        loader.request(Delta.full("first load"))
        assert loader.wait_idle(10)
        assert [s.reloaded for s in sink.snaps] == ["not loaded"]
        cursor = sink.snaps[0].cursor
        assert cursor is not None

        with sample_db.read() as conn:
            open_items = q.list_items(conn, q.ItemFilter(open_only=True), limit=3)
        sink.gate.clear()  # the next delivery blocks: the loader is busy
        sink.entered.clear()
        loader.request(Delta(recount=True))
        assert sink.entered.wait(10)
        assert loader.busy and not loader.waiting  # applying, nothing after it yet
        for it in open_items:
            svc.assign(sample_db, it.key, None if it.owner else "alice")
            new = _events_after(sample_db, cursor)
            loader.request(Delta.from_events(new, cursor))
            cursor = max(e.id for e in new)
        assert loader.waiting  # the three changes wait, merged, behind the recount
        sink.gate.set()
        assert loader.wait_idle(10)
        assert not loader.waiting
        assert loader.runs == 3  # the first load, the recount, then the three changes as one
        assert sink.snaps[-1].reloaded is None
        assert sink.snaps[-1].reread == len(open_items)
        assert loader.model.deltas == 2 and loader.model.reloads == 1
        assert not sink.errors
    finally:
        loader.close()


def test_a_failure_is_reported_and_the_next_run_reloads(sample_db: Database) -> None:
    sink = Sink()
    model = PaneModel()
    loader = _loader(sample_db, sink, model)
    try:
        loader.request(Delta.full("first load"))
        assert loader.wait_idle(10)
        original = model.apply
        calls: list[int] = []

        def broken(conn: Any, delta: Delta, now: Any) -> PaneSnapshot:
            calls.append(1)
            if len(calls) == 1:
                model.items.clear()  # half-updated, then it fails
                raise RuntimeError("disk on fire")
            return original(conn, delta, now)

        model.apply = broken  # type: ignore[method-assign]
        loader.request(Delta(recount=True))
        assert loader.wait_idle(10)
        assert [str(e) for e in sink.errors] == ["disk on fire"]
        assert model.loaded is False
        loader.request(Delta(recount=True))
        assert loader.wait_idle(10)
        assert sink.snaps[-1].reloaded == "not loaded"  # a gap of our own: reload whole
        assert model.items  # reloaded
    finally:
        loader.close()


def test_close_stops_the_thread_and_ignores_later_requests(sample_db: Database) -> None:
    sink = Sink()
    loader = _loader(sample_db, sink)
    loader.request(Delta.full("first load"))
    assert loader.wait_idle(10)
    thread = loader._thread
    assert thread is not None and thread.is_alive()
    loader.close()
    assert not thread.is_alive()
    loader.request(Delta.full("after close"))
    assert loader.wait_idle(1)
    assert [s.reloaded for s in sink.snaps] == ["not loaded"]
