"""The Podman facade on recorded outputs (../shared/contracts/podman/) and on real rootless Podman."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from rootlesskube import podman as pm
from rootlesskube.errors import UsageError
from rootlesskube.proc import IdMapEntry, is_identity, parse_id_map
from rootlesskube.run import CommandError
from tests.conftest import CONTRACTS, STANDINS
from tests.podman_env import BUSYBOX_IMAGE

PODMAN = CONTRACTS / "podman"
ROOTLESS_MAP = (IdMapEntry(0, 1000, 1), IdMapEntry(1, 100000, 65536))


def contract(name: str) -> str:
    return (PODMAN / name).read_text()


# --- info ---

def test_info_rootless_pasta_cgroup_v2():
    info = pm.parse_info(contract("info.rootless.json"))
    assert info.as_dict() == {
        "version": "5.8.2",
        "rootless": True,
        "cgroup_version": "v2",
        "cgroup_manager": "systemd",
        "cgroup_controllers": ["cpu", "io", "memory", "pids"],
        "oci_runtime": "crun",
        "oci_runtime_path": "/usr/bin/crun",
        "uid_map": ["0 1000 1", "1 100000 65536"],
        "gid_map": ["0 1000 1", "1 100000 65536"],
        "network_cmd": "pasta",
        "network_backend": "netavark",
        "storage_driver": "overlay",
        "graph_root": "/home/alice/.local/share/containers/storage",
    }
    assert info.uid_map == ROOTLESS_MAP


def test_info_rootful_has_no_id_mappings_and_is_not_rootless():
    info = pm.parse_info(contract("info.rootful.json"))
    assert info.rootless is False
    assert info.uid_map == () and info.gid_map == ()
    assert info.network_cmd is None
    assert info.cgroup_controllers == ("cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc")


@pytest.mark.parametrize("sample, cgroup_version, controllers, network_cmd", [
    ("info.rootless-cgroupv1.json", "v1", (), "pasta"),
    ("info.rootless-no-delegation.json", "v2", ("memory", "pids"), "pasta"),
    ("info.rootless-slirp4netns.json", "v2", ("cpu", "io", "memory", "pids"), "slirp4netns"),
])
def test_info_variants(sample, cgroup_version, controllers, network_cmd):
    info = pm.parse_info(contract(sample))
    assert (info.rootless, info.cgroup_version, info.cgroup_controllers, info.network_cmd) == (
        True, cgroup_version, controllers, network_cmd)


def test_info_of_podman_4_without_rootless_network_cmd_defaults_to_slirp4netns():
    # podman 4.3 (Debian 12) has no rootlessNetworkCmd key; its default was slirp4netns.
    data = json.loads(contract("info.rootless-slirp4netns.json"))
    del data["host"]["rootlessNetworkCmd"]
    data["version"]["Version"] = "4.3.1"
    assert pm.parse_info(json.dumps(data)).network_cmd == "slirp4netns"
    data["version"]["Version"] = "5.0.0"
    assert pm.parse_info(json.dumps(data)).network_cmd is None


# --- top, id maps ---

def test_top_kind_node_keeps_spaces_of_the_last_column():
    rows = pm.parse_top(contract("top.kind-node.huser.stdout.txt"))
    assert [(r["HUSER"], r["USER"], r["PID"]) for r in rows] == [
        ("alice", "root", "1"), ("alice", "root", "94"), ("alice", "root", "107"), ("alice", "root", "211")]
    assert rows[3]["COMMAND"] == (
        "/usr/bin/kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf "
        "--kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml")


def test_top_rootful_shows_root_on_the_host():
    assert pm.parse_top(contract("top.rootful.huser.stdout.txt")) == [
        {"HUSER": "root", "USER": "root", "PID": "1", "COMMAND": "/sbin/init"}]


def test_id_maps_rootless_and_identity():
    rootless = parse_id_map(contract("unshare-uid_map.stdout.txt"))
    assert rootless == ROOTLESS_MAP and not is_identity(rootless)
    host = parse_id_map(contract("uid_map.host.stdout.txt"))
    assert host == (IdMapEntry(0, 0, 4294967295),) and is_identity(host)


# --- argv and validation ---

def test_runtime_comes_from_the_environment_not_from_code(monkeypatch):
    monkeypatch.delenv(pm.RUNTIME_ENV, raising=False)
    assert pm.Podman().argv("info") == ["podman", "info"]
    monkeypatch.setenv(pm.RUNTIME_ENV, "runc")
    assert pm.Podman().argv("info") == ["podman", "--runtime", "runc", "info"]
    assert pm.Podman(runtime="crun", extra_args=("--log-level", "warn")).argv("ps") == [
        "podman", "--runtime", "crun", "--log-level", "warn", "ps"]


@pytest.mark.parametrize("bad", ["--all", "-x", "a b", "", "x;rm", "../etc"])
def test_bad_container_names_never_reach_argv(bad):
    with pytest.raises(UsageError) as err:
        pm.container_ref(bad)
    assert "not a valid container name" in err.value.message


# --- errors, through a stand-in podman that prints the recorded texts ---

STANDIN = """#!{python}
import sys
sys.path.insert(0, {standins!r})
from standin_lib import begin, contract, emit
args = sys.argv[1:]
begin("podman", args)
if args[:2] == ["container", "inspect"]:
    emit(contract("podman/inspect.missing.stdout.txt"), contract("podman/container-inspect.missing.stderr.txt"), 125)
