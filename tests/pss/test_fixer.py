"""`pss fix`: minimal changes, re-checked by the evaluator; what it cannot fix, and why."""

from __future__ import annotations

import json

import yaml

from rootlesskube.pss.evaluator import evaluate
from rootlesskube.pss.fixer import IMAGE_USER_REASON, IMAGE_USER_WHY, fix_text
from tests.conftest import SHARED

BLOG = SHARED / "reference" / "pmm-blog"
FIXED_CONTAINER_CONTEXT = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def docs(text):
    return [d for d in yaml.safe_load_all(text) if d]


def test_blog_pmm2_and_pmm3_become_admissible_at_restricted():
    for name in ("01.pmm2.yaml", "02.pmm3.yaml"):
        original = (BLOG / name).read_text()
        statefulset = docs(original)[0]
        assert not evaluate(statefulset, "restricted", "latest").allowed
        result = fix_text(original)
        fixed_statefulset, service = docs(result.fixed)
        verdict = evaluate(fixed_statefulset, "restricted", "latest")
        assert (verdict.allowed, verdict.violations) == (True, [])
        assert result.allowed
        # PMM 2 sets no runAsUser: admission allows it, the kubelet needs a numeric image user
        assert [u.violation.reason for u in result.unfixable] == ([IMAGE_USER_REASON] if "pmm2" in name else [])
        assert service == docs(original)[1]
        assert fixed_statefulset["spec"]["template"]["spec"]["containers"][0]["securityContext"] == \
            FIXED_CONTAINER_CONTEXT


def test_pmm3_keeps_its_pod_context_and_key_order_new_keys_last():
    result = fix_text((BLOG / "02.pmm3.yaml").read_text())
    statefulset = docs(result.fixed)[0]
    assert list(statefulset) == ["apiVersion", "kind", "metadata", "spec"]
    assert list(statefulset["spec"]) == ["serviceName", "replicas", "selector", "template", "volumeClaimTemplates"]
    pod_spec = statefulset["spec"]["template"]["spec"]
    assert list(pod_spec["securityContext"].items()) == [
        ("runAsUser", 1000), ("runAsGroup", 1000), ("fsGroup", 1000),
        ("runAsNonRoot", True), ("seccompProfile", {"type": "RuntimeDefault"})]
    assert list(pod_spec["containers"][0]) == ["name", "image", "ports", "volumeMounts", "securityContext"]
    assert result.changes == [
        "StatefulSet/pmm-server: set pod securityContext.runAsNonRoot=true",
        "StatefulSet/pmm-server: set pod securityContext.seccompProfile={type: RuntimeDefault}",
        "StatefulSet/pmm-server: set container 'pmm-server' securityContext.allowPrivilegeEscalation=false",
        "StatefulSet/pmm-server: set container 'pmm-server' securityContext.capabilities.drop=[\"ALL\"]",
    ]
    # runAsUser 1000 is set: no image-user note; the Service (with comments) is kept byte for byte
    assert result.notes == []
    service_text = (BLOG / "02.pmm3.yaml").read_text().split("---\n", 1)[1]
    assert result.fixed.endswith("---\n" + service_text)


def test_pmm2_without_run_as_user_is_left_to_fix_by_hand_though_admission_allows_it():
    result = fix_text((BLOG / "01.pmm2.yaml").read_text())
    assert (result.allowed, result.complete, result.notes) == (True, False, [])
    [item] = result.unfixable
    assert (item.kind, item.name, item.admission, item.why) == ("StatefulSet", "pmm-server", False, IMAGE_USER_WHY)
    assert str(item.violation) == (
        'runAsUser not set (container "pmm-server" must set securityContext.runAsUser '
        "or run an image whose USER is a numeric, non-zero uid)")
    assert fix_text((BLOG / "01.pmm2.yaml").read_text(), level="baseline").unfixable == []


def test_cli_image_user_left_exits_1_and_says_admission_passes(cli):
    code, out, err = cli("pss", "fix", "-f", BLOG / "01.pmm2.yaml")
    assert code == 1
    assert 'cannot fix: StatefulSet/pmm-server: runAsUser not set (container "pmm-server" must set' in err
    assert err.splitlines()[-1] == (
        "result passes restricted:latest at admission; what is listed above is left to check by hand")


