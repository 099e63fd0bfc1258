"""The SQL text of the SLA reads shared by the full store and the CLI's light read path
(:mod:`.lite`): one definition each, no SQLAlchemy import."""

from __future__ import annotations

from datetime import UTC, datetime

#: SLA policies in match order (rows for ``services.sla.parse.rules_from_rows``).
POLICY_SQL = (
    "SELECT id, name, position, queue_id, kinds, priorities, calendar, first_response,"
    " resolution, warn_at, pause_in FROM sla_policy ORDER BY position, id"
)
#: Business calendars (rows for ``services.sla.parse.rules_from_rows``).
CALENDAR_SQL = "SELECT name, timezone, hours, holidays, country, subdivision FROM business_calendar"


def sqlite_instant(value: datetime) -> str:
    """An instant as SQLite stores ``domain.types.UTCDateTime`` (naive UTC text, the format
    of SQLAlchemy's SQLite DATETIME), so text comparison in SQL is time order."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
