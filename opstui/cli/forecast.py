"""``opstui log`` (time spent) and ``opstui forecast`` (projected finishes and drift)."""

from __future__ import annotations

from datetime import datetime

import click

from ..domain.sla import format_remaining
from .common import AppState, emit_json, fail, pass_state, render_table


def _hours(value: float | None) -> str:
    if value is None:
        return "-"
    return format_remaining(value * 3600)


@click.command("log")
@click.argument("key")
@click.argument("spent", metavar="DURATION")
@click.option("-n", "--note", default="", help="What the time went on.")
@click.option("--at", "at", metavar="ISO-TIME", help="When the work was done (default: now).")
@click.option("--by", "by", metavar="HANDLE", help="Whose time it was (default: mine).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def log_cmd(
    state: AppState,
    key: str,
    spent: str,
    note: str,
    at: str | None,
    by: str | None,
    as_json: bool,
) -> None:
    """Log time spent on an item: 45m, 1h30m, 2h, 1d (a working day of 8h)."""
    from ..domain.clock import parse_instant
    from ..services import worklog as svc

    when: datetime | None = None
    if at:
        try:
            when = parse_instant(at)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--at") from None
    done = svc.log_time(state.open(), key, spent, note=note, at=when, by=by)
    if as_json:
        emit_json(
            {
                "key": done.key,
                "logged_seconds": done.seconds,
                "at": done.at.isoformat(),
                "total_logged_hours": round(done.total_seconds / 3600, 2),
                "estimate_hours": done.estimate_hours,
                "remaining_hours": round(done.remaining_hours, 2),
                "over_estimate": done.over_estimate,
            }
        )
        return
    line = (
        f"logged {format_remaining(done.seconds)} on {done.key} "
        f"(total {_hours(done.total_seconds / 3600)}"
    )
    if done.estimate_hours is not None:
        line += f" of {_hours(done.estimate_hours)} estimated"
    line += f"; remaining {_hours(done.remaining_hours)}"
    line += ", over estimate)" if done.over_estimate else ")"
    click.echo(line)


@click.command("forecast")
@click.option("-o", "--owner", default=None, help="Only this person's work queue.")
@click.option("--drifting", "only_drifting", is_flag=True, help="Only items that drift.")
@click.option(
    "--backtest",
    "weeks",
    type=click.IntRange(1, 104),
    default=None,
    metavar="WEEKS",
    help="Replay the event log: how right was the forecast on items finished in WEEKS weeks?",
)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def forecast_cmd(
    state: AppState, owner: str | None, only_drifting: bool, weeks: int | None, as_json: bool
) -> None:
    """Projected finish of each open item, and which will miss their date (drift)."""
    from ..services import forecast as svc

    db = state.open()
    settings = svc.Settings(
        focus=state.config.forecast_focus,
        remaining_floor_hours=state.config.remaining_floor_hours,
    )
    if weeks is not None:
        _backtest(svc.backtest(db, weeks, settings=settings), as_json)
        return
    view = svc.forecast(db, settings=settings)
    if owner is not None and owner not in view.focus:
        known = ", ".join(sorted(view.focus)) or "none"
        fail(f"no person {owner!r} (known: {known})")
    rows = (
        view.for_owner(owner)
        if owner
        else sorted(
            view.rows,
            key=lambda r: (r.projection.planner or "~", r.projection.position or 0, r.key),
        )
    )
    if only_drifting:
        rows = [r for r in rows if r.projection.drifting(view.now)]
    if as_json:
        emit_json(svc.view_json(view, rows))
        return
    drifting = view.drifting()
    table = [
        (
            r.key,
            r.projection.planner or "-",
            f"P{r.priority}",
            _hours(r.remaining_hours) + ("!" if r.over_estimate else ""),
            "DRIFT" if r.projection.drifting(view.now) else "",
            svc.describe(r, view.calendar),
            r.title,
        )
        for r in rows
    ]
    if table:
        click.echo(render_table(["key", "planned", "pri", "left", "", "forecast", "title"], table))
    else:
        click.echo("no open items" + (" that drift" if only_drifting else ""))
    click.echo(
        f"\n{len(drifting)} drifting of {len(view.rows)} open; calendar {view.calendar.name}; "
        "'!' = more time logged than estimated"
    )


def _backtest(result: object, as_json: bool) -> None:
    from ..services.forecast import Backtest

    assert isinstance(result, Backtest)
    cases = result.cases
    summary = {
        "weeks": result.weeks,
        "items": len(cases),
        "hit_rate": None if result.hit_rate is None else round(result.hit_rate, 3),
        "median_abs_error_hours": result.median_error_hours,
        "asked_at_creation": sum(c.at_creation for c in cases),
        "predicted_late_and_late": sum(c.predicted_late and c.late for c in cases),
        "predicted_late_but_on_time": sum(c.predicted_late and not c.late for c in cases),
        "predicted_on_time_but_late": sum(c.late and not c.predicted_late for c in cases),
        "predicted_on_time_and_on_time": sum(not c.late and not c.predicted_late for c in cases),
        "skipped": result.skipped,
    }
    if as_json:
        emit_json(
            {
                **summary,
                "cases": [
                    {
                        "key": c.key,
                        "planned_on": c.owner,
                        "date": c.target_at.isoformat(),
                        "asked_at": c.asked_at.isoformat(),
                        "predicted_finish": None
                        if c.predicted_finish is None
                        else c.predicted_finish.isoformat(),
                        "finished_at": c.finished_at.isoformat(),
                        "hit": c.hit,
                    }
                    for c in cases
                ],
            }
        )
        return
    if not cases:
        click.echo(f"no finished items with a date in the last {result.weeks} weeks")
        return
    rate = summary["hit_rate"]
    click.echo(
        f"{len(cases)} items finished in the last {result.weeks} weeks with a date; the forecast "
        f"a week before each date (or at creation for {summary['asked_at_creation']} younger "
        "ones) said late / on time:"
    )
    click.echo(
        render_table(
            ["", "were late", "were on time"],
            [
                (
                    "said late",
                    summary["predicted_late_and_late"],
                    summary["predicted_late_but_on_time"],
                ),
                (
                    "said on time",
                    summary["predicted_on_time_but_late"],
                    summary["predicted_on_time_and_on_time"],
                ),
            ],
        )
    )
    click.echo(
        f"hit rate {rate:.0%}; median error of the projected finish "
        f"{'-' if result.median_error_hours is None else format_remaining(result.median_error_hours * 3600)}"
    )
    for reason, n in sorted(result.skipped.items()):
        click.echo(f"not asked: {n} ({reason})")


COMMANDS = [log_cmd, forecast_cmd]
