"""Usernetes across two "hosts": `up --join` over a real SSH server on loopback.

The first host is this process (root) with the make stand-in in a checkout
under tmp_path. The second host is a throw-away unprivileged user reached as
USER@127.0.0.1:PORT through a real sshd (tests/drivers/sshd.py); its session
environment (~/.ssh/environment) puts the make stand-in first on its PATH,
gives it its own stand-in state, names that host (HOSTNAME, read by the
Makefile) and points its API server at the first host's object store, which is
what `kubeadm join` registers the new Node with.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from rootlesskube import cluster
from tests.conftest import CONTRACTS, STANDINS
from tests.drivers import sshd
from tests.drivers.conftest import Standins, cluster_standin, standin_lib

TOKEN = "abcdef.0123456789abcdef"  # the token in contracts/usernetes/join-command
SECOND_HOSTNAME = "rk-host2"
PORT_ENV = ["PORT_ETCD=2379", "PORT_KUBELET=10250", "PORT_FLANNEL=8472", "PORT_KUBE_APISERVER=6443"]
SSH_OPTIONS = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]


def this_node() -> str:
    """The first host's node name, as the make stand-in (and the Makefile) derive it."""
    return f"u7s-{os.environ.get('HOSTNAME') or socket.gethostname()}"


def require(reason):
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the multi-node test: {reason}")
    pytest.skip(reason)


@pytest.fixture
def second_host():
    require(sshd.missing())
    base = Path(tempfile.mkdtemp(prefix="rk-multinode-"))
    base.chmod(0o755)  # the second user reads the API server's store in here
    try:
        host = sshd.LoopbackHost.start(base)
        try:
            yield host
        finally:
            host.stop()
    finally:
        shutil.rmtree(base)


def logged_commands(caplog):
    """Every argv rootlesskube.run started (its `-v` log lines), split back into lists."""
    return [shlex.split(r.getMessage()[2:]) for r in caplog.records
            if r.name == "rootlesskube.run" and r.getMessage().startswith("+ ")]


@pytest.mark.root  # adds a user and runs sshd (tests/drivers/sshd.py)
def test_up_joins_a_second_host_over_ssh(cli, standins, checkout, monkeypatch, caplog, second_host, real_ssh):
    host = second_host
    api_state = host.base / "state"  # the first host's stand-in state: its kubectl store is the API server
    nodes = api_state / "kubectl" / "objects" / "nodes" / "_cluster"
    nodes.mkdir(parents=True)
    host.make_dir(nodes)  # where the joining node registers
    monkeypatch.setenv("RK_STANDIN_STATE", str(api_state))
    first = Standins(api_state)
    remote_dir = host.make_dir(host.home / "usernetes")
    (remote_dir / "Makefile").write_text("# stand-in checkout on the second host\n")
    remote_state = host.make_dir(host.home / "standin-state")
    # the repository may sit where the second user cannot enter (/root/...): it gets a copy of both
    standins = shutil.copytree(STANDINS, host.base / "standins", ignore=shutil.ignore_patterns("__pycache__"))
    shared = host.base / "shared"
    shutil.copytree(CONTRACTS, shared / "contracts")
    host.write_environment({"PATH": f"{standins}:/usr/local/bin:/usr/bin:/bin", "ROOTLESSKUBE_SHARED": shared,
                            "RK_STANDIN_STATE": remote_state, "RK_STANDIN_API_STATE": api_state,
                            "HOSTNAME": SECOND_HOSTNAME})
    caplog.set_level(logging.DEBUG, logger="rootlesskube.run")

    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout,
                         "--join", host.address, "--ssh-config", host.ssh_config, "--join-usernetes-dir", remote_dir)
    assert code == 0, err + "\nsshd log:\n" + host.log.read_text()

    # the first host: bootstrap, join-command, then sync-external-ip once the other host joined
    assert first.argvs("make") == [["make", t] for t in ("up", "kubeadm-init", "install-flannel", "kubeconfig",
                                                         "join-command", "sync-external-ip")]
    # the join command reached the second host, private to that user, byte for byte
    expected = cluster_standin.substituted("usernetes/join-command", {"u7s-devbox": this_node()})
    copied = remote_dir / "join-command"
    assert copied.read_text() == expected
    assert (copied.stat().st_mode & 0o777, copied.stat().st_uid) == (0o600, host.uid)
    assert (checkout / "join-command").stat().st_mode & 0o777 == 0o600
    # `make up kubeadm-join` ran there, as that user, in its checkout
    remote_calls = standin_lib.calls(remote_state)
    assert [c["argv"] for c in remote_calls] == [["make", "-C", str(remote_dir), "up", "kubeadm-join"]]
    assert remote_calls[0]["env"] == {"CONTAINER_ENGINE": "podman", **dict(p.split("=") for p in PORT_ENV)}
    assert remote_calls[0]["cwd"] == str(host.home)
    assert (remote_state / "calls.jsonl").stat().st_uid == host.uid
    assert (nodes / f"u7s-{SECOND_HOSTNAME}.json").stat().st_uid == host.uid
    # the ssh and scp argv the tool ran, and no token in any argv on either host
    user_at = f"{host.user}@127.0.0.1"
    commands = logged_commands(caplog)
    assert ["scp", "-p", "-F", str(host.ssh_config), *SSH_OPTIONS, "-P", str(host.port),
            str(checkout / "join-command"), f"{user_at}:{remote_dir}/join-command"] in commands
    assert ["ssh", "-F", str(host.ssh_config), *SSH_OPTIONS, "-p", str(host.port), user_at, "--",
            "env", "CONTAINER_ENGINE=podman", *PORT_ENV, "make", "-C", str(remote_dir), "up", "kubeadm-join"] in commands
    argvs = commands + [c["argv"] for c in first.calls() + remote_calls]
    assert TOKEN in expected
    assert [a for a in argvs if TOKEN in " ".join(a)] == []

    code, out, err = cli("status", "--json", "--name", "u7s")
    assert code == 0, err
    row = json.loads(out)[0]
    assert row["nodes"] == sorted([{"name": this_node(), "ready": True},
                                   {"name": f"u7s-{SECOND_HOSTNAME}", "ready": True}], key=lambda n: n["name"])
    assert row["ready"] is True


