"""The process catalog: every recurring process, its trigger, owner, next and last run,
runbook, and the findings (no owner, no trigger, no runbook, owner away or gone, people
who are the only one able to run a process).

The data comes from :func:`opstui.services.processes.catalog.process_catalog` in a thread
worker as an immutable snapshot; the screen only renders it.  Every database string is
shown literally (``rich.text.Text`` built from plain strings, control bytes stripped).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState, get_current_worker

from ...domain.text import strip_controls
from ...services.processes.catalog import ProcessCatalog, ProcessInfo, process_catalog
from ...store.engine import Database

COLUMNS = (
    ("process", "Process"),
    ("owner", "Owner"),
    ("next", "Next run"),
    ("last", "Last run"),
    ("steps", "Steps"),
    ("trigger", "Trigger"),
)


def _lit(value: object, style: str = "") -> Text:
    """Database text, inert: no markup parsing, no control bytes."""
    return Text(strip_controls("" if value is None else str(value)), style=style, end="")


def _when(value: datetime | None, tz: str) -> str:
    if value is None:
        return "-"
    try:
        return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    except Exception:
        return value.strftime("%Y-%m-%d %H:%M UTC")


def _next(p: ProcessInfo) -> str:
    if p.trigger_kind == "event":
        return "on event"
    if not p.trigger_kind:
        return "never"
    if not p.active:
        return "inactive"
    return _when(p.next_run, p.timezone) + (" (due now)" if p.due_now else "")


def _owner(p: ProcessInfo) -> Text:
    if p.owner is None:
        return Text("(no owner)", style="bold reverse", end="")
    text = _lit(p.owner)
    if p.owner_status in ("away", "inactive"):
        text.append(f" ({p.owner_status})", style="bold")
    return text


def row_cells(p: ProcessInfo) -> tuple[Text, ...]:
    flag = "! " if p.findings else "  "
    name = Text(flag, style="bold", end="")
    name.append_text(_lit(p.key))
    last = _when(p.last_run, p.timezone) + (f" {p.last_item}" if p.last_item else "")
    return (
        name,
        _owner(p),
        Text(_next(p), end=""),
        _lit(last),
        Text(str(len(p.steps)) if p.steps else "none", style="" if p.steps else "bold", end=""),
        _lit(p.trigger_text),
    )


def detail_text(p: ProcessInfo) -> Text:
    out = Text(end="")
    out.append_text(_lit(p.name, "bold"))
    out.append("  ")
    out.append_text(_lit(p.key, "dim"))
    if not p.active:
        out.append("  (inactive)", style="bold")
    out.append("\n")
    rows: list[tuple[str, Text]] = [
        (
            "owner",
            _owner(p) if p.owner is None else _lit(f"{p.owner} ({p.owner_name}), {p.owner_status}"),
        ),
        ("trigger", _lit(p.trigger_text)),
        ("queue", _lit(p.queue or "-")),
        (
            "next run",
            Text(
                _next(p) + ("" if p.trigger_kind in (None, "event") else f" {p.timezone}"), end=""
            ),
        ),
        (
            "last run",
            _lit(
                _when(p.last_run, p.timezone)
                + (
                    f" ({p.last_item}, {p.runs} run{'s' if p.runs != 1 else ''})"
                    if p.last_item
                    else ""
                )
            ),
        ),
        ("skills", _lit(", ".join(p.skills) or "-")),
        ("able", _lit(", ".join(p.able) or "-")),
    ]
    for label, value in rows:
        out.append(f"{label:<9} ", style="dim")
        out.append_text(value)
        out.append("\n")
    out.append("\nRunbook\n", style="bold")
    if p.steps:
        for n, step in enumerate(p.steps, 1):
            out.append(f" {n:>2}. ")
            out.append_text(_lit(step))
            out.append("\n")
    else:
        out.append("  (no runbook steps)\n", style="bold")
    if p.findings:
        out.append("\nFindings\n", style="bold")
        for f in p.findings:
            out.append("  ! ", style="bold")
            out.append_text(_lit(f))
            out.append("\n")
    out.rstrip()
    return out


def findings_text(cat: ProcessCatalog) -> Text:
    if not cat.findings:
        return Text("No findings: every process has an owner, a trigger and a runbook.", end="")
    out = Text(f"Findings ({len(cat.findings)})\n", style="bold", end="")
    for f in cat.findings:
        out.append("! ", style="bold")
        out.append_text(_lit(f.text))
        out.append("\n")
    out.rstrip()
    return out


class ProcessCatalogScreen(Screen[None]):
    """Every process with trigger, owner, next run, last run and runbook, plus findings."""

    DEFAULT_CSS = """
    ProcessCatalogScreen {
        layout: vertical;
    }
    ProcessCatalogScreen #pc-title {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text;
        text-style: bold;
    }
    ProcessCatalogScreen #pc-table {
        height: auto;
        max-height: 45%;
    }
    ProcessCatalogScreen #pc-detail-box {
        height: 1fr;
        border-top: solid $primary;
        padding: 0 1;
    }
    ProcessCatalogScreen #pc-findings {
        height: auto;
        max-height: 8;
        padding: 0 1;
        border-top: solid $warning;
        color: $warning;
    }
    ProcessCatalogScreen #pc-findings.-clean {
        color: $success;
        border-top: solid $success;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("r", "reload", "Reload"),
        Binding("tab", "focus_next", "Focus", show=False),
    ]

    class Loaded(Message):
        """A fresh catalog snapshot (posted by the loading worker; the snapshot is frozen)."""

        def __init__(self, catalog: ProcessCatalog) -> None:
            super().__init__()
            self.catalog = catalog

    def __init__(self, db: Database | None = None, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._db = db
        self.catalog: ProcessCatalog | None = None
        self._loading = False
        self._again = False

    @property
    def db(self) -> Database:
        return self._db if self._db is not None else self.app.db  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield Static(Text("Processes  loading…", end=""), id="pc-title")
        table: DataTable[Text] = DataTable(id="pc-table", cursor_type="row", zebra_stripes=True)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        with VerticalScroll(id="pc-detail-box"):
            yield Static(id="pc-detail")
        yield Static(id="pc-findings")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    # --- loading -------------------------------------------------------------------

    def reload(self) -> None:
        """Load a fresh snapshot; a request while one is loading runs once after it."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        self._load()

    def action_reload(self) -> None:
        self.reload()

    def action_close(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="process-catalog")
    def _load(self) -> None:
        catalog = process_catalog(self.db, self.db.clock.now())
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(catalog))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "process-catalog":
            return
        if event.state == WorkerState.ERROR:
            self._loading = False
            report = getattr(self.app, "report_worker_error", None)
            if report is not None:
                report(event.worker)
            else:
                self.notify(f"could not load the processes: {event.worker.error}", severity="error")
        elif event.state == WorkerState.CANCELLED:
            self._loading = False

    def on_process_catalog_screen_loaded(self, message: Loaded) -> None:
        self._loading = False
        self.show(message.catalog)
        if self._again:
            self._again = False
            self.reload()

    # --- rendering -----------------------------------------------------------------

    def show(self, catalog: ProcessCatalog) -> None:
        self.catalog = catalog
        table = self.query_one("#pc-table", DataTable)
        wanted = [p.key for p in catalog.processes]
        current = [str(k.value) for k in table.rows]
        with self.app.batch_update():
            if current != wanted:
                selected = self._selected_key()
                table.clear()
                for p in catalog.processes:
                    table.add_row(*row_cells(p), key=p.key)
                if selected in wanted:
                    table.move_cursor(row=wanted.index(selected))
            else:
                for p in catalog.processes:
                    for (col, _label), cell in zip(COLUMNS, row_cells(p), strict=True):
                        if table.get_cell(p.key, col) != cell:
                            table.update_cell(p.key, col, cell)
            n = len(catalog.findings)
            title = Text("Processes", style="bold", end="")
            title.append(f"  {len(catalog.processes)} processes, ", style="")
            title.append(f"{n} finding{'s' if n != 1 else ''}", style="bold" if n else "")
            title.append(f"  as of {catalog.now:%Y-%m-%d %H:%M} UTC", style="dim")
            self.query_one("#pc-title", Static).update(title)
            findings = self.query_one("#pc-findings", Static)
            findings.update(findings_text(catalog))
            findings.set_class(not catalog.findings, "-clean")
            self._show_detail()

    def _selected_key(self) -> str | None:
        table = self.query_one("#pc-table", DataTable)
        if not table.row_count:
            return None
        try:
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        except Exception:
            return None
        return str(row_key.value)

    def selected(self) -> ProcessInfo | None:
        key = self._selected_key()
        if self.catalog is None or key is None:
            return None
        return next((p for p in self.catalog.processes if p.key == key), None)

    def _show_detail(self) -> None:
        p = self.selected()
        detail = self.query_one("#pc-detail", Static)
        if p is None:
            detail.update(
                Text("No processes yet: define them under [[processes]] and load the file.", end="")
            )
        else:
            detail.update(detail_text(p))

    @on(DataTable.RowHighlighted, "#pc-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.catalog is not None:
            self._show_detail()

    def snapshot_for_tests(self) -> dict[str, Any]:
        """What is on screen, as plain strings (tests)."""
        table = self.query_one("#pc-table", DataTable)
        return {
            "rows": [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)],
            "detail": str(self.query_one("#pc-detail", Static).content),
            "findings": str(self.query_one("#pc-findings", Static).content),
        }
