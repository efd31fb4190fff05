"""The API's mapping templates (Velocity, as API Gateway runs them) rendered by airspeed with API Gateway's
`$input`, `$util` and `$context` modelled in Python: the Idempotency-Key becomes the execution name, any
body survives the trip into StartExecution's `input` string, and a repeated key answers with the existing
execution. Terraform itself fills the templates' own variables first, as `templatefile` does on apply.
(`GET /checkouts/{id}` is a Lambda proxy integration to checkout-status: no template.)"""

from __future__ import annotations

import json
import re

import airspeed
import airspeed.operators
import pytest

from common import MODULES, terraform

TEMPLATES = MODULES / "api" / "templates"
STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:stepcart-dev-checkout"
EXECUTIONS = "arn:aws:states:us-east-1:123456789012:execution:stepcart-dev-checkout:"


def _java_replacement(repl: str) -> str:
    return re.sub(r"\$(\d)", r"\\\1", repl)


# Java String methods API Gateway's Velocity offers and airspeed lacks (or implements with Python's syntax).
airspeed.operators.__additional_methods__[str].update(
    {
        "endsWith": lambda self, suffix: self.endswith(suffix),
        "replaceAll": lambda self, pattern, repl: re.sub(pattern, _java_replacement(repl), self, flags=re.S),
        "equals": lambda self, other: self == other,
    }
)


def escape_javascript(text: str) -> str:
    """$util.escapeJavaScript: Apache commons-lang StringEscapeUtils.escapeJavaScript (quotes, backslash,
    slash, control characters, and every non-ASCII UTF-16 unit as \\uXXXX)."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "'\"\\/":
            out.append("\\" + ch)
        elif ch in "\b\n\t\f\r":
            out.append({"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r"}[ch])
        elif code < 0x20:
            out.append(f"\\u{code:04X}")
        elif code > 0x7F:
            encoded = ch.encode("utf-16-be")
            for i in range(0, len(encoded), 2):
                out.append(f"\\u{int.from_bytes(encoded[i:i + 2], 'big'):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _json_path(document, path: str):
    value = document
    for part in [p for p in path.removeprefix("$").split(".") if p]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


class Input:
    def __init__(self, body, headers=None, path=None):
        self.body = body
        self._params = {"header": dict(headers or {}), "path": dict(path or {}), "querystring": {}}

    def params(self, name=None):
        if name is None:
            return self._params
        for where in ("path", "querystring", "header"):
            if name in self._params[where]:
                return self._params[where][name]
        return ""

    def json(self, path):
        return json.dumps(_json_path(self.body, path), ensure_ascii=False, separators=(",", ":"))

    def path(self, path):
        return _json_path(self.body, path)


class Util:
    def escapeJavaScript(self, text):  # noqa: N802 (API Gateway's name)
        return escape_javascript("" if text is None else str(text))


def render(template: str, body, headers=None, path=None) -> tuple[str, dict]:
    context = {"responseOverride": {}}
    out = airspeed.Template(template).merge({"input": Input(body, headers, path), "util": Util(), "context": context})
    return out, context


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """The templates as Terraform's templatefile renders them with the module's variables."""
    tmp = tmp_path_factory.mktemp("vtl")
    (tmp / "main.tf").write_text(
        f"""output "start" {{
  value = templatefile("{TEMPLATES}/start-execution-request.vtl", {{ state_machine_arn = "{STATE_MACHINE}" }})
}}
"""
    )
    terraform("init", "-input=false", "-no-color", cwd=tmp)
    terraform("apply", "-auto-approve", "-input=false", "-no-color", cwd=tmp)
    outputs = json.loads(terraform("output", "-json", cwd=tmp).stdout)
    found = {k: v["value"] for k, v in outputs.items()}
    for name in ("start-execution-response", "start-execution-error"):
        found[name] = (TEMPLATES / f"{name}.vtl").read_text()
    return found


CART = {
    "customer": {"id": "cus_1001", "email": "o'brien@example.com"},
    "currency": "EUR",
    "items": [{"sku": "TSHIRT-RED-M", "quantity": 2}],
    "paymentMethod": "pm_card_visa",
    "shippingAddress": {"name": "Zoë \"Z\" O'Brien / 東京", "line1": "1 Rue de Rivoli\\n", "city": "Paris",
                        "postalCode": "75001", "country": "FR"},
}


@pytest.mark.parametrize("header, key", [("Idempotency-Key", "order-1001"), ("idempotency-key", "o'brien-1")])
def test_start_execution_uses_the_idempotency_key_as_the_name(templates, header, key):
    out, _ = render(templates["start"], CART, headers={header: key})
    request = json.loads(out)
    assert request["stateMachineArn"] == STATE_MACHINE
    assert request["name"] == key
    assert json.loads(request["input"]) == CART, "the body reaches the execution unchanged"


def test_start_execution_without_a_key_lets_step_functions_name_it(templates):
    out, _ = render(templates["start"], CART)
    request = json.loads(out)
    assert "name" not in request and json.loads(request["input"]) == CART


def test_a_key_with_quotes_cannot_break_the_request(templates):
    out, _ = render(templates["start"], CART, headers={"Idempotency-Key": 'a", "stateMachineArn": "x'})
    request = json.loads(out)
    assert request["stateMachineArn"] == STATE_MACHINE and request["name"] == 'a", "stateMachineArn": "x'


def test_a_started_execution_answers_its_arn_and_name(templates):
    answer = {"executionArn": EXECUTIONS + "order-1001", "startDate": 1764480000.123}
    out, context = render(templates["start-execution-response"], answer)
    assert json.loads(out) == {"executionArn": EXECUTIONS + "order-1001", "name": "order-1001", "startDate": 1764480000.123}
    assert context["responseOverride"] == {}


def test_a_repeated_key_answers_the_existing_execution(templates):
    error = {"__type": "com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists",
             "message": f"Execution Already Exists: '{EXECUTIONS}order-1001'"}
    out, context = render(templates["start-execution-error"], error)
    assert json.loads(out) == {"executionArn": EXECUTIONS + "order-1001", "name": "order-1001", "existing": True}
    assert context["responseOverride"]["status"] == 200


def test_other_start_errors_are_reported(templates):
    error = {"__type": "InvalidName", "message": "Invalid Name: 'a b'"}
    out, context = render(templates["start-execution-error"], error)
    assert json.loads(out) == {"error": "InvalidName", "message": "Invalid Name: 'a b'"}
    assert "status" not in context["responseOverride"]
