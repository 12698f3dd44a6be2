"""stop, start, `up` on a stopped cluster, a cluster whose containers are gone: against the stand-ins.

The stand-ins' node containers are records here (root cannot run rootless Podman; the podman stand-in in
tests/standins/node/ answers `ps`, `start`, `stop`, `inspect` and `cp` for them); tests/test_lifecycle_podman.py
does the same with real rootless Podman containers. The kubectl stand-in refuses the connection of a cluster whose
API server's node container is not running (contracts/kubectl/connection-refused.stderr.txt), as a real one does.
"""

from __future__ import annotations

import json

import pytest

from rootlesskube import cluster
from tests.drivers import conftest as driver_fixtures
from tests.drivers.conftest import cluster_standin

standins = driver_fixtures.standins  # the stand-ins on PATH (node/ first), their state, a passing doctor


def containers(standins):
    return {name: node["state"] for name, node in cluster_standin.standin_lib.load_json(
        standins.state / "podman-containers.json", {}).items()}


def podman_argvs(standins):
    return [c["argv"][1:] for c in standins.calls("podman")]


def status_row(cli, name):
    code, out, err = cli("status", "--name", name, "--json")
    assert code == 0, err
    return json.loads(out)[0]


def test_kind_stop_then_start_keeps_the_cluster(cli, standins):
    assert cli("up", "--name", "rk-dev")[0] == 0
    code, out, err = cli("stop", "--name", "rk-dev")
    assert code == 0, err
    assert ["stop", "--time", "30", "rk-dev-control-plane"] in podman_argvs(standins)
    assert containers(standins) == {"rk-dev-control-plane": "exited"}
    row = status_row(cli, "rk-dev")
    assert (row["lifecycle"], row["ready"], row["containers"]) == (
        "stopped", False, [{"name": "rk-dev-control-plane", "state": "stopped", "podman_state": "exited"}])
    assert row["detail"] == "stopped; `rootlesskube start --name rk-dev` starts it"
    assert row["api_endpoint"] == "https://127.0.0.1:41235"  # from the kubeconfig; the API server is not asked
    assert cluster.load_record("rk-dev").state == "stopped"

    code, out, err = cli("start", "--name", "rk-dev")
    assert code == 0, err
    assert out == f"export KUBECONFIG={cluster.kubeconfig_path('rk-dev')}\n"
    assert ["start", "rk-dev-control-plane"] in podman_argvs(standins)
    assert [a for a in standins.argvs("kind") if a[1:3] != ["get", "clusters"]][-1] == [
        "kind", "get", "kubeconfig", "--name", "rk-dev"]
    row = status_row(cli, "rk-dev")
    assert (row["lifecycle"], row["ready"]) == ("running", True)
    assert cluster.load_record("rk-dev").state == "ready"


def test_up_on_a_stopped_cluster_starts_it_instead_of_waiting(cli, standins):
    assert cli("up", "--name", "rk-dev")[0] == 0
    data = cluster_standin.standin_lib.load_json(standins.state / "podman-containers.json", {})
    data["rk-dev-control-plane"]["state"] = "exited"
    cluster_standin.standin_lib.save_json(standins.state / "podman-containers.json", data)
    code, out, err = cli("up", "--name", "rk-dev", "--wait", "5")
    assert code == 0, err
    assert "cluster 'rk-dev' exists with the same spec but is stopped: starting it" in err
    assert "cluster 'rk-dev' (kind) is started again (it was stopped)" in err
    assert containers(standins) == {"rk-dev-control-plane": "running"}
    assert sum(1 for a in standins.argvs("kind") if a[1:3] == ["create", "cluster"]) == 1


def test_a_degraded_cluster_is_told_per_node_and_start_starts_the_stopped_ones(cli, standins):
    assert cli("up", "--name", "rk-dev", "--workers", "1")[0] == 0
    data = cluster_standin.standin_lib.load_json(standins.state / "podman-containers.json", {})
    data["rk-dev-worker"]["state"] = "exited"
    cluster_standin.standin_lib.save_json(standins.state / "podman-containers.json", data)
    row = status_row(cli, "rk-dev")
    assert row["lifecycle"] == "degraded"
    assert row["containers"] == [
        {"name": "rk-dev-control-plane", "state": "running", "podman_state": "running"},
        {"name": "rk-dev-worker", "state": "stopped", "podman_state": "exited"}]
    code, out, err = cli("status", "--name", "rk-dev")
    assert "  state:       degraded\n  containers:  rk-dev-control-plane (running), rk-dev-worker (stopped)\n" in out
    assert cli("start", "--name", "rk-dev")[0] == 0
    assert ["start", "rk-dev-worker"] in podman_argvs(standins)
    assert containers(standins) == {"rk-dev-control-plane": "running", "rk-dev-worker": "running"}


