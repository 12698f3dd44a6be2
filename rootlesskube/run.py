"""The one place a subprocess starts.

Every external command goes through `run()`: an argv list (never a shell
string), a timeout, the current environment plus explicit overrides, captured
output, and on failure a CommandError that carries argv, exit code, the tails
of stdout and stderr, and a hint when one is known.

This uses subprocess rather than plumbum's command objects on purpose: the
child runs in its own session so a timeout or an interrupt kills the whole
process group (a hung `kind create` leaves no orphaned children holding our
pipes), and the environment is read from os.environ at call time (plumbum's
`local.env` is a snapshot taken at import).
"""

from __future__ import annotations

import os
import select
import shlex
import shutil
import signal
import subprocess
import threading
import time
from typing import Callable, Iterable, List, Mapping, NamedTuple, Optional, Sequence

from .errors import RootlesskubeError

TAIL_LINES = 20
KILL_GRACE_SECONDS = 3.0

LineCallback = Callable[[str, str], None]
"""Called as on_line(stream, line) with stream "stdout" or "stderr"."""


class Result(NamedTuple):
    argv: tuple
    returncode: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _debug(message: str, *args) -> None:
    """Log at DEBUG (what -v prints). logging is imported here, after the first command has
    started: doctor's `podman info` starts through this module before anything else is imported."""
    import logging

    logging.getLogger("rootlesskube.run").debug(message, *args)


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def pretty(argv: Sequence[str]) -> str:
    """The command as a line a user can paste into a shell."""
    return shlex.join(str(a) for a in argv)


class CommandError(RootlesskubeError):
    """A command exited non-zero (or could not run); carries what it printed."""

    def __init__(
        self,
        argv: Sequence[str],
        returncode: Optional[int],
        stdout: str = "",
        stderr: str = "",
        hint: Optional[str] = None,
        message: Optional[str] = None,
    ):
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        if message is None:
            message = f"`{pretty(argv)}` failed with exit code {returncode}"
            output_tail = tail(stderr) or tail(stdout)
            if output_tail:
                message += ":\n" + _indent(output_tail)
        super().__init__(message, hint)


class CommandNotFound(CommandError):
    def __init__(self, name: str, hint: Optional[str] = None):
        path = os.environ.get("PATH", "")
        super().__init__(
            [name],
            None,
            hint=hint,
            message=f"`{name}` was not found on PATH ({path})",
        )


class CommandTimeout(CommandError):
    def __init__(self, argv, timeout, stdout, stderr, hint=None):
        message = f"`{pretty(argv)}` did not finish within {timeout:g}s and was stopped"
        output_tail = tail(stderr) or tail(stdout)
        if output_tail:
            message += "; its last output:\n" + _indent(output_tail)
        super().__init__(argv, None, stdout, stderr, hint=hint, message=message)
        self.timeout = timeout


