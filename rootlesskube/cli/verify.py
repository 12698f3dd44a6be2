"""`rootlesskube verify`: prove that a container (or a process tree) runs rootless."""

from __future__ import annotations

from plumbum import cli

from . import Command


class Verify(Command):
    DESCRIPTION = (
        "Prove that a container, or a process tree, runs rootless. For every process "
        "(the container's tree, its conmon and its network helper) it reads the host "
        "uids and gids (real, effective, saved), the user namespace and its uid_map. "
        "Rootless means: no host uid or gid 0; every id is the user's own or in the "
        "user's /etc/subuid and /etc/subgid ranges; the container's processes run in "
        "a user namespace (not the identity map); container uid 0 is the user's uid. "
        "Exit 0 rootless, 4 not rootless (each offending process named), 1 could not tell."
    )

    container = cli.SwitchAttr(["--container"], str, argname="NAME", excludes=["--pid"],
                               help="the running container to verify (podman runs as you)")
    pid = cli.SwitchAttr(["--pid"], cli.Range(1, 4194304), argname="PID",  # the kernel's largest pid_max
                         help="verify this process and every descendant (as container processes)")
    user = cli.SwitchAttr(["--user"], str, argname="NAME",
                          help="whose uid and subordinate ids count as rootless (default: you)")
    json = cli.Flag(["--json"], help="print the proof as JSON on stdout (same records as the table)")

    def main(self):
        from .. import ui
        from ..errors import UsageError, VerificationFailed
        from ..podman import Podman, container_ref
        from ..verify import UserIds, verify_container, verify_pid

        if self.container is None and self.pid is None:
            raise UsageError("verify needs --container NAME or --pid PID", hint="see 'rootlesskube verify --help'")
        if self.user is not None:
            from ..names import user_name

            user_name(self.user)
        user = UserIds.lookup(self.user)
        if self.container is not None:
            container_ref(self.container)
            with ui.step(f"reading the processes of container {self.container}", quiet=self.json):
                proof = verify_container(Podman(), self.container, user)
        else:
            proof = verify_pid(self.pid, user)

        if self.json:
            ui.emit_json(proof.as_dict())
        else:
            _print_table(proof)
            print(proof.verdict_line())
        if not proof.rootless:
            raise VerificationFailed(
                proof.verdict_line(),
                hint="run the cluster with rootless Podman as an unprivileged user "
                     "(`rootlesskube doctor` shows what the host lacks)",
            )
        return 0


def _ids(values) -> str:
    """real,effective,saved; one number when all three agree."""
    shown = ["-" if v is None else str(v) for v in values]
    return shown[0] if len(set(shown)) == 1 else ",".join(shown)


def _print_table(proof) -> None:
    from rich.table import Table

    from .. import ui

    table = Table(title=f"{proof.subject}, user {proof.user.name} (uid {proof.user.uid})")
    for column in ("pid", "role", "command", "host uids", "container uids", "verdict"):
        table.add_column(column, overflow="fold")
    for rec in proof.records:
        table.add_row(str(rec.pid), rec.role, rec.command, _ids(rec.host_uids), _ids(rec.container_uids),
                      rec.verdict if not rec.reasons else f"{rec.verdict}: {'; '.join(rec.reasons)}")
    ui.console(stderr=False).print(table, markup=False)