def test_kind_multi_node_with_new_addresses_is_refused_with_the_way_back(cli, standins):
    """Podman gives a restarted node a new address (kind issues #2272, #3071); only a node's own manifests are
    fixed by kind's entrypoint (/kind/old-ipv4, images/base/files/usr/local/bin/entrypoint @cda67ef)."""
    assert cli("up", "--name", "rk-dev", "--workers", "1")[0] == 0
    assert cli("stop", "--name", "rk-dev")[0] == 0
    assert ["stop", "--time", "30", "rk-dev-worker", "rk-dev-control-plane"] in podman_argvs(standins)
    standins.scenario("podman", readdress="yes")
    code, out, err = cli("start", "--name", "rk-dev", "--wait", "5")
    assert code == 1
    assert ("error: the nodes of the multi-node kind cluster 'rk-dev' came back with new addresses "
            "(rk-dev-control-plane 10.89.0.1 -> 10.89.0.11; rk-dev-worker 10.89.0.2 -> 10.89.0.12); kind cannot bring "
            "such a cluster back on Podman (kind issues #2272, #3190, #3473), so they were stopped again") in err
    assert "hint: the fastest safe way back: `rootlesskube up --name rk-dev --recreate`" in err
    assert cluster.load_record("rk-dev").state == "stopped"
    assert containers(standins) == {"rk-dev-control-plane": "exited", "rk-dev-worker": "exited"}
    assert status_row(cli, "rk-dev")["lifecycle"] == "stopped"


def test_kind_multi_node_with_the_same_addresses_starts(cli, standins):
    assert cli("up", "--name", "rk-dev", "--workers", "1")[0] == 0
    assert cli("stop", "--name", "rk-dev")[0] == 0
    code, out, err = cli("start", "--name", "rk-dev", "--wait", "5")
    assert code == 0, err
    assert ["start", "rk-dev-control-plane", "rk-dev-worker"] in podman_argvs(standins)


def test_a_cluster_whose_containers_are_gone_is_reported_with_the_cleaning_command(cli, standins):
    assert cli("up", "--name", "rk-dev")[0] == 0
    (standins.state / "podman-containers.json").write_text("{}")  # `podman rm -f` behind rootlesskube's back
    row = status_row(cli, "rk-dev")
    assert (row["lifecycle"], row["exists"], row["containers"]) == ("gone", False, [])
    assert row["detail"] == "no node container exists; `rootlesskube down --name rk-dev` cleans the record"
    for command in (("up", "--name", "rk-dev"), ("start", "--name", "rk-dev"), ("stop", "--name", "rk-dev")):
        code, out, err = cli(*command)
        assert code == 1, command
        assert ("error: the kind cluster 'rk-dev' is gone: rootlesskube's record of it remains, but no node container "
                "of it exists") in err
        assert "hint: `rootlesskube down --name rk-dev` cleans the record; then `rootlesskube up` creates it again" in err
    assert sum(1 for a in standins.argvs("kind") if a[1:3] == ["create", "cluster"]) == 1
    assert cli("down", "--name", "rk-dev")[0] == 0
    assert cluster.load_record("rk-dev") is None


