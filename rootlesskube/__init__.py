"""rootlesskube: a rootless local Kubernetes environment on rootless Podman, proven rootless."""

__version__ = "0.1.0"
