"""Action forms (modal screens): new item, assign, move, comment, priority/estimate,
edit title/body, and the item list's filters.

Forms validate with the services' own parsers before closing, so a typo shows a one-line
error in the form and nothing typed is lost.  Every label built from database strings is a
literal ``Text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from ...domain.fields import clean_body, clean_title, parse_estimate
from ...errors import OpsError
from ...store.panes import OwnerStat
from ...store.queries import ItemFilter, ItemRecord, QueueRecord, TransitionRecord
from ..text import clean, hours, literal

PRIORITY_CHOICES = [(Text(f"P{p}"), p) for p in (1, 2, 3, 4)]


class Form(ModalScreen[Any]):
    """A dialog with a title, fields, an error line and Save / Cancel."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
        Binding("q", "cancel", "Cancel", show=False),
    ]
    TITLE_TEXT = ""

    def __init__(self, subject: str = "") -> None:
        super().__init__()
        self.subject = subject

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            title = Text(self.TITLE_TEXT, style="bold", end="")
            if self.subject:
                title.append("  ")
                title.append_text(literal(self.subject))
            yield Static(title, classes="form-title")
            with VerticalScroll(classes="form-fields"):
                yield from self.fields()
            yield Static("", classes="form-error", id="form-error")
            with Horizontal(classes="form-buttons"):
                yield Static(Text("ctrl+s save · esc cancel", style="dim"), classes="form-hint")
                yield Button("Save", variant="primary", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def fields(self) -> ComposeResult:
        yield from ()

    def error(self, message: str) -> None:
        self.query_one("#form-error", Static).update(Text(clean(message), end=""))

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        try:
            value = self.collect()
        except OpsError as exc:
            self.error(str(exc))
            return
        if value is not None:
            self.dismiss(value)

    def collect(self) -> Any:
        raise NotImplementedError

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()


class NewItemForm(Form):
    TITLE_TEXT = "New item"

    def __init__(
        self, queues: Sequence[QueueRecord], people: Sequence[OwnerStat], queue: str | None
    ) -> None:
        super().__init__()
        self.queues = queues
        self.people = [p for p in people if p.id is not None and p.active]
        self.default_queue = (
            queue if queue in {q.slug for q in queues} else (queues[0].slug if queues else None)
        )

    def fields(self) -> ComposeResult:
        yield Label("Queue")
        yield Select(
            [(literal(f"{q.name} ({q.slug})"), q.slug) for q in self.queues],
            value=self.default_queue if self.default_queue else Select.NULL,
            allow_blank=not self.queues,
            id="f-queue",
            compact=True,
        )
        yield Label("Title")
        yield Input(id="f-title", placeholder="what needs doing", compact=True)
        with Horizontal(classes="form-row"):
            with Vertical():
                yield Label("Priority")
                yield Select(
                    PRIORITY_CHOICES, value=3, allow_blank=False, id="f-priority", compact=True
                )
            with Vertical():
                yield Label("Estimate (hours)")
                yield Input(id="f-estimate", placeholder="e.g. 2", compact=True)
        yield Label("Owner")
        yield Select(
            [(literal(p.handle or ""), p.handle) for p in self.people],
            prompt="(unowned)",
            id="f-owner",
            compact=True,
        )
        yield Label("Kind")
        yield Input(id="f-kind", value="task", compact=True)
        yield Label("Description")
        yield TextArea(id="f-body", compact=True)

    def on_mount(self) -> None:
        self.query_one("#f-title", Input).focus()

    def collect(self) -> dict[str, Any] | None:
        from ...errors import ValidationError

        queue = self.query_one("#f-queue", Select).value
        if queue is Select.NULL or not queue:
            raise ValidationError("pick a queue")
        owner = self.query_one("#f-owner", Select).value
        return {
            "queue": queue,
            "title": clean_title(self.query_one("#f-title", Input).value),
            "priority": self.query_one("#f-priority", Select).value,
            "estimate": parse_estimate(self.query_one("#f-estimate", Input).value),
            "owner": None if owner is Select.NULL else owner,
            "kind": self.query_one("#f-kind", Input).value.strip() or "task",
            "body": clean_body(self.query_one("#f-body", TextArea).text),
        }


def person_label(p: OwnerStat, current: str | None, colours: dict[str, str] | None = None) -> Text:
    """``alice  Alice Moreno  3 open  12h  30% of 40h  away``; colours from the theme."""
    colours = colours or {}
    text = Text(end="")
    text.append(f"{clean(p.handle):<10}", style="bold" if p.handle == current else "")
    text.append(f" {clean(p.name)[:18]:<18}")
    load = p.load
    text.append(f" {p.open:>3} open {hours(p.hours):>6}")
    if load is not None:
        name = "load-over" if load > 1.0 else ("load-high" if load >= 0.8 else "load-ok")
        style = colours.get(name, "")
        text.append(f" {load * 100:4.0f}% of {hours(p.capacity_hours)}", style=style)
    if p.is_away:
        text.append("  away", style=colours.get("flag-away", "italic"))
    if p.handle == current:
        text.append("  (owner now)", style="dim")
    return text


class AssignForm(ModalScreen[str | None]):
    """Pick a person (with their current load) or nobody."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("q", "cancel", "Cancel", show=False),
    ]

    def __init__(self, item: ItemRecord, people: Sequence[OwnerStat]) -> None:
        super().__init__()
        self.item = item
        self.people = [p for p in people if p.id is not None and p.active]

    def compose(self) -> ComposeResult:
        with Vertical(classes="form picker"):
            title = Text("Assign  ", style="bold", end="")
            title.append_text(literal(f"{self.item.key} {self.item.title}"))
            yield Static(title, classes="form-title")
            options = [Option(Text("(nobody: make it unowned)", style="italic"), id="")]
            app: Any = self.app
            variables = getattr(app, "theme_variables", {}) or {}
            colours = {k: v for k, v in variables.items() if k.startswith(("load-", "flag-"))}
            options += [
                Option(person_label(p, self.item.owner, colours), id=p.handle) for p in self.people
            ]
            yield OptionList(*options, id="people")
            yield Static(Text("Enter to assign, Esc to cancel", style="dim"))

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        ol.focus()
        for i, p in enumerate(self.people):
            if p.handle == self.item.owner:
                ol.highlighted = i + 1
                return
        # suggest the least loaded person who is not away
        candidates = [
            (p.load if p.load is not None else 9.9, i)
            for i, p in enumerate(self.people)
            if not p.is_away
        ]
        if candidates:
            ol.highlighted = min(candidates)[1] + 1

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "")

    def action_cancel(self) -> None:
        self.dismiss(None)


class TransitionForm(ModalScreen[str | None]):
    """Only the workflow's allowed next states are offered."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("q", "cancel", "Cancel", show=False),
    ]

    def __init__(self, item: ItemRecord, transitions: Sequence[TransitionRecord]) -> None:
        super().__init__()
        self.item = item
        self.transitions = transitions

    def compose(self) -> ComposeResult:
        with Vertical(classes="form picker"):
            title = Text("Move  ", style="bold", end="")
            title.append_text(literal(f"{self.item.key} from {self.item.status}"))
            yield Static(title, classes="form-title")
            options = []
            for t in self.transitions:
                label = Text(end="")
                label.append(f"\u2192 {clean(t.to_state)}", style="bold")
                if t.name:
                    label.append("  ")
                    label.append_text(literal(t.name, "dim"))
                if t.requires_approval:
                    label.append("  needs approval", style="italic")
                if t.actions:
                    label.append(
                        f"  ({len(t.actions)} action{'s' if len(t.actions) != 1 else ''})",
                        style="dim",
                    )
                options.append(Option(label, id=t.to_state))
            yield OptionList(*options, id="states")
            yield Static(Text("Enter to move, Esc to cancel", style="dim"))

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CommentForm(Form):
    TITLE_TEXT = "Comment on"

    def __init__(self, item: ItemRecord) -> None:
        super().__init__(f"{item.key} {item.title}")

    def fields(self) -> ComposeResult:
        yield TextArea(id="f-comment", compact=True)

    def on_mount(self) -> None:
        self.query_one("#f-comment", TextArea).focus()

    def collect(self) -> str | None:
        from ...errors import ValidationError

        text = self.query_one("#f-comment", TextArea).text
        if not text.strip():
            raise ValidationError("a comment cannot be empty")
        return clean_body(text.strip())


