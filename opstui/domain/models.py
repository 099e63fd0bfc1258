"""The tables (SQLModel).  Pure declarations: creating them needs an engine from ``store``.

Words follow DESIGN.md: Person, Queue, Item, Comment, Event, Workflow (states and
transitions), Process, SLA policy, business calendar.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from .types import UTCDateTime

#: Categories a workflow state belongs to.  ``done`` states close an item.
STATE_CATEGORIES = ("new", "active", "waiting", "done")
PRIORITIES = (1, 2, 3, 4)
APPROVAL_STATES = ("none", "pending", "approved", "rejected")


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default: Any) -> Any:
    return Field(default_factory=lambda: default.copy(), sa_column=Column(JSON, nullable=False))


def _fk(
    target: str, nullable: bool = True, ondelete: str | None = None, index: bool = False
) -> Any:
    return Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
        ),
    )


class Meta(SQLModel, table=True):
    """Key/value facts about the database (schema version history, created at...)."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class Person(SQLModel, table=True):
    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint("capacity_hours >= 0", name="person_capacity_nonneg"),
        CheckConstraint("length(handle) > 0", name="person_handle_nonempty"),
    )
    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(unique=True, index=True)
    name: str
    team: str = ""
    #: Unix login if it differs from the handle.
    login: str | None = Field(default=None, unique=True)
    capacity_hours: float = 40.0
    active: bool = True
    email: str = ""


class PersonSkill(SQLModel, table=True):
    __tablename__ = "person_skill"
    person_id: int = Field(
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    )
    skill: str = Field(primary_key=True, index=True)


class AwayPeriod(SQLModel, table=True):
    """Time off (PTO).  ``start`` and ``end`` are inclusive dates."""

    __tablename__ = "away_period"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="away_period_order"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = _fk("person.id", nullable=False, ondelete="CASCADE", index=True)
    start_date: date
    end_date: date
    note: str = ""


class Workflow(SQLModel, table=True):
    __tablename__ = "workflow"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    initial_state: str
    description: str = ""


