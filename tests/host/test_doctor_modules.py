"""Kernel-module checks from every source a normal user can read; each module's check stands alone."""

from __future__ import annotations

import pytest

from rootlesskube.host.doctor import run_doctor
from tests.host.hosttree import DEBIAN12, USER, HostTree, healthy

RELEASE = "6.18.44-fc-v1272"
KIND_MODULES = ("ip_tables", "ip6_tables", "iptable_nat", "ip6table_nat", "br_netfilter", "overlay", "nf_tables")
# the symbols of the development machine's kernel (../shared/ENVIRONMENT.md), all built in
BUILT_IN = {"CONFIG_OVERLAY_FS": "y", "CONFIG_BRIDGE_NETFILTER": "y", "CONFIG_IP_NF_IPTABLES": "y",
            "CONFIG_IP6_NF_IPTABLES": "y", "CONFIG_IP_NF_NAT": "y", "CONFIG_IP6_NF_NAT": "y", "CONFIG_NF_TABLES": "y",
            "CONFIG_VXLAN": "y", "CONFIG_FUSE_FS": "y"}


def unreadable(tree: HostTree, host_path: str) -> None:
    """Tests run as root, who reads any file: a directory in its place is what cannot be read."""
    tree.remove(host_path)
    (tree.root / host_path.lstrip("/")).mkdir(parents=True)


@pytest.fixture
def debian(tmp_path) -> HostTree:
    """The development machine: no /proc/modules, no /lib/modules, ip_tables_names unreadable, a config.gz."""
    tree = healthy(HostTree(tmp_path / "host"), DEBIAN12, RELEASE)
    tree.remove("/proc/modules")
    tree.remove("/lib/modules")
    unreadable(tree, "/proc/net/ip_tables_names")
    unreadable(tree, "/proc/net/ip6_tables_names")
    tree.kernel_config(BUILT_IN)
    return tree


def modules(report) -> dict:
    return {c.id[len("module."):]: c for c in report.checks if c.id.startswith("module.")}


def test_an_unreadable_ip_tables_names_does_not_hide_built_in_modules(debian):
    found = modules(run_doctor(debian.view(), USER, "kind"))
    assert {name: (c.status, c.detail) for name, c in found.items()} == {
        "ip_tables": ("pass", "built in (CONFIG_IP_NF_IPTABLES=y in /proc/config.gz)"),
        "ip6_tables": ("pass", "built in (CONFIG_IP6_NF_IPTABLES=y in /proc/config.gz)"),
        "iptable_nat": ("pass", "built in (CONFIG_IP_NF_NAT=y in /proc/config.gz)"),
        "ip6table_nat": ("pass", "built in (CONFIG_IP6_NF_NAT=y in /proc/config.gz)"),
        "br_netfilter": ("pass", "built in (CONFIG_BRIDGE_NETFILTER=y in /proc/config.gz)"),
        "overlay": ("pass", "built in (CONFIG_OVERLAY_FS=y in /proc/config.gz)"),
        "nf_tables": ("pass", "built in (CONFIG_NF_TABLES=y in /proc/config.gz)"),
    }


def test_a_loadable_module_that_is_not_loaded_fails_with_modprobe(debian):
    debian.kernel_config({**BUILT_IN, "CONFIG_IP_NF_NAT": "m", "CONFIG_NF_TABLES": "m"})
    debian.write("/proc/modules", "nf_tables 356352 0 - Live 0x0000000000000000\n")
    found = modules(run_doctor(debian.view(), USER, "kind"))
    nat = found["iptable_nat"]
    assert (nat.status, nat.detail) == ("fail", "a loadable module (CONFIG_IP_NF_NAT=m in /proc/config.gz) that is "
                                                "not loaded (not in /proc/modules) (needed by kind)")
    assert "modprobe -a iptable_nat" in nat.fix
    assert (found["nf_tables"].status, found["nf_tables"].detail) == ("pass", "loaded (/proc/modules)")


