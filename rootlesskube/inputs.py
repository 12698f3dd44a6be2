"""Every file the user hands the tool is read and parsed here, with limits.

A file input is opened once, without blocking (a FIFO cannot hang the tool),
must be a regular file (or `-` for stdin), is read up to a stated size and
decoded as UTF-8 with an error that names the file. YAML is composed by a
loader that bounds nesting depth, alias use and the size the aliases expand
to, refuses duplicate keys and any tag outside the YAML core types, and names
file:line:col; JSON is bounded the same way. Every failure is a UsageError
(exit 2) whose message is one line.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
from typing import Any, Iterator, List, Optional

import yaml

from .errors import UsageError

STDIN = "-"
STDIN_NAME = "<stdin>"
MAX_BYTES = 16 * 1024 * 1024
"""The largest file input (16 MiB): manifests, recipes, rosters, Namespace files."""
MAX_DEPTH = 64
"""The deepest nesting of mappings and lists (Kubernetes objects stay far below)."""
MAX_ALIASES = 1000
MAX_ALIAS_NODES = 100_000
"""How many nodes aliases may add to a document when expanded (a billion laughs is refused)."""
MAX_NUMBER_DIGITS = 64


class InputError(UsageError):
    """A file input that cannot be used; the message names the file (and line:col when known)."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size_error(name: str, limit: int) -> InputError:
    return InputError(f"{name}: larger than the limit of {limit} bytes ({limit // (1024 * 1024) or limit} "
                      f"{'MiB' if limit >= 1024 * 1024 else 'bytes'})",
                      hint="give a smaller file")


