"""The tables (SQLAlchemy Core).  Pure declarations: creating them needs an engine from
``store``.

Words follow DESIGN.md: Person, Queue, Item, Comment, Event, Workflow (states and
transitions), Process, SLA policy, business calendar.

Every table is reached as ``models.<Name>.__table__`` (a Core :class:`~sqlalchemy.Table` in
:data:`metadata`).  They used to be SQLModel classes, but nothing ever built ORM objects
from them, and importing SQLModel (pydantic, the ORM) cost ~0.4 s of every command's start;
the DDL is the same column for column (types, nullability, defaults, keys, indexes).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from .types import UTCDateTime

#: Categories a workflow state belongs to.  ``done`` states close an item.
STATE_CATEGORIES = ("new", "active", "waiting", "done")
PRIORITIES = (1, 2, 3, 4)
APPROVAL_STATES = ("none", "pending", "approved", "rejected")

#: Every opstui table.
metadata = MetaData()


class Declared:
    """A table's name in code: ``models.Item.__table__`` is the ``item`` table."""

    __table__: Table


def _id() -> Column[Any]:
    return Column("id", Integer, primary_key=True)


def _str(
    name: str, default: str | None = None, *, nullable: bool = False, **kw: Any
) -> Column[Any]:
    """A text column; NOT NULL unless ``nullable`` (a ``str | None`` field)."""
    return Column(name, String(), nullable=nullable, default=default, **kw)


def _ts(name: str, nullable: bool = True, index: bool = False) -> Column[Any]:
    return Column(name, UTCDateTime(), nullable=nullable, index=index)


def _json(name: str) -> Column[Any]:
    return Column(name, JSON, nullable=False)


def _fk(
    name: str, target: str, nullable: bool = True, ondelete: str | None = None, index: bool = False
) -> Column[Any]:
    return Column(
        name, Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
    )


class Meta(Declared):
    """Key/value facts about the database (schema version history, created at...)."""

    __table__ = Table(
        "meta",
        metadata,
        _str("key", primary_key=True),
        _str("value"),
    )


class Person(Declared):
    __table__ = Table(
        "person",
        metadata,
        _id(),
        _str("handle", unique=True, index=True),
        _str("name"),
        _str("team", ""),
        #: Unix login if it differs from the handle.
        _str("login", nullable=True, unique=True),
        Column("capacity_hours", Float, nullable=False, default=40.0),
        Column("active", Boolean, nullable=False, default=True),
        _str("email", ""),
        CheckConstraint("capacity_hours >= 0", name="person_capacity_nonneg"),
        CheckConstraint("length(handle) > 0", name="person_handle_nonempty"),
    )


class PersonSkill(Declared):
    __table__ = Table(
        "person_skill",
        metadata,
        Column("person_id", Integer, ForeignKey("person.id", ondelete="CASCADE"), primary_key=True),
        _str("skill", primary_key=True, index=True),
    )


class AwayPeriod(Declared):
    """Time off (PTO).  ``start`` and ``end`` are inclusive dates."""

    __table__ = Table(
        "away_period",
        metadata,
        _id(),
        _fk("person_id", "person.id", nullable=False, ondelete="CASCADE", index=True),
        Column("start_date", Date, nullable=False),
        Column("end_date", Date, nullable=False),
        _str("note", ""),
        CheckConstraint("end_date >= start_date", name="away_period_order"),
    )


class Workflow(Declared):
    __table__ = Table(
        "workflow",
        metadata,
        _id(),
        _str("name", unique=True),
        _str("initial_state"),
        _str("description", ""),
    )


class WorkflowState(Declared):
    __table__ = Table(
        "workflow_state",
        metadata,
        _id(),
        _fk("workflow_id", "workflow.id", nullable=False, ondelete="CASCADE"),
        _str("name"),
        _str("label", ""),
        _str("category", "active"),
        Column("position", Integer, nullable=False, default=0),
        UniqueConstraint("workflow_id", "name"),
        # Target of the composite foreign key from item: keeps item.category honest.
        UniqueConstraint("workflow_id", "name", "category"),
        CheckConstraint(
            "category IN ('new','active','waiting','done')", name="workflow_state_category"
        ),
    )


