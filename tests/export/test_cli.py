from __future__ import annotations

import json

import pytest
import yaml

from rootlesskube.export import systemd_unit
from tests.export.butane_schema import validate
from tests.export.test_butane import KEY


def test_export_butane_writes_a_valid_config_to_a_file(cli, tmp_path):
    key = tmp_path / "id.pub"
    key.write_text(KEY + "\n")
    out = tmp_path / "vm.bu"
    code, stdout, stderr = cli("export", "butane", "--user", "alice", "--ssh-key", key, "--data-disk", "/dev/sdb",
                               "-o", out)
    assert (code, stdout) == (0, "")
    assert f"wrote {out}" in stderr
    config = yaml.safe_load(out.read_text())
    assert validate(config) == []
    assert config["passwd"]["users"] == [{"name": "alice", "ssh_authorized_keys": [KEY]}]


def test_export_butane_without_a_key_warns(cli):
    code, stdout, stderr = cli("export", "butane", "--recipe", "kind-pmm3-restricted")
    assert code == 0 and validate(yaml.safe_load(stdout)) == []
    assert "no --ssh-key: nobody can log in" in stderr


def test_bad_input_is_a_usage_error_with_a_hint(cli, tmp_path):
    private = tmp_path / "id"
    private.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    code, stdout, stderr = cli("export", "butane", "--ssh-key", private)
    assert (code, stdout) == (2, "")
    assert "is a private key" in stderr and "hint: give the public key instead" in stderr
    code, _, stderr = cli("export", "butane", "--user", "Bad User")
    assert code == 2 and "'Bad User' is not a valid user name" in stderr
    code, _, stderr = cli("export", "systemd-unit", "--pmm", "--classic", "--data-dir", "relative")
    assert code == 2 and "'relative' cannot be PMM's data directory" in stderr
    code, _, stderr = cli("export", "systemd-unit")
    assert code == 2 and "export systemd-unit needs --cluster NAME or --pmm" in stderr


def test_export_systemd_unit_json_classic(cli, podman_version):
    code, stdout, _ = cli("export", "systemd-unit", "--pmm", "--classic", "--port", "8443", "--json")
    assert code == 0
    data = json.loads(stdout)
    spec = systemd_unit.pmm_spec(host_port=8443)
    assert data == {"form": "classic", "files": [
        {"install_path": "~/.config/systemd/user/pmm-server.service", "contents": systemd_unit.classic_unit(spec)},
        {"install_path": "~/.config/systemd/user/pmm-server-password.service",
         "contents": systemd_unit.password_unit()}]}


@pytest.fixture
def podman_version(monkeypatch):
    """This host's Podman version as `export systemd-unit` reads it (no real podman runs)."""
    from rootlesskube.cli import export

    def set_version(version):
        monkeypatch.setattr(export, "_local_podman_version", lambda: version)
    set_version("5.4.2")
    return set_version


@pytest.mark.parametrize("form,args", [("quadlet", ["--quadlet"]), ("classic", ["--classic"]), ("quadlet", [])])
def test_export_systemd_unit_to_a_directory_puts_each_file_where_its_manager_reads_it(cli, tmp_path, podman_version,
                                                                                       form, args):
    """The user's Quadlet generator reads ~/.config/containers/systemd/, the user's systemd reads
    ~/.config/systemd/user/: the password unit beside the .container file would be `not found`."""
    home = tmp_path / "home"
    code, stdout, stderr = cli("export", "systemd-unit", "--pmm", *args, "-o", home)
    assert (code, stdout) == (0, "")
    spec = systemd_unit.pmm_spec()
    units = home / ".config/systemd/user"
    password = units / "pmm-server-password.service"
    if form == "quadlet":
        main, text, start = home / ".config/containers/systemd/pmm-server.container", systemd_unit.quadlet(spec), "start"
    else:
        main, text, start = units / "pmm-server.service", systemd_unit.classic_unit(spec), "enable --now"
    assert main.read_text() == text and password.read_text() == systemd_unit.password_unit()
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file()) == sorted(
        [str(main.relative_to(home)), str(password.relative_to(home))])
    assert f"wrote {main}\n" in stderr and f"wrote {password}\n" in stderr
    assert f"then: systemctl --user daemon-reload && systemctl --user {start} pmm-server\n" in stderr
    assert "ip_unprivileged_port_start=443" in stderr


