"""``opstui transfer KEY QUEUE``: move an item to another queue."""

from __future__ import annotations

import click

from .common import AppState, emit_json, pass_state


@click.command("transfer")
@click.argument("key")
@click.argument("queue")
@click.option("--owner", default=None, metavar="HANDLE", help="Give it to this person too.")
@click.option(
    "--to-triage", is_flag=True, help="Leave it unowned for the new queue's triage owner."
)
@click.option(
    "--state",
    "state_name",
    default=None,
    metavar="STATE",
    help="State in the new queue's workflow when more than one fits.",
)
@click.option("--if-version", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def transfer_cmd(
    state: AppState,
    key: str,
    queue: str,
    owner: str | None,
    to_triage: bool,
    state_name: str | None,
    if_version: int | None,
    as_json: bool,
) -> None:
    """Move an item to another queue (the owner stays unless --owner or --to-triage)."""
    from ..services import items as svc
    from ..services.serialize import item_json

    if owner and to_triage:
        raise click.UsageError("give --owner or --to-triage, not both")
    db = state.open()
    item = svc.transfer(
        db,
        key,
        queue,
        owner=owner,
        to_triage=to_triage,
        state=state_name,
        expected_version=if_version,
    )
    if as_json:
        emit_json(item_json(item, db.clock.now()))
    else:
        click.echo(f"{item.key} -> queue {item.queue} ({item.status}, {item.owner or 'unowned'})")


COMMANDS = [transfer_cmd]
