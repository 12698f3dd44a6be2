"""The doctor on fixture trees of six host profiles (--host-root): exact statuses, and a fix for every failure."""

from __future__ import annotations

import shlex
from typing import Dict

import pytest

from rootlesskube.host import content
from rootlesskube.host.doctor import run_doctor
from tests.host.hosttree import DEBIAN12, RHEL8, UBUNTU, UID, USER, HostTree, healthy

# checks that need a live process or command: `skip` under --host-root, with the reason
LIVE_ONLY = ("limits.nofile", "limits.nproc", "session.xdg-runtime-dir", "session.login", "podman",
             "podman.rootless", "tool.kind", "tool.kubectl", "resources.cpu", "resources.memory", "resources.disk")
KIND_IDS = ("os", "userns.max", "userns.debian-clone", "userns.apparmor", "cgroup.v2", "cgroup.delegation",
            "module.ip_tables", "module.ip6_tables", "module.iptable_nat", "module.ip6table_nat",
            "module.br_netfilter", "module.overlay", "module.nf_tables", "subuid", "subgid", "newuidmap",
            "newgidmap", "dev.tun", "dev.fuse", "network.helper", "sysctl.unprivileged-port-start",
            "sysctl.inotify", "sysctl.keys", "ipv6", "limits.nofile", "limits.nproc", "session.xdg-runtime-dir",
            "session.linger", "session.login", "podman", "podman.rootless", "tool.kind", "tool.kubectl",
            "resources.cpu", "resources.memory", "resources.disk")


def expected(**changes: str) -> Dict[str, str]:
    """Every kind check's status on a healthy fixture tree, with `changes` (ids with _ for . and -)."""
    statuses = {i: ("skip" if i in LIVE_ONLY else "pass") for i in KIND_IDS}
    for key, status in changes.items():
        matches = [i for i in statuses if i.replace(".", "_").replace("-", "_") == key]
        assert len(matches) == 1, key
        statuses[matches[0]] = status
    return statuses


def statuses(report) -> Dict[str, str]:
    return {c.id: c.status for c in report.checks}


def assert_fixes(report) -> None:
    for check in report.checks:
        if check.status == "fail":
            assert check.fix, f"{check.id} fails without a fix"
        if check.status == "pass":
            assert check.fix is None, check.id


@pytest.fixture
def tree(tmp_path) -> HostTree:
    return HostTree(tmp_path / "host")


def test_fedora_with_delegation_passes_everything(tree):
    report = run_doctor(healthy(tree).view(), USER, "kind")
    assert statuses(report) == expected()
    assert report.ready is True
    assert report.get("cgroup.delegation").detail == (
        f"/sys/fs/cgroup/user.slice/user-{UID}.slice/user@{UID}.service/cgroup.controllers: cpu cpuset io memory pids; "
        "configured: cpu cpuset io memory pids (/etc/systemd/system/user@.service.d/delegate.conf)")
    assert report.host["os"] == "Fedora Linux 41 (Workstation Edition)"
    assert report.host["package_manager"] == "dnf"
    assert report.host["live"] is False
    assert report.get("podman").detail.startswith("/usr/bin/podman is installed; `podman info`: --host-root ")
    assert report.get("tool.kind").detail == (f"/usr/bin/kind is installed; its version: --host-root {tree.root}: "
                                              "this needs the running host, not files")


