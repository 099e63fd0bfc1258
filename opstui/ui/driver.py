"""The terminal driver: Textual's Linux driver, made to exit when its terminal goes away.

Textual's input thread loops on ``select`` + ``os.read``; when the terminal is gone without
a hang-up signal reaching us (an SSH session dropped under ``nohup``, a tmux server killed
while SIGHUP is ignored) the terminal reads as end of input forever and the loop spins at
100% of a core.  Writes to the gone terminal fail with EIO, which kills Textual's writer
thread and leaves the app blocked on a full output queue.

:class:`OpsDriver` replaces the input loop and the output file:

- end of input (``os.read`` returning ``b''``), an error reading the terminal (EIO), an error
  writing to it, and SIGHUP all mean *the terminal is gone*: the app is asked to exit, and
  output from then on is discarded instead of raising;
- a watchdog makes sure the process is gone within :data:`HARD_EXIT_AFTER` seconds even if
  something keeps the graceful exit from finishing (database writes are transactions, so a
  hard exit loses nothing committed);
- the input thread sleeps in ``select`` until there is input (or a wake-up from the app)
  instead of waking ten times a second: an idle dashboard costs nothing here.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import threading
from codecs import getincrementaldecoder
from typing import IO, Any

from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

#: Seconds after the terminal went away by which the process is gone, however stuck.
HARD_EXIT_AFTER = 1.5
#: Exit status when the terminal went away (as a shell does on SIGHUP: 128 + 1).
TERMINAL_GONE_STATUS = 129
#: How often to look at the parser while an escape sequence may be incomplete (Textual's own
#: input loop uses this period all the time).
_PARSER_TICK = 0.1


class _WakingEvent(threading.Event):
    """The driver's ``exit_event``: setting it also wakes the input thread's ``select``."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        try:
            os.write(self._wake_fd, b"x")
        except OSError:  # pipe full (already awake) or closed at exit
            pass


class _TerminalFile:
    """The driver's output file: a write to a terminal that is gone reports it once and is
    dropped, so Textual's writer thread never dies and never blocks the app."""

    def __init__(self, file: IO[str], on_gone: Any) -> None:
        self._file = file
        self._on_gone = on_gone
        self.gone = False

    def write(self, text: str) -> int:
        if self.gone:
            return len(text)
        try:
            return self._file.write(text)
        except (OSError, ValueError):  # EIO / EPIPE, or the stream closed
            self._lost()
            return len(text)

    def flush(self) -> None:
        if self.gone:
            return
        try:
            self._file.flush()
        except (OSError, ValueError):
            self._lost()

    def _lost(self) -> None:
        self.gone = True
        self._on_gone("output to the terminal failed")

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return self._file.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class OpsDriver(LinuxDriver):
    """Textual's Linux driver that exits when its terminal goes away (see module docs)."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.exit_event = _WakingEvent(self._wake_w)
        self._file = _TerminalFile(self._file, self.terminal_gone)  # type: ignore[assignment]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gone = threading.Event()
        #: Why the terminal was given up (for tests and logs), or None.
        self.gone_reason: str | None = None

    # --- start / stop --------------------------------------------------------------------

    def start_application_mode(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            # A hang-up means the terminal is gone, even when it was ignored for us (nohup,
            # ``trap '' HUP``): a dashboard without a terminal has nothing left to do.
            self._loop.add_signal_handler(signal.SIGHUP, self.terminal_gone, "hang-up signal")
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
        super().start_application_mode()

    def close(self) -> None:
        super().close()
        self.exit_event._wake_fd = -1  # type: ignore[attr-defined]  # never write to a reused fd
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.remove_signal_handler(signal.SIGHUP)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    # --- the terminal went away ---------------------------------------------------------

    def terminal_gone(self, reason: str) -> None:
        """Exit the app (once), from any thread; a watchdog ends the process if that stalls."""
        if self._gone.is_set():
            return
        self._gone.set()
        self.gone_reason = reason
        if hasattr(self._app, "terminal_gone"):
            self._app.terminal_gone = reason
        self._file.gone = True  # type: ignore[attr-defined]  # nothing more to draw
        threading.Thread(
            target=_hard_exit_later, name="opstui-orphan-watchdog", daemon=True
        ).start()
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._app.exit, None, TERMINAL_GONE_STATUS)
        except RuntimeError:  # the loop closed meanwhile: the app is exiting anyway
            pass

    # --- input ---------------------------------------------------------------------------

    def run_input_thread(self) -> None:
        """Textual's input loop, but sleeping until input arrives, and ending (with the app)
        on end of input or a read error instead of spinning."""
        selector = selectors.DefaultSelector()
        fileno = self.fileno
        selector.register(fileno, selectors.EVENT_READ, "tty")
        selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def timeout() -> float | None:
            # Only an incomplete escape sequence needs the parser's clock (a lone ESC becomes
            # the escape key after a pause); otherwise sleep until something happens.
            pending = getattr(parser, "_timeout_time", 0)
            return None if pending is None else _PARSER_TICK

        def read_tty(final: bool = False) -> bool:
            """Feed what the terminal has; False when it is gone."""
            try:
                data = os.read(fileno, 1024 * 4)
            except BlockingIOError:
                return True
            except OSError as exc:  # EIO: the terminal was closed under us
                self.terminal_gone(f"reading the terminal failed ({exc.strerror or exc})")
                return False
            if not data:
                self.terminal_gone("end of input")
                return False
            for event in parser.feed(decode(data, final=final)):
                self.process_message(event)
            return True

        try:
            alive = True
            while alive and not self.exit_event.is_set():
                for key, mask in selector.select(timeout()):
                    if not mask & selectors.EVENT_READ:
                        continue
                    if key.data == "wake":
                        _drain(self._wake_r)
                    elif not read_tty():
                        alive = False
                        break
                for event in parser.tick():
                    self.process_message(event)
            if alive:
                # what was typed just before the exit request, as Textual does
                for key, mask in selector.select(_PARSER_TICK):
                    if key.data == "tty" and mask & selectors.EVENT_READ:
                        read_tty(final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except Exception:  # an incomplete sequence at the very end
                pass


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except OSError:
        pass


def _hard_exit_later() -> None:
    """The graceful exit normally finishes in well under a second; if it has not after
    :data:`HARD_EXIT_AFTER` seconds (a stuck worker, a blocked write), end the process.
    Committed transactions are on disk; an open one is rolled back by SQLite."""
    threading.Event().wait(HARD_EXIT_AFTER)
    os._exit(TERMINAL_GONE_STATUS)
