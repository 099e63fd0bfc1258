"""Change detection: turns "the file changed" into "these events happened".

``ChangeWatcher`` (watcher.py) finds new events, ``EventCursor`` (cursor.py) makes sure each is
applied once (own writes and the watcher share it), ``notices_for`` (notices.py) picks the
events a person should be told about.  Nothing here imports Textual.
"""

from .cursor import EventCursor
from .notices import Notice, Viewer, notices_for
from .watcher import ChangeWatcher, WatchSettings

__all__ = ["ChangeWatcher", "EventCursor", "Notice", "Viewer", "WatchSettings", "notices_for"]
