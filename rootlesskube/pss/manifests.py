"""Reading Kubernetes manifests: YAML (multi-document) or JSON, files, directories or stdin.

Every object comes back as a Document that knows where it came from (file,
1-based document index, 1-based line), so an error or a verdict can point at
it. A `List` (or `PodList`, ... as `kubectl get -o json` prints) is expanded
into its items, each with its own line. Unreadable input raises ManifestError.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import yaml

from .. import inputs

STDIN = inputs.STDIN
STDIN_NAME = inputs.STDIN_NAME
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

# where each kind keeps its pod metadata and spec (the kinds PodSecurity admission evaluates)
_TEMPLATE_PATHS = {
    "Pod": (),
    "PodTemplate": ("template",),
    "ReplicationController": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
WORKLOAD_KINDS = tuple(_TEMPLATE_PATHS)


ManifestError = inputs.InputError
"""A manifest that cannot be read; the message names file, document and line (or file:line:col)."""


@dataclass(frozen=True)
class Document:
    file: str
    doc_index: int  # 1-based position of the YAML document in its file
    line: int  # 1-based line where the object starts
    obj: dict
    item: Optional[int] = None  # 0-based index in a List's items, None otherwise

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def name(self) -> str:
        metadata = self.obj.get("metadata") or {}
        return str(metadata.get("name") or metadata.get("generateName") or "")

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def has_pod_spec(obj: dict) -> bool:
    return obj.get("kind") in _TEMPLATE_PATHS


def list_items(obj: dict) -> Optional[list]:
    """The items of a `List` (or `PodList`, ...); None for any other object."""
    items = obj.get("items")
    return items if str(obj.get("kind") or "").endswith("List") and isinstance(items, list) else None


def pod_spec_of(obj: dict) -> Optional[Tuple[dict, dict]]:
    """(metadata, spec) of a Pod or of a workload's pod template; None for other kinds
    and for a workload without a template."""
    path = _TEMPLATE_PATHS.get(obj.get("kind"))
    if path is None:
        return None
    node = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    if not isinstance(node, dict):
        return None
    return node.get("metadata") or {}, node.get("spec") or {}


def load(paths: List[str]) -> List[Document]:
    """Every object in the given files (`-` is stdin; a directory means its manifests, sorted)."""
    documents: List[Document] = []
    for path in paths:
        for file in _expand(path):
            documents.extend(load_text(_read(file), STDIN_NAME if file == STDIN else file))
    return documents


def load_text(text: str, file: str) -> List[Document]:
    """The objects in one file's text; `file` is only used to name it."""
    if text.lstrip().startswith(("{", "[")):
        return _load_json(text, file)
    return list(_load_yaml(text, file))


def _expand(path: str) -> List[str]:
    if path != STDIN and os.path.isdir(path):
        found = sorted(os.path.join(path, n) for n in os.listdir(path) if n.endswith(MANIFEST_SUFFIXES))
        if not found:
            raise ManifestError(f"{path}: the directory holds no .yaml, .yml or .json file",
                                hint="give a manifest file, a directory of manifests, or - for stdin")
        return found
    return [path]


def _read(file: str) -> str:
    return inputs.read_text(file, "manifest")


def _load_yaml(text: str, file: str) -> Iterator[Document]:
    loader = inputs.BoundedLoader("")  # only its (safe, bounded) constructor is used
    index = 0
    try:
        for node in inputs.compose_all(text, file):
            index += 1
            if node is None:
                continue
            obj = _construct(loader, node)
            if obj is None:
                continue  # an empty document, as between two `---`
            yield from _documents(obj, file, index, node.start_mark.line + 1, _item_lines(node))
    except yaml.YAMLError as exc:
        raise inputs.yaml_error(file, exc, max(index, 1)) from None
    finally:
        loader.dispose()


_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct(loader, node):
    """The Python object of a node: the safe constructor's result, about 3x faster for
    manifests (plain strings and containers skip its per-node bookkeeping)."""
    if isinstance(node, yaml.ScalarNode):
        return node.value if node.tag == _STR_TAG else loader.construct_object(node)
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
        return [_construct(loader, child) for child in node.value]
    if node.tag != _MAP_TAG or any(key.tag == _MERGE_TAG for key, _ in node.value):
        # `<<: *anchor` and explicit tags need the full (safe) constructor
        return loader.construct_object(node, deep=True)
    return {_construct(loader, key): _construct(loader, value) for key, value in node.value}


def _item_lines(node) -> List[int]:
    """Start lines of a List's items, read from the YAML node."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "items" and isinstance(value, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in value.value]
    return []


def _load_json(text: str, file: str) -> List[Document]:
    obj = inputs.load_json(text, file)
    return list(_documents(obj, file, 1, 1, []))


def _documents(obj, file: str, index: int, line: int, item_lines: List[int]) -> Iterator[Document]:
    if not isinstance(obj, dict) or not obj.get("kind"):
        what = "has no kind" if isinstance(obj, dict) else f"is a {type(obj).__name__}, not an object"
        raise ManifestError(f"{file}: document {index}, line {line}: {what}, so it is not a Kubernetes object",
                            hint="each document needs apiVersion, kind and metadata")
    _check_shape(obj, f"{file}: document {index}, line {line}")
    items = list_items(obj)
    if items is not None:
        for number, item in enumerate(items):
            item_line = item_lines[number] if number < len(item_lines) else line
            if not isinstance(item, dict) or not item.get("kind"):
                raise ManifestError(f"{file}: document {index}, line {item_line}: item {number} of the "
                                    f"{obj['kind']} has no kind", hint="each item needs apiVersion and kind")
            _check_shape(item, f"{file}: document {index}, line {item_line}")
            yield Document(file, index, item_line, item, number)
        return
    yield Document(file, index, line, obj)


def _check_shape(obj: dict, where: str) -> None:
    """kind a string, metadata a mapping with string names: what every reader of a Document relies on."""
    if not isinstance(obj.get("kind"), str):
        raise ManifestError(f"{where}: kind is a {type(obj['kind']).__name__}, not a string",
                            hint="kind names the object's type, e.g. kind: Pod")
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ManifestError(f"{where}: metadata is a {type(metadata).__name__}, not a mapping",
                            hint="metadata holds name, namespace and labels")
    for key in ("name", "generateName", "namespace"):
        value = (metadata or {}).get(key)
        if value is not None and not isinstance(value, str):
            raise ManifestError(f"{where}: metadata.{key} is a {type(value).__name__}, not a string",
                                hint=f"write metadata.{key} as a string")
