"""rootlesskube-host-setup: plan, apply, lab (plumbum.cli, through rootlesskube's error boundary)."""

from __future__ import annotations

import os
import sys
from typing import List, Tuple

from rootlesskube import __version__
from rootlesskube.cli import Command, Group, cli  # first: it keeps plumbum's import from running `uname -p`
from rootlesskube.drivers import DRIVERS
from rootlesskube.errors import EXIT_CODES_HELP, UsageError

PROG = "rootlesskube-host-setup"
SUBID_COUNT = 65536


def require_root(subcommand: str) -> None:
    if os.geteuid() != 0:
        from rootlesskube.host.fixes import ROOT_LINK

        raise UsageError(f"{PROG} {subcommand} changes system files and must run as root",
                         hint=f"run it with sudo: sudo {ROOT_LINK} {subcommand} ...   (installed root-owned, "
                              "as README.md's 'Preparing the host' shows)")
    from .selfcheck import refuse_unsafe_install

    refuse_unsafe_install(PROG)


class HostSetup(Group):
    PROGNAME = PROG
    VERSION = __version__
    DESCRIPTION = (
        "Prepare this host, as root, for rootless Kubernetes on rootless Podman: only what the "
        "doctor finds missing (cgroup delegation, kernel modules, sysctls, subuid/subgid, lingering, "
        "/dev/net/tun). `plan` shows every file and command; `apply` does it, atomically and idempotently."
    )
    DESCRIPTION_MORE = "\n".join("/ " + line for line in EXIT_CODES_HELP.splitlines())


class _ForUser(Command):
    user = cli.SwitchAttr("--user", str, argname="NAME", default=None,
                          help="the user to prepare the host for (default: the user who ran sudo, SUDO_USER)")
    driver = cli.SwitchAttr("--driver", cli.Set(*DRIVERS), default="kind",
                            help="the cluster tool the user will run (decides the kernel modules needed)")
    subid_count = cli.SwitchAttr("--subid-count", cli.Range(65536, 2 ** 31), default=SUBID_COUNT, argname="N",
                                 help="how many subordinate uids/gids a new range has")
    port_start = cli.SwitchAttr("--unprivileged-port-start", cli.Range(0, 65535), default=None, argname="PORT",
                                help="also let users bind host ports from PORT up (e.g. 80 for an ingress)")
    as_json = cli.Flag("--json", help="print the result as JSON on stdout")

    def planned(self) -> Tuple[str, "object", list]:
        import pwd

        from rootlesskube import names, ui
        from rootlesskube.host.view import HostView

        from .plan import Options, Target, build_plan

        name = self.user or os.environ.get("SUDO_USER")
        if not name:
            raise UsageError("no user to prepare the host for: SUDO_USER is not set",
                             hint=f"name the user: {PROG} {self.PROGNAME.split()[-1]} --user NAME")
        names.user_name(name)
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise UsageError(f"there is no user {name!r} on this host",
                             hint=f"create it first (useradd -m {name}) or name another with --user") from None
        if entry.pw_uid == 0:
            raise UsageError("the user to prepare must not be root", hint="name the unprivileged user with --user")
        from rootlesskube.host.doctor import run_doctor

        view = HostView("/")
        with ui.step(f"checking the host for {name} ({self.driver})"):
            report = run_doctor(view, name, self.driver)
        actions = build_plan(report.checks, view, Target(name, entry.pw_uid),
                             Options(self.subid_count, self.port_start))
        return name, view, actions


class Plan(_ForUser):
    """List each action with the check it fixes, its files, its commands, and what follows. Changes nothing."""

    DESCRIPTION = __doc__

    def main(self):
        from rootlesskube import ui

        from . import render

        require_root("plan")
        name, _, actions = self.planned()
        if self.as_json:
            ui.emit_json({"user": name, "actions": [a.as_dict() for a in actions]})
        else:
            sys.stdout.write(render.plan_text(actions, name))
        return 0


class Apply(_ForUser):
    """Apply the plan: asks first unless --yes; a second apply changes nothing and says so."""

    DESCRIPTION = __doc__
    yes = cli.Flag(["-y", "--yes"], help="do not ask for confirmation (needed when stdin is not a terminal)")
    packages = cli.Flag("--packages", help="also install podman, uidmap, slirp4netns, fuse-overlayfs (and runc)")
    kernel_cmdline = cli.Flag("--kernel-cmdline",
                              help="also change the boot loader's kernel command line (takes effect at reboot)")

    def main(self):
        from rootlesskube import ui

        from . import render
        from .apply import apply_plan, pending

        require_root("apply")
        name, view, actions = self.planned()
        switches = [s for s, on in (("--packages", self.packages), ("--kernel-cmdline", self.kernel_cmdline)) if on]
        todo = pending(actions, view, switches)
        if todo and not self.yes:
            confirm(f"{len(todo)} of {len(actions)} actions will change this host (see `{PROG} plan`). Apply?")
        outcomes = apply_plan(actions, view, switches)
        if self.as_json:
            ui.emit_json({"user": name, "changed": any(o.status == "changed" for o in outcomes),
                          "actions": [o.as_dict() for o in outcomes]})
        else:
            sys.stdout.write(render.outcomes_text(outcomes))
        return 0


