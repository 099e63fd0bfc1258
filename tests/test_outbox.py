"""The outbox (issue 19): deliveries written in the change's transaction, sent at least once
to a real HTTP receiver on the loopback and to a real command, by one deliverer at a time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from opstui.domain import hooks as dh
from opstui.errors import OpsError
from opstui.services import items as items_svc
from opstui.services import outbox as svc
from opstui.services import transitions
from opstui.services.loading import LoadError, load_file
from opstui.store import outbox as ob
from opstui.store.engine import Database
from tests.conftest import ANCHOR, ROOT, run_cli

SECRET = "s3cret-signing-key"


class Receiver:
    """A real HTTP server on 127.0.0.1 that records what it is sent.  ``fail`` answers 500
    that many times; ``hold`` keeps the first request open until released."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail = 0
        self.delay = 0.0
        self.hold = threading.Event()
        self.holding = False
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                receiver.arrived.set()
                if receiver.holding:
                    receiver.hold.wait(30)
                if receiver.delay:
                    time.sleep(receiver.delay)
                code = 200
                if receiver.fail > 0:
                    receiver.fail -= 1
                    code = 500
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self) -> list[str]:
        return [h["X-Opstui-Delivery"] for h, _ in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.hold.set()
    r.server.shutdown()
    r.server.server_close()


def _item(db: Database) -> str:
    return items_svc.create_item(db, queue="support", title="Printer on fire").key


def _statuses(db: Database) -> list[tuple[str, int]]:
    with db.read() as conn:
        return [(r.status, r.attempts) for r in ob.deliveries(conn)]


def test_transition_sends_one_signed_delivery(team_db: Database, receiver: Receiver) -> None:
    key = _item(team_db)
    svc.add_hook(
        team_db,
        {"name": "web", "on": "transition", "url": receiver.url, "secret": SECRET, "state": "done"},
    )
    transitions.transition(team_db, key, "in_progress")  # filtered out: state is not done
    transitions.transition(team_db, key, "done")
    with pytest.raises(OpsError):  # a change that fails writes nothing, sends nothing
        transitions.transition(team_db, key, "no_such_state")
    transitions.transition(team_db, key, "in_progress", dry_run=True)
    assert _statuses(team_db) == [("pending", 0)]

    report = svc.deliver(team_db, "a")
    assert (report.sent, report.failed) == (1, 0)
    assert svc.deliver(team_db, "a").sent == 0
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert dh.verify(SECRET, body, headers["X-Opstui-Signature"])
    assert not dh.verify("wrong-secret", body, headers["X-Opstui-Signature"])
    payload = json.loads(body)
    assert payload["id"] == headers["X-Opstui-Delivery"]
    assert payload["event"] == headers["X-Opstui-Event"] == "transition"
    assert payload["item"]["key"] == key and payload["item"]["state"] == "done"
    assert payload["change"] == {
        "field": "status",
        "old": "in_progress",
        "new": "done",
        "event_id": payload["change"]["event_id"],
    }
    assert payload["actor"] == {"unix_user": "tester", "person": None}
    assert _statuses(team_db) == [("delivered", 1)]


def test_failing_receiver_gets_the_same_id_again(team_db: Database, receiver: Receiver) -> None:
    svc.add_hook(team_db, {"name": "web", "on": "created", "url": receiver.url, "max_attempts": 5})
    _item(team_db)
    receiver.fail = 3
    for attempt in range(1, 4):
        assert svc.deliver(team_db, "a").failed == 1
        assert svc.deliver(team_db, "a").failed == 0  # backing off: not due yet
        with team_db.read() as conn:
            row = ob.deliveries(conn)[0]
        assert (row.status, row.attempts, row.last_error) == (
            "pending",
            attempt,
            "HTTP 500 Internal Server Error",
        )
        wait = row.next_at - team_db.clock.now()
        assert timedelta(seconds=7) < wait / 2 ** (attempt - 1) < timedelta(seconds=13)
        team_db.clock.advance(wait + timedelta(seconds=1))
    summary = svc.failing_summary(team_db)
    assert summary.line().startswith("1 delivery failing since ")
    assert summary.line().endswith(": web 500")
    # the weekly review's agenda (screen and reports) says so too
    from opstui.services import review as rsvc

    rv = rsvc.weekly_review(team_db)
    from opstui.services.review.agenda import agenda

    [line] = [a for a in agenda(rv) if a.key == "outbox"]
    assert line.count == 1 and line.note == summary.line()
    assert summary.line() in rsvc.to_markdown(rv)
    assert svc.deliver(team_db, "a").sent == 1
    assert len(set(receiver.ids())) == 1 and len(receiver.ids()) == 4
    assert _statuses(team_db) == [("delivered", 4)]
    assert svc.failing_summary(team_db).count == 0


def test_dead_letter_after_the_limit_and_retry(team_db: Database, receiver: Receiver) -> None:
    svc.add_hook(team_db, {"name": "web", "on": "created", "url": receiver.url, "max_attempts": 2})
    _item(team_db)
    receiver.fail = 2
    svc.deliver(team_db, "a")
    team_db.clock.advance(timedelta(minutes=5))
    svc.deliver(team_db, "a")
    assert _statuses(team_db) == [("dead", 2)]
    team_db.clock.advance(timedelta(hours=5))
    assert svc.deliver(team_db, "a").sent == 0
    assert svc.retry_deliveries(team_db, [], dead=True) == 1
    assert svc.deliver(team_db, "a").sent == 1
    assert len(set(receiver.ids())) == 1


def test_command_hook_gets_json_on_stdin_without_a_shell(team_db: Database, tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    script = "import os,sys; open(sys.argv[1],'w').write(os.environ['OPSTUI_DELIVERY']+'\\n'+sys.stdin.read())"
    svc.add_hook(
        team_db,
        {
            "name": "cmd",
            "on": "assigned",
            "command": [sys.executable, "-c", script, str(out)],
            "secret": SECRET,
        },
    )
    key = items_svc.create_item(team_db, queue="support", title="$(touch pwned); `id`").key
    items_svc.assign(team_db, key, "bob")
    assert svc.deliver(team_db, "a").sent == 1
    delivery_id, body = out.read_text().split("\n", 1)
    payload = json.loads(body)
    assert payload["id"] == delivery_id and payload["item"]["owner"] == "bob"
    assert payload["item"]["title"] == "$(touch pwned); `id`"
    assert not (ROOT / "pwned").exists() and not Path("pwned").exists()


def test_secrets_are_never_printed(team_db: Database, db_path: Path) -> None:
    svc.add_hook(
        team_db,
        {
            "name": "bill",
            "on": "created",
            "url": "http://user:hunter22@127.0.0.1:9/x?token=tok-abc123&a=1",
            "secret": SECRET,
        },
    )
    _item(team_db)
    svc.deliver(team_db, "a")  # port 9: refused, the error quotes the URL
    team_db.dispose()
    outputs = [
        run_cli(*args, db=db_path).stdout
        for args in (
            ("hooks", "ls"),
            ("hooks", "ls", "--json"),
            ("outbox", "ls"),
            ("outbox", "show", "1"),
            ("events",),
        )
    ]
    text = "\n".join(outputs)
    assert "bill" in text and "user:***@127.0.0.1" in text
    for secret in (SECRET, "hunter22", "tok-abc123"):
        assert secret not in text


def test_a_readable_load_file_with_a_secret_is_refused(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "hooks.toml"
    path.write_text(
        '[[queues]]\nslug = "billing"\nname = "Billing"\nprefix = "BIL"\n\n'
        '[[hooks]]\nname = "bill"\non = "created"\nqueue = "billing"\n'
        'url = "http://127.0.0.1:9/"\nsecret = "' + SECRET + '"\n'
    )
    os.chmod(path, 0o644)
    with pytest.raises(LoadError, match=r"chmod 600 hooks.toml"):
        load_file(db, path)
    os.chmod(path, 0o600)
    load_file(db, path)
    assert [h["name"] for h in svc.list_hooks(db)] == ["bill"]


def test_election_one_deliverer_at_a_time(team_db: Database) -> None:
    assert svc.elect(team_db, "a") and not svc.elect(team_db, "b")
    assert svc.deliver(team_db, "b").elected is False
    team_db.clock.advance(svc.ELECTION_TTL + timedelta(seconds=1))  # a stopped renewing
    assert svc.elect(team_db, "b") and not svc.elect(team_db, "a")
    svc.resign(team_db, "b")
    assert svc.elect(team_db, "a")


def _deliver_proc(db_path: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "opstui", "--db", str(db_path), "--now", ANCHOR.isoformat()]
        + [*extra, "deliver", "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


@pytest.mark.slow
def test_killed_deliverer_loses_nothing(
    team_db: Database, db_path: Path, receiver: Receiver
) -> None:
    svc.add_hook(team_db, {"name": "web", "on": "created", "url": receiver.url, "timeout": 20})
    _item(team_db)
    receiver.holding = True
    proc = _deliver_proc(db_path)
    assert receiver.arrived.wait(30), proc.communicate()
    os.kill(proc.pid, signal.SIGKILL)  # mid-send: the request is open, nothing recorded
    proc.wait(10)
    receiver.holding = False
    receiver.hold.set()
    assert _statuses(team_db) == [("pending", 1)]
    # the lease runs out (a later clock), and the next deliverer sends it again
    later = (team_db.clock.now() + timedelta(minutes=2)).isoformat()
    assert run_cli("--now", later, "deliver", "--once", db=db_path).stdout.startswith("sent 1")
    assert len(receiver.ids()) == 2 and len(set(receiver.ids())) == 1
    assert _statuses(team_db) == [("delivered", 2)]


@pytest.mark.slow
def test_two_deliverers_at_once_do_not_both_send(
    team_db: Database, db_path: Path, receiver: Receiver
) -> None:
    svc.add_hook(team_db, {"name": "web", "on": "created", "url": receiver.url})
    for _ in range(12):
        _item(team_db)
    receiver.delay = 0.1
    procs = [_deliver_proc(db_path), _deliver_proc(db_path)]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert sorted(receiver.ids()) == sorted(set(receiver.ids()))
    assert len(receiver.ids()) == 12
    sent = [int(o.split()[1].rstrip(",")) if o.startswith("sent") else 0 for o in outs]
    assert sum(sent) == 12
    assert all(s.status == "delivered" for s in _rows(team_db))


def _rows(db: Database) -> list[Any]:
    with db.read() as conn:
        return ob.deliveries(conn)


@pytest.mark.slow
def test_the_sample_revenue_loop(sample_db: Database) -> None:
    """A project delivered in the sample shop creates its invoice item in Billing and is
    posted to the invoicing endpoint (the real sample_data/invoicing.py)."""
    from opstui.store import queries as q

    endpoint = subprocess.Popen(
        [sys.executable, str(ROOT / "sample_data" / "invoicing.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = endpoint.stdout.readline() if endpoint.stdout else ""
        url = first.split(" on ")[1].strip()
        hook = next(h for h in svc.list_hooks(sample_db) if h["name"] == "invoicing")
        assert hook["on"] == "transition" and hook["state"] == "delivered"
        svc.add_hook(
            sample_db, {"name": "invoicing", "on": "transition", "state": "delivered", "url": url}
        )
        with sample_db.read() as conn:
            project = q.list_items(
                conn, q.ItemFilter(queue="projects", status="in_progress", owner="ines"), limit=1
            )[0]
        transitions.transition(sample_db, project.key, "ready_for_qa")
        assert _rows(sample_db) == []  # not delivered yet: nothing to tell
        moved, done = transitions.transition(sample_db, project.key, "delivered")
        assert moved.status == "delivered" and [d["type"] for d in done] == ["follow_up"]
        with sample_db.read() as conn:
            invoice = q.list_items(conn, q.ItemFilter(queue="billing"), limit=1)[0]
        assert invoice.title == f"Invoice: {project.title}" and invoice.kind == "invoice"
        assert [(r.hook, r.event) for r in _rows(sample_db)] == [("invoicing", "transition")]
        assert svc.deliver(sample_db, "a").sent == 1
        line = endpoint.stdout.readline() if endpoint.stdout else ""
        assert line.startswith(f"invoice raised for {project.key} ")
    finally:
        endpoint.kill()
        endpoint.wait()


def test_sla_crossings_and_drift_are_heard(team_db: Database) -> None:
    from opstui.services.loading import load_data
    from opstui.services.sla import crossings

    policy = {"name": "support", "queue": "support", "first_response": "30m", "resolution": "4h"}
    load_data(team_db, {"sla_policies": [policy]}, source="p.toml")
    for on in ("sla.warning", "sla.breached"):
        svc.add_hook(team_db, {"name": on, "on": on, "command": ["true"], "priority": "P1"})
    items_svc.create_item(team_db, queue="support", title="P3: filtered out", priority="P3")
    key = items_svc.create_item(team_db, queue="support", title="urgent", priority="P1").key
    team_db.clock.advance(timedelta(minutes=25))  # first response: past its warning point
    assert crossings.record_sla_crossings(team_db)
    team_db.clock.advance(timedelta(hours=5))  # both targets breached
    assert crossings.record_sla_crossings(team_db)
    got = sorted(
        (r.event, json.loads(r.payload)["item"]["key"], json.loads(r.payload)["change"]["field"])
        for r in _rows(team_db)
    )
    assert got == sorted(
        [("sla.warning", key, "sla_warning")] + [("sla.breached", key, "sla_breached")] * 2
    )
    rule = dh.HookRule(1, "d", "drifting", None, None, None, "http://x/", None, None, 5, 3)
    assert rule.hears("drifting", "finishes Fri, due Wed") and not rule.hears("drifting", None)


def test_the_change_feed_looks_at_the_outbox_only_when_a_delivery_can_follow(
    team_db: Database, receiver: Receiver
) -> None:
    """``may_deliver`` (what an open dashboard asks of each applied change before it reads
    the outbox) is true for exactly the transactions that wrote deliveries, given the
    hook events the active hooks hear, and for hook changes."""
    from opstui.store import queries as q

    def events_since(cursor: int) -> list[q.EventRecord]:
        with team_db.read() as conn:
            return q.events_after(conn, cursor)

    def deliveries() -> int:
        with team_db.read() as conn:
            return len(ob.deliveries(conn))

    key = _item(team_db)
    svc.add_hook(team_db, {"name": "web", "on": "transition", "url": receiver.url})
    seen = svc.look(team_db)
    assert seen.heard == frozenset({"transition"})
    with team_db.read() as conn:
        cursor = q.last_event_id(conn)
    items_svc.assign(team_db, key, "bob")  # nobody hears assignments: nothing written
    items_svc.comment(team_db, key, "on it")
    events = events_since(cursor)
    assert events and deliveries() == 0
    assert not svc.may_deliver(events, seen.heard)
    assert svc.may_deliver(events, None)  # not looked yet: every hook event counts
    cursor = events[-1].id
    transitions.transition(team_db, key, "in_progress")
    events = events_since(cursor)
    assert deliveries() == 1
    assert svc.may_deliver(events, seen.heard)
    cursor = events[-1].id
    svc.remove_hook(team_db, "web")  # the pending delivery becomes a dead letter
    events = events_since(cursor)
    assert events and all(e.item_id is None for e in events)
    assert svc.may_deliver(events, seen.heard)
    assert svc.look(team_db).heard == frozenset()