def test_already_secure_manifest_is_unchanged_byte_for_byte():
    original = (BLOG / "04.pmm3-secure.yaml").read_text()
    result = fix_text(original)
    assert (result.fixed, result.changes, result.unfixable) == (original, [], [])
    assert result.diff("04.pmm3-secure.yaml") == ""


UNFIXABLE_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  hostNetwork: true
  securityContext:
    runAsUser: 0
    seccompProfile:
      type: Unconfined
  containers:
  - name: debug
    image: busybox
    securityContext:
      privileged: true
    volumeMounts:
    - name: host
      mountPath: /host
  volumes:
  - name: host
    hostPath:
      path: /
"""


def test_unfixable_violations_are_listed_with_reasons():
    result = fix_text(UNFIXABLE_POD)
    assert not result.allowed
    assert [(u.kind, u.name, u.violation.reason) for u in result.unfixable] == [
        ("Pod", "debug", "host namespaces"),
        ("Pod", "debug", "privileged"),
        ("Pod", "debug", "allowPrivilegeEscalation != false"),
        ("Pod", "debug", "restricted volume types"),
        ("Pod", "debug", "runAsUser=0"),
    ]
    whys = {u.violation.reason: u.why for u in result.unfixable}
    assert whys["restricted volume types"].startswith("this volume type is not allowed")
    assert whys["host namespaces"].startswith("the pod shares the node's network")
    assert whys["privileged"].startswith("the container asks for full host privileges")
    assert whys["allowPrivilegeEscalation != false"].startswith("a privileged container always escalates")
    assert "seccompProfile.type Unconfined -> RuntimeDefault" in result.changes[0]
    pod = docs(result.fixed)[0]
    # privileged stays; allowPrivilegeEscalation=false next to it would be invalid API input
    assert pod["spec"]["containers"][0]["securityContext"] == {"privileged": True,
                                                               "capabilities": {"drop": ["ALL"]}}
    assert pod["spec"]["securityContext"] == {"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"},
                                              "runAsNonRoot": True}


def test_baseline_only_replaces_unconfined_seccomp():
    result = fix_text(UNFIXABLE_POD, level="baseline")
    assert result.changes == ["Pod/debug: pod seccompProfile.type Unconfined -> RuntimeDefault"]
    assert [u.violation.reason for u in result.unfixable] == ["host namespaces", "hostPath volumes", "privileged"]


def test_cli_diff_and_output_file(cli, tmp_path):
    source = BLOG / "02.pmm3.yaml"
    code, out, err = cli("pss", "fix", "-f", source, "--diff")
    assert code == 0
    assert out.splitlines()[:2] == [f"--- {source}", f"+++ {source} (fixed)"]
    assert "+        runAsNonRoot: true" in out.splitlines()
    assert "+          allowPrivilegeEscalation: false" in out.splitlines()
    assert err.splitlines()[-1] == "result passes restricted:latest"
    target = tmp_path / "fixed.yaml"
    code, out, _ = cli("pss", "fix", "-f", source, "-o", target)
    assert (code, out) == (0, "")
    assert evaluate(docs(target.read_text())[0], "restricted", "latest").allowed


def test_cli_reports_unfixable_and_exits_1(cli, tmp_path):
    manifest = tmp_path / "debug.yaml"
    manifest.write_text("# a debug pod\n" + UNFIXABLE_POD)
    code, out, err = cli("pss", "fix", "-f", manifest)
    assert code == 1
    assert "cannot fix: Pod/debug: privileged (container \"debug\" must not set securityContext.privileged=true)" \
        in err
    assert err.splitlines()[-1] == "result still violates restricted:latest"
    assert docs(out)[0]["kind"] == "Pod" and out.startswith("# a debug pod\n")


def test_cli_bad_level_and_missing_file_are_usage_errors(cli, tmp_path):
    code, out, err = cli("pss", "fix", "-f", BLOG / "01.pmm2.yaml", "--level", "strict")
    assert (code, out) == (2, "") and "error: 'strict' is not a Pod Security level" in err
    code, _, err = cli("pss", "fix", "-f", tmp_path / "missing.yaml")
    assert code == 2 and f"error: {tmp_path / 'missing.yaml'}: no such manifest" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Pod\n  spec: [\n")
    code, _, err = cli("pss", "fix", "-f", bad)
    assert code == 2 and f"error: {bad}:2:7: not valid YAML: mapping values are not allowed" in err


def test_null_and_partial_security_contexts_are_completed_not_replaced():
    manifest = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      securityContext:
      initContainers:
      - name: init
        image: busybox
        securityContext:
          capabilities:
            drop: [NET_RAW]
            add: [NET_BIND_SERVICE]
      containers:
      - name: web
        image: nginx
        securityContext:
          allowPrivilegeEscalation: false
          runAsUser: 101
"""
    result = fix_text(manifest)
    spec = docs(result.fixed)[0]["spec"]["template"]["spec"]
    assert spec["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert spec["initContainers"][0]["securityContext"] == {
        "capabilities": {"drop": ["ALL", "NET_RAW"], "add": ["NET_BIND_SERVICE"]},
        "allowPrivilegeEscalation": False}
    assert spec["containers"][0]["securityContext"] == {
        "allowPrivilegeEscalation": False, "runAsUser": 101, "capabilities": {"drop": ["ALL"]}}
    assert result.allowed and evaluate(docs(result.fixed)[0], "restricted", "v1.25").allowed
    # the init container runs as the image's user; the web container's 101 is numeric
    assert [(u.violation.reason, u.violation.detail.split(" must")[0]) for u in result.unfixable] == [
        (IMAGE_USER_REASON, 'container "init"')]


