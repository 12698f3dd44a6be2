from __future__ import annotations

import os

import pytest

from host_setup.apply import CHANGED, MANUAL, NEEDS_FLAG, REFUSED, SKIPPED, UNCHANGED, apply_plan, pending
from host_setup.model import REBOOT, RELOGIN
from host_setup.plan import Options, Target, build_plan
from rootlesskube.host import content, ids
from rootlesskube.host.model import FAIL, PASS, WARN, CheckResult
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


def test_a_garbage_subuid_line_refuses_that_action_only_and_leaves_the_file_untouched(tmp_path):
    text = "bob:100000:65536\nthis is garbage\n"
    view = tree(tmp_path, {"/etc/subuid": text, "/etc/subgid": ""})
    os.chmod(tmp_path / "dev/net/tun", 0o600)
    actions = by_check(build_plan(failing(ids.SUBUID, ids.SYSCTL_KEYS, ids.DEV_TUN), view, ALICE))
    refused = actions[ids.SUBUID]
    assert refused.refused == ("cannot edit /etc/subuid line 2: 'this is garbage' is not OWNER:START:COUNT; fix or "
                               "remove that line by hand, then run this again; the file was not changed")
    assert (refused.title, refused.writes, refused.runs) == (f"title of {ids.SUBUID}", (), ())
    assert actions[ids.SYSCTL_KEYS].writes and actions[ids.DEV_TUN].chmod
    outcomes = {o.check_id: o for o in apply_plan(list(actions.values()), view, runner=Recorder())}
    assert (outcomes[ids.SUBUID].status, outcomes[ids.SUBUID].done) == (REFUSED, [refused.refused])
    assert outcomes[ids.SYSCTL_KEYS].status == outcomes[ids.DEV_TUN].status == CHANGED
    assert (tmp_path / "etc/subuid").read_text() == text
    assert refused not in pending(list(actions.values()), view)


def test_an_unparsable_sysctl_file_refuses_the_sysctl_action(tmp_path):
    view = tree(tmp_path, {"/etc/sysctl.d/99-rootlesskube.conf": "# ok\nnot a setting\n"})
    (action,) = build_plan(failing(ids.SYSCTL_INOTIFY), view, ALICE)
    assert action.check_id == ids.SYSCTL_INOTIFY
    assert action.refused.startswith("cannot edit /etc/sysctl.d/99-rootlesskube.conf line 2: expected 'key = value'")


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
    view = tree(tmp_path, {"/etc/default/grub": 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=""\n', "/run/systemd/system/x": ""})
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
    view = tree(tmp_path, {"/run/systemd/system/x": ""}, os_release=FEDORA)
    (action,) = build_plan(failing(ids.CGROUP_V2), view, ALICE)
    assert action.runs == (("grubby", "--update-kernel=ALL", "--args=systemd.unified_cgroup_hierarchy=1"),)


def test_cgroup_v2_without_systemd_boots_with_cgroup_no_v1(tmp_path):
    view = tree(tmp_path, {"/etc/default/grub": 'GRUB_CMDLINE_LINUX="quiet"\n'})
    (action,) = build_plan(failing(ids.CGROUP_V2), view, ALICE)
    assert action.writes[0].new == 'GRUB_CMDLINE_LINUX="quiet cgroup_no_v1=all"\n'
    assert "cgroup_no_v1=all" in action.title and "systemd.unified_cgroup_hierarchy" not in action.writes[0].new
    assert action.notes == (content.CGROUP_V2_WITHOUT_SYSTEMD,)


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


def test_apparmor_profiles_for_the_binaries_the_doctor_names(tmp_path):
    check = CheckResult(ids.USERNS_APPARMOR, FAIL, "t", "kernel.apparmor_restrict_unprivileged_userns = 1; profiles "
                        "with 'userns,' in /etc/apparmor.d: /usr/sbin/runc (/etc/apparmor.d/runc); no profile allows "
                        "user namespaces for: /usr/local/bin/podman, /opt/bin/crun", "fix",
                        subjects=("/usr/local/bin/podman", "/opt/bin/crun"))
    (action,) = build_plan([check], tree(tmp_path), ALICE)
    assert [w.path for w in action.writes] == ["/etc/apparmor.d/usr.local.bin.podman", "/etc/apparmor.d/opt.bin.crun"]
    assert action.writes[0].new == content.apparmor_profile("/usr/local/bin/podman")
    assert action.runs == (("apparmor_parser", "-r", "/etc/apparmor.d/usr.local.bin.podman"),
                           ("apparmor_parser", "-r", "/etc/apparmor.d/opt.bin.crun"))


def test_apparmor_warning_without_named_binaries_is_skipped(tmp_path):
    check = CheckResult(ids.USERNS_APPARMOR, WARN, "t", "/proc/sys/kernel/apparmor_restrict_unprivileged_userns "
                        "line 1: 'x' is not a number", "fix")
    (action,) = build_plan([check], tree(tmp_path), ALICE)
    assert action.skipped.startswith("the doctor names no binary without a profile") and action.writes == ()


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


def test_a_command_that_failed_after_its_file_was_written_runs_again(tmp_path):
    from rootlesskube.run import CommandError

    view = tree(tmp_path, {"/lib/modules/6.1.0-test/modules.dep": ""})

    def modprobe_fails(argv):
        raise CommandError(argv, 1, stderr="modprobe: FATAL: Module vxlan not found")

    with pytest.raises(CommandError):
        apply_plan(build_plan(failing("module.vxlan"), view, ALICE), view, runner=modprobe_fails)
    assert (tmp_path / "etc/modules-load.d/rootlesskube.conf").read_text() == content.HEADER + "vxlan\n"
    # the check still fails, so the next plan has the action again: its file is right, its command still runs
    actions = build_plan(failing("module.vxlan"), view, ALICE)
    assert pending(actions, view) == actions
    recorder = Recorder()
    (outcome,) = apply_plan(actions, view, runner=recorder)
    assert recorder.calls == [["modprobe", "vxlan"]]
    assert (outcome.status, outcome.done) == (CHANGED, ["/etc/modules-load.d/rootlesskube.conf already as needed",
                                                        "ran modprobe vxlan"])


def test_plan_and_outcome_text_say_what_was_refused(tmp_path):
    from host_setup import render

    view = tree(tmp_path, {"/etc/subuid": "garbage\n", "/etc/subgid": ""})
    actions = build_plan(failing(ids.SUBUID), view, ALICE)
    text = render.plan_text(actions, "alice")
    assert "   refused, nothing changed: cannot edit /etc/subuid line 1: 'garbage' is not OWNER:START:COUNT" in text
    out = render.outcomes_text(apply_plan(actions, view, runner=Recorder()))
    assert out.startswith("refused    [subuid] title of subuid\n           cannot edit /etc/subuid line 1")
    assert actions[0].as_dict()["refused"].startswith("cannot edit /etc/subuid line 1")
