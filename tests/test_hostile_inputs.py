"""Hostile input, as a careless or malicious user gives it (issue 17).

The contract for rejected input: exit 2, one `error:` line naming the problem (and at most one
`hint:` line), no traceback, no internal error, nothing written, and quickly. Hypothesis
generates the values: for every parser (YAML, JSON, manifests, recipes, rosters) and for
every switch and argument of the CLI. A FIFO is given to the real CLI in a subprocess with
a timeout, since a blocking open would hang the test itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rootlesskube import inputs
from rootlesskube.errors import UsageError
from rootlesskube.pss.manifests import load_text
from rootlesskube.recipe import load as recipe
from rootlesskube.recipe import roster_check
from rootlesskube.recipe.roster import COLUMNS

REPO = Path(__file__).resolve().parents[1]
TIME_BOUND = 5.0  # seconds for one parse or one rejected command (generous: 2 shared cores)
CLI_CASES = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
"""Enough examples that every switch in the lists below is drawn (they are cheap: exit 2 early)."""
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - {name: c, image: nginx}\n"

# --- generated YAML and JSON ---------------------------------------------------------------------
_FRAGMENTS = ["a: 1\n", "a: 1\n", "- x\n", "? [1, 2]\n: 3\n", "&a [x, x]\n", "*a\n", "!!python/object:os.system x\n",
              "!!int abc\n", "!!timestamp 2020-99-99\n", "!!binary '%%'\n", "!foo x\n", "9" * 5000 + "\n",
              "---\n", "kind: {a: 1}\n", "kind: [Pod]\n", "metadata: [x]\n", "{" * 200, "[" * 200, "\"\\x\"\n",
              "\t- x\n", "\0\n", "\ud800\n", "key: value # comment\n", "<<: *a\n", "%YAML 1.1\n", "\x85\n",
              "r: &r [*r]\n", "&m {x: *m}\n", "s: &s {<<: *s}\n"]


def _laughs(levels: int, width: int) -> str:
    lines = ["l0: &l0 [lol, lol]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


hostile_yaml = st.one_of(
    st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=8).map("".join),
    st.text(max_size=300),
    st.integers(65, 3000).map(lambda n: "a:\n" + "".join("  " * i + "b:\n" for i in range(1, n))),
    st.integers(65, 100_000).map(lambda n: "[" * n + "]" * n),
    st.tuples(st.integers(3, 12), st.integers(2, 12)).map(lambda lw: _laughs(*lw)),
)
hostile_json = st.one_of(
    st.integers(65, 100_000).map(lambda n: "[" * n),
    st.integers(65, 2000).map(lambda n: "[" * n + "]" * n),
    st.integers(65, 6000).map(lambda n: "1" * n),
    st.just('{"kind": "Pod", "kind": "Job"}'),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                 lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                 max_leaves=20).map(json.dumps),
)


def _bounded(call, *args):
    """call(*args): a value or a UsageError with a one-line message, within the time bound (a hang is
    cut by an alarm, so it fails the test instead of stopping the suite)."""
    import signal

    def too_slow(signum, frame):
        raise TimeoutError(f"still running after {2 * TIME_BOUND:.0f} s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(int(2 * TIME_BOUND))
    started = time.monotonic()
    try:
        call(*args)
    except UsageError as exc:
        assert "\n" not in str(exc), str(exc)
        assert exc.exit_code == 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < TIME_BOUND


@FAST
@given(text=hostile_yaml)
def test_yaml_is_parsed_within_bounds_or_refused_with_file_line_col(text):
    _bounded(inputs.load_yaml_all, text, "f.yaml")


@FAST
@given(text=st.one_of(hostile_yaml, hostile_json))
def test_manifests_yield_documents_or_one_usage_error(text):
    _bounded(load_text, text, "m.yaml")


@FAST
@given(text=hostile_json)
def test_json_is_parsed_within_bounds(text):
    _bounded(inputs.load_json, text, "f.json")


@FAST
@given(text=st.one_of(hostile_yaml, st.sampled_from([
    "apiVersion: rootlesskube.dev/v1alpha1\nkind: Recipe\nmetadata: {name: r}\ncluster: {name: c, driver: kind, "
    "workers: !!int abc}\n",
    "apiVersion: rootlesskube.dev/v1alpha1\nkind: Recipe\nmetadata: {name: r}\nmetadata: {name: s}\n",
    "apiVersion: rootlesskube.dev/v1alpha1\nkind: Recipe\nmetadata: {name: r}\ncluster: {name: c, driver: kind}\n"
    "timeouts: {ready: !!int 1.5}\n",
    "apiVersion: rootlesskube.dev/v1alpha1\nkind: Recipe\nmetadata: {name: \"r\\n\"}\ncluster: {name: c, "
    "driver: kind}\n",
])))
def test_recipes_parse_or_name_the_problem(text, tmp_path_factory):
    _bounded(recipe.parse, text, str(tmp_path_factory.getbasetemp() / "r.yaml"))


_ROW = dict(zip(COLUMNS, ["ana", 1001, 100000, 65536, 100000, 65536, 20000, 20004]))
_row_values = st.one_of(st.integers(-2**70, 2**70), st.floats(), st.text(max_size=8), st.none(), st.booleans(),
                        st.lists(st.integers(), max_size=2), st.just(0), st.just(70000), st.just("root"))


@FAST
@given(rows=st.lists(st.fixed_dictionaries({}, optional={c: _row_values for c in COLUMNS}).map(
    lambda changes: {**_ROW, **changes}), min_size=1, max_size=4), as_csv=st.booleans())
def test_rosters_are_read_as_a_whole_or_refused(rows, as_csv, tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / ("r.csv" if as_csv else "r.json")
    if as_csv:
        path.write_text(",".join(COLUMNS) + "\n" + "".join(",".join(str(r[c]) for c in COLUMNS) + "\n" for r in rows))
    else:
        path.write_text(json.dumps(rows, indent=2))

    def read():
        roster_check.check_rows(roster_check.read_rows(str(path), "csv" if as_csv else "json", COLUMNS))

    _bounded(read)


@pytest.mark.parametrize("rows, problem", [
    ([_ROW, {**_ROW, "uid": 1002, "subuid_start": 200000, "subgid_start": 200000, "port_first": 20010,
             "port_last": 20014}], ":12:3: the user 'ana' is listed twice (also at "),
    ([_ROW, {**_ROW, "user": "bob", "subuid_start": 200000, "subgid_start": 200000, "port_first": 20010,
             "port_last": 20014}], ":12:3: uid 1001 is given to two users"),
    ([_ROW, {**_ROW, "user": "bob", "uid": 1002, "subuid_start": 200000, "subgid_start": 200000,
             "port_first": 20004, "port_last": 20010}], ":12:3: the port block of 'bob' overlaps another user's"),
    ([_ROW, {**_ROW, "user": "bob", "uid": 1002, "subgid_start": 200000, "port_first": 20010,
             "port_last": 20014}], ":12:3: the subuid range of 'bob' overlaps another user's"),
    ([{**_ROW, "port_first": 20004, "port_last": 20000}], ":2:3: the port block 20004-20000 is not within"),
    ([{**_ROW, "port_last": 70000}], ":2:3: the port block 20000-70000 is not within"),
    ([{**_ROW, "uid": 0}], ":2:3: the lab user 'ana' has uid 0 (root)"),
    ([{**_ROW, "uid": 1001.0}], ":2:3: uid is '1001.0', not a whole number"),
    ([{**_ROW, "user": ["ana"]}], ":2:3: user is a list, not a name"),
])
def test_roster_collisions_are_named_with_file_line_col(tmp_path, rows, problem):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(rows, indent=2))
    with pytest.raises(UsageError) as info:
        roster_check.check_rows(roster_check.read_rows(str(path), "json", COLUMNS))
    assert str(info.value).startswith(str(path) + problem), str(info.value)


def test_a_roster_that_is_a_symlink_or_has_a_huge_csv_field_is_refused(tmp_path):
    link = tmp_path / "r.csv"
    link.symlink_to("/etc/shadow")
    with pytest.raises(UsageError, match=r"r.csv: the roster is a symbolic link$"):
        roster_check.read_rows(str(link), "csv", COLUMNS)
    big = tmp_path / "big.csv"
    big.write_text(",".join(COLUMNS) + "\n\"" + "x" * 200_000 + "\",1,1,1,1,1,1,1\n")
    with pytest.raises(UsageError, match=r"big.csv:\d+:1: not valid CSV \(field larger than field limit"):
        roster_check.read_rows(str(big), "csv", COLUMNS)


# --- the CLI, in process ------------------------------------------------------------------------
def _tree(root: Path) -> dict:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if not p.is_symlink()}


@pytest.fixture
def rejected(cli, tmp_path, monkeypatch):
    """invoke(*args): assert the contract for rejected input and return stderr's error line."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # a command started by mistake fails (exit 1), nothing real runs
    monkeypatch.chdir(tmp_path)

    def invoke(*args):
        before = _tree(tmp_path)
        started = time.monotonic()
        code, out, err = cli(*args)
        elapsed = time.monotonic() - started
        lines = err.splitlines()
        assert code == 2, (args, code, err)
        assert lines and lines[0].startswith("error: ") and len(lines) <= 2, (args, err)
        assert len(lines) == 1 or lines[1].startswith("hint: "), (args, err)
        assert "Traceback" not in err and "internal error" not in err
        assert out == ""
        assert _tree(tmp_path) == before, f"{args} wrote a file"
        assert elapsed < TIME_BOUND, (args, elapsed)
        return lines[0]

    return invoke


