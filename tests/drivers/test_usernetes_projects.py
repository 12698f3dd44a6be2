"""Usernetes as podman-compose names it: the node container, one checkout per cluster, the wait for the node.

podman-compose's project name is the checkout folder's real basename, lower-cased, with every character
outside [-_a-z0-9] removed (`norm_re` in podman_compose.py: v1.0.3 @24ec539, v1.0.6 @f6dbce3, v1.6.0
@0f6537e), and the node service's container is <project>_node_1 (docker-compose.yaml @9658658 names the
service `node`). Upstream CI sleeps 5 s between `make up` and `make kubeadm-init`
(.github/workflows/reusable-single-node.yaml @9658658).
"""

from __future__ import annotations

import json

import pytest

from rootlesskube import cluster, paths
from rootlesskube.drivers import usernetes
from rootlesskube.drivers.usernetes import RELEASE, UsernetesDriver


def make_checkout(folder):
    folder.mkdir(parents=True)
    (folder / "Makefile").write_text("# stand-in checkout: the `make` stand-in plays the real Makefile\n")
    return folder


def up(cli, name, *args):
    return cli("up", "--driver", "usernetes", "--name", name, *args)


@pytest.mark.parametrize("folder, container", [
    ("usernetes-gen2-v20251218.0", "usernetes-gen2-v202512180_node_1"),  # as the release tarball unpacks
    ("Usernetes.Dev", "usernetesdev_node_1"),
])
def test_the_node_container_is_named_as_podman_compose_names_it(cli, standins, tmp_path, folder, container):
    checkout = make_checkout(tmp_path / folder)
    code, out, err = up(cli, "u7s", "--usernetes-dir", checkout)
    assert code == 0, err
    assert standins.tool_state("usernetes")["clusters"][str(checkout)]["container"] == container
    assert UsernetesDriver().node_containers("u7s") == [container]
    assert standins.argvs("podman")[0] == ["podman", "exec", container, "ctr", "version"]
    assert json.loads(cli("status", "--json")[1])[0]["exists"] is True


def test_up_waits_for_the_node_between_make_up_and_kubeadm_init(cli, standins, tmp_path):
    standins.scenario("podman", node_ready_after=3)
    checkout = make_checkout(tmp_path / "usernetes")
    code, out, err = up(cli, "u7s", "--usernetes-dir", checkout)
    assert code == 0, err
    order = [c["argv"][:2] for c in standins.calls() if c["tool"] in ("make", "podman")]
    assert order[:6] == [["make", "up"]] + [["podman", "exec"]] * 4 + [["make", "kubeadm-init"]]
    assert "   ok: wait until the node's container runtime answers (" in err


def test_a_node_that_never_answers_fails_with_a_clear_error(cli, standins, tmp_path, monkeypatch):
    monkeypatch.setattr(usernetes, "NODE_WAIT_SECONDS", 0.3)
    monkeypatch.setattr(usernetes, "NODE_POLL_SECONDS", 0.05)
    standins.scenario("podman", node_ready_after=10_000)
    checkout = make_checkout(tmp_path / "usernetes")
    code, out, err = up(cli, "u7s", "--usernetes-dir", checkout)
    assert code == 1
    assert ("error: the Usernetes node container usernetes_node_1 did not answer within 0s after `make up` "
            "(`podman exec usernetes_node_1 ctr version`: exit 1") in err
    assert "kubeadm-init" not in [c["argv"][1] for c in standins.calls("make")]
    assert standins.argvs("make")[-1] == ["make", "down-v"]  # the half-created cluster is deleted


def test_two_clusters_of_one_user_get_two_checkouts_side_by_side(cli, standins):
    base = paths.data_dir() / "usernetes"
    first, second = make_checkout(base / f"a-{RELEASE}"), make_checkout(base / f"b-{RELEASE}")
    assert up(cli, "a")[0] == 0
    code, out, err = up(cli, "b", "--api-port", "16443", "--port-etcd", "12379", "--port-kubelet", "20250",
                        "--port-flannel", "18472")
    assert code == 0, err
    state = standins.tool_state("usernetes")["clusters"]
    assert {state[str(first)]["container"], state[str(second)]["container"]} == {
        "a-gen2-v202512180_node_1", "b-gen2-v202512180_node_1"}
    assert cli("down", "--name", "b")[0] == 0
    assert (first / "kubeconfig").is_file() and not (second / "kubeconfig").exists()
    assert {c["cwd"] for c in standins.calls("make") if c["argv"] == ["make", "down-v"]} == {str(second)}
    assert [r["name"] for r in json.loads(cli("status", "--json")[1]) if r["exists"]] == ["a"]


def test_down_force_of_an_unknown_name_never_touches_another_clusters_checkout(cli, standins):
    make_checkout(paths.data_dir() / "usernetes" / f"a-{RELEASE}")
    assert up(cli, "a")[0] == 0
    code, out, err = cli("down", "--name", "b", "--force")
    assert code == 0, err
    assert "down-v" not in [c["argv"][1] for c in standins.calls("make")]
    assert cluster.load_record("a") is not None


@pytest.mark.parametrize("second", ["same", "same-name-elsewhere"])
def test_a_checkout_or_project_name_of_another_cluster_is_refused(cli, standins, tmp_path, second):
    first = make_checkout(tmp_path / "one" / "usernetes")
    assert up(cli, "a", "--usernetes-dir", first)[0] == 0
    other = first if second == "same" else make_checkout(tmp_path / "two" / "Usernetes")
    before = len(standins.calls("make"))
    code, out, err = up(cli, "b", "--usernetes-dir", other)
    assert code == 2
    assert (f"error: the Usernetes checkout {other} (compose project 'usernetes') is cluster 'a''s ({first}); "
            "two clusters sharing a project would share the node container") in err
    assert len(standins.calls("make")) == before
    assert cluster.load_record("b") is None  # refused before a record or a file was written


def test_up_pmm_deploy_status_down_in_a_checkout_named_like_the_release_tarball(cli, standins, tmp_path):
    """The whole path through the stand-ins: the image goes into the node container podman-compose named."""
    from tests.workloads.pmm_world import PmmWorld

    checkout = make_checkout(tmp_path / f"usernetes-{RELEASE}")
    node = "usernetes-gen2-v202512180_node_1"
    assert up(cli, "u7s", "--usernetes-dir", checkout)[0] == 0
    world = PmmWorld(standins.state, paths.state_dir().parent, "u7s")
    world.pmm3_running()
    archive = tmp_path / "pmm-server.tar"
    archive.write_bytes(b"docker-archive stand-in")
    code, out, err = cli("pmm", "deploy", "--cluster", "u7s", "--image-archive", str(archive), "--wait", "2s",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["storage"] == "emptydir"  # Usernetes has no default StorageClass
    images = json.loads((standins.state / "podman-node-images.json").read_text())
    assert images["imported"] == [[node, str(archive)]]
    assert [c["argv"][1:3] for c in standins.calls("podman")][-2:] == [["cp", str(archive)], ["exec", node]]
    rows = json.loads(cli("status", "--json")[1])
    assert (rows[0]["name"], rows[0]["exists"], rows[0]["ready"]) == ("u7s", True, True)
    assert cli("down", "--name", "u7s")[0] == 0
    assert standins.tool_state("usernetes")["clusters"] == {}