def test_cli_json_lists_changes_and_unfixable(cli, tmp_path):
    manifest = tmp_path / "debug.yaml"
    manifest.write_text(UNFIXABLE_POD)
    code, out, err = cli("pss", "fix", "-f", manifest, "--json")
    assert (code, err) == (1, "")
    data = json.loads(out)
    assert (data["file"], data["level"], data["version"], data["allowed"]) == (
        str(manifest), "restricted", "latest", False)
    assert data["unfixable"][0] == {
        "kind": "Pod", "name": "debug", "reason": "host namespaces", "detail": "hostNetwork=true",
        "why": data["unfixable"][0]["why"], "admission": True}
    assert data["complete"] is False
    assert data["unfixable"][0]["why"].startswith("the pod shares the node's network")


BARE_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: bare
spec:
  securityContext:
    runAsUser: 1000
  containers:
  - name: app
    image: busybox
"""


def test_a_list_has_its_items_fixed_as_pss_check_reads_them(cli, tmp_path):
    listed = {"apiVersion": "v1", "kind": "List",
              "items": [yaml.safe_load(BARE_POD), {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}]}
    source = tmp_path / "list.yaml"
    source.write_text(yaml.safe_dump(listed, sort_keys=False))
    code, _, _ = cli("pss", "check", "-f", source)
    assert code == 1
    result = fix_text(source.read_text())
    assert result.changes[0] == "Pod/bare: set pod securityContext.runAsNonRoot=true"
    assert (result.allowed, result.unfixable) == (True, [])
    fixed = tmp_path / "fixed.yaml"
    code, out, err = cli("pss", "fix", "-f", source, "-o", fixed)
    assert (code, err.splitlines()[-1]) == (0, "result passes restricted:latest")
    assert docs(fixed.read_text())[0]["items"][1] == listed["items"][1]
    code, out, _ = cli("pss", "check", "-f", fixed)
    assert (code, out) == (0, f"{fixed}:4 Pod/bare: ok (restricted:latest)\n")


def test_a_list_with_an_unfixable_item_still_violates(cli, tmp_path):
    source = tmp_path / "list.yaml"
    source.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [yaml.safe_load(UNFIXABLE_POD)]}))
    code, _, err = cli("pss", "fix", "-f", source)
    assert code == 1 and err.splitlines()[-1] == "result still violates restricted:latest"


APPARMOR_AND_PROCMOUNT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: tools
spec:
  template:
    metadata:
      annotations:
        container.apparmor.security.beta.kubernetes.io/legacy: unconfined
        container.apparmor.security.beta.kubernetes.io/kept: localhost/custom
    spec:
      securityContext:
        appArmorProfile:
          type: Unconfined
      containers:
      - name: legacy
        image: busybox
      - name: kept
        image: busybox
        securityContext:
          procMount: Unmasked
          appArmorProfile:
            type: Unconfined
"""


