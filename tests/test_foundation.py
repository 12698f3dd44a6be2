"""The command runner, the error boundary, names and private files."""

from __future__ import annotations

import stat
import subprocess
import sys
import time

import pytest

from rootlesskube import names, paths
from rootlesskube import run as runner
from rootlesskube.errors import UsageError


def test_run_captures_stdout_stderr_and_exit_code():
    result = runner.run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"],
                        timeout=10, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_run_raises_command_error_with_argv_exit_and_stderr_tail():
    with pytest.raises(runner.CommandError) as info:
        runner.run([sys.executable, "-c", "import sys; sys.stderr.write('boom\\n'); sys.exit(7)"], timeout=10,
                   hint="try again")
    err = info.value
    assert err.returncode == 7 and err.argv[0] == sys.executable
    assert "failed with exit code 7" in str(err) and "boom" in str(err) and err.hint == "try again"


def test_run_feeds_stdin():
    result = runner.run([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"], timeout=10,
                        input="abc")
    assert result.stdout == "ABC\n"


def test_missing_binary_is_command_not_found():
    with pytest.raises(runner.CommandNotFound) as info:
        runner.run(["rk-no-such-binary"], timeout=5, not_found_hint="install it")
    assert "rk-no-such-binary" in str(info.value) and info.value.hint == "install it"


def test_timeout_kills_the_whole_process_group(tmp_path):
    marker = tmp_path / "child.pid"
    script = f"sleep 300 & echo $! > {marker}; echo started; wait"
    started = time.monotonic()
    with pytest.raises(runner.CommandTimeout) as info:
        runner.run(["bash", "-c", script], timeout=1)
    assert time.monotonic() - started < 10
    assert "did not finish within 1s" in str(info.value) and "started" in str(info.value)
    child = int(marker.read_text())
    assert _gone(child)


def test_cancel_from_another_thread_kills_the_whole_process_group(tmp_path):
    import threading

    marker, cancel = tmp_path / "child.pid", threading.Event()
    script = f"sleep 300 & echo $! > {marker}; wait"
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(runner.CommandCancelled) as info:
        runner.run(["bash", "-c", script], timeout=60, cancel=cancel)
    assert time.monotonic() - started < 10 and "was stopped" in str(info.value)
    assert _gone(int(marker.read_text()))


def test_an_unset_cancel_changes_nothing():
    import threading

    result = runner.run([sys.executable, "-c", "print('done')"], timeout=10, cancel=threading.Event())
    assert result.stdout == "done\n"


def _gone(pid: int) -> bool:
    """True once pid has exited (a zombie waiting for a reaper counts as gone)."""
    import psutil

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_on_line_streams_output():
    seen = []
    runner.run([sys.executable, "-c", "print('a'); print('b')"], timeout=10, on_line=lambda stream, line: seen.append((stream, line)))
    assert seen == [("stdout", "a"), ("stdout", "b")]


def test_env_override_reaches_the_command():
    result = runner.run([sys.executable, "-c", "import os; print(os.environ['RK_X'])"], timeout=10, env={"RK_X": "1"})
    assert result.stdout.strip() == "1"


@pytest.mark.parametrize("good", ["a", "rk-dev", "x1", "a" * 63])
def test_valid_dns_labels(good):
    assert names.dns1123_label(good) == good


@pytest.mark.parametrize("bad", ["", "A", "-x", "x-", "a_b", "a.b", "--help", "../etc", "a" * 64, "a b"])
def test_invalid_dns_labels(bad):
    with pytest.raises(UsageError):
        names.dns1123_label(bad, "cluster name")


@pytest.mark.parametrize("bad", ["", "Root", "-x", "a/b", "x" * 33, "a b", "1abc"])
def test_invalid_user_names(bad):
    with pytest.raises(UsageError):
        names.user_name(bad)


def test_write_private_is_0600_and_atomic(tmp_path):
    target = tmp_path / "dir" / "kubeconfig"
    paths.write_private(target, "secret")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.read_text() == "secret"
    assert [p.name for p in target.parent.iterdir()] == ["kubeconfig"]


def test_exclusive_lock_refuses_a_second_holder(tmp_path):
    lock = tmp_path / "x.lock"
    with paths.exclusive_lock(lock, "cluster x"):
        with pytest.raises(Exception, match="already working on cluster x"):
            with paths.exclusive_lock(lock, "cluster x"):
                pass


def test_version_fast_path():
    out = subprocess.run([sys.executable, "-m", "rootlesskube", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("rootlesskube ")


def test_help_lists_exit_codes(cli):
    code, out, err = cli("--help")
    assert code == 0 and "host not ready" in out and "130" in out


def test_unknown_switch_is_usage_error_on_stderr(cli):
    code, out, err = cli("--no-such-switch")
    assert code == 2 and out == "" and "no-such-switch" in err


def test_unknown_subcommand_is_usage_error(cli):
    code, out, err = cli("frobnicate")
    assert code == 2 and out == "" and "frobnicate" in err


def test_subcommand_list_shows_first_sentences_and_v_is_verbose(cli):
    code, out, _ = cli("--help")
    assert code == 0
    assert "Prove that a container, or a process tree, runs rootless." in " ".join(out.split())
    assert "each offending process named" not in " ".join(out.split())  # the rest of verify's description stays in its own --help
    code, out, _ = cli("verify", "--help")
    assert "each offending process named" in " ".join(out.split())
    assert "-v, --verbose" in out and "-v, --version" not in out


@pytest.mark.parametrize("argv", [["--help"], ["doctor", "--help"], ["verify", "--help"]])
def test_help_lists_the_version_switch_once(cli, argv):
    # plumbum keeps its own -v/--version switch after we rebind both names; it must not show as a nameless line
    code, out, _ = cli(*argv)
    assert code == 0 and out.count("Prints the program's version and quits") == 1 and "    --version " in out


AUDIT_SCRIPT = """
import os, sys, traceback, runpy
strays = []
def hook(event, args):
    if event in ("subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.system", "os.fork"):
        stack = "".join(traceback.format_stack())
        if os.path.join("rootlesskube", "run.py") not in stack:
            strays.append(f"{event} {args!r}\\n{stack}")
sys.addaudithook(hook)
sys.argv = sys.argv[1:]
try:
    runpy.run_module(sys.argv[0], run_name="__main__")
finally:
    print("".join(strays), file=sys.stderr, end="")
    print(len(strays), file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["rootlesskube", "doctor", "--json"], ["rootlesskube", "--help"],
                                  ["rootlesskube", "pss", "check", "-f", "-"], ["host_setup", "--help"]])
def test_every_process_starts_in_run_py(argv):
    # also what libraries start on our behalf: plumbum's import would run `uname -p`
    result = subprocess.run([sys.executable, "-c", AUDIT_SCRIPT, *argv], capture_output=True, text=True,
                            input="apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n",
                            timeout=120)
    assert result.stderr.rstrip().splitlines()[-1] == "0", result.stderr


@pytest.mark.parametrize(("argv", "message"), [
    (["doctor", "--driver", "k3d"], "error: --driver must be one of {kind, minikube, usernetes}, not 'k3d'"),
    (["up", "--api-port", "99999"], "error: --api-port must be in [0..65535], not '99999'"),
    (["pmm", "deploy", "--wait", "10x"], "error: --wait must be a duration such as 90s, 10m or 1h, not '10x'"),
])
def test_a_bad_switch_value_is_one_line_naming_the_switch(cli, argv, message):
    code, out, err = cli(*argv)
    assert (code, out) == (2, "") and err.splitlines()[0] == message and "ValueError" not in err
