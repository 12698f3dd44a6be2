"""The cloud-config against the real tools: Debian's cloud-init (schema, module order) and useradd.

`cloud-init schema --config-file` (Debian 12: cloud-init 22.4) validates every generated
cloud-config; CI installs it (.ci/run), elsewhere the tests are skipped without it.
The module order comes from Debian's /etc/cloud/cloud.cfg, installed with that package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from rootlesskube.export import cloud_init, host_files, vm
from rootlesskube.host import content
from tests.export.test_butane import KEY

CLOUD_INIT = shutil.which("cloud-init")
CLOUD_CFG = Path("/etc/cloud/cloud.cfg")
needs_cloud_init = pytest.mark.skipif(
    not CLOUD_INIT and not os.environ.get("CI"),
    reason="cloud-init is not installed (Debian: apt-get install --no-install-recommends cloud-init); CI installs it")

VARIANTS = [{}, {"quadlet": False}, {"user": "alice", "data_disk": "/dev/sdb"}, {"recipe": "kind-pmm3-restricted"},
            {"host_port": 8443, "quadlet": False}]


def schema_check(text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    assert CLOUD_INIT, "cloud-init is missing in CI: add it to .ci/run's apt-get line"
    path = tmp_path / "user-data"
    path.write_text(text)
    return subprocess.run([CLOUD_INIT, "schema", "--config-file", str(path)], capture_output=True, text=True,
                          timeout=120)


@needs_cloud_init
@pytest.mark.parametrize("kwargs", VARIANTS)
def test_every_cloud_config_passes_cloud_init_schema(tmp_path, kwargs):
    text = cloud_init.render(cloud_init.cloud_config(vm.vm_config(ssh_keys=(KEY,), **kwargs)), comment="test")
    result = schema_check(text, tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, f"Valid cloud-config: {tmp_path / 'user-data'}"), \
        result.stderr


@needs_cloud_init
def test_the_validator_rejects_a_broken_cloud_config(tmp_path):
    result = schema_check("#cloud-config\nwrite_files: [{path: /etc/x, bogus: 1}]\n", tmp_path)
    assert result.returncode == 1 and "'bogus' was unexpected" in result.stderr


@needs_cloud_init
@pytest.mark.parametrize("args", [[], ["--quadlet"], ["--recipe", "kind-pmm3-restricted", "--user", "alice"]])
def test_the_cli_output_passes_cloud_init_schema(cli, tmp_path, args):
    code, stdout, _ = cli("export", "cloud-init", *args)
    assert code == 0
    result = schema_check(stdout, tmp_path)
    assert result.returncode == 0, result.stderr


def modules() -> list:
    """Every module of Debian's cloud.cfg, in the order cloud-init runs them (init, config, final stage)."""
    if not CLOUD_CFG.is_file():
        assert not os.environ.get("CI"), "cloud-init's /etc/cloud/cloud.cfg is missing in CI"
        pytest.skip("cloud-init's /etc/cloud/cloud.cfg is not installed")
    cfg = yaml.safe_load(CLOUD_CFG.read_text())
    order = []
    for stage in ("cloud_init_modules", "cloud_config_modules", "cloud_final_modules"):
        order += [(m if isinstance(m, str) else m[0]).replace("_", "-") for m in cfg[stage]]
    return order


def test_the_module_order_this_config_relies_on():
    """disk_setup and mounts run before any package is installed; write-files before users-groups, and
    write-files-deferred after the packages and before runcmd (scripts-user)."""
    order = modules()
    at = order.index
    assert at("write-files") < at("disk-setup") < at("mounts") < at("users-groups")
    assert at("users-groups") < at("package-update-upgrade-install") < at("write-files-deferred") < at("scripts-user")


def test_the_subordinate_id_files_are_written_after_users_groups():
    data = cloud_init.cloud_config(vm.vm_config(user="alice", ssh_keys=(KEY,)))
    written = {f["path"]: f for f in data["write_files"]}
    for path in host_files.SUBID_FILES:
        assert written[path]["defer"] is True and "owner" not in written[path]
        assert written[path]["content"] == content.add_subid_line(None, "alice", 100000, 65536)


