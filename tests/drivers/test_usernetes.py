"""The Usernetes driver against the make stand-in, in a checkout the test prepares."""

from __future__ import annotations

import json
import sys

import pytest

from rootlesskube import cluster
from tests.conftest import STANDINS


def test_up_runs_the_bootstrap_targets_with_podman_and_ports(cli, standins, checkout):
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout,
                         "--api-port", "16443")
    assert code == 0, err
    calls = standins.calls("make")
    assert [c["argv"] for c in calls] == [["make", t] for t in ("up", "kubeadm-init", "install-flannel", "kubeconfig")]
    assert {c["cwd"] for c in calls} == {str(checkout)}
    assert {c["env"]["CONTAINER_ENGINE"] for c in calls} == {"podman"}
    kubeconfig = cluster.kubeconfig_path("u7s").read_text()
    assert "server: https://127.0.0.1:16443" in kubeconfig
    record = cluster.load_record("u7s")
    assert record.default_storage_class is False  # Usernetes has none: workloads use emptyDir
    rows = json.loads(cli("status", "--json")[1])
    assert rows[0]["detail"] == "no default StorageClass"
    assert rows[0]["api_endpoint"] == "https://127.0.0.1:16443"


def test_preflight_error_is_a_clear_message(cli, standins, checkout):
    standins.scenario("make", preflight="no-cgroup2")
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout)
    assert code == 1
    assert ("Usernetes preflight check failed (make up): Needs cgroup v2, see "
            "https://rootlesscontaine.rs/getting-started/common/cgroup2/") in err
    assert "hint: boot with systemd.unified_cgroup_hierarchy=1" in err
    assert "\x1b[" not in err


def test_compose_gone_at_make_time_shows_makes_own_error(cli, standins, checkout):
    """make runs `$(COMPOSE) up --build -d` directly, no shell (GNU make 4.3, measured on Debian 12):
    tests/contracts/usernetes/make-up.compose-missing.stderr.txt; Makefile:84 @9658658."""
    standins.scenario("make", preflight="compose-missing")
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout)
    assert code == 1
    compose = str(STANDINS / "podman-compose")
    assert f"make: {compose}: No such file or directory" in err
    assert "hint: run `rootlesskube tools install podman-compose`" in err


def path_without_podman_compose(tmp_path):
    """A PATH with the make and kubectl stand-ins and python3, and no podman-compose (not /usr/bin's either)."""
    folder = tmp_path / "bin-without-compose"
    folder.mkdir()
    for name in ("make", "kubectl"):
        (folder / name).symlink_to(STANDINS / name)
    (folder / "python3").symlink_to(sys.executable)
    return str(folder)


def test_a_missing_podman_compose_is_found_before_make_runs(cli, standins, checkout, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", path_without_podman_compose(tmp_path))
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout)
    assert code == 3
    assert "error: podman-compose is not installed; Usernetes runs it for every make target" in err
    assert "hint: run `rootlesskube tools install podman-compose`" in err
    assert standins.calls("make") == []
    assert cluster.load_record("u7s") is None and "half-created" not in err  # refused before anything was created


def test_debians_podman_compose_1_0_3_is_too_old(cli, standins, checkout):
    """1.0.3 prints `podman-composer version  1.0.3` (tests/contracts/podman-compose/version.1.0.3.stdout.txt)."""
    standins.scenario("podman-compose", version="1.0.3")
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout)
    assert code == 3
    assert f"error: {STANDINS / 'podman-compose'} is podman-compose 1.0.3; Usernetes needs 1.0.6 or newer" in err
    assert "hint: run `rootlesskube tools install podman-compose`" in err
    assert standins.calls("make") == []


def test_make_runs_the_installed_podman_compose_before_the_one_on_path(cli, standins, checkout):
    from rootlesskube import tools

    tools.bin_dir().mkdir(parents=True)
    (tools.bin_dir() / "podman-compose").symlink_to(STANDINS / "podman-compose")
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout)
    assert code == 0, err
    assert {c["env"]["COMPOSE"] for c in standins.calls("make")} == {str(tools.bin_dir() / "podman-compose")}
    assert standins.argvs("podman-compose") == [["podman-compose", "version"]]  # checked once, before make


def test_preflight_warnings_are_shown_and_up_goes_on(cli, standins, checkout):
    standins.scenario("make", preflight="warnings")
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout)
    assert code == 0, err
    assert 'warning: Kernel module "vxlan" does not seem loaded? (negligible if built-in to the kernel)' in err


def test_down_runs_down_v_and_removes_the_kubeconfig(cli, standins, checkout):
    assert cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout)[0] == 0
    assert (checkout / "kubeconfig").exists()
    code, out, err = cli("down", "--name", "u7s")
    assert code == 0, err
    assert standins.argvs("make")[-1] == ["make", "down-v"]
    assert not (checkout / "kubeconfig").exists()
    assert cluster.load_record("u7s") is None