@pytest.mark.parametrize("name", ["pmm-server.container", "pmm-server.service"])
def test_export_systemd_unit_refuses_a_unit_file_name_for_o(cli, tmp_path, podman_version, name):
    code, stdout, stderr = cli("export", "systemd-unit", "--pmm", "--quadlet", "-o", tmp_path / name)
    assert (code, stdout) == (2, "")
    assert f"error: -o {tmp_path / name} names a file; -o takes a directory" in stderr
    assert "hint: -o ~ installs for this user" in stderr
    assert list(tmp_path.iterdir()) == []


def test_quadlet_for_a_version_older_than_4_5_is_warned_with_the_reason(cli, podman_version):
    podman_version("4.4.4")
    code, stdout, stderr = cli("export", "systemd-unit", "--pmm", "--quadlet")
    assert code == 0 and "[Container]\nImage=" in stdout
    assert ("the Quadlet file needs Podman >= 4.5 on this host's Podman (4.4.4): 4.4's quadlet rejects UserNS= "
            "and has no Health* keys, so no pmm-server.service would be generated; use --classic here") in stderr
    podman_version("4.5.0")
    code, _, stderr = cli("export", "systemd-unit", "--pmm", "--quadlet")
    assert code == 0 and "needs Podman >= 4.5" not in stderr
    podman_version("4.4.4")
    code, stdout, stderr = cli("export", "systemd-unit", "--pmm")  # no --quadlet: the classic unit, silently
    assert code == 0 and "ExecStart=/usr/bin/podman run" in stdout and "needs Podman >= 4.5" not in stderr


def test_cloud_init_quadlet_warns_butane_does_not(cli):
    code, stdout, stderr = cli("export", "cloud-init", "--quadlet")
    assert code == 0 and "pmm-server.container" in stdout
    assert ("the Quadlet file needs Podman >= 4.5 on the VM's Podman (from its distribution's packages): 4.4's "
            "quadlet rejects UserNS=") in stderr
    assert "Debian 12 ships 4.3 and Ubuntu 22.04 3.4: leave out --quadlet for those" in stderr
    code, stdout, stderr = cli("export", "cloud-init")
    assert code == 0 and "Podman >= 4.5" not in stderr
    code, stdout, stderr = cli("export", "butane")  # Fedora CoreOS ships Podman 5
    assert code == 0 and "pmm-server.container" in stdout and "Podman >= 4.5" not in stderr


def test_export_cloud_init(cli):
    code, stdout, _ = cli("export", "cloud-init", "--user", "alice")
    assert code == 0 and stdout.startswith("#cloud-config\n")
    assert "/home/alice/.config/systemd/user/pmm-server.service" in stdout


def _recipe_unit(butane_text: str) -> str:
    files = yaml.safe_load(butane_text)["storage"]["files"]
    return next(f["contents"]["inline"] for f in files if f["path"].endswith("/rootlesskube-recipe.service"))


def test_a_recipe_vm_installs_rootlesskube_from_where_it_is_told(cli):
    code, stdout, _ = cli("export", "butane", "--recipe", "kind-pmm3-restricted")
    assert code == 0 and " rootlesskube==" in _recipe_unit(stdout)
    source = "git+https://git.example/rootlesskube@v0.1.0"
    code, stdout, _ = cli("export", "butane", "--recipe", "kind-pmm3-restricted", "--rootlesskube-from", source)
    assert code == 0 and f"--disable-pip-version-check {source}\n" in _recipe_unit(stdout)


def test_rootlesskube_from_is_one_pip_word_and_goes_with_recipe(cli):
    for bad in ("-e .", "--index-url=http://x", "a b"):
        code, stdout, stderr = cli("export", "butane", "--recipe", "kind-pmm3-restricted", "--rootlesskube-from", bad)
        assert (code, stdout) == (2, "") and "is not something pip can install rootlesskube from" in stderr
    code, stdout, stderr = cli("export", "cloud-init", "--rootlesskube-from", "rootlesskube==0.1.0")
    assert (code, stdout) == (2, "") and "--rootlesskube-from goes with --recipe" in stderr
