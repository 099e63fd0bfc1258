"""The weekly review screen (:class:`ReviewScreen`), its tabs and its note dialog."""

from __future__ import annotations

from .actions import Decision, NoteDialog
from .screen import TABS, ReviewScreen

__all__ = ["TABS", "Decision", "NoteDialog", "ReviewScreen"]