def _with_bad_char(base: str):
    return st.tuples(st.integers(0, len(base)), st.sampled_from(["\n", "\r", "\0", "\t", "\x1b", "\x7f"])).map(
        lambda ic: base[:ic[0]] + ic[1] + base[ic[0]:])


blank_or_control = st.one_of(st.just(""), _with_bad_char("lab1"), _with_bad_char("rootlesskube"))

# every switch and argument that takes a value, with what else the command needs to get that far
SWITCHES = [
    ("verify", "--container", "{}"), ("verify", "--pid", "{}"), ("verify", "--pid", "1", "--user", "{}"),
    ("up", "--name", "{}"), ("up", "--kubernetes", "{}"), ("up", "--node-image", "{}"),
    ("up", "--usernetes-dir", "{}"), ("up", "--driver", "usernetes", "--join", "{}"), ("up", "--api-port", "{}"),
    ("down", "--name", "{}"), ("status", "--name", "{}"),
    ("tools", "install", "--base-url", "{}", "kind"), ("tools", "install", "kind", "{}"),
    ("run", "{}", "--dry-run"), ("run", "--junit", "{}", "--dry-run"), ("recipes", "show", "{}"),
    ("pss", "check", "-f", "{}"), ("pss", "check", "-f", "p.yaml", "--level", "{}"),
    ("pss", "check", "-f", "p.yaml", "--version", "{}"), ("pss", "check", "-f", "p.yaml", "--namespace-labels-from", "{}"),
    ("pss", "fix", "-f", "{}"), ("pss", "fix", "-f", "p.yaml", "--level", "{}"), ("pss", "fix", "-f", "p.yaml", "-o", "{}"),
    ("ns", "apply", "{}", "--enforce", "restricted"), ("ns", "apply", "team", "--enforce", "{}"),
    ("ns", "show", "--kubeconfig", "{}"), ("ns", "show", "--cluster", "{}"),
    ("doctor", "--user", "{}"), ("doctor", "--host-root", "{}"),
    ("export", "butane", "--user", "{}"), ("export", "butane", "--ssh-key", "{}"),
    ("pmm", "deploy", "-n", "{}"), ("pmm", "verify", "--cluster", "{}"),
    ("pmm", "deploy", "--wait", "{}"), ("pmm", "deploy", "--image-archive", "{}"), ("pmm", "verify", "--kubeconfig", "{}"),
    ("export", "butane", "-o", "{}"), ("export", "systemd-unit", "--pmm", "--data-dir", "{}"),
    ("export", "systemd-unit", "--pmm", "-o", "{}"),
]


