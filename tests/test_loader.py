"""The load format: all-or-nothing, errors name file, entry and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ANCHOR, SAMPLE

from opstui.services.loading import LoadError, load_data, load_file
from opstui.store import queries as q

pytestmark = pytest.mark.both_engines


def count(db, table: str) -> int:
    with db.read() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar())


def test_sample_data_is_a_realistic_shop(sample_db) -> None:
    with sample_db.read() as conn:
        people = q.list_people(conn)
        queues = {r.slug for r in q.list_queues(conn)}
        n_items = q.count_items(conn)
        open_unowned = q.count_items(conn, q.ItemFilter(owner="-", open_only=True))
        events = q.last_event_id(conn)
        first_event = conn.exec_driver_sql(
            "SELECT min(ts) FROM event WHERE field='created'"
        ).scalar()
    assert len(people) == 12
    assert {"support", "sales", "billing", "onboarding", "projects"} <= queues
    assert n_items >= 300 and open_unowned > 0 and events > 3 * n_items
    assert str(first_event) < str(ANCHOR - __import__("datetime").timedelta(weeks=7))
    skills: dict[str, int] = {}
    for p in people:
        for s in p.skills:
            skills[s] = skills.get(s, 0) + 1
    assert [s for s, n in skills.items() if n == 1] == [
        "firewall"
    ]  # exactly one single-person skill


def test_history_is_replayed_with_its_times(sample_db) -> None:
    with sample_db.read() as conn:
        done = q.list_items(conn, q.ItemFilter(status="done", queue="support"), limit=5)
        for item in done:
            log = q.recent_events(conn, 100, item.id)
            assert log[0].field == "created" and log[0].ts == item.created_at
            assert [e.ts for e in log] == sorted(e.ts for e in log)
            assert item.resolved_at is not None and item.resolved_at > item.created_at


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"people": [{"handle": "a"}, {"handle": "a"}]},
            "people[1] (a): handle 'a' repeats people[0]",
        ),
        ({"people": [{"name": "x"}]}, "people[0] (x): missing required key 'handle'"),
        ({"people": [{"handle": "a", "colour": "red"}]}, "unknown key 'colour'"),
        ({"queues": [{"slug": "q", "workflow": "nope"}]}, "queues[0] (q): no workflow 'nope'"),
        (
            {"queues": [{"slug": "q"}], "items": [{"queue": "q", "title": "x", "owner": "ghost"}]},
            "items[0] (x): no person",
        ),
        (
            {
                "queues": [{"slug": "q"}],
                "items": [{"queue": "q", "title": "x", "created": "yesterday"}],
            },
            "not an ISO 8601 time",
        ),
        (
            {
                "workflows": [
                    {"name": "w", "states": ["a", "b"], "transitions": [{"from": "a", "to": "z"}]}
                ]
            },
            "to 'z' is not a state",
        ),
        (
            {"workflows": [{"name": "w", "states": [{"name": "a", "category": "odd"}]}]},
            "category 'odd'",
        ),
        ({"bogus": []}, "unknown section 'bogus'"),
        ({"people": {"handle": "a"}}, "people must be an array of tables"),
    ],
)
def test_bad_files_load_nothing(db, data, message) -> None:
    before = {t: count(db, t) for t in ("person", "queue", "item", "event", "workflow")}
    with pytest.raises(LoadError) as err:
        load_data(
            db,
            {"people": [{"handle": "keep"}], **data} if "people" not in data else data,
            source="f.toml",
        )
    assert message in str(err.value) and str(err.value).startswith("f.toml")
    assert {t: count(db, t) for t in before} == before


def test_bad_toml_syntax(db, tmp_path: Path) -> None:
    f = tmp_path / "broken.toml"
    f.write_text("[[people]\nhandle = 'x'\n")
    with pytest.raises(LoadError, match="broken.toml: not valid TOML"):
        load_file(db, f)


def test_reloading_updates_people_and_queues(db, tmp_path: Path) -> None:
    load_data(
        db, {"people": [{"handle": "a", "capacity": 40}], "queues": [{"slug": "q", "wip_limit": 3}]}
    )
    load_data(
        db, {"people": [{"handle": "a", "capacity": 20}], "queues": [{"slug": "q", "wip_limit": 9}]}
    )
    with db.read() as conn:
        assert q.get_person(conn, "a").capacity_hours == 20
        assert q.list_queues(conn)[0].wip_limit == 9


def test_shifted_load_moves_every_time(db) -> None:
    from datetime import timedelta

    data = {
        "queues": [{"slug": "q"}],
        "items": [
            {
                "queue": "q",
                "title": "x",
                "created": "2026-01-01T10:00:00Z",
                "history": [{"at": "2026-01-01T11:00:00Z", "to": "in_progress"}],
            }
        ],
    }
    load_data(db, data, shift=timedelta(days=2))
    with db.read() as conn:
        item = q.get_item(conn, "Q-1")
    assert item.created_at.isoformat() == "2026-01-03T10:00:00+00:00"
    assert item.first_response_at.isoformat() == "2026-01-03T11:00:00+00:00"


def test_sample_file_exists_in_package() -> None:
    from opstui.paths import sample_data_dir

    assert (sample_data_dir() / "shop.toml").read_bytes() == SAMPLE.read_bytes()


def test_loading_new_policies_recomputes_open_items(db) -> None:
    from datetime import timedelta

    load_data(db, {"queues": [{"slug": "q"}], "items": [{"queue": "q", "title": "old ticket"}]})
    with db.read() as conn:
        assert q.get_item(conn, "Q-1").sla_fr_due is None
    load_data(db, {"sla_policies": [{"name": "p", "queue": "q", "first_response": "30m"}]})
    with db.read() as conn:
        item = q.get_item(conn, "Q-1")
    assert item.sla_policy == "p"
    assert item.sla_fr_due == item.created_at + timedelta(minutes=30)
