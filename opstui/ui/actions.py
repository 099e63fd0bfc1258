"""Item actions from any screen: load fresh data, open the form, write in a thread worker,
apply our own events at once.

Mixed into :class:`opstui.ui.app.OpsApp`; every write from the app goes through
:meth:`ItemActionsMixin.write` (the one read-only gate)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work

from ..domain.actions import describe_action
from ..errors import Conflict, NotFound, OpsError
from ..store import panes as pane_q
from ..store import queries as q
from ..store.engine import Database
from .messages import ActionDone, ActionFailed, Prepared
from .text import clean


class ItemActionsMixin:
    """Open an action's form on fresh data and write its result."""

    # --- item actions ------------------------------------------------------------------

    def refuse_if_readonly(self) -> bool:
        """The one gate for writes from this app: refused with a notification when the
        database is open read-only (a browser tab of a server without --allow-edit)."""
        if self.db.readonly:
            self.notify(
                self.read_only_note
                or "the database is open read-only: nothing can be changed here",
                severity="warning",
                markup=False,
            )
            return True
        return False

    def item_action(
        self, kind: str, key: str | None, *, context: dict[str, Any] | None = None
    ) -> None:
        """Start an action on an item: load fresh data, then open its form."""
        if self.refuse_if_readonly():
            return
        if kind != "new" and not key:
            self.notify("select an item first", severity="warning", timeout=3)
            return
        self._prepare(kind, key, dict(context or {}))

    @work(thread=True, exclusive=True, group="prepare", exit_on_error=False)
    def _prepare(self, kind: str, key: str | None, context: dict[str, Any]) -> None:
        now = self.clock.now()
        extra: dict[str, Any] = dict(context)
        with self.db.read() as conn:
            item = q.get_item(conn, key) if key else None
            if key and item is None:
                raise NotFound(f"no item {key!r} (deleted elsewhere?)")
            if kind in ("assign", "new"):
                extra["people"] = tuple(
                    pane_q.owner_stats(
                        conn, now, now.date(), default_estimate=self.default_estimate
                    )
                )
            if kind == "assign":
                from ..store.picks import pick_context

                extra["pick"] = pick_context(conn)
            if kind == "move" and item is not None:
                extra["transitions"] = tuple(q.next_states_for_item(conn, item.key))
            if kind in ("new", "transfer"):
                extra["queues"] = tuple(q.list_queues(conn))
        self.post_message(Prepared(kind, item, extra))

    def on_prepared(self, message: Prepared) -> None:
        from .screens import forms

        item, extra, kind = message.item, message.extra, message.kind
        if kind == "new":
            self.push_screen(
                forms.NewItemForm(extra["queues"], extra["people"], extra.get("queue")),
                self._submit_new,
            )
            return
        assert item is not None
        if kind == "assign":
            self.push_screen(
                forms.assign_picker(item, extra["people"], extra.get("pick"), self.colours()),
                lambda handle: self._submit_assign(item, handle),
            )
        elif kind == "move":
            transitions = extra.get("transitions", ())
            if not transitions:
                self.notify(
                    f"{clean(item.key)} has no next state from {clean(item.status)!r}",
                    severity="warning",
                    markup=False,
                )
                return
            self.push_screen(
                forms.state_picker(item, transitions),
                lambda state: self._submit_move(item, state),
            )
        elif kind == "transfer":
            from .screens.transfer import TransferForm

            self.push_screen(
                TransferForm(item, extra["queues"]),
                lambda slug: self._submit_transfer(item, slug),
            )
        elif kind == "comment":
            self.presence_set(item.key, "editing a comment")

            def commented(text: str | None) -> None:
                self.presence_set(None)
                for screen in self.screen_stack:  # back to viewing, if the item is open
                    hook = getattr(screen, "announce_presence", None)
                    if hook is not None:
                        hook()
                self._submit_comment(item, text)

            self.push_screen(forms.CommentForm(item), commented)
        elif kind == "priority":
            self.push_screen(
                forms.PriorityForm(item), lambda v: self._submit_edit(item, v, "priority")
            )
        elif kind == "edit":
            self.push_screen(forms.EditForm(item), lambda v: self._submit_edit(item, v, "edit"))
        elif kind == "log":
            self.push_screen(forms.LogTimeForm(item), lambda v: self._submit_log(item, v))

    def _submit_new(self, fields: dict[str, Any] | None) -> None:
        if not fields:
            return
        from ..services import items

        self.write(
            lambda db: items.create_item(db, **fields),
            lambda item: f"created {item.key}",
        )

    def _submit_assign(self, item: q.ItemRecord, handle: str | None) -> None:
        if handle is None:
            return
        from ..services import items

        target = handle or None
        self.write(
            lambda db: items.assign(db, item.key, target, expected_version=item.version),
            lambda it: (
                f"{it.key} assigned to {it.owner}" if it.owner else f"{it.key} is now unowned"
            ),
            key=item.key,
        )

    def _submit_move(self, item: q.ItemRecord, state: str | None) -> None:
        if not state:
            return
        from ..services import transitions

        def done(result: Any) -> str:
            moved, actions = result
            text = f"{moved.key} moved to {moved.status}"
            if moved.status != state:
                text = f"{moved.key}: {state} is waiting for an approval"
            extra = [describe_action(a) for a in actions if a]
            return "; ".join([text, *extra])

        self.write(
            lambda db: transitions.transition(db, item.key, state, expected_version=item.version),
            done,
            key=item.key,
        )

    def _submit_transfer(self, item: q.ItemRecord, slug: str | None) -> None:
        if not slug:
            return
        from ..services import items

        self.write(
            lambda db: items.transfer(db, item.key, slug, expected_version=item.version),
            lambda it: f"{it.key} transferred to {it.queue} ({it.status})",
            key=item.key,
        )

    def _submit_comment(self, item: q.ItemRecord, text: str | None) -> None:
        if not text:
            return
        from ..services import items

        self.write(
            lambda db: items.comment(db, item.key, text),
            lambda it: f"commented on {it.key}",
            key=item.key,
        )

    def _submit_log(self, item: q.ItemRecord, value: tuple[int, str] | None) -> None:
        if not value:
            return
        from ..domain.sla import format_remaining
        from ..services import worklog

        seconds, note = value

        def said(done: Any) -> str:
            left = format_remaining(done.remaining_hours * 3600)
            over = ", over estimate" if done.over_estimate else ""
            return f"logged {format_remaining(done.seconds)} on {done.key} ({left} left{over})"

        self.write(
            lambda db: worklog.log_time(db, item.key, seconds, note=note), said, key=item.key
        )

    def _submit_edit(self, item: q.ItemRecord, fields: dict[str, Any] | None, what: str) -> None:
        if not fields:
            return
        from ..services import items

        self.write(
            lambda db: items.edit_item(db, item.key, expected_version=item.version, **fields),
            lambda it: (
                f"{it.key} saved" if it.version != item.version else f"{it.key}: nothing changed"
            ),
            key=item.key,
        )

    def write(
        self,
        fn: Callable[[Database], Any],
        describe: Callable[[Any], str],
        *,
        key: str | None = None,
    ) -> None:
        if self.refuse_if_readonly():
            return
        self._write(fn, describe, key)

    @work(thread=True, group="write", exit_on_error=False)
    def _write(
        self, fn: Callable[[Database], Any], describe: Callable[[Any], str], key: str | None
    ) -> None:
        cursor = self.event_cursor
        try:
            result = fn(self.db)
        except Conflict as exc:
            with self.db.read() as conn:
                events = q.events_after(conn, cursor, 5000)
            self.post_message(ActionFailed(str(exc), conflict_key=exc.key or key, events=events))
            return
        except OpsError as exc:
            self.post_message(ActionFailed(str(exc)))
            return
        # Apply our own change now: the writing terminal never waits for the watcher.
        with self.db.read() as conn:
            events = q.events_after(conn, cursor, 5000)
        self.post_message(ActionDone(describe(result), events, key))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(clean(message.text), timeout=4, markup=False)
        self.refresh_from_events(message.events)

    def on_action_failed(self, message: ActionFailed) -> None:
        severity = "warning" if message.conflict_key else "error"
        self.notify(clean(message.text), severity=severity, timeout=10, markup=False)
        self.refresh_from_events(message.events)
        if message.conflict_key:  # reload what the user is looking at
            for screen in self.screen_stack:
                hook = getattr(screen, "reload", None)
                if hook is not None:
                    hook()
