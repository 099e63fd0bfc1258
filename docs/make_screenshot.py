"""Render docs/screenshot.svg: the main screen on the sample data at its anchor time.

    python docs/make_screenshot.py

The sample data is loaded into a temporary database with a frozen clock at the sample's
anchor (2026-12-04 16:45 UTC), so the picture is the same on every run.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opstui.config import Config  # noqa: E402
from opstui.domain.clock import Clock  # noqa: E402
from opstui.services.loading import anchor_of, load_file  # noqa: E402
from opstui.store.schema import open_database  # noqa: E402
from opstui.ui.app import make_app  # noqa: E402

SAMPLE = ROOT / "sample_data" / "shop.toml"


async def shoot(out: Path, size: tuple[int, int]) -> None:
    anchor = anchor_of(SAMPLE)
    assert anchor is not None
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "shop.db", clock=Clock.frozen(anchor), unix_user="demo")
        load_file(db, SAMPLE)
        app = make_app(db, Config(), clock=db.clock, watch=False)
        async with app.run_test(size=size) as pilot:
            for _ in range(3):
                await pilot.pause()
                await app.workers.wait_for_complete()
            await pilot.pause()
            app.save_screenshot(filename=out.name, path=str(out.parent))
        db.dispose()


if __name__ == "__main__":
    target = ROOT / "docs" / "screenshot.svg"
    asyncio.run(shoot(target, (120, 36)))
    print(target)