@CLI_CASES
@given(case=st.sampled_from(SWITCHES), value=blank_or_control)
def test_no_switch_takes_an_empty_value_or_a_control_character(rejected, tmp_path, case, value):
    (tmp_path / "p.yaml").write_text(POD) if not (tmp_path / "p.yaml").exists() else None
    rejected(*[value if part == "{}" else part for part in case])


# switch-specific values that are wrong though printable
SPECIFIC = [
    (("verify", "--pid", "{}"), st.sampled_from(["1180591620717411303424", "0", "-1", "4194305", "1e3", "٣"])),
    (("up", "--api-port", "{}"), st.sampled_from(["70000", "-1", "9" * 30])),
    (("up", "--name", "{}"), st.sampled_from(["RK", "a" * 64, "-rk", "rk-", "a_b", "a" * 5000])),
    (("up", "--driver", "usernetes", "--join", "{}"),
     st.sampled_from(["a b@c", "user@host:99999", "user@host:0", "-oProxyCommand=x", "u@", "@h", "u@h:", "u@h:x",
                      "u@h@i", "U$@h"])),
    (("down", "--name", "{}"), st.sampled_from(["Bad", "a/b", "..", "a" * 64])),
    (("status", "--name", "{}"), st.sampled_from(["Bad", "a/b", ".."])),
    (("tools", "install", "--base-url", "{}", "kind"),
     st.sampled_from(["https://exa mple.org", "ftp://example.org", "http://", "https://h:99999/", "example.org",
                      "https://[::1", "file:///etc"])),
    (("tools", "install", "kind", "{}"), st.sampled_from(["bogus", "KIND", "../kind"])),
    (("pss", "check", "-f", "p.yaml", "--level", "{}"), st.sampled_from(["strict", "Restricted", " restricted"])),
    (("pss", "check", "-f", "p.yaml", "--version", "{}"), st.sampled_from(["v1." + "9" * 5000, "v01.2", "1.25"])),
    (("pss", "fix", "-f", "p.yaml", "--level", "{}"), st.sampled_from(["privileged", "strict"])),
    (("pss", "fix", "-f", "p.yaml", "-o", "{}"),
     st.sampled_from(["missing/out.yaml", ".", "sub", "/dev/full", "x" * 5000 + ".yaml", "sub/"])),
    (("run", "{}", "--dry-run"), st.sampled_from(["x" * 5000 + ".yaml", "missing.yaml", "no-such-recipe", "sub"])),
    (("run", "--junit", "{}", "--dry-run"), st.sampled_from(["sub", "/dev/full"])),
    (("verify", "--pid", "1", "--user", "{}"), st.sampled_from(["Bad", "a" * 40, "-x"])),
    (("pmm", "deploy", "--wait", "{}"), st.sampled_from(["9" * 400 + "h", "999999999h", "0s", "25h", " 90s", "1.5m"])),
    (("pmm", "deploy", "--image-archive", "{}"), st.sampled_from(["missing.tar", "sub", "/dev/zero"])),
    (("pmm", "verify", "--kubeconfig", "{}"), st.sampled_from(["missing.yaml", "sub", "/dev/zero"])),
    (("export", "butane", "--ssh-key", "{}"), st.sampled_from(["missing.pub", "sub", "/dev/zero", "p.yaml"])),
    (("export", "cloud-init", "-o", "{}"), st.sampled_from(["missing/out.yaml", "sub", "/dev/full", "sub/"])),
    (("export", "systemd-unit", "--pmm", "--data-dir", "{}"), st.sampled_from(["relative", "%h", "/a b", "~/x"])),
    (("export", "systemd-unit", "--pmm", "-o", "{}"), st.sampled_from(["p.yaml/sub", "/dev/full", "x.service"])),
]