def test_ubuntu_2404_apparmor_restriction_names_the_unprofiled_binary(tree):
    healthy(tree, UBUNTU, "6.8.0-45-generic")
    tree.sysctl("kernel.unprivileged_userns_clone", 1)
    tree.sysctl("kernel.apparmor_restrict_unprivileged_userns", 1)
    tree.remove("/usr/bin/podman")
    tree.binary("/usr/local/bin/podman")  # a static build: not at the profiled path
    tree.remove("/usr/bin/slirp4netns")
    tree.write("/etc/apparmor.d/podman", "abi <abi/4.0>,\ninclude <tunables/global>\n"
               "profile podman /usr/bin/podman flags=(unconfined) {\n  userns,\n}\n")
    tree.write("/etc/apparmor.d/crun", "abi <abi/4.0>,\nprofile crun /usr/{bin,sbin}/crun flags=(unconfined) {\n"
               "  userns,\n}\n")
    tree.write("/etc/apparmor.d/passt", "profile passt /usr/bin/{passt,pasta} {\n  userns,\n}\n")
    report = run_doctor(tree.view(), USER, "kind")
    assert statuses(report) == expected(userns_apparmor="fail")
    check = report.get("userns.apparmor")
    assert check.detail == (
        "kernel.apparmor_restrict_unprivileged_userns = 1; profiles with 'userns,' in /etc/apparmor.d: "
        "/usr/bin/crun (/etc/apparmor.d/crun), /usr/bin/pasta (/etc/apparmor.d/passt); "
        "no profile allows user namespaces for: /usr/local/bin/podman")
    # the fix writes the very profile host_setup writes
    (printf,) = [line for line in check.fix.splitlines() if line.strip().startswith("printf")]
    argv = shlex.split(printf)
    assert argv[:2] == ["printf", "%b"] and argv[3:] == [">", "/etc/apparmor.d/usr.local.bin.podman"]
    assert argv[2].replace("\\n", "\n") == content.apparmor_profile("/usr/local/bin/podman")
    assert "  apparmor_parser -r /etc/apparmor.d/usr.local.bin.podman" in check.fix
    assert report.host["package_manager"] == "apt"
    assert report.ready is False
    assert_fixes(report)


def test_rhel8_on_cgroup_v1(tree):
    healthy(tree, RHEL8, "4.18.0-553.el8_10.x86_64")
    tree.cgroup_v1()
    report = run_doctor(tree.view(), USER, "kind")
    assert statuses(report) == expected(os="warn", cgroup_v2="fail", cgroup_delegation="fail")
    assert report.get("cgroup.v2").detail.startswith(
        "cgroup v1: hierarchies at /sys/fs/cgroup/{blkio,cpu,cpuacct,cpuset,devices,freezer,memory,pids,systemd}")
    assert 'grubby --update-kernel=ALL --args="systemd.unified_cgroup_hierarchy=1"' in report.get("cgroup.v2").fix
    assert "reboot" in report.get("cgroup.v2").fix
    assert report.get("cgroup.delegation").detail == (
        "cgroups are v1: controllers can be delegated only on cgroup v2 (see cgroup.v2)")
    assert "fuse-overlayfs" in report.get("os").detail
    assert_fixes(report)
    # minikube refuses rootless mode below kernel 5.11
    minikube = run_doctor(tree.view(), USER, "minikube")
    assert minikube.get("os").status == "fail"
    assert minikube.get("os").detail.endswith("minikube needs kernel >= 5.11 for rootless mode")


def test_debian12_without_a_subuid_entry(tree):
    healthy(tree, DEBIAN12, "6.1.0-25-amd64")
    tree.sysctl("kernel.unprivileged_userns_clone", 1)
    tree.subids("bob:100000:65536\n")
    report = run_doctor(tree.view(), USER, "kind")
    assert statuses(report) == expected(subuid="fail", subgid="fail")
    assert report.get("subuid").detail == f"no entry for {USER} (by name or uid {UID}) in /etc/subuid"
    assert report.get("subgid").detail == f"no entry for {USER} (by name or uid {UID}) in /etc/subgid"
    assert f"usermod --add-subuids 165536-231071 --add-subgids 165536-231071 {USER}" in report.get("subuid").fix
    assert "podman system migrate" in report.get("subuid").fix
    assert_fixes(report)


def test_delegation_configured_but_not_active(tree):
    healthy(tree)
    tree.cgroup_v2(user_controllers="memory pids")
    report = run_doctor(tree.view(), USER, "kind")
    assert statuses(report) == expected(cgroup_delegation="fail")
    check = report.get("cgroup.delegation")
    assert check.detail.endswith("cpu configured but not active: a re-login or reboot is needed")
    assert f"loginctl terminate-user {USER}" in check.fix
    assert_fixes(report)


