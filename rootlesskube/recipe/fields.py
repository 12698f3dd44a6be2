"""A small typed schema for YAML node trees: each error names file:line:col and what was expected.

The recipe loader composes the YAML node tree (yaml.compose keeps every node's
position) and walks it with these types, so an unknown key, a wrong type or a
bad value is reported where it is written. The same types render the JSON
Schema published for editors (`json_schema()`), so the two cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

import yaml

from ..errors import UsageError


class SchemaError(UsageError):
    """A document does not match its schema; the message starts with file:line:col."""

    def __init__(self, file: str, node: yaml.Node, problem: str, expected: str):
        mark = node.start_mark
        self.file, self.line, self.column = file, mark.line + 1, mark.column + 1
        super().__init__(f"{file}:{self.line}:{self.column}: {problem}; expected {expected}",
                         hint=f"fix line {self.line} of {file} (`rootlesskube recipes show NAME` prints a valid one)")


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag.endswith(":null"):
        return "nothing (null)"
    return f"{node.value!r}"


class Type:
    expected = ""

    def load(self, node: yaml.Node, file: str) -> Any:
        raise NotImplementedError

    def json_schema(self) -> dict:
        raise NotImplementedError


@dataclass
class Str(Type):
    """A string; `choices` limits it, `check` validates it (raising UsageError, whose message is kept)."""

    expected: str = "a string"
    choices: Sequence[str] = ()
    check: Optional[Callable[[str], Any]] = None
    pattern: Optional[str] = None  # for the JSON Schema only; `check` is what the loader enforces

    def load(self, node: yaml.Node, file: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or not node.tag.endswith(":str"):
            raise SchemaError(file, node, f"found {_describe(node)}", self.expected)
        if self.choices and node.value not in self.choices:
            raise SchemaError(file, node, f"found {node.value!r}", "one of: " + ", ".join(self.choices))
        if self.check is not None:
            try:
                self.check(node.value)
            except UsageError as exc:
                raise SchemaError(file, node, exc.message, self.expected) from None
        return node.value

    def json_schema(self) -> dict:
        schema: Dict[str, Any] = {"type": "string", "description": self.expected}
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.pattern:
            schema["pattern"] = self.pattern
        return schema


@dataclass
class Int(Type):
    minimum: int = 0
    maximum: int = 2**31 - 1
    expected: str = ""

    def load(self, node: yaml.Node, file: str) -> int:
        expected = self.expected or f"an integer from {self.minimum} to {self.maximum}"
        if not isinstance(node, yaml.ScalarNode) or not node.tag.endswith(":int"):
            raise SchemaError(file, node, f"found {_describe(node)}", expected)
        text = node.value.replace("_", "")
        if not re.fullmatch(r"[-+]?(0|[1-9][0-9]{0,17})", text):
            raise SchemaError(file, node, f"found {node.value[:40]!r}", expected)
        value = int(text)
        if not self.minimum <= value <= self.maximum:
            raise SchemaError(file, node, f"found {value}", expected)
        return value

    def json_schema(self) -> dict:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


@dataclass
class Bool(Type):
    """true or false (YAML 1.1's yes/no/on/off are refused: inputs.compose_one keeps only core tags)."""

    description: str = ""
    expected: str = "true or false"

    def load(self, node: yaml.Node, file: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or not node.tag.endswith(":bool") \
                or node.value not in ("true", "false"):
            raise SchemaError(file, node, f"found {_describe(node)}", self.expected)
        return node.value == "true"

    def json_schema(self) -> dict:
        return {"type": "boolean", "description": self.description or self.expected}


@dataclass
class List_(Type):
    item: Type
    min_items: int = 0

    def load(self, node: yaml.Node, file: str) -> list:
        if not isinstance(node, yaml.SequenceNode):
            raise SchemaError(file, node, f"found {_describe(node)}", "a list")
        if len(node.value) < self.min_items:
            raise SchemaError(file, node, f"found {len(node.value)} items", f"at least {self.min_items}")
        return [self.item.load(child, file) for child in node.value]

    def json_schema(self) -> dict:
        schema = {"type": "array", "items": self.item.json_schema()}
        if self.min_items:
            schema["minItems"] = self.min_items
        return schema


class Fields(dict):
    """What Obj.load returns: the values by key, and in `nodes` the node of each value (for later errors)."""

    def __init__(self):
        super().__init__()
        self.nodes: Dict[str, yaml.Node] = {}


@dataclass
class Path_(Str):
    """A path to an existing file, relative to the folder of the document that names it."""

    expected: str = "a file path, relative to the recipe"

    def load(self, node: yaml.Node, file: str) -> str:
        value = super().load(node, file)
        path = Path(file).resolve().parent / value
        if not path.is_file():
            raise SchemaError(file, node, f"the file {value!r} does not exist ({path})", self.expected)
        from ..inputs import check_readable

        try:
            check_readable(str(path))
        except UsageError as exc:
            raise SchemaError(file, node, exc.message, self.expected) from None
        return value


@dataclass
class Obj(Type):
    """A mapping with known keys (a missing optional key is absent from the result)."""

    fields: Dict[str, Type]
    required: Sequence[str] = ()
    description: str = ""

    def load(self, node: yaml.Node, file: str) -> dict:
        if not isinstance(node, yaml.MappingNode):
            raise SchemaError(file, node, f"found {_describe(node)}", "a mapping with keys " + self._keys())
        result = Fields()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key not in self.fields:
                raise SchemaError(file, key_node, f"unknown key {key!r}", "one of the keys " + self._keys())
            if key in result:
                raise SchemaError(file, key_node, f"the key {key!r} is repeated", "each key once")
            result[key] = self.fields[key].load(value_node, file)
            result.nodes[key] = value_node
        missing = [k for k in self.required if k not in result]
        if missing:
            raise SchemaError(file, node, f"the key {missing[0]!r} is missing", "the keys " + ", ".join(self.required))
        return result

    def _keys(self) -> str:
        return ", ".join(self.fields)

    def json_schema(self) -> dict:
        schema: Dict[str, Any] = {"type": "object", "additionalProperties": False,
                                  "properties": {k: t.json_schema() for k, t in self.fields.items()}}
        if self.required:
            schema["required"] = list(self.required)
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass
class Tagged(Type):
    """A mapping whose `type` key selects its schema (workloads, checks)."""

    variants: Dict[str, Obj] = field(default_factory=dict)

    def load(self, node: yaml.Node, file: str) -> dict:
        if not isinstance(node, yaml.MappingNode):
            raise SchemaError(file, node, f"found {_describe(node)}", "a mapping with a `type` key")
        type_node = next((v for k, v in node.value if getattr(k, "value", None) == "type"), None)
        if type_node is None:
            raise SchemaError(file, node, "the key 'type' is missing", "type: one of " + ", ".join(self.variants))
        kind = Str(choices=tuple(self.variants)).load(type_node, file)
        return self.variants[kind].load(node, file)

    def json_schema(self) -> dict:
        return {"oneOf": [variant.json_schema() for variant in self.variants.values()]}


def compose(text: str, file: str) -> yaml.Node:
    """The node tree of one YAML document; a syntax error names file:line:col."""
    from ..inputs import compose_one

    node = compose_one(text, file)  # bounded: depth, aliases, duplicate keys, core tags; file:line:col
    if node is None:
        raise UsageError(f"{file}: the file is empty", hint="`rootlesskube recipes show kind-pmm3-restricted` "
                                                           "prints a complete recipe to start from")
    return node