def test_minikube_stop_and_start_are_rootless_with_the_private_kubeconfig(cli, standins):
    assert cli("up", "--driver", "minikube", "--name", "rk-mk")[0] == 0
    assert cli("stop", "--name", "rk-mk")[0] == 0
    assert status_row(cli, "rk-mk")["lifecycle"] == "stopped"
    code, out, err = cli("start", "--name", "rk-mk")
    assert code == 0, err
    lifecycle = [c for c in standins.calls("minikube") if c["argv"][1] in ("stop", "start")][1:]
    assert [c["argv"] for c in lifecycle] == [
        ["minikube", "stop", "-p", "rk-mk", "--rootless"],
        ["minikube", "start", "--interactive=false", "-p", "rk-mk", "--rootless"]]
    assert {c["env"]["KUBECONFIG"] for c in lifecycle} == {str(cluster.kubeconfig_path("rk-mk"))}
    assert "server: https://127.0.0.1:38127" in cluster.kubeconfig_path("rk-mk").read_text()
    assert status_row(cli, "rk-mk")["lifecycle"] == "running"


def test_usernetes_stop_is_make_down_and_start_make_up_with_the_same_ports(cli, standins, checkout):
    assert cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout,
               "--api-port", "16443", "--port-etcd", "12379")[0] == 0
    assert cli("stop", "--name", "u7s")[0] == 0
    row = status_row(cli, "u7s")
    assert (row["lifecycle"], row["containers"]) == ("stopped", [])  # make down removes it, its volumes stay
    code, out, err = cli("start", "--name", "u7s")
    assert code == 0, err
    makes = [c for c in standins.calls("make")][4:]
    assert [c["argv"] for c in makes] == [["make", "down"], ["make", "up"]]
    assert all(c["env"]["PORT_KUBE_APISERVER"] == "16443" and c["env"]["PORT_ETCD"] == "12379" for c in makes)
    assert not any("down-v" in c["argv"] for c in standins.calls("make"))
    assert status_row(cli, "u7s")["lifecycle"] == "running"


def test_stop_of_an_unknown_cluster_names_the_fix(cli, standins):
    code, out, err = cli("stop", "--name", "nope")
    assert code == 1
    assert "error: rootlesskube knows no cluster named 'nope'" in err
    assert standins.calls() == []


def test_start_rewrites_the_kubeconfig_when_the_api_servers_port_changed(cli, standins):
    """`start` re-reads the API server's host port from the tool (kind: `get kubeconfig`, which asks podman for
    the node's published port, providers/podman/provider.go GetAPIServerEndpoint @cda67ef)."""
    assert cli("up", "--name", "rk-dev")[0] == 0
    assert cli("stop", "--name", "rk-dev")[0] == 0
    private = cluster.kubeconfig_path("rk-dev")
    private.write_text(private.read_text().replace("127.0.0.1:41235", "127.0.0.1:40000"))
    code, out, err = cli("start", "--name", "rk-dev")
    assert code == 0, err
    assert ("the API server of cluster 'rk-dev' moved from https://127.0.0.1:40000 to https://127.0.0.1:41235; "
            f"the kubeconfig {private} says so now") in err
    assert "server: https://127.0.0.1:41235" in private.read_text()
    assert oct(private.stat().st_mode & 0o777) == "0o600"


def test_status_says_when_podman_cannot_tell(cli, standins, monkeypatch):
    from rootlesskube.drivers.kind import KindDriver
    from rootlesskube.errors import RootlesskubeError

    assert cli("up", "--name", "rk-dev")[0] == 0

    def broken(self, name):
        raise RootlesskubeError("podman ps failed: Error: cannot re-exec process")

    monkeypatch.setattr(KindDriver, "node_states", broken)
    row = status_row(cli, "rk-dev")
    assert (row["lifecycle"], row["containers"]) == ("unknown", [])
    assert row["detail"] == ("could not ask Podman for the node containers: podman ps failed: Error: cannot re-exec "
                             "process")


@pytest.mark.parametrize("args", [
    ("stop", "--name", "Bad"), ("stop", "--name", "a/b"), ("stop", "--name", ""), ("stop", "--name", "rk\n"),
    ("start", "--name", "Bad"), ("start", "--name", ".."), ("start", "--name", "a" * 64), ("start", "--wait", "-1"),
    ("export", "systemd-unit", "--cluster", "Bad"), ("export", "systemd-unit", "--cluster", "a\x1b"),
])
def test_bad_names_are_refused_before_any_command_or_file(cli, standins, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    code, out, err = cli(*args)
    lines = err.splitlines()
    assert code == 2, err
    assert lines[0].startswith("error: ") and len(lines) <= 2 and out == ""
    assert standins.calls() == []
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
