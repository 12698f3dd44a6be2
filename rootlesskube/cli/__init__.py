"""The command-line interface: one module per command group, loaded lazily.

`Command` is the base of every (sub)command: it turns plumbum's switch errors
into our UsageError, so they reach the one error boundary in
rootlesskube.__main__ (stderr, exit 2) instead of being printed to stdout.
"""

from __future__ import annotations

import platform
import re


def _skip_uname_p() -> None:
    """Importing plumbum reads platform.uname()[0]; indexing that result makes Python
    (3.9+) fill its lazy `processor` field by running `uname -p`: a process started
    outside run.py, 10 ms of every command's start. Nothing reads the processor."""
    result = platform.uname()
    vars(result).setdefault("processor", "")


_skip_uname_p()

from plumbum import cli  # noqa: E402
from plumbum.cli.application import ShowCompletion, ShowHelp, ShowHelpAll, ShowVersion  # noqa: E402
from plumbum.cli.switches import SwitchError  # noqa: E402

from .. import __version__  # noqa: E402
from ..errors import EXIT_CODES_HELP, UsageError  # noqa: E402

_PASS_THROUGH = (ShowHelp, ShowHelpAll, ShowVersion, ShowCompletion)


class Command(cli.Application):
    """Base class: usage errors become UsageError with a pointer to --help.

    A command's DESCRIPTION may be a paragraph: its first sentence is what the
    parent's list of subcommands shows, the rest is shown by the command's own
    --help.
    """

    SUBCOMMAND_HELPMSG = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        text = cls.__dict__.get("DESCRIPTION")
        if text and "DESCRIPTION_MORE" not in cls.__dict__:
            first, sep, rest = " ".join(text.split()).partition(". ")
            if sep:
                cls.DESCRIPTION, cls.DESCRIPTION_MORE = first + ".", rest

    # plumbum binds -v to --version in every subcommand; here -v means verbose everywhere
    @cli.switch(["--version"], overridable=True, group="Meta-switches", help="Prints the program's version and quits")
    def version(self):
        super().version()

    @cli.switch(["-v", "--verbose"], help="print every external command as it runs, and tracebacks of internal errors")
    def verbose(self):
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(message)s")

    def __init__(self, executable):
        super().__init__(executable)
        # plumbum keeps the built-in version switch whose names we rebound above;
        # --help would list it as a nameless line
        self._switches_by_func = {
            func: info for func, info in self._switches_by_func.items()
            if any(self._switches_by_name.get(name) is info for name in info.names)
        }

    def _usage_error(self, exc: Exception) -> UsageError:
        return UsageError(_switch_message(str(exc)), hint=f"see '{self.PROGNAME} --help'")

    # plumbum catches SwitchError around these two and prints to stdout;
    # re-raise as our own error so the CLI boundary reports it on stderr.
    def _parse_args(self, argv):
        try:
            return super()._parse_args(argv)
        except _PASS_THROUGH:
            raise
        except SwitchError as exc:
            raise self._usage_error(exc) from None

    @staticmethod
    def _handle_argument(val, argtype, name):
        if isinstance(val, str):
            switch = name if name.isupper() else ("-" if len(name) == 1 else "--") + name
            _check_value(val, switch)
            # int() takes '٣' and 4,000-digit numbers; only plain ASCII numbers are numbers here
            if (argtype is int or isinstance(argtype, cli.Range)) and not re.fullmatch(r"-?[0-9]{1,18}", val):
                expected = f"in {argtype}" if isinstance(argtype, cli.Range) else "a whole number"
                raise UsageError(f"{switch} must be {expected}, not {val[:40]!r}", hint="give a plain decimal number")
        return cli.Application._handle_argument(val, argtype, name)

    def _validate_args(self, swfuncs, tailargs):
        import inspect

        params = [p.name.upper() for p in inspect.signature(self.main).parameters.values()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
        for position, value in enumerate(tailargs):
            name = params[min(position, len(params) - 1)] if params else ""
            _check_value(value, f"the {name} argument" if name else f"argument {position + 1}")
        try:
            return super()._validate_args(swfuncs, tailargs)
        except _PASS_THROUGH:
            raise
        except SwitchError as exc:
            raise self._usage_error(exc) from None


def _check_value(value: str, what: str) -> None:
    """No value on the command line is empty (it would silently mean the default) or holds a
    control character (a trailing newline would pass a `$`-anchored check further on)."""
    if value == "":
        raise UsageError(f"{what} is empty", hint="give a value, or leave the switch out for its default")
    bad = next((c for c in value if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise UsageError(f"{what} {value[:60]!r} holds the control character {bad!r}",
                         hint="remove it (a trailing newline from a pasted value is the usual cause)")


def _switch_message(text: str) -> str:
    """plumbum's "Argument of NAME expected to be TYPE, not 'X':" plus the ValueError's repr,
    as one line that names the switch; other switch errors as they are."""
    match = re.match(r"Argument of (\S+) expected to be (.*), not (.*?):?$", text.splitlines()[0])
    if not match:
        return text
    name, expected, value = match.groups()
    kind = {"{": "one of ", "[": "in "}.get(expected[:1], "")  # a Set's choices, a Range's bounds
    return f"{'-' if len(name) == 1 else '--'}{name} must be {kind}{expected}, not {value}"


class Group(Command):
    """A command that only holds subcommands (`ns`, `pss`, `pmm`, ...)."""

    def main(self, *args):
        if args:
            raise UsageError(f"unknown subcommand {args[0]!r}", hint=f"see '{self.PROGNAME} --help'")
        if not self.nested_command:
            names = ", ".join(sorted(self._subcommands))
            raise UsageError(f"{self.PROGNAME} needs a subcommand: {names}", hint=f"see '{self.PROGNAME} --help'")
        return 0


class Rootlesskube(Group):
    PROGNAME = "rootlesskube"
    VERSION = __version__
    DESCRIPTION = (
        "Bootstrap a rootless local Kubernetes environment on rootless Podman, "
        "and prove that it is rootless."
    )
    DESCRIPTION_MORE = "\n".join("/ " + line for line in EXIT_CODES_HELP.splitlines())


# One line per command group; the module is imported only when it is used.
Rootlesskube.subcommand("verify", "rootlesskube.cli.verify.Verify")
Rootlesskube.subcommand("pss", "rootlesskube.cli.pss.Pss")
Rootlesskube.subcommand("ns", "rootlesskube.cli.ns.Ns")
Rootlesskube.subcommand("up", "rootlesskube.cli.cluster.Up")
Rootlesskube.subcommand("down", "rootlesskube.cli.cluster.Down")
Rootlesskube.subcommand("status", "rootlesskube.cli.cluster.Status")
Rootlesskube.subcommand("stop", "rootlesskube.cli.cluster.Stop")
Rootlesskube.subcommand("start", "rootlesskube.cli.cluster.Start")
Rootlesskube.subcommand("tools", "rootlesskube.cli.tools.Tools")
Rootlesskube.subcommand("doctor", "rootlesskube.cli.doctor.Doctor")
Rootlesskube.subcommand("run", "rootlesskube.cli.recipes.Run")
Rootlesskube.subcommand("recipes", "rootlesskube.cli.recipes.Recipes")
Rootlesskube.subcommand("pmm", "rootlesskube.cli.pmm.Pmm")
Rootlesskube.subcommand("export", "rootlesskube.cli.export.Export")
