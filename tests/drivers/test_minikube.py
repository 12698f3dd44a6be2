"""The minikube driver against the minikube and kubectl stand-ins."""

from __future__ import annotations

import json
import stat
import time

import pytest

from rootlesskube import cluster


def test_up_starts_a_rootless_profile(cli, standins):
    code, out, err = cli("up", "--driver", "minikube", "--name", "rk-mk", "--kubernetes", "v1.35.1")
    assert code == 0, err
    kubeconfig = cluster.kubeconfig_path("rk-mk")
    assert out == f"export KUBECONFIG={kubeconfig}\n"
    starts = [c for c in standins.calls("minikube") if "start" in c["argv"]]
    assert [c["argv"] for c in starts] == [[
        "minikube", "start", "--driver=podman", "--container-runtime=containerd", "--interactive=false",
        "--kubernetes-version=v1.35.1", "-p", "rk-mk", "--rootless"]]
    assert starts[0]["env"]["KUBECONFIG"] == str(kubeconfig)  # never the user's ~/.kube/config
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    assert "name: rk-mk" in kubeconfig.read_text()


def test_reuse_and_status(cli, standins):
    assert cli("up", "--driver", "minikube", "--name", "rk-mk")[0] == 0
    code, out, err = cli("up", "--driver", "minikube", "--name", "rk-mk")
    assert code == 0 and "reusing it" in err
    assert sum("start" in c["argv"] for c in standins.calls("minikube")) == 1
    rows = json.loads(cli("status", "--json")[1])
    assert [(r["name"], r["driver"], r["exists"], r["ready"], r["nodes"]) for r in rows] == [
        ("rk-mk", "minikube", True, True, [{"name": "rk-mk", "ready": True}])]


def test_status_reads_the_exit_bitmask(standins):
    from rootlesskube.drivers import get_driver
    from rootlesskube.drivers.base import ClusterSpec

    driver = get_driver("minikube")
    assert driver.status("rk-mk").exists is False  # exit 85: profile not found
    driver.create(ClusterSpec("rk-mk", driver="minikube"))
    standins.scenario("minikube", status="stopped")
    status = driver.status("rk-mk")
    assert (status.exists, status.running, status.nodes) == (True, False, ["rk-mk"])
    assert status.detail == "host not running, kubelet or API server not running, kubeconfig misconfigured"
    standins.scenario("minikube", status="paused")
    assert driver.status("rk-mk").detail == "kubelet or API server not running"


def test_multinode_status_lists_every_node(standins):
    from rootlesskube.drivers import get_driver
    from rootlesskube.drivers.base import ClusterSpec

    driver = get_driver("minikube")
    driver.create(ClusterSpec("rk-mk", driver="minikube", workers=1))
    assert driver.node_containers("rk-mk") == ["rk-mk", "rk-mk-m02"]


def test_podman_not_running_becomes_our_message():
    # minikube reaches PROVIDER_PODMAN_NOT_RUNNING through `sudo -n podman` (no --rootless): its recorded text
    from rootlesskube.drivers.minikube import MinikubeDriver
    from rootlesskube.run import Result
    from tests.conftest import CONTRACTS

    sample = CONTRACTS / "minikube"
    result = Result(("minikube", "start"), 63, (sample / "start.sudo-password-required.stdout.txt").read_text(),
                    (sample / "start.sudo-password-required.stderr.txt").read_text(), 1.0)
    error = MinikubeDriver()._error("minikube could not start cluster 'rk-mk'", result)
    assert error.message == (
        "minikube could not start cluster 'rk-mk': minikube could not use podman (PROVIDER_PODMAN_NOT_RUNNING, "
        "exit 63: \"sudo -n -k podman version --format {{.Version}}\" exit status 1: sudo: a password is required)")
    assert error.hint.startswith("check that `podman info` works as this user")


def test_the_standin_without_rootless_fails_as_sudo_podman_does(standins):
    from rootlesskube.run import run

    result = run(["minikube", "start", "-p", "rk-mk", "--driver=podman"], timeout=30, check=False)
    assert result.returncode == 63
    assert "Exiting due to PROVIDER_PODMAN_NOT_RUNNING" in result.stderr


def test_podman_not_found_becomes_our_message(cli, standins):
    standins.scenario("minikube", start="podman-not-found")
    code, out, err = cli("up", "--driver", "minikube", "--name", "rk-mk")
    assert code == 1
    assert ("minikube could not start cluster 'rk-mk': minikube did not find podman (PROVIDER_PODMAN_NOT_FOUND, "
            "exit 65: The 'podman' provider was not found: exec: \"podman\": executable file not found in $PATH)") in err
    assert "hint: install Podman (Debian/Ubuntu: apt-get install podman)" in err
    assert cluster.load_record("rk-mk") is None


def test_recreate_deletes_the_profile_and_starts_it_again(cli, standins):
    assert cli("up", "--driver", "minikube", "--name", "rk-mk")[0] == 0
    code, out, err = cli("up", "--driver", "minikube", "--name", "rk-mk", "--recreate")
    assert code == 0, err
    assert "deleting cluster 'rk-mk' to recreate it (--recreate)" in err
    verbs = [c["argv"][1] for c in standins.calls("minikube") if c["argv"][1] in ("start", "delete")]
    assert verbs == ["start", "delete", "start"]
    assert list(standins.tool_state("minikube")["clusters"]) == ["rk-mk"]