def confirm(question: str) -> None:
    if not sys.stdin.isatty():
        raise UsageError("apply changes the host and asks first, but stdin is not a terminal",
                         hint="pass --yes to apply without asking")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise UsageError("not applied: the answer was not yes")


class Lab(Command):
    """Prepare a workshop host: create missing users, give each non-overlapping subuid/subgid
    ranges, lingering (where systemd runs) and its own block of host ports; write a roster."""

    DESCRIPTION = __doc__
    users = cli.SwitchAttr("--users", str, argname="A,B,C", default=None, help="the users, comma-separated")
    count = cli.SwitchAttr("--count", cli.Range(1, 1000), argname="N", default=None,
                           help="how many users, named PREFIX1..PREFIXN")
    prefix = cli.SwitchAttr("--prefix", str, default="student", help="the name prefix for --count")
    ports_per_user = cli.SwitchAttr("--ports-per-user", cli.Range(5, 1000), default=10, argname="K",
                                    help="host ports per user (Usernetes needs 6443, 10250, 2379, 8472/udp; "
                                         "kind and minikube an API port)")
    roster = cli.SwitchAttr("--roster", str, default="rootlesskube-lab.json", argname="FILE",
                            help="the roster to read and write: .json or .csv")
    subid_count = cli.SwitchAttr("--subid-count", cli.Range(65536, 2 ** 31), default=SUBID_COUNT, argname="N",
                                 help="how many subordinate uids/gids each user gets")
    yes = cli.Flag(["-y", "--yes"], help="do not ask for confirmation (needed when stdin is not a terminal)")
    as_json = cli.Flag("--json", help="print the roster as JSON on stdout")
    start_at_boot = cli.SwitchAttr("--start-at-boot", str, argname="CLUSTER", default=None,
                                   help="install and enable, for every user of the roster, the user unit that runs "
                                        "`rootlesskube start --name CLUSTER` at boot (lingering starts their manager; "
                                        "the unit expects rootlesskube in ~/.local/bin, as pipx puts it); "
                                        "'lab-{user}' names each user's cluster of the lab recipe")

    def main(self):
        from dataclasses import asdict
        from pathlib import Path

        from rootlesskube import ui
        from rootlesskube.host.view import HostView
        from rootlesskube.recipe import roster as roster_file

        from . import atomic, lab
        from .apply import run_command

        require_root("lab")
        wanted = lab.lab_users(self.users, self.count, self.prefix)
        if self.start_at_boot is not None:
            for name in wanted:  # every name checked before anything changes
                lab.boot_cluster(self.start_at_boot, name)
        roster_path = Path(self.roster)
        roster = roster_file.read_roster(roster_path)
        if not self.yes:
            confirm(f"Prepare {len(wanted)} lab users ({', '.join(wanted)})?")

        def create_user(name: str) -> None:
            # -K ...=0: host_setup picks the ranges itself, so they never overlap
            run_command(["useradd", "-m", "-s", "/bin/bash", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name])
            ui.say(f"created user {name}")

        view = HostView("/")
        with ui.step(f"preparing {len(wanted)} lab users"):
            result = lab.prepare_lab(view, wanted, roster, self.ports_per_user, self.subid_count,
                                     create_user, run_command)
        text = roster_file.roster_text(roster_path, result)
        atomic.replace_file(roster_path.resolve(), atomic.read_text(roster_path), text, mode=0o644)
        if self.as_json:
            ui.emit_json([asdict(a) for a in result])
        else:
            sys.stdout.write(_roster_table(result))
        ui.say(f"roster written to {roster_path}")
        if self.start_at_boot is not None:
            from . import facts

            for line in lab.start_at_boot(self.start_at_boot, result, facts.systemd_present(view)):
                ui.say(line)
        return 0


def _roster_table(rows: List["object"]) -> str:
    lines = [f"{'user':<20} {'uid':>6}  {'subuids':<24} {'subgids':<24} ports"]
    for a in rows:
        lines.append(f"{a.user:<20} {a.uid:>6}  {a.subuid_start}-{a.subuid_start + a.subuid_count - 1:<14} "
                     f"{a.subgid_start}-{a.subgid_start + a.subgid_count - 1:<14} {a.port_first}-{a.port_last}")
    return "\n".join(lines) + "\n"


HostSetup.subcommand("plan", "host_setup.cli.Plan")
HostSetup.subcommand("apply", "host_setup.cli.Apply")
HostSetup.subcommand("lab", "host_setup.cli.Lab")
