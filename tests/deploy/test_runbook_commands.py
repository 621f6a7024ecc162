"""Every `changecast …` command the runbooks and deploy/README.md name exists in the CLI."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.deploy.terraform_support import DEPLOY, ROOT

DOCS = [DEPLOY / "README.md", *sorted((ROOT / "docs" / "runbooks").glob("*.md"))]
_COMMAND = re.compile(r"changecast((?: --config \S+)?)((?: [a-z][a-z-]+)+)")
_GROUPS = {"deploy", "index", "ses", "identity", "change", "worker", "package", "serve"}


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
