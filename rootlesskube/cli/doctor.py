"""`rootlesskube doctor`: what the host lacks for a rootless cluster, and the command that fixes it."""

from __future__ import annotations

import os

from plumbum import cli

from ..drivers import DEFAULT_DRIVER, DRIVERS
from ..errors import EXIT_HOST_NOT_READY, EXIT_OK, UsageError
from . import Command

STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def default_user() -> str:
    """The invoking user: under sudo, the user who ran sudo."""
    import pwd

    if os.geteuid() == 0 and os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]
    return pwd.getpwuid(os.getuid()).pw_name


class Doctor(Command):
    DESCRIPTION = (
        "Check this host for a rootless cluster: user namespaces, cgroup v2 and delegation, kernel "
        "modules, subordinate ids, devices, Podman and the driver's tools, sysctls, limits, the login "
        "session and resources. Prints every check with what it found and where, and for anything "
        "not passing the exact fix for this distribution. Exit 0 when ready, 3 when a check fails, "
        "2 for bad input."
    )

    driver = cli.SwitchAttr(["--driver"], cli.Set(*DRIVERS), default=DEFAULT_DRIVER, envname="ROOTLESSKUBE_DRIVER",
                            help="the cluster tool to check for (env ROOTLESSKUBE_DRIVER)")
    user = cli.SwitchAttr(["--user"], str, argname="NAME",
                          help="the user who will run the cluster (default: you; under sudo, SUDO_USER)")
    host_root = cli.SwitchAttr(["--host-root"], str, argname="DIR",
                               help="read host files under DIR instead of / (a mounted image or chroot); "
                                    "checks that need the running host are skipped")
    json = cli.Flag(["--json"], help="print the report as JSON on stdout")

    def main(self):
        from ..host.doctor import run_doctor
        from ..host.view import HostView

        root = self.host_root or "/"
        if not os.path.isdir(root):
            raise UsageError(f"--host-root {root}: no such directory",
                             hint="pass the directory where the host's file system is mounted")
        report = run_doctor(HostView(root), self.user or default_user(), self.driver.lower())
        if self.json:
            from .. import ui

            ui.emit_json(report.as_dict())
        else:
            render(report)
        return EXIT_OK if report.ready else EXIT_HOST_NOT_READY


def render(report) -> None:
    """The report table, the fixes, and a one-line verdict, on stdout."""
    from rich.table import Table
    from rich.text import Text

    from .. import ui

    out = ui.console(stderr=False)
    table = Table(title=f"rootlesskube doctor: {report.driver} for {report.user} on {report.host['os']}",
                  title_justify="left")
    table.add_column("status")
    table.add_column("check")
    table.add_column("found")
    for check in report.checks:
        table.add_row(Text(check.status, style=STATUS_STYLE[check.status]), check.id,
                      Text(f"{check.title}: {check.detail}"))
    out.print(table)
    to_fix = [c for c in report.checks if c.fix and c.status in ("fail", "warn")]
    if to_fix:
        out.print(Text("Fixes", style="bold"))
        for check in to_fix:
            out.print(Text(f"[{check.status}] {check.id}", style=STATUS_STYLE[check.status]))
            out.print(Text("    " + check.fix.replace("\n", "\n    ")))
    failing = report.failing()
    if failing:
        verdict = (f"not ready: {len(failing)} check(s) fail ({', '.join(c.id for c in failing)}); "
                   "apply the fixes above, then run `rootlesskube doctor` again")
        out.print(Text(verdict, style="bold red"))
        from ..host.next_step import next_lines

        out.print(Text("\n".join(next_lines(report.checks, getattr(report, "host", {}).get("root", "/"))), style="bold"))
    else:
        warned = sum(c.status == "warn" for c in report.checks)
        out.print(Text(f"ready: this host can run {report.driver} rootless for {report.user}"
                       + (f" ({warned} warning(s))" if warned else ""), style="bold green"))