@CLI_CASES
@given(data=st.data())
def test_wrong_values_are_refused_before_any_work(rejected, tmp_path, data):
    (tmp_path / "p.yaml").write_text(POD) if not (tmp_path / "p.yaml").exists() else None
    (tmp_path / "sub").mkdir(exist_ok=True)
    case, values = data.draw(st.sampled_from(SPECIFIC))
    rejected(*[data.draw(values) if part == "{}" else part for part in case])


@pytest.mark.parametrize("args, message", [
    (["verify", "--pid", "1180591620717411303424"], "error: --pid must be in [1..4194304], not '1180591620717411303424'"),
    (["up", "--driver", "usernetes", "--join", "bob@node2:99999"], "error: bad SSH port in 'bob@node2:99999'"),
    (["up", "--name", "rk\n"], "error: --name 'rk\\n' holds the control character '\\n'"),
    (["run", ""], "error: the RECIPE argument is empty"),
    (["up", "--driver", "usernetes", "--join", "a b@c"], "error: bad SSH host 'a b@c'"),
    (["tools", "install", "--base-url", "https://exa mple.org", "kind"],
     "error: the URL 'https://exa mple.org' holds a space or control character"),
    (["pss", "fix", "-f", "p.yaml", "--level", "privileged"],
     "error: pss fix --level privileged: there is nothing to fix at that level"),
    (["pss", "fix", "-f", "p.yaml", "-o", "missing/out.yaml"], "error: the folder of the output file (-o) "
                                                               "'missing/out.yaml' does not exist"),
    (["pss", "fix", "-f", "p.yaml", "-o", "/dev/full"], "error: the output file (-o) '/dev/full' is a device, "
                                                       "not a regular file"),
])
def test_the_error_line_names_the_problem(rejected, tmp_path, args, message):
    (tmp_path / "p.yaml").write_text(POD)
    assert rejected(*args).startswith(message)


