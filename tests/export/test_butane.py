from __future__ import annotations

import base64
import struct

import pytest
import yaml

from host_setup.plan import Options, Target, build_plan
from rootlesskube import __version__
from rootlesskube.errors import UsageError
from rootlesskube.export import butane, host_files, systemd_unit, vm
from rootlesskube.host import ids
from tests.export.butane_schema import validate
from tests.host_setup.trees import FEDORA, failing, tree


def public_key(kind: str, blob_kind: str = "", comment: str = "") -> str:
    """An OpenSSH public key line: TYPE base64(len TYPE, len key, key) COMMENT."""
    name = (blob_kind or kind).encode()
    blob = struct.pack(">I", len(name)) + name + struct.pack(">I", 32) + bytes(range(32))
    return f"{kind} {base64.b64encode(blob).decode()}" + (f" {comment}" if comment else "")


KEY = public_key("ssh-ed25519", comment="alice@laptop")


def config(**kwargs) -> dict:
    return butane.butane(vm.vm_config(ssh_keys=(KEY,), **kwargs))


def files_of(cfg: dict) -> dict:
    return {f["path"]: f for f in cfg["storage"]["files"]}


def test_the_validator_rejects_what_butane_strict_rejects():
    bad = {"variant": "fcos", "version": "1.5.0", "extra": 1,
           "storage": {"files": [{"path": "/a", "mode": "0644", "contents": {"inline": "x", "source": "data:,x"}},
                                 {"path": "/a"}],
                       "filesystems": [{"format": "xfs"}]},
           "systemd": {"units": [{"name": "noext", "dropins": [{"name": "x.txt"}]}]}}
    assert validate(bad) == [
        "$: unknown key 'extra'",
        "$.storage.files[0].mode: expected integer, got str '0644'",
        "$.storage.files[0].contents: source and inline are mutually exclusive",
        "$.storage.filesystems[0]: missing required key 'device'",
    ]
    bad = {"variant": "fcos", "version": "1.5.0", "storage": {"files": [{"path": "/a"}], "directories": [{"path": "/a"}]},
           "systemd": {"units": [{"name": "noext", "dropins": [{"name": "x.txt"}]}]}}
    assert validate(bad) == [
        "$.storage.directories[0].path: /a is also $.storage.files[0]",
        "$.systemd.units[0].name: 'noext' has no unit type suffix",
        "$.systemd.units[0].dropins: 'x.txt' must end with .conf",
    ]


@pytest.mark.parametrize("kwargs", [{}, {"recipe": "kind-pmm3-restricted"}, {"user": "alice", "data_disk": "/dev/sdb"}])
def test_the_config_is_valid_fcos_1_5_0_and_round_trips_through_yaml(kwargs):
    cfg = config(**kwargs)
    assert validate(cfg) == []
    assert (cfg["variant"], cfg["version"]) == ("fcos", "1.5.0")
    assert yaml.safe_load(butane.render(cfg)) == cfg


def test_host_files_are_what_host_setup_plan_writes_for_the_same_user(tmp_path):
    view = tree(tmp_path, {"/usr/sbin/usermod": None}, os_release=FEDORA)
    module_checks = [ids.MODULE_PREFIX + m for m in host_files.modules()]
    checks = failing(ids.CGROUP_DELEGATION, *module_checks, ids.SYSCTL_INOTIFY, ids.SYSCTL_KEYS, ids.SUBUID, ids.SUBGID)
    actions = build_plan(checks, view, Target("core", 1000), Options(unprivileged_port_start=443))
    planned = {w.path: (w.new, w.mode) for a in actions for w in a.writes}
    assert sorted(planned) == ["/etc/modules-load.d/rootlesskube.conf", "/etc/subgid", "/etc/subuid",
                               "/etc/sysctl.d/99-rootlesskube.conf",
                               "/etc/systemd/system/user@.service.d/delegate.conf"]
    written = files_of(config())
    for path, (text, mode) in planned.items():
        if path in ("/etc/subuid", "/etc/subgid"):
            continue  # Ignition's useradd gives the range (test_butane_keeps_the_subordinate_ids_useradd_gives)
        assert (written[path]["contents"]["inline"], written[path]["mode"]) == (text, mode), path
        assert written[path]["overwrite"] is True and "user" not in written[path]


