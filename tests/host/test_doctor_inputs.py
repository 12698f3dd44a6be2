"""Malformed and unreadable host files, the live machine, and the CLI."""

from __future__ import annotations

import json
import os
import pwd

import pytest

from rootlesskube.host.doctor import run_doctor
from rootlesskube.host.model import STATUSES
from rootlesskube.host.view import HostView
from tests.conftest import STANDINS
from tests.host.hosttree import USER, HostTree, healthy


@pytest.fixture
def tree(tmp_path) -> HostTree:
    return healthy(HostTree(tmp_path / "host"))


def test_garbage_subuid_lines_warn_naming_file_and_line(tree):
    tree.write("/etc/subuid", f"# ids\n{USER}:524288:65536\nthis is garbage\nbob:x:1\n")
    check = run_doctor(tree.view(), USER, "kind").get("subuid")
    assert check.status == "warn"
    assert check.detail == (
        f"/etc/subuid: {USER} has 524288-589823 (65536 ids, line 2); "
        "/etc/subuid line 3: 'this is garbage' is not OWNER:START:COUNT; "
        "/etc/subuid line 4: 'bob:x:1' has a START or COUNT that is not a number")
    assert "/etc/subuid" in check.fix


def test_small_and_overlapping_subuid_ranges_fail(tree):
    tree.write("/etc/subuid", f"bob:500000:100000\n{USER}:524288:1000\n")
    check = run_doctor(tree.view(), USER, "kind").get("subuid")
    assert check.status == "fail"
    assert check.detail == (f"/etc/subuid: {USER} has 524288-525287 (1000 ids, line 2); only 1000 ids, at least "
                            "65536 are needed; line 2 overlaps bob's range on line 1")
    assert f"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {USER}" in check.fix  # the free gap


def test_subuid_range_over_real_uids_fails(tree):
    tree.write("/etc/subuid", f"{USER}:1000:65536\n")
    check = run_doctor(tree.view(), USER, "kind").get("subuid")
    assert check.status == "fail"
    assert "line 1 overlaps real ids (below 65536 or 1000 itself)" in check.detail


def test_subuid_range_over_another_users_high_uid_fails_naming_it(tree):
    tree.users(["bob:x:530000:530000:Bob:/home/bob:/bin/sh"])  # inside alice's 524288-589823
    tree.write("/etc/group", "root:x:0:\nalice:x:1000:\ndevs:x:540000:\n")
    report = run_doctor(tree.view(), USER, "kind")
    check = report.get("subuid")
    assert check.status == "fail"
    assert check.detail.endswith("line 1 contains real ids: uid 530000 of bob, gid 540000 of group devs "
                                 "(/etc/passwd, /etc/group)")
    assert f"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {USER}" in check.fix


def test_unreadable_file_warns_naming_it(tree):
    tree.remove("/etc/subgid")
    (tree.root / "etc/subgid").mkdir()  # we run as root: a directory is what cannot be read as a file
    report = run_doctor(tree.view(), USER, "kind")
    check = report.get("subgid")
    assert (check.status, check.title) == ("warn", "could not read /etc/subgid")
    assert check.detail.startswith("/etc/subgid cannot be read: Is a directory")
    assert report.get("subuid").status == "pass"


def test_unreadable_proc_modules_warns_only_for_the_modules_nothing_else_decides(tree):
    tree.remove("/proc/modules")
    (tree.root / "proc/modules").mkdir()
    report = run_doctor(tree.view(), USER, "kind")
    modules = [c for c in report.checks if c.id.startswith("module.")]
    assert [c.id for c in modules] == ["module.ip_tables", "module.ip6_tables", "module.iptable_nat",
                                       "module.ip6table_nat", "module.br_netfilter", "module.overlay",
                                       "module.nf_tables"]
    # overlay is in modules.builtin; the others were only in the unreadable /proc/modules
    assert [(c.id, c.status) for c in modules if c.status != "warn"] == [("module.overlay", "pass")]
    assert all(c.detail.startswith("cannot tell: ") and "/proc/modules (cannot be read: Is a directory)" in c.detail
               for c in modules if c.status == "warn")