def test_an_unreachable_host_is_named_and_the_first_host_is_cleaned_up(cli, standins, checkout, real_ssh):
    require(None if shutil.which("scp") else "scp is missing (apt-get install openssh-client)")
    port = sshd.free_port()  # nothing listens there
    address = f"nobody@127.0.0.1:{port}"
    code, out, err = cli("up", "--driver", "usernetes", "--name", "u7s", "--usernetes-dir", checkout,
                         "--join", address)
    assert code == 1
    assert f"error: joining {address} failed: could not copy the join command to {address}:\n" in err
    assert f"ssh: connect to host 127.0.0.1 port {port}: Connection refused" in err
    assert f"hint: check that `ssh -p {port} nobody@127.0.0.1 true` works without a password" in err
    assert "Traceback" not in err
    # per the cleanup rules: logs named, the half-created cluster deleted, nothing left behind
    assert standins.argvs("make") == [["make", t] for t in ("up", "kubeadm-init", "install-flannel", "kubeconfig",
                                                            "join-command", "down-v")]
    assert "deleted the half-created cluster 'u7s'" in err
    assert not (checkout / "kubeconfig").exists()
    assert not (checkout / "join-command").exists()
    assert cluster.load_record("u7s") is None
    assert out == ""


@pytest.mark.parametrize("args, message", [
    (["--driver", "kind", "--join", "bob@10.0.0.2"], "--join is for the usernetes driver, not kind"),
    (["--driver", "usernetes", "--join", "bob@10.0.0.2:ssh"], "bad SSH port in 'bob@10.0.0.2:ssh'"),
    (["--driver", "usernetes", "--join", "-oProxyCommand=x"], "bad SSH host '-oProxyCommand=x'"),
])
def test_bad_join_arguments_are_usage_errors_before_anything_runs(cli, standins, checkout, args, message):
    code, out, err = cli("up", "--name", "u7s", "--usernetes-dir", checkout, *args)
    assert code == 2
    assert f"error: {message}" in err
    assert standins.calls() == []
