"""Customers are data: `changecast deploy tfvars --out-dir` writes everything customer-specific.

For an arbitrary config.json (five customers here, none of them the examples'), the command writes
customers.auto.tfvars.json and customers.generated.tf into a copy of an environment; the
generated file parses, gives each customer account a provider alias and a customer-account
module wired to the hub, and names only variables, locals, hub outputs and module outputs that
exist. Removing a customer from config.json removes it from both files and touches nothing else.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from changecast.customers.models import CustomerMapping
from changecast.customers.tfvars import GENERATED_TF_FILE, TFVARS_FILE
from tests.deploy.terraform_support import (
    ROOT,
    TERRAFORM,
    declared_variables,
    module_locals,
    parse_tf,
    unquote,
)

CODES = ["north", "south-2", "3rd-line", "east", "westwind"]
HUB = "123456789012"
CUSTOMER_MODULE = TERRAFORM / "modules" / "customer-account"
HUB_MODULE = TERRAFORM / "modules" / "hub"


def five_customer_config(codes: list[str] = CODES) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((ROOT / "examples" / "config.json").read_text())
    raw["customer_mappings"] = {
        code: {
            "customer_code": code,
            "customer_name": f"Customer {code}",
            "environment": "production" if index % 2 == 0 else "nonprod",
            "region": "us-east-1" if index < 3 else "eu-west-1",
            "ses_role_arn": f"arn:aws:iam::3100000000{index:02d}:role/changecast-ses",
            "ses_role_external_id": f"external-{code}-{index}",
        }
        for index, code in enumerate(codes)
    }
    return raw


def generate(tmp_path: Path, raw: dict[str, Any], *extra: str) -> Path:
    """A copy of deploy/terraform with the files the command writes into environments/dev."""
    tree = tmp_path / "terraform"
    if not tree.exists():
        shutil.copytree(TERRAFORM, tree)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(raw))
    env = tree / "environments" / "dev"
    done = subprocess.run(
        [sys.executable, "-m", "changecast", "deploy", "tfvars", "--config", str(config),
         "--out-dir", str(env), *extra],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return env


def outputs_of(directory: Path) -> set[str]:
    return {
        unquote(name)
        for path in directory.glob("*.tf")
        for block in parse_tf(path).get("output", [])
        for name in block
    }


def blocks(parsed: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in parsed.get(kind, []):
        for name, body in block.items():
            found[unquote(name)] = body
    return found


def test_five_customers_are_each_wired_to_the_hub(tmp_path: Path) -> None:
    env = generate(tmp_path, five_customer_config())
    tfvars = json.loads((env / TFVARS_FILE).read_text())
    assert sorted(tfvars["customers"]) == sorted(CODES)

    parsed = parse_tf(env / GENERATED_TF_FILE)
    providers = [body for block in parsed["provider"] for body in block.values()]
    aliases = {unquote(p["alias"]): p for p in providers}
    modules = blocks(parsed, "module")
    declared = declared_variables(CUSTOMER_MODULE)
    required = {name for name, body in declared.items() if "default" not in body}
    assert len(aliases) == len(modules) == len(CODES)
    for code in CODES:
        name = "customer_" + code.replace("-", "_")
        provider = aliases[name]
        assert provider["region"] == f'${{var.customers["{code}"].region}}'
        role = provider["assume_role"][0]["role_arn"]
        assert f'var.customers["{code}"].account_id' in role
        assert "var.customer_deploy_role_name" in role
        module = modules[name]
        assert unquote(module["source"]) == "../../modules/customer-account"
        assert str(module["providers"]).count(f"aws.{name}") == 1
        assert module["customer"] == f'${{var.customers["{code}"]}}'
        assert module["worker_role_arn"] == f'${{module.hub.worker_role_arns["{code}"]}}'
        assert module["queue_arn"] == f'${{module.hub.queue_arns["{code}"]}}'
        assert module["events_role_arn"] == "${module.hub.ses_events_role_arn}"
        assert module["ses_events_queue_arn"] == "${module.hub.ses_events_queue_arn}"
        passed = {key for key in module if not key.startswith("__")} - {"source", "providers"}
        assert required <= passed <= set(declared), name

    mappings = str(blocks(parsed, "output")["customer_mappings"]["value"])
    for code in CODES:
        assert f"module.customer_{code.replace('-', '_')}.config_mapping" in mappings
    assert mappings.count(".config_mapping") == len(CODES)


def test_every_name_the_generated_file_uses_exists(tmp_path: Path) -> None:
    env = generate(tmp_path, five_customer_config())
    text = (env / GENERATED_TF_FILE).read_text()
    env_variables = set(declared_variables(env))
    env_locals = set(module_locals(env)) & set(re.findall(r"local\.(\w+)", text))
    hub_outputs = outputs_of(HUB_MODULE)
    customer_outputs = outputs_of(CUSTOMER_MODULE)

    assert set(re.findall(r"\bvar\.(\w+)", text)) <= env_variables
    assert set(re.findall(r"\blocal\.(\w+)", text)) == env_locals
    assert set(re.findall(r"\bmodule\.hub\.(\w+)", text)) <= hub_outputs
    used = set(re.findall(r"\bmodule\.customer_\w+\.(\w+)", text))
    assert used <= customer_outputs and "config_mapping" in used
    # With the committed files, no output or module name is declared twice.
    committed = outputs_of(env.parent.parent.parent / "environments" / "dev") - outputs_of(env)
    assert not committed
    names = [unquote(n) for p in env.glob("*.tf") for b in parse_tf(p).get("output", []) for n in b]
    assert len(names) == len(set(names))


def test_removing_a_customer_touches_only_the_generated_files(tmp_path: Path) -> None:
    env = generate(tmp_path, five_customer_config())
    committed = {p.name: p.read_text() for p in env.iterdir() if p.is_file()}
    generate(tmp_path, five_customer_config(CODES[:-1]))
    after = {p.name: p.read_text() for p in env.iterdir() if p.is_file()}
    changed = {name for name in after if after[name] != committed.get(name)}
    assert changed == {TFVARS_FILE, GENERATED_TF_FILE}
    assert "westwind" not in after[GENERATED_TF_FILE]
    assert "westwind" not in json.loads(after[TFVARS_FILE])["customers"]


def test_a_standalone_customer_keeps_its_hub_part_but_no_module(tmp_path: Path) -> None:
    env = generate(tmp_path, five_customer_config(), "--standalone", "east")
    assert "east" in json.loads((env / TFVARS_FILE).read_text())["customers"]
    modules = blocks(parse_tf(env / GENERATED_TF_FILE), "module")
    assert "customer_east" not in modules and len(modules) == 4


def test_an_unknown_standalone_customer_is_one_line_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(five_customer_config()))
    done = subprocess.run(
        [sys.executable, "-m", "changecast", "deploy", "tfvars", "--config", str(config),
         "--out-dir", str(tmp_path), "--standalone", "nobody"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--standalone nobody: not a customer of config.json" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / GENERATED_TF_FILE).exists()


def test_the_config_mapping_output_has_only_config_json_fields() -> None:
    """Merging a customer's config_mapping output into config.json gives a valid mapping."""
    outputs = blocks(parse_tf(CUSTOMER_MODULE / "outputs.tf"), "output")
    value = outputs["config_mapping"]["value"]
    keys = set(re.findall(r"\b([a-z_]+)\s*=", str(value)))
    keys -= {"key"}  # the for expression
    assert keys >= {
        "customer_code",
        "ses_role_arn",
        "ses_admin_role_arn",
        "ses_events_role_arn",
        "identity_center_role_arn",
        "sqs_queue_arn",
        "ses_role_external_id",
    }
    assert keys <= set(CustomerMapping.model_fields), keys - set(CustomerMapping.model_fields)


@pytest.mark.parametrize("path", sorted((TERRAFORM / "environments").glob("*/providers.tf")))
def test_the_committed_providers_have_only_the_hub(path: Path) -> None:
    providers = parse_tf(path)["provider"]
    assert len(providers) == 1 and "alias" not in next(iter(providers[0].values()))
