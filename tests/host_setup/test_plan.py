from __future__ import annotations

import os

import pytest

from host_setup import content
from host_setup.apply import CHANGED, MANUAL, NEEDS_FLAG, SKIPPED, UNCHANGED, apply_plan, pending
from host_setup.model import REBOOT, RELOGIN
from host_setup.plan import Options, Target, build_plan
from host_setup.subid import UnparsableFile
from rootlesskube.host import ids
from rootlesskube.host.model import PASS, CheckResult
from tests.host_setup.trees import FEDORA, failing, tree

ALICE = Target("alice", 1000)


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))


def by_check(actions):
    return {a.check_id: a for a in actions}


def test_passing_checks_give_an_empty_plan(tmp_path):
    view = tree(tmp_path)
    assert build_plan([CheckResult(ids.SUBUID, PASS, "t", "d")], view, ALICE) == []


def test_subuid_and_subgid_get_one_common_free_range_via_usermod(tmp_path):
    view = tree(tmp_path, {"/etc/subuid": "# c\nbob:100000:65536\n", "/etc/subgid": "bob:100000:131072\n"})
    actions = by_check(build_plan(failing(ids.SUBUID, ids.SUBGID), view, ALICE))
    assert actions[ids.SUBUID].runs == (("usermod", "--add-subuids", "231072-296607", "alice"),)
    assert actions[ids.SUBGID].runs == (("usermod", "--add-subgids", "231072-296607", "alice"),)
    assert actions[ids.SUBUID].adds == (("/etc/subuid", "alice:231072:65536"),)
    assert actions[ids.SUBUID].then == RELOGIN and actions[ids.SUBUID].writes == ()


def test_subuid_without_usermod_is_an_atomic_edit_keeping_every_line(tmp_path):
    view = tree(tmp_path, {"/usr/sbin/usermod": None, "/etc/subuid": "# keep me\nbob:100000:65536\n",
                           "/etc/subgid": ""})
    (action,) = build_plan(failing(ids.SUBUID), view, ALICE)
    (change,) = action.writes
    assert change.new == "# keep me\nbob:100000:65536\nalice:165536:65536\n"
    outcomes = apply_plan([action], view, runner=Recorder())
    assert outcomes[0].status == CHANGED
    assert (tmp_path / "etc/subuid").read_text() == "# keep me\nbob:100000:65536\nalice:165536:65536\n"


def test_a_garbage_subuid_line_is_reported_with_its_number_and_nothing_planned(tmp_path):
    view = tree(tmp_path, {"/etc/subuid": "bob:100000:65536\nthis is garbage\n", "/etc/subgid": ""})
    with pytest.raises(UnparsableFile, match="line 2"):
        build_plan(failing(ids.SUBUID), view, ALICE)


def test_an_existing_usable_range_is_kept(tmp_path):
    view = tree(tmp_path, {"/etc/subuid": "alice:200000:65536\n", "/etc/subgid": ""})
    (action,) = build_plan(failing(ids.SUBUID), view, ALICE)
    assert action.skipped == "/etc/subuid line 1 already gives alice 200000-265535"


def test_delegation_without_systemd_writes_the_drop_in_and_skips_daemon_reload(tmp_path):
    view = tree(tmp_path)
    (action,) = build_plan(failing(ids.CGROUP_DELEGATION), view, ALICE)
    assert action.runs == () and action.then == RELOGIN
    assert action.notes == ("systemd not present: skipped: systemctl daemon-reload",)
    recorder = Recorder()
    (outcome,) = apply_plan([action], view, runner=recorder)
    assert (tmp_path / "etc/systemd/system/user@.service.d/delegate.conf").read_text() == content.delegate_conf(None)
    assert outcome.done == ["wrote /etc/systemd/system/user@.service.d/delegate.conf",
                            "systemd not present: skipped: systemctl daemon-reload"]
    assert recorder.calls == []


def test_delegation_with_systemd_reloads(tmp_path):
    view = tree(tmp_path, {"/run/systemd/system/.keep": ""})
    (action,) = build_plan(failing(ids.CGROUP_DELEGATION), view, ALICE)
    recorder = Recorder()
    apply_plan([action], view, runner=recorder)
    assert recorder.calls == [["systemctl", "daemon-reload"]]


def test_linger_without_systemd_is_skipped_and_with_systemd_runs_loginctl(tmp_path):
    (action,) = build_plan(failing(ids.SESSION_LINGER), tree(tmp_path / "a"), ALICE)
    assert action.skipped == "systemd not present: skipped"
    (action,) = build_plan(failing(ids.SESSION_LINGER), tree(tmp_path / "b", {"/run/systemd/system/x": ""}), ALICE)
    assert action.runs == (("loginctl", "enable-linger", "alice"),)


