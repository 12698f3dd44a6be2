"""What a test tells the kubectl stand-in about its cluster, in $RK_STANDIN_STATE.

The stand-in never computes Pod Security verdicts or API responses itself; a
test registers them, as contract text with the sample names substituted:

    scenario = Scenario(tmp_path)
    scenario.seed(pod)                                   # objects the cluster holds
    scenario.reject("Pod", "debug", "demo", contract_text(
        "kubectl/apply.psa-forbidden-pod.stderr.txt"))   # `apply` refuses it: stderr, exit 1
    scenario.warn("Deployment", "web", "demo", contract_text("kubectl/apply.psa-warning.stderr.txt"))
    scenario.label_warnings("demo", contract_text("kubectl/label-ns-dry-run-server.stderr.txt"))
    scenario.raw("/readyz", "ok")                        # `get --raw /readyz`
    scenario.raw_error("/readyz", "Error from server (ServiceUnavailable): ...\n")  # its non-2xx answer: exit 1
    scenario.warn_once(...)                              # like warn, for the next apply only
    scenario.event_on_apply("StatefulSet", "web", "demo", event)  # a controller's Event after the next
                                                         # apply of it, naming the applied object's uid
    scenario.logs("web-0", "demo", text)                 # `logs web-0`: what the container printed
    scenario.logs("web-0", "demo", text, previous=True)  # `logs --previous web-0`: the container before it
    scenario.exec_output("web-0", "demo", ["id"], out)   # `exec web-0 -- id` (code= for a remote exit)
    scenario.kubectl_calls()                             # argv of every kubectl call so far
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import standin_lib  # noqa: E402
from kube_objects import ObjectStore, resource  # noqa: E402


def contract_text(relpath: str, substitutions: Optional[Dict[str, str]] = None) -> str:
    """A contract file with sample names replaced ({"rootlesskube-demo": "team-a"})."""
    text = standin_lib.contract(relpath)
    for old, new in (substitutions or {}).items():
        text = text.replace(old, new)
    return text


def exec_key(pod: str, namespace: Optional[str], command: List[str]) -> str:
    return object_key("Pod", pod, namespace) + " -- " + json.dumps(command)


def object_key(kind: str, name: str, namespace: Optional[str]) -> str:
    res = resource(kind)
    return f"{res.plural}/{(namespace or 'default') if res.namespaced else ''}/{name}"


class Scenario:
    def __init__(self, state: Path):
        self.state = Path(state)
        self.objects = ObjectStore(self.state)
        self._file = self.state / "kubectl" / "scenario.json"

    def _load(self) -> dict:
        return standin_lib.load_json(self._file, {})

    def _set(self, section: str, key: str, value: str) -> None:
        data = self._load()
        data.setdefault(section, {})[key] = value
        standin_lib.save_json(self._file, data)

    def lookup(self, section: str, key: str):
        """The registered answer; one registered with a `-once` section is used up by this lookup."""
        data = self._load()
        once = data.get(f"{section}-once", {})
        if key in once:
            value = once.pop(key)
            standin_lib.save_json(self._file, data)
            return value
        return data.get(section, {}).get(key)

    def seed(self, *objects: dict) -> None:
        for obj in objects:
            self.objects.put(json.loads(json.dumps(obj)))

    def reject(self, kind: str, name: str, namespace: Optional[str], stderr: str) -> None:
        self._set("reject", object_key(kind, name, namespace), stderr)

    def warn(self, kind: str, name: str, namespace: Optional[str], stderr: str) -> None:
        self._set("warn", object_key(kind, name, namespace), stderr)

    def warn_once(self, kind: str, name: str, namespace: Optional[str], stderr: str) -> None:
        self._set("warn-once", object_key(kind, name, namespace), stderr)

    def event_on_apply(self, kind: str, name: str, namespace: Optional[str], event: dict) -> None:
        """An Event the next apply of the object causes (as a controller records it): stored with
        involvedObject kind, name, namespace and uid of the object as applied."""
        self._set("apply-event-once", object_key(kind, name, namespace), event)

    def logs(self, pod: str, namespace: str, text: str, previous: bool = False) -> None:
        """What the container printed (previous=True: the container before it, `logs --previous`)."""
        self._set("logs-previous" if previous else "logs", object_key("Pod", pod, namespace), text)

    def exec_output(self, pod: str, namespace: str, command: List[str], stdout: str, code: int = 0) -> None:
        self._set("exec", exec_key(pod, namespace, command), {"stdout": stdout, "code": code})

    def label_warnings(self, namespace: str, stderr: str) -> None:
        self._set("label-warnings", namespace, stderr)

    def raw(self, path: str, body: str) -> None:
        self._set("raw", path, body)

    def raw_error(self, path: str, stderr: str) -> None:
        """A non-2xx answer to `get --raw PATH`: kubectl prints the API status error
        (`Error from server (<Reason>): <message>`, contracts §5) and exits 1."""
        self._set("raw-error", path, stderr)

    def kubectl_calls(self) -> List[List[str]]:
        return [c["argv"] for c in standin_lib.calls(self.state) if c["tool"] == "kubectl"]
