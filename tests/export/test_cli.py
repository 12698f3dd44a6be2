from __future__ import annotations

import json

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
    assert code == 2 and "--pmm is mandatory" in stderr


def test_export_systemd_unit_json_classic(cli):
    code, stdout, _ = cli("export", "systemd-unit", "--pmm", "--classic", "--port", "8443", "--json")
    assert code == 0
    data = json.loads(stdout)
    spec = systemd_unit.pmm_spec(host_port=8443)
    assert data == {"form": "classic", "files": [
        {"install_path": "~/.config/systemd/user/pmm-server.service", "contents": systemd_unit.classic_unit(spec)},
        {"install_path": "~/.config/systemd/user/pmm-server-password.service",
         "contents": systemd_unit.password_unit()}]}


def test_export_systemd_unit_quadlet_to_a_file_writes_the_password_unit_beside_it(cli, tmp_path):
    out = tmp_path / "pmm-server.container"
    code, stdout, stderr = cli("export", "systemd-unit", "--pmm", "--quadlet", "-o", out)
    assert (code, stdout) == (0, "")
    assert out.read_text() == systemd_unit.quadlet(systemd_unit.pmm_spec())
    assert (tmp_path / "pmm-server-password.service").read_text() == systemd_unit.password_unit()
    assert "ip_unprivileged_port_start=443" in stderr


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
