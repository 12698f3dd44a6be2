"""Reading a lab roster as a whole: every row typed and in range, and no two rows colliding.

The roster is read as root, so it must be a regular file that is not a symbolic link
(a link to /etc/shadow is refused, not read), of bounded size. Each problem names
file:line:col of the row (and the earlier row it collides with).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Dict, List, Sequence, Tuple

from rootlesskube import inputs, names
from rootlesskube.errors import UsageError

MAX_ROSTER = 4 * 1024 * 1024
MAX_ID = 2**32 - 2  # the largest uid/gid; 2**32 - 1 is (uid_t) -1
_HINT = "fix that row, or pass another --roster FILE to start a new one"

Row = Tuple[str, Dict[str, Any]]  # (file:line:col, the row's fields)


def _error(where: str, problem: str) -> UsageError:
    return UsageError(f"{where}: {problem}", hint=_HINT)


def read_rows(path: str, kind: str, columns: Sequence[str]) -> List[Row]:
    """The rows of the roster file, each with where it starts; UsageError for an unreadable roster."""
    text = inputs.read_text(path, "roster", MAX_ROSTER, follow_symlinks=False)
    rows = _json_rows(text, path) if kind == "json" else _csv_rows(text, path, columns)
    return [(where, _typed(where, row, columns)) for where, row in rows]


def _json_rows(text: str, path: str) -> List[Tuple[str, Any]]:
    decoder = json.JSONDecoder(object_pairs_hook=inputs.json_pairs, parse_int=inputs.json_int)
    at = _skip(text, 0)
    if text[at:at + 1] != "[":
        raise _error(_where(text, path, at), "the roster is not a JSON list of rows")
    rows, at = [], _skip(text, at + 1)
    while text[at:at + 1] != "]":
        try:
            row, end = decoder.raw_decode(text, at)
        except (ValueError, RecursionError) as exc:
            raise _error(_where(text, path, at), f"not valid JSON ({str(exc).split(':')[0]})") from None
        rows.append((_where(text, path, at), row))
        at = _skip(text, end)
        if text[at:at + 1] == ",":
            at = _skip(text, at + 1)
        elif text[at:at + 1] != "]":
            raise _error(_where(text, path, at), "expected ',' or ']' after a row")
    if text[_skip(text, at + 1):].strip():
        raise _error(_where(text, path, _skip(text, at + 1)), "text after the roster's list")
    return rows


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _where(text: str, path: str, at: int) -> str:
    line = text.count("\n", 0, at) + 1
    return f"{path}:{line}:{at - (text.rfind(chr(10), 0, at) + 1) + 1}"


def _csv_rows(text: str, path: str, columns: Sequence[str]) -> List[Tuple[str, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: List[Tuple[str, Any]] = []
    try:
        header = next(reader, None)
        if header != list(columns):
            raise _error(f"{path}:1:1", f"the header must be {','.join(columns)}")
        line = reader.line_num + 1
        for record in reader:
            if record:
                if len(record) != len(columns):
                    raise _error(f"{path}:{line}:1", f"{len(record)} fields; a row has {len(columns)}")
                rows.append((f"{path}:{line}:1", dict(zip(columns, record))))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise _error(f"{path}:{reader.line_num}:1", f"not valid CSV ({exc})") from None
    return rows


def _typed(where: str, row: Any, columns: Sequence[str]) -> Dict[str, Any]:
    if not isinstance(row, dict):
        raise _error(where, f"a row is a {type(row).__name__}, not an object with {', '.join(columns)}")
    if set(row) != set(columns):
        missing = [c for c in columns if c not in row]
        problem = f"the key {missing[0]!r} is missing" if missing else \
            f"unknown key {next(k for k in row if k not in columns)!r:.60}"
        raise _error(where, problem)
    typed: Dict[str, Any] = {}
    for column in columns:
        value = row[column]
        if column == "user":
            if not isinstance(value, str):
                raise _error(where, f"user is a {type(value).__name__}, not a name")
            try:
                names.user_name(value)
            except UsageError as exc:
                raise _error(where, exc.message) from None
            typed[column] = value
            continue
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _error(where, f"{column} is {str(value)[:40]!r}, not a whole number")
        typed[column] = value
    return typed


def check_rows(rows: List[Row]) -> None:
    """Each row in range, and no two rows sharing a user, a uid, a subordinate id or a port."""
    for where, row in rows:
        user = row["user"]
        if row["uid"] == 0:
            raise _error(where, f"the lab user {user!r} has uid 0 (root); lab users are unprivileged")
        if not 1 <= row["uid"] <= MAX_ID:
            raise _error(where, f"uid {row['uid']} is outside 1-{MAX_ID}")
        for kind in ("subuid", "subgid"):
            start, count = row[f"{kind}_start"], row[f"{kind}_count"]
            if start < 1 or count < 1 or start + count - 1 > MAX_ID:
                raise _error(where, f"{kind} range {start}+{count} is outside 1-{MAX_ID} (or empty)")
        if not 1 <= row["port_first"] <= row["port_last"] <= 65535:
            raise _error(where, f"the port block {row['port_first']}-{row['port_last']} is not within 1-65535 "
                                "with the first port not after the last")
    _no_overlap(rows, "user", lambda r: (r["user"], r["user"]), "the user {v!r} is listed twice")
    _no_overlap(rows, "uid", lambda r: (r["uid"], r["uid"]), "uid {v} is given to two users")
    for kind in ("subuid", "subgid"):
        _no_overlap(rows, kind, lambda r, k=kind: (r[f"{k}_start"], r[f"{k}_start"] + r[f"{k}_count"] - 1),
                    f"the {kind} range of {{user!r}} overlaps another user's")
    _no_overlap(rows, "ports", lambda r: (r["port_first"], r["port_last"]),
                "the port block of {user!r} overlaps another user's")


def _no_overlap(rows: List[Row], what: str, span, message: str) -> None:
    ordered = sorted(rows, key=lambda item: (span(item[1])[0], span(item[1])[1]))
    for (first_where, first), (where, row) in zip(ordered, ordered[1:]):
        if span(row)[0] <= span(first)[1] and span(first)[0] <= span(row)[1]:
            raise _error(where, message.format(v=span(row)[0], user=row["user"]) + f" (also at {first_where})")
