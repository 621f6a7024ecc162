"""Every `changecast …` command the runbooks and deploy/README.md name exists in the CLI."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.deploy.terraform_support import DEPLOY, ROOT

DOCS = [DEPLOY / "README.md", *sorted((ROOT / "docs" / "runbooks").glob("*.md"))]
_COMMAND = re.compile(r"changecast((?: --config \S+)?)((?: [a-z][a-z-]+)+)")
_GROUPS = {
    "deploy",
    "index",
    "ses",
    "identity",
    "change",
    "worker",
    "package",
    "serve",
    "doctor",
}


def named_commands() -> list[str]:
    found = set()
    for doc in DOCS:
        for match in _COMMAND.finditer(doc.read_text()):
            words = match[2].split()
            if not words or words[0] not in _GROUPS:
                continue
            found.add(" ".join(w for w in words[:3] if w not in {"to"}))
    return sorted(found)


def test_the_runbooks_exist_and_name_commands() -> None:
    names = {doc.name for doc in DOCS}
    assert {
        "onboarding.md",
        "offboarding.md",
        "dlq-redrive.md",
        "disaster-recovery.md",
        "secret-rotation.md",
        "dashboard-and-alarms.md",
    } <= names
    assert len(named_commands()) >= 10


@pytest.mark.parametrize("command", named_commands())
def test_each_named_command_exists(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "changecast", *command.split(), "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"changecast {command}: {done.stderr[-500:]}"


# ---- the first deployment runbook: each value it asks for exists, in an order that works ------

RUNBOOK = ROOT / "docs" / "runbooks" / "first-deployment.md"
TERRAFORM_DOCS = [
    RUNBOOK,
    *(ROOT / "docs" / "runbooks" / name for name in ("onboarding.md", "offboarding.md")),
    *(ROOT / "docs" / "runbooks" / name for name in ("secret-rotation.md", "disaster-recovery.md")),
    DEPLOY / "README.md",
]
_OUTPUT = re.compile(r"(?:\$TF|terraform(?: -chdir=\S+)?) output (?:-raw |-json )?([a-z_]+)")
_TFVAR = re.compile(r"(?m)^([a-z_]+)\s+=\s")


def environment_outputs() -> set[str]:
    from changecast.customers.directory import load_app_config
    from changecast.customers.tfvars import generated_tf
    from tests.deploy.terraform_support import TERRAFORM, parse_tf, unquote

    env = TERRAFORM / "environments" / "dev"
    names = {unquote(n) for p in env.glob("*.tf") for b in parse_tf(p).get("output", []) for n in b}
    generated = generated_tf(load_app_config(ROOT / "examples" / "config.json"))
    names |= set(re.findall(r'(?m)^output "([a-z_]+)"', generated))
    backend = TERRAFORM / "examples" / "state-backend" / "main.tf"
    return names | {unquote(n) for b in parse_tf(backend).get("output", []) for n in b}


def test_every_terraform_output_the_docs_use_exists() -> None:
    outputs = environment_outputs()
    used = {name for doc in TERRAFORM_DOCS for name in _OUTPUT.findall(doc.read_text())}
    assert {"migrate_function_name", "customer_mappings", "portal_repository_url"} <= used
    assert used <= outputs, sorted(used - outputs)


def test_every_terraform_variable_the_runbook_sets_exists() -> None:
    from tests.deploy.terraform_support import TERRAFORM, declared_variables

    text = RUNBOOK.read_text()
    blocks = re.findall(r"```\n(.*?)```", text, flags=re.S)
    assigned = {name for block in blocks for name in _TFVAR.findall(block)}
    named = set(re.findall(r"`([a-z]+(?:_[a-z0-9]+)+)`", text))
    for env in ("dev", "prod"):
        declared = set(declared_variables(TERRAFORM / "environments" / env))
        example = (TERRAFORM / "environments" / env / "terraform.tfvars.example").read_text()
        assert assigned and assigned <= declared, sorted(assigned - declared)
        assert set(_TFVAR.findall(example)) <= declared
        wanted = {"portal_image_tag", "portal_domain_name", "saml_idp_metadata_url"}
        assert wanted <= (named | assigned) & declared


def test_the_runbook_steps_come_in_the_order_of_what_they_need() -> None:
    headings = re.findall(r"(?m)^## (\d+)\. (.+)$", RUNBOOK.read_text())
    order = [
        "State backend",
        "deploy role",
        "The hub",
        "customer accounts",
        "image",
        "Migrate",
        "DNS",
        "SAML",
        "doctor",
        "first change",
    ]
    titles = [title for _, title in headings]
    positions = [next(i for i, t in enumerate(titles) if word in t) for word in order]
    assert positions == sorted(positions), titles
    assert [int(n) for n, _ in headings] == list(range(len(headings)))


def test_the_image_target_exists_and_says_docker_does_not_run_here() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"(?m)^image:", makefile)
    done = subprocess.run(
        ["make", "-s", "image", "REGISTRY=123456789012.dkr.ecr.us-east-1.amazonaws.com/x"],
        capture_output=True, text=True, check=False, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    )  # fmt: skip
    assert done.returncode != 0
    assert "no Docker engine reachable" in done.stderr
    dry = subprocess.run(
        ["make", "-n", "image", "REGISTRY=123456789012.dkr.ecr.eu-west-1.amazonaws.com/x", "TAG=7"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:7"
    assert f"docker build --platform linux/arm64 --tag {image} ." in dry.stdout
    assert "aws ecr get-login-password --region eu-west-1" in dry.stdout
