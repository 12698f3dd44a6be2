"""`tools install`: pinned, checksum-verified cluster tools in the data directory."""

from __future__ import annotations

from plumbum import cli

from . import Command, Group


class Tools(Group):
    DESCRIPTION = "Manage the cluster tools rootlesskube downloads (kind, minikube, kubectl, podman-compose)."


class ToolsInstall(Command):
    DESCRIPTION = (
        "Download a pinned release of kind, minikube or kubectl into the data directory, verify its sha256 "
        "against the list pinned in rootlesskube, refuse a mismatch. podman-compose (for Usernetes) is "
        "pip-installed into a venv there with --require-hashes. The drivers use them before PATH."
    )

    base_url = cli.SwitchAttr(["--base-url"], str, help="download from this mirror (BASE/NAME/VERSION/FILE)")
    find_links = cli.SwitchAttr(["--find-links"], str,
                                help="podman-compose: take its wheels from this folder, not PyPI (pip --no-index)")
    json = cli.Flag(["--json"], help="print what was installed as JSON")

    def main(self, *names: str):
        from .. import tools, ui
        from ..names import base_url

        if self.base_url is not None:
            base_url(self.base_url)
        wanted = names or ("kind", "kubectl")
        for name in wanted:
            tools.release(name)  # every name known before anything is downloaded
        installed = []
        for name in wanted:
            release = tools.release(name)
            with ui.step(f"install {name} {release.version}"):
                path = tools.install(name, base_url=self.base_url, find_links=self.find_links)
            installed.append({"name": name, "version": release.version, "sha256": release.sha256, "path": str(path)})
        if self.json:
            ui.emit_json(installed)
        else:
            for item in installed:
                print(f"{item['name']} {item['version']}: {item['path']}")
        return 0


Tools.subcommand("install", ToolsInstall)