def test_a_hung_start_hits_its_timeout_and_is_cleaned_up(cli, standins, monkeypatch):
    monkeypatch.setenv("RK_STANDIN_HANG", "minikube start")
    started = time.monotonic()
    code, out, err = cli("up", "--driver", "minikube", "--name", "rk-mk", "--timeout", "2")
    assert time.monotonic() - started < 20
    assert code == 1
    assert "did not finish within 2s and was stopped" in err
    assert standins.argvs("minikube")[-1] == ["minikube", "delete", "-p", "rk-mk", "--rootless"]
    assert cluster.load_record("rk-mk") is None


def test_rootful_podman_is_a_usage_reason(cli, standins):
    standins.scenario("minikube", start="rootless-forced-not-rootless")
    code, out, err = cli("up", "--driver", "minikube", "--name", "rk-mk")
    assert code == 1
    assert ("minikube rejected the request (MK_USAGE, exit 14: Using rootless driver was required, but the current "
            "driver does not seem rootless)") in err


def test_delete_of_a_missing_profile_is_fine(standins):
    from rootlesskube.drivers import get_driver

    get_driver("minikube").delete("nope")
    assert standins.argvs("minikube") == [["minikube", "delete", "-p", "nope", "--rootless"]]


def test_fields_minikube_cannot_honour_are_refused_before_anything_runs(cli, standins):
    code, out, err = cli("up", "--driver", "minikube", "--name", "rk-mk", "--pss-default", "restricted")
    assert code == 2
    assert "error: the minikube driver cannot honour --pss-default: " in err
    assert "label the namespaces instead (`rootlesskube ns`)" in err
    image = "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5"
    code, out, err = cli("up", "--driver", "minikube", "--name", "rk-mk", "--node-image", image)
    assert code == 2 and "the minikube driver cannot honour --node-image: it is a kind node image" in err
    assert standins.calls() == []


def test_api_port_is_refused_for_minikube(cli, standins):
    """The kic driver publishes the API server with --publish=127.0.0.1::PORT, a random host port
    (generatePortMappings, pkg/drivers/kic/oci/oci.go, kubernetes/minikube@c93a4cb)."""
    code, out, err = cli("up", "--driver", "minikube", "--name", "rk-mk", "--api-port", "16443")
    assert code == 2
    assert ("error: the minikube driver cannot honour --api-port: minikube's --apiserver-port is the port inside "
            "the node; its podman driver always publishes it on a random host port") in err
    assert standins.calls() == []


def test_a_udp_port_mapping_reaches_minikube_as_udp(standins):
    """--ports goes to `podman run -p` (pkg/minikube/registry/drvs/podman/podman.go @c93a4cb), checked by
    nat.ParsePortSpecs (validatePorts, cmd/minikube/cmd/start.go): `/udp` is kept; without it, TCP."""
    from rootlesskube.drivers.base import ClusterSpec, PortMapping
    from rootlesskube.drivers.minikube import MinikubeDriver

    spec = ClusterSpec("rk-mk", driver="minikube", port_mappings=(
        PortMapping(53, 8053, protocol="UDP"), PortMapping(80, 8080))).validate()
    MinikubeDriver().create(spec)
    start = standins.argvs("minikube")[0]
    assert "--ports=127.0.0.1:8053:53/udp" in start and "--ports=127.0.0.1:8080:80" in start


def test_printed_minikube_commands_are_rootless_with_the_private_kubeconfig(cli, standins):
    """Without --rootless minikube runs `sudo -n podman` (contracts §2.2)."""
    from rootlesskube.drivers.minikube import MinikubeDriver

    standins.scenario("minikube", start="podman-not-found")
    code, out, err = cli("up", "--driver", "minikube", "--name", "rk-mk", "--keep-on-failure")
    assert code == 1
    kubeconfig = cluster.kubeconfig_path("rk-mk")
    assert f"(or: env KUBECONFIG={kubeconfig} minikube delete -p rk-mk --rootless)" in err
    kubeconfig.write_text("")
    from rootlesskube.errors import RootlesskubeError

    try:
        MinikubeDriver().kubeconfig("rk-mk")
    except RootlesskubeError as exc:
        assert exc.hint == f"run `env KUBECONFIG={kubeconfig} minikube update-context -p rk-mk --rootless`"
    else:
        raise AssertionError("an empty kubeconfig was accepted")


@pytest.mark.parametrize("args, message", [
    (["--kubernetes", "v1.36.1"], "minikube v1.38.1 supports Kubernetes v1.28.0 to v1.35.1, not v1.36.1"),
    (["--kubernetes", "v1.27.9"], "minikube v1.38.1 supports Kubernetes v1.28.0 to v1.35.1, not v1.27.9"),
    (["--container-runtime", "cri-o"], "the minikube driver runs rootless Podman with containerd, not cri-o"),
])
def test_what_minikube_would_refuse_is_refused_first(cli, standins, args, message):
    """NewestKubernetesVersion/OldestKubernetesVersion in pkg/minikube/constants/constants.go @c93a4cb; the
    rootless Podman section of site/content/en/docs/drivers/includes/podman_usage.inc."""
    code, out, err = cli("up", "--driver", "minikube", "--name", "rk-mk", *args)
    assert code == 2
    assert f"error: {message}" in err
    assert standins.calls() == []


def test_a_one_character_profile_name_is_refused(cli, standins):
    """config.ProfileNameValid (pkg/minikube/config/profile.go @c93a4cb): more than 1 character."""
    code, out, err = cli("up", "--driver", "minikube", "--name", "m")
    assert code == 2
    assert "error: minikube rejects the one-character profile name 'm'" in err
    assert standins.calls() == []
