"""地名地址匹配 (gazetteer): address text → a point, for reports that come without coordinates.

A 12345 caller or a 市民随手拍 report often gives only "延陵西路与晋陵北路交叉口" or
"青龙街道朝阳花园社区门口". The gazetteer holds known names (roads, 社区/村, 街道/镇, 区县) with
a point each (and a line for roads) and picks the *longest* known name found in the text, since a
longer name is the more precise place ("朝阳花园社区" over "青龙街道").

Refinements, each lowering or raising ``confidence`` (0–1):

- two roads named with 与/和/交叉/路口 and whose lines cross give their crossing (0.9);
- a name known in several districts (人民路) is narrowed by a 区县/街道 name also in the text;
  still ambiguous → the first in code order at half confidence;
- a district or street named in the text that agrees with the match adds 0.1.

Only exact substrings match (after NFKC normalisation); no word segmentation is needed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from shapely.geometry import LineString, Point

__all__ = ["Gazetteer", "GeocodeHit", "Place", "PlaceKind"]


class PlaceKind(StrEnum):
    ROAD = "road"  # 道路
    COMMUNITY = "community"  # 社区/村
    STREET = "street"  # 街道/镇
    DISTRICT = "district"  # 区县
    LANDMARK = "landmark"  # 地标 (小区, 学校, 医院 …)


_BASE_CONFIDENCE = {
    PlaceKind.LANDMARK: 0.8,
    PlaceKind.COMMUNITY: 0.7,
    PlaceKind.ROAD: 0.6,
    PlaceKind.STREET: 0.4,
    PlaceKind.DISTRICT: 0.2,
}
_CROSSING_CONFIDENCE = 0.9
_CROSSING_WORDS = ("与", "和", "交叉", "路口", "交汇", "/")


@dataclass(frozen=True, slots=True)
class Place:
    """A gazetteer row. ``code`` is the division code the place lies in (a road: its district)."""

    name: str
    kind: PlaceKind
    lon: float
    lat: float
    code: str
    line: tuple[tuple[float, float], ...] | None = None


class GeocodeHit(NamedTuple):
    lon: float
    lat: float
    matched_name: str
    confidence: float


def _normalise(text: str) -> str:
    # NFKC folds full-width digits/letters; spaces are noise in Chinese addresses
    return "".join(unicodedata.normalize("NFKC", text).split())


class Gazetteer:
    def __init__(self, places: Iterable[Place]) -> None:
        self._by_name: dict[str, list[Place]] = {}
        for place in places:
            self._by_name.setdefault(_normalise(place.name), []).append(place)
        for rows in self._by_name.values():
            rows.sort(key=lambda p: p.code)
        # longest first so the first hit found is the most precise name
        self._names = sorted(self._by_name, key=lambda n: (-len(n), n))

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._by_name.values())

    def places(self, name: str) -> list[Place]:
        return list(self._by_name.get(_normalise(name), ()))

    def lookup(self, text: str) -> GeocodeHit | None:
        """Best point for an address text, or ``None`` when no known name occurs in it."""
        if not text:
            return None
        text = _normalise(text)
        found = self._found_names(text)
        if not found:
            return None
        context = [p for n in found for p in self._by_name[n] if p.kind in (PlaceKind.DISTRICT, PlaceKind.STREET)]
        crossing = self._crossing(text, found, context)
        if crossing is not None:
            return crossing
        name = found[0]
        candidates = self._narrow(self._by_name[name], context)
        place = candidates[0]
        confidence = _BASE_CONFIDENCE[place.kind]
        others = [c for c in context if c is not place]
        if len(candidates) > 1:
            confidence /= 2
        elif any(not place.code.startswith(c.code) and not c.code.startswith(place.code) for c in others):
            # the text names a district or street the place is not in: one of them is wrong
            confidence -= 0.2
        elif others:
            confidence += 0.1
        return GeocodeHit(place.lon, place.lat, place.name, round(min(confidence, 0.95), 2))

    def _found_names(self, text: str) -> list[str]:
        """Known names in ``text``, longest first, skipping names inside a longer one already found
        (so "人民中路" does not also count as a hit for a shorter road name it contains)."""
        found: list[str] = []
        taken = [False] * len(text)
        for name in self._names:
            start = text.find(name)
            while start != -1:
                span = range(start, start + len(name))
                if not any(taken[i] for i in span):
                    for i in span:
                        taken[i] = True
                    if name not in found:
                        found.append(name)
                start = text.find(name, start + 1)
        return found

    @staticmethod
    def _narrow(candidates: list[Place], context: list[Place]) -> list[Place]:
        if len(candidates) == 1 or not context:
            return candidates
        narrowed = [p for p in candidates if any(p.code.startswith(c.code) for c in context if c is not p)]
        return narrowed or candidates

    def _crossing(self, text: str, found: list[str], context: list[Place]) -> GeocodeHit | None:
        roads = [n for n in found if any(p.kind is PlaceKind.ROAD and p.line for p in self._by_name[n])]
        if len(roads) < 2 or not any(word in text for word in _CROSSING_WORDS):
            return None
        for i, first in enumerate(roads):
            for second in roads[i + 1 :]:
                for a in self._narrow([p for p in self._by_name[first] if p.line], context):
                    for b in self._narrow([p for p in self._by_name[second] if p.line], context):
                        meet = LineString(a.line).intersection(LineString(b.line))
                        if isinstance(meet, Point):
                            return GeocodeHit(
                                round(meet.x, 6),
                                round(meet.y, 6),
                                f"{a.name}与{b.name}交叉口",
                                _CROSSING_CONFIDENCE,
                            )
        return None
