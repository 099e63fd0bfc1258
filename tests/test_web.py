"""`opstui serve` without a browser: token, tickets, session cap, attribution, read-only.

Real processes and real HTTP/websocket connections (aiohttp client); the browser itself is
in test_web_browser.py.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest

from opstui.web.session import (
    READ_ONLY_NOTE,
    SessionCommand,
    check_name,
    is_loopback,
    server_login,
    token_ok,
    web_actor,
)
from tests._served import Served
from tests.conftest import run_cli


def test_names_tokens_and_hosts() -> None:
    assert check_name("alice") is None
    assert check_name("a.b-c_d9") is None
    for bad in ("", "-x", "a b", "a" * 33, "é", "x;rm", "[b]"):
        assert check_name(bad), bad
    assert token_ok(None, None) and token_ok("s3cret", "s3cret")
    assert not token_ok("s3cret", None) and not token_ok("s3cret", "s3cre")
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    assert not is_loopback("ops.example")
    assert web_actor("alice", "ops") == "ops/web:alice"
    assert web_actor("", "ops") == "ops/web"


def test_session_command_carries_read_only_and_name(tmp_path: Path) -> None:
    db = tmp_path / "my ops.db"
    ro = SessionCommand(db, view="wall").for_user("alice")
    assert "--read-only" in ro and "--view wall" in ro and "--web-user=alice" in ro
    assert "'" in ro  # the path with a space is quoted for the shell
    rw = SessionCommand(db, allow_edit=True).for_user("")
    assert "--read-only" not in rw


def _last_id(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT coalesce(max(id), 0) FROM event").fetchone()[0])


def _who(db: Path, after: int) -> set[tuple[str, int | None]]:
    """Who the events after ``after`` are recorded as: (unix_user, person_id)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT unix_user, person_id FROM event WHERE id > ?", (after,))
        return set(rows.fetchall())


def test_browser_changes_are_recorded_as_server_user_plus_name(team_db) -> None:
    from opstui.services import items

    item = items.create_item(team_db, queue="support", title="Disk full")
    path = team_db.path
    login = server_login()
    # as a browser tab of `opstui serve --allow-edit` runs it; the claimed name is a
    # label and never maps to a person, even one with that handle
    mark = _last_id(path)
    done = run_cli("--web-user=alice", "comment", item.key, "from the browser", db=path)
    assert done.returncode == 0, done.stderr
    assert _who(path, mark) == {(f"{login}/web:alice", None)}
    # the plain CLI keeps its attribution
    mark = _last_id(path)
    done = run_cli("comment", item.key, "from a terminal", db=path)
    assert done.returncode == 0, done.stderr
    assert {who for who, _ in _who(path, mark)} == {login}
    # a name the server would never pass is refused, nothing written
    mark = _last_id(path)
    done = run_cli("--web-user=a b", "comment", item.key, "x", db=path)
    assert done.returncode == 2 and "name" in done.stderr and "Traceback" not in done.stderr
    assert _last_id(path) == mark


async def test_token_ticket_and_session_cap(team_db) -> None:
    path = team_db.path
    team_db.dispose()
    # any address but loopback needs a token: one is generated and printed once
    server = Served(path, "--host", "0.0.0.0", "--max-sessions", "1")
    try:
        m = re.search(r"token \(shown once\): (\S+)", server.output())
        assert m, server.output()
        token = m.group(1)
        base = f"http://127.0.0.1:{server.port}/"
        async with aiohttp.ClientSession() as http:
            for url in (base, f"{base}?token=nope", f"{base}ws/forged"):
                async with http.get(url) as resp:
                    assert resp.status == 401, url
            async with http.get(f"{base}?token={token}&as=bad%20name") as resp:
                assert resp.status == 400
            assert " started" not in server.output()  # no refused request started anything

            async with http.get(f"{base}?token={token}&as=alice") as resp:
                assert resp.status == 200
                page = await resp.text()
            ws_url = re.search(r'data-session-websocket-url="([^"]+)"', page)
            assert ws_url and "/ws/" in ws_url.group(1)
            ws_path = ws_url.group(1).split(f":{server.port}", 1)[1]
            ws = await http.ws_connect(f"{base[:-1]}{ws_path}?width=80&height=24")
            # the app process writes to the browser: its first screen arrives
            msg = await asyncio.wait_for(ws.receive(), 30)
            assert msg.type == aiohttp.WSMsgType.BINARY
            # one session is the cap: the next page is refused before anything starts
            async with http.get(f"{base}?token={token}&as=bob") as resp:
                assert resp.status == 503 and "sessions" in await resp.text()
            # a ticket works once
            async with http.get(f"{base[:-1]}{ws_path}") as resp:
                assert resp.status == 401
            await ws.close()
            deadline = time.monotonic() + 20
            while "ended (0 running)" not in server.output():
                assert time.monotonic() < deadline, server.output()
                await asyncio.sleep(0.1)
            async with http.get(f"{base}?token={token}&as=bob") as resp:
                assert resp.status == 200
    finally:
        server.stop()


def test_serve_refuses_a_missing_database(tmp_path: Path) -> None:
    done = run_cli("serve", "--port", "8080", db=tmp_path / "none.db")
    assert done.returncode == 1 and "no database" in done.stderr


async def test_read_only_browser_tab_refuses_writes_with_a_message(shop_db_path) -> None:
    from opstui.config import Config
    from opstui.domain.clock import Clock
    from opstui.store.schema import open_database
    from opstui.ui.app import make_app
    from opstui.ui.screens.main import MainScreen

    ro = open_database(shop_db_path, create=False, clock=Clock(), readonly=True)
    app = make_app(ro, Config(), watch=False, read_only_note=READ_ONLY_NOTE)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.press("n")  # new item: refused before any form opens
            await pilot.pause()
            # the same gate for an action on an item and for a write handed to the app
            app.item_action("assign", "SUP-1")
            app.write(lambda db: pytest.fail("a write ran"), lambda result: "")
            await pilot.pause()
            await app.workers.wait_for_complete()
            assert isinstance(app.screen, MainScreen)  # no form opened
            # every refusal says why, in the browser's words
            notes = [n.message for n in app._notifications]
            assert notes.count(READ_ONLY_NOTE) == 3, notes
    finally:
        ro.dispose()


@pytest.fixture
def shop_db_path(team_db) -> Path:
    from opstui.services import items

    items.create_item(team_db, queue="support", title="Printer jam")
    path = team_db.path
    team_db.dispose()
    return path
