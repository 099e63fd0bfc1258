"""Shared CLI plumbing: the state object, error handling, tables, JSON."""

from __future__ import annotations

import json
import os
import shutil
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from ..config import Config, ConfigError, apply_env, load_config, resolve_db, with_overrides
from ..domain.clock import Clock, parse_instant
from ..domain.text import one_line
from ..errors import OpsError

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"opstui: {one_line(message)}", err=True)
    sys.exit(code)


def invalid_text_argument(args: Sequence[str], commands: Sequence[str] = ()) -> str | None:
    """A one-line error for the first argument that is not valid text (bytes that are
    not UTF-8 arrive as lone surrogates), naming the option it belongs to, or the
    command and the argument's position after it."""
    command, start = "", 0
    for n, arg in enumerate(args):
        if not command and arg in commands:
            command, start = arg, n + 1
            continue
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = arg[exc.start].encode("utf-8", "surrogateescape")
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            if arg.startswith("--") and "=" in arg and exc.start > arg.index("="):
                name, shown = shown.split("=", 1)
            elif n and args[n - 1].startswith("-") and not arg.startswith("-"):
                name = args[n - 1]
            elif command:
                name = f"{command}: argument {n - start + 1}"
            else:
                name = f"argument {n + 1}"
            return (
                f"{name}: {one_line(shown, 40)!r} is not valid UTF-8 text "
                f"(byte 0x{bad.hex()}); nothing was changed"
            )
    return None


class OpsGroup(click.Group):
    """Turns every OpsError into one line on stderr and exit 1, and anything
    unexpected into one line too (set OPSTUI_DEBUG=1 for the traceback)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        problem = invalid_text_argument(args, self.list_commands(ctx))
        if problem:
            fail(problem, code=2)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OpsError as exc:
            fail(str(exc))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            sys.exit(130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        except Exception as exc:
            if os.environ.get("OPSTUI_DEBUG"):
                traceback.print_exc()
            fail(
                f"internal error: {type(exc).__name__}: {exc} (OPSTUI_DEBUG=1 shows the traceback)"
            )


def opstui_group(name: str | None = None, **kwargs: Any) -> Any:
    return click.group(name, cls=OpsGroup, **kwargs)


@dataclass
class AppState:
    db_flag: str | None
    now: datetime | None
    read_only: bool
    config: Config
    config_error: str | None = None
    poll: bool = False
    #: What the dashboard opens on ("dashboard", "review", "wall").
    view: str = "dashboard"
    #: Set in a browser tab started by ``opstui serve``: the name given at login ("" if none).
    web_user: str | None = None
    _db: Any = field(default=None, repr=False)
    _warned: bool = field(default=False, repr=False)
    #: ``services.asof.AsOf`` when ``--now`` is before the latest change: the board as it
    #: stood then, read-only (None: the present).
    as_of: Any = field(default=None, repr=False)
    _rewound: bool = field(default=False, repr=False)

    def rewind(self) -> None:
        """With ``--now`` before the latest change in the database, open the board as it
        stood then (read-only) instead of the present one: every command answers as of
        ``--now``, and writes are refused."""
        if self._rewound or self.now is None or self._db is not None:
            return
        self._rewound = True
        target = self.db_path
        if isinstance(target, Path) and not (target.exists() and target.stat().st_size > 0):
            return
        from ..store.past import changed_after

        if isinstance(target, Path) and changed_after(target, self.now) is False:
            return  # nothing happened since: the present is the board as of then
        from ..services import asof
        from ..store.schema import open_database

        source = open_database(target, create=False, readonly=True, clock=self.clock())
        try:
            if not asof.is_past(source, self.now):
                return
            self.as_of = asof.open_as_of(source, self.now, me=self.config.me)
        finally:
            source.dispose()
        self._db = self.as_of.db
        self.read_only = True
        click.echo(
            f"opstui: AS OF {asof.label(self.now)} · read-only (the board as it stood then, "
            "rebuilt from the event log)",
            err=True,
        )

    @classmethod
    def from_options(
        cls,
        db_path: str | None,
        now: str | None,
        read_only: bool,
        theme: str | None,
        compact: bool | None,
        poll: bool,
    ) -> AppState:
        try:
            config = load_config()
            error = None
        except ConfigError as exc:
            error = str(exc)
            try:  # a broken file should not also cost the user their OPSTUI_* settings
                config = apply_env(Config())
            except ConfigError:
                config = Config()
        config = with_overrides(config, theme=theme, compact=compact)
        when = None
        if now:
            try:
                when = parse_instant(now)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--now") from None
        return cls(
            db_flag=db_path,
            now=when,
            read_only=read_only,
            config=config,
            config_error=error,
            poll=poll,
        )

    @property
    def db_path(self) -> Path | str:
        """The database file, or a server URL (text) for PostgreSQL."""
        return resolve_db(self.db_flag, self.config)

    def clock(self, live: bool = False) -> Clock:
        if self.now is None:
            return Clock()
        return Clock.starting_at(self.now) if live else Clock.frozen(self.now)

    def _warn_config(self) -> None:
        if self.config_error and not self._warned:
            self._warned = True
            click.echo(f"opstui: warning: {self.config_error} (using defaults)", err=True)

    def read(self, fn: Callable[[Any, datetime], T]) -> T:
        """Run ``fn(reader, now)`` in one read snapshot (see store.lite.Reader).

        A current-version SQLite file is read without importing SQLAlchemy (store.lite:
        ~0.15 s of CPU saved per command); anything else, or any driver error on the light
        path, goes through the full store, which upgrades or explains in one line.
        """
        from ..store import lite

        answer = self.read_light(fn)
        if answer is not None:
            return answer[0]
        db = self.open()
        with db.read() as c:
            return fn(lite.CoreReader(c), db.clock.now())

    def read_light(self, fn: Callable[[Any, datetime], T]) -> tuple[T] | None:
        """``(fn(reader, now),)`` on the light path (a store.lite.LiteReader), or None when
        that path does not answer: not a current-version SQLite file, a driver error, or
        ``fn`` raised store.lite.Unsupported.  The caller then uses the full store."""
        import sqlite3

        from ..store import lite

        self.rewind()
        conn = (
            None if self._db is not None else lite.open_lite(self.db_path, readonly=self.read_only)
        )
        if conn is None:
            return None
        self._warn_config()
        try:
            with lite.lite_snapshot(conn) as reader:
                return (fn(reader, self.clock().now()),)
        except (sqlite3.Error, lite.Unsupported):
            return None  # the full store answers, or reports what is wrong in one line

    def close(self) -> None:
        """Close the database this command opened (run when the command's context closes,
        whatever the outcome): its connections close now, as the command ends, instead of
        whenever the interpreter's exit gets to them (see :func:`opstui.cli.console_main`)."""
        if self._db is not None:
            self._db.dispose()

    def open(self, *, create: bool = False, live: bool = False) -> Any:
        """Open the database (refuses to create one unless asked)."""
        self.rewind()
        if self._db is None:
            if not live:
                self._warn_config()
            from ..store.schema import open_database

            unix_user, me = None, self.config.me
            if self.web_user is not None:
                # a browser tab: recorded as the server's Unix user plus the name given
                # at login; that name is a label, never mapped to a person
                from ..web.session import check_name, web_actor

                if self.web_user and (why := check_name(self.web_user)):
                    raise click.BadParameter(why, param_hint="--web-user")
                unix_user, me = web_actor(self.web_user), None
            self._db = open_database(
                self.db_path,
                create=create,
                clock=self.clock(live),
                unix_user=unix_user,
                me=me,
                readonly=self.read_only,
            )
        return self._db


