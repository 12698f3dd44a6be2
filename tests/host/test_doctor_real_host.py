"""The doctor on the machine the suite runs on, run by an unprivileged user, against this kernel's own config.

The expected module verdicts are derived here, independently of the code under test: the
kernel config read with the gzip module (`=y` built in, `=m` a module that must be loaded,
unset: absent) and /proc/modules. On the development machine (../shared/ENVIRONMENT.md)
/proc/modules does not exist, every module is built in and /proc/net/ip_tables_names is
0440 root: the checks must pass all the same, naming the source that decided.
"""

from __future__ import annotations

import gzip
import json
import os
import re

import pytest

# module -> the config symbol that builds it, from the kernel's Makefiles (obj-$(SYMBOL) += NAME.o):
# fs/overlayfs, net/bridge, net/ipv4/netfilter, net/ipv6/netfilter, net/netfilter, drivers/net/vxlan
SYMBOL = {"overlay": "CONFIG_OVERLAY_FS", "br_netfilter": "CONFIG_BRIDGE_NETFILTER",
          "ip_tables": "CONFIG_IP_NF_IPTABLES", "iptable_nat": "CONFIG_IP_NF_NAT",
          "ip6_tables": "CONFIG_IP6_NF_IPTABLES", "ip6table_nat": "CONFIG_IP6_NF_NAT",
          "nf_tables": "CONFIG_NF_TABLES", "vxlan": "CONFIG_VXLAN"}
SOURCES = ("loaded (/proc/modules)", "built in (", "present (/sys/module/", "feature present (")


def kernel_config() -> dict:
    release = os.uname().release
    for path in ("/proc/config.gz", f"/boot/config-{release}"):
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt") as handle:
                return dict(re.findall(r"^(CONFIG_\w+)=(\S+)$", handle.read(), re.MULTILINE))
    pytest.skip("this kernel has no readable config (/proc/config.gz or /boot/config-RELEASE)")


def loaded_modules() -> set:
    try:
        with open("/proc/modules") as handle:
            return {line.split()[0] for line in handle if line.strip()}
    except FileNotFoundError:
        return set()


def doctor_as(user, driver: str) -> dict:
    result = user.rootlesskube("doctor", "--json", "--driver", driver)
    assert result.returncode in (0, 3), result.stderr
    return {c["id"]: c for c in json.loads(result.stdout)["checks"]}


def user_can_read(user, path: str) -> bool:
    return user.run(["cat", path], check=False).returncode == 0


@pytest.mark.podman
@pytest.mark.parametrize("driver", ["kind", "usernetes"])
def test_module_verdicts_of_an_unprivileged_user_agree_with_the_kernel_config(podman_user, driver):
    config, loaded = kernel_config(), loaded_modules()
    checks = doctor_as(podman_user, driver)
    modules = {i[len("module."):]: c for i, c in checks.items() if i.startswith("module.")}
    assert modules, checks
    for name, check in modules.items():
        value = config.get(SYMBOL[name])
        present = value == "y" or name in loaded or os.path.isdir(f"/sys/module/{name}")
        if present:
            assert check["status"] == "pass", check
            assert check["detail"].startswith(SOURCES), check
            if name in loaded:
                assert check["detail"] == "loaded (/proc/modules)", check
            elif check["detail"].startswith("built in (CONFIG_"):
                assert check["detail"].startswith(f"built in ({SYMBOL[name]}=y in "), check
        else:
            assert check["status"] in ("fail", "warn"), check
            assert check["fix"], check


@pytest.mark.podman
def test_no_check_says_it_could_not_read_what_the_user_can_read(podman_user):
    checks = doctor_as(podman_user, "usernetes")
    for check in checks.values():
        detail = check["detail"]
        assert "could not run" not in detail or not user_can_read(podman_user, detail.split()[0]), check
        for path in re.findall(r"(/\S+) \(cannot be read: ", detail):
            assert not user_can_read(podman_user, path), check
        assert not re.search(r"make \S+ a readable file", check["fix"] or ""), check