def test_cgroup_v2_on_debian_edits_grub_only_with_the_flag(tmp_path):
    view = tree(tmp_path, {"/etc/default/grub": 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=""\n'})
    (action,) = build_plan(failing(ids.CGROUP_V2), view, ALICE)
    assert action.then == REBOOT and action.requires == "--kernel-cmdline"
    assert action.runs == (("update-grub",),)
    assert action.writes[0].new == 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="systemd.unified_cgroup_hierarchy=1"\n'
    recorder = Recorder()
    (outcome,) = apply_plan([action], view, runner=recorder)
    assert outcome.status == NEEDS_FLAG and recorder.calls == []
    assert (tmp_path / "etc/default/grub").read_text() == 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=""\n'
    (outcome,) = apply_plan([action], view, ["--kernel-cmdline"], runner=recorder)
    assert outcome.status == CHANGED and recorder.calls == [["update-grub"]]


def test_cgroup_v2_on_fedora_uses_grubby(tmp_path):
    (action,) = build_plan(failing(ids.CGROUP_V2), tree(tmp_path, os_release=FEDORA), ALICE)
    assert action.runs == (("grubby", "--update-kernel=ALL", "--args=systemd.unified_cgroup_hierarchy=1"),)


def test_modules_skip_builtins_and_modprobe_only_with_a_module_tree(tmp_path):
    files = {"/lib/modules/6.1.0-test/modules.builtin": "kernel/net/bridge/br_netfilter.ko\n"}
    view = tree(tmp_path, files)
    (action,) = build_plan(failing("module.br_netfilter", "module.vxlan"), view, ALICE)
    assert action.writes[0].new == content.HEADER + "vxlan\n"
    assert action.runs == (("modprobe", "vxlan"),)
    assert action.notes == ("br_netfilter is built into the kernel: not written",)
    (action,) = build_plan(failing("module.vxlan"), tree(tmp_path / "nolib"), ALICE)
    assert action.runs == () and "modprobe skipped" in action.notes[0]


def test_sysctls_merge_into_our_file_and_apply_now(tmp_path):
    view = tree(tmp_path, {"/etc/sysctl.d/99-rootlesskube.conf": "# mine\nfs.inotify.max_user_watches = 1\n"})
    (action,) = build_plan(failing(ids.SYSCTL_INOTIFY), view, ALICE, Options(unprivileged_port_start=80))
    assert action.writes[0].new == ("# mine\nfs.inotify.max_user_watches = 524288\n"
                                    "fs.inotify.max_user_instances = 512\nnet.ipv4.ip_unprivileged_port_start = 80\n")
    assert action.runs[-1] == ("sysctl", "-w", "net.ipv4.ip_unprivileged_port_start=80")


def test_apparmor_profiles_for_uncovered_binaries_only(tmp_path):
    view = tree(tmp_path, {"/usr/bin/podman": "", "/usr/sbin/runc": "",
                           "/etc/apparmor.d/runc": 'profile runc /usr/sbin/runc flags=(unconfined) {\n  userns,\n}\n'})
    (action,) = build_plan(failing(ids.USERNS_APPARMOR), view, ALICE)
    assert [w.path for w in action.writes] == ["/etc/apparmor.d/usr.bin.podman"]
    assert action.runs == (("apparmor_parser", "-r", "/etc/apparmor.d/usr.bin.podman"),)


def test_tun_chmod_and_a_second_apply_changes_nothing(tmp_path):
    view = tree(tmp_path)
    os.chmod(tmp_path / "dev/net/tun", 0o600)
    actions = build_plan(failing(ids.DEV_TUN), view, ALICE)
    assert pending(actions, view) == actions
    (outcome,) = apply_plan(actions, view, runner=Recorder())
    assert outcome.status == CHANGED and outcome.done == ["chmod 0666 /dev/net/tun"]
    assert oct(os.stat(tmp_path / "dev/net/tun").st_mode & 0o777) == "0o666"
    assert pending(actions, view) == []
    (outcome,) = apply_plan(actions, view, runner=Recorder())
    assert outcome.status == UNCHANGED


def test_unfixable_checks_are_listed_as_manual_with_the_doctors_fix(tmp_path):
    (action,) = build_plan(failing(ids.LIMITS_NOFILE), tree(tmp_path), ALICE)
    assert action.manual and action.notes == (f"fix of {ids.LIMITS_NOFILE}",)
    (outcome,) = apply_plan([action], tree(tmp_path), runner=Recorder())
    assert outcome.status == MANUAL


def test_packages_need_the_switch(tmp_path):
    actions = build_plan(failing(ids.PODMAN, ids.NEWUIDMAP, ids.CGROUP_V2), tree(tmp_path), ALICE)
    (packages,) = [a for a in actions if a.check_id == "podman,newuidmap"]
    assert packages.runs == (("apt-get", "install", "-y", "podman", "uidmap", "slirp4netns", "fuse-overlayfs",
                              "runc"),)
    assert packages.requires == "--packages"
    assert pending([packages], tree(tmp_path)) == []


def test_a_file_changed_between_plan_and_apply_is_not_overwritten(tmp_path):
    view = tree(tmp_path, {"/etc/sysctl.d/99-rootlesskube.conf": "a = 1\n"})
    actions = build_plan(failing(ids.SYSCTL_KEYS), view, ALICE)
    (tmp_path / "etc/sysctl.d/99-rootlesskube.conf").write_text("b = 2\n")
    with pytest.raises(Exception, match="changed after the plan"):
        apply_plan(actions, view, runner=Recorder())
    assert (tmp_path / "etc/sysctl.d/99-rootlesskube.conf").read_text() == "b = 2\n"


def test_skipped_outcome(tmp_path):
    (action,) = build_plan(failing(ids.SESSION_LINGER), tree(tmp_path), ALICE)
    (outcome,) = apply_plan([action], tree(tmp_path), runner=Recorder())
    assert outcome.status == SKIPPED and outcome.done == ["systemd not present: skipped"]