class LogTimeForm(Form):
    TITLE_TEXT = "Log time on"

    def __init__(self, item: ItemRecord) -> None:
        super().__init__(f"{item.key} {item.title}")

    def fields(self) -> ComposeResult:
        yield Label("Time spent (45m, 1h30m, 2h; 1d = 8h)")
        yield Input(id="f-spent", compact=True)
        yield Label("Note (optional)")
        yield Input(id="f-note", compact=True)

    def on_mount(self) -> None:
        self.query_one("#f-spent", Input).focus()

    def collect(self) -> tuple[int, str]:
        from ...domain.forecast import parse_time_spent
        from ...errors import ValidationError

        try:
            seconds = parse_time_spent(self.query_one("#f-spent", Input).value)
        except ValueError as exc:
            raise ValidationError(f"time spent: {exc}") from None
        return seconds, self.query_one("#f-note", Input).value.strip()


class PriorityForm(Form):
    TITLE_TEXT = "Priority and estimate of"

    def __init__(self, item: ItemRecord) -> None:
        super().__init__(item.key)
        self.item = item

    def fields(self) -> ComposeResult:
        yield Label("Priority")
        yield Select(
            PRIORITY_CHOICES,
            value=self.item.priority,
            allow_blank=False,
            id="f-priority",
            compact=True,
        )
        yield Label("Estimate (hours, empty for none)")
        est = self.item.estimate_hours
        yield Input(
            value="" if est is None else (str(int(est)) if float(est).is_integer() else str(est)),
            id="f-estimate",
            compact=True,
        )

    def on_mount(self) -> None:
        self.query_one("#f-priority", Select).focus()

    def collect(self) -> dict[str, Any]:
        estimate = parse_estimate(self.query_one("#f-estimate", Input).value)
        return {"priority": self.query_one("#f-priority", Select).value, "estimate": estimate}


