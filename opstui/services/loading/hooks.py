"""The ``[[hooks]]`` section: rules that tell other tools about changes (the outbox)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from ...domain import hooks as dh
from ..outbox import HookError, hook_values, put_hook_in
from .base import LoadError, Loading, no_repeats


def load_hooks(ld: Loading, entries: list[dict[str, Any]]) -> None:
    no_repeats(ld, "hooks", entries, "name")
    for i, entry in enumerate(entries):
        where = ld.where("hooks", i, entry)
        if not isinstance(entry, dict):
            raise LoadError(f"{ld.source}: hooks[{i}] must be a table")
        try:
            put_hook_in(ld.ctx, hook_values(entry, where), where)
        except HookError as exc:
            raise LoadError(str(exc)) from None
        ld.report.counts["hooks"] = ld.report.counts.get("hooks", 0) + 1


def holds_secret(data: dict[str, Any]) -> bool:
    """Does a load file carry a hook secret or a URL with credentials in it?"""
    hooks = data.get("hooks")
    if not isinstance(hooks, list):
        return False
    return any(
        isinstance(h, dict)
        and (h.get("secret") or (isinstance(h.get("url"), str) and dh.url_secrets(h["url"])))
        for h in hooks
    )


def check_private(path: Path, data: dict[str, Any]) -> None:
    """Refuse a load file with secrets in it that other users can read."""
    if not holds_secret(data):
        return
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LoadError(
            f"{path.name}: holds a hook secret but other users can read it "
            f"(mode {stat.S_IMODE(mode):o}); run 'chmod 600 {path.name}' and load it again"
        )
