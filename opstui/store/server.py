"""Facts about a store on a PostgreSQL server, for ``opstui doctor`` (read-only).

Gathers; never judges (``services.doctor`` says what is fine and what to fix) and never
writes: the listener check sends one notification on a private channel, nothing else.
"""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass, field

from ..domain import models
from . import dialect

#: Table rights every terminal needs.
TABLE_RIGHTS = ("SELECT", "INSERT", "UPDATE", "DELETE")


@dataclass
class ServerFacts:
    name: str
    server_version: str = ""
    server_version_num: int = 0
    error: str | None = None
    schema_version: int | None = None
    schema_error: str | None = None
    missing_indexes: list[str] = field(default_factory=list)
    announce_trigger: bool = False
    #: table -> rights the role lacks on it
    missing_rights: dict[str, list[str]] = field(default_factory=dict)
    sequences_without_usage: list[str] = field(default_factory=list)
    can_create_in_schema: bool = False
    listener_ms: float | None = None
    listener_error: str | None = None
    round_trip_ms: float | None = None
    size_mb: float | None = None


def server_facts(url: str, *, samples: int = 20) -> ServerFacts:
    import psycopg

    facts = ServerFacts(name=dialect.display_name(url))
    dsn = dialect.libpq_url(url)
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=dialect.CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        mapped = dialect.translate_pg_error(exc, facts.name)
        facts.error = str(mapped) if mapped else str(exc).strip().splitlines()[0]
        return facts
    with conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int,"
            " pg_database_size(current_database())"
        ).fetchone()
        assert row is not None
        facts.server_version, facts.server_version_num = str(row[0]), int(row[1])
        facts.size_mb = int(row[2]) / 1e6
        times = []
        for _ in range(samples):
            t0 = time.perf_counter()
            conn.execute("SELECT 1")
            times.append((time.perf_counter() - t0) * 1000)
        facts.round_trip_ms = statistics.median(times)
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
        _schema_facts(conn, tables, facts)
        if "meta" in tables:
            _rights(conn, tables, facts)
        facts.can_create_in_schema = bool(
            conn.execute("SELECT has_schema_privilege(current_schema(), 'CREATE')").fetchone()[0]
        )
        _listener(conn, dsn, facts)
    return facts


def _schema_facts(conn: object, tables: set[str], facts: ServerFacts) -> None:
    if not tables:
        facts.schema_error = f"{facts.name} has no opstui schema yet"
        return
    if "meta" not in tables:
        facts.schema_error = f"{facts.name} is not an opstui database (it holds other tables)"
        return
    try:
        rows = dict(
            conn.execute(  # type: ignore[attr-defined]
                "SELECT key, value FROM meta WHERE key IN ('application_id', 'schema_version')"
            ).fetchall()
        )
    except Exception as exc:
        facts.schema_error = f"cannot read the meta table: {str(exc).splitlines()[0]}"
        return
    try:
        facts.schema_version = int(rows.get("schema_version", "0"))
    except ValueError:
        facts.schema_error = "the schema version in meta is not a number"
        return
    have = {
        r[0]
        for r in conn.execute(  # type: ignore[attr-defined]
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        )
    }
    facts.missing_indexes = sorted(
        str(i.name) for t in models.metadata.sorted_tables for i in t.indexes if i.name not in have
    )
    facts.announce_trigger = bool(
        conn.execute(  # type: ignore[attr-defined]
            "SELECT 1 FROM pg_trigger WHERE tgname = 'opstui_announce' AND NOT tgisinternal"
        ).fetchone()
    )


def _rights(conn: object, tables: set[str], facts: ServerFacts) -> None:
    for table in models.metadata.sorted_tables:
        if table.name not in tables:
            continue
        lacking = [
            right
            for right in TABLE_RIGHTS
            if not conn.execute(  # type: ignore[attr-defined]
                "SELECT has_table_privilege(%s, %s)", (table.name, right)
            ).fetchone()[0]
        ]
        if lacking:
            facts.missing_rights[table.name] = lacking
    for (seq,) in conn.execute(  # type: ignore[attr-defined]
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
    ).fetchall():
        if not conn.execute(  # type: ignore[attr-defined]
            "SELECT has_sequence_privilege(%s, 'USAGE')", (seq,)
        ).fetchone()[0]:
            facts.sequences_without_usage.append(str(seq))


def _listener(conn: object, dsn: str, facts: ServerFacts) -> None:
    """LISTEN on a second session, notify from the first, time the delivery."""
    import psycopg

    channel = f"opstui_doctor_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(
            dsn, autocommit=True, connect_timeout=dialect.CONNECT_TIMEOUT_S
        ) as listen:
            listen.execute(f"LISTEN {channel}")
            t0 = time.perf_counter()
            conn.execute("SELECT pg_notify(%s, 'doctor')", (channel,))  # type: ignore[attr-defined]
            got = list(listen.notifies(timeout=5, stop_after=1))
            if got:
                facts.listener_ms = (time.perf_counter() - t0) * 1000
            else:
                facts.listener_error = "no notification arrived within 5 s"
    except psycopg.Error as exc:
        facts.listener_error = str(exc).strip().splitlines()[0]
