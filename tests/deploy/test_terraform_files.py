"""Every .tf file parses; every templatefile() names a template that exists and fills it."""

from __future__ import annotations

import json

import pytest

from tests.deploy.terraform_support import (
    POLICIES,
    TERRAFORM,
    declared_variables,
    parse_tf,
    template_text,
    template_vars,
    templatefile_calls,
    tf_files,
    unquote,
)


def test_the_tree_has_the_modules_environments_and_examples() -> None:
    for folder in (
        "modules/hub",
        "modules/customer-account",
        "environments/dev",
        "environments/prod",
        "examples/state-backend",
        "examples/customer-account-standalone",
    ):
        assert list((TERRAFORM / folder).glob("*.tf")), folder


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_tf_file_parses(path: object) -> None:
    from pathlib import Path

    assert isinstance(path, Path)
    assert parse_tf(path)


def test_every_backend_file_parses_and_names_a_lock_table() -> None:
    import hcl2

    files = sorted(TERRAFORM.rglob("backend.hcl"))
    assert len(files) >= 2
    for path in files:
        with path.open() as handle:
            settings = {key: unquote(str(value)) for key, value in hcl2.load(handle).items()}
        assert {"bucket", "key", "region", "dynamodb_table"} <= set(settings), path
        assert settings["encrypt"] == "True", path


def test_every_templatefile_names_an_existing_template_and_passes_its_variables() -> None:
    calls = list(templatefile_calls())
    assert len(calls) >= 15
    used = set()
    for call in calls:
        templates = call.templates()
        assert templates, f"{call.source}: {call.path_expr}"
        for template in templates:
            assert template.parent == POLICIES, f"{call.source}: {template}"
            assert template.is_file(), f"{call.source}: {template}"
            needed = template_vars(template.read_text())
            assert needed == call.passed, (
                f"{call.source.name} -> {template.name}: missing {sorted(needed - call.passed)}, "
                f"unused {sorted(call.passed - needed)}"
            )
            used.add(template.name)
    assert used == {path.name for path in POLICIES.glob("*.json.tftpl")}, "unused templates"


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.tftpl")), ids=lambda p: p.name)
def test_every_template_is_json_once_its_placeholders_are_filled(path: object) -> None:
    from pathlib import Path

    from tests.deploy.terraform_support import render

    assert isinstance(path, Path)
    text = template_text(path.name)
    values = {name: '["x"]' if f'": ${{{name}}}' in text else "x" for name in template_vars(text)}
    document = json.loads(render(path.name, values))
    assert document["Version"] == "2012-10-17"
    assert all(statement.get("Sid") for statement in document["Statement"])


META_KEYS = {"source", "providers", "__is_block__", "__comments__"}


def test_module_calls_pass_every_required_variable_and_nothing_unknown() -> None:
    for env in ("environments/dev", "environments/prod", "examples/customer-account-standalone"):
        directory = TERRAFORM / env
        for path in directory.glob("*.tf"):
            for block in parse_tf(path).get("module", []):
                for name, body in block.items():
                    source = (directory / unquote(body["source"])).resolve()
                    declared = declared_variables(source)
                    passed = {key for key in body if key not in META_KEYS}
                    required = {k for k, v in declared.items() if "default" not in v}
                    assert passed <= set(declared), f"{env} {name}: {passed - set(declared)}"
                    assert required <= passed, f"{env} {name}: {required - passed}"


# Each resource type of modules/customer-account, and the call that creates it.
CREATED_BY = {
    "aws_iam_role": "iam:CreateRole",
    "aws_iam_role_policy": "iam:PutRolePolicy",
    "aws_sesv2_configuration_set": "ses:CreateConfigurationSet",
    "aws_sesv2_configuration_set_event_destination": "ses:CreateConfigurationSetEventDestination",
    "aws_sesv2_email_identity": "ses:CreateEmailIdentity",
    "aws_kms_key": "kms:CreateKey",
    "aws_sns_topic": "sns:CreateTopic",
    "aws_sns_topic_policy": "sns:SetTopicAttributes",
    "aws_sns_topic_subscription": "sns:Subscribe",
    "aws_cloudwatch_metric_alarm": "cloudwatch:PutMetricAlarm",
}


def deploy_role_template() -> dict[str, object]:
    from typing import Any

    import yaml  # type: ignore[import-untyped]

    def tagged(loader: Any, suffix: str, node: Any) -> object:
        """CloudFormation's short forms (!Sub, !Ref, !GetAtt): their argument, as written."""
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    Loader: Any = type("CloudFormationLoader", (yaml.SafeLoader,), {})
    Loader.add_multi_constructor("!", tagged)
    path = TERRAFORM.parent / "bootstrap" / "customer-deploy-role.yaml"
    loaded: dict[str, object] = yaml.load(path.read_text(), Loader=Loader)
    return loaded


def test_the_customer_deploy_role_may_create_what_the_customer_module_creates() -> None:
    template = deploy_role_template()
    role = template["Resources"]["DeployRole"]["Properties"]  # type: ignore[index]
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"AWS": "HubDeployPrincipalArn"}]
    allowed = {
        action
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in statement["Action"]
    }
    module = TERRAFORM / "modules" / "customer-account"
    used = {
        unquote(kind)
        for path in module.glob("*.tf")
        for block in parse_tf(path).get("resource", [])
        for kind in block
    }
    assert used <= set(CREATED_BY), used - set(CREATED_BY)
    assert {CREATED_BY[kind] for kind in used} <= allowed
    assert not any(action.endswith(":*") or action == "*" for action in allowed)
    assert "iam:PassRole" not in allowed