@pytest.mark.parametrize("user", ["core", "alice"])
def test_butane_keeps_the_subordinate_ids_useradd_gives(user):
    """Fedora CoreOS's /etc/subuid holds `core:524288:65536` and Ignition's useradd gives every new user the
    next range (coreos/butane#494, coreos/fedora-coreos-tracker#2056 show `core:524288:65536` beside
    `mogeko:589824:65536`): a file with overwrite: true and only USER would drop core's range."""
    paths = files_of(config(user=user))
    assert "/etc/subuid" not in paths and "/etc/subgid" not in paths


def test_a_recipe_config_sets_no_privileged_port():
    sysctl = files_of(config(recipe="kind-pmm3-restricted"))["/etc/sysctl.d/99-rootlesskube.conf"]
    assert "ip_unprivileged_port_start" not in sysctl["contents"]["inline"]


def test_lingering_user_keys_and_no_password_anywhere():
    cfg = config(user="alice")
    assert cfg["passwd"] == {"users": [{"name": "alice", "ssh_authorized_keys": [KEY]}]}
    linger = files_of(cfg)["/var/lib/systemd/linger/alice"]
    assert linger == {"path": "/var/lib/systemd/linger/alice", "mode": 0o644, "overwrite": True,
                      "contents": {"inline": ""}}
    text = butane.render(cfg)
    assert "password_hash" not in text
    assert "pmm-server.env" not in [p.rsplit("/", 1)[-1] for p in files_of(cfg)]


def test_the_data_disk_is_partitioned_formatted_and_mounted_before_the_user_manager():
    cfg = config(data_disk="/dev/disk/by-id/virtio-pmm-data")
    assert cfg["storage"]["disks"] == [{"device": "/dev/disk/by-id/virtio-pmm-data", "wipe_table": False,
                                        "partitions": [{"number": 1, "label": "rk-data", "size_mib": 0}]}]
    assert cfg["storage"]["filesystems"] == [{"device": "/dev/disk/by-partlabel/rk-data", "format": "xfs",
                                              "path": "/var/lib/rootlesskube-data", "with_mount_unit": True}]
    assert cfg["systemd"]["units"] == [{"name": "user@.service", "dropins": [
        {"name": "rootlesskube-data.conf", "contents": "[Unit]\nRequiresMountsFor=/var/lib/rootlesskube-data\n"
                                                       "Wants=network-online.target\nAfter=network-online.target\n"}]}]


def test_no_user_unit_waits_for_network_online_target_which_a_user_manager_does_not_have():
    for kwargs in ({}, {"quadlet": False}, {"recipe": "kind-pmm3-restricted"}):
        user_files = [f for f in vm.vm_config(**kwargs).files if f.owner]
        assert user_files and not any("network-online" in f.contents for f in user_files)


def test_pmm_runs_as_a_quadlet_of_the_user_with_its_data_on_the_volume():
    cfg = config()
    quadlet = files_of(cfg)["/home/core/.config/containers/systemd/pmm-server.container"]
    spec = systemd_unit.pmm_spec(data_dir="/var/lib/rootlesskube-data/core/pmm")
    assert quadlet["contents"]["inline"] == systemd_unit.quadlet(spec)
    assert "Volume=/var/lib/rootlesskube-data/core/pmm:/srv:Z\n" in quadlet["contents"]["inline"]
    assert (quadlet["user"], quadlet["group"], quadlet["mode"]) == ({"name": "core"}, {"name": "core"}, 0o644)
    password = files_of(cfg)["/home/core/.config/systemd/user/pmm-server-password.service"]
    assert password["contents"]["inline"] == systemd_unit.password_unit()
    dirs = {d["path"]: (d["mode"], d["user"]["name"]) for d in cfg["storage"]["directories"]}
    # Ignition creates missing parents as root: every directory on the way to a user file is listed, owned by core.
    for path in ("/home/core/.config", "/home/core/.config/systemd", "/home/core/.config/systemd/user",
                 "/home/core/.config/containers", "/home/core/.config/containers/systemd"):
        assert dirs[path] == (0o755, "core")
    assert dirs["/var/lib/rootlesskube-data/core/pmm"] == (0o700, "core")


