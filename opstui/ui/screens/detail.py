"""One item: title, body, owner, status, priority, estimate, SLA targets, comments, history."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Static
from textual.worker import get_current_worker

from ...domain import targets as sla_view
from ...domain.forecast import remaining_hours
from ...errors import NotFound
from ...store import queries as q
from ...store import worklog as wq
from ..messages import DataChange, ItemDetail
from ..source_view import source_fields, source_origin
from ..text import clean, duration, hours, literal, stamp
from ..widgets.keybar import KeyBar
from ..widgets.status import StatusBar
from .base import ITEM_BINDINGS, ItemActions

SLA_STYLE = {
    "ok": "sla-ok",
    "warning": "sla-warning",
    "breached": "sla-breached",
    "paused": "sla-paused",
    "met": "sla-met",
}


class ItemDetailScreen(ItemActions, Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        *ITEM_BINDINGS,
        Binding("j,down", "scroll('down')", "Down", show=False),
        Binding("k,up", "scroll('up')", "Up", show=False),
    ]

    class Loaded(Message):
        def __init__(self, detail: ItemDetail) -> None:
            super().__init__()
            self.detail = detail

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.detail: ItemDetail | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar(self.key)
        yield Static(id="presence")
        with VerticalScroll(id="detail"):
            yield Static(Text("loading…", style="dim"), id="d-head")
            yield Static(id="d-sla")
            yield Static(id="d-body")
            yield Static(id="d-comments")
            yield Static(id="d-history")
        yield KeyBar()

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#detail"))
        self.reload()
        self.announce_presence()
        app: Any = self.app
        self.presence_changed(app.viewers)

    # --- presence ------------------------------------------------------------------------

    def announce_presence(self) -> None:
        """Tell other terminals this item is open here (while this screen is in view)."""
        app: Any = self.app
        if self.is_current:
            app.presence_set(self.key, "viewing")

    def on_screen_resume(self) -> None:
        self.announce_presence()

    def on_screen_suspend(self) -> None:
        app: Any = self.app
        if not isinstance(app.screen, ModalScreen):
            app.presence_set(None)

    def on_unmount(self) -> None:
        app: Any = self.app
        app.presence_set(None)

    def presence_changed(self, viewers: dict[str, Any]) -> None:
        """Who else has this item open: one line under the header, hidden when nobody."""
        from ...sync.presence import describe

        if not self.query("#presence"):
            return
        others = viewers.get(self.current_item_key() or self.key, ())
        line = self.query_one("#presence", Static)
        line.display = bool(others)
        text = Text(end="", no_wrap=True, overflow="ellipsis")
        if others:
            text.append("\u25cf ", style="bold")
            text.append(clean(describe(others)), style="bold")
            text.append(" right now", style="dim")
        line.update(text)

    def reload(self) -> None:
        self._load(self.key)

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def _load(self, key: str) -> None:
        app: Any = self.app
        worker = get_current_worker()
        with app.db.read() as conn:
            item = q.get_item(conn, key)
            if item is None:
                raise NotFound(f"no item {key!r}")
            comments = tuple(q.item_comments(conn, item.id))
            events = tuple(q.recent_events(conn, 200, item.id))
            states = tuple(t.to_state for t in q.next_states_for_item(conn, item.key))
            logged = wq.logged_seconds(conn, item.id)
            drift = wq.drift_marks(conn, item.id).get(item.id)
        said = next((e.new for e in events if e.field == "drifting"), None) if drift else None
        if not worker.is_cancelled:
            detail = ItemDetail(item, comments, events, states, logged, said)
            self.post_message(self.Loaded(detail))

    def on_item_detail_screen_loaded(self, message: Loaded) -> None:
        self.detail = message.detail
        self.render_detail()

    def data_changed(self, change: DataChange) -> None:
        if change.everything or (self.detail and self.detail.item.id in change.item_ids):
            self.reload()

    def tick(self) -> None:
        if self.query(StatusBar):
            self.query_one(StatusBar).tick()
        if (
            self.detail
            and self.detail.item.is_open
            and (
                self.detail.item.next_due_at
                or self.detail.item.sla_fr_due
                or self.detail.item.sla_res_due
            )
        ):
            self._render_sla()

    def current_item_key(self) -> str | None:
        return self.detail.item.key if self.detail else self.key

    def current_queue(self) -> str | None:
        return self.detail.item.queue if self.detail else None

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_scroll(self, direction: str) -> None:
        scroller = self.query_one("#detail", VerticalScroll)
        if direction == "down":
            scroller.scroll_down()
        else:
            scroller.scroll_up()

    def _theme_style(self, name: str) -> Any:
        from rich.style import Style

        app: Any = self.app
        value = app.theme_variables.get(name)
        try:
            return Style(color=value) if value else Style()
        except Exception:
            return Style()

    # --- rendering --------------------------------------------------------------------------

    def render_detail(self) -> None:
        d = self.detail
        if d is None or not self.query("#d-head"):
            return
        it = d.item
        app: Any = self.app
        now = app.clock.now()
        title = Text(end="")
        title.append(clean(it.key), style="bold")
        title.append("  ")
        title.append_text(literal(it.title, "bold"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        owner = (
            literal(it.owner_name or it.owner)
            if it.owner
            else Text("(unowned)", style=self._theme_style("flag-unowned"))
        )
        grid.add_row("Owner", owner, "Queue", literal(it.queue_name))
        grid.add_row(
            "Status", literal(f"{it.status} ({it.category})"), "Priority", Text(it.priority_label)
        )
        grid.add_row("Estimate", self._effort(d), "Kind", literal(it.kind))
        grid.add_row(
            "Created", Text(stamp(it.created_at, now)), "Updated", Text(stamp(it.updated_at, now))
        )
        grid.add_row("Requester", literal(it.requester or "-"), "Version", Text(f"v{it.version}"))
        if it.approval != "none":
            grid.add_row("Approval", literal(it.approval), "", "")
        nxt = ", ".join(clean(s) for s in d.next_states) or "none"
        grid.add_row("Next", Text(nxt), "", "")
        if d.drift:
            grid.add_row("Forecast", literal(d.drift, self._theme_style("sla-drift")), "", "")
        origin = source_origin(it)
        if origin is not None:
            grid.add_row("Source", origin, "", "")
        self.query_one("#d-head", Static).update(Group(title, Text(""), grid))
        self._render_sla()
        body = Text("Description\n", style="bold", end="")
        body.append_text(
            literal(it.body or "(no description)", "" if it.body else "dim", single_line=False)
        )
        body.append_text(source_fields(it))
        self.query_one("#d-body", Static).update(body)
        self.query_one("#d-comments", Static).update(self._comments(d, now))
        self.query_one("#d-history", Static).update(self._history(d, now))

    def _effort(self, d: ItemDetail) -> Text:
        """``12h · logged 1h30m · 10h30m left`` once time is logged (``domain.forecast``)."""
        est = d.item.estimate_hours
        text = Text(hours(est), end="")
        if d.logged_seconds:
            left, over = remaining_hours(est, d.logged_seconds / 3600)
            text.append(f" · logged {duration(d.logged_seconds)}")
            text.append(f" · {duration(left * 3600)} left", style="dim")
            if over:
                text.append(" · over estimate", style=self._theme_style("sla-warning"))
        return text

    def _render_sla(self) -> None:
        d = self.detail
        if d is None or not self.query("#d-sla"):
            return
        app: Any = self.app
        now = app.clock.now()
        text = Text("SLA  ", style="bold", end="")
        targets = sla_view.targets(d.item, now)
        try:
            from ...services.sla.views import item_sla_json

            has_policy = bool(item_sla_json(d.item, now)) or bool(d.item.sla_policy)
        except Exception:
            has_policy = bool(d.item.sla_policy)
        if not targets:
            text.append("no SLA policy" if not has_policy else "no open targets", style="dim")
        else:
            if d.item.sla_policy:
                text.append(clean(d.item.sla_policy) + "  ", style="dim")
            for t in targets:
                style = self._theme_style(SLA_STYLE[t.state])
                text.append(f"{t.name} ", style="dim")
                text.append(f"{t.state} ", style=style)
                if t.state in ("ok", "warning", "breached", "paused"):
                    text.append(duration(t.left.total_seconds()), style=style)
                text.append(f" (due {stamp(t.due, now)})   ", style="dim")
        self.query_one("#d-sla", Static).update(text)

    def _comments(self, d: ItemDetail, now: Any) -> Any:
        out = Text(f"Comments ({len(d.comments)})\n", style="bold", end="")
        if not d.comments:
            out.append("none yet (c to add one)", style="dim")
            return out
        for c in d.comments:
            out.append(f"{stamp(c.created_at, now)} ", style="dim")
            out.append_text(literal(c.author or c.unix_user, "bold"))
            out.append("\n")
            out.append_text(literal(c.body, single_line=False))
            out.append("\n")
        return out

    def _history(self, d: ItemDetail, now: Any) -> Any:
        out = Text(f"History ({len(d.events)})\n", style="bold", end="")
        for e in d.events:
            out.append(f"{stamp(e.ts, now):>16} ", style="dim")
            out.append_text(literal(e.person or e.unix_user))
            out.append(" ")
            out.append_text(literal(e.field, "bold"))
            if e.field not in ("created",) and (e.old is not None or e.new is not None):
                out.append(": ")
                if e.old is not None:
                    out.append_text(literal(e.old))
                    out.append(" \u2192 ")
                out.append_text(literal(e.new if e.new is not None else "-"))
            out.append("\n")
        return out