class EditForm(Form):
    TITLE_TEXT = "Edit"

    def __init__(self, item: ItemRecord) -> None:
        super().__init__(item.key)
        self.item = item

    def fields(self) -> ComposeResult:
        yield Label("Title")
        yield Input(value=self.item.title, id="f-title", compact=True)
        yield Label("Description")
        yield TextArea(self.item.body, id="f-body", compact=True)

    def on_mount(self) -> None:
        self.query_one("#f-title", Input).focus()

    def collect(self) -> dict[str, Any]:
        return {
            "title": clean_title(self.query_one("#f-title", Input).value),
            "body": clean_body(self.query_one("#f-body", TextArea).text),
        }


class FilterForm(Form):
    TITLE_TEXT = "Filter items"

    def __init__(self, flt: ItemFilter, choices: dict[str, Any]) -> None:
        super().__init__()
        self.flt = flt
        self.choices = choices

    def _select(self, name: str, value: Any, prompt: str) -> Select[Any]:
        options = [
            (literal(c.label if name != "owner" else f"{c.value} ({c.label})"), c.value)
            for c in self.choices[name]
        ]
        known = {c.value for c in self.choices[name]}
        if name == "owner":
            options.insert(0, (Text("(unowned)"), "-"))
            known.add("-")
        return Select(
            options,
            value=value if value in known else Select.NULL,
            prompt=prompt,
            id=f"f-{name}",
            compact=True,
        )

    def fields(self) -> ComposeResult:
        yield Label("Queue")
        yield self._select("queue", self.flt.queue, "(any queue)")
        yield Label("Owner")
        yield self._select("owner", self.flt.owner, "(anyone)")
        yield Label("Status")
        yield self._select("status", self.flt.status, "(any status)")
        yield Label("Priority")
        yield Select(
            PRIORITY_CHOICES,
            value=self.flt.priority or Select.NULL,
            prompt="(any priority)",
            id="f-priority",
            compact=True,
        )
        yield Label("Text in key or title")
        yield Input(value=self.flt.text or "", id="f-text", compact=True)
        yield Checkbox("Open items only", value=self.flt.open_only, id="f-open", compact=True)

    def on_mount(self) -> None:
        self.query_one("#f-queue", Select).focus()

    def collect(self) -> ItemFilter:
        def val(name: str) -> Any:
            v = self.query_one(f"#f-{name}", Select).value
            return None if v is Select.NULL else v

        return ItemFilter(
            queue=val("queue"),
            owner=val("owner"),
            status=val("status"),
            priority=val("priority"),
            text=self.query_one("#f-text", Input).value.strip() or None,
            open_only=self.query_one("#f-open", Checkbox).value,
            sla_state=self.flt.sla_state,
            kind=self.flt.kind,
        )
