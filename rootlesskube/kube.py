"""kubectl facade: every cluster API call goes through here (and run.py).

Output formats follow ../shared/contracts/kubectl: data on stdout, errors as
`error: ...` / `Error from server (Reason): ...` on stderr with exit 1,
PodSecurity warnings as `Warning: ...` lines on stderr.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence

from . import run as runner
from . import tools
from .errors import RootlesskubeError

DEFAULT_TIMEOUT = 60.0
KUBECTL_NOT_FOUND_HINT = "install kubectl (your distribution's package, or `rootlesskube tools install kubectl`)"
CONNECTION_REFUSED_HINT = "is the cluster running? `rootlesskube status` lists the clusters and their kubeconfigs"


def warnings(stderr: str) -> List[str]:
    """The server's `Warning: ...` lines from a kubectl stderr, without the prefix."""
    return [line[len("Warning: "):] for line in stderr.splitlines() if line.startswith("Warning: ")]


def _hint_for(stderr: str) -> Optional[str]:
    if "was refused - did you specify the right host or port?" in stderr:
        return CONNECTION_REFUSED_HINT
    return None


@dataclass
class Kubectl:
    """kubectl bound to one kubeconfig (and optionally a context)."""

    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    timeout: float = DEFAULT_TIMEOUT
    binary: str = field(default_factory=lambda: tools.binary("kubectl"))  # `tools install kubectl`, else PATH

    def argv(self, args: Sequence[str]) -> List[str]:
        argv = [self.binary]
        if self.kubeconfig:
            argv += ["--kubeconfig", str(self.kubeconfig)]
        if self.context:
            argv += ["--context", self.context]
        return argv + [str(a) for a in args]

    def run(self, args: Sequence[str], *, input: Optional[str] = None, check: bool = True,
            timeout: Optional[float] = None) -> runner.Result:
        argv = self.argv(args)
        result = runner.run(
            argv,
            timeout=timeout or self.timeout,
            input=input,
            check=False,
            not_found_hint=KUBECTL_NOT_FOUND_HINT,
        )
        if check and not result.ok:
            raise runner.CommandError(argv, result.returncode, result.stdout, result.stderr,
                                      hint=_hint_for(result.stderr))
        return result

    def get_json(self, args: Sequence[str], *, namespace: Optional[str] = None) -> Any:
        """`kubectl get ARGS -o json`, parsed."""
        ns = ["--namespace", namespace] if namespace else []
        result = self.run(["get", *args, *ns, "-o", "json"])
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            raise RootlesskubeError(f"kubectl get {' '.join(args)} printed no valid JSON: {exc}") from None

    def apply(self, manifest: str, *, namespace: Optional[str] = None, server_side: bool = False,
              dry_run: Optional[str] = None, check: bool = True) -> runner.Result:
        """`kubectl apply -f -` with the manifest on stdin (never a temp file, never argv)."""
        args = ["apply", "-f", "-"]
        if namespace:
            args += ["--namespace", namespace]
        if server_side:
            args.append("--server-side")
        if dry_run:
            args.append(f"--dry-run={dry_run}")
        return self.run(args, input=manifest, check=check)

    def wait(self, target: Sequence[str], condition: str, timeout_seconds: int, *,
             namespace: Optional[str] = None, check: bool = True) -> runner.Result:
        args = ["wait", f"--for={condition}", *target, f"--timeout={int(timeout_seconds)}s"]
        if namespace:
            args += ["--namespace", namespace]
        return self.run(args, check=check, timeout=timeout_seconds + 30)

    def exec(self, pod: str, command: Sequence[str], *, namespace: Optional[str] = None,
             container: Optional[str] = None, check: bool = True) -> runner.Result:
        args = ["exec", pod]
        if namespace:
            args += ["--namespace", namespace]
        if container:
            args += ["-c", container]
        return self.run([*args, "--", *command], check=check)

    def get_raw(self, path: str, *, check: bool = True) -> runner.Result:
        return self.run(["get", "--raw", path], check=check)
