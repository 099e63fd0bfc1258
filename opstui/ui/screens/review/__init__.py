"""The weekly review screen (:class:`ReviewScreen`), its tabs and its note dialog."""

from __future__ import annotations

from .screen import TABS, Decision, NoteDialog, ReviewScreen

__all__ = ["TABS", "Decision", "NoteDialog", "ReviewScreen"]
