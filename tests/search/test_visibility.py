"""The share of a collection a key sees, from the access groups' statistics."""

from __future__ import annotations

import pytest

from app.search.terms import LexemeStatistics
from app.search.visibility import UNCUT_LIST, UNLISTED_SHARE, Visible, visible_share


def _statistics(floor: float | None, **shares: float) -> LexemeStatistics:
    return LexemeStatistics(shares, floor)


def test_a_keys_groups_and_everyones_rows_are_summed() -> None:
    statistics = _statistics(0.1, a=0.5, b=0.1, **{"*": 0.2})
    assert visible_share(statistics, ["a"]) == pytest.approx(0.7)
    assert visible_share(statistics, ["a", "b"]) == pytest.approx(0.8)
    assert visible_share(_statistics(0.4, a=0.9, b=0.4), ["a", "b"]) == 1.0  # capped


def test_a_group_missing_from_a_short_list_is_next_to_nothing() -> None:
    # Two groups listed: ANALYZE listed every group above ~0.01%, so "*" and "c" are rarer.
    statistics = _statistics(0.01, a=0.99, b=0.01)
    assert visible_share(statistics, ["b"]) == pytest.approx(0.01 + UNLISTED_SHARE)
    assert visible_share(statistics, ["c"]) == pytest.approx(2 * UNLISTED_SHARE)


def test_a_group_missing_from_a_long_list_counts_at_its_floor() -> None:
    listed = {f"g{i}": 0.002 for i in range(UNCUT_LIST)}
    statistics = LexemeStatistics(listed, 0.002)
    # "other" and "*", both at the floor
    assert visible_share(statistics, ["other"]) == pytest.approx(0.004)


def test_no_statistics_no_estimate() -> None:
    assert visible_share(_statistics(None), ["a"]) is None


def test_a_small_share_is_searched_through_the_access_index() -> None:
    one_percent = Visible(1_000_000, 10_000)
    assert one_percent.narrow and one_percent.exact
    # 5% of a million is too many rows to scan: the HNSW index, with text candidates
    # through the access index still.
    five = Visible(1_000_000, 50_000)
    assert five.narrow and not five.exact
    most = Visible(10_000, 9_900)  # 99%: the indexes alone, as for an admin
    assert not most.narrow and not most.exact
    tiny = Visible(1_500, 1_485)  # under 2,000 rows any key scans exactly
    assert tiny.narrow and tiny.exact
