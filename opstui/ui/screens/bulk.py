"""Bulk actions on marked rows (the item list's, the review's): assign, move, transfer or
comment on all of them.

Each item is its own change (its own transaction, version check and events); an item
that changed since the dialog opened is skipped and reported by key, the rest go
through; one that cannot go (a transfer whose state has no clear match in the new
queue's workflow, say) is reported by key with its reason.  The dialog is the same
picker / form as for one item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text

from ...errors import Conflict, OpsError
from ...store import panes as pane_q
from ...store import queries as q
from ..text import clean

#: The actions that apply to every marked row.
BULK_KINDS = ("assign", "move", "transfer", "comment")


def start_bulk(app: Any, kind: str, ids: Sequence[int | str], *, done: Callable[[], None]) -> None:
    """Load the marked items (ids, or keys) fresh, then open the dialog for ``kind``."""
    if app.refuse_if_readonly():
        return
    app.run_worker(
        lambda: _prepare(app, kind, list(ids), done),
        thread=True,
        group="bulk-prepare",
        exclusive=True,
        exit_on_error=False,
    )


def _prepare(app: Any, kind: str, ids: list[int | str], done: Callable[[], None]) -> None:
    now = app.clock.now()
    extra: dict[str, Any] = {}
    with app.db.read() as conn:
        if all(isinstance(i, int) for i in ids):
            records = q.items_by_ids(conn, [int(i) for i in ids])
            order = {i: n for n, i in enumerate(ids)}
            records.sort(key=lambda r: order[r.id])
        else:  # keys (the review's rows): a few at most, in the order given
            found = (q.get_item(conn, str(k)) for k in ids)
            records = [r for r in found if r is not None]
        if kind == "transfer":
            extra["queues"] = tuple(q.list_queues(conn))
        if kind == "assign":
            from ...store.picks import pick_context

            extra["people"] = tuple(
                pane_q.owner_stats(conn, now, now.date(), default_estimate=app.default_estimate)
            )
            extra["pick"] = pick_context(conn)
        if kind == "move":
            common: list[q.TransitionRecord] | None = None
            for r in records:
                nxt = q.next_states_for_item(conn, r.key)
                if common is None:
                    common = list(nxt)
                else:
                    states = {t.to_state for t in nxt}
                    common = [t for t in common if t.to_state in states]
            extra["transitions"] = tuple(common or ())
    app.call_from_thread(_open_dialog, app, kind, tuple(records), extra, done)


def _open_dialog(
    app: Any, kind: str, records: tuple[q.ItemRecord, ...], extra: dict[str, Any], done: Any
) -> None:
    from . import forms
    from .picker import PickerScreen

    if not records:
        app.notify("the marked items are gone (deleted elsewhere?)", severity="warning")
        return
    n = len(records)
    what = f"{n} marked item{'s' if n != 1 else ''}"
    title = Text(f"{kind.capitalize()}  ", style="bold", end="")
    title.append(clean(f"{what}: {', '.join(r.key for r in records[:6])}"))
    if n > 6:
        title.append(" …")
    if kind == "assign":
        from ...domain.suggest import wanted_skills

        ctx = extra["pick"]
        wanted = wanted_skills(
            ctx.known_skills, *(r.kind for r in records), *(r.title for r in records)
        )
        queues = {r.queue for r in records}
        team = ctx.queue_teams.get(next(iter(queues))) if len(queues) == 1 else None
        cands = forms.person_candidates(
            extra["people"],
            skills=ctx.skills,
            wanted=wanted,
            team=team,
            colours=app.colours(),
        )
        screen: Any = PickerScreen(title, cands, verb=f"assigns all {n} to")
        app.push_screen(screen, lambda v: _run(app, "assign", records, v, done))
    elif kind == "move":
        transitions = extra["transitions"]
        if not transitions:
            app.notify(
                f"the {what} have no next state in common: move them in smaller groups",
                severity="warning",
                markup=False,
            )
            return
        picker = forms.state_picker(records[0], transitions)
        picker.title_text = title
        picker.verb = f"moves all {n} to"
        app.push_screen(picker, lambda v: _run(app, "move", records, v, done))
    elif kind == "transfer":
        from .transfer import TransferForm

        form = TransferForm(records, extra["queues"], subject=title)
        app.push_screen(form, lambda v: _run(app, "transfer", records, v, done))
    elif kind == "comment":
        form = forms.CommentForm(subject=what)
        app.push_screen(form, lambda v: _run(app, "comment", records, v, done))


def _run(
    app: Any, kind: str, records: tuple[q.ItemRecord, ...], value: str | None, done: Any
) -> None:
    if value is None or (kind != "assign" and not value):
        return
    from ...services import items, transitions

    def apply(db: Any) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"done": [], "stale": [], "failed": []}
        for r in records:
            try:
                if kind == "assign":
                    items.assign(db, r.key, value or None, expected_version=r.version)
                elif kind == "move":
                    transitions.transition(db, r.key, value, expected_version=r.version)
                elif kind == "transfer":
                    items.transfer(db, r.key, value, expected_version=r.version)
                else:
                    items.comment(db, r.key, value)
                out["done"].append(r.key)
            except Conflict:
                out["stale"].append(r.key)
            except OpsError as exc:
                out["failed"].append(f"{r.key}: {exc}")
        return out

    verb = {
        "assign": f"assigned to {value}" if value else "made unowned",
        "move": f"moved to {value}",
        "transfer": f"transferred to {value}",
        "comment": "commented on",
    }[kind]

    def describe(out: dict[str, list[str]]) -> str:
        parts = [
            f"{len(out['done'])} {verb}" + (f": {', '.join(out['done'])}" if out["done"] else "")
        ]
        if out["stale"]:
            parts.append(
                f"skipped (changed elsewhere since you marked them): {', '.join(out['stale'])}"
            )
        if out["failed"]:
            parts.append("failed: " + "; ".join(out["failed"]))
        return "; ".join(parts)

    app.write(apply, describe)
    done()
