"""The evaluator: exact upstream messages per check, report order, versions, overrides, normalization."""

from __future__ import annotations

import copy

import pytest

from rootlesskube.errors import UsageError
from rootlesskube.pss import checks, levels
from rootlesskube.pss.evaluator import InvalidPodSpec, Violation, evaluate, evaluate_pod_spec

GOOD_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def container(name, **sc):
    return {"name": name, "image": "busybox", "securityContext": dict(GOOD_SC, **sc)}


def spec(*containers, **fields):
    fields.setdefault("securityContext", {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}})
    return dict(fields, containers=list(containers) or [container("c")])


def violations(spec_, level="restricted", version="latest", metadata=None, pod=False):
    result = evaluate_pod_spec(metadata or {}, spec_, level, version, pod=pod)
    return [(v.reason, v.detail) for v in result.violations]


def test_a_compliant_restricted_pod_is_allowed():
    result = evaluate({"kind": "Pod", "metadata": {"name": "p"}, "spec": spec()}, "restricted")
    assert (result.allowed, result.violations, result.message()) == (True, [], "")


def test_privileged_allows_anything():
    bad = spec(container("c", privileged=True), hostPID=True)
    assert evaluate_pod_spec({}, bad, "privileged", "v1.0").allowed


def test_the_message_is_upstreams_enforce_text_in_report_order():
    bad = spec(container("a", privileged=True, allowPrivilegeEscalation=True, runAsUser=0),
               securityContext={"seLinuxOptions": {"user": "u"}})
    result = evaluate_pod_spec({}, bad, "restricted", "latest")
    assert result.message() == (
        'violates PodSecurity "restricted:latest": '
        "privileged (container \"a\" must not set securityContext.privileged=true), "
        "seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: user may not be set), "
        "allowPrivilegeEscalation != false (container \"a\" must set securityContext.allowPrivilegeEscalation=false), "
        "runAsNonRoot != true (pod or container \"a\" must set securityContext.runAsNonRoot=true), "
        "runAsUser=0 (container \"a\" must not set runAsUser=0), "
        "seccompProfile (pod or container \"a\" must set securityContext.seccompProfile.type to "
        "\"RuntimeDefault\" or \"Localhost\")"
    )
    assert result.violations[0] == Violation("privileged", 'container "a" must not set securityContext.privileged=true')


def test_allow_privilege_escalation_lists_containers_in_init_regular_ephemeral_order():
    bad = spec(container("b", allowPrivilegeEscalation=None), initContainers=[{"name": "a"}],
               ephemeralContainers=[{"name": "c", "securityContext": {"allowPrivilegeEscalation": True,
                                                                      "capabilities": {"drop": ["ALL"]}}}])
    assert violations(bad)[0] == ("allowPrivilegeEscalation != false",
                                  'containers "a", "b", "c" must set securityContext.allowPrivilegeEscalation=false')


def test_apparmor_fields_and_annotations():
    bad = spec(container("foo", appArmorProfile={"type": "Unconfined"}),
               securityContext={"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
                                "appArmorProfile": {"type": "Localhost"}})
    assert violations(bad, "baseline") == [
        ("forbidden AppArmor profile", 'container "foo" must not set AppArmor profile type to "Unconfined"')]
    annotations = {"container.apparmor.security.beta.kubernetes.io/": "bogus",
                   "container.apparmor.security.beta.kubernetes.io/e": "unconfined",
                   "container.apparmor.security.beta.kubernetes.io/f": "unknown",
                   "container.apparmor.security.beta.kubernetes.io/ok": "localhost/x"}
    assert violations(spec(), "baseline", metadata={"annotations": annotations}) == [(
        "forbidden AppArmor profiles",
        'annotations must not set AppArmor profile type to '
        '"container.apparmor.security.beta.kubernetes.io/="bogus"", '
        '"container.apparmor.security.beta.kubernetes.io/e="unconfined"", '
        '"container.apparmor.security.beta.kubernetes.io/f="unknown""')]


