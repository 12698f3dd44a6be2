"""Configs for hosts that do not exist yet: Butane (Fedora CoreOS), cloud-init, systemd units.

Everything here is text in, text out: nothing reads or changes this host.
The host files come from rootlesskube.host.content, the same code `rootlesskube-host-setup`
uses, so a VM built from an export is set up exactly as host_setup would set it up.
"""
