"""``opstui load FILE.toml``: people, queues, calendars, SLA policies, workflows, processes
and items in one documented format, loaded all-or-nothing in one transaction.

Every problem is reported as ``FILE: section[index] (name): reason`` and nothing is loaded.
Sections are applied in dependency order: people, workflows, queues, calendars,
sla_policies, processes, items.  People and queues that exist already are updated;
workflows, calendars, policies and processes are replaced by name; items are always added.

One module per section; :mod:`.base` has the shared error and cursor, :mod:`.file` reads
the file and runs the sections.  Every write goes through the services; reads of the
named things go through ``store.definitions``.
"""

from __future__ import annotations

from .base import LoadError, LoadReport
from .file import SECTIONS, anchor_of, load_data, load_file, read_toml

__all__ = [
    "SECTIONS",
    "LoadError",
    "LoadReport",
    "anchor_of",
    "load_data",
    "load_file",
    "read_toml",
]