def test_a_module_the_kernel_lacks_asks_for_another_kernel_not_modprobe(debian):
    debian.kernel_config({**BUILT_IN, "CONFIG_IP6_NF_NAT": "n", "CONFIG_OVERLAY_FS": "n"})
    debian.write("/proc/filesystems", "nodev\tsysfs\nnodev\tproc\n")
    found = modules(run_doctor(debian.view(), USER, "kind"))
    nat = found["ip6table_nat"]
    assert (nat.status, nat.detail) == ("fail", "not in this kernel: CONFIG_IP6_NF_NAT is not set in /proc/config.gz "
                                                "(needed by kind)")
    assert "CONFIG_IP6_NF_NAT=y or CONFIG_IP6_NF_NAT=m" in nat.fix and "modprobe" not in nat.fix
    assert found["overlay"].status == "warn"  # recommended only
    assert found["ip_tables"].status == "pass"


def test_boot_config_of_the_running_release_when_there_is_no_config_gz(debian):
    debian.remove("/proc/config.gz")
    debian.kernel_config({**BUILT_IN, "CONFIG_BRIDGE_NETFILTER": "m"}, path=f"/boot/config-{RELEASE}")
    found = modules(run_doctor(debian.view(), USER, "kind"))
    assert found["ip_tables"].detail == f"built in (CONFIG_IP_NF_IPTABLES=y in /boot/config-{RELEASE})"
    # the fixture tree has no /proc/sys/net/bridge/ (br_netfilter not loaded): the config's =m decides
    assert found["br_netfilter"].detail.startswith(f"a loadable module (CONFIG_BRIDGE_NETFILTER=m in "
                                                   f"/boot/config-{RELEASE})")


def test_without_a_config_each_module_stands_alone(debian):
    """One unreadable file affects only the modules that need it; the others say what they found."""
    debian.remove("/proc/config.gz")
    debian.write("/proc/filesystems", "nodev\tsysfs\nnodev\toverlay\n")
    debian.write("/proc/sys/net/bridge/bridge-nf-call-iptables", "1\n")
    (debian.root / "sys/module/nf_tables").mkdir(parents=True)
    found = modules(run_doctor(debian.view(), USER, "kind"))
    assert {name: c.status for name, c in found.items()} == {
        "ip_tables": "pass", "ip6_tables": "pass", "iptable_nat": "warn", "ip6table_nat": "warn",
        "br_netfilter": "pass", "overlay": "pass", "nf_tables": "pass"}
    assert found["ip_tables"].detail == "feature present (/proc/net/ip_tables_names)"
    assert found["overlay"].detail == "feature present (/proc/filesystems)"
    assert found["br_netfilter"].detail == "feature present (/proc/sys/net/bridge/)"
    assert found["nf_tables"].detail == "present (/sys/module/nf_tables)"
    nat = found["iptable_nat"]
    assert nat.detail == (
        f"cannot tell: not found in /proc/modules (missing), /lib/modules/{RELEASE}/modules.builtin (missing), "
        f"/proc/config.gz (missing), /boot/config-{RELEASE} (missing), /sys/module/iptable_nat, "
        "/proc/net/ip_tables_names (cannot be read: Is a directory) (needed by kind)")
    # the fix is something a person can do: root can read the file and tell
    assert nat.fix == (f"as root:\n  rootlesskube doctor --user {USER} --driver kind --host-root {debian.root}\n"
                       "root can read /proc/net/ip_tables_names; its verdict is the one that counts")


def test_unreadable_proc_modules_affects_only_the_modules_nothing_else_decides(debian):
    unreadable(debian, "/proc/modules")
    debian.kernel_config({**BUILT_IN, "CONFIG_NF_TABLES": "m"})
    found = modules(run_doctor(debian.view(), USER, "kind"))
    assert [name for name, c in found.items() if c.status != "pass"] == ["nf_tables"]
    nf_tables = found["nf_tables"]  # =m: whether it is loaded is what /proc/modules would tell
    assert (nf_tables.status, nf_tables.detail) == (
        "warn", "cannot tell: a loadable module (CONFIG_NF_TABLES=m in /proc/config.gz); whether it is loaded: "
                "/proc/modules cannot be read (Is a directory) (recommended for kind)")
    assert "rootlesskube doctor --user alice --driver kind" in nf_tables.fix


def test_the_doctors_fallback_for_a_file_it_cannot_read_never_asks_to_make_it_readable(debian):
    unreadable(debian, "/etc/subgid")
    check = run_doctor(debian.view(), USER, "kind").get("subgid")
    assert (check.status, check.title) == ("warn", "could not read /etc/subgid")
    assert "make /etc/subgid a readable file" not in check.fix
    assert check.fix.startswith("look at /etc/subgid (ls -l /etc/subgid)")