def test_a_folder_without_a_makefile_is_refused(cli, standins, tmp_path):
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", tmp_path)
    assert code == 1
    assert f"{tmp_path} is not a Usernetes checkout (no Makefile)" in err
    assert "hint: git clone --branch gen2-v20251218.0 https://github.com/rootless-containers/usernetes.git" in err
    assert standins.calls("make") == []


@pytest.mark.parametrize("args, message", [
    (["--kubernetes", "v1.36.1"], "--kubernetes: the Kubernetes version is fixed by the pinned Usernetes release"),
    (["--workers", "1"], "--workers: Usernetes runs one node per host; add hosts with --join"),
    (["--pss-default", "baseline"], "--pss-default: the pinned Usernetes release has no setting"),
    (["--container-runtime", "cri-o"], "--container-runtime: Usernetes nodes always run containerd"),
])
def test_fields_usernetes_cannot_honour_are_refused(cli, standins, checkout, args, message):
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout, *args)
    assert code == 2
    assert f"error: the usernetes driver cannot honour {message}" in err
    assert standins.calls() == []


def test_port_mappings_are_refused_for_usernetes():
    from rootlesskube.drivers.base import ClusterSpec, PortMapping
    from rootlesskube.errors import UsageError

    with pytest.raises(UsageError) as err:
        ClusterSpec("u7s", driver="usernetes", port_mappings=(PortMapping(80, 8080),)).validate()
    assert err.value.message.startswith("the usernetes driver cannot honour port mappings: its compose file")


def test_port_switches_reach_make_as_the_makefile_variables(cli, standins, checkout):
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout,
                         "--api-port", "16443", "--port-etcd", "12379", "--port-kubelet", "20250",
                         "--port-flannel", "18472")
    assert code == 0, err
    ports = {"PORT_ETCD": "12379", "PORT_KUBELET": "20250", "PORT_FLANNEL": "18472", "PORT_KUBE_APISERVER": "16443"}
    compose = str(STANDINS / "podman-compose")
    assert [c["env"] for c in standins.calls("make")] == [{"CONTAINER_ENGINE": "podman", "COMPOSE": compose,
                                                           **ports}] * 4
    assert cluster.load_record("u7s").spec["usernetes_ports"] == [["PORT_ETCD", 12379], ["PORT_KUBELET", 20250],
                                                                 ["PORT_FLANNEL", 18472]]


def test_a_port_for_another_driver_is_refused(cli, standins):
    code, out, err = cli("up", "--name", "rk-dev", "--port-etcd", "12379")
    assert code == 2
    assert "error: the kind driver cannot honour --port-etcd/--port-kubelet/--port-flannel" in err


def test_a_single_node_is_untainted_with_the_checkout_kubeconfig(cli, standins, checkout):
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout)
    assert code == 0, err
    kubectl = standins.argvs("kubectl")
    assert kubectl[0] == ["kubectl", "--kubeconfig", str(checkout / "kubeconfig"), "taint", "nodes", "--all",
                          "node-role.kubernetes.io/control-plane-"]
    assert kubectl[1][3:5] == ["wait", "--for=condition=Ready"]  # untainted before the wait for Ready
    assert "   ok: let the single node run workloads (remove the control-plane taint) (" in err


def test_second_up_reuses_and_runs_no_make_target(cli, standins, checkout):
    assert cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout)[0] == 0
    before = (len(standins.calls("make")), len(standins.calls("kubectl")))
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout)
    assert code == 0, err
    assert "cluster 'u7s' already exists with the same spec: reusing it" in err
    assert len(standins.calls("make")) == before[0]
    assert [c["argv"][3] for c in standins.calls("kubectl")[before[1]:]] == ["wait"]  # no second untaint
    assert cluster.load_record("u7s").reused is True


def test_delete_of_a_missing_cluster_runs_nothing(standins):
    from rootlesskube.drivers.usernetes import UsernetesDriver

    UsernetesDriver().delete("nope")  # no checkout was ever used for it: nothing to take down
    assert standins.calls() == []


def test_a_hung_make_hits_its_timeout_and_is_cleaned_up(cli, standins, checkout, monkeypatch):
    monkeypatch.setenv("RK_STANDIN_HANG", "make kubeadm-init")
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout, "--timeout", "2")
    assert code == 1
    assert "`make kubeadm-init` did not finish within 2s and was stopped" in err
    assert standins.argvs("make") == [["make", "up"], ["make", "kubeadm-init"], ["make", "down-v"]]
    assert "deleted the half-created cluster 'u7s'" in err
    assert cluster.load_record("u7s") is None
