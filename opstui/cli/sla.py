"""``opstui sla``: SLA targets at risk and breached, and what is due next."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from ..domain.sla import format_remaining
from .common import AppState, emit_json, pass_state, render_table, terminal_width

if TYPE_CHECKING:
    from ..services.sla import listing


STATE_LABELS = {"breached": "BREACHED", "warning": "AT RISK", "ok": "ok", "paused": "paused"}
TARGET_LABELS = {"first_response": "response", "resolution": "resolution", "due": "due date"}


def _row(r: listing.SlaRow, with_policy: bool = True) -> tuple[Any, ...]:
    left = format_remaining(r.remaining_s)
    if r.state == "breached":
        left = f"{left.lstrip('-')} over"
    elif r.state == "paused":
        left = f"{left} (paused)"
    return (
        r.item.key,
        STATE_LABELS.get(r.state, r.state),
        TARGET_LABELS[r.target],
        f"{r.due:%a %d %b %H:%M}",
        left,
        r.item.owner or "(unowned)",
        *((r.item.sla_policy,) if with_policy else ()),
        r.item.title,
    )


@click.command("sla")
@click.option("--all", "show_all", is_flag=True, help="Every open target, not only the next few.")
@click.option(
    "-n",
    "--next",
    "upcoming",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many upcoming (ok or paused) targets to show after the urgent ones.",
)
@click.option("-q", "--queue", default=None, help="Only this queue.")
@click.option("-o", "--owner", default=None, help="Only this owner (handle, or 'none').")
@click.option(
    "--record/--no-record",
    default=None,
    help="Write warning/breach events that are due (default: yes, except with --now or read-only).",
)
@click.option(
    "--recompute",
    is_flag=True,
    help="Recompute every open item's SLA first (after a policy change).",
)
@click.option(
    "--compare-source",
    is_flag=True,
    help="Imported items where the source's SLA verdict (made_sla) and ours differ.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def sla_cmd(
    state: AppState,
    show_all: bool,
    upcoming: int,
    queue: str | None,
    owner: str | None,
    record: bool | None,
    recompute: bool,
    compare_source: bool,
    as_json: bool,
) -> None:
    """Items at risk of breaching or breached, then what is due next.

    Times are shown in UTC.  With --now, answers as of that moment (and records nothing).
    """
    from ..services.sla import listing, parse
    from ..store.lite import Unsupported

    wants_record = record if record is not None else state.now is None and not state.read_only

    def light(reader: Any, now: datetime) -> tuple[list[listing.SlaRow], parse.Rules, datetime]:
        """The light read path (store.lite), when there is nothing to write."""
        if wants_record and reader.crossing_due(now):
            raise Unsupported("a warning or breach to record: a write, the full store does it")
        rows = listing.target_rows(reader.sla_items(), now)
        return rows, parse.rules_from_rows(*reader.sla_rule_rows()), now

    answer = None if compare_source or recompute else state.read_light(light)
    written: list[Any] = []
    if answer is not None:
        rows, rules, now = answer[0]
    else:
        rows, rules, now, written = _full(state, record, recompute, compare_source, as_json)
        if rules is None:
            return
    has_policies = bool(rules.policies)
    for problem in rules.problems:
        click.echo(f"opstui: warning: {problem} (skipped; fix it and load again)", err=True)
    if queue:
        rows = [r for r in rows if r.item.queue == queue.strip().lower()]
    if owner:
        who = None if owner.strip().lower() in ("none", "-", "unowned") else owner.strip()
        rows = [r for r in rows if r.item.owner == who]
    breached = [r for r in rows if r.state == "breached"]
    warning = [r for r in rows if r.state == "warning"]
    rest = [r for r in rows if r.state in ("ok", "paused")]
    rest.sort(key=lambda r: (r.due, r.item.key, r.target))
    if not show_all:
        rest = rest[:upcoming]
    if as_json:
        emit_json(
            {
                "now": now.isoformat(),
                "breached": [r.as_json() for r in breached],
                "warning": [r.as_json() for r in warning],
                "upcoming": [r.as_json() for r in rest],
                "recorded": [
                    {"id": e.id, "key": e.item_key, "field": e.field, "old": e.old, "new": e.new}
                    for e in written
                ],
            }
        )
        return
    wide = terminal_width() >= 110  # on a narrow terminal the title matters more
    headers = ("KEY", "STATE", "TARGET", "DUE (UTC)", "LEFT", "OWNER", "POLICY", "TITLE")
    if not wide:
        headers = tuple(h for h in headers if h != "POLICY")
    out: list[str] = [f"SLA as of {now:%a %Y-%m-%d %H:%M} UTC (due times in UTC)"]
    if not has_policies:
        click.echo(
            "no SLA policies yet: add [[calendars]] and [[sla_policies]] to a file for 'opstui load'"
        )
        return
    for title, group in (("Breached", breached), ("At risk", warning)):
        out.append("")
        if group:
            out.append(f"{title} ({len(group)})")
            out.append(render_table(headers, [_row(r, wide) for r in group]))
        else:
            out.append(f"{title}: none")
    if rest:
        out.append("")
        out.append("Due next" if not show_all else "Other open targets")
        out.append(render_table(headers, [_row(r, wide) for r in rest]))
    elif show_all or upcoming:
        out.append("")
        out.append("Due next: nothing else open under an SLA")
    if written:
        out.append("")
        out.append(f"recorded {len(written)} new warning/breach event(s)")
    click.echo("\n".join(out))


def _full(
    state: AppState, record: bool | None, recompute: bool, compare_source: bool, as_json: bool
) -> tuple[list[Any], Any, datetime, list[Any]]:
    """The full store: records due crossings (a write), recomputes, compares with the
    source; ``rules`` is None when the command's answer is already printed."""
    from ..services.sla import compute, crossings, views
    from ..services.sla import rules as sla_rules

    db = state.open()
    if compare_source:
        _compare_source(db, as_json)
        return [], None, db.clock.now(), []
    if recompute:
        count = compute.recompute_all(db)
        if not as_json:
            click.echo(f"recomputed SLA for {count} open items")
    if record is None:
        record = state.now is None and not db.readonly
    written = crossings.record_sla_crossings(db) if record else []
    now: datetime = db.clock.now()
    with db.read() as conn:
        rows = views.open_targets(conn, now)
        rules = sla_rules.load_rules(conn)
    return rows, rules, now, written


def _compare_source(db: Any, as_json: bool) -> None:
    from ..services.importing import compare_source

    total, still_open, differ = compare_source(db)
    if as_json:
        emit_json({"compared": total, "open": still_open, "differ": [d.as_json() for d in differ]})
        return
    if not total:
        click.echo("no imported item carries the source's SLA verdict (made_sla)")
        return
    agree = total - len(differ) - still_open
    click.echo(
        f"{total} imported items carry the source's SLA verdict: {agree} agree with opstui, "
        f"{len(differ)} differ, {still_open} still open here (no verdict yet)"
    )
    if differ:
        click.echo(
            render_table(
                ("KEY", "SOURCE KEY", "SOURCE", "OPSTUI"),
                [
                    (
                        d.key,
                        d.external_key,
                        "made" if d.source_made_sla else "missed",
                        d.our_verdict,
                    )
                    for d in differ
                ],
            )
        )


COMMANDS = [sla_cmd]
