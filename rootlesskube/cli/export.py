"""`rootlesskube export`: configs for hosts that do not exist yet (Butane, cloud-init) and PMM's user unit."""

from __future__ import annotations

from plumbum import cli

from . import Command, Group

PORT_HELP = "host port for PMM's HTTPS (8443 in the container); below 1024 the config sets ip_unprivileged_port_start"


class Export(Group):
    DESCRIPTION = ("Write what a new or existing host needs to run rootless: a Butane config for Fedora CoreOS, a "
                   "cloud-config for cloud-init distributions, or PMM 3's rootless Podman user unit. Nothing on "
                   "this host is changed.")


class _VmOptions(Command):
    user = cli.SwitchAttr(["--user"], str, argname="NAME", default="core",
                          help="the user that runs the containers (Fedora CoreOS's login user is core)")
    ssh_key = cli.SwitchAttr(["--ssh-key"], str, argname="FILE",
                             help="an OpenSSH public key file (e.g. ~/.ssh/id_ed25519.pub) whose keys may log in")
    recipe = cli.SwitchAttr(["--recipe"], str, argname="NAME",
                            help="run this shipped kind recipe at first boot instead of PMM 3: the VM gets python3 "
                                 "(Fedora CoreOS: rpm-ostree, applied live), a venv with rootlesskube "
                                 "(see --rootlesskube-from) and the pinned kind and kubectl")
    rootlesskube_from = cli.SwitchAttr(["--rootlesskube-from"], str, argname="SPEC", default=None,
                                       help="with --recipe: what the VM pip-installs rootlesskube from, a "
                                            "requirement, a wheel URL or git+https://... (default: this release, "
                                            "rootlesskube==VERSION, from PyPI)")
    data_disk = cli.SwitchAttr(["--data-disk"], str, argname="DEVICE", default="/dev/vdb",
                               help="the disk for persistent data: partitioned once, never wiped, mounted at "
                                    "/var/lib/rootlesskube-data")
    port = cli.SwitchAttr(["--port"], cli.Range(1, 65535), argname="PORT", default=443, help=PORT_HELP)
    output = cli.SwitchAttr(["-o", "--output"], str, argname="FILE", help="write to FILE (default: stdout)")

    def vm_config(self, quadlet: bool = True):
        from .. import inputs, ui
        from ..export import vm

        if self.output:  # before any work: nothing is read or rendered for an output that cannot be written
            inputs.check_output(self.output, "output file (-o)")
        keys = vm.read_ssh_keys(self.ssh_key) if self.ssh_key else ()
        if not keys:
            ui.warn("no --ssh-key: nobody can log in to this VM (it has no password either)")
        if self.rootlesskube_from and not self.recipe:
            from ..errors import UsageError

            raise UsageError("--rootlesskube-from goes with --recipe", hint="a PMM VM does not install rootlesskube")
        return vm.vm_config(self.user, keys, self.data_disk, recipe=self.recipe, host_port=self.port, quadlet=quadlet,
                            rootlesskube_from=self.rootlesskube_from or vm.PIP_REQUIREMENT)

    def write(self, text: str) -> None:
        import sys
        from pathlib import Path

        from .. import ui

        if self.output:
            Path(self.output).write_text(text, encoding="utf-8")
            ui.say(f"wrote {self.output}")
        else:
            sys.stdout.write(text)


class ExportButane(_VmOptions):
    DESCRIPTION = ("Write a Butane config (variant fcos, version 1.5.0) for a new Fedora CoreOS VM: the user (its "
                   "subuid/subgid range is the one Ignition's useradd gives it), the cgroup delegation, modules-load and sysctl files that "
                   "rootlesskube-host-setup writes, lingering, a persistent data volume, and PMM 3 as a rootless "
                   "Podman Quadlet of that user with its data on the volume (or, with --recipe, that recipe at "
                   "first boot). Turn it into Ignition with `butane --strict`.")
    DESCRIPTION_MORE = ("PMM's admin password is generated on the VM at first start into "
                        "~/.config/pmm-server/pmm-server.env (mode 0600); it is never in the config.")

    def main(self):
        from ..export import butane

        self.write(butane.render(butane.butane(self.vm_config())))
        return 0


