"""Warm runs (issue 18, item 6): `cluster: {reuse: true}` with `cleanup: stop`. The cold run creates the cluster,
loads the image and stops the cluster; the warm run starts it, resets only the recipe's namespaces (delete, wait,
re-create) and loads no image the node already holds: no `kind create`, no pull, no `kind load`.

The stand-in kind node holds, after `kind load image-archive`, the image whose id is the sha256 of the archive's
config file (containerd core/images/archive/importer.go and internal/cri/store/image/image.go @301026e), and
answers `crictl images -o json` with it (tests/standins/node/podman).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import textwrap

import pytest

from rootlesskube.recipe import load as recipe
from tests.workloads.pmm_world import PmmWorld


def docker_archive(path, token: bytes = b"pmm") -> str:
    """A one-layer docker-archive as `podman save --format docker-archive` lays it out; returns the image id."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                         "config": {"Labels": {"token": token.decode()}}}).encode()
    image_id = hashlib.sha256(config).hexdigest()
    manifest = json.dumps([{"Config": f"{image_id}.json", "RepoTags": ["docker.io/percona/pmm-server:3"],
                            "Layers": []}]).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in ((f"{image_id}.json", config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return image_id


def warm_recipe(cleanup: str = "stop", reuse: str = "true", driver: str = "kind") -> str:
    return textwrap.dedent(f"""\
        apiVersion: rootlesskube.dev/v1alpha1
        kind: Recipe
        metadata:
          name: nightly
        cluster:
          driver: {driver}
          name: rk-warm
          reuse: {reuse}
        namespaces:
          - name: secure-namespace
            podSecurity: {{enforce: restricted, audit: restricted, warn: restricted}}
        workloads:
          - type: pmm3
            namespace: secure-namespace
            imageArchive: pmm.tar
        checks:
          - type: doctor
        timeouts: {{ready: 60, workload: 5}}
        cleanup: {cleanup}
        """)


@pytest.fixture
def nightly(standins, recipe_dir, tmp_path, monkeypatch, request):
    from rootlesskube.workloads import pmm_deploy

    monkeypatch.setattr(pmm_deploy, "POLL_SECONDS", 0.05)
    world = PmmWorld(standins.state, tmp_path / "rk-home", "rk-warm", "secure-namespace")
    world.pmm3_running()
    docker_archive(recipe_dir / "pmm.tar")
    path = recipe_dir / "nightly.yaml"
    path.write_text(warm_recipe(driver=getattr(request, "param", "kind")))
    return path


def steps_of(out: str) -> list:
    return [(s["name"], s["status"], s["message"]) for s in json.loads(out)["steps"]]


def test_the_warm_run_starts_resets_the_namespaces_and_loads_nothing(cli, standins, nightly):
    code, out, err = cli("run", str(nightly), "--json")
    assert code == 0, err
    kubeconfig = json.loads(out)["steps"][1]["message"].split("kubeconfig ", 1)[1]
    assert steps_of(out) == [
        ("check the host for kind (doctor)", "passed", ""),
        ("bring up the kind cluster 'rk-warm'", "passed", f"created; kubeconfig {kubeconfig}"),
        ("namespace 'secure-namespace' on 'rk-warm'", "passed", "namespace/secure-namespace created"),
        ("PMM 3 in 'secure-namespace' on 'rk-warm'", "passed", "ready"),
        ("stop the cluster 'rk-warm' (cleanup: stop)", "passed",
         "stopped; the next run or `rootlesskube start --name rk-warm` starts it")]
    cold = [argv[1] for argv in standins.argvs("kind")]
    assert (cold.count("create"), cold.count("load")) == (1, 1)
    status = json.loads(cli("status", "--json")[1])[0]
    assert status["exists"] is True and status["ready"] is False

    calls_before = len(standins.calls())
    code, out, err = cli("run", str(nightly), "--json")
    assert code == 0, err
    assert steps_of(out) == [
        ("check the host for kind (doctor)", "passed", ""),
        ("bring up the kind cluster 'rk-warm'", "passed", f"started (it was stopped); kubeconfig {kubeconfig}"),
        ("namespace 'secure-namespace' on 'rk-warm'", "passed",
         "namespace/secure-namespace reset: deleted, then created"),
        ("PMM 3 in 'secure-namespace' on 'rk-warm'", "passed", "ready"),
        ("stop the cluster 'rk-warm' (cleanup: stop)", "passed",
         "stopped; the next run or `rootlesskube start --name rk-warm` starts it")]
    warm = standins.calls()[calls_before:]
    assert [c["argv"][1] for c in warm if c["tool"] == "kind" and c["argv"][1] in ("create", "load")] == []
    deletes = [c["argv"][1:] for c in warm if c["tool"] == "kubectl" and "delete" in c["argv"]]
    assert [argv[argv.index("delete"):] for argv in deletes] == [
        ["delete", "namespace", "secure-namespace", "--ignore-not-found", "--wait=true", "--timeout=5s"]]
    crictl = [c["argv"] for c in warm if c["tool"] == "podman" and "crictl" in c["argv"]]
    assert crictl == [["podman", "exec", "rk-warm-control-plane", "crictl", "images", "-o", "json"]]


def test_without_reuse_the_namespaces_are_applied_over_not_reset(cli, standins, nightly):
    nightly.write_text(warm_recipe(cleanup="never", reuse="false"))
    assert cli("run", str(nightly), "--json")[0] == 0
    calls_before = len(standins.calls())
    code, out, err = cli("run", str(nightly), "--json")
    assert code == 0, err
    assert steps_of(out)[2] == ("namespace 'secure-namespace' on 'rk-warm'", "passed",
                                "namespace/secure-namespace unchanged")
    assert not [c for c in standins.calls()[calls_before:] if c["tool"] == "kubectl" and "delete" in c["argv"]]
    # the image was not loaded again either: the id check is the shared load path, reuse or not
    assert [argv[1] for argv in standins.argvs("kind")].count("load") == 1


@pytest.mark.parametrize("cleanup, where", [("always", "19:10"), ("on-success", "19:10")])
def test_reuse_with_a_cleanup_that_deletes_the_cluster_is_refused(cli, standins, recipe_dir, cleanup, where):
    path = recipe_dir / "nightly.yaml"
    docker_archive(recipe_dir / "pmm.tar")
    path.write_text(warm_recipe(cleanup=cleanup))
    code, out, err = cli("run", str(path))
    assert code == 2 and out == ""
    assert err.splitlines()[0] == (
        f"error: {path}:{where}: cluster.reuse is true but cleanup is {cleanup} (it deletes the cluster, so no next "
        "run can reuse it); expected cleanup: stop (the warm run: stopped between runs) or cleanup: never")
    assert standins.calls() == []


def test_reuse_must_be_a_boolean(recipe_dir):
    text = warm_recipe().replace("reuse: true", "reuse: yes")
    docker_archive(recipe_dir / "pmm.tar")
    path = recipe_dir / "nightly.yaml"
    path.write_text(text)
    with pytest.raises(recipe.SchemaError) as caught:
        recipe.load(str(path))
    assert caught.value.message == f"{path}:8:10: found 'yes'; expected true or false"


def test_the_dry_run_says_what_a_warm_run_does(cli, standins, nightly):
    code, out, err = cli("run", str(nightly), "--dry-run", "--json")
    assert code == 0, err
    planned = {s["kind"]: s["does"] for s in json.loads(out)["steps"]}
    assert planned["up"].startswith("reuse kind cluster rk-warm (start it if it is stopped), or create it; ")
    assert planned["namespace"].startswith("on a reused cluster first delete Namespace secure-namespace and wait "
                                           "until it is gone (cluster.reuse); then apply Namespace secure-namespace")


@pytest.mark.parametrize("nightly", ["minikube"], indirect=True)
def test_a_warm_minikube_run_loads_nothing_either(cli, standins, nightly):
    assert cli("run", str(nightly), "--json")[0] == 0
    cold = standins.argvs("minikube")
    assert (sum(a[1] == "start" for a in cold), sum(a[1:3] == ["image", "load"] for a in cold)) == (1, 1)
    calls_before = len(standins.calls())
    code, out, err = cli("run", str(nightly), "--json")
    assert code == 0, err
    assert steps_of(out)[1][2].startswith("started (it was stopped); kubeconfig ")
    warm = [c["argv"] for c in standins.calls()[calls_before:] if c["tool"] == "minikube"]
    assert [a[1:3] for a in warm if a[1:3] == ["image", "load"]] == []
    assert sum(a[1] == "start" for a in warm) == 1  # minikube start --rootless of the stopped profile, no create
