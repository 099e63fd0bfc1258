"""Generate a ServiceNow incident event log in the shape of the public
``incident_event_log`` data set (one row per update; ``?`` nulls; ``DD-MM-YYYY HH:MM``
times without a zone; priorities ``3 - Moderate``).

    python -m benchmarks.servicenow_log --incidents 25000 /tmp/incident_event_log.csv

Each incident is opened in a group, may be reassigned to other groups, is assigned to a
resolver, may wait (Awaiting User Info / Vendor), may change priority, is resolved, may
be reopened and resolved again, and is closed some days later; incidents opened near the
end are still open.  Deterministic for a seed.  About 6.8 rows per incident (25,000 incidents: ~170,000 rows).
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

HEADER = (
    "number,incident_state,active,reassignment_count,reopen_count,sys_mod_count,made_sla,"
    "caller_id,opened_by,opened_at,sys_created_by,sys_created_at,sys_updated_by,"
    "sys_updated_at,contact_type,location,category,subcategory,u_symptom,cmdb_ci,impact,"
    "urgency,priority,assignment_group,assigned_to,knowledge,u_priority_confirmation,notify,"
    "problem_id,rfc,vendor,caused_by,closed_code,resolved_by,resolved_at,closed_at"
).split(",")
PRIORITIES = ["1 - Critical", "2 - High", "3 - Moderate", "4 - Low"]
IMPACT = ["1 - High", "2 - Medium", "3 - Low"]
START = datetime(2016, 2, 29, 0, 0)


def fmt(t: datetime | None) -> str:
    return "?" if t is None else t.strftime("%d-%m-%Y %H:%M")


def generate(
    path: str | Path,
    incidents: int,
    *,
    groups: int = 62,
    resolvers: int = 122,
    seed: int = 7,
    days: int = 120,
) -> int:
    """Write the log; returns the number of rows."""
    rnd = random.Random(seed)
    end = START + timedelta(days=days)
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for n in range(incidents):
            number = f"INC{n + 45:07d}"
            opened = START + timedelta(minutes=int(days * 24 * 60 * (n / max(incidents, 1))))
            opened += timedelta(minutes=rnd.randint(0, 59))
            group = f"Group {rnd.randint(1, groups)}"
            prio = rnd.choices(PRIORITIES, weights=[2, 10, 70, 18])[0]
            base = {
                "number": number,
                "caller_id": f"Caller {rnd.randint(1, 5000)}",
                "opened_by": f"Opened by {rnd.randint(1, 200)}",
                "opened_at": fmt(opened),
                "sys_created_by": f"Created by {rnd.randint(1, 200)}",
                "sys_created_at": fmt(opened),
                "contact_type": rnd.choice(["Phone", "Email", "Self service"]),
                "location": f"Location {rnd.randint(1, 200)}",
                "category": f"Category {rnd.randint(1, 60)}",
                "subcategory": f"Subcategory {rnd.randint(1, 250)}",
                "u_symptom": f"Symptom {rnd.randint(1, 500)}",
                "cmdb_ci": "?",
                "impact": rnd.choice(IMPACT),
                "urgency": rnd.choice(IMPACT),
                "knowledge": rnd.choice(["true", "false"]),
                "u_priority_confirmation": "false",
                "notify": "Do Not Notify",
                "problem_id": "?",
                "rfc": "?",
                "vendor": "?",
                "caused_by": "?",
            }
            made_sla = "true" if rnd.random() < 0.63 else "false"
            closed_code = f"code {rnd.randint(1, 17)}"  # enriched: the final value on every row
            t = opened + timedelta(minutes=rnd.randint(1, 30))
            steps: list[tuple[str, str, str | None, str]] = []  # state, group, assignee, prio
            assignee: str | None = None
            steps.append(("New", group, None, prio))
            for _ in range(rnd.choices([0, 1, 2, 3], weights=[55, 30, 10, 5])[0]):
                group = f"Group {rnd.randint(1, groups)}"
                steps.append((steps[-1][0], group, None, prio))
            assignee = f"Resolver {rnd.randint(1, resolvers)}"
            steps.append(("Active", group, assignee, prio))
            if rnd.random() < 0.3:
                steps.append(
                    (rnd.choice(["Awaiting User Info", "Awaiting Vendor"]), group, assignee, prio)
                )
                steps.append(("Active", group, assignee, prio))
            if rnd.random() < 0.15:
                prio = rnd.choice(PRIORITIES)
                steps.append(("Active", group, assignee, prio))
            steps.append(("Active", group, assignee, prio))  # a note: nothing of ours changes
            if rnd.random() < 0.35:
                steps.append(("Active", group, assignee, prio))
            steps.append(("Resolved", group, assignee, prio))
            if rnd.random() < 0.05:
                steps.append(("Active", group, assignee, prio))
                steps.append(("Resolved", group, assignee, prio))
            steps.append(("Closed", group, assignee, prio))
            reassign = reopen = 0
            resolved_at = closed_at = None
            times = []
            for i, _s in enumerate(steps):
                if i:
                    gap = rnd.choice([5, 20, 60, 240, 1440]) if steps[i][0] != "Closed" else 7200
                    t += timedelta(minutes=rnd.randint(1, gap))
                times.append(t)
            cut = [(s, at) for s, at in zip(steps, times, strict=True) if at <= end]
            if not cut:
                cut = [(steps[0], times[0])]
            for s, at in cut:
                if s[0] == "Resolved":
                    resolved_at = at
                if s[0] == "Closed":
                    closed_at = at
            prev_group = None
            prev_state = None
            for mod, ((state, grp, who, pr), at) in enumerate(cut):
                if prev_group is not None and grp != prev_group:
                    reassign += 1
                if prev_state == "Resolved" and state == "Active":
                    reopen += 1
                prev_group, prev_state = grp, state
                row = {
                    **base,
                    "incident_state": state,
                    "active": "false" if state == "Closed" else "true",
                    "reassignment_count": str(reassign),
                    "reopen_count": str(reopen),
                    "sys_mod_count": str(mod),
                    "made_sla": made_sla,
                    "sys_updated_by": f"Updated by {rnd.randint(1, 900)}",
                    "sys_updated_at": fmt(at),
                    "priority": pr,
                    "assignment_group": grp,
                    "assigned_to": who or "?",
                    "closed_code": closed_code if resolved_at else "?",
                    "resolved_by": who if resolved_at and who else "?",
                    "resolved_at": fmt(resolved_at),
                    "closed_at": fmt(closed_at),
                }
                w.writerow([row[h] for h in HEADER])
                rows += 1
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path")
    ap.add_argument("--incidents", type=int, default=25_000)
    ap.add_argument("--groups", type=int, default=62)
    ap.add_argument("--resolvers", type=int, default=122)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rows = generate(
        args.path, args.incidents, groups=args.groups, resolvers=args.resolvers, seed=args.seed
    )
    print(f"{args.path}: {args.incidents} incidents, {rows} rows")


if __name__ == "__main__":
    main()
