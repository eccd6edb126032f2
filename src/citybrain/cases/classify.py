"""Suggest the 管理事项 (GB/T 47678.5-2026) for a citizen report or 12345 工单 text.

A baseline meant to pre-fill the 立案 form, never to decide alone: jieba words (1–2-grams) and
character 1–2-grams → TF-IDF → a linear SVM, one class per 事项. Scores become a confidence with a
softmax whose temperature is fitted on sentences in frames and wording the model did not train on,
so a confidence of 0.6 means roughly "right six times in ten" on unfamiliar text; ``needs_human``
turns that into the question the 受理员 sees.

Predictions are 事项 only: under GB/T 47678.5 a broken 部件 is reported as its "…异常" 事项 (same code),
and ``CodeBook.part_for`` gives the 部件 class back.

Two groups of 事项 are easily confused, so a rule layer re-ranks inside each group on explicit cues:

* 06042 垃圾站（箱）满溢 — a bin or station is full and overflowing; 06010 暴露垃圾 — loose litter
  dropped on the ground; 06011 积存垃圾渣土 — piles (渣土, 建筑垃圾) left for a long time.
* 09005 店外经营 — a shop extends its own business outside its door; 09006 占道经营 — vendors without a
  shop occupy the road; 09001 无照经营游商 — vendors on the move.

The model trains on first use in a few seconds (no download, no network) and is cached as a joblib file
under a directory the caller passes; the file name carries a fingerprint of the code list, the lexicon,
the seed and the library versions, so a stale model is never loaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import jieba
import joblib
import numpy as np
import scipy.sparse as sp
import sklearn
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from citybrain.cases.codes import CodeBook, load_codes
from citybrain.cases.corpus import NO_MATTER, Example, Lexicon, generate, generate_background, load_lexicon
from citybrain.errors import Invalid

#: Bump when features, model or rules change, so cached models are rebuilt.
MODEL_VERSION = 1
#: Below this top-1 confidence a person chooses the 事项.
DEFAULT_THRESHOLD = 0.5
#: Sentences per 事项 for training and for fitting the temperature.
TRAIN_PER_CLASS = 12
CALIBRATION_PER_CLASS = 4
#: Background (no 事项) sentences per 事项 sentence budget: enough for a "none of these" class.
_BACKGROUND_SHARE = 8

#: The confusable groups the rule layer and ``evaluate`` look at.
CONFUSABLE_GROUPS: Mapping[str, tuple[str, ...]] = {
    "垃圾满溢/暴露垃圾/积存垃圾渣土": ("06042", "06010", "06011"),
    "店外经营/占道经营/无照经营游商": ("09005", "09006", "09001"),
}

jieba.setLogLevel(logging.WARNING)


@dataclass(frozen=True)
class Suggestion:
    """One candidate 事项 with its confidence (0–1); ``rule`` names the cue that re-ranked it, if any."""

    kind: str
    code: str
    name: str
    confidence: float
    rule: str | None = None


@dataclass(frozen=True)
class Report:
    """Held-out measurements from ``evaluate``.

    ``accuracy_top1``/``accuracy_top3`` use frames never seen in training (wording seen); the
    ``unseen_*`` figures also hold out one synonym or phrase of every list, which is closer to real text.
    ``per_pair_confusion[group][true][predicted]`` counts top-1 predictions for test sentences of the
    confusable groups; a prediction outside the group is counted under "其他".
    """

    accuracy_top1: float
    accuracy_top3: float
    per_pair_confusion: Mapping[str, Mapping[str, Mapping[str, int]]]
    n_train: int
    n_test: int
    unseen_top1: float = 0.0
    unseen_top3: float = 0.0
    unseen_confusion: Mapping[str, Mapping[str, Mapping[str, int]]] = field(default_factory=dict)
    n_test_unseen: int = 0


# ---------------------------------------------------------------------------------------------------
# Tokenising


@cache
def _tokenizer(words: frozenset[str]) -> jieba.Tokenizer:
    # A private jieba instance: adding the lexicon to the global one would change segmentation elsewhere.
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in sorted(words):
        tokenizer.add_word(word, freq=2000)
    return tokenizer


def _normalise(text: str) -> str:
    import unicodedata

    # NFKC folds full-width letters and digits that phone keyboards produce; case is meaningless here.
    return unicodedata.normalize("NFKC", text).lower().strip()


def _segment(tokenizer: jieba.Tokenizer, text: str) -> str:
    return " ".join(w for w in tokenizer.lcut(text) if w.strip() and not _is_punct(w))


def _is_punct(word: str) -> bool:
    return all(not ch.isalnum() for ch in word)


# ---------------------------------------------------------------------------------------------------
# Rule layer for the confusable groups


def _has(text: str, words: Iterable[str]) -> bool:
    return any(w in text for w in words)


def confusable_cue(text: str, lexicon: Lexicon | None = None) -> tuple[str, str] | None:
    """(code, reason) that explicit wording points to within a confusable group, or ``None``."""
    return _cue(_normalise(text), (lexicon or load_lexicon()).cues)


def _cue(text: str, cues: Mapping[str, Sequence[str]]) -> tuple[str, str] | None:
    if _has(text, cues["06042"]) and _has(text, cues["06042_containers"]):
        return "06042", "满溢：垃圾桶/箱/站已满"
    shop = _has(text, cues["09005_shops"])
    if _has(text, cues["09001"]) and not shop:
        return "09001", "无照经营游商：流动叫卖"
    if _has(text, cues["09006"]) and not (shop and _has(text, ("店家", "店主", "商户", "自家", "店里"))):
        return "09006", "占道经营：无店摊贩占用道路"
    if shop and _has(text, cues["09005_outside"]):
        return "09005", "店外经营：店铺超出门窗经营"
    if _has(text, cues["06011"]):
        return "06011", "积存垃圾渣土：长期堆积或渣土"
    if _has(text, cues["06010"]):
        return "06010", "暴露垃圾：散落的垃圾"
    return None


def _apply_rules(
    text: str, ranked: list[tuple[str, float]], cues: Mapping[str, Sequence[str]]
) -> tuple[list[tuple[str, float]], str | None]:
    found = _cue(text, cues)
    if found is None:
        return ranked, None
    code, reason = found
    group = next(g for g in CONFUSABLE_GROUPS.values() if code in g)
    top = ranked[0][0]
    # A strong overflow cue may also outrank a bin-damage reading (03005 垃圾箱异常 etc.) near the top.
    strong = code == "06042" and any(c == code for c, _ in ranked[:5])
    if top == code or not (top in group or strong):
        return ranked, None
    position = next(i for i, (c, _) in enumerate(ranked) if c == code)
    # Swap rather than overwrite, so the confidences still sum to one.
    ranked = list(ranked)
    ranked[0], ranked[position] = (code, ranked[0][1]), (top, ranked[position][1])
    return ranked, reason


# ---------------------------------------------------------------------------------------------------
# Model


class CaseClassifier:
    """TF-IDF + linear SVM over all 250 事项, with a fitted softmax temperature and the rule layer."""

    def __init__(
        self,
        words: frozenset[str],
        word_vectorizer: TfidfVectorizer,
        char_vectorizer: TfidfVectorizer,
        model: LinearSVC,
        temperature: float,
        edition: str,
        cues: Mapping[str, Sequence[str]],
    ) -> None:
        self.words = words
        self.word_vectorizer = word_vectorizer
        self.char_vectorizer = char_vectorizer
        self.model = model
        self.temperature = temperature
        self.edition = edition
        self.cues = {k: tuple(v) for k, v in cues.items()}

    # -- training ------------------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        seed: int = 0,
        *,
        n_per_class: int = TRAIN_PER_CLASS,
        wording: str = "all",
        book: CodeBook | None = None,
        lexicon: Lexicon | None = None,
    ) -> CaseClassifier:
        """Train on the generated corpus; the temperature is fitted on a smaller model, see module doc."""
        book = book or load_codes()
        lexicon = lexicon or load_lexicon()
        words = frozenset(lexicon.vocabulary())
        background = generate_background(_BACKGROUND_SHARE * n_per_class, seed, lexicon=lexicon)
        train = generate(n_per_class, seed, "train", wording=wording, book=book, lexicon=lexicon)  # type: ignore[arg-type]
        # The temperature must reflect unfamiliar wording, which the final model (trained on all of it)
        # cannot show; a quick model without the held-out wording measures it instead.
        probe_set = generate(max(2, n_per_class // 2), seed, "train", wording="seen", book=book, lexicon=lexicon)
        probe = cls._fit(words, [*probe_set, *background], book, lexicon)
        calibration = generate(CALIBRATION_PER_CLASS, seed, "calibration", wording="unseen", book=book, lexicon=lexicon)
        temperature = probe._fit_temperature(calibration)
        model = cls._fit(words, [*train, *background], book, lexicon)
        model.temperature = temperature
        return model

    @classmethod
    def _fit(
        cls, words: frozenset[str], examples: Sequence[Example], book: CodeBook, lexicon: Lexicon
    ) -> CaseClassifier:
        word_vectorizer = TfidfVectorizer(
            token_pattern=r"[^ ]+", ngram_range=(1, 2), sublinear_tf=True, lowercase=False
        )
        char_vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, lowercase=False)
        tokenizer = _tokenizer(words)
        texts = [_normalise(e.text) for e in examples]
        features = sp.hstack(
            [
                word_vectorizer.fit_transform([_segment(tokenizer, t) for t in texts]),
                char_vectorizer.fit_transform(texts),
            ]
        ).tocsr()
        model = LinearSVC(C=0.3)
        model.fit(features, [e.code for e in examples])
        return cls(words, word_vectorizer, char_vectorizer, model, 1.0, book.edition, lexicon.cues)

    def _fit_temperature(self, examples: Sequence[Example]) -> float:
        scores = self._scores([e.text for e in examples])
        index = {c: i for i, c in enumerate(self.model.classes_)}
        truth = np.array([index[e.code] for e in examples])

        def nll(log_t: float) -> float:
            logits = scores / np.exp(log_t)
            logits -= logits.max(axis=1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            return float(-log_p[np.arange(len(truth)), truth].mean())

        return float(np.exp(minimize_scalar(nll, bounds=(-6.0, 3.0), method="bounded").x))

    # -- prediction ----------------------------------------------------------------------------------

    def _scores(self, texts: Sequence[str]) -> np.ndarray:
        tokenizer = _tokenizer(self.words)
        normalised = [_normalise(t) for t in texts]
        # the inputs are our own (strings in, our sparse matrices on): scikit-learn's checks of parameters
        # and finiteness cost a fifth of a one-text call, the 12345 intake's, and find nothing to refuse
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            features = sp.hstack(
                [
                    self.word_vectorizer.transform([_segment(tokenizer, t) for t in normalised]),
                    self.char_vectorizer.transform(normalised),
                ]
            ).tocsr()
            return self.model.decision_function(features)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated class probabilities, columns in ``self.model.classes_`` order (before rules)."""
        logits = self._scores(texts) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def rank(self, texts: Sequence[str], k: int = 3) -> list[tuple[list[tuple[str, float]], str | None]]:
        """Top-``k`` (code, confidence) per text after the rule layer, with the rule applied if any."""
        classes = self.model.classes_
        results = []
        for text, row in zip(texts, self.probabilities(texts), strict=True):
            # The background class keeps its probability mass (lowering the others) but is never offered.
            order = [i for i in np.argsort(-row) if classes[i] != NO_MATTER]
            ranked = [(str(classes[i]), float(row[i])) for i in order]
            ranked, rule = _apply_rules(_normalise(text), ranked, self.cues)
            results.append((ranked[:k], rule))
        return results

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]:
        """The ``k`` most likely 事项 for ``text``, best first."""
        if not isinstance(text, str) or not text.strip():
            raise Invalid("诉求内容 text 不能为空", details={"field": "text"})
        if k < 1:
            raise Invalid("候选数 k 应为正整数", details={"field": "k", "value": k})
        book = load_codes(self.edition)
        ranked, rule = self.rank([text], k)[0]
        return [
            Suggestion("事项", code, book.get("事项", code).name, round(conf, 4), rule if i == 0 else None)
            for i, (code, conf) in enumerate(ranked)
        ]

    # -- persistence ---------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write atomically, so a reader never sees half a model."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        try:
            joblib.dump(self, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def fingerprint(seed: int = 0, edition: str | None = None) -> str:
    """Hash of everything a trained model depends on: data files, seed, model and library versions."""
    book = load_codes(edition)
    digest = hashlib.sha256()
    data = resources.files("citybrain.cases").joinpath("data")
    for name in sorted(p.name for p in data.iterdir() if p.name.endswith(".json")):
        digest.update(data.joinpath(name).read_bytes())
    digest.update(f"{book.edition}|{seed}|{MODEL_VERSION}|{sklearn.__version__}|{jieba.__version__}".encode())
    return digest.hexdigest()[:16]


_LOADED: dict[tuple[str, str], CaseClassifier] = {}
_LOCK = threading.Lock()


def load_classifier(cache_dir: Path | str | None = None, *, seed: int = 0) -> CaseClassifier:
    """The classifier for ``seed``: from memory, else from ``cache_dir``, else trained (and cached there).

    Only files this function wrote are loaded (joblib is pickle); keep ``cache_dir`` private to the service.
    """
    key = fingerprint(seed)
    slot = (str(cache_dir), key)
    with _LOCK:
        if slot in _LOADED:
            return _LOADED[slot]
        path = Path(cache_dir) / f"case-classifier-{key}.joblib" if cache_dir is not None else None
        classifier: CaseClassifier | None = None
        if path is not None and path.exists():
            try:
                loaded = joblib.load(path)
                classifier = loaded if isinstance(loaded, CaseClassifier) else None
            except Exception:  # a truncated or foreign file: retrain rather than fail the request
                classifier = None
        if classifier is None:
            classifier = CaseClassifier.train(seed)
            if path is not None:
                classifier.save(path)
        _LOADED[slot] = classifier
        return classifier


def suggest(text: str, k: int = 3, *, cache_dir: Path | str | None = None, seed: int = 0) -> list[Suggestion]:
    """The ``k`` most likely 事项 for ``text`` (trains on first use; see ``load_classifier``)."""
    return load_classifier(cache_dir, seed=seed).suggest(text, k)


def needs_human(suggestions: Sequence[Suggestion], threshold: float = DEFAULT_THRESHOLD) -> bool:
    """True when a person must pick the 事项: no suggestion, or the best one below ``threshold``."""
    if not 0.0 <= threshold <= 1.0:
        raise Invalid("置信度阈值 threshold 应在 0–1 之间", details={"field": "threshold", "value": threshold})
    return not suggestions or suggestions[0].confidence < threshold


# ---------------------------------------------------------------------------------------------------
# Evaluation


def _measure(
    classifier: CaseClassifier, examples: Sequence[Example]
) -> tuple[float, float, dict[str, dict[str, dict[str, int]]]]:
    ranked = classifier.rank([e.text for e in examples], 3)
    top1 = top3 = 0
    confusion: dict[str, dict[str, dict[str, int]]] = {
        name: {code: {} for code in group} for name, group in CONFUSABLE_GROUPS.items()
    }
    for example, (candidates, _) in zip(examples, ranked, strict=True):
        codes = [c for c, _ in candidates]
        top1 += codes[0] == example.code
        top3 += example.code in codes
        for name, group in CONFUSABLE_GROUPS.items():
            if example.code in group:
                predicted = codes[0] if codes[0] in group else "其他"
                row = confusion[name][example.code]
                row[predicted] = row.get(predicted, 0) + 1
    n = len(examples)
    return top1 / n, top3 / n, confusion


def evaluate(seed: int = 0, *, n_train_per_class: int = TRAIN_PER_CLASS, n_test_per_class: int = 8) -> Report:
    """Train on ``train`` frames with the seen wording; test on the ``test`` frames, seen and unseen wording."""
    classifier = CaseClassifier.train(seed, n_per_class=n_train_per_class, wording="seen")
    test = generate(n_test_per_class, seed, "test", wording="seen")
    unseen = generate(n_test_per_class, seed, "test", wording="unseen")
    top1, top3, confusion = _measure(classifier, test)
    u_top1, u_top3, u_confusion = _measure(classifier, unseen)
    n_train = len(load_codes().items()) * n_train_per_class
    return Report(top1, top3, confusion, n_train, len(test), u_top1, u_top3, u_confusion, len(unseen))
