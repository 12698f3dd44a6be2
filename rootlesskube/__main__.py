"""Entry point and the one error boundary of the CLI.

No traceback reaches a user for an expected failure: RootlesskubeError and
its subclasses are printed (message and hint) and mapped to their exit code;
Ctrl-C and SIGTERM exit 130; anything else is an internal error, whose
traceback is shown only with -v or ROOTLESSKUBE_DEBUG=1.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import List, Optional

from . import __version__


def main(argv: Optional[List[str]] = None) -> None:
    sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(args: List[str]) -> int:
    if args in (["--version"], ["-V"]):
        # fast path: importing the CLI framework costs more than the whole answer
        print(f"rootlesskube {__version__}")
        return 0
    from .host import early

    early.start(args)  # doctor's slow `podman info` starts now and runs while the CLI is imported
    from .cli import Rootlesskube

    return guarded(Rootlesskube, "rootlesskube", args)


def guarded(app_cls, prog: str, args: List[str]) -> int:
    """Run a plumbum application (a rootlesskube.cli.Command) inside the error boundary."""
    from .errors import EXIT_FAILURE, EXIT_INTERRUPTED, Interrupted, RootlesskubeError

    def on_sigterm(signum, frame):
        raise Interrupted("interrupted by SIGTERM")

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    debug = "-v" in args or "--verbose" in args or os.environ.get("ROOTLESSKUBE_DEBUG") == "1"
    try:
        _, code = app_cls.run([prog, *args], exit=False)
        sys.stdout.flush()
        return code
    except RootlesskubeError as exc:
        from . import ui

        ui.error(str(exc), exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILURE
    except Exception as exc:  # the boundary: anything unexpected is an internal error
        if debug:
            import traceback

            traceback.print_exc()
        print(
            f"internal error: {type(exc).__name__}: {exc}\n"
            f"This is a bug in {prog}; rerun with -v for the traceback and report it.",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
