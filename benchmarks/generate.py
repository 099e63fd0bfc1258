"""Generate a large opstui database fast: N items with a realistic event history.

People, workflows, queues, SLA policies and processes come from the bundled sample shop
(through the normal loader); the items and their events are then written with bulk
SQLAlchemy Core inserts in one transaction (not the per-item service path, which would take
minutes at 100k).  The history follows each queue's real workflow transitions, so every
item's ``version`` agrees with its events.

    python -m benchmarks.generate --items 100000 /tmp/opstui-100k.db
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT  # noqa: F401  (puts the repo on sys.path)

#: "Now" for a generated database: histories end here (the real time of generation, so a
#: dashboard opened on it shows live countdowns).
ANCHOR = datetime.now(UTC).replace(second=0, microsecond=0)
#: Years of history: items are created over this span, newest densest.
SPAN_DAYS = 2 * 365

PRIORITY_WEIGHTS = [(1, 5), (2, 20), (3, 50), (4, 25)]
QUEUE_WEIGHTS = {
    "support": 45,
    "sales": 15,
    "billing": 12,
    "onboarding": 8,
    "projects": 12,
    "qa": 8,
}
KINDS = {
    "support": ["incident", "question", "bug", "access"],
    "sales": ["lead", "renewal"],
    "billing": ["invoice_dispute", "refund", "invoice"],
    "onboarding": ["onboarding", "access"],
    "projects": ["project", "change", "task"],
    "qa": ["review", "task"],
}
WORDS = (
    "printer vpn laptop invoice renewal mailbox firewall backup restore password license "
    "server migration onboarding offboarding wifi phone quote contract dns certificate "
    "printer-queue sharepoint teams outlook camera badge monitor docking station upgrade"
).split()
VERBS = "fix check set-up replace renew review investigate order configure reset move".split()


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _sql_value(value: Any) -> Any:
    """What SQLAlchemy's SQLite dialect stores for these Python values."""
    if isinstance(value, datetime):
        return (
            value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        )
    if isinstance(value, dict):
        import json

        return json.dumps(value)
    return value


def _bulk_insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """executemany on the DBAPI cursor inside the open transaction (Core's per-row type
    processing costs ~3x more at 500k rows); values are stored exactly as Core stores them."""
    if not rows:
        return
    cols = [c.name for c in table.columns if c.name in rows[0]]
    sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.exec_driver_sql(sql, [tuple(_sql_value(r[c]) for c in cols) for r in rows])


def _base_setup(db: Any) -> None:
    """People, workflows, queues, calendars, SLA policies, processes from the sample shop."""
    from opstui.services import loading as loader

    data = loader.read_toml(ROOT / "sample_data" / "shop.toml")
    data.pop("items", None)
    loader.load_data(db, data, source="shop.toml (no items)")


