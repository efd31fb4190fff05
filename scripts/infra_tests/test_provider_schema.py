"""Every resource and data source of modules/ uses only arguments and blocks the AWS provider 6.x defines,
and sets every required one (schema from npm's @cdktf/provider-aws; see provider_schema.py)."""

from __future__ import annotations

import os

import pytest

import provider_schema
from common import MODULES, ROOT, module_dir_blocks

pytestmark = pytest.mark.skipif(
    not provider_schema.available() and not os.environ.get("STEPCART_REQUIRE_PROVIDER_SCHEMA"),
    reason="npm @cdktf/provider-aws is not installed (scripts/test-infra.sh installs it into .tools/infra/npm)",
)

META = {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"}


def _check_body(body: dict, block_schema: dict, structs: dict, where: str, problems: list, top: bool) -> None:
    attrs = block_schema["attrs"]
    present = set()
    for key, value in body.items():
        if top and key in META:
            continue
        if key == "dynamic":
            for dyn in value:
                for name, spec in dyn.items():
                    present.add(name)
                    if name not in attrs or not attrs[name]["block"]:
                        problems.append(f"{where}: dynamic \"{name}\" is not a block of this type")
                        continue
                    nested = structs.get(attrs[name]["nested"])
                    for content in spec.get("content", []):
                        if nested:
                            _check_body(content, nested, structs, f"{where}.{name}", problems, False)
            continue
        present.add(key)
        if key not in attrs:
            problems.append(f"{where}: unknown argument or block \"{key}\"")
            continue
        spec = attrs[key]
        if spec["block"]:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                # A block set as an attribute (key = {...}) is only valid for attributes, not blocks.
                problems.append(f"{where}: \"{key}\" is a block, write it as {key} {{ ... }}")
                continue
            nested = structs.get(spec["nested"])
            if nested:
                for item in value:
                    _check_body(item, nested, structs, f"{where}.{key}", problems, False)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value) and key not in ("tags",):
            # python-hcl2 renders `key { ... }` as a list of dicts and `key = {...}` as a dict.
            problems.append(f"{where}: \"{key}\" is an argument, write it as {key} = ...")
    missing = provider_schema.required_names(block_schema) - present
    if missing:
        problems.append(f"{where}: missing required {sorted(missing)}")


def _all_blocks():
    for module in sorted(p for p in MODULES.iterdir() if p.is_dir()):
        for kind in ("resource", "data"):
            for label, body in module_dir_blocks(module, kind).items():
                yield module.name, kind, label, body


def test_the_schema_is_the_6x_provider():
    assert provider_schema.provider_version().startswith("6."), provider_schema.provider_version()


@pytest.mark.parametrize("module, kind, label, body", list(_all_blocks()), ids=lambda v: v if isinstance(v, str) else "")
def test_arguments_and_blocks_exist_in_the_provider(module, kind, label, body):
    type_name, _ = label.split(".", 1)
    loaded = provider_schema.schema(kind, type_name)
    assert loaded is not None, f"modules/{module}: {kind} {type_name} is not an AWS provider 6.x {kind} type"
    problems: list = []
    _check_body(body, loaded["top"], loaded["structs"], f"modules/{module} {kind}.{label}", problems, True)
    assert not problems, "\n".join(problems)