class ExportCloudInit(_VmOptions):
    DESCRIPTION = ("Write a cloud-config with the same user, host files, data volume (ext4 here) and PMM 3 user "
                   "unit as `export butane`, for distributions that boot with cloud-init; /etc/subuid and "
                   "/etc/subgid are written after the user exists. The unit is a classic one (any Podman >= 4.3) "
                   "unless --quadlet is given (Podman >= 4.5).")

    quadlet = cli.Flag(["--quadlet"], help="install a Quadlet .container file instead of a classic unit "
                                           "(the VM's Podman must be >= 4.5)")

    def main(self):
        from .. import ui
        from ..export import cloud_init, systemd_unit

        if self.quadlet:
            ui.warn(systemd_unit.QUADLET_TOO_OLD.format(what="the VM's Podman (from its distribution's packages)")
                    + "; Debian 12 ships 4.3 and Ubuntu 22.04 3.4: leave out --quadlet for those")
        self.write(cloud_init.render(cloud_init.cloud_config(self.vm_config(quadlet=self.quadlet))))
        return 0


class ExportSystemdUnit(Command):
    DESCRIPTION = ("Write a user unit for an existing host. --cluster NAME: rootlesskube-cluster-NAME.service, which "
                   "starts that cluster when the user's manager starts (at boot, with lingering: rootless Podman "
                   "restarts no container by itself) and stops it at shutdown. --pmm: PMM 3's rootless Podman unit, "
                   "a Quadlet .container file where "
                   "this host's Podman has Quadlet's health-check keys (>= 4.5), a classic unit running "
                   "`podman run --rm --replace` otherwise, plus the oneshot unit that generates the admin password "
                   "into an env file (mode 0600) at first start.")
    DESCRIPTION_MORE = ("Install: `-o ~` writes the Quadlet file to ~/.config/containers/systemd/ and the .service "
                        "files to ~/.config/systemd/user/ (any other -o DIR gets the same subpaths); then "
                        "`systemctl --user daemon-reload` and `systemctl --user enable --now pmm-server` (classic) or "
                        "`start` (Quadlet). `loginctl enable-linger` keeps it running without a login.")

    pmm = cli.Flag(["--pmm"], excludes=["--cluster"], help="the PMM 3 Server unit")
    cluster = cli.SwitchAttr(["--cluster"], str, argname="NAME",
                             help="instead of PMM: a unit that runs `rootlesskube start --name NAME` when your user "
                                  "manager starts (at boot, with lingering) and `rootlesskube stop` when it stops")
    quadlet = cli.Flag(["--quadlet"], excludes=["--classic"], help="write a Quadlet file whatever Podman is here")
    classic = cli.Flag(["--classic"], help="write a classic unit whatever Podman is here")
    port = cli.SwitchAttr(["--port"], cli.Range(1, 65535), argname="PORT", default=443, help=PORT_HELP)
    data_dir = cli.SwitchAttr(["--data-dir"], str, argname="DIR", default="%h/.local/share/pmm-server",
                              help="PMM's data directory on the host (%h: the user's home)")
    output = cli.SwitchAttr(["-o", "--output"], str, argname="DIR",
                            help="write each file under DIR where its manager reads it: DIR/.config/containers/"
                                 "systemd/ (Quadlet), DIR/.config/systemd/user/ (units); -o ~ installs them "
                                 "(default: stdout)")
    json = cli.Flag(["--json"], help="print the files (path, contents) as JSON")

    def main(self):
        import sys

        from .. import ui
        from ..errors import UsageError
        from ..export import systemd_unit

        if self.cluster is None and not self.pmm:
            raise UsageError("export systemd-unit needs --cluster NAME or --pmm",
                             hint="--cluster NAME: start your cluster at boot; --pmm: PMM 3 as a rootless Podman unit")
        if self.cluster is not None:
            return self.cluster_unit(systemd_unit)
        data_dir = _data_dir(self.data_dir)  # every input is checked before podman runs
        out = _output_dir(self.output) if self.output else None
        version = None if self.classic else _local_podman_version()
        use_quadlet = self.quadlet or (not self.classic and systemd_unit.prefer_quadlet(version))
        if self.quadlet and version is not None and not systemd_unit.prefer_quadlet(version):
            ui.warn(systemd_unit.QUADLET_TOO_OLD.format(what=f"this host's Podman ({version})")
                    + "; use --classic here")
        spec = systemd_unit.pmm_spec(data_dir=data_dir, host_port=self.port)
        if use_quadlet:
            main_file = (f"~/{systemd_unit.QUADLET_DIR}/pmm-server.container", systemd_unit.quadlet(spec))
        else:
            main_file = (f"~/{systemd_unit.USER_UNIT_DIR}/pmm-server.service", systemd_unit.classic_unit(spec))
        password_file = (f"~/{systemd_unit.USER_UNIT_DIR}/{systemd_unit.PASSWORD_UNIT}", systemd_unit.password_unit())
        files = [main_file, password_file]
        if self.port < 1024:
            from ..host.fixes import HOST_SETUP  # the root part, installed root-owned (README "Preparing the host")

            ui.say(f"port {self.port} needs `sysctl net.ipv4.ip_unprivileged_port_start={self.port}` "
                   f"({HOST_SETUP} --unprivileged-port-start {self.port})")
        if out is not None:
            for install_path, text in files:
                target = out / install_path[2:]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                ui.say(f"wrote {target}")
            start = "start" if use_quadlet else "enable --now"
            ui.say(f"then: systemctl --user daemon-reload && systemctl --user {start} pmm-server")
        if self.json:
            ui.emit_json({"form": "quadlet" if use_quadlet else "classic",
                          "files": [{"install_path": p, "contents": text} for p, text in files]})
        elif not self.output:
            sys.stdout.write("\n".join(f"# {path}\n{text}" for path, text in files))
        return 0


    def cluster_unit(self, systemd_unit) -> int:
        import os
        import sys
        from pathlib import Path

        from .. import cluster, paths, ui
        from ..run import which

        unit_name = systemd_unit.cluster_unit_name(self.cluster)  # the name checked before anything is written
        out = _output_dir(self.output) if self.output else None
        if cluster.load_record(self.cluster) is None:
            ui.warn(f"rootlesskube has no cluster named {self.cluster!r} yet: the unit does nothing until "
                    f"`rootlesskube up --name {self.cluster}` creates it")
        home = str(Path.home())
        found = which("rootlesskube")
        program = _in_home(found, home) if found else systemd_unit.ROOTLESSKUBE_PIPX
        environment = [("ROOTLESSKUBE_HOME", os.environ["ROOTLESSKUBE_HOME"])] if os.environ.get("ROOTLESSKUBE_HOME") else []
        text = systemd_unit.cluster_unit(self.cluster, program, _in_home(str(paths.state_dir()), home), environment)
        install_path = f"~/{systemd_unit.USER_UNIT_DIR}/{unit_name}"
        if out is not None:
            target = out / install_path[2:]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            ui.say(f"wrote {target}")
            ui.say(f"then: systemctl --user daemon-reload && systemctl --user enable {unit_name}; and once, as root: "
                   f"loginctl enable-linger {os.environ.get('USER') or 'USER'} (your manager then starts at boot)")
        if self.json:
            ui.emit_json({"form": "cluster", "files": [{"install_path": install_path, "contents": text}]})
        elif not self.output:
            sys.stdout.write(f"# {install_path}\n{text}")
        return 0