class CommandCancelled(CommandError):
    """The caller asked run() to stop the command (its `cancel` event was set)."""

    def __init__(self, argv, stdout, stderr):
        super().__init__(argv, None, stdout, stderr, message=f"`{pretty(argv)}` was stopped")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def which(name: str) -> Optional[str]:
    """Resolve a program on the PATH as it is now (not as it was at import)."""
    return shutil.which(name, path=os.environ.get("PATH", os.defpath))


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Optional[Mapping[str, str]] = None,
    input: Optional[str] = None,
    cwd: Optional[str] = None,
    check: bool = True,
    hint: Optional[str] = None,
    not_found_hint: Optional[str] = None,
    on_line: Optional[LineCallback] = None,
    cancel: Optional[threading.Event] = None,
) -> Result:
    """Run argv to completion and return its Result.

    `env` is merged over the current environment. With `check`, a non-zero
    exit raises CommandError. `on_line` receives output lines as they arrive
    (for progress on long steps). A timeout, an interrupt or `cancel` being set
    (from another thread: a background pull that is no longer wanted) kills the
    command's whole process group before the exception propagates.
    """
    argv = [str(a) for a in argv]
    if not argv:
        raise ValueError("empty argv")
    program = argv[0] if os.sep in argv[0] else which(argv[0])
    if program is None:
        raise CommandNotFound(argv[0], hint=not_found_hint)
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            [program, *argv[1:]],
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise CommandError(argv, None, hint=hint, message=f"`{pretty(argv)}` could not start: {exc}") from None
    _debug("+ %s", pretty(argv))

    out: List[str] = []
    err: List[str] = []
    threads = [
        _reader(proc.stdout, out, "stdout", on_line),
        _reader(proc.stderr, err, "stderr", on_line),
    ]
    if input is not None:
        threads.append(_writer(proc.stdin, input))
    try:
        _wait(proc, timeout, cancel)
    except _Cancelled:
        _kill_group(proc)
        _join(threads)
        raise CommandCancelled(argv, "".join(out), "".join(err)) from None
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        _join(threads)
        raise CommandTimeout(argv, timeout, "".join(out), "".join(err), hint=hint) from None
    except BaseException:
        _kill_group(proc)
        _join(threads)
        raise
    _join(threads)
    result = Result(tuple(argv), proc.returncode, "".join(out), "".join(err), time.monotonic() - started)
    _debug("  exit %d after %.2fs", result.returncode, result.duration)
    if check and result.returncode != 0:
        raise CommandError(argv, result.returncode, result.stdout, result.stderr, hint=hint)
    return result


class _Cancelled(Exception):
    pass


CANCEL_POLL_SECONDS = 0.1


def _wait(proc: subprocess.Popen, timeout: float, cancel: Optional[threading.Event]) -> None:
    """Wait until proc exits, `timeout` passes (TimeoutExpired) or `cancel` is set (_Cancelled).

    Popen.wait(timeout) polls with sleeps of up to 50 ms, which a 150 ms
    `podman info` pays as a third more; a pidfd wakes us the moment the
    command exits. Without pidfd_open (Linux < 5.3) Popen's polling is used.
    """
    deadline = time.monotonic() + timeout
    pidfd = _pidfd(proc.pid)
    exited = select.poll()  # poll, not select: a pidfd above FD_SETSIZE (1024) is fine
    if pidfd is not None:
        exited.register(pidfd, select.POLLIN)
    try:
        while cancel is None or not cancel.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise subprocess.TimeoutExpired(proc.args, timeout)
            step = remaining if cancel is None else min(remaining, CANCEL_POLL_SECONDS)
            if pidfd is None:
                try:
                    proc.wait(timeout=step)
                    return
                except subprocess.TimeoutExpired:
                    continue
            if exited.poll(step * 1000):
                proc.wait()  # it has exited: this only reaps it
                return
        raise _Cancelled
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _pidfd(pid: int) -> Optional[int]:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # Python without it, or a kernel before 5.3
        return None


def _reader(stream, sink: List[str], name: str, on_line: Optional[LineCallback]) -> threading.Thread:
    from .ui import progress  # the live step display on a terminal shows the latest line

    owner = threading.get_ident()  # the thread that runs the command (its step shows the lines)

    def pump():
        with stream:
            for line in stream:
                sink.append(line)
                progress(line, owner)
                if on_line is not None:
                    on_line(name, line.rstrip("\n"))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def _writer(stream, data: str) -> threading.Thread:
    def feed():
        try:
            with stream:
                stream.write(data)
        except (BrokenPipeError, OSError):
            pass  # the command exited without reading all of its input

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    return thread


def _join(threads: Iterable[threading.Thread]) -> None:
    for thread in threads:
        thread.join(timeout=KILL_GRACE_SECONDS)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the command's process group, then SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=KILL_GRACE_SECONDS)
            if sig == signal.SIGTERM:
                # the leader is gone; make sure its children are too
                os.killpg(proc.pid, signal.SIGKILL)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return
