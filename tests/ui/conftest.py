"""UI fixtures: a small deterministic shop built with the services, and an app factory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_helpers import ANCHOR, build_shop

from opstui.config import Config
from opstui.domain.clock import Clock
from opstui.store.engine import Database
from opstui.store.schema import open_database


@pytest.fixture
def shop_db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "shop.db", clock=Clock.frozen(ANCHOR), unix_user="tester")
    build_shop(database)
    yield database
    database.dispose()


@pytest.fixture
def make():
    """``make(db)`` -> an OpsApp with watchers off and the frozen clock."""
    from opstui.ui.app import make_app

    def factory(db: Database, config: Config | None = None, **kw):
        return make_app(db, config or Config(), clock=db.clock, watch=False, **kw)

    return factory
