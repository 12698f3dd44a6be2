"""The rootless proof's rules, on id maps recorded in ../shared/contracts/podman/ and on live processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rootlesskube import verify
from rootlesskube.errors import RootlesskubeError, UsageError
from rootlesskube.host.view import HostView
from rootlesskube.podman import parse_info
from rootlesskube.proc import ProcessFacts, parse_id_map
from tests.conftest import CONTRACTS

PODMAN = CONTRACTS / "podman"
ROOTLESS_MAP = parse_id_map((PODMAN / "unshare-uid_map.stdout.txt").read_text())  # 0 1000 1 / 1 100000 65536
IDENTITY_MAP = parse_id_map((PODMAN / "uid_map.host.stdout.txt").read_text())
ALICE = verify.UserIds("alice", 1000, 1000, subuids=((100000, 65536),), subgids=((100000, 65536),))


def facts(uid: int, gid: int, id_map=ROOTLESS_MAP, pid: int = 4242) -> ProcessFacts:
    return ProcessFacts(pid=pid, ppid=1, name="sleep", command="sleep 300", uids=(uid, uid, uid),
                        gids=(gid, gid, gid), userns=4026532177, netns=4026532179, uid_map=id_map, gid_map=id_map)


def test_container_root_is_the_user_on_the_host():
    rec = verify.record(facts(1000, 1000), verify.CONTAINER, ALICE)
    assert (rec.verdict, rec.reasons) == ("ok", [])
    assert rec.container_uids == (0, 0, 0) and rec.host_uids == (1000, 1000, 1000)


def test_container_uid_1000_is_subuid_start_plus_999():
    rec = verify.record(facts(100999, 100999), verify.CONTAINER, ALICE)
    assert rec.verdict == "ok"
    assert rec.container_uids == (1000, 1000, 1000) and rec.container_gids == (1000, 1000, 1000)
    assert verify.record(facts(100000, 100000), verify.CONTAINER, ALICE).container_uids == (1, 1, 1)


def test_host_root_in_the_host_namespace_is_named_with_every_reason():
    rec = verify.record(facts(0, 0, IDENTITY_MAP), verify.CONTAINER, ALICE)
    assert rec.verdict == "offender"
    assert rec.reasons == [
        "host uid 0 (root) as real, effective, saved uid",
        "host gid 0 (root) as real, effective, saved gid",
        "runs in the host user namespace (uid_map is the identity map 0 0 4294967295)",
    ]
    assert rec.container_uids == (0, 0, 0)


def test_only_the_saved_uid_being_root_is_enough_to_fail():
    f = facts(1000, 1000)
    f = ProcessFacts(**{**f.__dict__, "uids": (1000, 1000, 0)})
    assert verify.record(f, verify.CONTAINER, ALICE).reasons == ["host uid 0 (root) as saved uid"]


def test_a_uid_outside_the_subuid_range_is_an_offender():
    rec = verify.record(facts(165536, 1000, parse_id_map("0 1000 1\n1 100000 65537\n")), verify.CONTAINER, ALICE)
    assert rec.reasons == [
        "host uid 165536 (real, effective, saved) is neither alice's own nor in alice's /etc/subuid ranges"]


def test_container_root_mapped_elsewhere_than_the_user_is_named():
    keep_id_like = parse_id_map("0 100000 1000\n1000 1000 1\n")
    rec = verify.record(facts(100000, 1000, keep_id_like), verify.CONTAINER, ALICE)
    assert rec.reasons == ["container uid 0 is host uid 100000, not alice's uid 1000"]


def test_a_user_process_outside_any_user_namespace_is_not_a_container_process():
    assert verify.record(facts(1000, 1000, IDENTITY_MAP), verify.CONTAINER, ALICE).reasons == [
        "runs in the host user namespace (uid_map is the identity map 0 0 4294967295)"]
    # conmon and the network helper run on the host beside the container: only their owners count
    assert verify.record(facts(1000, 1000, IDENTITY_MAP), verify.CONMON, ALICE).reasons == []


def test_proof_verdicts_and_json_shape():
    good = verify.record(facts(1000, 1000, pid=10), verify.CONTAINER, ALICE)
    proof = verify.Proof("container rk-dev-control-plane", ALICE, [good])
    assert proof.rootless is True
    assert proof.verdict_line() == ("rootless: all 1 processes of container rk-dev-control-plane run as alice "
                                    "(uid 1000) or its subordinate ids, inside a user namespace")
    bad = verify.record(facts(0, 0, IDENTITY_MAP, pid=11), verify.CONTAINER, ALICE)
    proof.records.append(bad)
    data = json.loads(json.dumps(proof.as_dict()))
    assert data["rootless"] is False and data["offenders"] == [11]
    assert data["verdict"] == (
        "NOT rootless: container rk-dev-control-plane: pid 11 (sleep 300): host uid 0 (root) as real, effective, "
        "saved uid; host gid 0 (root) as real, effective, saved gid; runs in the host user namespace "
        "(uid_map is the identity map 0 0 4294967295)")
    assert data["records"][0] == {
        "pid": 10, "ppid": 1, "role": "container", "command": "sleep 300",
        "host_uids": [1000, 1000, 1000], "host_gids": [1000, 1000, 1000],
        "container_uids": [0, 0, 0], "container_gids": [0, 0, 0], "userns": 4026532177,
        "uid_map": ["0 1000 1", "1 100000 65536"], "why": "", "verdict": "ok", "reasons": []}


def test_an_empty_proof_is_not_rootless():
    proof = verify.Proof("pid 1", ALICE, [])
    assert proof.rootless is False
    assert proof.verdict_line() == "NOT rootless: pid 1: no process was found"


def test_the_verdict_names_five_offenders_and_counts_the_rest():
    bad = [verify.record(facts(0, 1000, pid=100 + i), verify.CONMON, ALICE) for i in range(7)]
    line = verify.Proof("pid 100", ALICE, bad).verdict_line()
    assert line.count("host uid 0 (root) as real, effective, saved uid") == 5
    assert line.endswith("pid 104 (sleep 300): host uid 0 (root) as real, effective, saved uid | "
                         "and 2 more offending processes (see the report)")


def test_long_commands_are_cut_short():
    f = facts(1000, 1000)
    f = ProcessFacts(**{**f.__dict__, "command": "postgres --password=" + "x" * 200})
    rec = verify.record(f, verify.CONTAINER, ALICE)
    assert len(rec.command) == verify.COMMAND_WIDTH and rec.command.endswith("x...")


def test_user_ids_come_from_passwd_and_the_subid_files(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "subuid").write_text("root:200000:65536\nroot:300000:10\nbroken line\n")
    (etc / "subgid").write_text("0:400000:65536\n")
    user = verify.UserIds.lookup("root", host=HostView(str(tmp_path)))
    assert user == verify.UserIds("root", 0, 0, ((200000, 65536), (300000, 10)), ((400000, 65536),))
    assert user.owns_uid(300009) and not user.owns_uid(300010)


@pytest.mark.parametrize("name, message", [
    ("no-such-user-rk", "there is no user named 'no-such-user-rk' on this host"),
    ("--all", "'--all' is not a valid user name"),
])
def test_unknown_or_invalid_user(name, message):
    with pytest.raises(UsageError) as err:
        verify.UserIds.lookup(name)
    assert err.value.message == message


class RecordedPodman:
    """Answers info and inspect with the recorded rootful outputs; the Pid is a live process."""

    def __init__(self, pid: int):
        self.pid = pid

    def info(self):
        return parse_info((PODMAN / "info.rootful.json").read_text())

    def inspect(self, container):
        state = json.loads((PODMAN / "inspect.kind-control-plane.trimmed.json").read_text())[0]
        state["State"].update(Pid=self.pid, ConmonPid=os.getpid())
        return state


def test_a_rootful_podman_is_never_called_rootless():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        user = verify.UserIds.lookup(None)
        proof = verify.verify_container(RecordedPodman(child.pid), "rk-dev-control-plane", user)
    finally:
        child.kill()
        child.wait()
    assert proof.rootless is False
    assert proof.problems == ["podman info reports rootless: false; this Podman runs containers as host root"]
    assert [(r.pid, r.role) for r in proof.records] == [(child.pid, "container"), (os.getpid(), "conmon")]
    assert proof.as_dict()["podman"]["rootless"] is False


def test_a_stopped_container_cannot_be_verified():
    class Stopped(RecordedPodman):
        def inspect(self, container):
            state = super().inspect(container)
            state["State"].update(Running=False, Status="exited", Pid=0)
            return state

    with pytest.raises(RootlesskubeError) as err:
        verify.verify_container(Stopped(0), "rk-dev-control-plane", ALICE)
    assert err.value.message == ("container rk-dev-control-plane is not running (status: exited), "
                                 "so there are no processes to verify")
    assert err.value.hint == "start it with `podman start rk-dev-control-plane`, then verify again"


def test_verify_pid_of_a_vanished_process():
    child = subprocess.Popen(["true"])
    child.wait()
    with pytest.raises(RootlesskubeError) as err:
        verify.verify_pid(child.pid, ALICE)
    assert err.value.message == f"there is no process with pid {child.pid}"


def test_cli_needs_a_container_or_a_pid(cli):
    code, out, err = cli("verify")
    assert code == 2
    assert "error: verify needs --container NAME or --pid PID" in err
    assert out == ""


def test_cli_refuses_both_a_container_and_a_pid(cli):
    code, out, err = cli("verify", "--container", "rk-dev-control-plane", "--pid", "1")
    assert code == 2
    assert "error: Given --container, the following are invalid ['--pid']" in err
    assert out == ""


def test_cli_refuses_to_call_a_rootful_podman_rootless_exit_4(cli, monkeypatch):
    from rootlesskube import podman

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    monkeypatch.setattr(podman, "Podman", lambda: RecordedPodman(child.pid))
    try:
        code, out, err = cli("verify", "--container", "rk-dev-control-plane", "--json")
    finally:
        child.kill()
        child.wait()
    assert code == 4, err
    data = json.loads(out)
    assert data["rootless"] is False and data["podman"]["rootless"] is False
    assert data["problems"] == ["podman info reports rootless: false; this Podman runs containers as host root"]
    assert "error: NOT rootless: container rk-dev-control-plane: podman info reports rootless: false" in err