def test_unconfined_apparmor_and_unmasked_proc_mount_get_their_safe_values():
    original = docs(APPARMOR_AND_PROCMOUNT)[0]
    assert [v.reason for v in evaluate(original, "baseline", "latest").violations] == [
        "forbidden AppArmor profiles", "procMount"]
    result = fix_text(APPARMOR_AND_PROCMOUNT, level="baseline")
    assert result.changes == [
        "Deployment/tools: pod appArmorProfile.type Unconfined -> RuntimeDefault",
        "Deployment/tools: container 'kept' appArmorProfile.type Unconfined -> RuntimeDefault",
        "Deployment/tools: annotation container.apparmor.security.beta.kubernetes.io/legacy "
        "unconfined -> runtime/default",
        "Deployment/tools: container 'kept' securityContext.procMount Unmasked -> Default",
    ]
    assert (result.allowed, result.unfixable) == (True, [])
    template = docs(result.fixed)[0]["spec"]["template"]
    assert template["metadata"]["annotations"] == {
        "container.apparmor.security.beta.kubernetes.io/legacy": "runtime/default",
        "container.apparmor.security.beta.kubernetes.io/kept": "localhost/custom"}
    assert template["spec"]["containers"][1]["securityContext"] == {
        "procMount": "Default", "appArmorProfile": {"type": "RuntimeDefault"}}
    # the annotation alone, on a Pod (the API server copies it into the field before admission)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {
        "container.apparmor.security.beta.kubernetes.io/app": "unconfined"}},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]}}
    assert not evaluate(pod, "baseline", "latest").allowed
    assert fix_text(yaml.safe_dump(pod), level="baseline").allowed


def test_unmasked_proc_mount_the_level_allows_is_kept():
    # from v1.35 a user-namespace pod (hostUsers: false) may set procMount Unmasked at baseline
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "userns"},
           "spec": {"hostUsers": False, "containers": [
               {"name": "app", "image": "busybox", "securityContext": {"procMount": "Unmasked"}}]}}
    text = yaml.safe_dump(pod)
    assert fix_text(text, level="baseline", version="v1.35").fixed == text
    assert "procMount Unmasked -> Default" in fix_text(text, level="baseline", version="v1.34").changes[0]


COMMENTED = """\
# the blog's PMM 2, with notes
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: pmm-server
spec:
  serviceName: "pmm-server"   # quoted as written
  replicas: 1
  selector:
    matchLabels:
      app: pmm-server
  template:
    metadata:
      labels:
        app: pmm-server
    spec:
      containers:
        - name: pmm-server  # the only container
          image: 'percona/pmm-server:2.44.0'
          ports:
            - containerPort: 443
"""


def test_a_changed_document_keeps_its_comments_quotes_order_and_sequence_style():
    result = fix_text(COMMENTED)
    assert result.changes and not result.notes
    original, fixed = COMMENTED.splitlines(), result.fixed.splitlines()
    assert fixed[:len(original)] == original  # every line as written; the new keys come after
    assert fixed[fixed.index(" " * 14 + "drop:") + 1] == " " * 16 + "- ALL"  # indented like the input's sequences
    assert evaluate(docs(result.fixed)[0], "restricted", "latest").allowed


def test_flush_sequences_stay_flush():
    flush = COMMENTED.replace("        - name", "      - name").replace("          image", "        image") \
        .replace("          ports:\n            - containerPort", "        ports:\n        - containerPort")
    fixed = fix_text(flush).fixed.splitlines()
    assert fixed[:len(flush.splitlines())] == flush.splitlines()
    assert fixed[fixed.index(" " * 12 + "drop:") + 1] == " " * 12 + "- ALL"
