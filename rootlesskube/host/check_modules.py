"""Kernel modules each driver needs, from everything a normal user can read (a userns cannot modprobe).

The sources, in the order they decide:

    /proc/modules                                  loaded
    /lib/modules/$(uname -r)/modules.builtin       built in
    the kernel config (kernel_config.py)           =y built in
    /sys/module/NAME                               present
    the feature itself (FEATURES)                  /proc/filesystems, /proc/sys/net/bridge/, ...
    the kernel config again                        =m a module that is not loaded; unset: not in this kernel

Each source is read once, and only when a module needs it. A source that cannot be read
(/proc/net/ip_tables_names is 0440 root) matters only to a module no other source decides:
every module's check stands alone, and its detail names the source that decided.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

from . import fixes, ids, kernel_config
from .context import Context, produces
from .model import FAIL, PASS, WARN, CheckResult
from .readers import kernel_release
from .view import HostReadError, HostView

# module -> the kernel config symbol that builds it (obj-$(SYMBOL) += NAME.o in the kernel's Makefiles)
CONFIG_SYMBOLS: Dict[str, str] = {
    "overlay": "CONFIG_OVERLAY_FS",  # fs/overlayfs/Makefile
    "fuse": "CONFIG_FUSE_FS",  # fs/fuse/Makefile
    "br_netfilter": "CONFIG_BRIDGE_NETFILTER",  # net/bridge/Makefile
    "ip_tables": "CONFIG_IP_NF_IPTABLES",  # net/ipv4/netfilter/Makefile
    "iptable_nat": "CONFIG_IP_NF_NAT",  # net/ipv4/netfilter/Makefile
    "ip6_tables": "CONFIG_IP6_NF_IPTABLES",  # net/ipv6/netfilter/Makefile
    "ip6table_nat": "CONFIG_IP6_NF_NAT",  # net/ipv6/netfilter/Makefile
    "nf_tables": "CONFIG_NF_TABLES",  # net/netfilter/Makefile
    "vxlan": "CONFIG_VXLAN",  # drivers/net/vxlan/Makefile
}


def _exists(path: str) -> Callable[["ModuleFacts"], bool]:
    return lambda facts: facts.view.exists(path)


def _listed(path: str, word: str, column: int) -> Callable[["ModuleFacts"], bool]:
    return lambda facts: word in facts.column(path, column)


# module -> (what is looked at, test): the feature itself, when the module is invisible
FEATURES: Dict[str, Tuple[str, Callable[["ModuleFacts"], bool]]] = {
    "ip_tables": ("/proc/net/ip_tables_names", _exists("/proc/net/ip_tables_names")),  # exists, even when 0440
    "ip6_tables": ("/proc/net/ip6_tables_names", _exists("/proc/net/ip6_tables_names")),
    "iptable_nat": ("/proc/net/ip_tables_names", _listed("/proc/net/ip_tables_names", "nat", 0)),  # root only
    "ip6table_nat": ("/proc/net/ip6_tables_names", _listed("/proc/net/ip6_tables_names", "nat", 0)),
    "br_netfilter": ("/proc/sys/net/bridge/", _exists("/proc/sys/net/bridge/bridge-nf-call-iptables")),
    "overlay": ("/proc/filesystems", _listed("/proc/filesystems", "overlay", -1)),
    "fuse": ("/proc/filesystems", _listed("/proc/filesystems", "fuse", -1)),
}


class ModuleFacts:
    """The sources, each read at most once; `unreadable` collects those that exist but cannot be read."""

    def __init__(self, view: HostView):
        self.view = view
        self.release = kernel_release(view)
        self.tree = f"/lib/modules/{self.release}" if self.release else None
        self.unreadable: Dict[str, str] = {}  # host path -> reason
        self._columns: Dict[Tuple[str, int], set] = {}
        self._config: Optional[kernel_config.KernelConfig] = None

    def column(self, host_path: str, index: int) -> set:
        """One column of a file's lines (empty when missing or unreadable)."""
        key = (host_path, index)
        if key not in self._columns:
            try:
                text = self.view.read(host_path) or ""
            except HostReadError as exc:
                self.unreadable[host_path] = exc.reason
                text = ""
            self._columns[key] = {line.split()[index] for line in text.splitlines() if line.split()}
        return self._columns[key]

    def builtin(self) -> set:
        if not self.tree:
            return set()
        return {path.rsplit("/", 1)[-1][:-3].replace("-", "_")
                for path in self.column(f"{self.tree}/modules.builtin", 0) if path.endswith(".ko")}

    def config(self) -> kernel_config.KernelConfig:
        if self._config is None:
            self._config = kernel_config.read(self.view, self.release)
            for path, reason in self._config.unreadable:
                self.unreadable[path] = reason
        return self._config

    def found(self, name: str) -> Optional[str]:
        """How the module was found present (the source that decided), or None."""
        if name in self.column("/proc/modules", 0):
            return "loaded (/proc/modules)"
        if name in self.builtin():
            return f"built in ({self.tree}/modules.builtin)"
        symbol = CONFIG_SYMBOLS.get(name)
        config = self.config()
        if symbol and config.get(symbol) == "y":
            return f"built in ({symbol}=y in {config.path})"
        if self.view.exists(f"/sys/module/{name}"):
            return f"present (/sys/module/{name})"
        feature = FEATURES.get(name)
        if feature and feature[1](self):
            return f"feature present ({feature[0]})"
        return None

    def consulted(self, name: str) -> List[str]:
        """The host paths that were looked at for this module, in order."""
        places = ["/proc/modules"]
        if self.tree:
            places.append(f"{self.tree}/modules.builtin")
        if name in CONFIG_SYMBOLS:
            places += kernel_config.candidates(self.release)
        places.append(f"/sys/module/{name}")
        if name in FEATURES:
            places.append(FEATURES[name][0])
        return places

    def looked_in(self, name: str) -> str:
        shown = []
        for place in self.consulted(name):
            if place in self.unreadable:
                shown.append(f"{place} (cannot be read: {self.unreadable[place]})")
            elif place.endswith("/") or place.startswith("/sys/module/") or self.view.exists(place):
                shown.append(place)
            else:
                shown.append(f"{place} (missing)")
        return ", ".join(shown)


