"""`rootlesskube image load`: images from your Podman store into every node of a cluster."""

from __future__ import annotations

from plumbum import cli

from . import Command, Group


class Image(Group):
    DESCRIPTION = "Images from your rootless Podman store into a cluster's nodes."


class ImageLoad(Command):
    DESCRIPTION = (
        "Put IMAGE (one or more, from your rootless Podman store: what `podman build` or `podman pull` left "
        "there) into every node of a cluster rootlesskube created. kind: `podman save` to a file, then "
        "`kind load image-archive FILE` (never `kind load docker-image`, which calls docker); minikube: "
        "`minikube image load FILE --rootless -p NAME`; Usernetes: into the node's containerd (`ctr images "
        "import`). An image every node already holds (same id, same name) is skipped; the report says what was "
        "loaded and what was skipped."
    )

    name = cli.SwitchAttr(["--name"], str, default="rootlesskube", help="the cluster (default: rootlesskube)")
    json = cli.Flag(["--json"], help="print what was loaded and skipped as JSON on stdout")

    def main(self, *image: str):
        from .. import images, ui
        from ..errors import UsageError
        from ..podman import image_ref
        from ..workloads.target import resolve

        if not image:
            raise UsageError("name at least one image", hint="rootlesskube image load localhost/myapp:dev")
        for ref in image:
            image_ref(ref)
        target = resolve(self.name, None)
        local = images.local_images(image)
        images.require_running(target.driver, target.cluster)
        with ui.step(f"load {len(set(image))} image(s) into cluster {target.cluster}"):
            report = images.load(target.driver, target.cluster, list(image), local=local)
        if self.json:
            ui.emit_json(report.as_dict())
            return 0
        for result in report.images:
            why = f" ({result.why})" if result.why else ""
            print(f"{result.action:8} {result.image}  id {result.id[:12]}{why}")
        print(f"cluster {report.cluster} ({report.driver}): {len(report.loaded)} loaded, "
              f"{len(report.skipped)} skipped")
        return 0


Image.subcommand("load", ImageLoad)
