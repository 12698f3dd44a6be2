"""The error hierarchy and the documented exit codes.

Every expected failure is a RootlesskubeError; the CLI boundary prints its
message (and hint) and exits with its code. Nothing else calls sys.exit.
"""

from __future__ import annotations

from typing import Optional

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_HOST_NOT_READY = 3
EXIT_VERIFICATION_FAILED = 4
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
Exit codes:
  0    success
  1    failure (a command failed, a cluster could not be created, ...)
  2    bad usage or input (unknown switch, invalid name, malformed file)
  3    host not ready (doctor found a failing check)
  4    verification failed (not rootless, PMM not healthy, a manifest rejected)
  130  interrupted (Ctrl-C or SIGTERM)"""


class RootlesskubeError(Exception):
    """An expected failure: a message for the user, an optional hint, an exit code."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(RootlesskubeError):
    """Bad command-line usage or bad input (a name, a file, a value)."""

    exit_code = EXIT_USAGE


class HostNotReady(RootlesskubeError):
    exit_code = EXIT_HOST_NOT_READY


class VerificationFailed(RootlesskubeError):
    exit_code = EXIT_VERIFICATION_FAILED


class Interrupted(RootlesskubeError):
    """Raised by the SIGTERM handler, so `finally` blocks clean up as on Ctrl-C."""

    exit_code = EXIT_INTERRUPTED