def _verdict(ctx: Context, facts: ModuleFacts, name: str) -> CheckResult:
    check_id, title = ids.MODULE_PREFIX + name, f"Kernel module {name}"
    found = facts.found(name)
    if found:
        return CheckResult(check_id, PASS, title, found)
    required = name in ctx.req.modules
    bad = FAIL if required else WARN
    why = f"needed by {ctx.driver}" if required else f"recommended for {ctx.driver}"
    symbol, config = CONFIG_SYMBOLS.get(name), facts.config()
    if symbol and config.path:
        value = config.get(symbol)
        if value is None:
            return CheckResult(check_id, bad, title,
                               f"not in this kernel: {symbol} is not set in {config.path} ({why})",
                               fixes.as_root([f"boot a kernel built with {symbol}=y or {symbol}=m "
                                              "(your distribution's standard kernel has it)"],
                                             fixes.REBOOT, host_setup=False))
        loadable = f"a loadable module ({symbol}={value} in {config.path})"
        if "/proc/modules" in facts.unreadable:
            return CheckResult(check_id, WARN, title,
                               f"cannot tell: {loadable}; whether it is loaded: /proc/modules cannot be read "
                               f"({facts.unreadable['/proc/modules']}) ({why})", ctx.root_can_read(["/proc/modules"]))
        return CheckResult(check_id, bad, title, f"{loadable} that is not loaded (not in /proc/modules) ({why})",
                           fixes.modules([name]))
    unread = [p for p in facts.consulted(name) if p in facts.unreadable]
    if unread:
        return CheckResult(check_id, WARN, title,
                           f"cannot tell: not found in {facts.looked_in(name)} ({why})",
                           ctx.root_can_read(unread))
    tree_note = ""
    if facts.tree and not ctx.view.exists(facts.tree):
        tree_note = (f"; {facts.tree} does not exist, so no module can be loaded (a kernel without "
                     "loadable modules, or one upgraded without a reboot)")
    return CheckResult(check_id, bad, title, f"not found in {facts.looked_in(name)} ({why}){tree_note}",
                       fixes.modules([name]))


@produces(lambda ctx: [ids.MODULE_PREFIX + m for m in ctx.req.modules + ctx.req.recommended_modules])
def checks(ctx: Context) -> List[CheckResult]:
    facts = ModuleFacts(ctx.view)
    results = []
    for name in ctx.req.modules + ctx.req.recommended_modules:
        try:
            results.append(_verdict(ctx, facts, name))
        except HostReadError as exc:  # e.g. a directory on the way cannot be searched: this module only
            results.append(ctx.could_not_read(ids.MODULE_PREFIX + name, exc))
    return results


CHECKS = [checks]