class WorkflowState(SQLModel, table=True):
    __tablename__ = "workflow_state"
    __table_args__ = (
        UniqueConstraint("workflow_id", "name"),
        # Target of the composite foreign key from item: keeps item.category honest.
        UniqueConstraint("workflow_id", "name", "category"),
        CheckConstraint(
            "category IN ('new','active','waiting','done')", name="workflow_state_category"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    workflow_id: int = _fk("workflow.id", nullable=False, ondelete="CASCADE")
    name: str
    label: str = ""
    category: str = "active"
    position: int = 0


class WorkflowTransition(SQLModel, table=True):
    """An allowed move.  ``from_state`` ``*`` means from any state.

    ``actions`` is a list of action tables (see services.transitions and domain.actions).
    """

    __tablename__ = "workflow_transition"
    __table_args__ = (UniqueConstraint("workflow_id", "from_state", "to_state"),)
    id: int | None = Field(default=None, primary_key=True)
    workflow_id: int = _fk("workflow.id", nullable=False, ondelete="CASCADE")
    from_state: str
    to_state: str
    name: str = ""
    requires_approval: bool = False
    actions: list[dict[str, Any]] = _json([])


class Queue(SQLModel, table=True):
    __tablename__ = "queue"
    __table_args__ = (
        CheckConstraint("wip_limit IS NULL OR wip_limit > 0", name="queue_wip_positive"),
    )
    id: int | None = Field(default=None, primary_key=True)
    #: Short slug used on the command line (``support``).
    slug: str = Field(unique=True, index=True)
    name: str
    #: Item key prefix (``SUP`` gives ``SUP-142``).
    prefix: str = Field(unique=True)
    workflow_id: int = _fk("workflow.id", nullable=False)
    triage_owner_id: int | None = _fk("person.id")
    wip_limit: int | None = None
    next_number: int = 1
    description: str = ""


class Item(SQLModel, table=True):
    __tablename__ = "item"
    __table_args__ = (
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
        # table lookups otherwise cost ~20 ms at 100k.
        Index(
            "ix_item_open_by_queue",
            "queue_id",
            "status",
            "owner_id",
            "next_due_at",
            "category",
            sqlite_where=text("category != 'done'"),
            postgresql_where=text("category != 'done'"),
        ),
        Index(
            "ix_item_open_by_owner",
            "owner_id",
            "estimate_hours",
            "category",
            sqlite_where=text("category != 'done'"),
            postgresql_where=text("category != 'done'"),
        ),
        Index(
            "ix_item_open_due",
            "next_due_at",
            sqlite_where=text("category != 'done'"),
            postgresql_where=text("category != 'done'"),
        ),
        Index(
            "ix_item_open_id",
            "id",
            "queue_id",
            "owner_id",
            "category",
            sqlite_where=text("category != 'done'"),
            postgresql_where=text("category != 'done'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)
    title: str
    body: str = ""
    kind: str = "task"
    priority: int = 3
    queue_id: int = _fk("queue.id", nullable=False, index=True)
    workflow_id: int = _fk("workflow.id", nullable=False)
    status: str
    category: str
    #: The one owner, or NULL: unowned is a state the UI always shows.
    owner_id: int | None = _fk("person.id", index=True)
    requester_id: int | None = _fk("person.id")
    requester: str = ""
    estimate_hours: float | None = None
    created_at: datetime = _ts(nullable=False, index=True)
    updated_at: datetime = _ts(nullable=False)
    first_response_at: datetime | None = _ts()
    resolved_at: datetime | None = _ts()
    #: An explicit due date (set by hand); SLA targets live in the sla_* columns.
    due_at: datetime | None = _ts()
    approval: str = "none"
    parent_id: int | None = _fk("item.id", ondelete="SET NULL")
    version: int = 1
    # --- SLA (computed by services.sla on every write; read by panes without arithmetic) ---
    sla_policy: str | None = None
    sla_fr_due: datetime | None = _ts()
    sla_res_due: datetime | None = _ts()
    #: When the clock was paused (a pause state), else NULL.
    sla_paused_since: datetime | None = _ts()
    #: Last SLA state written to the event log per target ('ok'/'warning'/'breached'/'met').
    sla_fr_state: str | None = None
    sla_res_state: str | None = None
    #: Soonest open SLA due time (or due_at), for the "soonest due" pane.
    next_due_at: datetime | None = _ts()
    #: When each target enters warning (shifted by pauses like the due times).  v3
    sla_fr_warn: datetime | None = _ts()
    sla_res_warn: datetime | None = _ts()
    #: When the resolution clock (re)started: creation, or the last reopen.  v3
    sla_res_start: datetime | None = _ts()
    #: The next instant a warning or breach may need recording (NULL: nothing pending,
    #: paused or closed).  services.sla.record_sla_crossings looks only at rows <= now.  v3
    sla_check_at: datetime | None = _ts()
    #: Extra structured data (checklists from runbooks, follow-up origin...).  Imported
    #: items keep ``data["source"]``: system, key, revision, named fields and source facts.
    data: dict[str, Any] = _json({})
    #: The key the item has in the system it was imported from (``INC0000441``).  v5
    external_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: When the SLA clock of the current policy started: NULL means creation; a transfer
    #: to a queue under another policy sets it to the move.  v5
    sla_start: datetime | None = _ts()


class ItemLink(SQLModel, table=True):
    """``blocks``: ``src`` blocks ``dst``.  ``followup``: ``dst`` was created from ``src``."""

    __tablename__ = "item_link"
    __table_args__ = (
        CheckConstraint("kind IN ('blocks','followup','relates')", name="item_link_kind"),
        CheckConstraint("src_id <> dst_id", name="item_link_not_self"),
    )
    src_id: int = Field(
        sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    )
    dst_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("item.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    kind: str = Field(default="blocks", primary_key=True)


class Comment(SQLModel, table=True):
    __tablename__ = "comment"
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = _fk("item.id", nullable=False, ondelete="CASCADE", index=True)
    author_id: int | None = _fk("person.id")
    unix_user: str
    body: str
    created_at: datetime = _ts(nullable=False)


class WorkLog(SQLModel, table=True):
    """Time spent on an item: what makes estimates better and "remaining" more than a guess.

    ``seconds`` is the time spent; ``at`` is when the work was done (``--at``), which may be
    earlier than ``created_at`` (when it was logged).  v4
    """

    __tablename__ = "worklog"
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = _fk("item.id", nullable=False, ondelete="CASCADE", index=True)
    person_id: int | None = _fk("person.id", index=True)
    unix_user: str
    seconds: int
    note: str = ""
    at: datetime = _ts(nullable=False, index=True)
    created_at: datetime = _ts(nullable=False)
    #: Where it came from when imported (e.g. a Jira worklog id), for idempotent re-import.
    source: str | None = Field(default=None, unique=True)


class Event(SQLModel, table=True):
    """Append-only audit trail and change feed.  ``id`` is the cursor terminals follow."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_item", "item_id", "id"),
        Index("ix_event_ts", "ts"),
        Index("ix_event_field_ts", "field", "ts"),
    )
    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    ts: datetime = _ts(nullable=False)
    unix_user: str
    person_id: int | None = _fk("person.id")
    #: What kind of thing changed: item, person, queue, process, workflow, sla, review, load.
    entity: str = "item"
    entity_id: int | None = None
    item_id: int | None = _fk("item.id", ondelete="SET NULL")
    #: ``created``, a field name (``owner``, ``status``...), ``comment``, ``sla_warning``...
    field: str
    old: str | None = None
    new: str | None = None
    #: The item's version after this change (conflict messages list what came after yours).
    item_version: int | None = None


class Approval(SQLModel, table=True):
    __tablename__ = "approval"
    __table_args__ = (
        CheckConstraint("status IN ('pending','approved','rejected')", name="approval_status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = _fk("item.id", nullable=False, ondelete="CASCADE", index=True)
    to_state: str
    status: str = "pending"
    requested_by: str = ""
    requested_at: datetime = _ts(nullable=False)
    approver_id: int | None = _fk("person.id")
    decided_by: str | None = None
    decided_at: datetime | None = _ts()
    note: str = ""


class Process(SQLModel, table=True):
    """Recurring operations work: a trigger, exactly one owner, a runbook."""

    __tablename__ = "process"
    __table_args__ = (
        CheckConstraint(
            "trigger_kind IS NULL OR trigger_kind IN ('cron','rrule','event')",
            name="process_trigger_kind",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)
    name: str
    owner_id: int | None = _fk("person.id")
    trigger_kind: str | None = None
    #: cron expression, RRULE text, or ``kind:state`` for event triggers.
    trigger: str | None = None
    timezone: str = "UTC"
    queue_id: int | None = _fk("queue.id")
    runbook: str = ""
    skills: list[str] = _json([])
    active: bool = True
    last_run_at: datetime | None = _ts()
    item_title: str = ""
    estimate_hours: float | None = None


class ProcessRun(SQLModel, table=True):
    """One occurrence of a process.  The unique key makes each occurrence happen once."""

    __tablename__ = "process_run"
    id: int | None = Field(default=None, primary_key=True)
    process_id: int = _fk("process.id", nullable=False, ondelete="CASCADE")
    occurrence_key: str = Field(unique=True)
    occurrence_at: datetime = _ts(nullable=False)
    item_id: int | None = _fk("item.id", ondelete="SET NULL")
    created_at: datetime = _ts(nullable=False)
    unix_user: str = ""


class BusinessCalendar(SQLModel, table=True):
    __tablename__ = "business_calendar"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    timezone: str = "UTC"
    #: ``{"mon": "09:00-17:30", ...}``; a day may hold several ranges separated by commas.
    hours: dict[str, str] = _json({})
    holidays: list[str] = _json([])
    #: Optional country code for public holidays through the ``holidays`` package.
    country: str | None = None
    subdivision: str | None = None


class SlaPolicy(SQLModel, table=True):
    __tablename__ = "sla_policy"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    #: Match order: the first matching policy (lowest position) wins.
    position: int = 0
    queue_id: int | None = _fk("queue.id")
    kinds: list[str] = _json([])
    priorities: list[int] = _json([])
    calendar: str = "24x7"
    first_response: str | None = None
    resolution: str | None = None
    warn_at: str = "80%"
    pause_in: list[str] = _json([])


class Review(SQLModel, table=True):
    """A held weekly review: who, when, which week, what was decided."""

    __tablename__ = "review"
    id: int | None = Field(default=None, primary_key=True)
    held_by: str
    person_id: int | None = _fk("person.id")
    held_at: datetime = _ts(nullable=False)
    week_start: datetime = _ts(nullable=False)
    week_end: datetime = _ts(nullable=False)
    decisions: list[dict[str, Any]] = _json([])
