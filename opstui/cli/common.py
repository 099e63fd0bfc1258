"""Shared CLI plumbing: the state object, error handling, tables, JSON."""

from __future__ import annotations

import json
import os
import shutil
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from ..config import Config, ConfigError, apply_env, load_config, resolve_db, with_overrides
from ..domain.clock import Clock, parse_instant
from ..domain.text import one_line
from ..errors import OpsError


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"opstui: {one_line(message)}", err=True)
    sys.exit(code)


class OpsGroup(click.Group):
    """Turns every OpsError into one line on stderr and exit 1, and anything
    unexpected into one line too (set OPSTUI_DEBUG=1 for the traceback)."""

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
    def db_path(self) -> Path:
        return resolve_db(self.db_flag, self.config)

    def clock(self, live: bool = False) -> Clock:
        if self.now is None:
            return Clock()
        return Clock.starting_at(self.now) if live else Clock.frozen(self.now)

    def open(self, *, create: bool = False, live: bool = False) -> Any:
        """Open the database (refuses to create one unless asked)."""
        if self._db is None:
            if self.config_error and not live:
                click.echo(f"opstui: warning: {self.config_error} (using defaults)", err=True)
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


def terminal_width() -> int:
    return shutil.get_terminal_size((100, 24)).columns


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, flex: int = -1) -> str:
    """A plain text table that fits the terminal; column ``flex`` absorbs the squeeze."""
    cells = [[one_line("" if v is None else str(v)) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))
    total = sum(widths) + 2 * (len(widths) - 1)
    avail = terminal_width()
    flex = flex % len(headers)
    if total > avail:
        widths[flex] = max(len(headers[flex]), widths[flex] - (total - avail))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append(
            "  ".join(one_line(v, w).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        )
    return "\n".join(lines)


def age(now: datetime, then: datetime | None) -> str:
    """How long ago, in the same compact form as SLA countdowns (``45s``, ``12m``, ``1h05m``)."""
    if then is None:
        return "-"
    from ..domain.sla import format_remaining

    return format_remaining((now - then).total_seconds())