class WorkflowTransition(Declared):
    """An allowed move.  ``from_state`` ``*`` means from any state.

    ``actions`` is a list of action tables (see services.transitions and domain.actions).
    """

    __table__ = Table(
        "workflow_transition",
        metadata,
        _id(),
        _fk("workflow_id", "workflow.id", nullable=False, ondelete="CASCADE"),
        _str("from_state"),
        _str("to_state"),
        _str("name", ""),
        Column("requires_approval", Boolean, nullable=False, default=False),
        _json("actions"),
        UniqueConstraint("workflow_id", "from_state", "to_state"),
    )


class Queue(Declared):
    __table__ = Table(
        "queue",
        metadata,
        _id(),
        #: Short slug used on the command line (``support``).
        _str("slug", unique=True, index=True),
        _str("name"),
        #: Item key prefix (``SUP`` gives ``SUP-142``).
        _str("prefix", unique=True),
        _fk("workflow_id", "workflow.id", nullable=False),
        _fk("triage_owner_id", "person.id"),
        Column("wip_limit", Integer, nullable=True),
        Column("next_number", Integer, nullable=False, default=1),
        _str("description", ""),
        CheckConstraint("wip_limit IS NULL OR wip_limit > 0", name="queue_wip_positive"),
    )


class Item(Declared):
    __table__ = Table(
        "item",
        metadata,
        _id(),
        _str("key", unique=True, index=True),
        _str("title"),
        _str("body", ""),
        _str("kind", "task"),
        Column("priority", Integer, nullable=False, default=3),
        _fk("queue_id", "queue.id", nullable=False, index=True),
        _fk("workflow_id", "workflow.id", nullable=False),
        _str("status"),
        _str("category"),
        #: The one owner, or NULL: unowned is a state the UI always shows.
        _fk("owner_id", "person.id", index=True),
        _fk("requester_id", "person.id"),
        _str("requester", ""),
        Column("estimate_hours", Float, nullable=True),
        _ts("created_at", nullable=False, index=True),
        _ts("updated_at", nullable=False),
        _ts("first_response_at"),
        _ts("resolved_at"),
        #: An explicit due date (set by hand); SLA targets live in the sla_* columns.
        _ts("due_at"),
        _str("approval", "none"),
        _fk("parent_id", "item.id", ondelete="SET NULL"),
        Column("version", Integer, nullable=False, default=1),
        # --- SLA (computed by services.sla on every write; read by panes without arithmetic)
        _str("sla_policy", nullable=True),
        _ts("sla_fr_due"),
        _ts("sla_res_due"),
        #: When the clock was paused (a pause state), else NULL.
        _ts("sla_paused_since"),
        #: Last SLA state written to the event log per target ('ok'/'warning'/'breached'/'met').
        _str("sla_fr_state", nullable=True),
        _str("sla_res_state", nullable=True),
        #: Soonest open SLA due time (or due_at), for the "soonest due" pane.
        _ts("next_due_at"),
        #: When each target enters warning (shifted by pauses like the due times).  v3
        _ts("sla_fr_warn"),
        _ts("sla_res_warn"),
        #: When the resolution clock (re)started: creation, or the last reopen.  v3
        _ts("sla_res_start"),
        #: The next instant a warning or breach may need recording (NULL: nothing pending,
        #: paused or closed).  services.sla.record_sla_crossings looks only at rows <= now.  v3
        _ts("sla_check_at"),
        #: Extra structured data (checklists from runbooks, follow-up origin...).  Imported
        #: items keep ``data["source"]``: system, key, revision, named fields and source facts.
        _json("data"),
        #: The key the item has in the system it was imported from (``INC0000441``).  v5
        Column("external_key", Text, nullable=True),
        #: When the SLA clock of the current policy started: NULL means creation; a transfer
        #: to a queue under another policy sets it to the move.  v5
        _ts("sla_start"),
        ForeignKeyConstraint(
            ["workflow_id", "status", "category"],
            ["workflow_state.workflow_id", "workflow_state.name", "workflow_state.category"],
            name="item_valid_state",
        ),
        CheckConstraint("priority BETWEEN 1 AND 4", name="item_priority_range"),
        CheckConstraint("estimate_hours IS NULL OR estimate_hours >= 0", name="item_estimate"),
        CheckConstraint(
            "approval IN ('none','pending','approved','rejected')", name="item_approval_state"
        ),
        CheckConstraint("length(title) > 0", name="item_title_nonempty"),
        Index("ix_item_open_owner", "category", "owner_id", "estimate_hours"),
        Index("ix_item_open_queue", "category", "queue_id"),
        Index("ix_item_due", "category", "next_due_at"),
        # Covers the queues pane's "breaching" count (store/panes.queue_stats): without it
        # every overdue open row was looked up in the table for queue_id and
        # sla_paused_since (23 -> 14 ms CPU at 100k items, benchmarks/RESULTS.md).
        Index("ix_item_due_queue", "category", "next_due_at", "sla_paused_since", "queue_id"),
        Index("ix_item_updated", "updated_at"),
        Index("ix_item_external_key", "external_key", unique=True),
        Index("ix_item_sla_check", "sla_check_at"),
        # Partial indexes over open items only (a few % of a years-old file): the panes'
        # GROUP BYs and "soonest due" read a few thousand entries instead of scanning 100k
        # rows (measured in benchmarks/RESULTS.md: 160-220 ms -> 2-3 ms at 100k items).
        # Queries must say ``category != 'done'`` (as ItemFilter.open_only does).  Each ends
        # in ``category`` so that SQLite can answer from the index alone (covering): the
        # table lookups otherwise cost ~20 ms at 100k.  The same WHERE on PostgreSQL is
        # added by add_postgresql_options() (below) when a PostgreSQL engine is made.
        Index(
            "ix_item_open_by_queue",
            "queue_id",
            "status",
            "owner_id",
            "next_due_at",
            "category",
            sqlite_where=text("category != 'done'"),
        ),
        Index(
            "ix_item_open_by_owner",
            "owner_id",
            "estimate_hours",
            "category",
            sqlite_where=text("category != 'done'"),
        ),
        Index(
            "ix_item_open_due",
            "next_due_at",
            sqlite_where=text("category != 'done'"),
        ),
        Index(
            "ix_item_open_id",
            "id",
            "queue_id",
            "owner_id",
            "category",
            sqlite_where=text("category != 'done'"),
        ),
    )


