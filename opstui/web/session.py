"""What a browser session is: who it says it is, whether it may write, what it runs.

No web library here: the CLI's child process and the tests use these without aiohttp.
"""

from __future__ import annotations

import getpass
import hmac
import ipaddress
import os
import re
import secrets
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

VIEWS = ("dashboard", "review", "wall")

#: A name given at login (``?as=alice``): a label, not an identity (see the README).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")

#: Shown when a browser user tries to change something on a read-only server.
READ_ONLY_NOTE = (
    "this browser view is read-only: nothing can be changed here "
    "(the server was started without --allow-edit)"
)


def check_name(name: str) -> str | None:
    """Why ``name`` cannot be used as a browser name, or None when it can."""
    if not _NAME.match(name):
        return (
            "the name (?as=) must be 1-32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return None


def server_login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): the uid, as the store does
        return f"uid{os.getuid()}"


def web_actor(name: str, login: str | None = None) -> str:
    """What a browser session's changes are recorded as: the server's Unix user plus the
    name given at login (``ops/web:alice``), or ``ops/web`` without a name."""
    base = f"{login or server_login()}/web"
    return f"{base}:{name}" if name else base


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def new_token() -> str:
    return secrets.token_urlsafe(18)


def token_ok(expected: str | None, given: str | None) -> bool:
    if expected is None:
        return True
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class SessionCommand:
    """The command each browser tab runs: opstui on the same database, in its own process."""

    db_path: Path
    view: str = "dashboard"
    allow_edit: bool = False
    python: str = sys.executable

    def for_user(self, name: str) -> str:
        args = [self.python, "-m", "opstui", "--db", str(self.db_path), "--view", self.view]
        if not self.allow_edit:
            args.append("--read-only")
        args.append(f"--web-user={name}")
        return " ".join(shlex.quote(a) for a in args)
