"""Who I am in this database, who else has an item open (presence), and my work.

Mixed into :class:`opstui.ui.app.OpsApp`; the presence directory is read by one daemon
thread, and only while a screen that shows presence is in view."""

from __future__ import annotations

from typing import Any

from textual import work

from ..store import queries as q


class MeMixin:
    """My handle, presence and the "my work" list."""

    #: My person handle (config ``me`` or my Unix login), once resolved; None if I am
    #: nobody in this database.
    my_handle: str | None = None

    @work(thread=True, exclusive=True, group="me", exit_on_error=False)
    def _resolve_me(self) -> None:
        from ..store.queries import PERSON

        with self.db.read() as conn:
            pid = q.person_id_for_login(conn, self.db.unix_user, self.config.me or self.db.me)
            handle = (
                conn.execute(PERSON.select().where(PERSON.c.id == pid)).first()
                if pid is not None
                else None
            )
        self.call_from_thread(self._set_me, handle.handle if handle is not None else None)

    def _set_me(self, handle: str | None) -> None:
        from .widgets.status import StatusBar

        self.my_handle = handle
        if self.presence is not None and handle:
            self.presence.who = handle
        for bar in self.screen.query(StatusBar):
            bar.refresh()

    # --- presence: who else has an item open ---------------------------------------------

    #: This terminal's presence (None until mounted, or when presence is off).
    presence: Any = None
    #: Others with an item open: key -> viewers (from the last look).
    viewers: dict[str, Any] = {}
    #: Seconds between looks while a screen that shows presence is in view.
    presence_interval = 2.0

    def _start_presence(self) -> None:
        if not self.watch:
            return  # tests and what-if views start it themselves (start_presence)
        self.start_presence()

    def start_presence(self) -> None:
        import threading

        from ..sync.presence import Presence

        self.presence = Presence(self.db.path, self.config.me or self.db.unix_user)
        self._presence_stop = threading.Event()
        # a plain daemon thread, not a worker: it runs for the app's life and must not
        # hold up "wait for the workers" nor the exit
        threading.Thread(target=self._presence_loop, name="presence", daemon=True).start()

    def presence_set(self, key: str | None, activity: str = "viewing") -> None:
        if self.presence is not None:
            self.presence.set(key, activity)

    def _presence_wanted(self) -> bool:
        screen = self.screen_stack[-1] if self.screen_stack else None
        under = next(
            (s for s in reversed(self.screen_stack) if hasattr(s, "presence_changed")), None
        )
        return screen is not None and under is not None

    def _presence_loop(self) -> None:
        """Look at the presence directory every 2 s while a screen that shows it is
        up; tell the screens only when something changed.  Nothing is written here."""
        from ..sync.presence import by_key

        last: dict[str, Any] | None = None
        while not self._presence_stop.wait(self.presence_interval):
            try:
                if self.presence is not None and self._presence_wanted():
                    now = by_key(self.presence.others())
                    if now != last:
                        last = now
                        self.call_from_thread(self._presence_changed, now)
                else:
                    last = None
            except RuntimeError:
                return  # the app has stopped

    def _presence_changed(self, viewers: dict[str, Any]) -> None:
        self.viewers = viewers
        for screen in self.screen_stack:
            hook = getattr(screen, "presence_changed", None)
            if hook is not None:
                hook(viewers)

    def _stop_presence(self) -> None:
        if self.presence is not None:
            self._presence_stop.set()
            self.presence.close()

    async def action_quit(self) -> None:
        self._stop_presence()
        await super().action_quit()

    def on_unmount(self) -> None:
        self._stop_presence()

    def action_my_work(self) -> None:
        self.open_my_work()

    def action_views(self) -> None:
        from .commands import views_picker

        views_picker(self)

    def open_my_work(self) -> None:
        """My open items, most urgent first."""
        if self.my_handle is None:
            who = self.config.me or self.db.unix_user
            self.notify(
                f'no person here is {who!r}: set me = "handle" in the config file',
                severity="warning",
                markup=False,
            )
            return
        from .screens.items import ItemListScreen

        self.push_screen(
            ItemListScreen(
                q.ItemFilter(owner=self.my_handle, open_only=True),
                sort="urgency",
                title=f"my work ({self.my_handle})",
            )
        )