class ItemLink(Declared):
    """``blocks``: ``src`` blocks ``dst``.  ``followup``: ``dst`` was created from ``src``."""

    __table__ = Table(
        "item_link",
        metadata,
        Column("src_id", Integer, ForeignKey("item.id", ondelete="CASCADE"), primary_key=True),
        Column(
            "dst_id",
            Integer,
            ForeignKey("item.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        ),
        _str("kind", "blocks", primary_key=True),
        CheckConstraint("kind IN ('blocks','followup','relates')", name="item_link_kind"),
        CheckConstraint("src_id <> dst_id", name="item_link_not_self"),
    )


class Comment(Declared):
    __table__ = Table(
        "comment",
        metadata,
        _id(),
        _fk("item_id", "item.id", nullable=False, ondelete="CASCADE", index=True),
        _fk("author_id", "person.id"),
        _str("unix_user"),
        _str("body"),
        _ts("created_at", nullable=False),
    )


class WorkLog(Declared):
    """Time spent on an item: what makes estimates better and "remaining" more than a guess.

    ``seconds`` is the time spent; ``at`` is when the work was done (``--at``), which may be
    earlier than ``created_at`` (when it was logged).  v4
    """

    __table__ = Table(
        "worklog",
        metadata,
        _id(),
        _fk("item_id", "item.id", nullable=False, ondelete="CASCADE", index=True),
        _fk("person_id", "person.id", index=True),
        _str("unix_user"),
        Column("seconds", Integer, nullable=False),
        _str("note", ""),
        _ts("at", nullable=False, index=True),
        _ts("created_at", nullable=False),
        #: Where it came from when imported (e.g. a Jira worklog id), for idempotent re-import.
        _str("source", nullable=True, unique=True),
    )


class Event(Declared):
    """Append-only audit trail and change feed.  ``id`` is the cursor terminals follow."""

    __table__ = Table(
        "event",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        _ts("ts", nullable=False),
        _str("unix_user"),
        _fk("person_id", "person.id"),
        #: What kind of thing changed: item, person, queue, process, workflow, sla, review, load.
        _str("entity", "item"),
        Column("entity_id", Integer, nullable=True),
        _fk("item_id", "item.id", ondelete="SET NULL"),
        #: ``created``, a field name (``owner``, ``status``...), ``comment``, ``sla_warning``...
        _str("field"),
        _str("old", nullable=True),
        _str("new", nullable=True),
        #: The item's version after this change (conflict messages list what came after yours).
        Column("item_version", Integer, nullable=True),
        Index("ix_event_item", "item_id", "id"),
        Index("ix_event_ts", "ts"),
        Index("ix_event_field_ts", "field", "ts"),
    )


class Approval(Declared):
    __table__ = Table(
        "approval",
        metadata,
        _id(),
        _fk("item_id", "item.id", nullable=False, ondelete="CASCADE", index=True),
        _str("to_state"),
        _str("status", "pending"),
        _str("requested_by", ""),
        _ts("requested_at", nullable=False),
        _fk("approver_id", "person.id"),
        _str("decided_by", nullable=True),
        _ts("decided_at"),
        _str("note", ""),
        CheckConstraint("status IN ('pending','approved','rejected')", name="approval_status"),
    )


class Process(Declared):
    """Recurring operations work: a trigger, exactly one owner, a runbook."""

    __table__ = Table(
        "process",
        metadata,
        _id(),
        _str("key", unique=True, index=True),
        _str("name"),
        _fk("owner_id", "person.id"),
        _str("trigger_kind", nullable=True),
        #: cron expression, RRULE text, or ``kind:state`` for event triggers.
        _str("trigger", nullable=True),
        _str("timezone", "UTC"),
        _fk("queue_id", "queue.id"),
        _str("runbook", ""),
        _json("skills"),
        Column("active", Boolean, nullable=False, default=True),
        _ts("last_run_at"),
        _str("item_title", ""),
        Column("estimate_hours", Float, nullable=True),
        #: latest | all | skip: how missed occurrences are created (``workflow.CATCH_UP``).
        _str("catch_up", "latest", server_default="latest"),
        CheckConstraint(
            "trigger_kind IS NULL OR trigger_kind IN ('cron','rrule','event')",
            name="process_trigger_kind",
        ),
    )


class ProcessRun(Declared):
    """One occurrence of a process.  The unique key makes each occurrence happen once."""

    __table__ = Table(
        "process_run",
        metadata,
        _id(),
        _fk("process_id", "process.id", nullable=False, ondelete="CASCADE"),
        _str("occurrence_key", unique=True),
        _ts("occurrence_at", nullable=False),
        _fk("item_id", "item.id", ondelete="SET NULL"),
        _ts("created_at", nullable=False),
        _str("unix_user", ""),
    )


class BusinessCalendar(Declared):
    __table__ = Table(
        "business_calendar",
        metadata,
        _id(),
        _str("name", unique=True),
        _str("timezone", "UTC"),
        #: ``{"mon": "09:00-17:30", ...}``; a day may hold several ranges separated by commas.
        _json("hours"),
        _json("holidays"),
        #: Optional country code for public holidays through the ``holidays`` package.
        _str("country", nullable=True),
        _str("subdivision", nullable=True),
    )


class SlaPolicy(Declared):
    __table__ = Table(
        "sla_policy",
        metadata,
        _id(),
        _str("name", unique=True),
        #: Match order: the first matching policy (lowest position) wins.
        Column("position", Integer, nullable=False, default=0),
        _fk("queue_id", "queue.id"),
        _json("kinds"),
        _json("priorities"),
        _str("calendar", "24x7"),
        _str("first_response", nullable=True),
        _str("resolution", nullable=True),
        _str("warn_at", "80%"),
        _json("pause_in"),
    )


class Review(Declared):
    """A held weekly review: who, when, which week, what was decided."""

    __table__ = Table(
        "review",
        metadata,
        _id(),
        _str("held_by"),
        _fk("person_id", "person.id"),
        _ts("held_at", nullable=False),
        _ts("week_start", nullable=False),
        _ts("week_end", nullable=False),
        _json("decisions"),
    )


class Hook(Declared):
    """A rule that tells another tool about changes (issue: connected triggers).

    Exactly one of ``url`` (an HTTP POST) or ``command`` (an argv list, the JSON on stdin)
    is set.  ``secret`` signs HTTP bodies (HMAC-SHA256); it is never shown.
    """

    __table__ = Table(
        "hook",
        metadata,
        _id(),
        _str("name", unique=True),
        #: transition, assigned, sla.warning, sla.breached, created, process.due, drifting
        _str("on"),
        _str("queue", nullable=True),
        _str("state", nullable=True),
        Column("priority", Integer, nullable=True),
        _str("url", nullable=True),
        Column("command", JSON, nullable=True),
        _str("secret", nullable=True),
        Column("timeout", Float, nullable=False, default=10.0),
        Column("max_attempts", Integer, nullable=False, default=8),
        Column("active", Boolean, nullable=False, default=True),
        _ts("created_at"),
    )


class Delivery(Declared):
    """One message in the outbox: written in the change's own transaction, sent at least
    once by the deliverer holding its lease.  ``delivery_id`` is stable across retries."""

    __table__ = Table(
        "outbox",
        metadata,
        _id(),
        _str("delivery_id", unique=True),
        _fk("hook_id", "hook.id", ondelete="SET NULL"),
        _str("hook"),
        _str("event"),
        _fk("item_id", "item.id", ondelete="SET NULL"),
        Column("event_id", Integer, nullable=True),
        _str("payload"),
        #: pending, delivered, dead
        _str("status", "pending"),
        Column("attempts", Integer, nullable=False, default=0),
        _ts("created_at", nullable=False),
        _ts("next_at", nullable=False),
        _ts("failing_since"),
        _ts("delivered_at"),
        _str("last_error", nullable=True),
        _str("lease_owner", nullable=True),
        _ts("lease_until"),
        Index("ix_outbox_due", "status", "next_at"),
    )


class Lease(Declared):
    """A named lease: who holds a role (the outbox deliverer) and until when."""

    __table__ = Table(
        "lease",
        metadata,
        Column("name", String(), primary_key=True),
        _str("owner"),
        _ts("until", nullable=False),
    )


def add_postgresql_options() -> None:
    """Give the partial indexes their ``postgresql_where`` (the same condition as their
    ``sqlite_where``).  Called when a PostgreSQL engine is made (store.dialect): naming a
    ``postgresql_*`` option in the table definitions would make every process import
    SQLAlchemy's PostgreSQL dialect, ~15% of a SQLite CLI command's start-up (issue 17).
    Idempotent."""
    for table in metadata.tables.values():
        for idx in table.indexes:
            where = idx.dialect_options["sqlite"]["where"]
            if where is not None and idx.dialect_options["postgresql"]["where"] is None:
                idx.dialect_kwargs["postgresql_where"] = where
