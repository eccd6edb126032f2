"""Sorted paging from the cached order gives the same rows as DuckDB's own ORDER BY, pages never overlap,
masked columns stay masked, and a new version is sorted afresh."""

from __future__ import annotations

from typing import Any

import pytest

from citybrain.opendata import query as q
from citybrain.opendata import service
from tests.opendata.conftest import SECRET_MOBILES, SECRET_NAMES, World, publish, stops_table


@pytest.fixture
def big(run: Any, world: World) -> World:
    # 60 rows where passengers repeat every 7, so ties must be broken the same way on every page
    table = stops_table(extra=57)
    passengers = [(i % 7) * 100 for i in range(table.num_rows)]
    world.lake.write("bus_stops", table.set_column(4, "passengers", [passengers]), mode="full")
    publish(run, world, "bus_stops", name="bus-stops")
    q.clear_caches()
    yield world
    q.clear_caches()


def _rows(run: Any, world: World, **kwargs: Any) -> Any:
    return run(service.open_dataset_rows, "bus-stops", actor=world.public, **kwargs)


def test_cached_order_matches_duckdb(run: Any, big: World, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [
        {"sort": "passengers desc, stop_id asc"},
        {"sort": "district asc, passengers desc, stop_id", "filters": {"district": ["天宁区", "新北区"]}},
        {"sort": "opened desc, stop_id", "text": "站点"},
        {"sort": "passengers, stop_id", "filters": {"district": "没有这个区"}},
    ]
    for case in cases:
        monkeypatch.setattr(q, "SORT_CACHE_MIN_ROWS", 10**9)
        expected = _rows(run, big, limit=1000, **case)
        monkeypatch.setattr(q, "SORT_CACHE_MIN_ROWS", 0)
        got = _rows(run, big, limit=1000, **case)
        assert got.records == expected.records, case
        assert got.total == expected.total, case
        assert q._orders, "the cached path was taken"


def test_pages_cover_every_row_once_with_ties(run: Any, big: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(q, "SORT_CACHE_MIN_ROWS", 0)
    seen: list[str] = []
    for offset in range(0, 60, 7):
        page = _rows(run, big, sort="passengers desc", limit=7, offset=offset)
        assert page.total == 60
        seen += [r["stop_id"] for r in page.records]
        values = [r["passengers"] for r in page.records]
        assert values == sorted(values, reverse=True)
    assert len(seen) == 60 and len(set(seen)) == 60
    # the masked columns come out masked from the held table too, and cannot be sorted on
    page = _rows(run, big, sort="passengers desc", limit=60)
    served = {r["manager_name"] for r in page.records} | {r["manager_mobile"] for r in page.records}
    assert not served & set(SECRET_NAMES + SECRET_MOBILES)
    assert all("manager_id" not in r and "note" in r for r in page.records)
    with pytest.raises(Exception, match="已脱敏"):
        _rows(run, big, sort="manager_name")
    narrow = _rows(run, big, sort="passengers", fields=["stop_id", "passengers"], limit=3)
    assert set(narrow.records[0]) == {"stop_id", "passengers"}


def test_a_new_version_is_sorted_afresh(run: Any, big: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(q, "SORT_CACHE_MIN_ROWS", 0)
    before = _rows(run, big, sort="passengers desc, stop_id", limit=1)
    table = stops_table(extra=57)
    big.lake.write("bus_stops", table.set_column(4, "passengers", [[5] * 59 + [99_999]]), mode="full")
    after = _rows(run, big, sort="passengers desc, stop_id", limit=1)
    assert before.version.version == 2 and after.version.version == 3
    assert after.records[0]["passengers"] == 99_999 and after.total == 60
