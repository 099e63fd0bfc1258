"""The picker you can type into: filtering, keys, ordering with reasons, wide characters."""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text
from ui_helpers import ANCHOR, settle

from opstui.domain.suggest import PersonLoad, rank_people, wanted_skills
from opstui.services import items, people
from opstui.store import queries as q
from opstui.ui.screens.picker import Candidate, PickerScreen, fit, match_score


def add_team(db) -> None:
    """hiro (windows, least loaded with it), a wide-character name, skills for alice/bob."""
    people.add_person(db, handle="hiro", name="Hiro Tanaka", team="projects", skills="windows")
    people.add_person(db, handle="yamada", name="山田 Zoë 🚀", team="support", skills="linux")
    people.edit_person(db, "alice", skills="linux,windows")
    people.edit_person(db, "bob", skills="windows")


def owner(db, key: str) -> str | None:
    with db.read() as conn:
        rec = q.get_item(conn, key)
    assert rec is not None
    return rec.owner


def test_rank_people_orders_with_reasons() -> None:
    def p(h: str, team: str, skills: str, load: float | None, away: bool = False) -> PersonLoad:
        return PersonLoad(h, h.title(), team, tuple(skills.split()), load, away)

    ranked = rank_people(
        [
            p("ann", "support", "linux", 0.1),
            p("ben", "support", "windows", 0.9),
            p("cid", "infra", "windows", 0.2),
            p("dot", "infra", "", 0.0),
            p("eve", "support", "windows", 0.0, away=True),
        ],
        skills=("windows",),
        team="support",
    )
    assert [(r.person.handle, r.group) for r in ranked] == [
        ("cid", "suggested"),
        ("ann", "team"),
        ("ben", "team"),
        ("dot", "others"),
        ("eve", "away"),
    ]
    assert ranked[0].reason == "suggested: least loaded with skill windows"
    assert ranked[1].reason == "same team as the queue (support)"
    # no skill wanted: the least loaded of the queue's team
    ranked = rank_people([p("ann", "support", "", 0.5), p("dot", "infra", "", 0.0)], team="support")
    assert ranked[0].person.handle == "ann" and "in team support" in ranked[0].reason


def test_wanted_skills_are_whole_words() -> None:
    known = ["windows", "m365", "backup", "qa"]
    assert wanted_skills(known, "incident", "Windows update loops; M365 sign-in") == (
        "m365",
        "windows",
    )
    assert wanted_skills(known, "task", "Backups are quarterly") == ()


def test_match_score_prefers_the_handle() -> None:
    hiro = Candidate("hiro", "hiro", "Hiro Tanaka", keywords=("projects", "windows"))
    dana = Candidate("dana", "dana", "Dana Whitfield", keywords=("leads",))
    bob = Candidate("bob", "bob", "Bob Okafor", keywords=("support",))
    assert match_score("hi", hiro) > match_score("hi", dana) > 0
    assert match_score("hi", bob) == 0
    assert match_score("win", hiro) > 0 and match_score("proj tan", hiro) > 0
    assert match_score("proj bob", hiro) == 0


def test_fit_measures_cells_not_characters() -> None:
    for value in ("山田 Zoë 🚀", "abc", "[@click=app.quit]x[/]"):
        assert fit(value, 8).cell_len == 8
        assert fit(Text(value), 20).cell_len == 20


async def test_typing_h_i_narrows_to_hiro_and_enter_assigns(shop_db, make):
    add_team(shop_db)
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app.item_action("assign", "SUP-2")
        await settle(pilot, app)
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        await pilot.press("h")
        await pilot.press("i")
        assert picker.shown[0].value == "hiro"
        assert picker.highlighted().value == "hiro"
        assert all(match_score("hi", c) for c in picker.shown)
        await pilot.press("enter")
        await settle(pilot, app)
        assert owner(shop_db, "SUP-2") == "hiro"


async def test_keys_move_and_esc_cancels(shop_db, make):
    add_team(shop_db)
    items.edit_item(shop_db, "SUP-2", title="VPN drops on Windows laptops")
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app.item_action("assign", "SUP-2")
        await settle(pilot, app)
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        # the suggestion comes first and says why; the hint names what Enter does
        first = picker.highlighted()
        assert first.value == "hiro" and first.group == (
            "suggested: least loaded with skill windows"
        )
        assert "enter assigns hiro" in str(picker.query_one("#pick-hint").content)
        # carol is away: marked and last among the people; (nobody) after everyone
        values = [c.value for c in picker.shown]
        assert values[-2:] == ["carol", ""] and picker.shown[-2].tag.startswith("away")
        await pilot.press("down")
        second = picker.highlighted()
        assert second.value != "hiro"
        await pilot.press("up")
        assert picker.highlighted().value == "hiro"
        await pilot.press("tab", "j", "j", "k")  # in the list, j/k move
        assert picker.highlighted() == second
        await pilot.press("b")  # typing in the list filters again
        assert picker.query_one("#pick-filter").value == "b"
        await pilot.press("escape")
        await settle(pilot, app)
        assert not isinstance(app.screen, PickerScreen)
        assert owner(shop_db, "SUP-2") is None


async def test_no_match_enter_does_nothing(shop_db, make):
    add_team(shop_db)
    app = make(shop_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app.item_action("assign", "SUP-2")
        await settle(pilot, app)
        await pilot.press(*"zzqx", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, PickerScreen)
        assert "nothing matches" in str(app.screen.query_one("#pick-hint").content)
        assert owner(shop_db, "SUP-2") is None


def test_picker_snapshot_80x24(shop_db, make, snap_compare):
    """Hostile title, a wide-character name, an away person, columns aligned."""
    add_team(shop_db)
    items.edit_item(shop_db, "SUP-2", title="[@click=app.quit]x[/] \x1b[2J windows \x9b31m")
    items.edit_item(shop_db, "SUP-2", due=ANCHOR + timedelta(minutes=5))

    async def before(pilot) -> None:
        await settle(pilot, pilot.app)
        pilot.app.item_action("assign", "SUP-2")
        await settle(pilot, pilot.app)

    assert snap_compare(make(shop_db), terminal_size=(80, 24), run_before=before)
