"""Benchmark: held-out accuracy of the 一网统管 category suggestion (jieba + a linear model).

Trains on the corpus the project generates from the GB/T 47678.5 code list, synonyms and local
terms (``citybrain.cases.corpus``), then tests on sentence frames never seen in training — once with
the training wording, once with one synonym or phrase of every list held out (closer to what
citizens and hotline operators actually write). Reports top-1 / top-3 accuracy and the confusion
inside each confusable group of the brief. Writes ``bench/results/cases_classify.json``.

    .venv/bin/python bench/bench_cases_classify.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cases_classify.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-per-class", type=int, default=8)
    parser.add_argument("--output", "--out", dest="output", type=Path, default=RESULTS)
    args = parser.parse_args()

    from citybrain.cases.classify import evaluate

    started = time.perf_counter()
    report = evaluate(args.seed, n_test_per_class=args.test_per_class)
    out = {
        "benchmark": "cases category suggestion, held-out",
        "seed": args.seed,
        "n_train": report.n_train,
        "n_test": report.n_test,
        "n_test_unseen_wording": report.n_test_unseen,
        "top1": round(report.accuracy_top1, 4),
        "top3": round(report.accuracy_top3, 4),
        "unseen_wording_top1": round(report.unseen_top1, 4),
        "unseen_wording_top3": round(report.unseen_top3, 4),
        "confusable_groups": report.per_pair_confusion,
        "confusable_groups_unseen_wording": report.unseen_confusion,
        "seconds": round(time.perf_counter() - started, 1),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("top1", "top3", "unseen_wording_top1", "unseen_wording_top3")}))


if __name__ == "__main__":
    main()
