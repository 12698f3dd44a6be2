"""`rootlesskube pss check`: inputs, output formats, exit codes and errors."""

from __future__ import annotations

import io
import json
import sys

import pytest

PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    image: nginx
    securityContext:
      privileged: true
"""

GOOD_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: api
        image: api
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
"""

SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec: {}\n"
PRIVILEGED_MESSAGE = ('violates PodSecurity "baseline:v1.99": privileged '
                      '(container "app" must not set securityContext.privileged=true)')


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_multi_document_yaml_gives_one_line_per_workload_with_file_and_line(cli, tmp_path):
    path = write(tmp_path, "all.yaml", GOOD_DEPLOYMENT + "---\n" + SERVICE + "---\n" + PRIVILEGED_POD)
    code, out, err = cli("pss", "check", "-f", path, "--level", "baseline", "--version", "v1.99")
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"{path}:1 Deployment/api: ok (baseline:v1.99)",
        f"{path}:24 Pod/web: {PRIVILEGED_MESSAGE}",
    ]


def test_json_records(cli, tmp_path):
    path = write(tmp_path, "all.yaml", SERVICE + "---\n" + PRIVILEGED_POD)
    code, out, _ = cli("pss", "check", "-f", path, "--json")
    assert code == 1
    # the keys, exactly and in its order; `line` is added last
    assert list(json.loads(out)[0]) == ["file", "doc", "kind", "name", "level", "version", "allowed",
                                        "violations", "message", "line"]
    assert json.loads(out) == [{
        "file": path, "doc": 2, "line": 7, "kind": "Pod", "name": "web", "level": "restricted",
        "version": "latest", "allowed": False,
        "violations": [
            {"reason": "privileged", "detail": 'container "app" must not set securityContext.privileged=true'},
            {"reason": "allowPrivilegeEscalation != false",
             "detail": 'container "app" must set securityContext.allowPrivilegeEscalation=false'},
            {"reason": "unrestricted capabilities",
             "detail": 'container "app" must set securityContext.capabilities.drop=["ALL"]'},
            {"reason": "runAsNonRoot != true",
             "detail": 'pod or container "app" must set securityContext.runAsNonRoot=true'},
            {"reason": "seccompProfile", "detail": 'pod or container "app" must set '
                                                   'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'},
        ],
        "message": 'violates PodSecurity "restricted:latest": privileged (container "app" must not set '
                   'securityContext.privileged=true), allowPrivilegeEscalation != false (container "app" must set '
                   'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must '
                   'set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" '
                   'must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set '
                   'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    }]


def test_all_allowed_exits_0(cli, tmp_path):
    code, out, _ = cli("pss", "check", "-f", write(tmp_path, "d.yaml", GOOD_DEPLOYMENT))
    assert (code, out.endswith("Deployment/api: ok (restricted:latest)\n")) == (0, True)


def test_stdin_and_a_json_list_with_item_lines(cli, monkeypatch):
    pod_list = {"apiVersion": "v1", "kind": "PodList", "items": [
        {"kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": [{"name": "c"}]}},
        {"kind": "Pod", "metadata": {"name": "b"}, "spec": {"containers": [{"name": "c"}]}},
    ]}
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(pod_list, indent=1)))
    code, out, _ = cli("pss", "check", "-f", "-", "--level", "baseline")
    assert (code, out) == (0, "<stdin>:1 Pod/a: ok (baseline:latest)\n<stdin>:1 Pod/b: ok (baseline:latest)\n")


def test_a_yaml_list_gives_each_item_its_own_line(cli, tmp_path):
    text = "kind: List\nitems:\n- " + PRIVILEGED_POD.replace("\n", "\n  ").rstrip() + "\n- " + \
           GOOD_DEPLOYMENT.replace("\n", "\n  ").rstrip() + "\n"
    code, out, _ = cli("pss", "check", "-f", write(tmp_path, "list.yaml", text), "--level", "baseline")
    assert code == 1
    assert [line.split(" ")[0].rsplit(":", 1)[1] for line in out.splitlines()] == ["3", "13"]


