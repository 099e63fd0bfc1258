"""``opstui capacity`` and ``opstui review``."""

from __future__ import annotations

import click

from ..domain.text import one_line
from .common import AppState, emit_json, pass_state, render_table


@click.command("capacity")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def capacity_cmd(state: AppState, as_json: bool) -> None:
    """Load against capacity, bus-factor risks and rebalancing suggestions."""
    from ..services import capacity as capacity_svc

    db = state.open()
    report = capacity_svc.capacity_report(db)
    if as_json:
        emit_json(capacity_svc.report_json(report))
        return
    click.echo(
        f"capacity for {report.window_start:%a %d %b} to {report.window_end:%a %d %b} "
        f"(unestimated items count {capacity_svc.DEFAULT_ESTIMATE_HOURS:g}h)"
    )
    click.echo(
        render_table(
            ("PERSON", "OPEN", "LOAD", "AVAIL", "UTIL", "FLAG"),
            [
                (
                    p.handle,
                    p.open_items,
                    f"{p.load_hours:g}h",
                    f"{p.available_hours:g}h",
                    f"{p.utilisation:.0%}" if p.utilisation is not None else "-",
                    ", ".join(
                        f
                        for f in (
                            "OVERLOADED" if p.overloaded else "",
                            "inactive" if not p.active else "",
                            f"away {p.away_days}d" if p.away_days else "",
                            f"{p.unestimated} unestimated" if p.unestimated else "",
                        )
                        if f
                    ),
                )
                for p in report.people
            ],
            flex=5,
        )
    )
    if report.busiest and report.busiest_share is not None:
        warn = "  WARNING: one person carries the team" if report.busiest_warning else ""
        click.echo(
            f"\nbusiest: {report.busiest} holds {report.busiest_share:.0%} of "
            f"{report.total_load_hours:g}h owned open load{warn}"
        )
    risks = [c for c in report.skills if c.risk]
    click.echo("\nbus-factor risks:" if risks or report.process_risks else "\nno bus-factor risks")
    for c in risks:
        click.echo(f"  skill {c.name}: {', '.join(c.people) or 'nobody'}")
    for c in report.process_risks:
        owner = c.owner or "no owner"
        click.echo(f"  process {c.name} ({owner}): can be run by {', '.join(c.people) or 'nobody'}")
    if report.moves:
        click.echo("\nsuggested moves:")
        click.echo(
            render_table(
                ("ITEM", "HOURS", "FROM", "TO", "TITLE", "WHY"),
                [
                    (m.key, f"{m.hours:g}h", m.from_handle, m.to_handle, m.title, m.reason)
                    for m in report.moves
                ],
                flex=4,
            )
        )
    for handle, why in report.unresolved:
        click.echo(f"still overloaded: {handle}: {one_line(why)}")


@click.command("review")
@click.option(
    "--week",
    "week",
    default=None,
    metavar="START",
    help="Review the 7 days from this date (default: the last 7 days).",
)
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the review as Markdown.")
@click.option("--json", "as_json", is_flag=True, help="Print the review as JSON.")
@click.option(
    "--html", "as_html", is_flag=True, help="Print the review as one self-contained HTML file."
)
@pass_state
def review_cmd(
    state: AppState, week: str | None, as_markdown: bool, as_json: bool, as_html: bool
) -> None:
    """The weekly review: a screen, or a report with --markdown / --html / --json."""
    from ..services import review as review_svc

    if sum((as_markdown, as_json, as_html)) > 1:
        raise click.UsageError("choose one of --markdown, --html and --json")
    report = as_markdown or as_json or as_html
    db = state.open(live=not report)
    now = db.clock.now()
    start, _end = review_svc.week_bounds(now, week)  # fail early on a bad --week
    if report:
        rv = review_svc.weekly_review(db, week=week, stuck_days=state.config.stuck_days)
        if as_json:
            emit_json(review_svc.to_json(rv))
        elif as_html:
            from ..services.review.html import to_html

            click.echo(to_html(rv), nl=False)
        else:
            click.echo(review_svc.to_markdown(rv), nl=False)
        return
    from ..ui.app import run_app

    run_app(
        db,
        state.config,
        poll=state.poll,
        config_error=state.config_error,
        review=True,
        review_week=week,
        read_only_note=db.readonly_note,  # as of a past --now: says so on a refused write
    )


COMMANDS = [capacity_cmd, review_cmd]
