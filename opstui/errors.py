"""Errors a user can act on.  Every one carries a one-line message; the CLI prints it and
exits 1, the UI shows it in a notification.  Anything else is a bug."""

from __future__ import annotations


class OpsError(Exception):
    """Base class: ``str(err)`` is the one-line message shown to the user."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class NotFound(OpsError):
    pass


class ValidationError(OpsError):
    pass


class InvalidTransition(OpsError):
    pass


class StoreError(OpsError):
    """The database file cannot be used as asked (corrupt, newer, not ours, no access)."""


class ReadOnlyError(StoreError):
    pass


class Conflict(OpsError):
    """A stale edit: the item changed since the caller read it."""

    def __init__(self, message: str, *, key: str = "", current_version: int = 0):
        super().__init__(message)
        self.key = key
        self.current_version = current_version
