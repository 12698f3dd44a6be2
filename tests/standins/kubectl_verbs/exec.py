"""`kubectl exec POD [-c C] -- CMD...` (contracts §5.8).

The container's output is the test's: Scenario.exec_output(pod, namespace,
argv, stdout, code). A non-zero remote exit N prints kubectl's
`command terminated with exit code N` (contracts/kubectl/exec.nonzero) and
exits N. A missing pod is kubectl's NotFound error.
"""

from __future__ import annotations

import standin_lib
from kube_objects import ObjectStore, not_found, resource
from kube_scenario import Scenario, exec_key


def handle(flags, args):
    if "--" not in args:
        standin_lib.emit(stderr="kubectl stand-in: exec without `--` is not reproduced\n", code=99)
    split = args.index("--")
    options, command = args[:split], args[split + 1:]
    positional, i = [], 0
    while i < len(options):
        if options[i] in ("-c", "--container") and i + 1 < len(options):
            i += 2
            continue
        if options[i].startswith("-"):
            standin_lib.emit(stderr=f"kubectl stand-in: exec flag {options[i]!r} is not reproduced\n", code=99)
        positional.append(options[i])
        i += 1
    if len(positional) != 1 or not command:
        standin_lib.emit(stderr=f"kubectl stand-in: exec {' '.join(args)} is not reproduced\n", code=99)
    pod, namespace = positional[0].split("/")[-1], flags.get("namespace", "default")
    state = standin_lib.state_dir()
    if ObjectStore(state).get("Pod", pod, namespace) is None:
        standin_lib.emit(stderr=not_found(resource("Pod"), pod), code=1)
    answer = Scenario(state).lookup("exec", exec_key(pod, namespace, command))
    if answer is None:
        standin_lib.emit(stderr=f"kubectl stand-in: exec {' '.join(command)} in {pod} has no registered output\n",
                         code=99)
    code = int(answer.get("code", 0))
    stderr = standin_lib.contract("kubectl/exec.nonzero.stderr.txt").replace("exit code 3", f"exit code {code}") if code else ""
    standin_lib.emit(stdout=answer["stdout"], stderr=stderr, code=code)
