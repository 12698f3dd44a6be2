"""Validation of every name that reaches argv or a file path.

Cluster and namespace names follow the Kubernetes DNS-1123 label rules; user
names follow the shadow-utils rules. A bad name is a UsageError before any
command runs, so it can never become an option or a path traversal.
"""

from __future__ import annotations

import re

from .errors import UsageError

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_USER_NAME = re.compile(r"[a-z_][a-z0-9_-]*\$?")
DNS1123_LABEL_MAX = 63
USER_NAME_MAX = 32


def dns1123_label(value: str, what: str = "name") -> str:
    """Return value if it is a valid DNS-1123 label, else raise UsageError."""
    if not isinstance(value, str) or not value:
        raise UsageError(f"the {what} must not be empty")
    if len(value) > DNS1123_LABEL_MAX:
        raise UsageError(
            f"the {what} {value[:80]!r} is {len(value)} characters long; at most {DNS1123_LABEL_MAX} are allowed"
        )
    if not _DNS1123_LABEL.fullmatch(value):
        raise UsageError(
            f"the {what} {value!r} is not a valid DNS-1123 label",
            hint="use lower-case letters, digits and '-', starting and ending with a letter or digit",
        )
    return value


def user_name(value: str) -> str:
    """Return value if it is a valid Linux user name, else raise UsageError."""
    if not isinstance(value, str) or not value or len(value) > USER_NAME_MAX or not _USER_NAME.fullmatch(value):
        raise UsageError(
            f"{value[:80]!r} is not a valid user name",
            hint=f"use at most {USER_NAME_MAX} lower-case letters, digits, '_' and '-', starting with a letter or '_'",
        )
    return value


_HOST_NAME = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*")
_SSH_USER = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")


def port(value, what: str = "port") -> int:
    """An integer port 1-65535 (from an int or its decimal text)."""
    text = str(value)
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        raise UsageError(f"the {what} {text[:40]!r} is not a port number", hint="use a number from 1 to 65535")
    return int(text)


def host_name(value: str, what: str = "host") -> str:
    """A DNS host name or an IPv4 address (no user, port, spaces or leading '-')."""
    if not isinstance(value, str) or not _HOST_NAME.fullmatch(value):
        raise UsageError(f"the {what} {str(value)[:80]!r} is not a host name",
                         hint="use letters, digits, '-' and '.', e.g. node2.example.org or 192.0.2.7")
    return value


def ssh_target(value: str) -> str:
    """USER@HOST[:PORT] (or HOST[:PORT]) as --join takes it; returned unchanged. The messages are
    those of the Usernetes driver's own split_host, which this check runs ahead of."""
    hint = "use user@host or user@host:port (a port from 1 to 65535)"
    if not isinstance(value, str):
        raise UsageError(f"bad SSH host {value!r}", hint=hint)
    user, at, rest = value.rpartition("@")
    host, colon, number = rest.partition(":")
    if (at and not _SSH_USER.fullmatch(user)) or not _HOST_NAME.fullmatch(host):
        raise UsageError(f"bad SSH host {value[:80]!r}", hint=hint)
    if colon and not (re.fullmatch(r"[0-9]{1,5}", number) and 1 <= int(number) <= 65535):
        raise UsageError(f"bad SSH port in {value[:80]!r}", hint=hint)
    return value


def base_url(value: str) -> str:
    """An http(s) URL with a host and no spaces or control characters (a mirror's base)."""
    from urllib.parse import urlsplit

    problem = None
    if not isinstance(value, str) or not value:
        problem = "is empty"
    elif any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        problem = "holds a space or control character"
    else:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  (raises ValueError for a bad port)
        except ValueError as exc:
            problem = f"cannot be parsed ({exc})"
        else:
            if parts.scheme not in ("http", "https"):
                problem = "is not an http:// or https:// URL"
            elif not parts.hostname or not _HOST_NAME.fullmatch(parts.hostname.strip("[]")) and ":" not in parts.hostname:
                problem = "has no valid host"
    if problem:
        raise UsageError(f"the URL {str(value)[:80]!r} {problem}", hint="give it as https://HOST[:PORT]/PATH")
    return value
