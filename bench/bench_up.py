"""Benchmark: `rootlesskube up` against the stand-ins with a known latency per call.

Prints (1) the tool's own overhead per `up`: wall time minus the stand-in
latencies on the critical path (target <= 0.5 s), once with and once without
the stand-ins' own Python start-up counted; (2) the saving from pulling the
images a recipe needs while the cluster is created, instead of before.

    python3 bench/bench_up.py [--latency 0.5] [--runs 3]

The doctor is replaced by a passing one (tests/drivers/passing_doctor.py):
this machine is not ready for rootless kind. For (2) a bench-only `podman`
that sleeps stands in for a pull (no registry is reachable here).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STANDINS = REPO / "tests" / "standins"


def environment(tmp: Path, latency: float) -> dict:
    env = dict(os.environ, PATH=f"{STANDINS}{os.pathsep}{os.environ['PATH']}", RK_STANDIN_STATE=str(tmp / "state"),
               ROOTLESSKUBE_HOME=str(tmp / "home"), RK_STANDIN_LATENCY=str(latency), NO_COLOR="1")
    env.pop("RK_STANDIN_HANG", None)
    return env


def calls(tmp: Path) -> int:
    path = tmp / "state" / "calls.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def one_up(latency: float) -> tuple:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        env = environment(tmp, latency)
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "tests.drivers.passing_doctor", "up", "--name", "bench"],
                       cwd=REPO, env=env, check=True, capture_output=True)
        return time.monotonic() - started, calls(tmp)


def standin_startup() -> float:
    with tempfile.TemporaryDirectory() as folder:
        env = environment(Path(folder), 0)
        samples = []
        for _ in range(5):
            started = time.monotonic()
            subprocess.run([str(STANDINS / "kind"), "version"], env=env, check=True, capture_output=True)
            samples.append(time.monotonic() - started)
        return statistics.median(samples)


def concurrency(latency: float, pull_seconds: float, images: int) -> tuple:
    """(sequential, concurrent) wall times of pulls + up, in-process."""
    sys.path.insert(0, str(REPO))
    from rootlesskube import cluster, run
    from rootlesskube.drivers.base import ClusterSpec
    from tests.drivers.passing_doctor import passing

    cluster.DOCTOR = passing
    results = []
    for concurrent in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            fake = tmp / "bin"
            fake.mkdir()
            (fake / "podman").write_text(f"#!/bin/sh\nsleep {pull_seconds}\n")  # bench only: a pull that takes time
            (fake / "podman").chmod(0o755)
            env = environment(tmp, latency)
            env["PATH"] = f"{fake}{os.pathsep}{env['PATH']}"
            os.environ.update(env)
            refs = [f"docker.io/library/app{i}:1.0" for i in range(images)]
            started = time.monotonic()
            if concurrent:
                cluster.up(ClusterSpec("bench"), cluster.UpOptions(images=refs))
            else:
                for ref in refs:
                    run.run(["podman", "pull", ref], timeout=60)
                cluster.up(ClusterSpec("bench"), cluster.UpOptions())
            results.append(time.monotonic() - started)
    return tuple(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.5, help="seconds every stand-in call takes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pull", type=float, default=2.0, help="seconds one image pull takes")
    parser.add_argument("--images", type=int, default=2)
    args = parser.parse_args()

    startup = standin_startup()
    runs = [one_up(args.latency) for _ in range(args.runs)]
    wall = statistics.median(r[0] for r in runs)
    n_calls = runs[0][1]
    overhead = wall - n_calls * args.latency
    net = overhead - n_calls * startup
    seq, conc = concurrency(args.latency, args.pull, args.images)
    figures = {
        "latency_per_call_s": args.latency, "calls_on_critical_path": n_calls,
        "up_wall_s_median": round(wall, 3),
        "overhead_s_incl_standin_startup": round(overhead, 3),
        "standin_startup_s_per_call": round(startup, 3),
        "overhead_s_tool_only": round(net, 3), "target_s": 0.5,
        "pull_s_per_image": args.pull, "images": args.images,
        "pulls_then_up_s": round(seq, 3), "pulls_during_create_s": round(conc, 3), "saving_s": round(seq - conc, 3),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