def test_a_recipe_runs_once_at_first_boot_instead_of_pmm():
    cfg = config(recipe="kind-pmm3-restricted")
    units = "/home/core/.config/systemd/user"
    unit = files_of(cfg)[f"{units}/rootlesskube-recipe.service"]["contents"]["inline"]
    venv = "%h/.local/share/rootlesskube/venv"
    assert [systemd_unit.split_exec(line.split("=", 1)[1]) for line in unit.splitlines()
            if line.startswith(("ExecStartPre=", "ExecStart="))] == [
        ["/usr/bin/python3", "-m", "venv", "--system-site-packages", "--without-pip", venv],
        [f"{venv}/bin/python3", "-m", "pip", "install", "--disable-pip-version-check", f"rootlesskube=={__version__}"],
        [f"{venv}/bin/rootlesskube", "tools", "install", "kind", "kubectl"],
        [f"{venv}/bin/rootlesskube", "run", "kind-pmm3-restricted"]]
    assert "ConditionPathExists=!%h/.local/state/rootlesskube/first-boot-kind-pmm3-restricted.done\n" in unit
    assert "\nDelegate=yes\n" in unit  # kind needs the cgroup controllers delegated to the unit
    assert "network-online" not in unit  # a user manager has no such target: user@.service waits for it
    assert cfg["storage"]["links"] == [{"path": f"{units}/default.target.wants/rootlesskube-recipe.service",
                                        "target": "../rootlesskube-recipe.service",
                                        "user": {"name": "core"}, "group": {"name": "core"}}]
    assert not any(p.endswith("pmm-server.container") for p in files_of(cfg))


def test_a_recipe_vm_layers_python_with_rpm_ostree_before_the_user_manager_starts():
    cfg = config(recipe="kind-pmm3-restricted")
    packages, user_at = cfg["systemd"]["units"]
    assert (packages["name"], packages["enabled"]) == ("rootlesskube-packages.service", True)
    text = packages["contents"]
    assert "ExecStart=/usr/bin/rpm-ostree install --apply-live --idempotent --allow-inactive python3 python3-pip\n" \
        in text
    assert "After=network-online.target systemd-machine-id-commit.service\nBefore=zincati.service\n" in text
    assert "ConditionPathExists=!/var/lib/%N.stamp\n" in text and "WantedBy=multi-user.target\n" in text
    dropin = user_at["dropins"][0]["contents"]
    assert dropin == ("[Unit]\nRequiresMountsFor=/var/lib/rootlesskube-data\nWants=network-online.target\n"
                      "After=network-online.target\nWants=rootlesskube-packages.service\n"
                      "After=rootlesskube-packages.service\n")
    assert [u["name"] for u in config()["systemd"]["units"]] == ["user@.service"]  # PMM alone needs no Python


@pytest.mark.parametrize("name", ["minikube-pmm3-restricted", "usernetes-pmm3-restricted", "lab"])
def test_a_recipe_a_new_vm_cannot_run_is_refused(name):
    with pytest.raises(UsageError, match=f"the recipe '{name}' cannot run on a new VM") as exc:
        config(recipe=name)
    assert exc.value.hint == "use one of: kind-pmm3-restricted, pmm2-negative-control"


def test_an_unknown_recipe_names_the_shipped_ones():
    with pytest.raises(UsageError, match="no shipped recipe named 'nope'") as exc:
        config(recipe="nope")
    assert "kind-pmm3-restricted" in exc.value.hint


@pytest.mark.parametrize("device", ["vdb", "/dev/../etc/passwd", "/dev/vdb;rm", "", "/dev/ vdb"])
def test_a_bad_device_is_refused(device):
    with pytest.raises(UsageError, match="is not a device path"):
        vm.data_device(device)


def test_a_bad_user_name_is_refused():
    with pytest.raises(UsageError, match="'Root/x' is not a valid user name"):
        vm.vm_config(user="Root/x")


def test_ssh_keys_come_from_a_public_key_file(tmp_path):
    good = tmp_path / "id.pub"
    rsa = public_key("ssh-rsa", comment="other key")
    good.write_text(f"# mine\n{KEY}\n\n{KEY}\n{rsa}\n")
    assert vm.read_ssh_keys(str(good)) == (KEY, rsa)


@pytest.mark.parametrize("text,message", [
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n", "is a private key"),
    ("", "holds no SSH public key"),
    ("ssh-ed25519 not base64!\n", "key 1 is not an OpenSSH public key"),
    (f"{KEY}\nssh-ed25519 AAAA\n", "key 2 is not an OpenSSH public key"),
    (public_key("ssh-rsa", blob_kind="ssh-ed25519") + "\n", "key 1 is not an OpenSSH public key"),
    (f"{KEY}\nrm -rf /\n", "key 2 is not an OpenSSH public key"),
])
def test_a_bad_ssh_key_file_is_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "key"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        vm.read_ssh_keys(str(path))


def test_a_missing_ssh_key_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="missing.pub: no such SSH public key$") as exc:
        vm.read_ssh_keys(str(tmp_path / "missing.pub"))
    assert exc.value.hint == "give the public key file, e.g. ~/.ssh/id_ed25519.pub"
