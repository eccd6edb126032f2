"""A labelled Chinese corpus of citizen reports, generated from the 事项 list and a lexicon.

No public labelled set of 12345 工单 or 随手拍 texts exists to train on, so the classifier learns from
sentences built here: a 常州 place, a way of naming the problem (synonyms and local words from
``data/lexicon.json``), and a frame imitating how reports read ("市民来电反映：…", "…已经好几天了").

Frames come in three disjoint sets: ``train`` for fitting, ``calibration`` for fitting the confidence
temperature, ``test`` for ``evaluate``. Held-out accuracy therefore measures more than memorised frames;
the problem wording itself is shared, so it still flatters the model compared with real 工单.
Everything is deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from citybrain.cases.codes import CodeBook, load_codes
from citybrain.errors import Invalid

FrameSet = Literal["train", "calibration", "test"]
#: ``seen``: wording the model trains on; ``unseen``: the last term/phrase of every list of three or more,
#: kept out of training so ``evaluate`` can measure wording the model never saw.
Wording = Literal["all", "seen", "unseen"]

#: Frames: {place} and {problem} are filled in; a frame may leave out the place.
FRAMES: Mapping[str, tuple[str, ...]] = {
    "train": (
        "市民来电反映：{place}{problem}，希望相关部门尽快处理。",
        "市民来电反映{place}{problem}，要求处理。",
        "{place}{problem}，已经好几天了。",
        "{place}{problem}，麻烦管一下",
        "随手拍：{place}{problem}",
        "来电人称{place}{problem}，存在安全隐患，请核实处理。",
        "{problem}，地点在{place}。",
        "网格员巡查发现{place}{problem}。",
        "{place}，{problem}，没人管",
        "我家楼下{place}{problem}，影响居民生活",
        "{problem}",
        "投诉{place}{problem}",
    ),
    "calibration": (
        "诉求：{place}{problem}，请处理。",
        "{place}附近{problem}，希望尽快解决",
        "热线转办：{problem}。地址{place}。",
        "有居民说{place}{problem}",
        "{problem}！！{place}",
    ),
    "test": (
        "工单内容：{place}{problem}，诉求人要求尽快处置。",
        "你好，我想反映一下{place}那边{problem}。",
        "{place}这里{problem}，都一个礼拜了也没人来弄",
        "【随手拍】{problem}（{place}）",
        "来电人反映其居住的{place}附近{problem}，请相关部门予以解决。",
        "请问{place}{problem}归谁管？",
        "{problem}，位置：{place}，请处理",
        "路过{place}看到{problem}",
    ),
}

#: Ways to join an object term and a defect, per frame set (again disjoint between train and test).
_OBJECT_FORMS: Mapping[str, tuple[str, ...]] = {
    "train": ("{t}{d}", "{t}{d}", "那个{t}{d}", "{t}出问题了，{d}"),
    "calibration": ("{t}{d}", "有个{t}{d}"),
    "test": ("{t}{d}", "一个{t}{d}", "{t}有点问题，{d}"),
}

_TAILS: Mapping[str, tuple[str, ...]] = {
    "train": ("", "", "", "，存在安全隐患", "，请尽快处理", "，影响出行", "，已经反映过多次了"),
    "calibration": ("", "", "，谢谢", "，很危险"),
    "test": ("", "", "，老人小孩经过很不安全", "，希望早点解决", "，拍了照片"),
}


#: Label of background sentences (no 事项); never offered as a suggestion.
NO_MATTER = "无关"


@dataclass(frozen=True)
class Example:
    """One labelled sentence."""

    text: str
    kind: str
    code: str


@dataclass(frozen=True)
class Lexicon:
    """Places, defect phrases per facility family, object terms and 事项 phrases (``data/lexicon.json``)."""

    places: Mapping[str, tuple[str, ...]]
    defects: Mapping[str, tuple[str, ...]]
    objects: Mapping[str, Mapping[str, Any]]
    matters: Mapping[str, tuple[str, ...]]
    cues: Mapping[str, tuple[str, ...]]
    #: Calls that are no city-management matter (咨询, chit-chat), so the model can say "none of these".
    background: tuple[str, ...] = ()

    def terms(self, code: str) -> tuple[str, ...]:
        """Words people use for the 部件 behind an "…异常" 事项."""
        return tuple(self.objects[code]["terms"])

    def phrases(self, code: str) -> tuple[str, ...]:
        """Ways to describe ``code``: defects of its object, or the 事项's own phrases."""
        if code in self.matters:
            return self.matters[code]
        entry = self.objects[code]
        return (*self.defects[entry["defects"]], *entry.get("extra", ()))

    def vocabulary(self) -> set[str]:
        """Every multi-character term, for the tokeniser's user dictionary."""
        words: set[str] = set()
        for group in self.places.values():
            words.update(group)
        for entry in self.objects.values():
            words.update(entry["terms"])
        for group in self.cues.values():
            words.update(group)
        return {w for w in words if len(w) > 1 and not re.search(r"[，。、\s]", w)}


