"""Cluster drivers: one module per tool (kind, minikube, usernetes) behind one protocol."""

DRIVERS = ("kind", "minikube", "usernetes")
DEFAULT_DRIVER = "kind"

_MODULES = {"kind": "KindDriver", "minikube": "MinikubeDriver", "usernetes": "UsernetesDriver"}


def get_driver(name: str):
    """The driver for NAME (imported on first use, so importing this package stays cheap)."""
    if name not in _MODULES:
        from ..errors import UsageError

        raise UsageError(f"unknown driver {name!r}", hint=f"use one of: {', '.join(DRIVERS)}")
    import importlib

    module = importlib.import_module(f"{__name__}.{name}")
    return getattr(module, _MODULES[name])()