def test_missing_and_garbled_proc_entries(tree):
    tree.remove("/proc/sys/user/max_user_namespaces")
    tree.sysctl("fs.inotify.max_user_watches", "lots")
    tree.remove("/proc/sys/kernel/keys")
    report = run_doctor(tree.view(), USER, "kind")
    assert report.get("userns.max").status == "fail"
    assert report.get("userns.max").detail == (
        "/proc/sys/user/max_user_namespaces does not exist: this kernel has no user namespaces (CONFIG_USER_NS)")
    inotify = report.get("sysctl.inotify")
    assert inotify.status == "warn"
    assert inotify.detail == ("fs.inotify.max_user_instances = 8192; "
                              "/proc/sys/fs/inotify/max_user_watches line 1: 'lots' is not a number")
    keys = report.get("sysctl.keys")
    assert keys.status == "warn"
    assert keys.detail == ("/proc/sys/kernel/keys/maxkeys does not exist; "
                           "/proc/sys/kernel/keys/maxbytes does not exist")


def test_empty_host_root_gives_results_not_a_traceback(tmp_path):
    root = tmp_path / "empty"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text(f"{USER}:x:1000:1000::/home/{USER}:/bin/sh\n")
    report = run_doctor(HostView(str(root)), USER, "kind")
    got = {c.id: c.status for c in report.checks}
    assert got["os"] == "warn" and got["cgroup.v2"] == "fail" and got["subuid"] == "fail"
    assert got["podman"] == "fail" and got["ipv6"] == "warn"
    for check in report.checks:
        assert check.status in STATUSES
        if check.status == "fail":
            assert check.fix


def _live_user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def test_live_machine_every_check_well_formed(monkeypatch):
    monkeypatch.setenv("PATH", f"{STANDINS}{os.pathsep}{os.environ['PATH']}")  # kubectl: the stand-in
    report = run_doctor(HostView("/"), _live_user(), "kind")
    assert report.host["live"] is True
    assert report.host["kernel"] == os.uname().release
    ids = [c.id for c in report.checks]
    assert len(ids) == len(set(ids)) == 36
    for check in report.checks:
        assert check.status in STATUSES, check
        assert check.title and check.detail, check
        if check.status in ("fail", "warn"):
            assert check.fix, check
        else:
            assert check.fix is None, check
    assert report.get("resources.cpu").detail == f"{len(os.sched_getaffinity(0))} CPUs usable (sched_getaffinity)"
    assert report.get("os").detail.startswith(report.host["os"])
    if os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers") and \
            not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        assert report.get("cgroup.v2").status == "fail"
        assert "hybrid" in report.get("cgroup.v2").detail
    if not os.path.exists("/run/systemd/system"):
        assert report.get("cgroup.delegation").status == "fail"
        assert report.get("cgroup.delegation").detail.startswith("no systemd")
    assert report.ready is (not report.failing())


