"""Benchmark: a cold and a warm run of a nightly recipe (issue 18, item 6) against the stand-ins.

The recipe: kind, `cluster: {reuse: true}`, `cleanup: stop`, a restricted namespace, PMM 3 from a
docker-archive (no registry here), the doctor. The cold run creates the cluster, loads the image and stops the
cluster; the warm run starts it, resets the namespace and loads nothing. For each it prints the tool calls (per
tool, and the ones that matter: create, load, pull), the wall time of the run in its process, the time spent
inside the tools' calls (every command through rootlesskube.run, timed around the call, overlapping calls
counted once; the stand-ins' own Python start-up is part of it), and the difference: rootlesskube's own overhead. Target: a warm run's
own overhead under 1 s. The interpreter's start-up (`python -m rootlesskube --version`) is printed apart.

    python3 bench/bench_warm.py [--latency 0.0] [--runs 3]

The doctor is replaced by a passing one (tests/drivers/passing_doctor.py): this machine is not ready for
rootless kind.
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
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STANDINS = REPO / "tests" / "standins"

RECIPE = """\
apiVersion: rootlesskube.dev/v1alpha1
kind: Recipe
metadata:
  name: nightly
cluster:
  driver: kind
  name: bench-warm
  reuse: true
namespaces:
  - name: secure-namespace
    podSecurity: {enforce: restricted, audit: restricted, warn: restricted}
workloads:
  - type: pmm3
    namespace: secure-namespace
    imageArchive: pmm.tar
checks:
  - type: doctor
timeouts: {ready: 60, workload: 30}
cleanup: stop
"""


def environment(tmp: Path, latency: float) -> dict:
    env = dict(os.environ, PATH=os.pathsep.join([str(STANDINS / "node"), str(STANDINS), os.environ["PATH"]]),
               RK_STANDIN_STATE=str(tmp / "state"), ROOTLESSKUBE_HOME=str(tmp / "home"),
               RK_STANDIN_LATENCY=str(latency), NO_COLOR="1", PYTHONPATH=str(REPO))
    for key in ("RK_STANDIN_HANG", "RK_STANDIN_NODE_IMAGE", "RK_STANDIN_REAL_NODES"):
        env.pop(key, None)
    return env


def child(recipe: str, out: str) -> None:
    """One `rootlesskube run RECIPE --json` in this process, every external command timed."""
    from rootlesskube import run as runner

    real, timed = runner.run, []

    def run(argv, *args, **kwargs):
        started = time.perf_counter()
        try:
            return real(argv, *args, **kwargs)
        finally:
            timed.append((Path(argv[0]).name, started, time.perf_counter()))

    runner.run = run  # before any module binds `from .run import run`
    from rootlesskube import cluster
    from rootlesskube.__main__ import main as cli_main
    from rootlesskube.workloads import pmm_deploy
    from tests.drivers.passing_doctor import passing

    cluster.DOCTOR = passing
    pmm_deploy.POLL_SECONDS = 0.05
    started = time.perf_counter()
    try:
        cli_main(["run", recipe, "--json"])
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    wall = time.perf_counter() - started
    Path(out).write_text(json.dumps({"code": code, "wall_s": wall, "tool_s": covered([(a, b) for _, a, b in timed]),
                                     "calls": len(timed), "per_tool": dict(Counter(t for t, _, _ in timed))}))


def covered(intervals: list) -> float:
    """The time at least one tool call was running (calls in threads overlap: the image load and kubectl)."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def one_pair(latency: float) -> dict:
    """A cold run, then a warm run, in a fresh state."""
    sys.path.insert(0, str(REPO))
    from tests.recipes.test_warm_run import docker_archive

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        env = environment(tmp, latency)
        (tmp / "state").mkdir()
        (tmp / "home").mkdir()
        docker_archive(tmp / "pmm.tar")
        (tmp / "nightly.yaml").write_text(RECIPE)
        seed = ("from tests.workloads.pmm_world import PmmWorld; from pathlib import Path; "
                f"PmmWorld(Path({str(tmp / 'state')!r}), Path({str(tmp / 'home')!r}), 'bench-warm', "
                "'secure-namespace').pmm3_running()")
        subprocess.run([sys.executable, "-c", seed], cwd=REPO, env=env, check=True)
        figures = {}
        for which in ("cold", "warm"):
            before = _standin_calls(tmp)
            result = tmp / f"{which}.json"
            subprocess.run([sys.executable, __file__, "--child", str(tmp / "nightly.yaml"), str(result)],
                           cwd=REPO, env=env, check=True, capture_output=True)
            data = json.loads(result.read_text())
            if data["code"] not in (0, None):
                raise SystemExit(f"the {which} run failed (exit {data['code']})")
            made = _standin_calls(tmp)[len(before):]
            data["standin_calls"] = dict(Counter(c["tool"] for c in made))
            data["create"] = sum(1 for c in made if c["tool"] == "kind" and c["argv"][1:3] == ["create", "cluster"])
            data["load"] = sum(1 for c in made if c["tool"] == "kind" and c["argv"][1] == "load")
            data["pull"] = sum(1 for c in made if c["tool"] == "podman" and "pull" in c["argv"])
            figures[which] = data
        return figures


def _standin_calls(tmp: Path) -> list:
    path = tmp / "state" / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def interpreter_startup() -> float:
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rootlesskube", "--version"], cwd=REPO, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every stand-in call sleeps first")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("RECIPE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    pairs = [one_pair(args.latency) for _ in range(args.runs)]
    report = {"latency_per_call_s": args.latency, "runs": args.runs,
              "interpreter_startup_s": round(interpreter_startup(), 3), "target_warm_overhead_s": 1.0}
    for which in ("cold", "warm"):
        runs = [p[which] for p in pairs]
        wall = statistics.median(r["wall_s"] for r in runs)
        tools = statistics.median(r["tool_s"] for r in runs)
        overhead = statistics.median(r["wall_s"] - r["tool_s"] for r in runs)
        first = runs[0]
        report[which] = {"tool_calls": first["calls"], "per_tool": first["per_tool"],
                         "kind_create": first["create"], "kind_load": first["load"], "podman_pull": first["pull"],
                         "wall_s_median": round(wall, 3), "in_tool_calls_s_median": round(tools, 3),
                         "own_overhead_s_median": round(overhead, 3)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
