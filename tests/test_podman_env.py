"""The real rootless Podman environment the integration tests stand on."""

import pytest

from tests.podman_env import BUSYBOX_IMAGE

pytestmark = pytest.mark.podman


def test_rootless_container_maps_uid0_to_the_user(podman_user):
    out = podman_user.podman("run", "--rm", BUSYBOX_IMAGE, "cat", "/proc/self/uid_map").stdout.split()
    assert out[:3] == ["0", str(podman_user.uid), "1"]
    assert out[3] == "1" and out[5] == "65536"


def test_the_cli_runs_as_the_unprivileged_user(podman_user):
    result = podman_user.rootlesskube("--version", check=True)
    assert result.stdout.startswith("rootlesskube ")
