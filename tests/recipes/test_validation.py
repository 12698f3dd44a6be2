"""Recipes are validated before anything runs: file:line:col and what was expected; shipped ones are valid."""

from __future__ import annotations

import json

import pytest

from rootlesskube.recipe import load as recipe
from rootlesskube.recipe.fields import SchemaError
from tests.recipes.conftest import recipe_text

GOOD = recipe_text()
IMAGE = "kindest/node:v1.36.1@sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("old, new, message", [
    ("cleanup: always", "cleanup: sometimes",
     "24:10: found 'sometimes'; expected one of: always, on-success, never, stop"),
    ("  name: rk-smoke", "  name: RK_smoke",
     "7:9: the cluster name 'RK_smoke' is not a valid DNS-1123 label; expected a DNS-1123 label (cluster name)"),
    ("enforce: restricted", "enforce: strict",
     "11:28: found 'strict'; expected one of: privileged, baseline, restricted"),
    ("timeouts: {ready: 120}", "timeouts: {ready: soon}",
     "23:19: found 'soon'; expected a number of seconds from 1 to 86400"),
    ("  driver: kind", "  driver: docker", "6:11: found 'docker'; expected one of: kind, minikube, usernetes"),
    ("  driver: kind", "  driver: kind\n  replicas: 3",
     "7:3: unknown key 'replicas'; expected one of the keys driver, name, kubernetes, nodeImage, "
     "podSecurityDefault, workers, apiPort, containerRuntime, reuse"),
    ("    files: [web.yaml]\n", "    files: web.yaml\n", "15:12: found 'web.yaml'; expected a list"),
    ("  - type: doctor", "  - type: lint", "18:11: found 'lint'; expected one of: doctor, rootless, pmm-verify, "
                                           "pss-check"),
    ("    namespace: demo", "    namespace: other",
     "14:16: the namespace 'other' is not declared under namespaces; expected one of: demo"),
    ("  - type: doctor", "  - {type: pmm-verify, namespace: pmm}",
     "18:35: the namespace 'pmm' is not declared under namespaces; expected one of: demo"),
    ("  name: rk-smoke", f"  name: rk-smoke\n  kubernetes: v1.36.1\n  nodeImage: {IMAGE}",
     "9:14: both kubernetes and nodeImage are set; expected one or the other: a Kubernetes version, or the kind "
     "node image that has it"),
    ("  driver: kind", f"  driver: minikube\n  nodeImage: {IMAGE}",
     "7:14: nodeImage is set for the minikube driver; expected nodeImage only with driver kind (a kind node image)"),
    ("  driver: kind", f"  driver: usernetes\n  nodeImage: {IMAGE}",
     "7:14: nodeImage is set for the usernetes driver; expected nodeImage only with driver kind (a kind node "
     "image)"),
    ("  name: rk-smoke", "  name: rk-smoke\n  nodeImage: kindest/node:v1.36.1@sha256:abc",
     "8:14: the node image 'kindest/node:v1.36.1@sha256:abc' is not pinned by a full digest (@sha256: and 64 hex "
     "digits); expected a kind node image pinned by digest (NAME:TAG@sha256:DIGEST, 64 hex digits)"),
    ("  name: rk-smoke", "  name: rk-smoke\n  kubernetes: stable",
     "8:15: Kubernetes version 'stable' must look like v1.36.1; expected a Kubernetes version like v1.36.1"),
])
def test_an_invalid_recipe_names_file_line_column_and_runs_nothing(cli, standins, write_recipe, old, new, message):
    assert old in GOOD
    path = write_recipe(GOOD.replace(old, new, 1))
    code, out, err = cli("run", path)
    assert code == 2
    assert out == ""
    assert err.splitlines()[0] == f"error: {path}:{message}"
    assert err.splitlines()[1].startswith("hint: fix line ")
    assert standins.calls() == []  # nothing started: no kind, no kubectl


@pytest.mark.parametrize("old, new, position", [
    ("    files: [web.yaml]\n", "    files: [web.yaml, gone.yaml]\n", "15:23"),  # the workload's
    ("    files: [web.yaml]\n    level", "    files: [gone.yaml]\n    level", "20:13"),  # the pss-check's
])
def test_a_missing_file_is_reported_where_the_recipe_names_it(cli, standins, write_recipe, old, new, position):
    assert old in GOOD
    path = write_recipe(GOOD.replace(old, new, 1))
    code, out, err = cli("run", path, "--dry-run")
    assert code == 2
    assert err.splitlines()[0] == (f"error: {path}:{position}: the file 'gone.yaml' does not exist "
                                   f"({path.parent / 'gone.yaml'}); expected a file path, relative to the recipe")
    assert standins.calls() == []