def test_a_pod_apparmor_annotation_is_copied_into_the_container_field_but_a_templates_is_not():
    obj = {"kind": "Pod", "metadata": {"name": "p", "annotations": {
        "container.apparmor.security.beta.kubernetes.io/c": "unconfined"}}, "spec": spec()}
    before = copy.deepcopy(obj)
    assert evaluate(obj, "baseline").violations == [Violation(
        "forbidden AppArmor profiles",
        'container "c" and annotation must not set AppArmor profile type to "Unconfined", '
        '"container.apparmor.security.beta.kubernetes.io/c="unconfined""')]
    assert obj == before  # normalization works on copies
    deployment = {"kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"template": {"metadata": obj["metadata"], "spec": obj["spec"]}}}
    assert evaluate(deployment, "baseline").violations == [Violation(
        "forbidden AppArmor profile",
        'annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/c="unconfined""')]


def test_capabilities_baseline_and_its_override_in_restricted():
    bad = spec(container("a", capabilities={"add": ["FOO", "BAR", "CHOWN"]}),
               container("b", capabilities={"add": ["BAZ", "FOO"], "drop": ["ALL"]}), container("c"))
    assert violations(bad, "baseline") == [("non-default capabilities",
        'containers "a", "b" must not include "BAR", "BAZ", "FOO" in securityContext.capabilities.add')]
    assert violations(bad, "restricted", "v1.21")[0][0] == "non-default capabilities"
    assert violations(bad, "restricted")[0] == ("unrestricted capabilities",
        'container "a" must set securityContext.capabilities.drop=["ALL"]; '
        'containers "a", "b" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add')


def test_drop_all_is_case_sensitive_and_net_bind_service_is_the_only_addition():
    ok = spec(container("a", capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}))
    assert violations(ok) == []
    lower = spec(container("a", capabilities={"drop": ["all"]}))
    assert violations(lower) == [("unrestricted capabilities",
                                  'container "a" must set securityContext.capabilities.drop=["ALL"]')]


def test_host_namespaces_ports_and_hostpath_volumes():
    bad = spec(
        {"name": "a", "ports": [{"containerPort": 1}]},
        {"name": "b", "ports": [{"containerPort": 80, "hostPort": 80}, {"containerPort": 1, "hostPort": 443}]},
        {"name": "c", "ports": [{"containerPort": 9, "hostPort": 80}]},
        hostIPC=True, hostNetwork=False, hostPID=True,
        volumes=[{"name": "x", "hostPath": {"path": "/"}}, {"name": "y", "emptyDir": {}},
                 {"name": "z", "hostPath": {"path": "/etc"}}],
    )
    assert violations(bad, "baseline") == [
        ("host namespaces", "hostPID=true, hostIPC=true"),
        ("hostPath volumes", 'volumes "x", "z"'),
        ("hostPort", 'containers "b", "c" use hostPorts 443, 80'),
    ]
    restricted = dict(violations(bad, "restricted"))
    assert restricted["restricted volume types"] == 'volumes "x", "z" use restricted volume type "hostPath"'
    assert "hostPath volumes" not in restricted


def test_host_network_pods_get_host_ports_but_templates_do_not():
    pod_spec = spec({"name": "c", "ports": [{"containerPort": 80}]}, hostNetwork=True)
    assert violations(pod_spec, "baseline", pod=True) == [
        ("host namespaces", "hostNetwork=true"), ("hostPort", 'container "c" uses hostPort 80')]
    assert violations(pod_spec, "baseline", pod=False) == [("host namespaces", "hostNetwork=true")]


def test_probe_and_lifecycle_hosts_from_v1_34_with_sorted_container_names():
    bad = spec({"name": "invalid2", "livenessProbe": {"httpGet": {"host": "b.com", "port": 80}}},
               {"name": "invalid1", "lifecycle": {"preStop": {"tcpSocket": {"host": "a.com", "port": 1}}}},
               {"name": "fine", "readinessProbe": {"httpGet": {"port": 80}}})
    expected = ("probe or lifecycle host",
                'containers "invalid1", "invalid2" use probe or lifecycle hosts "a.com", "b.com"')
    assert violations(bad, "baseline", "v1.34") == [expected]
    assert violations(bad, "baseline", "v1.33") == []


def test_proc_mount_moves_after_capabilities_from_v1_35_in_restricted():
    bad = spec(container("d", procMount="Unmasked", privileged=True),
               {"name": "e", "securityContext": {"allowPrivilegeEscalation": False, "procMount": "other"}})
    detail = 'containers "d", "e" must not set securityContext.procMount to "Unmasked", "other"'
    caps = 'container "e" must set securityContext.capabilities.drop=["ALL"]'
    privileged = ("privileged", 'container "d" must not set securityContext.privileged=true')
    assert violations(bad, "restricted", "v1.34") == [
        privileged, ("procMount", detail), ("unrestricted capabilities", caps)]
    assert violations(bad, "restricted", "v1.35") == [
        privileged, ("unrestricted capabilities", caps), ("procMount", detail)]
    user_ns = dict(bad, hostUsers=False)
    assert violations(user_ns, "baseline", "v1.35") == [privileged]
    assert violations(user_ns, "baseline", "v1.34") == [privileged, ("procMount", detail)]
    assert ("procMount", detail) in violations(user_ns, "restricted", "v1.35")