def test_cli_json_shape_and_exit_code(cli, tree):
    code, out, err = cli("doctor", "--host-root", tree.root, "--user", USER, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert list(data) == ["ready", "driver", "user", "host", "checks"]
    assert (data["ready"], data["driver"], data["user"]) == (True, "kind", USER)
    assert all(list(c) == ["id", "status", "title", "detail", "fix", "ignored"] for c in data["checks"])


def test_cli_not_ready_exits_3_with_table_and_verdict(cli, tree):
    tree.cgroup_hybrid()
    code, out, err = cli("doctor", "--host-root", tree.root, "--user", USER, "--driver", "minikube")
    assert code == 3
    assert "cgroup.v2" in out and "hybrid" in out
    verdict, next_step = out.strip().splitlines()[-2:]
    assert verdict.startswith("not ready: 2 check(s) fail (cgroup.v2, cgroup.delegation)")
    # the one next command: root's part first (a --host-root report does not look for its install)
    assert next_step == ("next: sudo /usr/local/sbin/rootlesskube-host-setup apply --kernel-cmdline   "
                         "(root's part: cgroup.v2; `plan` instead of `apply` shows it first)")
    assert "tool.minikube" in out


def test_cli_driver_from_environment(cli, tree):
    from plumbum import local  # plumbum reads envname switches from its own environment snapshot

    with local.env(ROOTLESSKUBE_DRIVER="usernetes"):
        code, out, _ = cli("doctor", "--host-root", tree.root, "--user", USER, "--json")
        assert (code, json.loads(out)["driver"]) == (0, "usernetes")
        code, out, _ = cli("doctor", "--host-root", tree.root, "--user", USER, "--json", "--driver", "minikube")
        assert (code, json.loads(out)["driver"]) == (0, "minikube")


@pytest.mark.parametrize("args, message", [
    (["--user", "nobody-here"], "there is no user 'nobody-here' in"),
    (["--user", "../etc"], "'../etc' is not a valid user name"),
    (["--driver", "k3d"], "--driver must be one of {kind, minikube, usernetes}, not 'k3d'"),
])
def test_cli_bad_input_exits_2(cli, tree, args, message):
    code, out, err = cli("doctor", "--host-root", tree.root, *args)
    assert (code, out) == (2, "")
    assert message in err


def test_cli_missing_host_root_exits_2(cli, tmp_path):
    code, out, err = cli("doctor", "--host-root", tmp_path / "nope", "--json")
    assert (code, out) == (2, "")
    assert f"--host-root {tmp_path / 'nope'}: no such directory" in err


@pytest.mark.podman
def test_live_doctor_as_the_podman_user_reads_real_podman_facts(podman_user):
    result = podman_user.rootlesskube("doctor", "--json")
    assert result.returncode in (0, 3), result.stderr
    data = json.loads(result.stdout)
    assert data["user"] == podman_user.name
    checks = {c["id"]: c for c in data["checks"]}
    version = podman_user.podman("version", "--format", "{{.Client.Version}}").stdout.strip()
    assert checks["podman"]["status"] == "pass", checks["podman"]
    assert checks["podman"]["detail"].startswith(f"/usr/bin/podman: version {version}, rootless true, ")
    assert checks["podman.rootless"]["status"] == "pass"
    assert checks["subuid"]["status"] == "pass"
    for check_id in ("session.xdg-runtime-dir", "session.login", "limits.nofile", "limits.nproc"):
        assert checks[check_id]["status"] != "skip", checks[check_id]
    assert data["ready"] is (not any(c["status"] == "fail" for c in data["checks"]))


@pytest.mark.parametrize("args", [["status"], ["doctor", "--host-root", "/x"], ["doctor", "--user=bob"],
                                  ["doctor", "--help"], []])
def test_early_podman_info_only_for_a_plain_doctor(args):
    from rootlesskube.host import early

    early.start(args)
    assert early.take() is None


# `kubectl version --client -o json`, recorded from a real kubectl (1.32.4, Google Cloud SDK build)
KUBECTL_VERSION_JSON = """{
  "clientVersion": {
    "major": "1",
    "minor": "32+",
    "gitVersion": "v1.32.4-dispatcher",
    "gitCommit": "4cb5f0764b8d5f425645c6f433394fede34a8a26",
    "gitTreeState": "clean",
    "buildDate": "2025-05-15T20:09:34Z",
    "goVersion": "go1.23.8",
    "compiler": "gc",
    "platform": "linux/amd64"
  },
  "kustomizeVersion": "v5.5.0"
}
"""


def _fake_kubectl(directory, stdout: str):
    """A kubectl that answers only `version --client -o json` (anything else: exit 1)."""
    import sys

    directory.mkdir(exist_ok=True)
    (directory / "version.json").write_text(stdout)
    script = directory / "kubectl"
    script.write_text(f"#!{sys.executable}\nimport sys\n"
                      "if sys.argv[1:] != ['version', '--client', '-o', 'json']:\n    sys.exit(1)\n"
                      f"sys.stdout.write(open({str(directory / 'version.json')!r}).read())\n")
    script.chmod(0o755)
    return script


def test_kubectl_version_is_read_from_its_json(tmp_path):
    from rootlesskube.host.context import _tool_version

    probe = _tool_version(str(_fake_kubectl(tmp_path / "good", KUBECTL_VERSION_JSON)), "kubectl")
    assert (probe.value, probe.error) == ("1.32.4", None)
    probe = _tool_version(str(_fake_kubectl(tmp_path / "bad", "{}\n")), "kubectl")
    assert probe.value is None and "printed no clientVersion.gitVersion: {}" in probe.error


def test_live_doctor_reports_the_kubectl_version(monkeypatch, tmp_path):
    script = _fake_kubectl(tmp_path / "bin", KUBECTL_VERSION_JSON)
    monkeypatch.setenv("ROOTLESSKUBE_HOME", str(tmp_path / "home"))  # no installed copy wins over PATH
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    check = run_doctor(HostView("/"), _live_user(), "kind").get("tool.kubectl")
    assert (check.status, check.detail) == ("pass", f"{script}, version 1.32.4")


def test_garbage_or_empty_kernel_release_warns_naming_the_file(tree):
    for release in ("garbage", ""):
        tree.write("/proc/sys/kernel/osrelease", release + "\n")
        check = run_doctor(tree.view(), USER, "minikube").get("os")
        assert check.status == "warn", check
        assert check.detail == (f"Fedora Linux 41 (Workstation Edition), x86_64: the kernel release {release!r} "
                                "(/proc/sys/kernel/osrelease) is not a version, so the kernel the driver needs "
                                "cannot be checked")
        assert "/proc/sys/kernel/osrelease" in check.fix


def test_session_fixes_for_root_point_to_an_unprivileged_user(monkeypatch):
    from rootlesskube.host import fixes

    monkeypatch.setenv("PATH", f"{STANDINS}{os.pathsep}{os.environ['PATH']}")

    assert "ssh alice@localhost" in fixes.login_session("alice")
    assert "root@localhost" not in fixes.login_session("root")
    assert fixes.login_session("root").startswith(fixes.run_as_a_user("root"))
    if os.geteuid() == 0:  # the live doctor as root: no session fix says to log in as root
        report = run_doctor(HostView("/"), "root", "kind")
        for check in report.checks:
            assert "root@localhost" not in (check.fix or ""), check
        login = report.get("session.login")
        if login.status == "warn":
            assert "run it as an unprivileged user" in login.fix


def test_a_tool_is_asked_its_version_once_per_binary_file(tmp_path):
    import stat

    from rootlesskube import paths
    from rootlesskube.host.context import _tool_version

    script = _fake_kubectl(tmp_path / "bin", KUBECTL_VERSION_JSON)
    calls = tmp_path / "calls"
    script.write_text(script.read_text().replace("import sys\n", f"import sys\nopen({str(calls)!r}, 'a').write('x')\n", 1))
    asked = lambda: calls.read_text().count("x") if calls.exists() else 0  # noqa: E731
    assert _tool_version(str(script), "kubectl").value == "1.32.4" and asked() == 1
    assert _tool_version(str(script), "kubectl").value == "1.32.4" and asked() == 1  # remembered
    cache = paths.cache_dir() / "tool-versions.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    (tmp_path / "bin" / "version.json").write_text(KUBECTL_VERSION_JSON.replace("v1.32.4", "v1.33.0"))
    script.write_text(script.read_text() + "\n")  # another binary at the same path: asked again
    assert _tool_version(str(script), "kubectl").value == "1.33.0" and asked() == 2
    cache.write_text("not json")  # a broken cache is only a miss
    assert _tool_version(str(script), "kubectl").value == "1.33.0" and asked() == 3
    assert _tool_version(str(script), "kubectl").value == "1.33.0" and asked() == 3