@cache
def load_lexicon() -> Lexicon:
    """Load ``data/lexicon.json`` (cached)."""
    raw = json.loads(resources.files("citybrain.cases").joinpath("data", "lexicon.json").read_text("utf-8"))
    return Lexicon(
        places={k: tuple(v) for k, v in raw["places"].items()},
        defects={k: tuple(v) for k, v in raw["defects"].items()},
        objects=raw["objects"],
        matters={k: tuple(v) for k, v in raw["matters"].items()},
        cues={k: tuple(v) for k, v in raw["cues"].items()},
        background=tuple(raw.get("background", ())),
    )


def _place(rng: random.Random, places: Mapping[str, Sequence[str]]) -> str:
    pick = rng.choice
    form = rng.randrange(7)
    if form == 0:
        return pick(places["districts"]) + pick(places["roads"])
    if form == 1:
        return pick(places["roads"]) + pick(places["communities"]) + pick(places["spots"])
    if form == 2:
        return pick(places["communities"]) + pick(places["spots"])
    if form == 3:
        return pick(places["landmarks"]) + pick(places["spots"])
    if form == 4:
        first, second = rng.sample(places["roads"], 2)
        return f"{first}与{second}交叉口"
    if form == 5:
        return pick(places["streets"]) + pick(places["communities"])
    return f"{pick(places['roads'])}{rng.randint(1, 300)}号{pick(places['spots'])}"


def _subset(options: Sequence[str], wording: str) -> Sequence[str]:
    if wording == "all" or len(options) < 3:
        return options
    return options[:-1] if wording == "seen" else options[-1:]


def _problem(rng: random.Random, lexicon: Lexicon, code: str, frames: str, wording: str) -> str:
    if code in lexicon.matters:
        return rng.choice(_subset(lexicon.matters[code], wording))
    form = rng.choice(_OBJECT_FORMS[frames])
    terms, defects = _subset(lexicon.terms(code), wording), lexicon.phrases(code)
    if wording == "unseen" and len(lexicon.terms(code)) < 3:
        # Nothing held out for the object itself: vary the defect wording instead.
        defects = _subset(defects, wording)
    return form.format(t=rng.choice(terms), d=rng.choice(defects))


def generate(
    n_per_class: int,
    seed: int = 0,
    frames: FrameSet = "train",
    *,
    wording: Wording = "all",
    book: CodeBook | None = None,
    lexicon: Lexicon | None = None,
) -> list[Example]:
    """``n_per_class`` sentences for every 管理事项, shuffled; the same seed gives the same list.

    ``frames`` picks the frame set; ``wording`` restricts the problem wording (see ``Wording``).
    """
    if frames not in FRAMES:
        raise Invalid(f"语料模板集 {frames!r} 无效", details={"field": "frames", "known": sorted(FRAMES)})
    if n_per_class < 1:
        raise Invalid("每类样本数 n_per_class 应为正整数", details={"field": "n_per_class", "value": n_per_class})
    book = book or load_codes()
    lexicon = lexicon or load_lexicon()
    # String seeds hash deterministically in ``random`` (unlike ``hash()``), so each set gets its own stream.
    rng = random.Random(f"{seed}:{frames}:{wording}")
    examples: list[Example] = []
    for item in book.items():
        for _ in range(n_per_class):
            frame = rng.choice(FRAMES[frames])
            text = frame.format(
                place=_place(rng, lexicon.places), problem=_problem(rng, lexicon, item.code, frames, wording)
            )
            text += rng.choice(_TAILS[frames]) if frame.endswith("}") else ""
            examples.append(Example(text, item.kind, item.code))
    rng.shuffle(examples)
    return examples


def generate_background(n: int, seed: int = 0, *, lexicon: Lexicon | None = None) -> list[Example]:
    """``n`` sentences that are no 事项 at all: consultations, chit-chat and keyboard noise."""
    lexicon = lexicon or load_lexicon()
    rng = random.Random(f"{seed}:background")
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    examples = []
    for i in range(n):
        if i % 4 == 3:
            # Mis-typed or test input reaches the hotline's text channel too.
            words = ["".join(rng.choices(letters, k=rng.randint(2, 8))) for _ in range(rng.randint(1, 3))]
            text = " ".join(words)
        else:
            text = rng.choice(lexicon.background)
            if rng.random() < 0.3:
                text = f"市民来电：{text}"
        examples.append(Example(text, NO_MATTER, NO_MATTER))
    return examples
