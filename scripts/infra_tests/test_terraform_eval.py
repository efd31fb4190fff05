"""Terraform itself evaluates each environment, offline.

The AWS provider cannot be downloaded here, so every module that creates resources is replaced by an
interface stub: its own variables.tf, copied verbatim (types, defaults and every validation run for real),
plus outputs with made-up ARNs of the right shape. modules/permissions creates nothing and runs as it is.
The environment's main.tf, variables.tf, outputs.tf and terraform.tfvars.example are used unchanged, but
for the provider block and the three data sources, which become constants. `terraform apply` of that
configuration creates nothing and evaluates everything: module wiring, for_each, types, validations,
the least-privilege policies and the rendered state machine definition.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from common import (
    ASL,
    ENV_NAMES,
    ENVIRONMENTS,
    MODULES,
    asl_placeholders,
    copy_tree,
    data_model_access,
    module_dir_blocks,
    permissions_functions,
    placeholder_function,
    terraform,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"

# Made-up outputs of each stubbed module (HCL expressions over the module's own variables).
STUB_OUTPUTS = {
    "kms": {
        "key_arn": f'"{KEY_ARN}"',
        "key_id": '"11111111-2222-3333-4444-555555555555"',
        "alias_name": '"alias/${var.name_prefix}"',
    },
    "config": {
        "prefix": '"/stepcart/${var.environment}"',
        "stripe_secret_key_parameter_name": '"/stepcart/${var.environment}/stripe/secret-key"',
        "stripe_secret_key_parameter_arn": f'"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/stepcart/${{var.environment}}/stripe/secret-key"',
        "stripe_webhook_secret_parameter_name": '"/stepcart/${var.environment}/stripe/webhook-secret"',
        "stripe_webhook_secret_parameter_arn": f'"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/stepcart/${{var.environment}}/stripe/webhook-secret"',
        "stripe_api_base_parameter_name": '"/stepcart/${var.environment}/stripe/api-base"',
        "stripe_api_base": "var.stripe_api_base",
    },
    "dynamodb": {
        "table_names": '{ for k, t in local.tables : k => "${var.name_prefix}-${k}" }',
        "table_arns": f'{{ for k, t in local.tables : k => "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/${{var.name_prefix}}-${{k}}" }}',
        "index_arns": f'{{ for k, t in local.tables : k => [for i in t.indexes : "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/${{var.name_prefix}}-${{k}}/index/${{i.name}}"] }}',
    },
    "notifications": {
        "topic_arn": f'"arn:aws:sns:{REGION}:{ACCOUNT}:${{var.name_prefix}}-notifications.fifo"',
        "topic_name": '"${var.name_prefix}-notifications.fifo"',
        "queue_arn": f'"arn:aws:sqs:{REGION}:{ACCOUNT}:${{var.name_prefix}}-notifications.fifo"',
        "queue_url": f'"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/${{var.name_prefix}}-notifications.fifo"',
        "dlq_arn": f'"arn:aws:sqs:{REGION}:{ACCOUNT}:${{var.name_prefix}}-notifications-dlq.fifo"',
        "dlq_name": '"${var.name_prefix}-notifications-dlq.fifo"',
        "dlq_url": f'"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/${{var.name_prefix}}-notifications-dlq.fifo"',
    },
    "lambda-function": {
        "function_name": "var.function_name",
        "arn": f'"arn:aws:lambda:{REGION}:{ACCOUNT}:function:${{var.function_name}}"',
        "invoke_arn": f'"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:{REGION}:{ACCOUNT}:function:${{var.function_name}}/invocations"',
        "role_arn": f'"arn:aws:iam::{ACCOUNT}:role/${{var.function_name}}"',
        "role_name": "var.function_name",
        "log_group_name": '"/aws/lambda/${var.function_name}"',
        "log_group_arn": f'"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/${{var.function_name}}"',
    },
    "state-machine": {
        "arn": f'"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:${{var.name}}"',
        "name": "var.name",
        "role_arn": f'"arn:aws:iam::{ACCOUNT}:role/${{var.name}}"',
        # The module's own expressions (checked to be the same by test_consistency).
        "invoked_function_arns": "sort(distinct(values(var.function_arns)))",
        "log_group_name": '"/aws/vendedlogs/states/${var.name}"',
        "harness_definition": "templatefile(var.definition_path, var.function_arns)",
    },
    "api": {
        "rest_api_id": '"abc123defg"',
        "name": "var.name",
        "stage_name": "var.stage_name",
        "url": f'"https://abc123defg.execute-api.{REGION}.amazonaws.com/${{var.stage_name}}"',
        "checkouts_url": f'"https://abc123defg.execute-api.{REGION}.amazonaws.com/${{var.stage_name}}/checkouts"',
        "stripe_webhook_url": f'"https://abc123defg.execute-api.{REGION}.amazonaws.com/${{var.stage_name}}/webhooks/stripe"',
        "api_key_id": 'var.authorization == "API_KEY" ? "k3y1d" : null',
        "access_log_group_name": '"/aws/apigateway/${var.name}/access"',
    },
    "monitoring": {
        "alarm_topic_arn": f'"arn:aws:sns:{REGION}:{ACCOUNT}:${{var.name_prefix}}-alarms"',
        "alarm_names": "[]",
        "dashboard_name": "var.name_prefix",
    },
}

# Files a stub keeps besides variables.tf (pure locals the stub outputs use).
STUB_EXTRA_FILES = {"dynamodb": ["tables.tf"]}


def test_stubs_have_exactly_the_real_outputs():
    for module, outputs in STUB_OUTPUTS.items():
        real = set(module_dir_blocks(MODULES / module, "output"))
        stubbed = {k for k in outputs if not k.startswith("harness_")}
        assert stubbed == real, f"modules/{module}: stub outputs {sorted(stubbed)} vs real {sorted(real)}"


def _stub_module(src: Path, dst: Path, outputs: dict) -> None:
    dst.mkdir(parents=True)
    shutil.copy(src / "variables.tf", dst / "variables.tf")
    for extra in STUB_EXTRA_FILES.get(src.name, []):
        shutil.copy(src / extra, dst / extra)
    variables = module_dir_blocks(src, "variable")
    lines = [f'output "{name}" {{\n  value = {expr}\n}}\n' for name, expr in outputs.items()]
    inputs = ", ".join(f"{v} = var.{v}" for v in variables)
    lines.append(f'output "harness_inputs" {{\n  value = {{ {inputs} }}\n}}\n')
    (dst / "outputs.tf").write_text("\n".join(lines))


def _without_provider_and_data(main: str) -> str:
    start = main.index('provider "aws" {')
    depth, i = 0, main.index("{", start)
    while True:
        depth += {"{": 1, "}": -1}.get(main[i], 0)
        i += 1
        if depth == 0:
            break
    main = main[:start] + main[i:]
    main = re.sub(r'^data "aws_[a-z_]+" "current" \{\}\n', "", main, flags=re.M)
    main = _constants(main)
    assert 'provider "' not in main
    return main


def _constants(text: str) -> str:
    text = text.replace("data.aws_region.current.region", "var.aws_region")
    text = text.replace("data.aws_caller_identity.current.account_id", f'"{ACCOUNT}"')
    text = text.replace("data.aws_partition.current.partition", '"aws"')
    assert "data.aws_" not in text
    return text


HARNESS_OUTPUTS = """
output "harness" {
  value = {
    functions     = { for k, m in module.functions : k => m.harness_inputs }
    state_machine = module.state_machine.harness_inputs
    definition    = module.state_machine.harness_definition
    invoked       = module.state_machine.invoked_function_arns
    api           = module.api.harness_inputs
    monitoring    = module.monitoring.harness_inputs
    dynamodb      = module.dynamodb.harness_inputs
    table_arns    = module.dynamodb.table_arns
    config        = module.config.harness_inputs
  }
}
"""


def build_harness(tmp: Path, env: str) -> Path:
    for module in STUB_OUTPUTS:
        _stub_module(MODULES / module, tmp / "modules" / module, STUB_OUTPUTS[module])
    copy_tree(MODULES / "permissions", tmp / "modules" / "permissions")
    (tmp / "workflows").mkdir()
    shutil.copy(ASL, tmp / "workflows" / ASL.name)
    env_dir = tmp / "environments" / env
    env_dir.mkdir(parents=True)
    src = ENVIRONMENTS / env
    (env_dir / "main.tf").write_text(_without_provider_and_data((src / "main.tf").read_text()))
    shutil.copy(src / "variables.tf", env_dir / "variables.tf")
    (env_dir / "outputs.tf").write_text(_constants((src / "outputs.tf").read_text()))
    shutil.copy(src / "terraform.tfvars.example", env_dir / "example.tfvars")
    (env_dir / "harness.tf").write_text(HARNESS_OUTPUTS)
    return env_dir


@pytest.fixture(scope="module", params=ENV_NAMES)
def evaluated(request, tmp_path_factory):
    env = request.param
    env_dir = build_harness(tmp_path_factory.mktemp(f"harness-{env}"), env)
    terraform("init", "-input=false", "-no-color", cwd=env_dir)
    terraform("apply", "-auto-approve", "-input=false", "-no-color", "-var-file=example.tfvars", cwd=env_dir)
    outputs = json.loads(terraform("output", "-json", cwd=env_dir).stdout)
    return env, {k: v["value"] for k, v in outputs.items()}


def test_every_function_is_deployed_with_its_name_and_package(evaluated):
    env, out = evaluated
    functions = out["harness"]["functions"]
    assert set(functions) == set(permissions_functions())
    assert out["function_names"] == {name: f"stepcart-{env}-{name}" for name in functions}
    for name, inputs in functions.items():
        assert inputs["function_name"] == f"stepcart-{env}-{name}"
        assert inputs["zip_path"].endswith(f"/target/lambda/{name}/bootstrap.zip")
        assert inputs["kms_key_arn"] == KEY_ARN


def test_the_state_machine_invokes_exactly_the_definitions_functions(evaluated):
    env, out = evaluated
    h = out["harness"]
    arns = h["state_machine"]["function_arns"]
    assert set(arns) == asl_placeholders()
    for placeholder, arn in arns.items():
        assert arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:stepcart-{env}-{placeholder_function(placeholder)}"
    assert h["invoked"] == sorted(arns.values())
    # The rendered definition: valid JSON, no placeholder left, and every function it calls is allowed.
    definition = json.loads(h["definition"])
    assert "${" not in h["definition"]
    called = set()
    for state in definition["States"].values():
        if state["Type"] == "Task":
            resource = state["Resource"]
            called.add(state["Parameters"]["FunctionName"] if resource.startswith("arn:aws:states:::lambda:invoke") else resource)
    assert called == set(h["invoked"]), "the role allows exactly the functions the definition calls"
    assert f"stepcart-{env}-stripe-webhook" not in " ".join(h["invoked"])
    # What the local engine reads from the same file survives templatefile unchanged.
    assert definition["States"]["ValidateCart"]["Parameters"]["executionName.$"] == "$$.Execution.Name"
    assert definition == _render_like_the_cli(arns)


def _render_like_the_cli(arns: dict) -> dict:
    text = ASL.read_text()
    return json.loads(re.sub(r"\$\{([a-z0-9_]+)\}", lambda m: arns[m.group(1)], text))


def test_logging_follows_the_environment(evaluated):
    env, out = evaluated
    sm = out["harness"]["state_machine"]
    expected = {"dev": ("ALL", True), "staging": ("ALL", False), "prod": ("ERROR", False)}[env]
    assert (sm["log_level"], sm["include_execution_data"]) == expected
    assert sm["tracing_enabled"] is True
    assert out["harness"]["dynamodb"]["deletion_protection"] is (env != "dev")


def _table_of(arn: str, table_arns: dict) -> str | None:
    for table, table_arn in table_arns.items():
        if arn == table_arn or arn.startswith(table_arn + "/index/"):
            return table
    return None


def test_each_functions_policy_is_the_data_model_matrix_and_nothing_more(evaluated):
    env, out = evaluated
    h = out["harness"]
    documented = data_model_access()
    table_arns = h["table_arns"]
    config = {
        "secret_key": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/stepcart/{env}/stripe/secret-key",
        "webhook_secret": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/stepcart/{env}/stripe/webhook-secret",
    }
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:stepcart-{env}-notifications.fifo"
    for name, inputs in h["functions"].items():
        granted: dict = {}
        for st in inputs["policy_statements"]:
            actions = set(st["actions"])
            services = {a.split(":")[0] for a in actions}
            assert len(services) == 1, f"{name}/{st['sid']} mixes services"
            service = services.pop()
            if service == "dynamodb":
                tables = {_table_of(r, table_arns) for r in st["resources"]}
                assert None not in tables and len(tables) == 1, f"{name}/{st['sid']}: {st['resources']}"
                table = tables.pop()
                keys = set()
                for c in st["conditions"]:
                    assert (c["test"], c["variable"]) == ("ForAllValues:StringLike", "dynamodb:LeadingKeys"), c
                    keys |= set(c["values"])
                granted[table] = {"actions": {a.split(":")[1] for a in actions}, "leading_keys": keys}
            elif service == "ssm":
                assert actions == {"ssm:GetParameter"}
                assert set(st["resources"]) <= set(config.values()), st
            elif service == "sns":
                assert actions == {"sns:Publish"} and st["resources"] == [topic], st
            elif service == "states" and actions == {"states:DescribeExecution"}:
                assert name == "checkout-status", f"{name} may not describe executions"
                assert st["resources"] == [f"arn:aws:states:{REGION}:{ACCOUNT}:execution:stepcart-{env}-checkout:*"], st
                assert st["conditions"] == [], st
            elif service == "states":
                assert actions == {"states:SendTaskSuccess", "states:SendTaskFailure"}, st
                assert name in ("await-payment-authentication", "stripe-webhook"), f"{name} may not answer task tokens"
            elif service == "kms":
                assert st["resources"] == [KEY_ARN]
                assert [c["variable"] for c in st["conditions"]] == ["kms:ViaService"], "the key only through services"
            else:
                raise AssertionError(f"{name}: unexpected service {service}")
            assert "*" not in st["resources"] or service == "states", f"{name}/{st['sid']} uses '*'"
        assert granted == documented[name], f"{env}/{name}: {granted} != docs/data-model.md {documented[name]}"
        # The function is told the names of exactly the tables it may touch.
        told = {k.removeprefix("STEPCART_TABLE_").lower() for k in inputs["environment"] if k.startswith("STEPCART_TABLE_")}
        assert told == set(documented[name]), name
        assert inputs["environment"]["STEPCART_ENV"] == env
        # Only checkout-status is told the state machine, and it is the one the environment deploys.
        if name == "checkout-status":
            assert inputs["environment"]["STEPCART_STATE_MACHINE_ARN"] == h["api"]["state_machine_arn"], name
        else:
            assert "STEPCART_STATE_MACHINE_ARN" not in inputs["environment"], name
        assert not any("secret" in v.lower() and not v.startswith("/stepcart/") for v in inputs["environment"].values())


def test_the_api_and_the_alarms_cover_the_environment(evaluated):
    env, out = evaluated
    h = out["harness"]
    assert h["api"]["state_machine_arn"] == f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:stepcart-{env}-checkout"
    assert h["api"]["webhook_function_name"] == f"stepcart-{env}-stripe-webhook"
    assert h["api"]["status_function_name"] == f"stepcart-{env}-checkout-status"
    assert h["api"]["status_function_invoke_arn"].endswith(f":function:stepcart-{env}-checkout-status/invocations")
    assert h["api"]["authorization"] == "API_KEY"
    assert sorted(h["monitoring"]["function_names"]) == sorted(f"stepcart-{env}-{n}" for n in h["functions"])
    assert h["monitoring"]["dlq_names"] == [f"stepcart-{env}-notifications-dlq.fifo"]
    assert out["api_url"].startswith("https://") and out["api_key_id"] == "k3y1d"


# --------------------------------------------------------- the state machine module refuses a wrong map


@pytest.mark.parametrize("change", ["missing", "extra"])
def test_state_machine_refuses_function_arns_that_do_not_match_the_definition(tmp_path, change):
    stub = tmp_path / "sm"
    _stub_module(MODULES / "state-machine", stub, STUB_OUTPUTS["state-machine"])
    shutil.copy(ASL, tmp_path / "checkout.asl.json")
    arns = {p: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:x-{placeholder_function(p)}" for p in sorted(asl_placeholders())}
    if change == "missing":
        arns.pop(sorted(arns)[0])
    else:
        arns["extra_function_arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:x-extra"
    body = ", ".join(f'"{k}" = "{v}"' for k, v in arns.items())
    (tmp_path / "main.tf").write_text(
        f"""module "sm" {{
  source                 = "./sm"
  name                   = "x-checkout"
  definition_path        = "${{path.root}}/checkout.asl.json"
  function_arns          = {{ {body} }}
  log_level              = "ERROR"
  include_execution_data = false
  log_retention_days     = 14
}}
"""
    )
    terraform("init", "-input=false", "-no-color", cwd=tmp_path)
    proc = terraform("plan", "-input=false", "-no-color", cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert "must name exactly the <task>_function_arn placeholders" in proc.stderr + proc.stdout


def test_checkout_status_has_exactly_its_permissions_and_environment(evaluated):
    env, out = evaluated
    inputs = out["harness"]["functions"]["checkout-status"]
    statements = {st["sid"]: st for st in inputs["policy_statements"]}
    assert set(statements) == {"TablePayments", "ReadStripeSecretKey", "DescribeCheckoutExecutions", "UseEnvironmentKeyThroughServices"}
    assert statements["TablePayments"]["actions"] == ["dynamodb:GetItem"]
    assert statements["TablePayments"]["conditions"] == [
        {"test": "ForAllValues:StringLike", "variable": "dynamodb:LeadingKeys", "values": ["PAYMENT#*"]}
    ]
    assert statements["ReadStripeSecretKey"]["resources"] == [
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/stepcart/{env}/stripe/secret-key"
    ]
    assert statements["UseEnvironmentKeyThroughServices"]["conditions"][0]["values"] == [
        f"lambda.{REGION}.amazonaws.com", f"dynamodb.{REGION}.amazonaws.com", f"ssm.{REGION}.amazonaws.com"
    ]
    assert inputs["environment"] == {
        "STEPCART_BACKEND": "aws",
        "STEPCART_PAYMENT": "stripe",
        "STEPCART_ENV": env,
        "RUST_LOG": inputs["environment"]["RUST_LOG"],
        "STEPCART_TABLE_PAYMENTS": f"stepcart-{env}-payments",
        "STEPCART_STRIPE_SECRET_KEY_PARAMETER": f"/stepcart/{env}/stripe/secret-key",
        "STRIPE_API_BASE": inputs["environment"]["STRIPE_API_BASE"],
        "STEPCART_STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:stepcart-{env}-checkout",
    }
    assert inputs["environment"]["STRIPE_API_BASE"].startswith("https://")
    assert inputs["timeout"] <= 10, "the function must answer within the API's 10 s integration timeout"
