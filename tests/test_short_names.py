"""Shortening names that share a prefix (the Queues, Owners and Capacity panes)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from opstui.ui.text import ELLIPSIS, short_names

RESOLVERS = [f"resolver-{n}" for n in range(1, 121)]


def test_a_team_of_resolvers_stays_distinguishable() -> None:
    short = short_names([*RESOLVERS, "alice"], 9)
    assert short["resolver-1"] == "resolve…1"
    assert short["resolver-10"] == "resolv…10"
    assert short["resolver-101"] == "resol…101"
    assert short["alice"] == "alice"
    assert len(set(short.values())) == len(short) == 121
    assert all(cell_len(s) <= 9 for s in short.values())


def test_names_that_fit_or_differ_early_are_cut_at_the_end() -> None:
    short = short_names(["support", "customer-onboarding", "billing"], 9)
    assert short == {"support": "support", "customer-onboarding": "customer…", "billing": "billing"}


def test_distinctive_word_in_the_middle() -> None:
    names = ["aaa-b-1", "aaa-b-2", "aaa-c-1", "aaa-c-2"]
    short = short_names(names, 5)
    # "aaa…1" would stand for two names: the kept part grows by a word
    assert short == {"aaa-b-1": "a…b-1", "aaa-b-2": "a…b-2", "aaa-c-1": "a…c-1", "aaa-c-2": "a…c-2"}
    assert short_names(["team-east-queue", "team-west-queue"], 9) == {
        "team-east-queue": "team-eas…",
        "team-west-queue": "team-wes…",
    }
    long = short_names(["alpha-team-east-queue", "alpha-team-west-queue"], 9)
    assert long == {"alpha-team-east-queue": "…east-qu…", "alpha-team-west-queue": "…west-qu…"}


def test_width_in_cells() -> None:
    names = ["サポート-東京-1", "サポート-東京-2", "サポート-大阪-1"]
    short = short_names(names, 8)
    assert all(cell_len(s) <= 8 for s in short.values())
    assert len(set(short.values())) == 3
    assert short_names(["abc"], 0) == {"abc": ""}
    assert short_names(["abcdef"], 1) == {"abcdef": ELLIPSIS}


names_st = st.lists(
    st.text(
        alphabet=st.sampled_from("ab01-_.xyz東"),
        min_size=1,
        max_size=16,
    ),
    min_size=1,
    max_size=30,
    unique=True,
)


@settings(max_examples=300, deadline=None)
@given(names_st, st.integers(min_value=1, max_value=20))
def test_every_result_fits_and_only_long_names_change(names: list[str], width: int) -> None:
    short = short_names(names, width)
    assert set(short) == set(names)
    for name, s in short.items():
        assert cell_len(s) <= width
        if cell_len(name) <= width:
            assert s == name
        else:
            assert ELLIPSIS in s


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="abcxyz-_", min_size=0, max_size=20),
    st.lists(
        st.text(alphabet="abc0123", min_size=1, max_size=5), min_size=2, max_size=40, unique=True
    ),
)
def test_a_shared_prefix_keeps_distinct_suffixes_apart(prefix: str, suffixes: list[str]) -> None:
    """Handles like ``resolver-101``: whenever the width holds the longest suffix and an
    ellipsis, distinct names stay distinct."""
    names = [f"{prefix}-{s}" for s in suffixes]
    width = max(cell_len(s) for s in suffixes) + 2
    for w in (width, width + 3):
        short = short_names(names, w)
        assert len(set(short.values())) == len(names), short


@settings(max_examples=300, deadline=None)
@given(names_st, st.integers(min_value=3, max_value=20))
def test_collisions_only_where_the_distinctive_part_cannot_fit(
    names: list[str], width: int
) -> None:
    """Two distinct names only ever share a shortening when that shortening is a window
    (``…part…``): their distinctive part was wider than the pane allows."""
    short = short_names(names, width)
    by_short: dict[str, list[str]] = {}
    for name, s in short.items():
        by_short.setdefault(s, []).append(name)
    for s, group in by_short.items():
        if len(group) > 1:
            assert s.startswith(ELLIPSIS) and s.endswith(ELLIPSIS), (s, group)
