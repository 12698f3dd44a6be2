"""Benchmark: the offline Pod Security evaluator over the whole upstream fixture corpus.

Prints pods/second for evaluation alone and for read + parse + evaluate.
Targets (issue 6): evaluation >= 20,000 pods/s; the whole corpus parsed and
evaluated in under 2 s.   Run: python3 bench/bench_pss.py [--rounds N]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rootlesskube.pss.evaluator import evaluate  # noqa: E402
from rootlesskube.pss.manifests import load  # noqa: E402

SHARED = Path(os.environ.get("ROOTLESSKUBE_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
PSS = SHARED / "conformance" / "pss"


def corpus():
    with open(PSS / "index.tsv", newline="") as handle:
        return [(row["level"], row["version"], str(PSS / row["path"]))
                for row in csv.DictReader(handle, delimiter="\t")]


def parse_and_evaluate(rows):
    rejected = 0
    for level, version, path in rows:
        for doc in load([path]):
            rejected += not evaluate(doc.obj, level, version).allowed
    return rejected


def evaluate_only(parsed):
    return sum(not evaluate(obj, level, version).allowed for level, version, obj in parsed)


def best_of(rounds, func, *args):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = func(*args)
        times.append(time.perf_counter() - started)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="repetitions; the best is reported")
    rounds = parser.parse_args().rounds
    rows = corpus()
    parsed = [(level, version, load([path])[0].obj) for level, version, path in rows]
    n = len(rows)

    eval_time, rejected = best_of(rounds, evaluate_only, parsed)
    whole_time, rejected_again = best_of(rounds, parse_and_evaluate, rows)
    assert rejected == rejected_again

    print(f"corpus: {n} fixtures ({rejected} rejected), best of {rounds} rounds")
    print(f"evaluation alone:          {n / eval_time:9,.0f} pods/s  ({eval_time * 1000:7.1f} ms)  target >= 20,000 pods/s")
    print(f"read + parse + evaluate:   {n / whole_time:9,.0f} pods/s  ({whole_time * 1000:7.1f} ms)  target < 2000 ms")
    ok = n / eval_time >= 20_000 and whole_time < 2.0
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