def test_delegation_not_configured_gives_the_drop_in(tree):
    healthy(tree)
    tree.remove("/etc/systemd/system/user@.service.d/delegate.conf")
    tree.cgroup_v2(user_controllers="memory pids")
    report = run_doctor(tree.view(), USER, "kind")
    check = report.get("cgroup.delegation")
    assert check.status == "fail"
    assert check.detail.endswith("configured: nothing (no drop-in); not delegated: cpu")
    assert "Delegate=cpu cpuset io memory pids" in check.fix
    assert "log out and back in" in check.fix


def test_hybrid_host_without_systemd_like_the_development_machine(tree):
    healthy(tree, DEBIAN12, "6.18.44-fc-v657")
    tree.cgroup_hybrid()
    tree.remove("/usr/lib/systemd/systemd")
    tree.remove("/lib/modules")
    tree.write("/proc/net/ip_tables_names", "filter\n")
    tree.write("/proc/net/ip6_tables_names", "filter\n")
    tree.write("/proc/modules", "")
    tree.device("/dev/net/tun", 0o600)
    report = run_doctor(tree.view(), USER, "kind")
    assert statuses(report) == expected(
        cgroup_v2="fail", cgroup_delegation="fail", module_iptable_nat="fail", module_ip6table_nat="fail",
        module_br_netfilter="warn", module_overlay="warn", module_nf_tables="warn", dev_tun="fail",
        session_linger="skip")
    v2 = report.get("cgroup.v2")
    assert "hybrid" in v2.detail and "/sys/fs/cgroup/unified with only 'hugetlb'" in v2.detail
    # no systemd to read systemd.unified_cgroup_hierarchy=1: the kernel's own switch is the command
    assert "  add cgroup_no_v1=all to GRUB_CMDLINE_LINUX in /etc/default/grub\n  update-grub\n" in v2.fix
    assert "add systemd.unified_cgroup_hierarchy=1" not in v2.fix
    assert "mount -t cgroup2 none /sys/fs/cgroup" in v2.fix
    assert report.get("cgroup.delegation").detail.startswith("no systemd (no systemd in the host root)")
    assert report.get("module.ip_tables").detail == "feature present (/proc/net/ip_tables_names)"
    assert "/lib/modules/6.18.44-fc-v657 does not exist" in report.get("module.iptable_nat").detail
    assert report.get("dev.tun").detail.startswith("/dev/net/tun: file -rw------- owner uid 0")
    assert "chmod 0666 /dev/net/tun" in report.get("dev.tun").fix
    assert_fixes(report)


def test_usernetes_requires_slirp4netns_and_its_tools(tree):
    healthy(tree)
    tree.remove("/usr/bin/slirp4netns")
    tree.remove("/usr/bin/jq")
    report = run_doctor(tree.view(), USER, "usernetes")
    got = statuses(report)
    assert got["network.helper"] == "fail"
    assert got["tool.jq"] == "fail"
    assert report.get("tool.jq").fix == "as root:\n  dnf install -y jq"
    assert [i for i in got if i.startswith("tool.")] == ["tool.make", "tool.jq", "tool.podman-compose", "tool.kubectl"]
    assert [i for i in got if i.startswith("module.")] == [
        "module.br_netfilter", "module.ip_tables", "module.ip6_tables", "module.iptable_nat", "module.ip6table_nat",
        "module.vxlan", "module.overlay", "module.nf_tables"]


def test_missing_kind_names_the_pinned_install_first(tree):
    healthy(tree).remove("/usr/bin/kind")
    report = run_doctor(tree.view(), USER, "kind")
    check = report.get("tool.kind")
    assert check.status == "fail"
    assert check.fix.splitlines() == [
        "as the user: rootlesskube tools install kind   (a pinned, checksummed release)",
        "or install it yourself: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    ]
