"""Validation of every name that reaches argv or a file path.

Cluster and namespace names follow the Kubernetes DNS-1123 label rules; user
names follow the shadow-utils rules. A bad name is a UsageError before any
command runs, so it can never become an option or a path traversal.
"""

from __future__ import annotations

import re

from .errors import UsageError

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]*\$?$")
DNS1123_LABEL_MAX = 63
USER_NAME_MAX = 32


def dns1123_label(value: str, what: str = "name") -> str:
    """Return value if it is a valid DNS-1123 label, else raise UsageError."""
    if not isinstance(value, str) or not value:
        raise UsageError(f"the {what} must not be empty")
    if len(value) > DNS1123_LABEL_MAX:
        raise UsageError(
            f"the {what} {value!r} is {len(value)} characters long; at most {DNS1123_LABEL_MAX} are allowed"
        )
    if not _DNS1123_LABEL.match(value):
        raise UsageError(
            f"the {what} {value!r} is not a valid DNS-1123 label",
            hint="use lower-case letters, digits and '-', starting and ending with a letter or digit",
        )
    return value


def user_name(value: str) -> str:
    """Return value if it is a valid Linux user name, else raise UsageError."""
    if not isinstance(value, str) or not value or len(value) > USER_NAME_MAX or not _USER_NAME.match(value):
        raise UsageError(
            f"{value!r} is not a valid user name",
            hint=f"use at most {USER_NAME_MAX} lower-case letters, digits, '_' and '-', starting with a letter or '_'",
        )
    return value
