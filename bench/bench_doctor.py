"""Benchmark: `rootlesskube doctor --json` against a bare `podman info --format json`, and `--version`.

Both run as the same unprivileged user, in one run, alternating, N times each;
prints medians and the ratio (target: doctor <= 1.25x podman info; --version <= 150 ms).
As root, it prepares the test user (tests/podman_env.prepare: $ROOTLESSKUBE_TEST_USER, default
rk-test), installs this checkout the
way a user does (`pip install .`, not the tests' editable install, whose import hook costs
every start ~10 ms) into a venv of Debian's python3, and re-runs itself as that user with it.

    python3 bench/bench_doctor.py [-n 10] [--editable] [--driver kind|minikube|usernetes]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.25
TARGET_VERSION_MS = 150


def timed(argv, ok_codes=(0,)) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in ok_codes:
        sys.exit(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()[-500:]}")
    return elapsed


def inner(runs: int, python: str, driver: str) -> None:
    doctor = [python, "-m", "rootlesskube", "doctor", "--json", "--driver", driver]
    podman = ["podman", "info", "--format", "json"]
    version = [python, "-m", "rootlesskube", "--version"]
    script = Path(python).with_name("rootlesskube")
    timed(podman), timed(doctor, (0, 3))  # warm caches once, untimed
    doctor_s, podman_s, version_s, script_s = [], [], [], []
    for _ in range(runs):
        podman_s.append(timed(podman))
        doctor_s.append(timed(doctor, (0, 3)))
        version_s.append(timed(version))
        if script.exists():
            script_s.append(timed([str(script), "--version"]))
    d, p = statistics.median(doctor_s), statistics.median(podman_s)
    print(f"user {os.getuid()}, driver {driver}, {runs} runs each, medians:")
    print(f"  podman info --format json          {p * 1000:7.0f} ms")
    print(f"  rootlesskube doctor --json         {d * 1000:7.0f} ms")
    print(f"  ratio doctor / podman info         {d / p:7.2f}   (target <= {TARGET_RATIO})")
    v = statistics.median(version_s) * 1000
    print(f"  python -m rootlesskube --version   {v:7.0f} ms  (target <= {TARGET_VERSION_MS} ms)")
    if script_s:
        print(f"  {script} --version {statistics.median(script_s) * 1000:7.0f} ms")


# one venv per test user, so that two checkouts benchmarking side by side do not reinstall each other's
BENCH_VENV = Path(f"/var/tmp/rootlesskube-bench-venv-{os.environ.get('ROOTLESSKUBE_TEST_USER', 'rk-test')}")


def installed_python() -> str:
    """A venv (readable by the bench user) with this checkout installed as `pip install .` does."""
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(BENCH_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--force-reinstall", "--no-deps", str(REPO)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO)],
                   check=True)  # the dependencies, once
    return str(python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=10)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--python", default=sys.executable, help=argparse.SUPPRESS)
    parser.add_argument("--editable", action="store_true", help="measure the tests' editable install (.user-venv)")
    parser.add_argument("--driver", default="kind", help="the driver the doctor checks for (default kind)")
    args = parser.parse_args()
    if args.inner or os.geteuid() != 0:
        inner(args.runs, args.python, args.driver)
        return
    sys.path.insert(0, str(REPO))
    from tests.podman_env import USER_PYTHON, prepare

    user = prepare()
    python = USER_PYTHON if args.editable else installed_python()
    result = user.run([python, str(Path(__file__).resolve()), "--inner", "-n", str(args.runs),
                       "--python", python, "--driver", args.driver], check=False, timeout=3600)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
