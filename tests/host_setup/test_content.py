from __future__ import annotations

import pytest

from rootlesskube.host import content
from rootlesskube.host.content import Unparsable


def test_delegate_conf_fresh():
    assert content.delegate_conf(None) == content.HEADER + "[Service]\nDelegate=cpu cpuset io memory pids\n"


def test_delegate_conf_merges_missing_controllers_and_keeps_other_lines():
    existing = "# site policy\n[Unit]\nDescription=x\n[Service]\nDelegate=memory pids\nTasksMax=100\n"
    assert content.delegate_conf(existing) == (
        "# site policy\n[Unit]\nDescription=x\n[Service]\nDelegate=memory pids cpu cpuset io\nTasksMax=100\n"
    )


def test_delegate_conf_adds_line_to_existing_service_section():
    assert content.delegate_conf("[Service]\nTasksMax=9\n") == (
        "[Service]\nDelegate=cpu cpuset io memory pids\nTasksMax=9\n"
    )


def test_delegate_conf_yes_is_left_alone_and_merge_is_idempotent():
    assert content.delegate_conf("[Service]\nDelegate=yes\n") == "[Service]\nDelegate=yes\n"
    once = content.delegate_conf("[Service]\nDelegate=pids\n")
    assert content.delegate_conf(once) == once


def test_modules_load_conf_appends_only_missing_modules():
    assert content.modules_load_conf(["tun", "vxlan"]) == content.HEADER + "tun\nvxlan\n"
    assert content.modules_load_conf(["tun", "vxlan"], "# mine\ntun") == "# mine\ntun\nvxlan\n"


def test_sysctl_conf_updates_our_keys_and_keeps_the_rest():
    existing = "# keep\nfs.inotify.max_user_watches=8192\nnet.core.somaxconn = 4096\n"
    settings = {"fs.inotify.max_user_watches": "524288", "fs.inotify.max_user_instances": "512"}
    assert content.sysctl_conf(settings, existing) == (
        "# keep\nfs.inotify.max_user_watches = 524288\nnet.core.somaxconn = 4096\n"
        "fs.inotify.max_user_instances = 512\n"
    )


def test_sysctl_conf_reports_an_unparsable_line_with_its_number():
    with pytest.raises(Unparsable) as info:
        content.sysctl_conf({"a.b": "1"}, "# ok\nthis is not a setting\n")
    assert info.value.line_no == 2


def test_subid_lines():
    assert content.subid_line("alice", 165536, 65536) == "alice:165536:65536\n"
    assert content.add_subid_line("bob:100000:65536", "alice", 165536, 65536) == (
        "bob:100000:65536\nalice:165536:65536\n"
    )
    assert content.add_subid_line(None, "alice", 1, 2) == "alice:1:2\n"


def test_tun_udev_rule():
    assert content.tun_udev_rule().endswith('KERNEL=="tun", SUBSYSTEM=="misc", MODE="0666"\n')


def test_apparmor_profile_names_the_binary_and_allows_userns():
    text = content.apparmor_profile("/usr/local/bin/podman")
    assert content.apparmor_profile_name("/usr/local/bin/podman") == "usr.local.bin.podman"
    assert 'profile rootlesskube-usr.local.bin.podman "/usr/local/bin/podman" flags=(unconfined) {\n' in text
    assert "  userns,\n" in text and "include if exists <local/usr.local.bin.podman>" in text


@pytest.mark.parametrize(
    "existing, expected",
    [
        ('GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=""\n', 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="systemd.unified_cgroup_hierarchy=1"\n'),
        ("GRUB_CMDLINE_LINUX='quiet'\n", "GRUB_CMDLINE_LINUX='quiet systemd.unified_cgroup_hierarchy=1'\n"),
        ("GRUB_TIMEOUT=5\n", 'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="systemd.unified_cgroup_hierarchy=1"\n'),
        ('GRUB_CMDLINE_LINUX="a systemd.unified_cgroup_hierarchy=1"\n', 'GRUB_CMDLINE_LINUX="a systemd.unified_cgroup_hierarchy=1"\n'),
    ],
)
def test_grub_default_with_arg(existing, expected):
    assert content.grub_default_with_arg(existing) == expected


def test_grub_default_unparsable_value_names_the_line():
    with pytest.raises(Unparsable) as info:
        content.grub_default_with_arg('# x\nGRUB_CMDLINE_LINUX="a\n')
    assert info.value.line_no == 2


def test_the_doctors_device_fix_writes_the_same_udev_rule_as_host_setup():
    from rootlesskube.host import fixes

    for module, rule in (("tun", content.TUN_UDEV_RULE), ("fuse", content.FUSE_UDEV_RULE)):
        fix = fixes.device_mode(f"/dev/{module}", module)
        assert f"echo '{content.device_udev_line(module)}' > {rule}" in fix
        assert content.device_udev_rule(module) == content.HEADER + content.device_udev_line(module) + "\n"
