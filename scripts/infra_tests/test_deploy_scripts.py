"""scripts/deploy.sh, scripts/setup-backend.sh and scripts/smoke.sh against stub terraform, aws, cargo,
cargo-lambda and curl (see stubs.py): argument errors, missing tools and credentials, the order of the
steps, prod's confirmation, and what each script prints."""

from __future__ import annotations

import json

import pytest

from stubs import Sandbox

URL = "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1"


@pytest.fixture
def box(tmp_path):
    return Sandbox(tmp_path)


# ------------------------------------------------------------------------------- deploy.sh arguments


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "missing ENV"),
        (("qa",), "unknown environment 'qa'"),
        (("../dev",), "unknown environment '../dev'"),
        (("dev", "deploy"), "unknown action 'deploy'"),
        (("dev", "plan", "extra"), "unexpected argument 'extra'"),
        (("dev", "--force"), "unknown option '--force'"),
    ],
)
def test_deploy_refuses_bad_arguments_with_usage_and_exit_2(box, args, message):
    proc = box.run("deploy.sh", *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "usage: scripts/deploy.sh ENV [plan|apply|destroy]" in proc.stderr
    assert "dev prod staging" in proc.stderr, "the usage lists the environments"
    assert box.calls() == [], "nothing runs on bad usage"


def test_deploy_help(box):
    proc = box.run("deploy.sh", "--help")
    assert proc.returncode == 0 and "usage:" in proc.stdout


# --------------------------------------------------------------------------- tools and credentials


def test_deploy_names_every_missing_tool_before_doing_anything(tmp_path):
    box = Sandbox(tmp_path, tools=("aws", "cargo"))
    proc = box.run("deploy.sh", "dev", "apply")
    assert proc.returncode == 1
    assert "missing tools: terraform cargo-lambda" in proc.stderr
    assert "terraform: Terraform >= 1.10" in proc.stderr
    assert "cargo-lambda: pip install cargo-lambda ziglang" in proc.stderr
    assert box.calls() == []


def test_destroy_and_skip_build_need_no_rust_toolchain(tmp_path):
    box = Sandbox(tmp_path, tools=("aws", "terraform"))
    assert box.run("deploy.sh", "dev", "destroy").returncode == 0
    assert box.run("deploy.sh", "dev", "plan", "--skip-build").returncode == 0
    assert "build" not in box.steps()


def test_deploy_stops_without_credentials_and_says_so(box):
    proc = box.run("deploy.sh", "dev", "apply", env={"STUB_AWS_NO_CREDENTIALS": "1"})
    assert proc.returncode == 1
    assert "no usable AWS credentials" in proc.stderr
    assert "aws sts get-caller-identity" in proc.stderr and "Unable to locate credentials" in proc.stderr
    assert "aws configure" in proc.stderr
    assert box.steps() == []


def test_deploy_refuses_terraform_older_than_1_10(box):
    proc = box.run("deploy.sh", "dev", "plan", env={"STUB_TERRAFORM_VERSION": "1.9.8"})
    assert proc.returncode == 1
    assert "terraform 1.9.8 is too old: 1.10 or newer" in proc.stderr
    assert box.steps() == []


# ------------------------------------------------------------------------------------ the steps


def _call(box, tool, *prefix):
    return [c for c in box.calls() if c[0] == tool and c[1 : 1 + len(prefix)] == list(prefix)]


def test_apply_builds_then_inits_then_plans_then_applies_that_plan(box):
    proc = box.run("deploy.sh", "dev", "apply")
    assert proc.returncode == 0, proc.stderr
    assert box.steps() == ["build", "init", "plan", "apply", "output"]
    (build,) = _call(box, "cargo", "lambda", "build")
    assert build[1:] == ["lambda", "build", "--release", "--arm64", "--output-format", "zip", "--package", "stepcart-lambdas"]
    (init,) = [c for c in box.calls() if c[0] == "terraform" and c[2:3] == ["init"]]
    assert init[1] == f"-chdir={box.repo}/environments/dev"
    assert "-backend-config=bucket=stepcart-tfstate-dev-123456789012-us-east-1" in init
    assert "-backend-config=region=us-east-1" in init
    (plan,) = [c for c in box.calls() if c[0] == "terraform" and c[2:3] == ["plan"]]
    plan_file = next(a.split("=", 1)[1] for a in plan if a.startswith("-out="))
    assert "aws_region=us-east-1" in plan and f"lambda_zip_dir={box.zip_dir}" in plan  # STEPCART_LAMBDA_ZIP_DIR
    (apply,) = [c for c in box.calls() if c[0] == "terraform" and c[2:3] == ["apply"]]
    assert apply[-1] == plan_file, "apply applies exactly the plan that was shown"
    assert proc.stdout.strip() == URL
    assert f"API URL: {URL}" in proc.stderr
    # Credentials are checked before anything is built.
    calls = box.calls()
    sts = next(i for i, c in enumerate(calls) if c[:3] == ["aws", "sts", "get-caller-identity"])
    cargo = next(i for i, c in enumerate(calls) if c[0] == "cargo")
    assert sts < cargo


def test_plan_changes_nothing(box):
    proc = box.run("deploy.sh", "staging")
    assert proc.returncode == 0, proc.stderr
    assert box.steps() == ["build", "init", "plan"]
    assert "nothing was changed" in proc.stderr


def test_destroy_does_not_build_and_plans_a_destruction(box):
    proc = box.run("deploy.sh", "dev", "destroy")
    assert proc.returncode == 0, proc.stderr
    assert box.steps() == ["init", "plan", "apply"]
    (plan,) = [c for c in box.calls() if c[0] == "terraform" and c[2:3] == ["plan"]]
    assert "-destroy" in plan


def test_the_repository_build_script_is_used_when_present(tmp_path):
    box = Sandbox(tmp_path, build_script=True)
    assert box.run("deploy.sh", "dev", "apply").returncode == 0
    assert box.steps() == ["build", "init", "plan", "apply", "output"]
    assert _call(box, "cargo") == [], "scripts/build-lambdas.sh replaces cargo lambda build"


def test_a_missing_package_stops_before_terraform(box):
    (box.zip_dir / "release-stock" / "bootstrap.zip").unlink()
    proc = box.run("deploy.sh", "dev", "apply")
    assert proc.returncode == 1
    assert "missing Lambda packages" in proc.stderr and "release-stock/bootstrap.zip" in proc.stderr
    assert box.steps() == ["build"]


def test_a_failing_step_stops_the_deployment(box):
    proc = box.run("deploy.sh", "dev", "apply", env={"STUB_FAIL": "terraform -chdir"})
    assert proc.returncode != 0
    assert box.steps() == ["build", "init"]
    box.log.write_text("")
    proc = box.run("deploy.sh", "dev", "apply", env={"STUB_FAIL": "lambda build"})
    assert proc.returncode != 0 and box.steps() == ["build"]


def test_packages_default_to_target_lambda_relative_to_the_environment(box):
    for zip_file in box.zip_dir.glob("*/bootstrap.zip"):
        target = box.repo / "target" / "lambda" / zip_file.parent.name
        target.mkdir(parents=True)
        zip_file.rename(target / "bootstrap.zip")
    proc = box.run("deploy.sh", "dev", "plan", env={"STEPCART_LAMBDA_ZIP_DIR": ""})
    assert proc.returncode == 0, proc.stderr
    (plan,) = [c for c in box.calls() if c[0] == "terraform" and c[2:3] == ["plan"]]
    assert not any(a.startswith("lambda_zip_dir=") for a in plan), "the environment's relative default is used"


def test_region_and_bucket_can_be_chosen(box):
    proc = box.run("deploy.sh", "dev", "plan", env={"AWS_REGION": "eu-west-1", "STEPCART_STATE_BUCKET": "my-state"})
    assert proc.returncode == 0, proc.stderr
    (init,) = [c for c in box.calls() if c[0] == "terraform" and c[2:3] == ["init"]]
    assert "-backend-config=bucket=my-state" in init and "-backend-config=region=eu-west-1" in init


# ------------------------------------------------------------------------------ prod confirmation


@pytest.mark.parametrize("answer", ["", "yes\n", "Prod\n", "dev\n"])
def test_prod_apply_is_refused_without_the_typed_confirmation(box, answer):
    proc = box.run("deploy.sh", "prod", "apply", stdin=answer)
    assert proc.returncode == 1
    assert 'Type "prod" to go on' in proc.stderr and "not confirmed: nothing was changed" in proc.stderr
    assert box.steps() == ["build", "init", "plan"], "the plan is shown, nothing is applied"


def test_prod_apply_goes_on_after_typing_prod(box):
    proc = box.run("deploy.sh", "prod", "apply", stdin="prod\n")
    assert proc.returncode == 0, proc.stderr
    assert box.steps() == ["build", "init", "plan", "apply", "output"]


def test_prod_destroy_asks_too(box):
    proc = box.run("deploy.sh", "prod", "destroy", stdin="no\n")
    assert proc.returncode == 1 and box.steps() == ["init", "plan"]


def test_prod_yes_skips_the_question(box):
    proc = box.run("deploy.sh", "prod", "apply", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "Type" not in proc.stderr
    assert box.steps() == ["build", "init", "plan", "apply", "output"]


def test_other_environments_do_not_ask(box):
    proc = box.run("deploy.sh", "staging", "apply")
    assert proc.returncode == 0 and "Type" not in proc.stderr


# ------------------------------------------------------------------------------- setup-backend.sh


def test_setup_backend_usage(box):
    assert box.run("setup-backend.sh").returncode == 2
    proc = box.run("setup-backend.sh", "qa")
    assert proc.returncode == 2 and "unknown environment 'qa'" in proc.stderr


def test_setup_backend_creates_a_versioned_encrypted_private_bucket(box):
    proc = box.run("setup-backend.sh", "prod", env={"AWS_REGION": "eu-west-1"})
    assert proc.returncode == 0, proc.stderr
    bucket = "stepcart-tfstate-prod-123456789012-eu-west-1"
    assert proc.stdout.strip() == bucket
    ops = [c[2] for c in box.calls() if c[:2] == ["aws", "s3api"]]
    for op in ("create-bucket", "put-public-access-block", "put-bucket-versioning", "put-bucket-encryption",
               "put-bucket-ownership-controls", "put-bucket-policy", "put-bucket-lifecycle-configuration"):
        assert op in ops, op
    (create,) = _call(box, "aws", "s3api", "create-bucket")
    assert "LocationConstraint=eu-west-1" in create
    (versioning,) = _call(box, "aws", "s3api", "put-bucket-versioning")
    assert "Status=Enabled" in versioning
    (public,) = _call(box, "aws", "s3api", "put-public-access-block")
    assert "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true" in public
    (policy,) = _call(box, "aws", "s3api", "put-bucket-policy")
    assert json.loads(policy[-1])["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_setup_backend_is_idempotent(box):
    proc = box.run("setup-backend.sh", "dev", env={"STUB_BUCKET_EXISTS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert _call(box, "aws", "s3api", "create-bucket") == []
    assert _call(box, "aws", "s3api", "put-bucket-versioning")


def test_setup_backend_in_us_east_1_sends_no_location_constraint(box):
    assert box.run("setup-backend.sh", "dev").returncode == 0
    (create,) = _call(box, "aws", "s3api", "create-bucket")
    assert not any("LocationConstraint" in a for a in create)


# ------------------------------------------------------------------------------------- smoke.sh


STARTED = (202, json.dumps({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:stepcart-dev-checkout:x"}))


def _described(status, **extra):
    return 200, json.dumps({"status": status, **extra})


def test_smoke_succeeds_when_the_checkout_succeeds(box):
    box.curl_answers(STARTED, _described("RUNNING"), _described("SUCCEEDED", output={"orderId": "ord_1"}))
    proc = box.run("smoke.sh", "dev")
    assert proc.returncode == 0, proc.stderr
    assert "SUCCEEDED" in proc.stderr and "ord_1" in proc.stderr
    posts = [c for c in box.calls() if c[0] == "curl" and "POST" in c]
    assert len(posts) == 1
    post = posts[0]
    key = next(a for a in post if a.startswith("Idempotency-Key: ")).split(": ", 1)[1]
    assert "x-api-key: stub-api-key-value" in post and f"{URL}/checkouts" in post
    gets = [c for c in box.calls() if c[0] == "curl" and "POST" not in c]
    assert all(f"{URL}/checkouts/{key}" in g for g in gets) and len(gets) == 2


def test_smoke_fails_when_the_checkout_fails(box):
    box.curl_answers(STARTED, _described("FAILED", error="OutOfStock", cause="SKU MUG-BLACK has 0 available"))
    proc = box.run("smoke.sh", "dev")
    assert proc.returncode == 1
    assert "FAILED: OutOfStock: SKU MUG-BLACK" in proc.stderr


def test_smoke_fails_when_the_api_refuses(box):
    box.curl_answers((400, json.dumps({"error": "InvalidRequest", "message": "bad"})))
    proc = box.run("smoke.sh", "dev")
    assert proc.returncode == 1 and "the API answered 400" in proc.stderr


def test_smoke_gives_up_after_the_timeout(box):
    box.curl_answers(STARTED, _described("RUNNING"))
    proc = box.run("smoke.sh", "dev", "--timeout", "0")
    assert proc.returncode == 1 and "still RUNNING after 0s" in proc.stderr


def test_smoke_usage(box):
    assert box.run("smoke.sh").returncode == 2
    assert box.run("smoke.sh", "dev", "--cart", "/nonexistent.json").returncode == 2
    assert box.run("smoke.sh", "dev", "--timeout", "soon").returncode == 2
