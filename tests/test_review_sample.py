"""The review of the sample shop (conftest ``sample_db``, frozen at the anchor): the Markdown
export section by section.  (Screen snapshots use the hand-made team in test_review_screen,
whose picture does not change when SLA policies start computing due times.)"""

from __future__ import annotations

import re
from typing import Any

from opstui.services import review as rsvc


def sections(md: str) -> dict[str, str]:
    """``## Heading`` -> its text (up to the next ``## ``)."""
    parts = re.split(r"^## ", md, flags=re.M)
    return {p.split("\n", 1)[0].strip(): p.split("\n", 1)[1] for p in parts[1:]}


def table_rows(text: str) -> list[list[str]]:
    rows = [
        line for line in text.splitlines() if line.startswith("|") and not line.startswith("|---")
    ]
    return [[c.strip() for c in r.strip("|").split(" | ")] for r in rows]


def test_markdown_export_of_the_sample_reads_section_by_section(sample_db: Any) -> None:
    rv = rsvc.weekly_review(sample_db, stuck_days=3)
    md = rsvc.to_markdown(rv)
    assert md.startswith("# Weekly review: 2026-11-27 16:45 to 2026-12-04 16:45 UTC\n")
    s = sections(md)
    assert list(s) == [
        "Summary",
        "SLA breaches",
        "SLA near misses",
        "Blocked items",
        "Stuck items (no event for 3+ working days)",
        "Unowned items",
        "Process findings",
        "Pending approvals",
        "Load per person (Fri 04 Dec to Thu 10 Dec)",
        "Bus-factor risks",
        "Throughput and cycle time (8 weeks)",
        "Decided last week",
    ]
    # every table is well formed: a header, a separator, rows of the same width
    for name, text in s.items():
        for block in re.split(r"\n\s*\n", text):
            lines = [ln for ln in block.splitlines() if ln.startswith("|")]
            if not lines:
                continue
            width = lines[0].count(" | ")
            assert lines[1].startswith("|---"), name
            assert all(ln.count(" | ") == width for ln in lines if not ln.startswith("|---")), name

    summary = dict((r[0], r[1]) for r in table_rows(s["Summary"])[1:])
    assert summary["Blocked items"] == "2"
    assert summary["Pending approvals"] == "3"
    assert summary["Overloaded people"] == "1"
    # the summary is the agenda (services.review.agenda), as on the screen's first tab
    risks = len(rv.capacity.skill_risks) + len(rv.capacity.process_risks)
    assert summary["Bus-factor risks"] == str(risks)
    assert sum(1 for c in rv.capacity.skills if c.count == 1) == 1

    blocked = table_rows(s["Blocked items"])[1:]
    assert {(r[0], r[4]) for r in blocked} == {("PRJ-31", "PRJ-21"), ("PRJ-34", "PRJ-23")}

    stuck = {r[0] for r in table_rows(s["Stuck items (no event for 3+ working days)"])[1:]}
    assert "PRJ-23" in stuck  # the k8s upgrade nobody touched for two weeks

    unowned = table_rows(s["Unowned items"])
    assert unowned[0] == ["Item", "Title", "Queue", "Priority", "Status", "Created", "Next due"]
    assert len(unowned) - 1 == int(summary["Unowned items"]) == 16
    assert unowned[1][0] == "SUP-183" and unowned[1][3] == "P1"  # most urgent first

    procs = table_rows(s["Process findings"])
    assert procs[1] == [
        "backup-restore-test",
        "Quarterly backup restore test",
        "no owner (its items are created unowned)",
    ]
    # the same findings as the process catalog (`opstui processes`)
    assert len(procs) - 1 == int(summary["Process findings"]) == 4

    approvals = table_rows(s["Pending approvals"])[1:]
    assert sorted(r[0] for r in approvals) == ["BIL-35", "BIL-38", "BIL-39"]
    assert all(r[3] == "refunded" for r in approvals)

    load = s["Load per person (Fri 04 Dec to Thu 10 Dec)"]
    from opstui.services.capacity import capacity_report

    cap = capacity_report(sample_db, sample_db.clock.now())
    assert cap.busiest == "dev" and cap.busiest_share > 0.7  # the guidance's warning sign
    assert f"Busiest: dev holds {cap.busiest_share:.0%} of the owned open load" in load
    people = {r[0]: r for r in table_rows(load.split("### Rebalancing suggestions")[0])[1:]}
    assert people["dev"][4] == "345%" and people["dev"][6] == "OVERLOADED"
    assert people["carol"][3] == "6.4h" and people["carol"][6] == "away 4d"
    moves = table_rows(load.split("### Rebalancing suggestions")[1].split("### Drifting work")[0])
    suggested = {r[0]: (r[3], r[4]) for r in moves[1:] if r[0].startswith("PRJ")}
    assert suggested["PRJ-23"] == ("dev", "hiro")  # needs kubernetes
    assert all(frm == "dev" for frm, _to in suggested.values())

    risks = s["Bus-factor risks"]
    assert "| firewall | dev | one person |" in risks
    assert "| firewall-review | dev | firewall | dev | one person |" in risks

    trend = s["Throughput and cycle time (8 weeks)"]
    weeks = table_rows(trend.split("Change against")[0])[1:]
    assert len(weeks) == 8 and weeks[-1][0] == "2026-11-27"
    assert sum(int(r[1]) for r in weeks) > 200
    change = table_rows(trend.split("Change against")[1].split("###")[0])
    assert [r[0] for r in change[1:]] == ["Done", "Cycle median", "Cycle p85"]
    per_queue = table_rows(trend.split("### Cycle time per queue")[1])
    assert [r[0] for r in per_queue[1:]] == [
        "support",
        "sales",
        "billing",
        "onboarding",
        "projects",
        "qa",
    ]


def test_the_review_lists_drifting_work_and_the_moves_that_save_it(sample_db: Any) -> None:
    from opstui.services import items

    rv = rsvc.weekly_review(sample_db, stuck_days=3)
    assert [d.key for d in rv.drifting] == ["PRJ-25"] and rv.counts["drifting"] == 1
    drift = rv.drifting[0]
    assert drift.owner == "dev" and drift.savable and drift.forecast.endswith(" late")
    [move] = [m for m in rv.rescues if m.key == "PRJ-25"]
    md = rsvc.to_markdown(rv)
    rows = table_rows(md.split("### Drifting work", 1)[1].split("## ", 1)[0])
    assert rows[1][:3] == ["PRJ-25", "Replace core switch at Kestrel Logistics", "dev"]
    assert rows[1][4] == f"move to {move.to_handle}"
    assert rsvc.to_json(rv)["drifting"][0]["rescue"]["to"] == move.to_handle
    # accepted, it no longer drifts
    items.assign(sample_db, move.key, move.to_handle, expected_version=move.version)
    assert rsvc.weekly_review(sample_db, stuck_days=3).drifting == ()
    # a past week's review forecasts nothing (it shows nothing after its end)
    assert rsvc.weekly_review(sample_db, week="2026-11-16").drifting == ()
