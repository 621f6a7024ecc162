"""The customer-account module alarms on SES reputation at the rates where SES reviews an account:
bounce rate above 5%, complaint rate above 0.1%, per customer account, to an SNS action."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.terraform_support import TERRAFORM, declared_variables, parse_tf, unquote

MODULE = TERRAFORM / "modules" / "customer-account"


def alarms() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(MODULE.glob("*.tf")):
        for block in parse_tf(path).get("resource", []):
            for kind, named in block.items():
                if unquote(kind) != "aws_cloudwatch_metric_alarm":
                    continue
                for name, body in named.items():
                    found[unquote(name)] = body
    return found


@pytest.mark.parametrize(
    ("alarm", "metric", "variable", "threshold"),
    [
        ("ses_bounce_rate", "Reputation.BounceRate", "bounce_rate_alarm_threshold", 0.05),
        ("ses_complaint_rate", "Reputation.ComplaintRate", "complaint_rate_alarm_threshold", 0.001),
    ],
)
def test_each_reputation_alarm_fires_above_the_ses_review_rate(
    alarm: str, metric: str, variable: str, threshold: float
) -> None:
    body = alarms()[alarm]
    assert unquote(body["namespace"]) == "AWS/SES"
    assert unquote(body["metric_name"]) == metric
    assert unquote(body["comparison_operator"]) == "GreaterThanThreshold"
    assert body["threshold"] == f"${{var.{variable}}}"
    assert "dimensions" not in body  # the account-wide rate, the one SES reviews
    assert unquote(body["treat_missing_data"]) == "notBreaching"
    assert body["alarm_actions"] == body["ok_actions"] == "${var.alarm_actions}"
    assert "${var.customer.code}" in body["alarm_name"]
    declared = declared_variables(MODULE)[variable]
    assert declared["default"] == threshold
    assert f"<= {threshold}" in declared["validation"][0]["condition"]


def test_the_alarm_action_is_a_list_of_sns_topics_empty_by_default() -> None:
    declared = declared_variables(MODULE)["alarm_actions"]
    assert declared["type"] == "${list(string)}"
    assert declared["default"] == []
    assert "SNS" in declared["description"]
