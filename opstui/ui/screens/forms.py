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
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from ...domain.fields import clean_body, clean_title, parse_estimate
from ...domain.suggest import AWAY, OTHERS, SUGGESTED, TEAM, PersonLoad, rank_people, wanted_skills
from ...errors import OpsError
from ...store.panes import OwnerStat
from ...store.picks import PickContext
from ...store.queries import ItemFilter, ItemRecord, QueueRecord, TransitionRecord
from ..text import clean, hours, literal
from .picker import Candidate, PickerScreen, PickField

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
        yield PickField(
            "Queue for the new item",
            queue_candidates(self.queues),
            value=self.default_queue,
            prompt="(pick a queue)",
            id="f-queue",
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
        yield PickField(
            "Owner of the new item",
            person_candidates(self.people, nobody="leave it unowned"),
            prompt="(unowned)",
            verb="gives it to",
            id="f-owner",
        )
        yield Label("Kind")
        yield Input(id="f-kind", value="task", compact=True)
        yield Label("Description")
        yield TextArea(id="f-body", compact=True)

    def on_mount(self) -> None:
        self.query_one("#f-title", Input).focus()

    def collect(self) -> dict[str, Any] | None:
        from ...errors import ValidationError

        queue = self.query_one("#f-queue", PickField).value
        if not queue:
            raise ValidationError("pick a queue")
        owner = self.query_one("#f-owner", PickField).value or None
        return {
            "queue": queue,
            "title": clean_title(self.query_one("#f-title", Input).value),
            "priority": self.query_one("#f-priority", Select).value,
            "estimate": parse_estimate(self.query_one("#f-estimate", Input).value),
            "owner": owner,
            "kind": self.query_one("#f-kind", Input).value.strip() or "task",
            "body": clean_body(self.query_one("#f-body", TextArea).text),
        }


def person_info(p: OwnerStat, colours: dict[str, str] | None = None) -> Text:
    """``3 open  12h  30%``: the load (of weekly capacity) coloured by the theme."""
    colours = colours or {}
    text = Text(end="")
    text.append(f"{p.open:>3} open {hours(p.hours):>5}")
    load = p.load
    if load is not None:
        name = "load-over" if load > 1.0 else ("load-high" if load >= 0.8 else "load-ok")
        text.append(f" {load * 100:4.0f}%", style=colours.get(name, ""))
    return text


def person_candidates(
    people: Sequence[OwnerStat],
    *,
    skills: dict[str, tuple[str, ...]] | None = None,
    wanted: Sequence[str] = (),
    team: str | None = None,
    current: str | None = None,
    colours: dict[str, str] | None = None,
    nobody: str | None = "make it unowned",
) -> list[Candidate]:
    """Active people in suggestion order (see domain.suggest), each labelled with the
    reason for its place; ``nobody`` adds a last choice with the value ``""``."""
    colours = colours or {}
    skills = skills or {}
    stats = {p.handle: p for p in people if p.id is not None and p.active and p.handle}
    loads = [
        PersonLoad(h, p.name, p.team, skills.get(h, ()), p.load, p.is_away)
        for h, p in stats.items()
    ]
    out: list[Candidate] = []
    for r in rank_people(loads, skills=wanted, team=team):
        p = stats[r.person.handle]
        tag, style = {
            SUGGESTED: ("suggested", "bold"),
            TEAM: ("team", "dim"),
            OTHERS: ("", ""),
            AWAY: (
                f"away ({p.away_note})" if p.away_note not in (None, "", "away") else "away",
                colours.get("flag-away", "italic"),
            ),
        }[r.group]
        if p.handle == current:
            tag = f"{tag} (owner now)".strip()
        out.append(
            Candidate(
                value=p.handle or "",
                label=p.handle or "",
                detail=p.name,
                info=person_info(p, colours),
                tag=tag,
                tag_style=style,
                group=r.reason,
                keywords=(p.team, *skills.get(p.handle or "", ())),
                dim=r.group == AWAY,
            )
        )
    if nobody is not None:
        out.append(
            Candidate(
                value="", label="(nobody)", detail=nobody, group="nobody", keywords=("unowned",)
            )
        )
    return out


def assign_picker(
    item: ItemRecord,
    people: Sequence[OwnerStat],
    ctx: PickContext | None,
    colours: dict[str, str] | None = None,
) -> PickerScreen:
    """The assign dialog: a person picker ordered by who suits the item."""
    wanted: tuple[str, ...] = ()
    team = None
    if ctx is not None:
        wanted = wanted_skills(ctx.known_skills, item.kind, item.title)
        team = ctx.queue_teams.get(item.queue)
    title = Text("Assign  ", style="bold", end="")
    title.append_text(literal(f"{item.key} {item.title}"))
    cands = person_candidates(
        people,
        skills=ctx.skills if ctx else None,
        wanted=wanted,
        team=team,
        current=item.owner,
        colours=colours,
    )
    return PickerScreen(
        title, cands, verb="assigns", placeholder="type a handle, name, team or skill"
    )


def state_picker(item: ItemRecord, transitions: Sequence[TransitionRecord]) -> PickerScreen:
    """The move dialog: only the workflow's allowed next states are offered."""
    title = Text("Move  ", style="bold", end="")
    title.append_text(literal(f"{item.key} from {item.status}"))
    cands = []
    for t in transitions:
        notes = []
        if t.requires_approval:
            notes.append("needs approval")
        if t.actions:
            notes.append(f"{len(t.actions)} action{'s' if len(t.actions) != 1 else ''}")
        cands.append(
            Candidate(
                value=t.to_state,
                label=f"\u2192 {t.to_state}",
                detail=t.name,
                tag=", ".join(notes),
                keywords=(t.to_state,),
            )
        )
    return PickerScreen(title, cands, verb="moves to", placeholder="type a state")


def queue_candidates(queues: Sequence[QueueRecord], current: str | None = None) -> list[Candidate]:
    return [
        Candidate(
            value=q.slug,
            label=q.slug,
            detail=q.name,
            tag="now" if q.slug == current else "",
            keywords=(q.prefix, q.description),
        )
        for q in queues
    ]


class CommentForm(Form):
    TITLE_TEXT = "Comment on"

    def __init__(self, item: ItemRecord | None = None, *, subject: str = "") -> None:
        super().__init__(f"{item.key} {item.title}" if item is not None else subject)

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

    def _pick(self, name: str, value: Any, anything: str) -> PickField:
        cands = [Candidate("", anything)]
        if name == "owner":
            cands.append(Candidate("-", "(unowned)", keywords=("nobody",)))
        cands += [
            Candidate(c.value, c.value, c.label if c.label != c.value else "")
            for c in self.choices[name]
        ]
        return PickField(
            f"Filter on {name}",
            cands,
            value=value if value else "",
            prompt=anything,
            verb="filters on",
            id=f"f-{name}",
        )

    def fields(self) -> ComposeResult:
        yield Label("Queue")
        yield self._pick("queue", self.flt.queue, "(any queue)")
        yield Label("Owner")
        yield self._pick("owner", self.flt.owner, "(anyone)")
        yield Label("Status")
        yield self._pick("status", self.flt.status, "(any status)")
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
        self.query_one("#f-queue", PickField).focus()

    def collect(self) -> ItemFilter:
        def val(name: str) -> Any:
            if name == "priority":
                v = self.query_one("#f-priority", Select).value
                return None if v is Select.NULL else v
            return self.query_one(f"#f-{name}", PickField).value or None

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
