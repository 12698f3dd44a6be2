"""Common plumbing for the stand-in executables (kind, minikube, kubectl, make).

A stand-in reproduces the real tool's observable behaviour from
../shared/contracts/: argv handling, stdout vs stderr, exit codes, and state
between calls. It never invents an output format: every text it prints is a
contract file, or a contract file with its sample names (cluster "rk-dev",
user "alice", ...) replaced by the names in the call.

Environment understood by every stand-in:
  RK_STANDIN_STATE    directory holding the stand-ins' state (required)
  RK_STANDIN_LATENCY  seconds every call sleeps first (benchmarks)
  RK_STANDIN_HANG     "<tool> <subcommand>" that sleeps forever (timeout tests)
  RK_STANDIN_REAL_NODES  "1": the cluster's nodes are real rootless Podman containers (with the
                      node_tools/ ctr and crictl); kind's and minikube's image loads import into them
Every call is appended to $RK_STANDIN_STATE/calls.jsonl (argv and selected
env), so tests can assert exactly what was run.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

CONTRACTS = Path(
    os.environ.get("ROOTLESSKUBE_SHARED", Path(__file__).resolve().parents[3] / "shared")
) / "contracts"
# samples this project added after reading the real tools' sources (tests/contracts/README.md)
LOCAL_CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
LOGGED_ENV = ("KIND_EXPERIMENTAL_PROVIDER", "CONTAINER_ENGINE", "COMPOSE", "MINIKUBE_ROOTLESS", "KUBECONFIG",
              "PORT_ETCD", "PORT_KUBELET", "PORT_FLANNEL", "PORT_KUBE_APISERVER")


def state_dir() -> Path:
    root = os.environ.get("RK_STANDIN_STATE")
    if not root:
        sys.stderr.write("stand-in: RK_STANDIN_STATE is not set\n")
        sys.exit(99)
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def contract(relpath: str) -> str:
    """The text of a contract file, byte for byte."""
    return (CONTRACTS / relpath).read_text()


def local_contract(relpath: str) -> str:
    """A sample of tests/contracts/, byte for byte."""
    return (LOCAL_CONTRACTS / relpath).read_text()


def begin(tool: str, argv: list) -> None:
    """Log the call, apply latency, hang when asked to."""
    record = {"tool": tool, "argv": [tool, *argv], "env": {k: os.environ[k] for k in LOGGED_ENV if k in os.environ},
              "cwd": os.getcwd()}
    with open(state_dir() / "calls.jsonl", "a") as log:
        log.write(json.dumps(record) + "\n")
    latency = float(os.environ.get("RK_STANDIN_LATENCY", "0") or 0)
    if latency:
        time.sleep(latency)
    hang = os.environ.get("RK_STANDIN_HANG", "")
    if hang and [tool, *argv][: len(hang.split())] == hang.split():
        time.sleep(3600)


def emit(stdout: str = "", stderr: str = "", code: int = 0):
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


def load_json(path: Path, default):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


def save_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


def calls(state: Path) -> list:
    """Every logged call, for assertions in tests."""
    try:
        return [json.loads(line) for line in (state / "calls.jsonl").read_text().splitlines()]
    except FileNotFoundError:
        return []