USERADD = shutil.which("useradd")


def _image_root(tmp_path: Path, subids: str | None) -> Path:
    """/etc of a fresh cloud image: root only, /etc/subuid and /etc/subgid as SUBIDS (None: absent)."""
    etc = tmp_path / "root" / "etc"
    etc.mkdir(parents=True)
    shutil.copy("/etc/login.defs", etc / "login.defs")
    for name, text, mode in (("passwd", "root:x:0:0:root:/root:/bin/bash\n", 0o644), ("group", "root:x:0:\n", 0o644),
                             ("shadow", "root:*:19000:0:99999:7:::\n", 0o640), ("gshadow", "root:*::\n", 0o640)):
        (etc / name).write_text(text)
        (etc / name).chmod(mode)
    if subids is not None:
        for name in ("subuid", "subgid"):
            (etc / name).write_text(subids)
    return etc.parent


def _write(root: Path, entries) -> None:
    for entry in entries:
        if entry["path"] in ("/etc/subuid", "/etc/subgid"):
            (root / entry["path"].lstrip("/")).write_text(entry["content"])


@pytest.mark.skipif(os.geteuid() != 0 or not USERADD or not Path("/etc/login.defs").is_file(),
                    reason="needs root and shadow's useradd (Debian: passwd)")
@pytest.mark.parametrize("image_subids", ["", None])
def test_the_user_ends_with_exactly_the_range_host_setup_writes(tmp_path, image_subids):
    """cloud-init's stages with the real useradd (Debian 12: passwd 4.13) on a copy of /etc: write-files,
    users-groups (useradd), write-files-deferred. useradd appends a range after one that is already
    there (`alice:100000:65536` then `alice:165536:65536`), so the files must come after it."""
    data = cloud_init.cloud_config(vm.vm_config(user="alice", ssh_keys=(KEY,)))
    root = _image_root(tmp_path, image_subids)
    _write(root, [f for f in data["write_files"] if not f.get("defer")])
    result = subprocess.run([USERADD, "--prefix", str(root), "--no-create-home", "--shell", "/bin/bash", "alice"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    _write(root, [f for f in data["write_files"] if f.get("defer")])
    expected = content.add_subid_line(None, "alice", host_files.subid_start(), host_files.SUBID_COUNT)
    assert expected == "alice:100000:65536\n"
    assert (root / "etc/subuid").read_text() == expected
    assert (root / "etc/subgid").read_text() == expected


DPKG_QUERY = shutil.which("dpkg-query")


@pytest.mark.skipif(not DPKG_QUERY or not Path("/var/lib/dpkg/status").is_file(), reason="needs Debian's dpkg")
def test_the_data_disk_is_formatted_by_a_tool_every_debian_image_has_before_packages():
    """disk_setup runs in the init stage, before `packages`: the mkfs must come from a package of priority
    required (in every Debian image; e2fsprogs is, xfsprogs is optional). Otherwise cc_disk_setup logs
    "No mkfs.xfs command", the nofail mount times out and user@.service (RequiresMountsFor) never starts."""
    data = cloud_init.cloud_config(vm.vm_config(ssh_keys=(KEY,)))
    [fs] = data["fs_setup"]
    assert data["mounts"][0][2] == fs["filesystem"]
    tool = f"mkfs.{fs['filesystem']}"
    owner = subprocess.run(["dpkg", "-S", f"/sbin/{tool}"], capture_output=True, text=True, timeout=60)
    assert owner.returncode == 0, f"{tool} is installed by no package here: {owner.stderr.strip()}"
    package = owner.stdout.split(":", 1)[0]
    priority = subprocess.run([DPKG_QUERY, "-W", "-f", "${Priority}", package], capture_output=True, text=True,
                              timeout=60).stdout
    assert (package, priority) == ("e2fsprogs", "required")
    assert fs["filesystem"] not in data["packages"]
