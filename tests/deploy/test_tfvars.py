"""`changecast deploy tfvars` writes exactly the variables the environments and modules declare."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from changecast.customers.directory import load_app_config
from changecast.customers.models import AppConfig
from changecast.customers.tfvars import GENERATED_TF_FILE, TFVARS_FILE, tfvars
from changecast.errors import InvalidInputError
from changecast.local.demo import DEMO_NAMES
from tests.deploy.terraform_support import ROOT, TERRAFORM, declared_variables, object_attributes

EXAMPLE_CONFIG = ROOT / "examples" / "config.json"
ENVIRONMENTS = [TERRAFORM / "environments" / "dev", TERRAFORM / "environments" / "prod"]


def example_config() -> AppConfig:
    return load_app_config(EXAMPLE_CONFIG)


def example_tfvars() -> dict[str, object]:
    return tfvars(example_config())


def test_the_command_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / TFVARS_FILE
    done = subprocess.run(
        [sys.executable, "-m", "changecast", "deploy", "tfvars", "--config", str(EXAMPLE_CONFIG),
         "--out", str(out)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == example_tfvars()


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda p: p.name)
def test_tfvars_keys_are_exactly_the_config_variables_of_each_environment(env: Path) -> None:
    config_declared = declared_variables_of(env / "config_variables.tf")
    assert set(example_tfvars()) == config_declared
    others = set(declared_variables(env)) - config_declared
    assert not others & config_declared


def test_nothing_committed_under_deploy_names_a_demo_customer() -> None:
    """Customers are data: the environments, modules, examples and docs of deploy/ name none."""
    demo = {code for code, _, _ in DEMO_NAMES} | set(example_config().customer_mappings)
    listed = subprocess.run(
        ["git", "ls-files", "deploy"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert len(listed) > 40
    for name in listed:
        text = (ROOT / name).read_text(encoding="utf-8").lower()
        named = sorted(code for code in demo if re.search(rf"\b{re.escape(code)}\b", text))
        assert not named, f"{name} names {named}"
    for env in ENVIRONMENTS:
        assert f"{env.relative_to(ROOT).as_posix()}/{TFVARS_FILE}" not in listed
        assert f"{env.relative_to(ROOT).as_posix()}/{GENERATED_TF_FILE}" not in listed


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda p: p.name)
def test_every_other_environment_variable_has_a_default_or_an_example_value(env: Path) -> None:
    example = (env / "terraform.tfvars.example").read_text()
    for name, body in declared_variables(env).items():
        if name in example_tfvars() or "default" in body:
            continue
        assert f"\n{name} " in f"\n{example}", f"{env.name}: {name} has no value"


def test_customer_objects_have_exactly_the_module_attributes() -> None:
    customers = example_tfvars()["customers"]
    assert isinstance(customers, dict) and set(customers) == {"acme", "globex"}
    attributes = {frozenset(entry) for entry in customers.values()}
    assert len(attributes) == 1
    emitted = set(next(iter(attributes)))
    shapes = {
        "hub.customers": declared_variables(TERRAFORM / "modules" / "hub")["customers"],
        "customer-account.customer": declared_variables(TERRAFORM / "modules" / "customer-account")[
            "customer"
        ],
        "standalone.customer": declared_variables(
            TERRAFORM / "examples" / "customer-account-standalone"
        )["customer"],
    }
    for env in ENVIRONMENTS:
        shapes[f"{env.name}.customers"] = declared_variables(env)["customers"]
    for where, body in shapes.items():
        assert object_attributes(body["type"]) == emitted, where


def test_values_come_from_config_json() -> None:
    config = load_app_config(EXAMPLE_CONFIG)
    acme = example_tfvars()["customers"]["acme"]  # type: ignore[index]
    mapping = config.customer_mappings["acme"]
    assert acme["account_id"] == mapping.account_id == "210000000000"
    assert (
        f"arn:aws:iam::{acme['account_id']}:role{acme['ses_role_path']}{acme['ses_role_name']}"
        == (mapping.ses_role_arn)
    )
    assert acme["queue_arn"] == mapping.sqs_queue_arn
    assert acme["queue_arn"].endswith(f":{acme['queue_name']}")
    assert acme["ses_role_external_id"] == mapping.ses_role_external_id


def test_a_customer_without_an_external_id_is_refused(tmp_path: Path) -> None:
    raw = json.loads(EXAMPLE_CONFIG.read_text())
    del raw["customer_mappings"]["globex"]["ses_role_external_id"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(InvalidInputError, match=r"globex has no ses_role_external_id"):
        tfvars(load_app_config(path))


def test_queues_outside_the_hub_region_are_refused(tmp_path: Path) -> None:
    raw = json.loads(EXAMPLE_CONFIG.read_text())
    raw["customer_mappings"]["acme"]["sqs_queue_arn"] = (
        "arn:aws:sqs:eu-west-1:123456789012:changecast-acme"
    )
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(InvalidInputError, match=r"acme.sqs_queue_arn is in eu-west-1"):
        tfvars(load_app_config(path))


def declared_variables_of(path: Path) -> set[str]:
    from tests.deploy.terraform_support import parse_tf, unquote

    return {unquote(name) for block in parse_tf(path).get("variable", []) for name in block}
