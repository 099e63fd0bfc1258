"""A small Chrome DevTools Protocol client for the browser test (aiohttp websockets).

Starts the system's chromium headless, opens one page and exposes what the test needs:
navigate, evaluate JavaScript, type keys, take a screenshot.  No browser download.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Keeps the xterm.js Terminal the page creates reachable as ``window.__opstuiTerm``: the
#: page's code assigns ``this.terminal = new Terminal(...)``; a setter on Object.prototype
#: sees that assignment, stores the object and turns it back into a plain property.
TERMINAL_HOOK = """
(() => {
  Object.defineProperty(Object.prototype, "terminal", {
    configurable: true,
    get() { return undefined; },
    set(v) {
      Object.defineProperty(this, "terminal", {
        value: v, writable: true, configurable: true, enumerable: true,
      });
      if (v && v.buffer && v.buffer.active && !window.__opstuiTerm) {
        window.__opstuiTerm = v;
      }
    },
  });
})();
"""

#: The terminal's screen as text, one line per row.
SCREEN_TEXT = """
(() => {
  const t = window.__opstuiTerm;
  if (!t) return "";
  const b = t.buffer.active, out = [];
  for (let y = 0; y < t.rows; y++) {
    const line = b.getLine(b.viewportY + y);
    out.push(line ? line.translateToString(true) : "");
  }
  return out.join("\\n");
})()
"""


def find_chromium() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless chromium process with one page, driven over the DevTools protocol."""

    def __init__(self, executable: str, profile: Path, *, width: int = 1280, height: int = 800):
        self.executable = executable
        self.profile = profile
        self.size = (width, height)
        self.proc: subprocess.Popen[bytes] | None = None
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Browser:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        self.profile.mkdir(parents=True, exist_ok=True)
        width, height = self.size
        self.proc = subprocess.Popen(
            [
                self.executable,
                "--headless=new",
                "--no-sandbox",  # root in CI containers
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--enable-unsafe-swiftshader",
                f"--window-size={width},{height}",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "LANG": "C.UTF-8"},
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its DevTools port in 20 s")
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json()
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        await self.send("Page.enable")
        await self.send("Runtime.enable")
        await self.send("Page.addScriptToEvaluateOnNewDocument", source=TERMINAL_HOOK)

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            data = json.loads(msg.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                if "error" in data:
                    future.set_exception(RuntimeError(str(data["error"])))
                else:
                    future.set_result(data.get("result", {}))

    async def send(self, method: str, **params: Any) -> Any:
        assert self.ws is not None
        n = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[n] = future
        await self.ws.send_str(json.dumps({"id": n, "method": method, "params": params}))
        return await asyncio.wait_for(future, 20)

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def screen_text(self) -> str:
        return str(await self.evaluate(SCREEN_TEXT) or "")

    async def wait_for_text(self, *needles: str, timeout: float = 20.0) -> str:
        """Poll the terminal's screen until every needle is on it; returns the screen."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = await self.screen_text()
            if all(n in text for n in needles):
                return text
            await asyncio.sleep(0.05)
        missing = [n for n in needles if n not in text]
        raise AssertionError(f"not on the page after {timeout:g} s: {missing}\n{text}")

    async def press(self, key: str) -> None:
        """Type one printable key into the terminal (focused first, as a user's click)."""
        await self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        code = f"Key{key.upper()}" if key.isalpha() else ""
        vk = ord(key.upper())
        base = {"key": key, "code": code, "windowsVirtualKeyCode": vk}
        await self.send("Input.dispatchKeyEvent", type="keyDown", text=key, **base)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **base)

    async def screenshot(self, path: Path) -> None:
        result = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(result["data"]))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
        if self.session is not None:
            await self.session.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
