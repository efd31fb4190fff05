"""docs/deploy.md's cost per million checkouts: the state transitions it counts are those of a walk through
workflows/checkout.asl.json, and its table adds up."""

from __future__ import annotations

import json
import re

from common import ASL, ROOT

DEPLOY_MD = ROOT / "docs" / "deploy.md"
DEFINITION = json.loads(ASL.read_text())


def walk(choices: dict, failing: tuple[str, str] | None = None) -> list[str]:
    """States entered from StartAt to a terminal state. `choices` picks the branch of a Choice state by name
    (absent: its Default); `failing` = (task, error) makes that task fail with that error."""
    states = DEFINITION["States"]
    path, name = [], DEFINITION["StartAt"]
    while True:
        path.append(name)
        state = states[name]
        assert len(path) < 100, "the walk loops"
        if state["Type"] in ("Succeed", "Fail"):
            return path
        if failing and name == failing[0]:
            catcher = next(c for c in state["Catch"] if failing[1] in c["ErrorEquals"] or "States.ALL" in c["ErrorEquals"])
            name = catcher["Next"]
        elif state["Type"] == "Choice":
            name = choices.get(name, state["Default"])
        else:
            name = state["Next"]


def transitions_in_doc(path: str) -> int:
    row = next(line for line in DEPLOY_MD.read_text().splitlines() if line.startswith(f"| {path} |"))
    return int(re.sub(r"\D", "", row.split("|")[-2]))


def test_happy_path_transitions():
    path = walk({})
    assert path[-1] == "CheckoutSucceeded"
    assert len(path) == 8 == transitions_in_doc("happy path")
    doc_row = next(line for line in DEPLOY_MD.read_text().splitlines() if line.startswith("| happy path |"))
    assert doc_row.split("|")[2].strip() == ", ".join(path)


def test_three_d_secure_transitions():
    path = walk({"PaymentNeedsAuthentication": "WaitForAuthentication"})
    assert "WaitForAuthentication" in path and path[-1] == "CheckoutSucceeded"
    assert len(path) == transitions_in_doc("with 3-D Secure")


def test_declined_card_transitions():
    path = walk({"IsPaymentFailure": "NotifyPaymentFailed", "IsBusinessFailure": "ExtractCause"}, ("AuthorizePayment", "PaymentDeclined"))
    assert path[-1] == "CheckoutFailed"
    assert len(path) == transitions_in_doc("card declined")


def test_happy_path_invokes_six_functions():
    tasks = [s for s in walk({}) if DEFINITION["States"][s]["Type"] == "Task"]
    assert len(tasks) == 6
    assert "6 invocations" in DEPLOY_MD.read_text()


def test_the_cost_table_adds_up():
    text = DEPLOY_MD.read_text()
    section = text[text.index("### The arithmetic") :]
    amounts = [float(a) for a in re.findall(r"= \*\*\$([0-9.]+)\*\*", section)]
    amounts += [float(a) for a in re.findall(r"\| [^|]* \| \*\*\$([0-9.]+)\*\* \|", section)]
    total = float(re.search(r"\*\*total\*\* \| \| \| \*\*\$([0-9.]+)\*\*", section).group(1))
    assert len(amounts) == 9, amounts
    assert abs(sum(amounts) - total) < 0.005, (sum(amounts), total)
    # Step Functions' line is the transitions of the happy path at $0.025 per 1,000.
    assert f"8 x 1,000,000 / 1,000 x $0.025 = **${8 * 1_000_000 / 1000 * 0.025:.2f}**" in section
