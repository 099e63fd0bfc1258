"""Deltas: the pane model kept current from the events after the cursor says exactly what a
full reload says, after every step of random changes; and gaps make it reload."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opstui.domain.clock import Clock
from opstui.errors import OpsError
from opstui.services import drift, transitions
from opstui.services import items as svc
from opstui.services import loading as loader
from opstui.services.sla import crossings as sla_svc
from opstui.store import panes as pane_q
from opstui.store import queries as q
from opstui.store.engine import Database
from opstui.store.schema import open_database
from opstui.sync.delta import Delta, PaneModel

SHOP = Path(__file__).resolve().parent.parent / "opstui" / "sample_data" / "shop.toml"
T0 = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # a Wednesday morning


@pytest.fixture(scope="module")
def shop_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("delta") / "shop.db"
    db = open_database(path, clock=Clock.frozen(T0), unix_user="loader")
    loader.load_file(db, SHOP)
    db.dispose()
    return path


@pytest.fixture
def shop(shop_file: Path, tmp_path: Path) -> Database:
    path = tmp_path / "shop.db"
    path.write_bytes(shop_file.read_bytes())
    db = open_database(path, clock=Clock.frozen(T0), unix_user="tester")
    yield db
    db.dispose()


def full_reload(db: Database, now: datetime) -> tuple[tuple, tuple, tuple]:
    """What the panes show after a full reload: the SQL forms of the figures."""
    with db.read() as conn:
        return (
            tuple(pane_q.queue_stats(conn, now)),
            tuple(pane_q.owner_stats(conn, now, now.date())),
            tuple(pane_q.sla_rows(conn, 200)),
        )


def model_panes(model: PaneModel) -> tuple[tuple, tuple, tuple]:
    return model.queues, model.owners, model.sla


def random_change(db: Database, rng: random.Random) -> str:
    """One change through the services, as a terminal would make it."""
    with db.read() as conn:
        open_items = q.list_items(conn, q.ItemFilter(open_only=True), limit=400)
        people = [p.handle for p in q.list_people(conn, include_inactive=False)]
        queues = [x.slug for x in q.list_queues(conn)]
    it = rng.choice(open_items)
    kinds = ["assign", "assign", "transition", "transition", "create", "edit", "sla", "drift"]
    kind = rng.choice(kinds)
    if kind == "assign":
        svc.assign(db, it.key, rng.choice([*people, None]))
    elif kind == "transition":
        with db.read() as conn:
            moves = q.next_states_for_item(conn, it.key)
        if not moves:
            return "none"
        try:
            transitions.transition(db, it.key, rng.choice(moves).to_state)
        except OpsError:
            return "refused"  # e.g. an approval or a blocker: refused, nothing changed
    elif kind == "create":
        svc.create_item(
            db,
            queue=rng.choice(queues),
            title=f"new {rng.random():.4f}",
            owner=rng.choice([*people, None]),
            priority=rng.randint(1, 4),
            estimate=rng.choice([None, 0.5, 1, 3, 8]),
        )
    elif kind == "edit":
        svc.edit_item(db, it.key, estimate=rng.choice([0.25, 1.5, 4, 12]))
    elif kind == "drift":  # the forecast's drift bookkeeping (items start or stop drifting)
        drift.record_drift(db)
    else:  # time passes: SLA warnings and breaches are crossed and recorded
        db.clock.advance(timedelta(minutes=rng.choice([3, 7, 25, 50])))
        sla_svc.record_sla_crossings(db)
    return kind


def test_random_changes_applied_as_deltas_equal_a_full_reload(shop: Database) -> None:
    rng = random.Random(17)
    model = PaneModel()
    with shop.read() as conn:
        model.load(conn, shop.clock.now())
        cursor = q.last_event_id(conn)
    assert model_panes(model) == full_reload(shop, shop.clock.now())
    kinds: set[str] = set()
    for step in range(60):
        before = shop.clock.now()
        kinds.add(random_change(shop, rng))
        now = shop.clock.now()
        with shop.read() as conn:
            events = q.events_after(conn, cursor)
            delta = Delta.from_events(events, cursor)
            if now != before:  # the app asks for this when a countdown crosses zero
                delta = delta.merge(Delta(recount=True))
            snap = model.apply(conn, delta, now)
        cursor = max([cursor, *(e.id for e in events)])
        assert snap.reloaded is None, (step, snap.reloaded)
        assert model_panes(model) == full_reload(shop, now), (step, sorted(kinds))
    assert {"assign", "transition", "create", "edit", "sla", "drift"} <= kinds
    assert any(o.drifting for o in model.owners)  # drifting items were counted
    assert model.reloads == 1 and model.deltas == 60


def test_an_owner_change_rereads_only_that_item_and_names_only_its_panes(shop: Database) -> None:
    model = PaneModel()
    with shop.read() as conn:
        model.load(conn, shop.clock.now())
        cursor = q.last_event_id(conn)
        item = next(i for i in q.list_items(conn, q.ItemFilter(open_only=True)) if i.owner)
        people = [p.handle for p in q.list_people(conn, include_inactive=False)]
    svc.assign(shop, item.key, next(h for h in people if h != item.owner))
    with shop.read() as conn:
        events = q.events_after(conn, cursor)
        snap = model.apply(conn, Delta.from_events(events, cursor), shop.clock.now())
    assert snap.reread == 1 and snap.reloaded is None
    assert snap.owners is not None  # two owners' counts moved
    # a comment touches no pane: nothing to redraw
    cursor = max(e.id for e in events)
    svc.comment(shop, item.key, "looking")
    with shop.read() as conn:
        events = q.events_after(conn, cursor)
        snap = model.apply(conn, Delta.from_events(events, cursor), shop.clock.now())
    assert (snap.queues, snap.owners, snap.sla) == (None, None, None)


def test_gaps_reload_everything(shop: Database) -> None:
    model = PaneModel()
    now = shop.clock.now()
    with shop.read() as conn:
        model.load(conn, now)
        cursor = q.last_event_id(conn)
    item = "SUP-1"
    svc.assign(shop, item, "alice")
    svc.assign(shop, item, "bob")
    # events pruned under the cursor (another tool trimmed the log): a delta cannot say
    # what the lost events did
    raw = sqlite3.connect(shop.path)
    raw.execute("DELETE FROM event WHERE id <= ?", (cursor + 1,))
    raw.commit()
    with shop.read() as conn:
        events = q.events_after(conn, cursor)
        snap = model.apply(conn, Delta.from_events(events, cursor), now)
    assert snap.reloaded and "pruned" in snap.reloaded
    assert model.reloads == 2
    assert model_panes(model) == full_reload(shop, now)
    cursor = max(e.id for e in events)

    # a schema change
    raw.execute("CREATE INDEX ix_test_delta ON item (title)")
    raw.commit()
    raw.close()
    svc.assign(shop, item, "alice")
    with shop.read() as conn:
        events = q.events_after(conn, cursor)
        snap = model.apply(conn, Delta.from_events(events, cursor), now)
    assert snap.reloaded == "the schema changed"

    # people changed, and a burst too big for deltas
    assert Delta.from_events([_Ev(1, "person", None)]).reload == "person changed"
    burst = Delta.from_events([_Ev(i, "item", i) for i in range(1, 1500)])
    assert burst.reload and "1499 items" in burst.reload


class _Ev:
    def __init__(self, id: int, entity: str, item_id: int | None) -> None:
        self.id, self.entity, self.item_id = id, entity, item_id