def test_down_of_a_cluster_never_made_leaves_no_lock_file(cli, tmp_path):
    code, _, err = cli("down", "--name", "none")
    assert (code, err.splitlines()[0]) == (1, "error: rootlesskube has no record of creating a cluster named "
                                              "'none'; on a shared host it never deletes a cluster it did not create")
    assert not (tmp_path / "rk-home").exists() or not list((tmp_path / "rk-home").rglob("*.lock"))


@pytest.mark.parametrize("text, message", [
    ("a: 1\na: 2\n", "f.yaml:2:1: not valid YAML: the key 'a' is repeated (first at line 1)"),
    ("a: !!python/object/apply:os.system [ls]\n",
     "f.yaml:1:4: not valid YAML: the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"),
    ("a: !!int abc\n", "f.yaml:1:4: not valid YAML: int value 'abc' is invalid (ValueError)"),
    ("a: " + "1" * 5000 + "\n", "f.yaml:1:4: not valid YAML: a number longer than 64 characters"),
    ("[" * 3000, "f.yaml:1:65: not valid YAML: nested deeper than 64 levels"),
    (_laughs(10, 10), "f.yaml:6:5: not valid YAML: its aliases expand to more than 100000 nodes"),
    ("kind: Pod\nx: &a [1, *a]\n", "f.yaml:2:4: not valid YAML: an alias inside its own anchor (a recursive structure)"),
])
def test_yaml_refusals_name_file_line_col(text, message):
    with pytest.raises(UsageError) as info:
        inputs.load_yaml_all(text, "f.yaml")
    assert str(info.value) == message


def test_non_utf8_and_nul_bytes_are_named_with_line_and_column(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_bytes(b"kind: Pod\nname: \xff\n")
    with pytest.raises(UsageError, match=r"m.yaml:2:7: not UTF-8 text \(byte 0xff\)$"):
        inputs.read_text(str(path))
    path.write_bytes(b"kind: Pod\n\0\n")
    with pytest.raises(UsageError, match=r"m.yaml:2:1: a NUL byte"):
        inputs.read_text(str(path))


@pytest.mark.parametrize("target, kind", [("/dev/zero", "a device"), ("/dev/urandom", "a device"), (".", "a directory")])
def test_a_file_input_must_be_a_regular_file(tmp_path, target, kind):
    link = tmp_path / "m.yaml"
    link.symlink_to(target if target != "." else tmp_path)
    with pytest.raises(UsageError, match=f"the manifest is {kind}, not a regular file$"):
        inputs.read_text(str(link), "manifest")


def test_a_file_over_the_limit_is_refused_with_the_limit(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * 2048)
    with pytest.raises(UsageError, match=r"big.yaml: larger than the limit of 1024 bytes \(1024 bytes\)$"):
        inputs.read_text(str(path), limit=1024)


# --- FIFOs: the real CLI in a subprocess, which must not block -----------------------------------
@pytest.fixture
def fifo_tree(tmp_path):
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "dir" / "a.yaml")
    (tmp_path / "root" / "etc").mkdir(parents=True)
    (tmp_path / "root" / "etc" / "passwd").write_text("ana:x:1001:1001::/home/ana:/bin/sh\n")
    os.mkfifo(tmp_path / "root" / "etc" / "subuid")
    (tmp_path / "p.yaml").write_text(POD)
    return tmp_path


