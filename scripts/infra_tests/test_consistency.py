"""Static consistency of the Terraform code with the state machine, the Lambda binaries, the data model and
itself, read with python-hcl2 (no provider, no AWS)."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from common import (
    ASL,
    ENV_NAMES,
    ENVIRONMENTS,
    MODULE_NAMES,
    MODULES,
    PENDING_BINARIES,
    ROOT,
    asl_placeholders,
    blocks,
    data_model_access,
    data_model_tables,
    lambda_binaries,
    locals_of,
    module_dir_blocks,
    parse,
    permissions_functions,
    placeholder_function,
)

# ---------------------------------------------------------------------- state machine <-> functions


def test_the_definition_has_the_nine_task_placeholders():
    assert len(asl_placeholders()) == 9, sorted(asl_placeholders())


def test_every_asl_placeholder_is_filled_by_the_function_of_that_name():
    functions = permissions_functions()
    by_placeholder = {fn["placeholder"]: name for name, fn in functions.items() if fn["placeholder"] is not None}
    assert set(by_placeholder) == asl_placeholders(), "placeholders of modules/permissions vs workflows/checkout.asl.json"
    for placeholder, name in by_placeholder.items():
        assert name == placeholder_function(placeholder), f"{placeholder} is filled by {name}"


def test_every_lambda_binary_is_deployed():
    deployed = set(permissions_functions())
    binaries = lambda_binaries()
    assert binaries, "no binaries found in tasks/lambdas/src/bin"
    assert binaries <= deployed, f"binaries not deployed: {sorted(binaries - deployed)}"
    not_yet_built = deployed - binaries
    assert not_yet_built <= set(PENDING_BINARIES), f"deployed functions without a binary: {sorted(not_yet_built)}"


def test_every_environment_deploys_every_function_and_wires_every_placeholder():
    for env in ENV_NAMES:
        main = parse(ENVIRONMENTS / env / "main.tf")
        modules = blocks(main, "module")
        local = locals_of(ENVIRONMENTS / env / "main.tf")
        assert local["functions"] == "${module.permissions.functions}", env
        functions = modules["functions"]
        assert functions["source"] == "../../modules/lambda-function", env
        assert functions["for_each"] == "${local.functions}", f"{env}: every function of modules/permissions is deployed"
        assert functions["policy_statements"] == "${each.value.policy_statements}", env
        assert functions["zip_path"] == "${local.lambda_zip_dir}/${each.key}/bootstrap.zip", env
        sm = modules["state_machine"]
        assert sm["definition_path"] == "${local.repository_root}/workflows/checkout.asl.json", env
        arns = re.sub(r"\s+", " ", sm["function_arns"])
        assert arns == "${{for name, fn in local.functions : fn.placeholder => module.functions[name].arn if fn.placeholder != null}}", (
            f"{env}: function_arns must map every placeholder to its deployed function: {arns}"
        )
        api = modules["api"]
        assert api["webhook_function_invoke_arn"] == '${module.functions["stripe-webhook"].invoke_arn}', env
        assert api["status_function_name"] == '${module.functions["checkout-status"].function_name}', env
        assert api["status_function_invoke_arn"] == '${module.functions["checkout-status"].invoke_arn}', env
        # checkout-status is told the state machine's ARN built from its name, never module.state_machine's
        # output (the state machine depends on every function: that would be a cycle).
        assert modules["permissions"]["state_machine_arn"] == "${local.state_machine_arn}", env
        assert local["state_machine_arn"] == (
            "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.region}:"
            "${data.aws_caller_identity.current.account_id}:stateMachine:${local.state_machine_name}"
        ), env
        assert "module.state_machine" not in json.dumps(modules["permissions"]) + json.dumps(functions), env


def test_the_state_machine_role_invokes_exactly_the_functions_passed_in():
    sm = MODULES / "state-machine"
    local = locals_of(sm / "main.tf")
    assert local["invoked_arns"] == "${sort(distinct(values(var.function_arns)))}"
    assert local["definition"] == "${templatefile(var.definition_path, var.function_arns)}"
    docs = module_dir_blocks(sm, "data")
    lambda_statements = []
    for name, doc in docs.items():
        for statement in doc.get("statement", []):
            actions = statement.get("actions", [])
            if any(a.startswith("lambda:") for a in actions):
                lambda_statements.append((name, statement))
    assert len(lambda_statements) == 1, lambda_statements
    _, statement = lambda_statements[0]
    assert statement["actions"] == ["lambda:InvokeFunction"]
    assert statement["resources"] == "${local.invoked_arns}"
    assert statement.get("effect", "Allow") == "Allow"
    # function_arns is validated against the definition's placeholders: no more, no fewer.
    variable = module_dir_blocks(sm, "variable")["function_arns"]
    conditions = " ".join(v["condition"] for v in variable["validation"])
    assert "file(var.definition_path)" in conditions and "setsubtract" in conditions


def test_no_other_role_can_invoke_a_function():
    offenders = []
    for tf in MODULES.rglob("*.tf"):
        text = tf.read_text(encoding="utf-8")
        if "lambda:InvokeFunction" in text and tf.parent.name not in ("state-machine", "api"):
            offenders.append(str(tf.relative_to(ROOT)))
    assert not offenders, offenders
    # The API only lets API Gateway invoke the webhook and the status functions, each for its own route of this
    # API (resource policies, not a role).
    api = (MODULES / "api" / "main.tf").read_text(encoding="utf-8")
    assert api.count("lambda:InvokeFunction") == 2
    permissions = {k: v for k, v in module_dir_blocks(MODULES / "api", "resource").items() if k.startswith("aws_lambda_permission.")}
    assert {
        name: (p["function_name"], p["principal"], p["source_arn"]) for name, p in permissions.items()
    } == {
        "aws_lambda_permission.stripe_webhook": (
            "${var.webhook_function_name}", "apigateway.amazonaws.com", "${aws_api_gateway_rest_api.this.execution_arn}/*/POST/webhooks/stripe"
        ),
        "aws_lambda_permission.checkout_status": (
            "${var.status_function_name}", "apigateway.amazonaws.com", "${aws_api_gateway_rest_api.this.execution_arn}/*/GET/checkouts/*"
        ),
    }


def test_get_checkout_is_the_status_function_with_the_same_authorization_as_post():
    resources = module_dir_blocks(MODULES / "api", "resource")
    integration = resources["aws_api_gateway_integration.describe_checkout"]
    assert (integration["type"], integration["integration_http_method"], integration["uri"]) == (
        "AWS_PROXY", "POST", "${var.status_function_invoke_arn}"
    )
    assert "credentials" not in integration, "the Lambda permission authorizes the call, not a role"
    get, post = resources["aws_api_gateway_method.describe_checkout"], resources["aws_api_gateway_method.start_checkout"]
    assert get["http_method"] == "GET" and get["resource_id"] == "${aws_api_gateway_resource.checkout.id}"
    for key in ("authorization", "api_key_required"):
        assert get[key] == post[key], key
    assert get["request_parameters"] == {"method.request.path.id": True}
    # No mapping template or response is left over from the DescribeExecution integration.
    assert not [k for k in resources if "describe_checkout" in k and k.split(".")[0] in (
        "aws_api_gateway_method_response", "aws_api_gateway_integration_response")]
    assert not list((MODULES / "api" / "templates").glob("describe-execution-*.vtl"))
    # The API Gateway role only starts executions; describing them is checkout-status's permission.
    api = (MODULES / "api" / "main.tf").read_text(encoding="utf-8")
    assert "states:DescribeExecution" not in api and "states:StartExecution" in api
    deployment = resources["aws_api_gateway_deployment.this"]["triggers"]["redeployment"]
    assert "aws_api_gateway_integration.describe_checkout" in deployment


def test_checkout_status_is_deployed_behind_the_api_and_not_in_the_state_machine():
    status = permissions_functions()["checkout-status"]
    assert status["placeholder"] is None
    assert status["describe_executions"] is True and status["stripe_secret_key"] is True
    assert not status["task_callbacks"] and not status["publish_notifications"] and not status["stripe_webhook_secret"]
    assert [name for name, fn in permissions_functions().items() if fn["describe_executions"]] == ["checkout-status"]


# ----------------------------------------------------------------------------- environments' shape


def _without_defaults(variables: dict) -> dict:
    return {name: {k: v for k, v in body.items() if k != "default"} for name, body in variables.items()}


def test_environments_are_identical_modulo_values():
    reference = ENVIRONMENTS / "dev"
    for env in ENV_NAMES:
        d = ENVIRONMENTS / env
        assert sorted(p.name for p in d.glob("*.tf")) == ["main.tf", "outputs.tf", "variables.tf", "versions.tf"], env
        assert (d / "terraform.tfvars.example").is_file(), env
        # main.tf and outputs.tf: the same text (they hold no values).
        assert (d / "main.tf").read_text() == (reference / "main.tf").read_text(), f"{env}/main.tf differs from dev"
        assert (d / "outputs.tf").read_text() == (reference / "outputs.tf").read_text(), f"{env}/outputs.tf differs"
        mods = blocks(parse(d / "main.tf"), "module")
        assert {k: (v["source"], sorted(v)) for k, v in mods.items()} == {
            k: (v["source"], sorted(v)) for k, v in blocks(parse(reference / "main.tf"), "module").items()
        }
        # variables.tf: the same variables, types, descriptions and validations; only defaults differ.
        assert _without_defaults(blocks(parse(d / "variables.tf"), "variable")) == _without_defaults(
            blocks(parse(reference / "variables.tf"), "variable")
        ), f"{env}/variables.tf declares other variables than dev"
        # versions.tf: the same, but for the state key.
        versions = parse(d / "versions.tf")["terraform"][0]
        backend = versions["backend"][0]["s3"]
        assert backend["key"] == f"stepcart/{env}/terraform.tfstate", env
        assert backend["use_lockfile"] is True and backend["encrypt"] is True, env
        assert "bucket" not in backend and "dynamodb_table" not in backend, f"{env}: the bucket is passed at init; no lock table"
        versions["backend"][0]["s3"] = {k: v for k, v in backend.items() if k != "key"}
        ref = parse(reference / "versions.tf")["terraform"][0]
        ref["backend"][0]["s3"] = {k: v for k, v in ref["backend"][0]["s3"].items() if k != "key"}
        assert versions == ref, env


def test_environments_differ_where_the_issue_says():
    def defaults(env):
        return {k: v.get("default") for k, v in blocks(parse(ENVIRONMENTS / env / "variables.tf"), "variable").items()}

    dev, staging, prod = (defaults(e) for e in ENV_NAMES)
    assert (dev["environment"], staging["environment"], prod["environment"]) == ENV_NAMES
    assert dev["state_machine_log_level"] == "ALL" and dev["state_machine_include_execution_data"] is True
    assert prod["state_machine_log_level"] == "ERROR" and prod["state_machine_include_execution_data"] is False
    assert dev["deletion_protection"] is False and prod["deletion_protection"] is True and staging["deletion_protection"] is True
    assert prod["log_retention_days"] >= 365 > dev["log_retention_days"]


def test_tfvars_examples_set_only_declared_variables():
    for env in ENV_NAMES:
        declared = set(blocks(parse(ENVIRONMENTS / env / "variables.tf"), "variable"))
        text = (ENVIRONMENTS / env / "terraform.tfvars.example").read_text()
        assigned = set(re.findall(r"^\s*#?\s*([a-z_]+)\s*=", text, re.M))
        assert assigned and assigned <= declared, f"{env}: {sorted(assigned - declared)}"
        assert "sk_live" not in text and "sk_test" not in text and "whsec_" not in text, "no secrets in tfvars"


# --------------------------------------------------------------------------------------- the modules


@pytest.mark.parametrize("module", MODULE_NAMES)
def test_module_layout_versions_and_documentation(module):
    d = MODULES / module
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (d / name).is_file(), f"modules/{module}/{name}"
    terraform = parse(d / "versions.tf")["terraform"][0]
    assert terraform["required_version"] == ">= 1.10"
    aws = terraform["required_providers"][0]["aws"]
    assert aws == {"source": "hashicorp/aws", "version": "~> 6.0"}
    readme = (d / "README.md").read_text(encoding="utf-8")
    variables = module_dir_blocks(d, "variable")
    outputs = module_dir_blocks(d, "output")
    assert variables and outputs
    for name, body in variables.items():
        assert body.get("type"), f"modules/{module}: variable {name} has no type"
        assert len(body.get("description", "")) >= 10, f"modules/{module}: variable {name} has no description"
        assert f"`{name}`" in readme, f"modules/{module}/README.md does not list input {name}"
        if body["type"] == "${number}":
            assert body.get("validation"), f"modules/{module}: number variable {name} is not validated"
    for name, body in outputs.items():
        assert len(body.get("description", "")) >= 10, f"modules/{module}: output {name} has no description"
        assert f"`{name}`" in readme, f"modules/{module}/README.md does not list output {name}"


def test_every_checkov_skip_is_justified():
    skip = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")
    found = 0
    for tf in list(MODULES.rglob("*.tf")) + list(ENVIRONMENTS.rglob("*.tf")):
        for line in tf.read_text(encoding="utf-8").splitlines():
            m = skip.search(line)
            if m:
                found += 1
                reason = (m.group(2) or "").strip()
                assert len(reason) >= 30, f"{tf.relative_to(ROOT)}: {m.group(1)} is skipped without a reason"
    assert found > 0


def test_no_secret_value_in_terraform():
    pattern = re.compile(r"(sk_(live|test)_[A-Za-z0-9]{8,}|whsec_[A-Za-z0-9]{8,}|AKIA[0-9A-Z]{16})")
    for tf in list(MODULES.rglob("*")) + list(ENVIRONMENTS.rglob("*")):
        if tf.is_file() and ".terraform" not in tf.parts:
            assert not pattern.search(tf.read_text(encoding="utf-8", errors="replace")), tf


def test_the_stripe_secrets_are_never_managed_by_terraform():
    resources = module_dir_blocks(MODULES / "config", "resource")
    for name in ("aws_ssm_parameter.stripe_secret_key", "aws_ssm_parameter.stripe_webhook_secret"):
        body = resources[name]
        assert body["type"] == "SecureString"
        assert body["lifecycle"][0]["ignore_changes"] == ["${value}"] or body["lifecycle"][0]["ignore_changes"] == ["value"], name
        assert body["value"] == "${local.placeholder}", name


# ------------------------------------------------------------------------------- the data model


def test_dynamodb_tables_are_those_of_the_data_model():
    documented = data_model_tables()
    tables = locals_of(MODULES / "dynamodb" / "tables.tf")["tables"]
    assert set(tables) == set(documented)
    for name, t in tables.items():
        doc = documented[name]
        assert doc["name"] == f"stepcart-<env>-{name}"
        assert (t["hash_key"]["name"], t["hash_key"]["type"]) == doc["hash_key"], name
        rk = t["range_key"]
        assert (None if rk is None else (rk["name"], rk["type"])) == doc["range_key"], name
        assert t["ttl_attribute"] == doc["ttl"], name
        indexes = [
            {
                "name": i["name"],
                "hash_key": (i["hash_key"]["name"], i["hash_key"]["type"]),
                "range_key": None if i["range_key"] is None else (i["range_key"]["name"], i["range_key"]["type"]),
                "projection_type": i["projection_type"],
                "non_key_attributes": i.get("non_key_attributes", []),
            }
            for i in t["indexes"]
        ]
        assert indexes == doc["indexes"], name


def test_each_function_touches_only_its_tables_with_only_its_actions():
    documented = data_model_access()
    functions = permissions_functions()
    assert set(documented) == set(functions), "functions of docs/data-model.md vs modules/permissions"
    for name, fn in functions.items():
        granted = {
            table: {"actions": set(a["actions"]), "leading_keys": set(a["leading_keys"])} for table, a in fn["tables"].items()
        }
        assert granted == documented[name], f"{name}: modules/permissions grants {granted}, docs say {documented[name]}"


def test_no_function_may_scan_or_write_in_bulk():
    for name, fn in permissions_functions().items():
        for table, access in fn["tables"].items():
            assert not {"Scan", "BatchWriteItem", "DeleteTable", "UpdateTable"} & set(access["actions"]), (name, table)


def test_deploy_script_reads_the_same_function_list():
    text = (MODULES / "permissions" / "functions.tf").read_text()
    names = re.findall(r'^    "([a-z0-9-]*)" = \{$', text, re.M)
    assert set(names) == set(permissions_functions())


# ------------------------------------------------------------------------------------------ the API


SCHEMA = json.loads((MODULES / "api" / "schemas" / "checkout-request.schema.json").read_text())


@pytest.mark.parametrize("cart", sorted((ROOT / "examples" / "carts").glob("*.json")), ids=lambda p: p.name)
def test_the_request_model_accepts_every_example_cart_but_the_invalid_one(cart):
    body = json.loads(cart.read_text())
    errors = list(jsonschema.Draft4Validator(SCHEMA).iter_errors(body))
    if cart.name == "invalid-cart.json":
        assert errors, "quantity 0 must be refused at the API"
    else:
        assert not errors, [e.message for e in errors]


@pytest.mark.parametrize(
    "mutation",
    [
        lambda b: b.pop("customer"),
        lambda b: b.update(items=[]),
        lambda b: b.update(items=[{"sku": f"SKU-{i}", "quantity": 1} for i in range(51)]),
        lambda b: b["items"][0].update(quantity=100),
        lambda b: b["items"][0].update(quantity=1.5),
        lambda b: b.update(paymentMethod="4242424242424242"),
        lambda b: b.update(currency="eur"),
        lambda b: b.update(cardNumber="4242424242424242"),
        lambda b: b["customer"].update(email="not-an-address"),
    ],
    ids=["no-customer", "no-items", "51-lines", "quantity-100", "fractional", "card-number", "currency", "unknown-field", "email"],
)
def test_the_request_model_refuses_malformed_requests(mutation):
    body = json.loads((ROOT / "examples" / "carts" / "happy-path.json").read_text())
    mutation(body)
    assert list(jsonschema.Draft4Validator(SCHEMA).iter_errors(body))


def test_mapping_templates_use_only_their_template_variables():
    main = (MODULES / "api" / "main.tf").read_text()
    for vtl in sorted((MODULES / "api" / "templates").glob("*.vtl")):
        text = vtl.read_text()
        variables = set(re.findall(r"\$\{([a-z_]+)\}", text))
        if f'templatefile("${{path.module}}/templates/{vtl.name}"' in main:
            call = main.split(f"templates/{vtl.name}\"", 1)[1].split("})", 1)[0]
            passed = set(re.findall(r"^\s*([a-z_]+)\s*=", call, re.M))
            assert variables == passed, (vtl.name, variables, passed)
        else:
            assert f'file("${{path.module}}/templates/{vtl.name}")' in main, f"{vtl.name} is not used"
            assert not variables and "%{" not in text, f"{vtl.name} is read with file(): no ${{...}}"


def test_idempotency_key_becomes_the_execution_name():
    vtl = (MODULES / "api" / "templates" / "start-execution-request.vtl").read_text()
    assert "Idempotency-Key" in vtl and '"name": "$util.escapeJavaScript($key).replaceAll(' in vtl
    error = (MODULES / "api" / "templates" / "start-execution-error.vtl").read_text()
    assert "ExecutionAlreadyExists" in error and "$context.responseOverride.status = 200" in error


def test_asl_file_is_the_one_the_cli_embeds():
    # The same file for AWS and local: the state machine reads workflows/checkout.asl.json itself.
    assert json.loads(ASL.read_text())["StartAt"] == "ValidateCart"
