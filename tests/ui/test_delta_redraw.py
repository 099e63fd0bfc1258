"""A change redraws only the pane lines it changes; a hidden dashboard keeps its data
current and draws once when shown; a gap in the events reloads everything."""

from __future__ import annotations

import sqlite3

from ui_helpers import screen_text, settle

from opstui.services import items
from opstui.store import panes as pane_q
from opstui.store import queries as q
from opstui.ui.screens.main import MainScreen
from opstui.ui.widgets.panes import CapacityPane, OwnersPane, QueuesPane, SlaPane

PANES = (QueuesPane, SlaPane, OwnersPane, CapacityPane)


def record_lines(screen) -> dict[str, list[int]]:
    """Which lines (widget y) each pane renders from now on."""
    drawn: dict[str, list[int]] = {}
    for cls in PANES:
        pane = screen.query_one(cls)
        lines = drawn.setdefault(pane.id, [])
        real = pane.render_line

        def render_line(y: int, real=real, lines=lines):
            lines.append(y)
            return real(y)

        pane.render_line = render_line
    return drawn


def apply_new_events(app, db) -> None:
    with db.read() as conn:
        app.refresh_from_events(q.events_after(conn, app.event_cursor))


async def test_an_owner_change_redraws_only_the_lines_it_touches(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        owners = screen.query_one(OwnersPane)
        capacity = screen.query_one(CapacityPane)
        before = [p.handle for p in capacity.stats]
        sla = screen.query_one(SlaPane)
        for _ in range(40):  # the first tick has compared the countdowns with the screen
            if sla._signature:
                break
            await pilot.pause(0.1)
        drawn = record_lines(screen)
        # INF-2 has no due time (not in the SLA pane) and stays owned: only the two
        # owners' lines and their capacity bars change
        items.assign(shop_db, "INF-2", "bob")
        apply_new_events(app, shop_db)
        await settle(pilot, app)
        await pilot.pause(0.05)

        def line(pane, handle) -> int:
            keys = [pane.row_key(i) for i in range(pane.row_count())]
            return keys.index(handle) + 1  # below the header line

        assert sorted(set(drawn["owners"])) == sorted({line(owners, "alice"), line(owners, "bob")})
        after = [p.handle for p in capacity.stats]
        moved = {i + 1 for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b}
        expected = moved | {line(capacity, "alice"), line(capacity, "bob")}
        assert set(drawn["capacity"]) == expected
        assert 0 not in drawn["capacity"]  # the header line was not redrawn
        assert drawn["queues"] == [] and drawn["sla"] == []
        # the summary under the Capacity pane changed too: its border line shows the new one
        # (read last: reading the whole screen renders every line)
        assert "busiest" in capacity._summary and capacity._summary in screen_text(app)
        bob = next(p for p in owners.stats if p.handle == "bob")
        assert bob.open == 4
        assert app.pane_model.reloads == 1  # the first load only: the change was a delta


async def test_a_hidden_dashboard_updates_its_data_and_draws_once_when_shown(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        main = app.screen
        drawn = record_lines(main)
        app.open_item("SUP-2")
        await settle(pilot, app)
        assert not isinstance(app.screen, MainScreen)
        items.assign(shop_db, "SUP-2", "alice")
        apply_new_events(app, shop_db)
        await settle(pilot, app)
        items.assign(shop_db, "SUP-1", "alice")
        apply_new_events(app, shop_db)
        await settle(pilot, app)
        # the data is current (SUP-3, INF-2, SUP-2, SUP-1), the hidden panes drew nothing
        alice = next(p for p in app.pane_data.owners if p.handle == "alice")
        assert alice.open == 4
        assert all(not lines for lines in drawn.values())
        shown = main.query_one(OwnersPane).stats
        assert next(p for p in shown if p.handle == "alice").open == 2
        await pilot.press("escape")
        await settle(pilot, app)
        await pilot.pause(0.05)
        assert isinstance(app.screen, MainScreen)
        owners = main.query_one(OwnersPane)
        assert next(p for p in owners.stats if p.handle == "alice").open == 4
        assert drawn["owners"]  # drawn once it is in view
        assert app.pane_model.reloads == 1


async def test_a_gap_in_the_events_reloads_everything(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        assert app.pane_model.reloads == 1
        cursor = app.event_cursor
        items.assign(shop_db, "INF-2", "bob")
        items.assign(shop_db, "SUP-1", "carol")
        # the log was trimmed past this terminal's cursor: the first change is lost
        raw = sqlite3.connect(shop_db.path)
        raw.execute("DELETE FROM event WHERE id <= ?", (cursor + 1,))
        raw.commit()
        raw.close()
        apply_new_events(app, shop_db)
        await settle(pilot, app)
        assert app.pane_model.reloads == 2
        now = app.clock.now()
        with shop_db.read() as conn:
            owners = tuple(pane_q.owner_stats(conn, now, now.date()))
        assert app.pane_data.owners == owners  # INF-2's move is there all the same
        bob = next(p for p in owners if p.handle == "bob")
        assert bob.open == 4


async def test_the_grids_cached_base_style_follows_theme_focus_and_layout(shop_db, make):
    """GridView keeps ``rich_style`` between renders (issue 17); a theme switch, a focus
    change or the compact layout must not leave a pane drawn in the old colours."""
    app = make(shop_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        panes = [app.screen.query_one(cls) for cls in PANES]
        for pane in panes:
            assert pane._base_style == pane.rich_style
        before = [pane._base_style for pane in panes]
        others = [t for t in app.available_themes if t != app.theme]
        for theme in others[:2]:
            app.theme = theme
            await pilot.pause(0.2)
            for pane in panes:
                assert pane._base_style == pane.rich_style, (theme, pane.id)
        assert [pane._base_style for pane in panes] != before  # the check can fail
        await pilot.press("tab")
        await pilot.press("z")  # compact layout
        await pilot.pause(0.2)
        for pane in panes:
            assert pane._base_style == pane.rich_style, pane.id


async def test_an_owner_change_on_an_sla_row_keeps_the_order_and_redraws_its_line(
    shop_db, make, monkeypatch
):
    """The SLA pane sorts its rows again only when what orders them changed (targets,
    drift): a new owner redraws the row's line, in place, without working out every
    row's nearest target for a sort."""
    from opstui.ui.widgets import sla_pane as panes

    asked: list[str] = []
    showing: list[bool] = []
    real_nearest = panes.sla_view.nearest

    def nearest(row, now):
        if showing:
            asked.append(row.key)
        return real_nearest(row, now)

    app = make(shop_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        sla = app.screen.query_one(SlaPane)
        for _ in range(40):
            if sla._signature:
                break
            await pilot.pause(0.1)
        order = [r.key for r in sla.items]
        top = round(sla.scroll_y)
        visible = order[top : top + sla.scrollable_content_region.height - 1]
        row = next(r for r in sla.items if r.key in visible and r.owner != "bob")
        drawn = record_lines(app.screen)
        real_show = sla.show

        def show(rows):
            showing.append(True)
            try:
                real_show(rows)
            finally:
                showing.pop()

        sla.show = show
        monkeypatch.setattr(panes.sla_view, "nearest", nearest)
        items.assign(shop_db, row.key, "bob")
        apply_new_events(app, shop_db)
        await settle(pilot, app)
        await pilot.pause(0.05)
        monkeypatch.undo()
        # the visible lines compared once each, no sort of every row
        assert asked and len(asked) <= len(visible)
        assert [r.key for r in sla.items] == order
        assert sla.row_for(row.key).owner == "bob"
        line = order.index(row.key) - top + 1  # under the header
        assert line in drawn["sla"]
        assert "bob" in screen_text(app)