def test_every_workload_kind_and_a_directory(cli, tmp_path):
    template = "    metadata: {}\n    spec:\n      containers: [{name: c, securityContext: {privileged: true}}]\n"
    docs = {
        "Deployment": "spec:\n  template:\n" + template,
        "CronJob": "spec:\n  jobTemplate:\n    spec:\n      template:\n" + template.replace("\n    ", "\n        ").replace("    metadata", "        metadata", 1),
        "PodTemplate": "template:\n" + template.replace("    ", "  ", 1).replace("\n    ", "\n  "),
    }
    for kind, body in docs.items():
        write(tmp_path, f"{kind}.yaml", f"kind: {kind}\nmetadata: {{name: x}}\n{body}")
    code, out, _ = cli("pss", "check", "-f", str(tmp_path), "--level", "baseline", "--version", "v1.0")
    assert code == 1
    assert [line.split(" ", 1)[1] for line in out.splitlines()] == [
        f"{kind}/x: violates PodSecurity \"baseline:v1.0\": privileged (container \"c\" must not set "
        "securityContext.privileged=true)" for kind in ("CronJob", "Deployment", "PodTemplate")
    ]


def test_namespace_labels_give_level_and_version(cli, tmp_path):
    ns = write(tmp_path, "ns.yaml", "kind: Namespace\nmetadata:\n  name: team\n  labels:\n"
               "    pod-security.kubernetes.io/enforce: baseline\n"
               "    pod-security.kubernetes.io/enforce-version: v1.99\n")
    code, out, _ = cli("pss", "check", "-f", write(tmp_path, "p.yaml", PRIVILEGED_POD), "--namespace-labels-from", ns)
    assert (code, out.split(": ", 1)[1]) == (1, PRIVILEGED_MESSAGE + "\n")


def test_an_unlabeled_namespace_enforces_privileged_and_says_so(cli, tmp_path):
    ns = write(tmp_path, "ns.yaml", "kind: Namespace\nmetadata:\n  name: open\n")
    code, out, err = cli("pss", "check", "-f", write(tmp_path, "p.yaml", PRIVILEGED_POD), "--namespace-labels-from", ns)
    assert (code, out.endswith("Pod/web: ok (privileged:latest)\n")) == (0, True)
    assert "Namespace 'open' has no pod-security.kubernetes.io/enforce label" in err


@pytest.mark.parametrize("text, expected", [
    ("kind: Pod\nmetadata: {name: a}\n---\nkind: Pod\n  bad: [\n", "{path}:5:6: not valid YAML (document 2): mapping values are not allowed"),
    ("- just\n- a list\n", "{path}: document 1, line 1: is a list, not an object, so it is not a Kubernetes object"),
    ("replicas: 3\n", "{path}: document 1, line 1: has no kind, so it is not a Kubernetes object"),
    ('{"kind": "Pod",\n "spec": }', "{path}:2:10: not valid JSON: Expecting value"),
    (SERVICE, "no Pod or workload with a pod template in {path}\n"),
    ("kind: Pod\nmetadata: {name: w}\nspec:\n  containers: oops\n",
     "{path}: document 1, line 1: Pod 'w': the pod spec has a field of the wrong type or value"),
])
def test_unreadable_input_exits_2_naming_file_document_and_line(cli, tmp_path, text, expected):
    path = write(tmp_path, "bad.yaml", text)
    code, out, err = cli("pss", "check", "-f", path)
    assert (code, out) == (2, "")
    assert err.startswith("error: " + expected.format(path=path)), err
    assert "\nhint: " in err and "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["--level", "strict"], "error: 'strict' is not a Pod Security level\nhint: use one of privileged, baseline, restricted\n"),
    (["--version", "1.25"], "error: '1.25' is not a Pod Security policy version\n"),
    ([], None),
])
def test_bad_switches_exit_2(cli, tmp_path, args, message):
    path = write(tmp_path, "p.yaml", PRIVILEGED_POD)
    if message is None:
        code, out, err = cli("pss", "check")
        assert (code, out, err) == (2, "", "error: no manifest given\nhint: use -f PATH (or -f - for stdin)\n")
        return
    code, out, err = cli("pss", "check", "-f", path, *args)
    assert (code, out) == (2, "") and err.startswith(message)


def test_missing_file_and_conflicting_switches(cli, tmp_path):
    code, _, err = cli("pss", "check", "-f", str(tmp_path / "nope.yaml"))
    assert (code, err) == (2, f"error: {tmp_path / 'nope.yaml'}: no such manifest\nhint: check the path\n")
    code, _, err = cli("pss", "check", "-f", "x", "--namespace-labels-from", "ns.yaml", "--level", "baseline")
    assert code == 2 and "--level" in err


def test_help_explains_the_command(cli):
    code, out, _ = cli("pss", "check", "--help")
    assert code == 0
    for text in ("--namespace-labels-from", "--json", "Exit 0 when every object is allowed", "-f, --filename"):
        assert text in out