def test_restricted_volume_types_and_the_sourceless_volume_default():
    bad = spec(volumes=[{"name": "a", "nfs": {}}, {"name": "b"}, {"name": "c", "gitRepo": {}},
                        {"name": "d", "image": {"reference": "x"}}, {"name": "e", "hostPath": None}])
    assert violations(bad) == [("restricted volume types",
                                'volumes "a", "c" use restricted volume types "gitRepo", "nfs"')]


def test_run_as_non_root_explicit_beats_implicit():
    pod_false = spec(container("a", runAsNonRoot=True), securityContext={"runAsNonRoot": False,
                                                                        "seccompProfile": {"type": "RuntimeDefault"}})
    assert violations(pod_false) == [("runAsNonRoot != true", "pod must not set securityContext.runAsNonRoot=false")]
    mixed = spec(container("a"), container("c", runAsNonRoot=False), container("d", runAsNonRoot=False),
                 securityContext={"seccompProfile": {"type": "RuntimeDefault"}})
    assert violations(mixed) == [("runAsNonRoot != true",
                                  'containers "c", "d" must not set securityContext.runAsNonRoot=false')]
    uid_only = spec(container("a"), container("b"),
                    securityContext={"runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}})
    assert violations(uid_only) == [("runAsNonRoot != true",
                                     'pod or containers "a", "b" must set securityContext.runAsNonRoot=true')]


def test_run_as_user_zero_from_v1_23_and_user_namespaces_from_v1_35():
    bad = spec(container("x", runAsUser=0), container("y", runAsUser=1000),
               securityContext={"runAsNonRoot": True, "runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}})
    assert violations(bad) == [("runAsUser=0", 'pod and container "x" must not set runAsUser=0')]
    assert violations(bad, version="v1.22") == []
    assert violations(dict(bad, hostUsers=False), version="v1.35") == []
    assert violations(dict(bad, hostUsers=False), version="v1.34") != []
    assert violations(dict(bad, hostUsers=True), version="v1.35") != []


def test_se_linux_options_types_user_and_role():
    bad = spec(container("e", seLinuxOptions={"type": "foo"}), container("f", seLinuxOptions={"type": "bar"}),
               container("g", seLinuxOptions={"role": "r", "level": "s0"}), container("h", seLinuxOptions={"level": "s0"}),
               securityContext={"seLinuxOptions": {"user": "u", "type": "container_t"}})
    assert violations(bad, "baseline") == [("seLinuxOptions",
        'pod and containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: '
        'types "bar", "foo"; user may not be set; role may not be set')]
    engine = spec(container("e", seLinuxOptions={"type": "container_engine_t"}))
    assert violations(engine, "baseline", "v1.30") == [("seLinuxOptions",
        'container "e" set forbidden securityContext.seLinuxOptions: type "container_engine_t"')]
    assert violations(engine, "baseline", "v1.31") == []


def test_seccomp_annotations_below_v1_19_and_fields_from_v1_19():
    annotations = {"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
                   "container.seccomp.security.alpha.kubernetes.io/a": "unconfined",
                   "container.seccomp.security.alpha.kubernetes.io/nobody": "unconfined",
                   "container.seccomp.security.alpha.kubernetes.io/b": "runtime/default"}
    two = spec(container("a"), container("b"), securityContext={})
    assert violations(two, "baseline", "v1.18", metadata={"annotations": annotations}) == [("seccompProfile",
        'forbidden annotations container.seccomp.security.alpha.kubernetes.io/a="unconfined", '
        'seccomp.security.alpha.kubernetes.io/pod="unconfined"')]
    assert violations(two, "baseline", "v1.19", metadata={"annotations": annotations}) == []
    fields = spec(container("c", seccompProfile={"type": "Unconfined"}), container("d", seccompProfile={"type": "Unconfined"}),
                  securityContext={"runAsNonRoot": True, "seccompProfile": {"type": "Unconfined"}})
    expected = ("seccompProfile",
                'pod and containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"')
    assert violations(fields, "baseline") == [expected]
    assert violations(fields, "restricted") == [expected]


def test_windows_pods_skip_three_restricted_checks_from_v1_25_only():
    windows = {"os": {"name": "windows"}, "containers": [{"name": "w"}], "securityContext": {"runAsNonRoot": True}}
    assert violations(windows, "restricted", "v1.25") == []
    assert [r for r, _ in violations(windows, "restricted", "v1.24")] == [
        "allowPrivilegeEscalation != false", "unrestricted capabilities", "seccompProfile"]


def test_sysctls_keep_spec_order_and_duplicates_and_grow_with_versions():
    sysctls = [{"name": n, "value": "1"} for n in ("b", "net.ipv4.tcp_rmem", "a", "b", "kernel.shm_rmid_forced")]
    bad = spec(securityContext={"sysctls": sysctls})
    assert violations(bad, "baseline", "v1.32") == [("forbidden sysctls", "b, a, b")]
    assert violations(bad, "baseline", "v1.31") == [("forbidden sysctls", "b, net.ipv4.tcp_rmem, a, b")]


def test_windows_host_process():
    bad = spec(container("e", windowsOptions={"hostProcess": True}), container("f", windowsOptions={"hostProcess": True}),
               securityContext={"windowsOptions": {"hostProcess": True}})
    assert violations(bad, "baseline") == [("hostProcess",
        'pod and containers "e", "f" must not set securityContext.windowsOptions.hostProcess=true')]


def test_annotation_values_are_quoted_like_go():
    annotations = {"container.apparmor.security.beta.kubernetes.io/c": 'x"y\n\x01é'}
    assert violations(spec(), "baseline", metadata={"annotations": annotations})[0][1] == (
        'annotation must not set AppArmor profile type to '
        '"container.apparmor.security.beta.kubernetes.io/c="x\\"y\\n\\x01é""')


@pytest.mark.parametrize("minor, expected", [
    (0, ["appArmorProfile", "capabilities_baseline", "hostNamespaces", "hostPorts", "privileged", "procMount",
         "seLinuxOptions", "seccompProfile_baseline", "sysctls", "windowsHostProcess",
         "restrictedVolumes", "runAsNonRoot"]),
    (37, ["appArmorProfile", "hostNamespaces", "hostPorts", "hostProbesAndHostLifecycle", "privileged",
          "seLinuxOptions", "sysctls", "windowsHostProcess", "allowPrivilegeEscalation", "capabilities_restricted",
          "procMount_restricted", "restrictedVolumes", "runAsNonRoot", "runAsUser", "seccompProfile_restricted"]),
])
def test_restricted_checks_and_their_order(minor, expected):
    assert [check_id for check_id, _ in checks.checks_for("restricted", minor)] == expected


def test_the_newest_policy_version_is_the_largest_minimum_version():
    assert levels.NEWEST_MINOR == max(v.minimum_minor for c in checks.REGISTRY for v in c.variants) == 37


def test_workload_kinds_are_evaluated_from_their_templates():
    template = {"metadata": {}, "spec": {"containers": [{"name": "w", "securityContext": {"privileged": True}}]}}
    kinds = {
        "Deployment": {"spec": {"template": template}}, "StatefulSet": {"spec": {"template": template}},
        "DaemonSet": {"spec": {"template": template}}, "ReplicaSet": {"spec": {"template": template}},
        "ReplicationController": {"spec": {"template": template}}, "Job": {"spec": {"template": template}},
        "CronJob": {"spec": {"jobTemplate": {"spec": {"template": template}}}}, "PodTemplate": {"template": template},
    }
    for kind, body in kinds.items():
        result = evaluate(dict(body, kind=kind, metadata={"name": "x"}), "baseline")
        assert result.violations == [Violation("privileged", 'container "w" must not set securityContext.privileged=true')], kind
    assert evaluate({"kind": "ReplicationController", "spec": {}}, "restricted").allowed


def test_bad_input_is_a_usage_error_naming_the_problem():
    with pytest.raises(UsageError, match="^a Service has no pod spec to evaluate$"):
        evaluate({"kind": "Service", "spec": {}}, "restricted")
    with pytest.raises(UsageError, match="'strict' is not a Pod Security level") as info:
        evaluate_pod_spec({}, spec(), "strict")
    assert info.value.hint == "use one of privileged, baseline, restricted"
    with pytest.raises(UsageError, match="'v1.05' is not a Pod Security policy version"):
        evaluate_pod_spec({}, spec(), "baseline", "v1.05")
    with pytest.raises(InvalidPodSpec, match="wrong type"):
        evaluate_pod_spec({}, {"containers": "nginx"}, "restricted")


@pytest.mark.parametrize("text, minor", [("latest", 37), ("v1.0", 0), ("v1.25", 25), ("v1.37", 37), ("v1.99", 37)])
def test_parse_version_clamps_and_keeps_the_text(text, minor):
    assert levels.parse_version(text) == levels.PolicyVersion(text, minor)


@pytest.mark.parametrize("text", ["", "1.25", "v1.05", "v2.0", "V1.2", "v1.2 ", "v1.3\n", "Latest"])
def test_invalid_versions_are_rejected(text):
    with pytest.raises(UsageError) as info:
        levels.validate_version(text)
    assert info.value.hint == 'use "latest" or "v1.N" (for example v1.35; no leading zeros)'
