"""Panes that hold a real team: 60 queues and 120 people.  The Queues pane orders by
what needs attention, scrolls and says how many rows are off screen (live); names that
share a prefix stay distinguishable; a column that holds nothing gives its width away."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len
from ui_helpers import ANCHOR, screen_text, settle

from opstui.domain.clock import Clock
from opstui.services import items
from opstui.services.loading import load_data
from opstui.store import queries as q
from opstui.store.engine import Database
from opstui.store.schema import open_database
from opstui.ui.widgets.panes import OwnersPane, QueuesPane

QUEUES = 60
PEOPLE = 120


def _plan(i: int) -> tuple[int, int, int]:
    """(breached, warning, ok) open items of queue ``i`` (1-based)."""
    return i % 4, (i // 4) % 3, i % 5


def _slug(i: int) -> str:
    return f"service-desk-tier-{i}"


def _team_data() -> dict:
    people = [{"handle": f"resolver-{n}", "name": f"Resolver {n}"} for n in range(1, PEOPLE + 1)]
    queues = [{"slug": _slug(i), "prefix": f"Q{i}"} for i in range(1, QUEUES + 1)]
    items_: list[dict] = []
    for i in range(1, QUEUES + 1):
        breached, warning, ok = _plan(i)

        def add(created, n: int, i: int = i) -> None:
            owner = f"resolver-{(i * 7 + n) % PEOPLE + 1}"
            items_.append(
                {
                    "queue": _slug(i),
                    "title": f"ticket {n} of {i}",
                    "owner": owner,
                    "created": created.isoformat(),
                }
            )

        for n in range(breached):  # 30m response target long gone
            add(ANCHOR - timedelta(hours=2, minutes=i), n)
        for n in range(warning):  # 20 minutes of 30 used: past the 50% warning point
            add(ANCHOR - timedelta(minutes=20), 10 + n)
        for n in range(ok):
            add(ANCHOR - timedelta(minutes=2), 20 + n)
    policies = [{"name": "respond", "first_response": "30m", "warn_at": "50%"}]
    return {"people": people, "queues": queues, "sla_policies": policies, "items": items_}


def expected_order() -> list[str]:
    """The order the issue asks for, computed from the plan (not from the pane's code)."""

    def oldest(i: int):
        breached, warning, ok = _plan(i)
        if breached:
            return ANCHOR - timedelta(hours=2, minutes=i)
        if warning:
            return ANCHOR - timedelta(minutes=20)
        if ok:
            return ANCHOR - timedelta(minutes=2)
        return None

    def key(i: int):
        breached, warning, ok = _plan(i)
        age = oldest(i)
        return (
            -breached,
            -warning,
            age is None,
            age or ANCHOR,
            -(breached + warning + ok),
            _slug(i),
        )

    return [_slug(i) for i in sorted(range(1, QUEUES + 1), key=key)]


@pytest.fixture
def team_db(tmp_path: Path):
    db = open_database(tmp_path / "team.db", create=True, clock=Clock.frozen(ANCHOR), unix_user="t")
    load_data(db, _team_data())
    yield db
    db.dispose()


def said(app, pane) -> str:
    """What the pane's bottom border says (as drawn on the screen)."""
    text = pane.more_text()
    bottom = pane.region.bottom - 1
    line = screen_text(app).splitlines()[bottom]
    assert text in line[pane.region.x : pane.region.right], (text, line)
    return text


def visible_rows(pane) -> int:
    return pane.scrollable_content_region.height - 1  # less the header line


async def test_queues_by_attention_scroll_and_say_how_many_are_off_screen(team_db: Database, make):
    app = make(team_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        pane = app.screen.query_one(QueuesPane)
        assert [s.slug for s in pane.stats] == expected_order()
        shown = visible_rows(pane)
        assert 0 < shown < QUEUES
        assert said(app, pane) == f"↓ {QUEUES - shown} more"
        # the cursor scrolls the pane; the count follows
        assert app.focused is pane
        for _ in range(shown + 2):
            await pilot.press("j")
        await pilot.pause()
        above, below = pane.hidden_rows()
        assert above == 3 and below == QUEUES - shown - 3
        assert said(app, pane) == f"↑{above} ↓{below} more"
        await pilot.press("G")
        await pilot.pause()
        assert said(app, pane) == f"↑ {QUEUES - shown} more"
        assert pane.cursor_key == expected_order()[-1]
        await pilot.press("g")
        await pilot.pause()
        assert said(app, pane) == f"↓ {QUEUES - shown} more"
        await pilot.resize_terminal(160, 48)
        await settle(pilot, app)
        taller = visible_rows(pane)
        assert taller > shown and said(app, pane) == f"↓ {QUEUES - taller} more"


async def test_a_change_reorders_the_queues_live(team_db: Database, make):
    app = make(team_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        pane = app.screen.query_one(QueuesPane)
        last = expected_order()[-1]
        assert pane.stats[-1].slug == last
        for n in range(5):  # more breached items than any other queue has
            items.create_item(
                team_db, queue=last, title=f"outage {n}", created_at=ANCHOR - timedelta(hours=3)
            )
        with team_db.read() as conn:
            app.refresh_from_events(q.events_after(conn, app.event_cursor))
        await settle(pilot, app)
        assert pane.stats[0].slug == last and pane.stats[0].breaching == 5
        assert pane.row_key(0) == last
        assert last.split("-")[-1] in screen_text(app).splitlines()[3]


async def test_names_sharing_a_prefix_stay_apart_and_empty_columns_give_way(
    team_db: Database, make
):
    app = make(team_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        queues = app.screen.query_one(QueuesPane)
        owners = app.screen.query_one(OwnersPane)
        # nobody is a triage owner: the triage column holds nothing and is collapsed;
        # nobody has a team or is away: neither column is shown
        assert "triage" not in {c.key for c, _ in queues.layout_for(38)}
        assert {"team", "flag"}.isdisjoint({c.key for c, _ in owners.layout_for(78)})
        width = dict(
            (c.key, w) for c, w in queues.layout_for(queues.scrollable_content_region.width)
        )
        names = [queues.row_cells(i)[0][0] for i in range(QUEUES)]
        assert len(set(names)) == QUEUES
        assert all(cell_len(n) <= width["queue"] for n in names)
        tier = {s.slug: queues.row_cells(i)[0][0] for i, s in enumerate(queues.stats)}
        assert tier["service-desk-tier-7"].endswith("…7")
        assert tier["service-desk-tier-17"].endswith("…17")
        handles = [owners.row_cells(i)[0] for i in range(owners.row_count())]
        texts = [h.plain if hasattr(h, "plain") else h[0] for h in handles]
        assert len(set(texts)) == len(texts) == PEOPLE + 1  # the unowned row as well
        text = screen_text(app)
        assert "resolv…" in text or "resolve…" in text
    # with a triage owner somewhere the column comes back
    load_data(
        team_db, {"queues": [{"slug": _slug(1), "prefix": "Q1", "triage_owner": "resolver-1"}]}
    )
    app = make(team_db)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, app)
        queues = app.screen.query_one(QueuesPane)
        assert "triage" in {c.key for c, _ in queues.layout_for(78)}