def test_a_full_digest_and_a_minikube_version_are_accepted(write_recipe):
    kind = recipe.load(str(write_recipe(GOOD.replace("  name: rk-smoke", f"  name: rk-smoke\n  nodeImage: {IMAGE}"))))
    assert kind.cluster.node_image == IMAGE
    # minikube v1.38.1's newest Kubernetes is v1.35.1 (constants.go); newer ones are refused (issue 13 item 9)
    text = GOOD.replace("  driver: kind", "  driver: minikube\n  kubernetes: v1.35.1")
    assert recipe.load(str(write_recipe(text, "minikube.yaml"))).cluster.kubernetes == "v1.35.1"


def test_a_yaml_syntax_error_has_a_position_too(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("apiVersion: rootlesskube.dev/v1alpha1\nkind: [Recipe\n")
    with pytest.raises(Exception) as info:
        recipe.load(str(path))
    assert str(info.value).startswith(f"{path}:3:1: not valid YAML")


def test_a_missing_key_is_reported_at_its_mapping(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("apiVersion: rootlesskube.dev/v1alpha1\nkind: Recipe\nmetadata: {name: x}\ncluster:\n"
                    "  driver: kind\n")
    with pytest.raises(SchemaError) as info:
        recipe.load(str(path))
    assert (info.value.line, info.value.column) == (5, 3)
    assert str(info.value) == f"{path}:5:3: the key 'name' is missing; expected the keys driver, name"


def test_an_unknown_recipe_name_lists_the_shipped_ones(cli):
    code, out, err = cli("run", "kind-pmm4")
    assert code == 2
    assert err.splitlines() == ["error: no recipe named 'kind-pmm4'",
                                "hint: shipped recipes: kind-pmm3-restricted, lab, minikube-pmm3-restricted, "
                                "pmm2-negative-control, usernetes-pmm3-restricted (or give a path to a .yaml file)"]


def test_every_shipped_recipe_validates():
    assert sorted(recipe.shipped()) == ["kind-pmm3-restricted", "lab", "minikube-pmm3-restricted",
                                        "pmm2-negative-control", "usernetes-pmm3-restricted"]
    drivers = {name: recipe.load(name).cluster.driver for name in recipe.shipped()}
    assert drivers == {"kind-pmm3-restricted": "kind", "lab": "kind", "minikube-pmm3-restricted": "minikube",
                       "pmm2-negative-control": "kind", "usernetes-pmm3-restricted": "usernetes"}


def test_the_default_recipe_is_what_up_does_plus_pmm():
    from rootlesskube.cli.cluster import Up
    from rootlesskube.cluster import DEFAULT_NAME, WAIT_READY_SECONDS

    default = recipe.load(recipe.DEFAULT_RECIPE)
    def up_default(switch):
        return getattr(Up, switch)._default_value

    assert (default.cluster.driver, default.cluster.name) == (up_default("driver"), DEFAULT_NAME)
    assert default.cluster.name == up_default("name")
    assert default.timeouts.ready == WAIT_READY_SECONDS == up_default("wait")
    assert default.cleanup == "never"  # `up` leaves the cluster running
    assert [w.type for w in default.workloads] == ["pmm3"]
    assert [c.type for c in default.checks] == ["doctor", "rootless", "pmm-verify"]


def test_dry_run_prints_the_default_plan_and_touches_nothing(cli, standins):
    code, out, err = cli("run", "kind-pmm3-restricted", "--dry-run")
    assert code == 0, err
    assert cli("run", "--dry-run") == (code, out, err)  # without a recipe: the default one
    assert out.splitlines() == [
        f"recipe kind-pmm3-restricted ({recipe.shipped()['kind-pmm3-restricted']}): 6 steps, cleanup: never",
        "  1. check the host for kind (doctor)",
        "     run every host check for kind; stop if one fails",
        "  2. bring up the kind cluster 'rootlesskube'",
        "     create or reuse kind cluster rootlesskube; wait 300s for Ready nodes",
        "  3. namespace 'secure-namespace' on 'rootlesskube'",
        "     apply Namespace secure-namespace with pod-security.kubernetes.io/enforce=restricted, "
        "pod-security.kubernetes.io/enforce-version=latest, pod-security.kubernetes.io/audit=restricted, "
        "pod-security.kubernetes.io/audit-version=latest, pod-security.kubernetes.io/warn=restricted, "
        "pod-security.kubernetes.io/warn-version=latest",
        "  4. PMM 3 in 'secure-namespace' on 'rootlesskube'",
        "     deploy PMM 3 into namespace secure-namespace; expect it to run",
        "  5. prove 'rootlesskube' rootless",
        "     verify the host owners of every node container's processes",
        "  6. pmm verify in 'secure-namespace' on 'rootlesskube'",
        "     verify PMM in namespace secure-namespace",
    ]
    assert standins.calls() == []


@pytest.mark.parametrize("name, steps", [
    ("minikube-pmm3-restricted", [
        ("doctor", "check the host for minikube (doctor)"),
        ("up", "bring up the minikube cluster 'rootlesskube-minikube'"),
        ("namespace", "namespace 'secure-namespace' on 'rootlesskube-minikube'"),
        ("workload", "PMM 3 in 'secure-namespace' on 'rootlesskube-minikube'"),
        ("rootless", "prove 'rootlesskube-minikube' rootless"),
        ("pmm-verify", "pmm verify in 'secure-namespace' on 'rootlesskube-minikube'")]),
    ("usernetes-pmm3-restricted", [
        ("doctor", "check the host for usernetes (doctor)"),
        ("up", "bring up the usernetes cluster 'rootlesskube-usernetes'"),
        ("namespace", "namespace 'secure-namespace' on 'rootlesskube-usernetes'"),
        ("workload", "PMM 3 in 'secure-namespace' on 'rootlesskube-usernetes'"),
        ("rootless", "prove 'rootlesskube-usernetes' rootless"),
        ("pmm-verify", "pmm verify in 'secure-namespace' on 'rootlesskube-usernetes'")]),
    ("pmm2-negative-control", [
        ("doctor", "check the host for kind (doctor)"),
        ("up", "bring up the kind cluster 'rootlesskube-pmm2'"),
        ("namespace", "namespace 'secure-namespace' on 'rootlesskube-pmm2'"),
        ("workload", "PMM 2 in 'secure-namespace' on 'rootlesskube-pmm2'")]),
])
def test_dry_run_of_every_shipped_recipe(cli, standins, name, steps):
    code, out, err = cli("run", name, "--dry-run", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert (plan["recipe"], plan["source"]) == (name, str(recipe.shipped()[name]))
    assert [(s["kind"], s["title"]) for s in plan["steps"]] == steps
    assert all(s["cluster"] == steps[1][1].split("'")[1] for s in plan["steps"][1:])
    up = plan["steps"][1]["does"]
    assert up.startswith(f"create or reuse {steps[1][1].split()[3]} cluster ") and "s for Ready nodes" in up
    if name == "pmm2-negative-control":
        assert up == ("create or reuse kind cluster rootlesskube-pmm2; cluster-wide Pod Security default restricted; "
                      "wait 300s for Ready nodes")
        assert plan["steps"][3]["does"] == ("deploy PMM 2 into namespace secure-namespace; expect Pod Security "
                                            "admission to reject it")
    assert standins.calls() == []


def test_the_negative_control_expects_the_rejection():
    control = recipe.load("pmm2-negative-control")
    assert [(w.type, w.expect) for w in control.workloads] == [("pmm2", "rejected")]
    assert control.cluster.pss_default == "restricted"


def test_the_published_json_schema_is_the_loaders():
    published = json.loads(recipe.SCHEMA_FILE.read_text())
    assert published == recipe.json_schema()
    assert published["properties"]["cleanup"]["enum"] == ["always", "on-success", "never", "stop"]
    assert published["properties"]["cluster"]["properties"]["reuse"]["type"] == "boolean"
    assert published["required"] == ["apiVersion", "kind", "metadata", "cluster"]


def test_recipes_list_and_show(cli):
    code, out, err = cli("recipes", "list")
    assert code == 0, err
    assert out.splitlines()[0] == ("kind-pmm3-restricted       kind on rootless Podman, PMM 3 in a restricted "
                                   "namespace, proven rootless (default)")
    assert len(out.splitlines()) == 5
    code, out, err = cli("recipes", "show", "pmm2-negative-control")
    assert code == 0, err
    assert out == recipe.shipped()["pmm2-negative-control"].read_text()
