from __future__ import annotations

import yaml

from rootlesskube.export import cloud_init, vm
from tests.export.test_butane import KEY


def config(**kwargs) -> dict:
    return cloud_init.cloud_config(vm.vm_config(ssh_keys=(KEY,), **kwargs))


def test_it_is_a_cloud_config_with_the_vm_files_and_key_only_login():
    model = vm.vm_config(user="alice", ssh_keys=(KEY,))
    text = cloud_init.render(cloud_init.cloud_config(model))
    assert text.startswith("#cloud-config\n")
    data = yaml.safe_load(text)
    assert data["users"] == [{"name": "alice", "shell": "/bin/bash", "lock_passwd": True, "ssh_authorized_keys": [KEY]}]
    written = {f["path"]: f for f in data["write_files"]}
    for f in model.files:
        entry = written[f.path]
        assert (entry["content"], entry["permissions"]) == (f.contents, f"{f.mode:04o}")
        assert entry.get("owner") == (f"{f.owner}:{f.owner}" if f.owner else None)
        assert entry.get("defer") == (True if f.owner or f.path in ("/etc/subuid", "/etc/subgid") else None)
    assert written["/etc/systemd/system/user@.service.d/rootlesskube-data.conf"]["content"] == model.user_dropin
    assert "\npasswd:" not in text and "hashed_passwd" not in text and "plain_text_passwd" not in text


def test_directories_links_and_lingering_are_argv_lists_in_runcmd():
    data = config(user="alice", quadlet=False)
    units = "/home/alice/.config/systemd/user"
    assert ["install", "-d", "-m", "0755", "-o", "alice", "-g", "alice", units] in data["runcmd"]
    assert ["ln", "-sfn", "../pmm-server.service", f"{units}/default.target.wants/pmm-server.service"] in data["runcmd"]
    assert data["runcmd"][-1] == ["loginctl", "enable-linger", "alice"]
    assert all(isinstance(cmd, list) and all(isinstance(a, str) for a in cmd) for cmd in data["runcmd"])


def test_the_data_disk_is_formatted_once_and_mounted():
    data = config(data_disk="/dev/sdb")
    assert data["disk_setup"] == {"/dev/sdb": {"table_type": "gpt", "layout": True, "overwrite": False}}
    assert data["fs_setup"] == [{"label": "rk-data", "filesystem": "ext4", "device": "/dev/sdb", "partition": "auto",
                                 "overwrite": False}]
    assert data["mounts"] == [["LABEL=rk-data", "/var/lib/rootlesskube-data", "ext4", "defaults,nofail", "0", "2"]]


def test_a_recipe_vm_gets_python_from_packages_and_no_rpm_ostree_unit():
    data = config(recipe="kind-pmm3-restricted")
    assert data["packages"] == ["podman", "python3", "python3-pip"]
    assert "rpm-ostree" not in cloud_init.render(data)
    dropin = {f["path"]: f for f in data["write_files"]}["/etc/systemd/system/user@.service.d/rootlesskube-data.conf"]
    assert "After=network-online.target\n" in dropin["content"]
    # the user's manager, and with it the recipe unit, starts when runcmd enables lingering: after `packages`
    assert data["runcmd"][-1] == ["loginctl", "enable-linger", "core"]
    assert config()["packages"] == ["podman"]
