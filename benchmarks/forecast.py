"""Forecast cost: 10,000 open items over 120 people (target: under 200 ms).

Usage: python -m benchmarks.forecast [--items N] [--people N] [--json]

The same-run baseline is a plain ``sorted()`` of the same items by the work-order key: the
cheapest thing any forecast has to do.  Prints medians (wall and CPU) and the ratio.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, date, datetime, timedelta

from benchmarks._common import machine_info, machine_line, report, table, time_call, verdict
from opstui.domain.forecast import Worker, WorkItem, forecast, order_key
from opstui.domain.sla import make_calendar

TARGET_MS = 200.0
NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def build(n_items: int, n_people: int, seed: int = 7) -> tuple[list[Worker], list[WorkItem], dict]:
    rnd = random.Random(seed)
    office = make_calendar("office", "Europe/London", {"mon-fri": "09:00-17:30"}, country="GB")
    workers = []
    for p in range(n_people):
        away: tuple[tuple[date, date], ...] = ()
        if rnd.random() < 0.2:
            start = NOW.date() + timedelta(days=rnd.randint(0, 20))
            away = ((start, start + timedelta(days=rnd.randint(0, 9))),)
        workers.append(
            Worker(
                handle=f"p{p:03d}",
                capacity_hours=rnd.choice([16.0, 24.0, 32.0, 40.0]),
                focus=rnd.uniform(0.5, 0.9),
                calendar=office,
                away=away,
            )
        )
    queues = [f"q{i}" for i in range(60)]
    triage = {q: f"p{rnd.randrange(n_people):03d}" for q in queues[::2]}
    items = []
    for i in range(n_items):
        owner = None if rnd.random() < 0.1 else f"p{rnd.randrange(n_people):03d}"
        sla = NOW + timedelta(hours=rnd.uniform(-24, 240)) if rnd.random() < 0.4 else None
        due = NOW + timedelta(days=rnd.uniform(1, 60)) if rnd.random() < 0.2 else None
        items.append(
            WorkItem(
                key=f"IT-{i}",
                owner=owner,
                remaining_hours=rnd.choice([0.5, 1, 2, 4, 8, 16]),
                created_at=NOW - timedelta(hours=rnd.uniform(0, 2000)),
                priority=rnd.randint(1, 4),
                queue=rnd.choice(queues),
                sla_due_at=sla,
                due_at=due,
            )
        )
    return workers, items, triage


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--people", type=int, default=120)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    workers, items, triage = build(args.items, args.people)
    base = time_call(lambda: sorted(items, key=order_key), repeat=15)
    fc_holder: list = []
    run = time_call(lambda: fc_holder.append(forecast(workers, items, NOW, triage)), repeat=15)
    fc = fc_holder[-1]
    drifting = len(fc.drifting())
    info = machine_info()
    rows = [
        ["baseline: sort by work order", base["median"], base["cpu_median"], "", ""],
        [
            f"forecast {args.items:,} items / {args.people} people",
            run["median"],
            run["cpu_median"],
            round(run["median"] / base["median"], 1) if base["median"] else None,
            f"< {TARGET_MS:.0f} ms: {verdict(run['median'] < TARGET_MS)}",
        ],
    ]
    text = "\n".join(
        [
            machine_line(info),
            table(["what", "median ms", "cpu ms", "x baseline", "target"], rows),
            f"drifting items: {drifting}",
        ]
    )
    report(
        "forecast",
        {
            "machine": info,
            "items": args.items,
            "people": args.people,
            "baseline_sort_ms": base,
            "forecast_ms": run,
            "drifting": drifting,
            "target_ms": TARGET_MS,
        },
        text,
        args.json,
    )


if __name__ == "__main__":
    main()