def generate(
    path: Path, n_items: int, *, seed: int = 7, events_per_item: float = 5.0
) -> dict[str, Any]:
    """Create ``path`` with ``n_items`` items; return counts and timings."""
    from sqlalchemy import func, select, update

    from opstui.domain import models
    from opstui.domain.clock import Clock
    from opstui.store.schema import open_database

    if path.exists():
        raise SystemExit(f"{path} exists already; remove it first")
    t0 = time.perf_counter()
    db = open_database(path, create=True, clock=Clock.frozen(ANCHOR), unix_user="bench")
    _base_setup(db)
    t_setup = time.perf_counter() - t0

    rng = random.Random(seed)
    ITEM = models.Item.__table__
    EVENT = models.Event.__table__
    COMMENT = models.Comment.__table__
    QUEUE = models.Queue.__table__
    PERSON = models.Person.__table__
    STATE = models.WorkflowState.__table__
    TRANS = models.WorkflowTransition.__table__
    WF = models.Workflow.__table__

    t1 = time.perf_counter()
    with db.write() as conn:
        people = [(r.id, r.handle) for r in conn.execute(select(PERSON.c.id, PERSON.c.handle))]
        # A skewed load: a couple of people carry much more than the rest.
        owner_weights = [max(1, int(30 / (i + 1))) + 3 for i in range(len(people))]
        queues = {
            r.slug: r
            for r in conn.execute(
                select(QUEUE.c.id, QUEUE.c.slug, QUEUE.c.prefix, QUEUE.c.workflow_id)
            )
        }
        initial = dict(conn.execute(select(WF.c.id, WF.c.initial_state)).all())
        category: dict[tuple[int, str], str] = {
            (r.workflow_id, r.name): r.category
            for r in conn.execute(select(STATE.c.workflow_id, STATE.c.name, STATE.c.category))
        }
        moves: dict[tuple[int, str], list[str]] = {}
        any_moves: dict[int, list[str]] = {}
        for r in conn.execute(select(TRANS.c.workflow_id, TRANS.c.from_state, TRANS.c.to_state)):
            if r.from_state == "*":
                any_moves.setdefault(r.workflow_id, []).append(r.to_state)
            else:
                moves.setdefault((r.workflow_id, r.from_state), []).append(r.to_state)
        numbers = {slug: n for slug, n in conn.execute(select(QUEUE.c.slug, QUEUE.c.next_number))}
        qweights = [(s, QUEUE_WEIGHTS.get(s, 5)) for s in queues]

        items: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        comments: list[dict[str, Any]] = []
        first_id = int(conn.execute(select(func.coalesce(func.max(ITEM.c.id), 0))).scalar_one()) + 1
        # Newer items are denser (a growing team): age ~ span * u^1.6; ids follow time.
        ages = sorted((SPAN_DAYS * (rng.random() ** 1.6) for _ in range(n_items)), reverse=True)
        for n, age_days in enumerate(ages):
            item_id = first_id + n
            slug = _weighted(rng, qweights)
            qrow = queues[slug]
            wf = qrow.workflow_id
            created = ANCHOR - timedelta(days=age_days)
            num = numbers[slug]
            numbers[slug] = num + 1
            key = f"{qrow.prefix}-{num}"
            pid, handle = rng.choices(people, weights=owner_weights)[0]
            who = rng.choice(people)
            state = initial[wf]
            version = 1
            t = created
            evs: list[tuple[datetime, str, Any, Any, int]] = [(t, "created", None, key, 1)]
            owner: tuple[int, str] | None = None
            if rng.random() < 0.8:  # most items get an owner early
                t = min(ANCHOR, t + timedelta(minutes=rng.randrange(1, 240)))
                version += 1
                owner = (pid, handle)
                evs.append((t, "owner", None, handle, version))
            # Old items are almost all finished; recent ones are a mix.
            p_done = 0.985 if age_days > 30 else (0.6 if age_days > 3 else 0.25)
            want_done = rng.random() < p_done
            first_response = None
            resolved = None
            steps = 0
            while steps < 8:
                options = moves.get((wf, state), []) + any_moves.get(wf, [])
                options = [s for s in options if s != state]
                if not options:
                    break
                cat_now = category[(wf, state)]
                if cat_now == "done" and want_done:
                    break
                if not want_done and steps >= 1 and rng.random() < 0.5:
                    break
                done_opts = [s for s in options if category.get((wf, s)) == "done"]
                if want_done and done_opts and (steps >= 2 or rng.random() < 0.3):
                    nxt = rng.choice(done_opts)
                else:
                    open_opts = [s for s in options if category.get((wf, s)) != "done"]
                    nxt = rng.choice(open_opts or options)
                t = min(ANCHOR, t + timedelta(minutes=rng.randrange(5, 60 * 24 * 3)))
                version += 1
                evs.append((t, "status", state, nxt, version))
                if category[(wf, state)] == "new" and category.get((wf, nxt)) != "new":
                    first_response = first_response or t
                if category.get((wf, nxt)) == "done":
                    resolved = t
                elif resolved is not None:
                    resolved = None
                state = nxt
                steps += 1
            cat = category[(wf, state)]
            # about one comment per item: history averages ~5 events per item
            for _ in range(rng.choices([0, 1, 2], weights=[35, 45, 20])[0]):
                ct = min(ANCHOR, t + timedelta(minutes=rng.randrange(1, 600)))
                body = f"{rng.choice(VERBS)} {rng.choice(WORDS)}: see notes ({rng.randrange(1000)})"
                comments.append(
                    dict(
                        item_id=item_id,
                        author_id=who[0],
                        unix_user=who[1],
                        body=body,
                        created_at=ct,
                    )
                )
                evs.append((ct, "comment", None, body, version))
            if cat != "done" and owner and rng.random() < 0.08:  # some open items lose their owner
                t = min(ANCHOR, t + timedelta(minutes=rng.randrange(1, 600)))
                version += 1
                evs.append((t, "owner", owner[1], None, version))
                owner = None
            prio = _weighted(rng, PRIORITY_WEIGHTS)
            due = None
            if cat != "done":
                hours = {1: 4, 2: 24, 3: 72, 4: 240}[prio]
                due = created + timedelta(hours=hours * (0.5 + rng.random()))
            updated = max(e[0] for e in evs)
            items.append(
                dict(
                    id=item_id,
                    key=key,
                    title=f"{rng.choice(VERBS).capitalize()} {rng.choice(WORDS)} for {rng.choice(WORDS)} #{num}",
                    body=f"Reported by {who[1]}. "
                    + " ".join(rng.choices(WORDS, k=rng.randrange(4, 30))),
                    kind=rng.choice(KINDS.get(slug, ["task"])),
                    priority=prio,
                    queue_id=qrow.id,
                    workflow_id=wf,
                    status=state,
                    category=cat,
                    owner_id=owner[0] if owner else None,
                    requester_id=None,
                    requester=who[1],
                    estimate_hours=rng.choice([None, 0.5, 1, 1, 2, 2, 3, 4, 8, 16]),
                    created_at=created,
                    updated_at=updated,
                    first_response_at=first_response,
                    resolved_at=resolved if cat == "done" else None,
                    due_at=None,
                    approval="none",
                    parent_id=None,
                    version=version,
                    sla_policy=None,
                    sla_fr_due=None,
                    sla_res_due=due,
                    sla_paused_since=None,
                    sla_fr_state=None,
                    sla_res_state=None,
                    next_due_at=due,
                    data={},
                )
            )
            for ts, fld, old, new, ver in evs:
                events.append(
                    dict(
                        ts=ts,
                        unix_user=who[1],
                        person_id=who[0],
                        entity="item",
                        entity_id=item_id,
                        item_id=item_id,
                        field=fld,
                        old=old,
                        new=new if fld != "comment" else new[:80],
                        item_version=ver,
                    )
                )
        t_build = time.perf_counter() - t1
        t2 = time.perf_counter()
        # Events in time order, so the id cursor follows time like in a real database.
        events.sort(key=lambda e: e["ts"])
        _bulk_insert(conn, ITEM, items)
        _bulk_insert(conn, EVENT, events)
        _bulk_insert(conn, COMMENT, comments)
        for slug, nxt in numbers.items():
            conn.execute(update(QUEUE).where(QUEUE.c.slug == slug).values(next_number=nxt))
        t_insert = time.perf_counter() - t2
    t3 = time.perf_counter()
    with db.engine.connect() as raw:
        raw.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    t_ckpt = time.perf_counter() - t3
    db.dispose()
    open_items = sum(1 for i in items if i["category"] != "done")
    return {
        "path": str(path),
        "items": n_items,
        "open_items": open_items,
        "events": len(events),
        "comments": len(comments),
        "events_per_item": round(len(events) / max(1, n_items), 2),
        "seconds": {
            "setup": round(t_setup, 3),
            "build": round(t_build, 3),
            "insert": round(t_insert, 3),
            "checkpoint": round(t_ckpt, 3),
            "total": round(time.perf_counter() - t0, 3),
        },
        "file_mb": round(path.stat().st_size / 1e6, 1),
    }


def ensure(path: Path, n_items: int, seed: int = 7) -> dict[str, Any] | None:
    """Generate ``path`` unless a database with that many items exists already there."""
    if path.exists():
        import sqlite3

        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            have = con.execute("SELECT count(*) FROM item").fetchone()[0]
            con.close()
            if have >= n_items:
                return None
        except sqlite3.Error:
            pass
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    return generate(path, n_items, seed=seed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    info = generate(args.path, args.items, seed=args.seed)
    for k, v in info.items():
        print(f"{k:16} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