if args[:1] == ["top"]:
    emit("", contract("podman/top.missing.stderr.txt"), 125)
if args[:1] == ["unshare"]:
    emit("", contract("podman/unshare.rootful.stderr.txt"), 125)
if args[:1] == ["version"]:
    emit(contract("podman/version.json"))
if args[:1] == ["info"]:
    emit(contract("podman/info.rootful.json"))
if args[:2] == ["ps", "--format"]:
    emit(contract("podman/ps-a.kind.json"))
emit("", "stand-in: unexpected call\\n", 99)
"""


@pytest.fixture
def standin_podman(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "podman"
    script.write_text(STANDIN.format(python=sys.executable, standins=str(STANDINS)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("RK_STANDIN_STATE", str(tmp_path / "state"))
    monkeypatch.delenv(pm.RUNTIME_ENV, raising=False)
    return tmp_path / "state" / "calls.jsonl"


def test_missing_container_is_container_not_found_with_podmans_message(standin_podman):
    with pytest.raises(pm.ContainerNotFound) as err:
        pm.Podman().inspect("nope")
    assert err.value.returncode == 125
    assert err.value.podman_message == 'no such container "nope"'
    assert err.value.hint.startswith("list the containers with `podman ps -a`")
    calls = [json.loads(line)["argv"] for line in standin_podman.read_text().splitlines()]
    assert calls == [["podman", "container", "inspect", "nope"]]


def test_top_of_missing_container(standin_podman):
    with pytest.raises(pm.ContainerNotFound) as err:
        pm.Podman().top("nope")
    assert err.value.podman_message == 'no container with name or ID "nope" found: no such container'


def test_rootful_unshare_says_to_run_rootless(standin_podman):
    with pytest.raises(pm.PodmanError) as err:
        pm.Podman().unshare_uid_map()
    assert not isinstance(err.value, pm.ContainerNotFound)
    assert err.value.podman_message == "please use unshare with rootless"
    assert "rootless Podman" in err.value.hint


def test_version_info_and_ps_through_the_runner(standin_podman):
    p = pm.Podman()
    assert p.version() == "5.8.2"
    assert p.info().rootless is False
    [node] = p.ps(labels={"io.x-k8s.kind.cluster": "rk-dev"})
    assert node["Names"] == ["rk-dev-control-plane"] and node["Pid"] == 48213
    calls = [json.loads(line)["argv"] for line in standin_podman.read_text().splitlines()]
    assert calls[-1] == ["podman", "ps", "--format", "json", "--all", "--filter", "label=io.x-k8s.kind.cluster=rk-dev"]


def test_crun_on_hybrid_cgroups_suggests_runc():
    exc = CommandError(["podman", "run", "x"], 126, "", "Error: OCI runtime error: crun: cgroups in hybrid mode "
                       "not supported, drop all controllers from cgroupv2\n")
    error = pm.PodmanError.from_command_error(exc)
    assert type(error) is pm.PodmanError
    assert 'runtime = "runc"' in error.hint and pm.RUNTIME_ENV in error.hint


# --- real rootless Podman, run as the unprivileged test user ---

FACADE_PROBE = """
import json, sys
from rootlesskube.podman import Podman, ContainerNotFound
p = Podman()
info = p.info()
out = {"version": p.version(), "info": info.as_dict(), "unshare": [e.as_text() for e in p.unshare_uid_map()],
       "image_exists": p.image_exists(sys.argv[1]), "missing_image": p.image_exists("localhost/rk-nope:none")}
cid = p.run(sys.argv[1], ["sleep", "120"], name=sys.argv[2], labels={"rk.test": sys.argv[2]})
try:
    out["id"] = cid
    out["pid"] = p.inspect(sys.argv[2])["State"]["Pid"]
    out["top"] = p.top(sys.argv[2])
    out["ps"] = [c["Names"] for c in p.ps(labels={"rk.test": sys.argv[2]})]
finally:
    p.rm(sys.argv[2])
try:
    p.inspect(sys.argv[2])
except ContainerNotFound as exc:
    out["gone"] = exc.podman_message
print(json.dumps(out))
"""


@pytest.mark.podman
def test_facade_against_real_rootless_podman(podman_user):
    from tests.podman_env import USER_PYTHON

    name = podman_user.unique_name("rk-facade")
    try:
        result = podman_user.run([USER_PYTHON, "-c", FACADE_PROBE, BUSYBOX_IMAGE, name],
                                 env={"ROOTLESSKUBE_PODMAN_RUNTIME": "runc"})
    finally:
        podman_user.podman("rm", "--force", "--ignore", name, check=False)
    out = json.loads(result.stdout)
    info = out["info"]
    assert info["rootless"] is True and info["oci_runtime"] == "runc"
    assert info["uid_map"][0] == f"0 {podman_user.uid} 1"
    assert out["unshare"][0] == f"0 {podman_user.uid} 1"
    assert out["version"] == info["version"]
    assert (out["image_exists"], out["missing_image"]) == (True, False)
    assert len(out["id"]) == 64 and out["pid"] > 0
    assert out["top"] == [{"HUSER": str(podman_user.uid), "USER": "0", "PID": "1", "COMMAND": "sleep 120"}]
    assert out["ps"] == [[name]]
    # podman 4.3 (Debian 12) and 5.x word it differently
    assert out["gone"] in (f"inspecting object: no such container {name}", f'no such container "{name}"')