@pytest.mark.parametrize("args, code", [
    (["pss", "check", "-f", "fifo.yaml"], 2),
    (["pss", "check", "-f", "dir"], 2),
    (["pss", "check", "-f", "p.yaml", "--namespace-labels-from", "fifo.yaml"], 2),
    (["pss", "fix", "-f", "fifo.yaml"], 2),
    (["ns", "show", "--kubeconfig", "fifo.yaml"], 2),
    (["run", "fifo.yaml", "--dry-run"], 2),
    (["recipes", "show", "fifo.yaml"], 2),
    (["doctor", "--host-root", "root", "--user", "ana"], 3),
])
def test_a_fifo_never_blocks(fifo_tree, args, code):
    env = {**os.environ, "PYTHONPATH": str(REPO), "ROOTLESSKUBE_HOME": str(fifo_tree / "rk-home"), "NO_COLOR": "1"}
    result = subprocess.run([sys.executable, "-m", "rootlesskube", *args], cwd=fifo_tree, env=env,
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if code == 2:
        assert result.stderr.startswith("error: ") and "FIFO" in result.stderr.splitlines()[0], result.stderr
    else:
        assert "/etc/subuid cannot be read: not a regular file" in result.stdout


def test_a_fifo_roster_never_blocks(fifo_tree):
    code = ("from rootlesskube.recipe.roster import read_roster; from pathlib import Path\n"
            "try:\n    read_roster(Path('fifo.json'))\nexcept Exception as exc:\n    print(exc)\n")
    os.mkfifo(fifo_tree / "fifo.json")
    result = subprocess.run([sys.executable, "-c", code], cwd=fifo_tree, env={**os.environ, "PYTHONPATH": str(REPO)},
                            capture_output=True, text=True, timeout=20)
    assert result.stdout == "fifo.json: the roster is a FIFO, not a regular file\n"


RECIPE_HEAD = "apiVersion: rootlesskube.dev/v1alpha1\nkind: Recipe\nmetadata: {name: r}\n"


@pytest.mark.parametrize("text, message", [
    (RECIPE_HEAD + "cluster: {name: c, driver: kind, workers: !!int abc}\n",
     ":4:43: found 'abc'; expected an integer from 0 to 10"),
    (RECIPE_HEAD + "cluster: {name: c, driver: kind}\ntimeouts: {ready: !!int 1.5}\n",
     ":5:19: found '1.5'; expected a number of seconds from 1 to 86400"),
    ("apiVersion: rootlesskube.dev/v1alpha1\nkind: Recipe\nmetadata: {name: r\0}\n",
     ":3:19: a NUL byte (this is not a text file)"),
    (RECIPE_HEAD + "cluster: {name: c, driver: kind}\nnamespaces:\n- {name: team, podSecurity: {enforce: restricted}}\n"
     "- {name: team, podSecurity: {enforce: baseline}}\n",
     ":7:10: the namespace 'team' is declared twice (first at line 6); expected each namespace declared once"),
    (RECIPE_HEAD.replace("{name: r}", '{name: "r\\n"}') + "cluster: {name: c, driver: kind}\n",
     ":3:18: the recipe name 'r\\n' is not a valid DNS-1123 label"),
    (RECIPE_HEAD + "cluster: {name: c, driver: kind}\ncluster: {name: d, driver: kind}\n",
     ":5:1: not valid YAML: the key 'cluster' is repeated (first at line 4)"),
])
def test_recipes_are_validated_as_wholes_with_file_line_col(rejected, tmp_path, text, message):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    assert rejected("run", path, "--dry-run").startswith(f"error: {path}{message}")


@FAST
@given(text=st.one_of(st.text(max_size=200), hostile_json, st.lists(st.sampled_from(
    ["[", "]", "{", "}", ",", '"user"', ":", "1", '"a"', " ", "\n", "user,uid", "\"", "x" * 10]), max_size=30).map("".join)),
       as_csv=st.booleans())
def test_any_roster_text_is_read_or_refused(text, as_csv, tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / ("t.csv" if as_csv else "t.json")
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _bounded(lambda: roster_check.check_rows(roster_check.read_rows(str(path), "csv" if as_csv else "json", COLUMNS)))