def read_bytes(path: str, what: str = "file", limit: int = MAX_BYTES, follow_symlinks: bool = True,
               _probe: bool = False) -> bytes:
    """The bytes of a regular file (or stdin for `-`), at most `limit`; InputError otherwise."""
    if not isinstance(path, str) or not path:
        raise InputError(f"the {what} path is empty", hint=f"give the path of the {what}")
    if "\0" in path:
        raise InputError(f"the {what} path {path[:80]!r} holds a NUL byte", hint=f"give the path of the {what}")
    if path == STDIN:
        if sys.stdin is None or sys.stdin.closed:
            raise InputError(f"{STDIN_NAME}: there is no standard input to read", hint=f"give the {what} as a file")
        stream = getattr(sys.stdin, "buffer", None)
        data = stream.read(limit + 1) if stream is not None else sys.stdin.read(limit + 1).encode("utf-8", "replace")
        if len(data) > limit:
            raise _size_error(STDIN_NAME, limit)
        return data
    shown = path if len(path) <= 200 else path[:200] + "..."
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(f"{shown}: no such {what}", hint="check the path") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:  # O_NOFOLLOW: the last component is a symlink
            raise InputError(f"{shown}: the {what} is a symbolic link", hint=f"give the {what} itself") from None
        reason = "is a directory" if exc.errno == errno.EISDIR else f"cannot be read ({exc.strerror})"
        raise InputError(f"{shown}: {reason}", hint=f"give a readable {what}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{shown}: the {what} is {_kind(info.st_mode)}, not a regular file",
                             hint=f"give a regular {what}")
        if _probe:
            return b""
        if info.st_size > limit:
            raise _size_error(shown, limit)
        chunks: List[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise _size_error(shown, limit)
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(f"{shown}: cannot be read ({exc.strerror})", hint=f"give a readable {what}") from None
    finally:
        os.close(fd)


def check_readable(path: str, what: str = "file") -> str:
    """A regular file this user can open for reading (nothing is read: it may be a large archive)."""
    read_bytes(path, what, limit=0, _probe=True)
    return path


def decode(data: bytes, name: str) -> str:
    """UTF-8 text; a bad byte is named by line and column, and a NUL byte is refused."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(f"{name}:{line}:{column}: not UTF-8 text (byte 0x{data[exc.start]:02x})",
                         hint="save the file as UTF-8") from None
    if "\0" in text:
        at = text.index("\0")
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        raise InputError(f"{name}:{line}:{column}: a NUL byte (this is not a text file)",
                         hint="give a YAML or JSON text file")
    return text


def read_text(path: str, what: str = "file", limit: int = MAX_BYTES, follow_symlinks: bool = True) -> str:
    """read_bytes, then decode: the text of a file input."""
    return decode(read_bytes(path, what, limit, follow_symlinks), display_name(path))


def display_name(path: str) -> str:
    return STDIN_NAME if path == STDIN else path


# --- YAML ---
_CORE_TAGS = frozenset("tag:yaml.org,2002:" + t for t in
                       ("str", "int", "float", "bool", "null", "map", "seq", "merge", "timestamp", "binary",
                        "omap", "pairs", "set", "value"))


def _where(name: str, mark) -> str:
    return f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name


class _Refused(yaml.YAMLError):
    def __init__(self, mark, problem: str):
        super().__init__(problem)
        self.mark, self.problem = mark, problem


class _Bounds:
    """A composer that bounds depth and aliases and refuses duplicate keys and foreign tags;
    its constructor is the safe one, turning a bad value into an error at its line."""

    _depth = 0
    _aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(self.peek_event().start_mark, f"more than {MAX_ALIASES} aliases")
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(self.peek_event().start_mark, f"nested deeper than {MAX_DEPTH} levels")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node.tag not in _CORE_TAGS:
            raise _Refused(node.start_mark, f"the tag {node.tag!r:.60} is not allowed")
        if isinstance(node, yaml.MappingNode):
            _check_keys(node)
        elif isinstance(node, yaml.ScalarNode) and node.tag.endswith((":int", ":float")):
            if len(node.value) > MAX_NUMBER_DIGITS:
                raise _Refused(node.start_mark, f"a number longer than {MAX_NUMBER_DIGITS} characters")
        return node

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # noqa: BLE001  a hostile value breaks a constructor in many ways
            raise _Refused(node.start_mark, f"{node.tag.rsplit(':', 1)[-1]} value {node.value!r:.40} is invalid "
                                            f"({type(exc).__name__})") from None


class BoundedLoader(_Bounds, yaml.SafeLoader):
    """The pure-Python parser with the bounds."""


if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

    class BoundedLoader(_Bounds, Composer, CParser, SafeConstructor, Resolver):  # type: ignore[no-redef]
        """libyaml's parser (its events), composed in Python with the bounds: 5x faster than the pure one."""

        def __init__(self, stream):
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


def _check_keys(node: yaml.MappingNode) -> None:
    seen = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise _Refused(key.start_mark, "a mapping key that is not a scalar")
        if key.tag.endswith(":merge"):
            continue
        first = seen.setdefault((key.tag, key.value), key)
        if first is not key:
            raise _Refused(key.start_mark, f"the key {key.value!r:.60} is repeated (first at line "
                                           f"{first.start_mark.line + 1})")


def _expanded_size(root: yaml.Node) -> None:
    """Refuse a document whose aliases add more than MAX_ALIAS_NODES nodes when expanded (counted
    without expanding: each distinct node once, with the size of its expansion)."""
    sizes = {}
    open_nodes = set()  # expanding now: meeting one again below itself is a recursive alias
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
        if done:
            open_nodes.discard(id(node))
            total = 1 + sum(sizes[id(c)] for c in children)
            sizes[id(node)] = total
            if total - len(sizes) > MAX_ALIAS_NODES:
                raise _Refused(node.start_mark, f"its aliases expand to more than {MAX_ALIAS_NODES} nodes")
        else:
            if id(node) in open_nodes:
                raise _Refused(node.start_mark, "an alias inside its own anchor (a recursive structure)")
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)


def yaml_error(name: str, exc: yaml.YAMLError, document: int = 0) -> InputError:
    if isinstance(exc, _Refused):
        mark, problem = exc.mark, exc.problem
    else:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    doc = f" (document {document})" if document > 1 else ""
    problem = " ".join(str(problem).split())
    return InputError(f"{_where(name, mark)}: not valid YAML{doc}: {problem}",
                      hint="fix the file at that line")


def compose_all(text: str, name: str) -> Iterator[yaml.Node]:
    """The node tree of each document, checked; InputError (file:line:col) for anything refused."""
    try:
        loader = BoundedLoader(text)
    except UnicodeError:  # a lone surrogate in text that did not come from decode()
        raise InputError(f"{name}: not valid Unicode text", hint="save the file as UTF-8") from None
    index = 0
    try:
        while loader.check_node():
            index += 1
            node = loader.get_node()
            if node is not None and loader._aliases:  # without aliases nothing expands
                _expanded_size(node)
            yield node
    except yaml.YAMLError as exc:
        raise yaml_error(name, exc, max(index, 1)) from None
    except RecursionError:
        raise InputError(f"{name}: nested too deeply", hint=f"at most {MAX_DEPTH} levels") from None
    except UnicodeError:  # a lone surrogate in text that did not come from decode()
        raise InputError(f"{name}: not valid Unicode text", hint="save the file as UTF-8") from None
    finally:
        loader.dispose()


