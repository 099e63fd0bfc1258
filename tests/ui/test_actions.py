"""Pilot tests: every action from the keyboard on a real SQLite file with a frozen clock."""

from __future__ import annotations

from ui_helpers import settle, static_text

from opstui.store import queries as q
from opstui.ui.screens.detail import ItemDetailScreen
from opstui.ui.screens.items import ItemListScreen
from opstui.ui.screens.main import MainScreen
from opstui.ui.widgets.item_table import ItemTable
from opstui.ui.widgets.panes import OwnersPane, QueuesPane, SlaPane


def item(db, key):
    with db.read() as conn:
        return q.get_item(conn, key)


async def test_main_screen_panes_load(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        queues = app.screen.query_one(QueuesPane)
        support = next(s for s in queues.stats if s.slug == "support")
        assert (support.open, support.unowned, support.breaching) == (6, 2, 1)
        assert support.over_wip  # 6 open > WIP limit 4
        owners = app.screen.query_one(OwnersPane)
        assert owners.row_key(0) == "-"  # the unowned row comes first
        assert owners.stats[0].open == 3
        carol = next(s for s in owners.stats if s.handle == "carol")
        assert carol.is_away
        sla = app.screen.query_one(SlaPane)
        assert [r.key for r in sla.items][:2] == ["SUP-1", "INF-3"]
        assert sla.state_of(sla.items[0]) == "breached"
        assert app.event_cursor > 0


async def test_triage_flow_keyboard_only(shop_db, make):
    """Queues pane -> support list -> assign -> move: every pane reflects it."""
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")  # support queue
        await settle(pilot, app)
        assert isinstance(app.screen, ItemListScreen)
        table = app.screen.query_one(ItemTable)
        assert table.cursor_record.key == "SUP-1"  # most urgent first: unowned, breached
        await pilot.press("a")
        await settle(pilot, app)
        await pilot.press(*"alice", "enter")
        await settle(pilot, app)
        assert item(shop_db, "SUP-1").owner == "alice"
        assert table.cursor_record.owner == "alice"  # own write applied at once
        await pilot.press("m")
        await settle(pilot, app)
        await pilot.press("enter")  # first allowed next state: in_progress
        await settle(pilot, app)
        assert item(shop_db, "SUP-1").status == "in_progress"
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        support = next(s for s in app.screen.query_one(QueuesPane).stats if s.slug == "support")
        assert support.unowned == 1 and support.new == 4 and support.active == 2
        owners = app.screen.query_one(OwnersPane).stats
        alice = next(s for s in owners if s.handle == "alice")
        assert alice.open == 3
        assert owners[0].open == 2  # unowned
        with shop_db.read() as conn:
            assert app.event_cursor == q.last_event_id(conn)


async def test_new_item_from_main_screen(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("n")
        await settle(pilot, app)
        await pilot.press(*"Replace the router quickly")
        await pilot.press("tab", "tab")  # priority, then estimate
        await pilot.press("3", "ctrl+s")
        await settle(pilot, app)
        with shop_db.read() as conn:
            new = q.list_items(conn, q.ItemFilter(text="router"))
        assert len(new) == 1 and new[0].queue == "support" and new[0].estimate_hours == 3
        assert (
            next(s for s in app.screen.query_one(QueuesPane).stats if s.slug == "support").open == 7
        )


async def test_new_item_bad_estimate_keeps_the_form(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("n")
        await settle(pilot, app)
        await pilot.press(*"Something")
        app.screen.query_one("#f-estimate").value = "lots"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert "estimate must be a number" in static_text(app.screen.query_one("#form-error"))
        assert app.screen.query_one("#f-title").value == "Something"


async def open_detail(pilot, app, key: str) -> None:
    app.open_item(key)
    await settle(pilot, app)
    assert isinstance(app.screen, ItemDetailScreen)


async def test_comment_from_detail(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await open_detail(pilot, app, "SUP-2")
        await pilot.press("c")
        await settle(pilot, app)
        await pilot.press(*"Called the user")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        with shop_db.read() as conn:
            comments = q.item_comments(conn, item(shop_db, "SUP-2").id)
        assert [c.body for c in comments] == ["Called the user"]
        assert "Called the user" in static_text(app.screen.query_one("#d-comments"))


async def test_priority_and_estimate(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await open_detail(pilot, app, "SUP-4")
        await pilot.press("p")
        await settle(pilot, app)
        app.screen.query_one("#f-priority").value = 1
        app.screen.query_one("#f-estimate").value = "7.5"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        it = item(shop_db, "SUP-4")
        assert (it.priority, it.estimate_hours) == (1, 7.5)
        # the hidden dashboard reloads its panes when it comes back into view
        assert app._panes_stale
        while not isinstance(app.screen, MainScreen):
            await pilot.press("escape")
            await settle(pilot, app)
        assert not app._panes_stale
        owners = app.pane_data.owners
        assert next(s for s in owners if s.handle == "bob").hours == 7.5 + 6 + 3


async def test_edit_title_and_body(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await open_detail(pilot, app, "SUP-5")
        await pilot.press("e")
        await settle(pilot, app)
        app.screen.query_one("#f-title").value = "Mailbox full (archive set up)"
        app.screen.query_one("#f-body").text = "Line one\nLine two"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        it = item(shop_db, "SUP-5")
        assert it.title == "Mailbox full (archive set up)" and it.body == "Line one\nLine two"
        assert "archive set up" in static_text(app.screen.query_one("#d-head"))


async def test_transition_offers_only_allowed_states(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await open_detail(pilot, app, "SUP-3")  # in_progress
        await pilot.press("m")
        await settle(pilot, app)
        offered = [c.value for c in app.screen.shown]
        with shop_db.read() as conn:
            allowed = [t.to_state for t in q.next_states_for_item(conn, "SUP-3")]
        assert offered == allowed and "new" not in offered
        await pilot.press("escape")
        await settle(pilot, app)
        assert item(shop_db, "SUP-3").status == "in_progress"


async def test_assign_to_nobody(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await open_detail(pilot, app, "SUP-4")
        await pilot.press("a")
        await settle(pilot, app)
        await pilot.press(*"nobody", "enter")
        await settle(pilot, app)
        assert item(shop_db, "SUP-4").owner is None


async def test_conflict_is_reported_and_reloads(shop_db, make):
    from opstui.services import items

    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await open_detail(pilot, app, "SUP-2")
        await pilot.press("p")
        await settle(pilot, app)
        # someone else changes the item while the form is open
        items.assign(shop_db, "SUP-2", "carol")
        app.screen.query_one("#f-estimate").value = "9"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        it = item(shop_db, "SUP-2")
        assert it.owner == "carol" and it.estimate_hours == 2  # nothing overwritten
        messages = [n.message for n in app._notifications]
        assert any("SUP-2 was changed by" in m and "owner" in m for m in messages)
        detail = app.screen
        assert isinstance(detail, ItemDetailScreen)
        assert detail.detail.item.owner == "carol"  # reloaded


async def test_readonly_refuses_actions(shop_db, make, tmp_path):
    from opstui.domain.clock import Clock
    from opstui.store.schema import open_database

    path = shop_db.path
    ro = open_database(path, create=False, clock=Clock.frozen(shop_db.clock.now()), readonly=True)
    app = make(ro)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("n")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert any("read-only" in n.message for n in app._notifications)
        from opstui.ui.widgets.status import StatusBar

        assert "read-only" in str(app.screen.query_one(StatusBar).render())
    ro.dispose()


async def test_refresh_from_events_is_idempotent_and_targeted(shop_db, make):
    from opstui.services import items

    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        cursor = app.event_cursor
        items.assign(shop_db, "INF-3", "alice")  # another terminal
        with shop_db.read() as conn:
            events = q.events_after(conn, cursor)
        app.refresh_from_events(events)
        await settle(pilot, app)
        assert app.event_cursor == events[-1].id
        alice = next(s for s in app.pane_data.owners if s.handle == "alice")
        assert alice.open == 3
        loads = []
        app.request_delta = lambda delta: loads.append(delta)  # type: ignore[method-assign]
        app.refresh_from_events(events)  # applied already: nothing happens
        assert loads == []


async def test_item_list_search_and_filters(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("l")
        await settle(pilot, app)
        await pilot.press("slash", *"vpn")  # filters as you type
        await pilot.pause(0.4)
        await settle(pilot, app)
        table = app.screen.query_one(ItemTable)
        assert [table.records[i].key for i in table.ids] == ["SUP-2"]
        await pilot.press("enter")  # back to the list
        assert table.has_focus
        await pilot.press("f")
        await settle(pilot, app)
        app.screen.query_one("#f-text").value = ""
        app.screen.query_one("#f-owner").value = "bob"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert sorted(table.records[i].key for i in table.ids) == ["SUP-4", "SUP-5", "SUP-6"]
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ItemDetailScreen)
        await pilot.press("escape", "escape")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)


async def test_panes_filter_the_item_list(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("3", "enter")  # owners pane, the unowned row
        await settle(pilot, app)
        assert app.screen.flt.owner == "-"
        await pilot.press("escape", "2", "l")  # SLA pane, l: the list of breached items
        await settle(pilot, app)
        assert app.screen.flt.sla_state == "breached"
        table = app.screen.query_one(ItemTable)
        assert table.cursor_record.key == "SUP-1"


async def test_help_and_palette(shop_db, make):
    from textual.command import CommandPalette

    from opstui.ui.screens.help import HelpScreen

    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        await settle(pilot, app)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await settle(pilot, app)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"unowned")
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ItemListScreen) and app.screen.flt.owner == "-"


async def test_sla_countdown_ticks_without_queries(shop_db, make):
    from datetime import timedelta

    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        sla = app.screen.query_one(SlaPane)
        before = sla.row_cells(1)[1]
        queries = []
        from sqlalchemy import event

        event.listen(shop_db.engine, "before_cursor_execute", lambda *a: queries.append(a[2]))
        shop_db.clock.advance(timedelta(seconds=60))
        sla.tick()
        after = sla.row_cells(1)[1]
        assert before != after and queries == []


async def test_compact_mode(shop_db, make):
    from opstui.config import Config

    app = make(shop_db, Config(compact=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert app.screen.has_class("-compact")
        assert not app.screen.query_one("#capacity").display
        queues = app.screen.query_one(QueuesPane)
        assert queues.size.height == queues.row_count() + 1  # header + one line per queue
        await pilot.press("z")  # off again: 100 columns is above compact_below
        await pilot.pause()
        assert not app.compact and app.screen.query_one("#capacity").display
    app = make(shop_db, Config(compact_below=120))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert app.compact and app.screen.has_class("-compact")  # automatic below 120


async def test_mouse_click_selects_and_opens(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        owners = app.screen.query_one(OwnersPane)
        # row 2 of the Owners pane (header is line 0 inside the border): alice
        await pilot.click(OwnersPane, offset=(3, 3))
        await settle(pilot, app)
        assert owners.has_focus and owners.cursor_key == "alice"
        await pilot.click(OwnersPane, offset=(3, 3))  # a second click opens it
        await settle(pilot, app)
        assert isinstance(app.screen, ItemListScreen) and app.screen.flt.owner == "alice"


async def test_q_types_in_inputs_and_pickers(shop_db, make):
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("l")
        await settle(pilot, app)
        await pilot.press("slash", "q")
        assert app.is_running and app.screen.query_one("#search").value == "q"
        await pilot.press("backspace", "escape", "a")  # assign picker on the highlighted item
        await settle(pilot, app)
        from opstui.ui.screens.picker import PickerScreen

        assert isinstance(app.screen, PickerScreen)
        await pilot.press("q")  # the picker filters on it, never quits from a dialog
        await settle(pilot, app)
        assert app.is_running and app.screen.query_one("#pick-filter").value == "q"
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.is_running and isinstance(app.screen, ItemListScreen)


async def test_events_redraw_only_the_panes_they_change(shop_db, make):
    from opstui.services import items
    from opstui.ui.messages import PanesLoaded

    app = make(shop_db)
    loaded: list[set[str]] = []

    def hook(message) -> None:
        if isinstance(message, PanesLoaded):
            data = message.data
            loaded.append({n for n in ("queues", "owners", "sla") if getattr(data, n) is not None})

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await settle(pilot, app)
        reloads = app.pane_model.reloads
        loaded.clear()

        async def apply() -> set[str]:
            with shop_db.read() as conn:
                app.refresh_from_events(q.events_after(conn, app.event_cursor))
            await settle(pilot, app)
            return loaded.pop() if loaded else set()

        items.comment(shop_db, "INF-3", "a note")  # changes no pane
        assert await apply() == set()
        it = item(shop_db, "INF-3")
        items.edit_item(shop_db, "INF-3", expected_version=it.version, title="New title")
        assert await apply() == {"sla"}  # the title is shown in the SLA pane only
        items.assign(shop_db, "INF-3", "alice")
        assert await apply() == {"queues", "owners", "sla"}  # unowned count, owners, row
        alice = next(s for s in app.pane_data.owners if s.handle == "alice")
        assert alice.open == 3
        assert app.pane_model.reloads == reloads  # all applied as deltas


async def test_log_time_from_detail_and_the_forecast_line(sample_db, make):
    from opstui.services.drift import record_drift
    from opstui.store import worklog as wq

    record_drift(sample_db)  # PRJ-25 drifts behind dev's P2 work
    app = make(sample_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await open_detail(pilot, app, "PRJ-25")
        head = static_text(app.screen.query_one("#d-head"))
        assert "Forecast" in head and "late" in head
        assert "Estimate   12h " in head and "logged" not in head
        await pilot.press("t")
        await settle(pilot, app)
        await pilot.press(*"2x")  # not a duration: refused, the form stays
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await pilot.press("backspace", "backspace", *"1h30m")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        with sample_db.read() as conn:
            assert wq.logged_seconds(conn, item(sample_db, "PRJ-25").id) == 5400
        head = static_text(app.screen.query_one("#d-head"))
        assert "12h · logged 1h30m · 10h30m left" in head