def _in_home(path: str, home: str) -> str:
    """PATH with the home folder as systemd's %h, so the unit reads the same for the user's manager."""
    return "%h" + path[len(home):] if home != "/" and (path == home or path.startswith(home + "/")) else path


def _data_dir(value: str) -> str:
    from ..errors import UsageError

    if not (value.startswith("/") or value.startswith("%h/")) or any(c in value for c in ":\n\"'\\ "):
        raise UsageError(f"{value!r} cannot be PMM's data directory",
                         hint="give an absolute path or %h/PATH without ':', quotes, spaces or backslashes")
    return value


def _output_dir(value: str):
    """-o DIR: a directory (created when missing), not a unit file name."""
    from pathlib import Path

    from .. import inputs
    from ..errors import UsageError

    out = Path(value).expanduser()
    if out.suffix in (".container", ".service") or (out.exists() and not out.is_dir()):
        raise UsageError(f"-o {value} names a file; -o takes a directory that gets each file in its manager's subpath",
                         hint="-o ~ installs for this user (~/.config/containers/systemd/, ~/.config/systemd/user/); "
                              "-o DIR writes the same subpaths under DIR")
    inputs.check_output_dir(str(out), "output folder (-o)")
    return out


def _local_podman_version():
    """This host's Podman version, or None when there is no usable podman (then: a classic unit)."""
    from .. import ui
    from ..errors import RootlesskubeError
    from ..podman import Podman

    try:
        return Podman(timeout=30).version()
    except (RootlesskubeError, ValueError, KeyError) as exc:
        ui.say(f"cannot read the Podman version ({exc}): writing a classic unit")
        return None


Export.subcommand("butane", ExportButane)
Export.subcommand("cloud-init", ExportCloudInit)
Export.subcommand("systemd-unit", ExportSystemdUnit)
