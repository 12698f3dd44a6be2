"""The `pod-security.kubernetes.io/*` labels of a Namespace.

Three modes (enforce, audit, warn), each a level and a version. A mode with
no label is unset here; what the admission controller then uses (the cluster
default, and "warn follows enforce") is `effective()`'s job.
Label names and resolution: ../shared/reference/pss-checks.md §5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Optional

from .levels import validate_level, validate_version

PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")
DEFAULT_LEVEL = "privileged"
DEFAULT_VERSION = "latest"
STRICTNESS = {"privileged": 0, "baseline": 1, "restricted": 2}


@dataclass(frozen=True)
class ModePolicy:
    """One mode's level and version, e.g. restricted:latest."""

    level: str
    version: str = DEFAULT_VERSION

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"

    @classmethod
    def validated(cls, level: str, version: Optional[str] = None) -> "ModePolicy":
        """A ModePolicy from user input; UsageError for a bad level or version."""
        return cls(validate_level(level), validate_version(version or DEFAULT_VERSION))


@dataclass(frozen=True)
class PssLabels:
    """The Pod Security modes a Namespace sets; None means "no label"."""

    enforce: Optional[ModePolicy] = None
    audit: Optional[ModePolicy] = None
    warn: Optional[ModePolicy] = None

    @property
    def unlabeled(self) -> bool:
        return self.enforce is None and self.audit is None and self.warn is None

    def validated(self) -> "PssLabels":
        """self, after checking every level and version (UsageError naming the bad one)."""
        for policy in self.modes().values():
            if policy is not None:
                ModePolicy.validated(policy.level, policy.version)
        return self

    def modes(self) -> Dict[str, Optional[ModePolicy]]:
        return {mode: getattr(self, mode) for mode in MODES}

    def to_labels(self) -> Dict[str, str]:
        """The labels for a manifest: level and version for every mode that is set."""
        labels: Dict[str, str] = {}
        for mode, policy in self.modes().items():
            if policy is not None:
                labels[PREFIX + mode] = policy.level
                labels[PREFIX + mode + "-version"] = policy.version
        return labels

    @classmethod
    def from_labels(cls, labels: Optional[Mapping[str, str]]) -> "PssLabels":
        """Parse a Namespace's labels. Values are kept as written, valid or not:
        this describes a cluster, it does not judge user input."""
        labels = labels or {}
        found = {}
        for mode in MODES:
            level = labels.get(PREFIX + mode)
            version = labels.get(PREFIX + mode + "-version")
            if level is not None or version is not None:
                found[mode] = ModePolicy(level if level is not None else DEFAULT_LEVEL, version or DEFAULT_VERSION)
        return cls(**found)

    def effective(self, defaults: Optional["PssLabels"] = None) -> Dict[str, ModePolicy]:
        """The policy the admission controller applies per mode (api.PolicyToEvaluate):
        a label overrides the default (privileged:latest unless the cluster sets one), and
        an unlabeled warn follows a stricter labeled enforce, with its version."""
        defaults = defaults or PssLabels()
        result = {}
        for mode, policy in self.modes().items():
            result[mode] = policy or getattr(defaults, mode) or ModePolicy(DEFAULT_LEVEL)
        enforce = self.enforce
        if (self.warn is None and enforce is not None
                and STRICTNESS.get(enforce.level, -1) > STRICTNESS.get(result["warn"].level, 3)):
            result["warn"] = enforce
        return result
