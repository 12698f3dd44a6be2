"""The plan built from the doctor's real results on fixture trees (not made-up `fail` results)."""

from __future__ import annotations

from host_setup.apply import CHANGED, REFUSED, apply_plan
from host_setup.plan import Target, build_plan
from rootlesskube.host import content, ids
from rootlesskube.host.doctor import run_doctor
from tests.host.hosttree import DEBIAN12, UBUNTU, UID, USER, HostTree, healthy

ALICE = Target(USER, UID)


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))


def plan_for(tree: HostTree, driver: str = "kind"):
    report = run_doctor(tree.view(), USER, driver)
    return report, {a.check_id: a for a in build_plan(report.checks, tree.view(), ALICE)}


def test_warnings_for_lingering_inotify_and_keys_get_their_actions(tmp_path):
    tree = healthy(HostTree(tmp_path))  # systemd installed
    tree.remove(f"/var/lib/systemd/linger/{USER}")
    tree.sysctl("fs.inotify.max_user_watches", 8192)  # max_user_instances stays 8192: above ours, not lowered
    tree.sysctl("kernel.keys.maxkeys", 200)
    tree.sysctl("kernel.keys.maxbytes", 20000)
    report, actions = plan_for(tree)
    assert {c.id: c.status for c in report.checks if c.status not in ("pass", "skip")} == {
        ids.SESSION_LINGER: "warn", ids.SYSCTL_INOTIFY: "warn", ids.SYSCTL_KEYS: "warn"}
    assert sorted(actions) == [ids.SESSION_LINGER, f"{ids.SYSCTL_INOTIFY},{ids.SYSCTL_KEYS}"]
    assert actions[ids.SESSION_LINGER].runs == (("loginctl", "enable-linger", USER),)
    sysctls = actions[f"{ids.SYSCTL_INOTIFY},{ids.SYSCTL_KEYS}"]
    assert sysctls.runs == (("sysctl", "-w", "fs.inotify.max_user_watches=524288"),
                            ("sysctl", "-w", "kernel.keys.maxkeys=20000"),
                            ("sysctl", "-w", "kernel.keys.maxbytes=500000"))
    assert sysctls.writes[0].path == content.SYSCTL_CONF


def test_apparmor_profile_for_a_binary_outside_usr_bin_then_the_doctor_passes(tmp_path):
    tree = healthy(HostTree(tmp_path), UBUNTU, "6.8.0-45-generic")
    tree.sysctl("kernel.unprivileged_userns_clone", 1)
    tree.sysctl("kernel.apparmor_restrict_unprivileged_userns", 1)
    tree.remove("/usr/bin/podman")
    tree.binary("/usr/local/bin/podman")
    for program in ("crun", "pasta", "slirp4netns"):
        tree.write(f"/etc/apparmor.d/{program}", f"profile {program} /usr/bin/{program} flags=(unconfined) {{\n"
                   "  userns,\n}\n")
    report, actions = plan_for(tree)
    assert report.get(ids.USERNS_APPARMOR).status == "fail"
    action = actions[ids.USERNS_APPARMOR]
    assert [w.path for w in action.writes] == ["/etc/apparmor.d/usr.local.bin.podman"]
    recorder = Recorder()
    (outcome,) = apply_plan([action], tree.view(), runner=recorder)
    assert outcome.status == CHANGED
    assert recorder.calls == [["apparmor_parser", "-r", "/etc/apparmor.d/usr.local.bin.podman"]]
    after, actions = plan_for(tree)
    assert after.get(ids.USERNS_APPARMOR).status == "pass", after.get(ids.USERNS_APPARMOR).detail
    assert "/usr/local/bin/podman (/etc/apparmor.d/usr.local.bin.podman)" in after.get(ids.USERNS_APPARMOR).detail
    assert ids.USERNS_APPARMOR not in actions


def test_hybrid_without_systemd_plan_and_doctor_give_the_same_kernel_argument(tmp_path):
    tree = healthy(HostTree(tmp_path), DEBIAN12, "6.1.0-25-amd64")
    tree.sysctl("kernel.unprivileged_userns_clone", 1)
    tree.cgroup_hybrid()
    tree.remove("/usr/lib/systemd/systemd")
    tree.write("/etc/default/grub", 'GRUB_CMDLINE_LINUX=""\n')
    report, actions = plan_for(tree)
    fix = report.get(ids.CGROUP_V2).fix
    action = actions[ids.CGROUP_V2]
    assert action.writes[0].new == 'GRUB_CMDLINE_LINUX="cgroup_no_v1=all"\n'
    assert "add cgroup_no_v1=all to GRUB_CMDLINE_LINUX" in fix
    assert content.CGROUP_V2_WITHOUT_SYSTEMD in fix and action.notes == (content.CGROUP_V2_WITHOUT_SYSTEMD,)
    assert report.get(ids.SESSION_LINGER).status == "skip" and ids.SESSION_LINGER not in actions


def test_a_garbage_subuid_line_refuses_only_the_subid_actions(tmp_path):
    tree = healthy(HostTree(tmp_path), DEBIAN12, "6.1.0-25-amd64")
    tree.sysctl("kernel.unprivileged_userns_clone", 1)
    text = "bob:100000:65536\nnot an entry\n"
    tree.subids(text)
    tree.device("/dev/net/tun", 0o600)
    report, actions = plan_for(tree)
    assert report.get(ids.SUBUID).status == report.get(ids.SUBGID).status == report.get(ids.DEV_TUN).status == "fail"
    for check_id in (ids.SUBUID, ids.SUBGID):
        assert actions[check_id].refused.startswith(
            "cannot edit /etc/subuid line 2: 'not an entry' is not OWNER:START:COUNT; fix or remove that line by hand")
    outcomes = {o.check_id: o.status for o in apply_plan(list(actions.values()), tree.view(), runner=Recorder())}
    assert outcomes == {ids.SUBUID: REFUSED, ids.SUBGID: REFUSED, ids.DEV_TUN: CHANGED}
    assert (tmp_path / "etc/subuid").read_text() == (tmp_path / "etc/subgid").read_text() == text
    assert run_doctor(tree.view(), USER, "kind").get(ids.DEV_TUN).status == "pass"
