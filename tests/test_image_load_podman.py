"""`rootlesskube image load` as the unprivileged test user, with real rootless Podman: the user's store,
`podman save`, and node containers that are real (busybox with the node_tools stand-ins of `ctr` and
`crictl`: what containerd does with a docker-archive and the id its CRI reports, tests/contracts/README.md).

Per driver the tool's own load is the stand-in's (kind: `load image-archive` imports into every node with
`ctr ... import -`, pkg/cluster/nodeutils/util.go @cda67ef; minikube: `image load` copies the file in and
runs `ctr -n=k8s.io images import`, pkg/minikube/cruntime/containerd.go @c93a4cb); Usernetes' is
rootlesskube's own `podman cp` + `podman exec NODE ctr images import`, against the real container.
The second load of the same image must be skipped: the node's id is Podman's id.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import uuid
from pathlib import Path

import pytest

from rootlesskube import cluster
from rootlesskube.drivers import compose, usernetes
from rootlesskube.drivers.base import ClusterSpec
from tests.conftest import STANDINS
from tests.podman_env import USER_PYTHON, build_busybox_image

pytestmark = pytest.mark.podman

NODE_IMAGE = "localhost/rk-fake-node:2"
NODE_APPLETS = ("sh", "cat", "tar", "sed", "sha256sum", "cut", "grep", "mkdir", "rm", "sleep", "echo", "printf", "tr",
                "mv", "touch")


def build_node_image(user) -> None:
    """A node container image: busybox, and the ctr/crictl stand-ins that play its containerd."""
    tools = {f"usr/local/bin/{tool}": str(STANDINS / "node_tools" / tool) for tool in ("ctr", "crictl")}
    build_busybox_image(user, NODE_IMAGE, NODE_APPLETS, files=tools,
                        folders=("tmp", "proc", "sys", "dev", "etc", "var/lib"), changes=["ENV PATH=/usr/local/bin:/bin"])


def app_image(user, ref: str) -> str:
    """An image only this test has (its own file, so its own id); returns Podman's id."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "app.tar"
        token = Path(tmp) / "token"
        token.write_text(uuid.uuid4().hex)
        with tarfile.open(archive, "w") as tar:
            tar.add(str(token), arcname="token")
        os.chmod(tmp, 0o755)
        os.chmod(archive, 0o644)
        user.podman("import", str(archive), ref)
    return user.podman("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def node_name(driver: str, name: str, home: Path) -> str:
    if driver == "kind":
        return f"{name}-control-plane"
    if driver == "minikube":
        return name
    return compose.node_container(home / "data" / "usernetes" / f"{name}-{usernetes.RELEASE}")


@pytest.fixture
def world(podman_user, monkeypatch, request):
    driver = request.param
    tmp = Path(tempfile.mkdtemp(prefix="rk-img-"))  # pytest's tmp_path is not reachable by the test user
    os.chmod(tmp, 0o755)
    state, home = tmp / "standin", tmp / "home"
    state.mkdir()
    home.mkdir()
    monkeypatch.setenv("ROOTLESSKUBE_HOME", str(home))
    name = podman_user.unique_name("rk-img")
    node = node_name(driver, name, home)
    spec = ClusterSpec(name, driver=driver)
    kubeconfig = cluster.kubeconfig_path(name)
    cluster.save_record(cluster.ClusterRecord(name, driver, spec.as_dict(), spec.digest(), str(kubeconfig),
                                              state="ready"))
    subprocess.run(["chown", "-R", f"{podman_user.uid}:{podman_user.gid}", str(tmp)], check=True)
    build_node_image(podman_user)
    refs = [f"localhost/{name}-app:dev", f"localhost/{name}-tool:dev"]
    # the stand-ins' nodes are real containers of the user (RK_STANDIN_NODE_IMAGE) with the node_tools
    env = {"PATH": f"{STANDINS}{os.pathsep}/usr/local/bin:/usr/bin:/bin", "RK_STANDIN_STATE": str(state),
           "RK_STANDIN_NODE_IMAGE": NODE_IMAGE, "RK_STANDIN_REAL_NODES": "1", "ROOTLESSKUBE_HOME": str(home),
           "NO_COLOR": "1"}
    try:
        if driver == "kind":
            made = podman_user.run([str(STANDINS / "kind"), "create", "cluster", "--name", name, "--kubeconfig",
                             str(kubeconfig)], env={**env, "KIND_EXPERIMENTAL_PROVIDER": "podman"}, check=False)
            assert made.returncode == 0, made.stderr
        elif driver == "minikube":
            podman_user.run([str(STANDINS / "minikube"), "start", "-p", name, "--driver=podman", "--rootless",
                             "--container-runtime=containerd"], env={**env, "KUBECONFIG": str(kubeconfig)})
        else:  # rootlesskube itself runs `podman cp` and `podman exec NODE ctr images import` for Usernetes
            project = compose.project_name(home / "data" / "usernetes" / f"{name}-{usernetes.RELEASE}")
            podman_user.podman("run", "--detach", "--name", node, "--label",
                               f"{usernetes.COMPOSE_PROJECT_LABEL}={project}", NODE_IMAGE, "sleep", "600")
        assert podman_user.podman("container", "exists", node, check=False).returncode == 0
        ids = [app_image(podman_user, ref) for ref in refs]
        yield driver, name, node, refs, ids, env, state
    finally:
        podman_user.podman("rm", "--force", "--ignore", "--time", "0", node, check=False)
        podman_user.podman("rmi", "--force", *refs, check=False)
        shutil.rmtree(tmp)


def load(podman_user, env, *args):
    return podman_user.run([USER_PYTHON, "-m", "rootlesskube", "image", "load", *args], check=False, timeout=300,
                           env=env)


def tool_loads(state: Path, driver: str) -> list:
    log = state / "calls.jsonl"
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [c["argv"] for c in calls if c["tool"] == driver and "load" in c["argv"]]


def node_holds(podman_user, node: str) -> list:
    """The node's containerd as the ctr stand-in left it: one "sha256:ID NAME..." a line."""
    result = podman_user.podman("exec", node, "cat", "/var/lib/rk-node/images", check=False)
    return [line.split() for line in result.stdout.splitlines()]


@pytest.mark.parametrize("world", ["kind", "minikube", "usernetes"], indirect=True)
def test_load_then_skip_what_the_node_holds(podman_user, world):
    driver, name, node, (app, tool), (app_id, tool_id), env, state = world
    first = load(podman_user, env, app, "--name", name, "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["loaded"], report["skipped"]) == ([app], [])
    # the id containerd's CRI reports is Podman's own, under the name podman save wrote
    assert node_holds(podman_user, node) == [[f"sha256:{app_id}", app]]
    loads = len(tool_loads(state, driver))
    assert loads == (0 if driver == "usernetes" else 1)

    second = load(podman_user, env, app, tool, "--name", name, "--json")
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert (report["loaded"], report["skipped"]) == ([tool], [app])
    assert [(i["image"], i["id"], i["action"]) for i in report["images"]] == [
        (app, app_id, "skipped"), (tool, tool_id, "loaded")]
    assert len(tool_loads(state, driver)) == loads * 2  # only the new image went to the tool
    assert node_holds(podman_user, node) == [[f"sha256:{app_id}", app], [f"sha256:{tool_id}", tool]]

    text = load(podman_user, env, app, tool, "--name", name)
    assert text.returncode == 0, text.stderr
    assert text.stdout == (f"skipped  {app}  id {app_id[:12]} (every node holds this id under this name)\n"
                           f"skipped  {tool}  id {tool_id[:12]} (every node holds this id under this name)\n"
                           f"cluster {name} ({driver}): 0 loaded, 2 skipped\n")
    assert not list((Path(env["ROOTLESSKUBE_HOME"]) / "data" / "images").glob("*.tar"))


@pytest.mark.parametrize("world", ["kind"], indirect=True)
def test_the_same_id_under_a_new_name_is_loaded(podman_user, world):
    """The kubelet finds an image by its name: a retagged image must reach the node under its new name (kind's
    own `load docker-image` re-tags in that case, pkg/cmd/kind/load/docker-image/docker-image.go @cda67ef)."""
    driver, name, node, (app, _), (app_id, _), env, state = world
    assert load(podman_user, env, app, "--name", name).returncode == 0
    short = f"{name}-app:v2"  # a short name: Podman calls it localhost/...
    podman_user.podman("tag", app, short)
    retagged = load(podman_user, env, short, "--name", name, "--json")
    assert retagged.returncode == 0, retagged.stderr
    report = json.loads(retagged.stdout)
    assert (report["loaded"], report["images"][0]["id"]) == ([short], app_id)
    assert node_holds(podman_user, node) == [[f"sha256:{app_id}", app, f"localhost/{short}"]]
    again = load(podman_user, env, short, "--name", name, "--json")
    assert json.loads(again.stdout)["skipped"] == [short]  # the short name's full name is on the node now
    podman_user.podman("rmi", f"localhost/{short}", check=False)


@pytest.mark.parametrize("world", ["kind"], indirect=True)
def test_an_image_missing_from_the_store_stops_before_anything_is_loaded(podman_user, world):
    driver, name, node, (app, _), _, env, state = world
    missing = f"localhost/{name}-missing:dev"
    result = load(podman_user, env, app, missing, "--name", name)
    assert result.returncode == 2
    assert f"error: the image {missing} is not in your Podman store" in result.stderr
    assert tool_loads(state, driver) == []
    assert node_holds(podman_user, node) == []


@pytest.mark.parametrize("world", ["kind"], indirect=True)
def test_a_stopped_cluster_is_named_with_the_command_that_starts_it(podman_user, world):
    driver, name, node, (app, _), _, env, state = world
    podman_user.podman("stop", "--time", "1", node)
    result = load(podman_user, env, app, "--name", name)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-2:] == [
        f"error: cannot load images into cluster '{name}': it is stopped",
        f"hint: `rootlesskube start --name {name}` starts it; `rootlesskube status` shows it"]
    assert tool_loads(state, driver) == []
