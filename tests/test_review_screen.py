"""The review screen through Pilot: rendering, accepting moves, approvals, recording."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from textual.widgets import DataTable

from opstui.config import Config
from opstui.domain import models
from opstui.domain.clock import Clock
from opstui.services import loading as loader
from opstui.store import queries as q
from opstui.store.schema import open_database
from opstui.ui.app import OpsApp, make_app
from opstui.ui.screens.review import ReviewScreen
from tests.test_review import NOW, team_data

REVIEW = models.Review.__table__
EVENT = models.Event.__table__


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = open_database(
        tmp_path / "team.db", create=True, clock=Clock.frozen(NOW), unix_user="lead"
    )
    loader.load_data(database, team_data(), source="team")
    yield database
    database.dispose()


def review_app(db: Any, config: Config | None = None, **kw: Any) -> OpsApp:
    """``opstui review`` as the CLI opens it: the app factory, the review over the dashboard."""
    kw.setdefault("watch", False)
    return make_app(db, config or Config(), clock=db.clock, review=True, **kw)


async def settle(app: OpsApp, pilot: Any) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def cells(table: DataTable[Any], column: int) -> list[str]:
    out = []
    for row in range(table.row_count):
        value = table.get_cell_at((row, column))
        out.append(getattr(value, "plain", str(value)))
    return out


async def test_screen_shows_every_section_with_literal_db_text(db: Any) -> None:
    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert screen.review is not None
        unowned = screen.query_one("#t-unowned", DataTable)
        # markup in a title is shown as typed, never interpreted
        assert cells(unowned, 5) == ["Nobody's <b>[red]job[/red]</b>"]
        # the process catalog's findings, as `opstui processes` lists them
        assert cells(screen.query_one("#t-process", DataTable), 0) == [
            "fw-review",
            "no-steps",
            "restore-test",
        ]
        assert cells(screen.query_one("#t-approvals", DataTable), 6) == ["Refund customer"]
        assert cells(screen.query_one("#t-skills", DataTable), 0)[0] == "firewall"
        assert screen.query_one("#t-weeks", DataTable).row_count == 8
        moves = screen.query_one("#t-moves", DataTable)
        assert cells(moves, 4) == ["bo"]
        # number keys switch sections
        await pilot.press("6")
        assert screen.query_one("TabbedContent").active == "load"
        assert app.focused is moves


async def test_accepting_a_suggestion_reassigns_and_the_review_is_recorded_on_leaving(
    db: Any,
) -> None:
    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        move = screen.review.capacity.moves[0]  # type: ignore[union-attr]
        await pilot.press("6", "space")
        assert screen.selected == {move.key}
        await pilot.press("enter")
        await settle(app, pilot)
        with db.read() as conn:
            item = q.get_item(conn, move.key)
            owner_events = [e for e in q.recent_events(conn, 10, item.id) if e.field == "owner"]  # type: ignore[union-attr]
        assert item is not None and item.owner == move.to_handle
        assert owner_events[-1].old == move.from_handle and owner_events[-1].new == move.to_handle
        assert [d.kind for d in screen.decisions] == ["reassign"]
        # reloaded: the moved item is no longer suggested, the selection is gone
        assert move.key not in {m.key for m in screen.review.capacity.moves}  # type: ignore[union-attr]
        assert not screen.selected
        await pilot.press("escape")
        await settle(app, pilot)
    with db.read() as conn:
        rows = conn.execute(select(REVIEW)).all()
    assert len(rows) == 1
    assert rows[0].held_by == "lead"
    assert rows[0].decisions[0]["kind"] == "reassign" and rows[0].decisions[0]["item"] == move.key


async def test_a_stale_suggestion_is_refused_without_overwriting(db: Any) -> None:
    from opstui.services import items

    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        move = screen.review.capacity.moves[0]  # type: ignore[union-attr]
        items.edit_item(db, move.key, estimate=3)  # someone else changes it meanwhile
        await pilot.press("6", "enter")
        await settle(app, pilot)
        with db.read() as conn:
            assert q.get_item(conn, move.key).owner == move.from_handle  # type: ignore[union-attr]
        assert screen.decisions == []
        await pilot.press("escape")
        await settle(app, pilot)
    with db.read() as conn:
        assert conn.execute(select(REVIEW)).all() == []  # nothing decided, nothing recorded


async def test_record_with_notes_keeps_the_screen_open(db: Any) -> None:
    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("h")
        await pilot.pause()
        await pilot.press(*"cross-train cy", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
    with db.read() as conn:
        row = conn.execute(select(REVIEW)).one()
        events = conn.execute(select(EVENT).where(EVENT.c.entity == "review")).all()
    assert row.decisions == [{"kind": "note", "text": "cross-train cy"}]
    assert len(events) == 1


async def test_approve_and_reject_in_place(db: Any) -> None:
    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        await pilot.press("5", "a")
        await pilot.pause()
        await pilot.press(*"ok", "enter")
        await settle(app, pilot)
        assert [d.kind for d in screen.decisions] == ["approve"]
        assert screen.review.approvals == ()  # type: ignore[union-attr]
    with db.read() as conn:
        approval = conn.execute(select(models.Approval.__table__)).one()
    assert approval.status == "approved"


async def test_changes_elsewhere_reload_the_screen(db: Any) -> None:
    """No private poll: another terminal's write reaches the review through the app's
    change feed (the same one the dashboard follows)."""
    from opstui.services import items

    other = open_database(db.path, clock=Clock.frozen(NOW), unix_user="other")
    app = review_app(db, Config(poll_interval=0.05), watch=True, poll=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        for _ in range(100):  # the feed runs forever: wait for state, not for workers
            await pilot.pause(0.05)
            if screen.review is not None and app.live_feed is not None:
                break
        assert screen.review is not None and app.live_feed is not None
        unowned = screen.review.unowned[0]
        items.assign(other, unowned.key, "cy")
        for _ in range(100):
            await pilot.pause(0.05)
            if not screen.review.unowned:
                break
        assert screen.review.unowned == ()
    other.dispose()


async def test_multi_select_reassigns_every_selected_suggestion(db: Any) -> None:
    from opstui.services import items

    items.create_item(db, queue="ops", title="Cron clean-up", owner="ann", estimate=16)
    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        moves = screen.review.capacity.moves  # type: ignore[union-attr]
        assert len(moves) == 2
        await pilot.press("6", "space", "space")
        assert screen.selected == {m.key for m in moves}
        await pilot.press("enter")
        await settle(app, pilot)
        assert sorted(d.item for d in screen.decisions) == sorted(m.key for m in moves)
    with db.read() as conn:
        for m in moves:
            assert q.get_item(conn, m.key).owner == m.to_handle  # type: ignore[union-attr]


async def test_leaving_a_read_only_review_does_not_trap_the_user(db: Any, tmp_path: Path) -> None:
    readonly = open_database(tmp_path / "team.db", clock=Clock.frozen(NOW), readonly=True)
    app = review_app(readonly)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        await pilot.press("6", "enter")  # refused: read-only
        await settle(app, pilot)
        assert screen.decisions == []
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.return_code == 0  # nothing to record: it closes
    readonly.dispose()


def test_review_screen_snapshot(db: Any, snap_compare: Any) -> None:
    app = review_app(db)

    async def ready(pilot: Any) -> None:
        for _ in range(3):
            await pilot.pause()
            await app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=ready)


def test_review_screen_load_tab_snapshot(db: Any, snap_compare: Any) -> None:
    app = review_app(db)

    async def ready(pilot: Any) -> None:
        for _ in range(3):
            await pilot.pause()
            await app.workers.wait_for_complete()
        await pilot.press("6", "space")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=ready)


async def test_trends_tab_draws_both_charts_at_80x24(db: Any) -> None:
    from textual_plotext import PlotextPlot

    app = review_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("8")
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("TabbedContent").active == "trends"
        plots = list(screen.query(PlotextPlot))
        assert len(plots) == 2 and all(p.size.height > 0 for p in plots)
        assert screen.query_one("#t-weeks", DataTable).row_count == 8


async def test_w_on_the_dashboard_opens_the_review_and_escape_returns(db: Any) -> None:
    from opstui.ui.screens.main import MainScreen

    app = make_app(db, Config(), clock=db.clock, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        await pilot.press("w")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen) and app.screen.review is not None
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen) and app.is_running


async def test_colours_are_the_themes_app_variables_and_follow_a_theme_change(db: Any) -> None:
    from textual.color import Color

    from opstui.config import with_overrides

    app = review_app(db, with_overrides(Config(), theme="opstui-light"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        skills = app.screen.query_one("#t-skills", DataTable)

        def risk_style() -> str:
            return str(skills.get_cell("firewall", "#").style)  # one person: a risk

        def breached() -> str:
            return Color.parse(app.theme_variables["sla-breached"]).hex6

        light = breached()
        assert risk_style() == f"bold {light}"
        app.theme = "opstui-dark"
        await settle(app, pilot)
        assert breached() != light and risk_style() == f"bold {breached()}"


async def test_agenda_lines_jump_to_their_tabs_and_the_tabs_fit_at_80_columns(db: Any) -> None:
    from textual.widgets import Tab

    from opstui.ui.screens.review.screen import TABS
    from opstui.ui.screens.review.tabs import TAB_ORDER

    assert tuple(pane for pane, _label, _cls in TABS) == TAB_ORDER
    app = review_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert all(t.region.right <= 80 and t.region.width > 0 for t in screen.query(Tab))
        agenda = screen.query_one("#t-agenda", DataTable)
        keys = [
            agenda.coordinate_to_cell_key((r, 0)).row_key.value for r in range(agenda.row_count)
        ]
        for key, tab in (("unowned", "unowned"), ("approvals", "approvals"), ("done", "trends")):
            await pilot.press("1")
            agenda.move_cursor(row=keys.index(key))
            await pilot.press("enter")
            await settle(app, pilot)
            assert screen.query_one("TabbedContent").active == tab, key


async def test_acting_from_each_item_tab_is_recorded_as_minutes(db: Any) -> None:
    """a (assign), m (move), c (comment), Enter (open) from the item tabs; approvals in a
    batch with one note; every decision lands in the review's minutes, and the next
    review shows them as decided last week."""
    from textual.widgets import TextArea

    from opstui.services import transitions
    from opstui.services.review import weekly_review
    from opstui.ui.screens.detail import ItemDetailScreen

    loader.load_data(
        db,
        {
            "items": [
                {
                    "queue": "web",
                    "title": "Second refund",
                    "owner": "bo",
                    "approval": "done",
                }
            ]
        },
        source="more",
    )
    transitions.transition(db, "WEB-3", "in_progress")
    app = review_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        unowned = screen.review.unowned[0].key  # type: ignore[union-attr]
        # 4: assign the unowned item through the app's assign form
        await pilot.press("4", "a")
        await settle(app, pilot)
        await pilot.press(*"cy")  # the typed picker narrows to cy
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        # 3: comment on the blocked item under the cursor
        await pilot.press("3")
        blocked = screen.current_item_key()
        await pilot.press("c")
        await settle(app, pilot)
        app.screen.query_one(TextArea).insert("asked the vendor")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        # ... and move it
        await pilot.press("m")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        # 3: Enter opens the item under the cursor
        await pilot.press("3")
        await settle(app, pilot)
        opened = screen.current_item_key()
        assert opened is not None
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ItemDetailScreen) and app.screen.key == opened
        await pilot.press("escape")
        await settle(app, pilot)
        # 5: both approvals in a batch with one note
        await pilot.press("5", "space", "space")
        await settle(app, pilot)
        tab5 = screen.query_one("#tab-approvals")
        assert len(tab5.chosen()) == 2, (screen.review.approvals, screen.focused, screen._active())
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press(*"both fine", "enter")
        await settle(app, pilot)
        assert screen.review.approvals == (), [n.message for n in app._notifications]  # type: ignore[union-attr]
        kinds = sorted(d.kind for d in screen.decisions)
        assert kinds == ["approve", "approve", "assign", "comment", "move"], screen.decisions
        with db.read() as conn:
            assert q.get_item(conn, unowned).owner == "cy"  # type: ignore[union-attr]
        assert {d.item for d in screen.decisions if d.kind in ("comment", "move")} == {blocked}
        await pilot.press("escape")
        await settle(app, pilot)
    with db.read() as conn:
        row = conn.execute(select(REVIEW)).one()
    assert len(row.decisions) == 5 and row.held_by == "lead"
    assert {d["detail"] for d in row.decisions if d["kind"] == "approve"} == {"both fine"}
    later = weekly_review(db, now=NOW + timedelta(days=7))
    assert later.last_review is not None and later.last_review.decisions == 5


async def test_export_from_the_screen_writes_both_formats_as_the_cli_does(
    db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import html as html_lib
    import re

    from opstui.services.review import to_markdown, weekly_review
    from opstui.services.review.html import to_html

    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    app = review_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        await pilot.press("E")
        await settle(app, pilot)
        paths = screen.exported
        notes = [n.message for n in app._notifications]
    assert [p.suffix for p in paths] == [".md", ".html"]
    assert any(str(paths[0]) in n and str(paths[1]) in n for n in notes)  # the paths shown
    rv = weekly_review(db, stuck_days=3)
    md = paths[0].read_text()
    page = paths[1].read_text()
    assert md == to_markdown(rv)
    assert page == to_html(rv)
    # self-contained: inline SVG charts, no scripts or outside resources; DB text escaped
    assert page.count("<svg") == 2 and "<script" not in page and "src=" not in page
    assert "Nobody&#x27;s &lt;b&gt;[red]job[/red]&lt;/b&gt;" in page
    for heading in re.findall(r"^## (.+)$", md, flags=re.M):
        assert f"<h2>{html_lib.escape(heading)}</h2>" in page
    # the same content as the command line's --markdown and --html
    import os
    import subprocess
    import sys

    env = {**os.environ, "OPSTUI_CONFIG": str(tmp_path / "none.toml")}
    for flag, written in (("--markdown", md), ("--html", page)):
        cli = subprocess.run(
            [sys.executable, "-m", "opstui", "--db", str(tmp_path / "team.db")]
            + ["--now", NOW.isoformat(), "review", flag],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        assert cli.stdout == written, flag
