"""up, pmm deploy, status and down for kind and minikube through the corrected stand-ins (Usernetes:
test_usernetes_projects.py), checking what each tool was really asked to do."""

from __future__ import annotations

import json

import pytest

from rootlesskube import cluster, paths
from tests.workloads.pmm_world import PmmWorld

STORAGE_CLASS = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                 "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                 "provisioner": "rancher.io/local-path"}


@pytest.mark.parametrize("driver, extra, load", [
    ("kind", ["--pss-default", "restricted"], ["kind", "load", "image-archive"]),
    ("minikube", [], ["minikube", "image", "load"]),
])
def test_up_pmm_deploy_status_down(cli, standins, tmp_path, monkeypatch, driver, extra, load):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    code, out, err = cli("up", "--driver", driver, "--name", "rk-dev", *extra)
    assert code == 0, err
    world = PmmWorld(standins.state, paths.state_dir().parent, "rk-dev")
    world.scenario.seed(STORAGE_CLASS)  # kind's and minikube's default StorageClass
    world.pmm3_running()
    archive = tmp_path / "pmm-server.tar"
    archive.write_bytes(b"docker-archive stand-in")
    code, out, err = cli("pmm", "deploy", "--cluster", "rk-dev", "--image-archive", str(archive), "--wait", "2s",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["storage"] == "pvc"
    assert any(argv[:len(load)] == load for argv in standins.argvs(driver))
    rows = json.loads(cli("status", "--json")[1])
    assert (rows[0]["driver"], rows[0]["exists"], rows[0]["ready"]) == (driver, True, True)
    assert cli("down", "--name", "rk-dev")[0] == 0
    assert cluster.load_record("rk-dev") is None
    assert not (home / ".kube").exists()  # neither tool touched the user's kubeconfig
    if driver == "kind":
        policy = (paths.state_dir() / "clusters/rk-dev/pod-security.yaml").read_text()
        assert "local-path-storage" in policy  # the provisioner behind the PVC is exempt from restricted
