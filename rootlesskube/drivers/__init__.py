"""Cluster drivers: one module per tool (kind, minikube, usernetes) behind one protocol."""

DRIVERS = ("kind", "minikube", "usernetes")
DEFAULT_DRIVER = "kind"
