"""``opstui audit run|status|apply``: the monthly single-point-of-failure audit."""

from __future__ import annotations

import click

from ..domain.text import one_line
from ..errors import ReadOnlyError
from .common import AppState, emit_json, opstui_group, pass_state


@opstui_group("audit")
def audit_grp() -> None:
    """The monthly single-point-of-failure audit: one item per active person asking
    "what do you do that nobody else can cover?", answers applied as skills and runbook
    steps.  The audit is the process with key spof-audit (its queue, owner, trigger)."""


@audit_grp.command("run")
@click.option("--month", default=None, metavar="YYYY-MM", help="Audit this month (default: now).")
@click.option(
    "--queue",
    default=None,
    metavar="SLUG",
    help="Create the spof-audit process with this queue (only when it is not defined).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be created.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def audit_run(
    state: AppState, month: str | None, queue: str | None, dry_run: bool, as_json: bool
) -> None:
    """Create the month's audit items: one per active person who has none yet.

    Safe to run again (and from several terminals): each person gets one item per month.
    """
    from ..services.processes import audit as svc

    db = state.open()
    if db.readonly:
        raise ReadOnlyError("the database is open read-only: no audit item was created")
    done = svc.run_audit(db, month=month, queue=queue, dry_run=dry_run)
    if as_json:
        emit_json(
            {
                "month": done.month,
                "queue": done.queue,
                "defined_process": done.defined,
                "dry_run": dry_run,
                "created": [
                    {"item": None if dry_run else r.item, "person": r.owner, "text": r.text}
                    for r in done.results
                ],
            }
        )
        return
    if done.defined:
        verb = "would define" if dry_run else "defined"
        click.echo(f"{verb} the process spof-audit (queue {done.queue}, day 1 at 09:00 UTC)")
    for r in done.results:
        click.echo(one_line(r.text))
    if not done.results:
        click.echo(f"audit {done.month}: every active person already has an item")


@audit_grp.command("status")
@click.option("--month", default=None, metavar="YYYY-MM", help="This month by default.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def audit_status(state: AppState, month: str | None, as_json: bool) -> None:
    """Who was asked, who answered, and the single points that remain."""
    from ..services.processes import audit as svc

    db = state.open()
    st = svc.audit_status(db, month)
    if as_json:
        emit_json(svc.status_json(st))
        return
    click.echo(f"audit {st.month}: {one_line(st.line())}")
    for i in st.items:
        mark = "applied" if i.applied else "answered" if i.answered else "waiting"
        click.echo(f"  {i.key:<10} {one_line(i.handle):<12} {mark}")
    if st.not_asked and st.defined:
        click.echo(f"  not asked yet: {one_line(', '.join(st.not_asked))}")
    rows = st.rows()
    if rows:
        click.echo("single points (only this person covers it):")
        for person, kind, name in rows:
            note = " (runbook updated this month)" if name in st.documented else ""
            click.echo(f"  {one_line(person):<12} {kind:<8} {one_line(name)}{note}")
    else:
        click.echo("no single points in the data")


@audit_grp.command("apply")
@click.argument("key", required=False)
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Every answered item of this month not applied yet (each on its own).",
)
@click.option("--dry-run", is_flag=True, help="Show what would change.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def audit_apply(
    state: AppState, key: str | None, every: bool, dry_run: bool, as_json: bool
) -> None:
    """Apply the answers in KEY's comments: 'skill: SKILL -> HANDLE' gives HANDLE the
    skill; 'runbook: PROCESS: TEXT' adds TEXT as the process's next runbook step."""
    from ..errors import OpsError
    from ..services import audit_apply as svc
    from ..services.processes import audit as audit_svc

    if bool(key) == every:
        raise click.UsageError("give one audit item KEY, or --all")
    db = state.open()
    if db.readonly:
        raise ReadOnlyError("the database is open read-only: nothing was applied")
    if key:
        keys = [key]
    else:
        st = audit_svc.audit_status(db)
        keys = [i.key for i in st.items if i.answered and not i.applied and not i.done]
    results: list[dict[str, object]] = []
    failed = 0
    for k in keys:
        try:
            done = svc.apply_answers(db, k, dry_run=dry_run)
        except svc.NoAnswers:
            if not every:
                raise
            results.append({"item": k, "changes": [], "unchanged": [], "free_text": True})
            continue
        except OpsError as exc:
            if not every:
                raise
            failed += 1  # one bad answer does not hold up the others
            results.append({"item": k, "error": str(exc)})
            continue
        results.append(
            {
                "item": done.key,
                "person": done.person,
                "changes": list(done.changes),
                "unchanged": list(done.unchanged),
                "dry_run": dry_run,
            }
        )
    if as_json:
        emit_json(results if every else results[0])
    else:
        _print_applied(results, dry_run, every)
    if failed:
        raise SystemExit(1)


def _print_applied(results: list[dict[str, object]], dry_run: bool, every: bool) -> None:
    verb = "would apply" if dry_run else "applied"
    if every and not results:
        click.echo("no answered audit item waits to be applied this month")
    for r in results:
        lead = f"{r['item']}: " if every else ""
        if "error" in r:
            reason = str(r["error"]).removeprefix(f"{r['item']}: ")
            click.echo(f"{lead}refused: {one_line(reason)}", err=True)
            continue
        if r.get("free_text"):
            click.echo(f"{lead}no answer lines (free text only): nothing to apply")
            continue
        for c in r["changes"]:  # type: ignore[attr-defined]
            click.echo(f"{lead}{verb}: {one_line(c)}")
        for c in r["unchanged"]:  # type: ignore[attr-defined]
            click.echo(f"{lead}already so: {one_line(c)}")
        if not r["changes"]:
            click.echo(f"{r['item']}: nothing new to apply")


COMMANDS = [audit_grp]
