"""``opstui serve``: textual-serve with a token, tickets and a session cap.

textual-serve starts one app process per browser websocket.  This server puts three checks
in front of that, all before any process starts:

* the page (``/``) needs the token when one is set (401 otherwise) and a usable name;
* the page hands the browser a one-time ticket in the websocket path (``/ws/<ticket>``),
  so the websocket never starts a process without a page load that passed the token check;
* at most ``max_sessions`` app processes run at once (503 beyond that), so a reload loop
  cannot fork the server to death.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from .session import check_name, token_ok

log = logging.getLogger("opstui.serve")

TEMPLATES = Path(__file__).parent / "templates"
#: How long a page's ticket stays usable (the browser opens its websocket at once).
TICKET_SECONDS = 60.0


class OpsServer(Server):
    """Serve one opstui app process per browser tab."""

    def __init__(
        self,
        command_for: Callable[[str], str],
        *,
        host: str,
        port: int,
        title: str,
        token: str | None,
        max_sessions: int,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        super().__init__("opstui", host=host, port=port, title=title, templates_path=TEMPLATES)
        self.command_for = command_for
        self.token = token
        self.max_sessions = max_sessions
        self.on_ready = on_ready
        #: ticket -> (browser name, expiry on the monotonic clock)
        self.tickets: dict[str, tuple[str, float]] = {}
        self.sessions: set[str] = set()
        self.websockets: set[web.WebSocketResponse] = set()

    # --- aiohttp application -------------------------------------------------------------

    async def _make_app(self) -> web.Application:
        app = web.Application()
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws/{ticket}", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_shutdown.append(self.on_shutdown)
        return app

    def serve(self, debug: bool = False) -> None:
        """Listen until Ctrl+C / SIGTERM; ``on_ready`` runs once the port is bound."""
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.request_exit)
            except NotImplementedError:  # pragma: no cover - not on this platform
                pass
        web.run_app(
            self._make_app(),
            host=self.host,
            port=self.port,
            handle_signals=False,
            loop=loop,
            print=lambda *args: self.on_ready() if self.on_ready else None,
        )

    async def on_shutdown(self, app: web.Application) -> None:
        """Stopping: close every browser connection, which ends its app process."""
        for websocket in list(self.websockets):
            await websocket.close(code=1001, message=b"server stopping")

    def initialize_logging(self) -> None:
        logging.basicConfig(level="INFO", format="opstui serve: %(message)s")
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    # --- checks ----------------------------------------------------------------------------

    def _refuse(self, status: int, text: str) -> web.Response:
        return web.Response(
            status=status,
            text=f"opstui: {text}\n",
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    def _purge_tickets(self) -> None:
        now = time.monotonic()
        for ticket, (_, expiry) in list(self.tickets.items()):
            if expiry < now:
                del self.tickets[ticket]

    def _full(self) -> bool:
        return len(self.sessions) >= self.max_sessions

    # --- handlers ----------------------------------------------------------------------------

    async def handle_index(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        if not token_ok(self.token, request.query.get("token")):
            log.info("refused %s: no valid token", request.remote)
            return self._refuse(401, "a valid token is required (?token=...)")
        name = request.query.get("as", "")
        if name and (why := check_name(name)):
            return self._refuse(400, why)
        self._purge_tickets()
        if self._full():
            return self._refuse(503, f"all {self.max_sessions} sessions are in use; try later")
        if len(self.tickets) >= 4 * self.max_sessions:
            return self._refuse(503, "too many pages opened without a session; try later")
        ticket = secrets.token_urlsafe(18)
        self.tickets[ticket] = (name, time.monotonic() + TICKET_SECONDS)
        scheme = "wss" if request.secure else "ws"
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{scheme}://{request.host}/ws/{ticket}",
            "static_url": "/static/",
            "title": self.title,
        }
        response = aiohttp_jinja2.render_template("index.html", request, context)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        self._purge_tickets()
        entry = self.tickets.pop(request.match_info["ticket"], None)
        if entry is None:
            return self._refuse(401, "this session link is not valid: reload the page")
        if self._full():
            return self._refuse(503, f"all {self.max_sessions} sessions are in use; try later")
        name = entry[0]
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        websocket = web.WebSocketResponse(heartbeat=15)
        service: AppService | None = None
        session_id = secrets.token_hex(8)
        self.sessions.add(session_id)  # counted before anything starts
        log.info("session %s for %r started (%d running)", session_id, name, len(self.sessions))
        self.websockets.add(websocket)
        try:
            await websocket.prepare(request)
            service = AppService(
                self.command_for(name),
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=False,
            )
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # one session's failure never stops the server
            log.error("session %s: %s: %s", session_id, type(error).__name__, error)
        finally:
            if service is not None:
                await service.stop()
            self.sessions.discard(session_id)
            self.websockets.discard(websocket)
            log.info("session %s ended (%d running)", session_id, len(self.sessions))
        return websocket

    def running(self) -> int:
        return len(self.sessions)
