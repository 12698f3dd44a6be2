"""PMM 3 as a rootless Podman container under the user's systemd: a Quadlet file or a classic unit.

One ContainerSpec gives both forms: `run_options` is the podman run command line
of the classic unit, and the Quadlet file writes the same options as its keys
(QUADLET_KEYS maps one to the other). A oneshot unit generates PMM's admin
password at first start into an env file (mode 0600): no password is ever in
the config, the argv or the journal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from ..errors import UsageError
from ..workloads import pmm

PODMAN = "/usr/bin/podman"
PMM_UNIT = pmm.NAME
PASSWORD_UNIT = "pmm-server-password.service"
ENV_FILE = "%h/.config/pmm-server/pmm-server.env"
DEFAULT_DATA_DIR = "%h/.local/share/pmm-server"
DEFAULT_HOST_PORT = pmm.SERVICE_HTTPS_PORT  # below 1024: needs net.ipv4.ip_unprivileged_port_start (rootlesskube-host-setup --unprivileged-port-start)
PMM_UID = 1000  # the image's user `pmm`; keep-id maps the host user to it, so /srv stays the user's
PASSWORD_VARIABLE = "GF_SECURITY_ADMIN_PASSWORD"
QUADLET = (4, 4)
QUADLET_HEALTH = (4, 5)  # Quadlet's UserNS= and Health* keys came one release after Quadlet
QUADLET_TOO_OLD = ("the Quadlet file needs Podman >= 4.5 on {what}: 4.4's quadlet rejects UserNS= and has no "
                   "Health* keys, so no pmm-server.service would be generated")
QUADLET_DIR = ".config/containers/systemd"  # where the user's Quadlet generator reads .container files
USER_UNIT_DIR = ".config/systemd/user"  # where the user's systemd reads .service files

# (podman run option, Quadlet [Container] key), in the order both forms write them.
QUADLET_KEYS: Tuple[Tuple[str, str], ...] = (
    ("--name", "ContainerName"),
    ("--publish", "PublishPort"),
    ("--volume", "Volume"),
    ("--env-file", "EnvironmentFile"),
    ("--userns", "UserNS"),
    ("--health-cmd", "HealthCmd"),
    ("--health-interval", "HealthInterval"),
    ("--health-timeout", "HealthTimeout"),
    ("--health-retries", "HealthRetries"),
    ("--health-start-period", "HealthStartPeriod"),
    ("--health-on-failure", "HealthOnFailure"),
)


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    publish: str
    data_dir: str
    env_file: str
    userns: str
    health_cmd: str
    health_interval: str = "30s"
    health_timeout: str = "10s"
    health_retries: int = 5
    health_start_period: str = "300s"  # first start initialises PostgreSQL and ClickHouse
    health_on_failure: str = "kill"  # the container exits; systemd's Restart= starts a fresh one

    @property
    def volume(self) -> str:
        return f"{self.data_dir}:/srv:Z"  # Z: an SELinux label private to this container (Fedora CoreOS)

    def options(self) -> List[Tuple[str, str]]:
        values = (self.name, self.publish, self.volume, self.env_file, self.userns, self.health_cmd,
                  self.health_interval, self.health_timeout, str(self.health_retries),
                  self.health_start_period, self.health_on_failure)
        return [(flag, value) for (flag, _), value in zip(QUADLET_KEYS, values)]


def pmm_spec(image: str = pmm.PMM3_IMAGE, data_dir: str = DEFAULT_DATA_DIR, host_port: int = DEFAULT_HOST_PORT) -> ContainerSpec:
    if not 1 <= host_port <= 65535:
        raise UsageError(f"port {host_port} is not a TCP port", hint="use a port between 1 and 65535")
    return ContainerSpec(
        name=PMM_UNIT,
        image=image,
        publish=f"{host_port}:{pmm.HTTPS_PORT}",
        data_dir=data_dir,
        env_file=ENV_FILE,
        userns=f"keep-id:uid={PMM_UID},gid={PMM_UID}",
        health_cmd=f"curl -fsS http://127.0.0.1:{pmm.HTTP_PORT}{pmm.READYZ}",
    )


def run_options(spec: ContainerSpec) -> List[str]:
    """`podman run` and its options, without the podman binary and the image."""
    argv = ["run", "--rm", "--replace"]
    for flag, value in spec.options():
        argv += [flag, value]
    return argv


def classic_unit(spec: ContainerSpec) -> str:
    """A user unit running `podman run --rm --replace` in the foreground (any Podman >= 4.3)."""
    start = exec_line([PODMAN, *run_options(spec), spec.image])
    stop = exec_line([PODMAN, "stop", "--ignore", "--time", "10", spec.name])
    return (
        _unit_section(spec)
        + "\n[Service]\n"
        + f"ExecStart={start}\n"
        + f"ExecStop={stop}\n"
        + _service_lines(spec)
        + _install()
    )


def quadlet(spec: ContainerSpec) -> str:
    """A Quadlet `.container` file (Podman >= 4.5): the generator makes pmm-server.service of it."""
    keys = {flag: key for flag, key in QUADLET_KEYS}
    body = "".join(f"{keys[flag]}={_quadlet_value(value)}\n" for flag, value in spec.options())
    return (
        _unit_section(spec)
        + "\n[Container]\n"
        + f"Image={spec.image}\n"
        + body
        + "\n[Service]\n"
        + _service_lines(spec)
        + _install()
    )


def password_unit(env_file: str = ENV_FILE) -> str:
    """A oneshot user unit writing PASSWORD_VARIABLE=<32 random characters> once, mode 0600."""
    script = ('umask 077 && mkdir -p "$(dirname "$1")" && '
              f"printf '{PASSWORD_VARIABLE}=%s\\n' \"$(tr -dc A-Za-z0-9 </dev/urandom | head -c 32)\" >\"$1\"")
    return (
        "[Unit]\n"
        "Description=Generate the PMM admin password once (read it from the env file)\n"
        f"ConditionPathExists=!{env_file}\n"
        "\n[Service]\n"
        "Type=oneshot\n"
        "RemainAfterExit=yes\n"
        f"ExecStart={exec_line(['/bin/sh', '-c', script, 'sh', env_file])}\n"
    )


# --- a cluster that comes back at boot ---
CLUSTER_UNIT = "rootlesskube-cluster-{name}.service"
ROOTLESSKUBE_PIPX = "%h/.local/bin/rootlesskube"  # where `pipx install` puts it (the README's install)
STATE_DIR = "%h/.local/state/rootlesskube"  # paths.state_dir() without XDG_STATE_HOME or ROOTLESSKUBE_HOME


def cluster_unit_name(name: str) -> str:
    from ..names import dns1123_label

    return CLUSTER_UNIT.format(name=dns1123_label(name, "cluster name"))


def cluster_unit(name: str, rootlesskube: str = ROOTLESSKUBE_PIPX, state_dir: str = STATE_DIR,
                 environment: Sequence[Tuple[str, str]] = ()) -> str:
    """A user unit that runs `rootlesskube start --name NAME` when the user's manager starts (at boot, with
    lingering) and `rootlesskube stop` when it stops. Rootless Podman restarts no container by itself (kind
    issue #3463), and a cluster never created (no record) skips the unit instead of failing it."""
    cluster_unit_name(name)
    env = "".join(f"Environment={exec_line([f'{key}={value}'])}\n" for key, value in
                  (("PATH", "%h/.local/bin:/usr/local/bin:/usr/bin:/bin"), ("NO_COLOR", "1"), *environment))
    return (
        "[Unit]\n"
        f"Description=rootlesskube cluster {name}: start it when the user's manager starts (rootless Podman)\n"
        f"ConditionPathExists={state_dir}/clusters/{name}/record.json\n"
        "\n[Service]\n"
        "Type=oneshot\n"
        "RemainAfterExit=yes\n"
        + env
        + f"ExecStart={exec_line([rootlesskube, 'start', '--name', name])}\n"
        # `-`: a cluster deleted meanwhile must not fail the shutdown
        + f"ExecStop=-{exec_line([rootlesskube, 'stop', '--name', name])}\n"
        "TimeoutStartSec=900\n"
        "TimeoutStopSec=300\n"
        + _install()
    )


def _unit_section(spec: ContainerSpec) -> str:
    # No network-online.target: a user manager has none (it is a system unit). A first start without the
    # network fails its pull and Restart= tries again; a VM's user@.service waits for the network instead.
    return (
        "[Unit]\n"
        "Description=PMM Server, rootless Podman\n"
        f"Requires={PASSWORD_UNIT}\n"
        f"After={PASSWORD_UNIT}\n"
    )


def _service_lines(spec: ContainerSpec) -> str:
    return (
        f"ExecStartPre={exec_line(['/usr/bin/mkdir', '-p', spec.data_dir])}\n"  # podman needs the bind source
        "Restart=always\n"
        "RestartSec=20\n"
        "TimeoutStartSec=900\n"  # the first start pulls a 2.6 GB image
    )


def _install() -> str:
    return "\n[Install]\nWantedBy=default.target\n"


def quadlet_min_version(health: bool = True) -> Tuple[int, int]:
    return QUADLET_HEALTH if health else QUADLET


def parse_version(text: str) -> Tuple[int, int]:
    match = re.match(r"^(\d+)\.(\d+)", text.strip())
    if not match:
        raise UsageError(f"cannot read the Podman version {text!r}",
                         hint="choose the unit form yourself with --quadlet or --classic")
    return int(match.group(1)), int(match.group(2))


def prefer_quadlet(podman_version: Optional[str]) -> bool:
    """Quadlet where this Podman has its Health* keys; a classic unit otherwise."""
    return podman_version is not None and parse_version(podman_version) >= QUADLET_HEALTH


# --- systemd command-line syntax (systemd.service(5), "Command lines") ---

_SPECIFIERS = "hN"  # the only specifiers these units use: %h (home), %N (unit name)
_NEEDS_QUOTES = re.compile(r"""[\s"'\\;]""")


def _escape_word(word: str) -> str:
    word = re.sub(f"%(?![{_SPECIFIERS}])", "%%", word).replace("$", "$$")
    if word and not _NEEDS_QUOTES.search(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def exec_line(argv: Sequence[str]) -> str:
    """An ExecStart= value that systemd splits back into exactly ARGV ($ and % stay literal)."""
    return " ".join(_escape_word(word) for word in argv)


def split_exec(line: str, specifiers: Optional[dict] = None) -> List[str]:
    """The argv systemd makes of an Exec line: quotes, backslash escapes, $$ and %% (and %X from SPECIFIERS)."""
    words: List[str] = []
    index, length = 0, len(line)
    while index < length:
        if line[index].isspace():
            index += 1
            continue
        word, quote = "", None
        while index < length and (quote or not line[index].isspace()):
            char = line[index]
            if char == "\\" and index + 1 < length:
                word += line[index + 1]
                index += 2
                continue
            if char in "\"'" and (quote is None or quote == char):
                quote = None if quote else char
            else:
                word += char
            index += 1
        words.append(_unescape(word, specifiers or {}))
    return words


def _unescape(word: str, specifiers: dict) -> str:
    word = word.replace("$$", "\0")
    word = re.sub(r"%(.)", lambda m: "%" if m.group(1) == "%" else specifiers.get(m.group(1), m.group(0)), word)
    return word.replace("\0", "$")


def _quadlet_value(value: str) -> str:
    # Quadlet reads unit-file values: a literal % must be doubled like in any unit file.
    return re.sub(f"%(?![{_SPECIFIERS}])", "%%", value)
