"""The AWS provider's schema without the provider: the names of every argument and block of a resource or
data source, and which are required, read from npm's @cdktf/provider-aws (generated from the provider's
own schema; 21.22.x is hashicorp/aws 6.25.0). Terraform cannot run `validate` here (the registry is out of
reach), so this is what catches a misspelt argument, a block used as an attribute or a missing required
argument before an apply would."""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path

from common import ROOT

PACKAGE = Path(os.environ.get("STEPCART_CDKTF_AWS", ROOT / ".tools" / "infra" / "npm" / "node_modules" / "@cdktf" / "provider-aws"))

_ENTRY = re.compile(
    r"(\w+): \{\s*value: (.*?),\s*isBlock: (true|false),\s*type: \"(\w+)\",\s*storageClassType: \"(\w+)\",?\s*\}",
    re.S,
)
_STRUCT_FN = re.compile(r"^function (\w+)ToHclTerraform\(struct\) \{$", re.M)


def available() -> bool:
    return (PACKAGE / "package.json").is_file()


def provider_version() -> str:
    return json.loads((PACKAGE / "package.json").read_text())["cdktf"]["provider"]["version"]


def _camel(js_value: str) -> str | None:
    m = re.search(r"(?:this\._|struct\.)(\w+)", js_value)
    return m.group(1) if m else None


def _required(dts: str, interface: str) -> set[str]:
    m = re.search(r"export interface %s (?:extends [\w.]+ )?\{(.*?)\n\}" % re.escape(interface), dts, re.S)
    if not m:
        return set()
    return set(re.findall(r"^\s+readonly (\w+): ", m.group(1), re.M))


def _entries(body: str) -> dict:
    found = {}
    for name, value, is_block, kind, _storage in _ENTRY.findall(body):
        nested = re.search(r"(?<!cdktf\.)\b(\w+)ToHclTerraform\b", value)
        found[name] = {
            "block": is_block == "true",
            "nested": nested.group(1) if (is_block == "true" and nested) else None,
            "camel": _camel(value),
        }
    return found


@lru_cache(maxsize=None)
def _load_dir(directory: str) -> dict:
    js = (PACKAGE / "lib" / directory / "index.js").read_text()
    dts = (PACKAGE / "lib" / directory / "index.d.ts").read_text()
    type_match = re.search(r'\.tfResourceType = "([a-z0-9_]+)";', js)
    cls = re.search(r"^class (\w+) extends cdktf\.Terraform(?:Resource|DataSource) \{", js, re.M)
    structs = {}
    starts = [(m.start(), m.group(1)) for m in _STRUCT_FN.finditer(js)]
    for i, (start, fn) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(js)
        body = js[start:end]
        body = body[: body.find("\n}\n") + 2] if "\n}\n" in body else body
        iface = fn[0].upper() + fn[1:]
        structs[fn] = {"attrs": _entries(body), "required": _required(dts, iface)}
    top_body = js[js.index("synthesizeHclAttributes() {") :]
    top_body = top_body[: top_body.index("return Object.fromEntries")]
    top = {"attrs": _entries(top_body), "required": _required(dts, f"{cls.group(1)}Config") if cls else set()}
    return {"type": type_match.group(1) if type_match else None, "top": top, "structs": structs}


def _directory(kind: str, type_name: str) -> str:
    stem = type_name.removeprefix("aws_").replace("_", "-")
    return f"data-aws-{stem}" if kind == "data" else stem


def schema(kind: str, type_name: str) -> dict | None:
    """{'attrs': {name: {'block', 'nested'}}, 'required': {snake names}, 'structs': ...} or None if unknown."""
    directory = _directory(kind, type_name)
    if not (PACKAGE / "lib" / directory / "index.js").is_file():
        return None
    loaded = _load_dir(directory)
    if loaded["type"] != type_name:
        return None
    return loaded


def required_names(block_schema: dict) -> set[str]:
    by_camel = {a["camel"]: name for name, a in block_schema["attrs"].items() if a["camel"]}
    return {by_camel[c] for c in block_schema["required"] if c in by_camel}