pass_state = click.make_pass_decorator(AppState)


def emit_json(data: Any) -> None:
    # ensure_ascii: control bytes (ESC, C1) from data are escaped, never raw on a terminal
    click.echo(json.dumps(data, indent=2, ensure_ascii=True, default=str))


#: Output width forced with ``--width`` (None: the terminal's, or unlimited off a terminal).
_FORCED_WIDTH: int | None = None
#: "No limit": output to a pipe or a file is never cut to some terminal's width.
UNLIMITED = 1_000_000


def force_width(width: int | None) -> None:
    global _FORCED_WIDTH
    _FORCED_WIDTH = width


def terminal_width() -> int:
    """Columns to fit: ``--width`` if given, else the terminal's when stdout is one,
    else unlimited (a pipe or a file gets whole lines)."""
    if _FORCED_WIDTH is not None:
        return _FORCED_WIDTH
    try:
        if not sys.stdout.isatty():
            return UNLIMITED
    except (AttributeError, ValueError):
        return UNLIMITED
    return shutil.get_terminal_size((100, 24)).columns


def _width_callback(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    force_width(value)
    return value


#: ``--width N``: fit tables to N columns even off a terminal.
width_option = click.option(
    "--width",
    type=click.IntRange(min=20),
    default=None,
    expose_value=False,
    is_eager=True,
    callback=_width_callback,
    help="Fit tables to N columns (default: the terminal's; a pipe or file is never cut).",
)


def _char_cells(ch: str) -> int:
    import unicodedata

    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cell_len(value: str) -> int:
    """Terminal cells ``value`` takes (wide CJK and emoji count two; stdlib only, so the
    light CLI path imports no rendering library)."""
    return len(value) if value.isascii() else sum(_char_cells(c) for c in value)


def _fit(value: str, width: int) -> str:
    """``value`` cut (with an ellipsis) and padded to ``width`` terminal cells."""
    used = cell_len(value)
    if used <= width:
        return value + " " * (width - used)
    out, used = [], 0
    for ch in value:
        w = _char_cells(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "\u2026" + " " * max(0, width - 1 - used)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, flex: int = -1) -> str:
    """A plain text table that fits the output width (see :func:`terminal_width`);
    column ``flex`` absorbs the squeeze.  Widths are terminal cells, not characters."""
    cells = [[one_line("" if v is None else str(v)) for v in row] for row in rows]
    widths = [cell_len(h) for h in headers]
    for row in cells:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], cell_len(v))
    total = sum(widths) + 2 * (len(widths) - 1)
    avail = terminal_width()
    flex = flex % len(headers)
    if total > avail:
        widths[flex] = max(len(headers[flex]), widths[flex] - (total - avail))
    lines = ["  ".join(_fit(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append("  ".join(_fit(v, w) for v, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def age(now: datetime, then: datetime | None) -> str:
    """How long ago, in the same compact form as SLA countdowns (``45s``, ``12m``, ``1h05m``)."""
    if then is None:
        return "-"
    from ..domain.sla import format_remaining

    return format_remaining((now - then).total_seconds())