def compose_one(text: str, name: str) -> Optional[yaml.Node]:
    """The node tree of a file that must hold one document (None when empty)."""
    nodes = compose_all(text, name)
    first = next(nodes, None)
    second = next(nodes, None)
    if second is not None:
        raise InputError(f"{_where(name, second.start_mark)}: a second YAML document",
                         hint="the file holds one document")
    return first


def construct(node: yaml.Node, name: str) -> Any:
    """The Python value of a checked node tree (aliases are shared, not copied)."""
    loader = BoundedLoader("")
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise yaml_error(name, exc) from None
    finally:
        loader.dispose()


def load_yaml_all(text: str, name: str) -> List[Any]:
    return [construct(node, name) if node is not None else None for node in compose_all(text, name)]


# --- JSON ---
def json_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number longer than {MAX_NUMBER_DIGITS} characters")
    return int(text)


def json_pairs(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r:.60} is repeated")
        result[key] = value
    return result


def _check_depth(obj: Any, name: str) -> None:
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise InputError(f"{name}: nested deeper than {MAX_DEPTH} levels", hint="flatten the document")
            stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))


def load_json(text: str, name: str) -> Any:
    """One JSON value: depth, number size and duplicate keys bounded; InputError (file:line:col)."""
    try:
        obj = json.loads(text, parse_int=json_int, object_pairs_hook=json_pairs,
                         parse_float=lambda s: float(_no_big_numbers_float(s)))
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",
                         hint="fix the JSON at that line") from None
    except RecursionError:
        raise InputError(f"{name}: nested deeper than {MAX_DEPTH} levels", hint="flatten the document") from None
    except ValueError as exc:
        raise InputError(f"{name}: not valid JSON: {exc}", hint="fix the JSON") from None
    _check_depth(obj, name)
    return obj


def _no_big_numbers_float(text: str) -> str:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number longer than {MAX_NUMBER_DIGITS} characters")
    return text


# --- output paths ---
def check_output(path: str, what: str = "output file", make_parents: bool = False) -> str:
    """Refuse, before any work, an output path that cannot be written: an empty or over-long path,
    a missing (unless make_parents: then its nearest existing folder) or unwritable folder, a
    directory, or an existing file that is not a regular one."""
    if not isinstance(path, str) or not path:
        raise InputError(f"the {what} path is empty", hint=f"give the path of the {what}")
    if "\0" in path or "\n" in path:
        raise InputError(f"the {what} path {path!r:.80} holds a NUL or newline", hint="give a plain path")
    parent = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    if not base or path.endswith(os.sep):
        raise InputError(f"the {what} {path!r:.80} names a folder, not a file", hint="give a file path")
    if len(base.encode("utf-8", "surrogateescape")) > 255 or len(path.encode("utf-8", "surrogateescape")) > 4095:
        raise InputError(f"the {what} path {path[:60]!r}... is too long", hint="use a shorter name")
    while make_parents and not os.path.lexists(parent) and os.path.dirname(parent) != parent:
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise InputError(f"the folder of the {what} {path!r} does not exist ({parent})",
                         hint="create the folder first, or write elsewhere")
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        if not os.access(parent, os.W_OK | os.X_OK):
            raise InputError(f"the {what} {path!r} cannot be created: its folder {parent} is not writable",
                             hint="write elsewhere") from None
        return path
    except OSError as exc:
        raise InputError(f"the {what} {path!r} cannot be used ({exc.strerror})", hint="write elsewhere") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"the {what} {path!r} is {_kind(info.st_mode)}, not a regular file",
                         hint="give the path of a file to write")
    if not os.access(path, os.W_OK):
        raise InputError(f"the {what} {path!r} is not writable", hint="write elsewhere")
    return path


def check_output_dir(path: str, what: str = "output folder") -> str:
    """A folder to write into: an existing writable directory, or a new one whose parent exists."""
    if not isinstance(path, str) or not path:
        raise InputError(f"the {what} path is empty", hint=f"give the path of the {what}")
    if os.path.isdir(path):
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"the {what} {path!r} is not writable", hint="write elsewhere")
        return path
    check_output(path.rstrip(os.sep) or path, what, make_parents=True)
    return path
