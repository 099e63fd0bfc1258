"""A picker you can type into: every choice of a person, a queue or a state.

Type to filter (fuzzy, on every field a candidate carries: handle, name, team, skills),
move with the arrows, ctrl+j / ctrl+k, or j / k once the list has focus (Tab), Enter picks,
Esc cancels.  Candidates come ordered and grouped by the caller with the reason for their
place; the line under the list always says what Enter will do, so nothing is picked
silently.  Columns are measured in terminal cells, so wide characters and emoji stay
aligned.  The screen is generic: it returns the ``value`` of the chosen candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..text import clean, literal


@dataclass(frozen=True)
class Candidate:
    """One choice.  ``label`` is the main column (a handle, a queue slug, a state)."""

    value: str
    label: str
    detail: str = ""
    #: A ready, literal Text (figures such as load) shown after the detail.
    info: Text | None = None
    #: Short mark at the right: "suggested", "team", "away", "now"...
    tag: str = ""
    tag_style: str = ""
    #: Heading shown above the candidate's group while nothing is typed.
    group: str = ""
    #: Further words the filter matches (team, skills).
    keywords: tuple[str, ...] = ()
    dim: bool = False


def match_score(query: str, cand: Candidate) -> int:
    """0 = no match.  Every space-separated term must match one field: a prefix of the
    label scores highest, then a prefix of a word, a substring, a subsequence."""
    fields = [clean(cand.label).lower(), clean(cand.detail).lower()]
    fields += [clean(k).lower() for k in cand.keywords]
    total = 0
    for term in query.lower().split():
        best = 0
        for n, f in enumerate(fields):
            if not f:
                continue
            if f.startswith(term):
                score = 100 if n == 0 else 60
            elif any(w.startswith(term) for w in f.replace("-", " ").split()):
                score = 50
            elif term in f:
                score = 30
            elif _subsequence(term, f):
                score = 15 if n == 0 else 5
            else:
                score = 0
            best = max(best, score)
        if not best:
            return 0
        total += best
    return total


def _subsequence(term: str, text: str) -> bool:
    it = iter(text)
    return all(ch in it for ch in term)


def fit(text: Text | str, width: int) -> Text:
    """``text`` cut or padded to exactly ``width`` terminal cells."""
    t = text.copy() if isinstance(text, Text) else literal(text)
    t.truncate(width, overflow="ellipsis", pad=True)
    return t


class PickerScreen(ModalScreen[str | None]):
    """Choose one of ``candidates``; dismisses with its value, or None on Esc."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down,ctrl+j,ctrl+n", "move(1)", "Down", show=False, priority=True),
        Binding("up,ctrl+k", "move(-1)", "Up", show=False, priority=True),
        Binding("pagedown", "move(10)", "Page down", show=False, priority=True),
        Binding("pageup", "move(-10)", "Page up", show=False, priority=True),
        Binding("j", "move(1)", "Down", show=False),
        Binding("k", "move(-1)", "Up", show=False),
        Binding("tab", "toggle_focus", "Filter/list", show=False, priority=True),
    ]

    def __init__(
        self,
        title: Text | str,
        candidates: Sequence[Candidate],
        *,
        verb: str = "pick",
        query: str = "",
        placeholder: str = "type to filter",
    ) -> None:
        super().__init__()
        self.title_text = title if isinstance(title, Text) else literal(title, "bold")
        self.candidates = tuple(candidates)
        self.verb = verb
        self.initial_query = query
        self.placeholder = placeholder
        self.shown: list[Candidate] = []
        self._widths = self._measure()

    def _measure(self) -> tuple[int, int, int]:
        def widest(values: Sequence[int], cap: int) -> int:
            return min(cap, max(values, default=0))

        return (
            widest([literal(c.label).cell_len for c in self.candidates], 16),
            widest([literal(c.detail).cell_len for c in self.candidates], 22),
            widest([c.info.cell_len for c in self.candidates if c.info is not None], 30),
        )

    def compose(self) -> ComposeResult:
        with Vertical(classes="form picker"):
            yield Static(self.title_text, classes="form-title")
            yield Input(
                value=self.initial_query,
                placeholder=self.placeholder,
                id="pick-filter",
                compact=True,
            )
            yield OptionList(id="pick-list")
            yield Static("", id="pick-hint")

    def on_mount(self) -> None:
        self.query_one("#pick-filter", Input).focus()
        self._refilter(self.initial_query)

    # --- filtering -------------------------------------------------------------------------

    def _row(self, c: Candidate) -> Text:
        lw, dw, iw = self._widths
        row = Text(end="", no_wrap=True, overflow="ellipsis")
        row.append_text(fit(literal(c.label, "bold" if not c.dim else "dim"), lw))
        if dw:
            row.append(" ")
            row.append_text(fit(literal(c.detail, "dim" if c.dim else ""), dw))
        if iw:
            row.append(" ")
            row.append_text(fit(c.info if c.info is not None else Text(""), iw))
        if c.tag:
            row.append("  ")
            row.append_text(literal(c.tag, c.tag_style or "italic"))
        return row

    def _refilter(self, query: str) -> None:
        query = query.strip()
        ol = self.query_one("#pick-list", OptionList)
        options: list[Option] = []
        if query:
            scored = [(match_score(query, c), n, c) for n, c in enumerate(self.candidates)]
            self.shown = [c for s, _, c in sorted(scored, key=lambda t: (-t[0], t[1])) if s]
            options = [Option(self._row(c), id=f"c{n}") for n, c in enumerate(self.shown)]
        else:
            self.shown = list(self.candidates)
            group = None
            for n, c in enumerate(self.shown):
                if c.group and c.group != group:
                    options.append(Option(literal(c.group, "dim italic"), disabled=True))
                group = c.group
                options.append(Option(self._row(c), id=f"c{n}"))
        ol.clear_options()
        ol.add_options(options)
        first = next((i for i, o in enumerate(options) if not o.disabled), None)
        ol.highlighted = first
        self._hint()

    @on(Input.Changed, "#pick-filter")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._refilter(event.value)

    def highlighted(self) -> Candidate | None:
        if not self.query("#pick-list"):
            return None
        ol = self.query_one("#pick-list", OptionList)
        if ol.highlighted is None:
            return None
        option = ol.get_option_at_index(ol.highlighted)
        if option.disabled or not option.id:
            return None
        return self.shown[int(option.id[1:])]

    def _hint(self) -> None:
        if not self.query("#pick-hint") or not self.query("#pick-list"):
            return  # dismissed while a highlight message was on its way
        c = self.highlighted()
        hint = Text(end="", no_wrap=True, overflow="ellipsis")
        if c is None:
            query = self.query_one("#pick-filter", Input).value.strip()
            hint.append("nothing matches ", style="bold")
            hint.append_text(literal(repr(query)))
            hint.append(" · backspace to widen · esc cancel", style="dim")
        else:
            hint.append(f"enter {self.verb} ", style="dim")
            hint.append_text(literal(c.label, "bold"))
            if c.detail:
                hint.append(" ")
                hint.append_text(literal(c.detail))
            hint.append(" · \u2191\u2193 move · esc cancel", style="dim")
        self.query_one("#pick-hint", Static).update(hint)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._hint()

    # --- keys ----------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        ol = self.query_one("#pick-list", OptionList)
        count = ol.option_count
        if not count:
            return
        index = ol.highlighted if ol.highlighted is not None else -1
        direction = 1 if step > 0 else -1
        remaining = abs(step)
        target = index
        i = index
        while remaining and 0 <= i + direction < count:
            i += direction
            if not ol.get_option_at_index(i).disabled:
                target = i
                remaining -= 1
        if target >= 0:
            ol.highlighted = target

    def action_toggle_focus(self) -> None:
        flt = self.query_one("#pick-filter", Input)
        if flt.has_focus:
            self.query_one("#pick-list", OptionList).focus()
        else:
            flt.focus()

    def on_key(self, event: events.Key) -> None:
        """Typing while the list has focus goes on filtering (j / k move there)."""
        flt = self.query_one("#pick-filter", Input)
        if flt.has_focus or not event.is_printable or event.character in (None, "j", "k"):
            return
        event.stop()
        event.prevent_default()
        flt.focus()
        flt.insert_text_at_cursor(event.character)

    @on(Input.Submitted, "#pick-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._pick()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._pick()

    def _pick(self) -> None:
        c = self.highlighted()
        if c is None:
            self.app.bell()
            return
        self.dismiss(c.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickField(Static, can_focus=True):
    """A form field whose value is chosen with a :class:`PickerScreen`.

    Enter or space opens the picker; typing a letter opens it with that letter already
    in the filter.  ``value`` is the chosen candidate's value (``None``: nothing chosen,
    shown as the ``prompt``).
    """

    DEFAULT_CSS = """
    PickField {
        height: 1;
        width: 1fr;
        background: $boost;
        padding: 0 1;
    }
    PickField:focus {
        background: $block-cursor-blurred-background;
        text-style: bold;
    }
    """

    BINDINGS = [Binding("enter,space", "open", "Choose", show=False)]

    class Changed(Message):
        def __init__(self, field: PickField, value: str | None) -> None:
            super().__init__()
            self.field = field
            self.value = value

        @property
        def control(self) -> PickField:
            return self.field

    def __init__(
        self,
        title: str,
        candidates: Sequence[Candidate],
        *,
        value: str | None = None,
        prompt: str = "(none)",
        verb: str = "chooses",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.title = title
        self.candidates = tuple(candidates)
        self.prompt = prompt
        self.verb = verb
        known = {c.value for c in self.candidates}
        self.value: str | None = value if value in known else None

    def render(self) -> Text:
        chosen = next((c for c in self.candidates if c.value == self.value), None)
        if chosen is None:
            return Text(self.prompt + "  \u25be", style="italic", end="")
        text = literal(chosen.label)
        if chosen.detail:
            text.append("  ")
            text.append_text(literal(chosen.detail, "dim"))
        text.append("  \u25be", style="dim")
        return text

    def action_open(self, query: str = "") -> None:
        def done(value: str | None) -> None:
            if value is not None:
                self.value = value
                self.refresh()
                self.post_message(self.Changed(self, value))

        self.app.push_screen(
            PickerScreen(literal(self.title, "bold"), self.candidates, verb=self.verb, query=query),
            done,
        )

    def on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character and event.character != " ":
            event.stop()
            event.prevent_default()
            self.action_open(event.character)

    def on_click(self) -> None:
        self.focus()
        self.action_open()
