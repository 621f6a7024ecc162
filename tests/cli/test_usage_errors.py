"""Every user mistake on the command line: exit 2 (or 1), one error line, never a traceback.

The walk covers every registered command in-process (``main()`` inside CliRunner's isolation):
an unknown option, a missing required option or argument, and a typo'd sub-command of every
group. A few cases run the installed ``changecast`` entry point in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
from typer import _click as click
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from changecast.cli.main import app, main
from tests.cli.ses_harness import make_world

ENTRY_POINT = Path(sys.executable).with_name("changecast")


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_main(*args: str) -> Ran:
    """``main(args)`` as the entry point runs it, with stdout and stderr captured."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:  # pragma: no cover - main() always exits
            code = -1
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    structlog.reset_defaults()  # the root callback pointed structlog at the captured stderr
    return Ran(code, stdout, stderr)


def _walk(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, TyperGroup):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            yield from _walk(sub, (*path, name))


def _command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = get_command(app)
    for name in path:
        assert isinstance(command, TyperGroup)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


ALL = list(_walk(get_command(app), ()))
GROUPS = [p for p in ALL if isinstance(_command_at(p), TyperGroup)]
LEAVES = [p for p in ALL if p not in GROUPS]
WITH_REQUIRED = [p for p in LEAVES if any(q.required for q in _command_at(p).params)]


def _ids(paths: list[tuple[str, ...]]) -> list[str]:
    return [" ".join(p) or "(root)" for p in paths]


def assert_usage_error(ran: Ran, path: tuple[str, ...], error: str) -> None:
    where = " ".join(("changecast", *path))
    assert ran.code == 2, ran
    assert "Traceback" not in ran.stderr + ran.stdout
    assert len(ran.lines) == 2, ran.stderr
    usage, message = ran.lines
    assert usage.startswith(f"Usage: {where} "), usage
    assert message.startswith(f"Error: {error}"), message
    assert message.endswith(f"(see '{where} --help')"), message


def test_the_walk_finds_every_command() -> None:
    assert len(LEAVES) >= 45
    assert ("ses", "contacts", "add") in WITH_REQUIRED
    assert ("ses", "topics", "plan") in LEAVES
    assert ("ses", "topics", "plan") not in WITH_REQUIRED


@pytest.mark.parametrize("path", LEAVES, ids=_ids(LEAVES))
def test_an_unknown_option_is_one_usage_error(path: tuple[str, ...]) -> None:
    assert_usage_error(run_main(*path, "--no-such-flag"), path, "No such option: --no-such-flag")


@pytest.mark.parametrize("path", WITH_REQUIRED, ids=_ids(WITH_REQUIRED))
def test_a_missing_required_parameter_is_one_usage_error(path: tuple[str, ...]) -> None:
    assert_usage_error(run_main(*path), path, "Missing ")


@pytest.mark.parametrize("path", GROUPS, ids=_ids(GROUPS))
def test_a_typo_in_a_sub_command_is_one_usage_error(path: tuple[str, ...]) -> None:
    ran = run_main(*path, "lsit")
    assert_usage_error(ran, path, "No such command 'lsit'")


def test_a_bad_option_value_names_the_option() -> None:
    path = ("ses", "topics", "plan")
    ran = run_main(*path, "--output", "xml")
    assert_usage_error(ran, path, "Invalid value for '--output'")


# --- mistakes that are not click's: our own errors, one line each ---


@pytest.fixture
def world_dir(aws_env: None, tmp_path: Path) -> Path:
    return make_world(tmp_path / "cfg").root


def run_in(root: Path, *args: str) -> Ran:
    return run_main("--config", str(root / "config.json"), "--data-dir", str(root), *args)


def assert_one_error(ran: Ran, code: int, *fragments: str) -> None:
    assert ran.code == code, ran
    assert "Traceback" not in ran.stderr + ran.stdout
    assert len(ran.lines) == 1, ran.stderr
    assert ran.lines[0].startswith("error ("), ran.lines
    for fragment in fragments:
        assert fragment in ran.lines[0]


def test_an_unknown_customer_code_is_one_line(world_dir: Path) -> None:
    ran = run_in(world_dir, "ses", "topics", "plan", "-c", "acme", "-c", "zeta")
    assert_one_error(ran, 2, "unknown customer code(s): zeta", "known: acme, globex, initech")


def test_customer_and_all_together_are_one_line(world_dir: Path) -> None:
    ran = run_in(world_dir, "ses", "contacts", "list", "-c", "acme", "--all")
    assert_one_error(ran, 2, "either --customer or --all")


def test_no_customer_at_all_is_one_line(world_dir: Path) -> None:
    assert_one_error(run_in(world_dir, "ses", "domain", "dns"), 2, "--customer CODE")


def test_a_missing_config_file_names_it(tmp_path: Path, aws_env: None) -> None:
    missing = tmp_path / "nowhere" / "config.json"
    ran = run_main("--config", str(missing), "ses", "topics", "plan", "--all")
    assert_one_error(ran, 2, str(missing))


@pytest.mark.parametrize(
    "args",
    [
        ("change", "new", "--from-file", "{missing}"),
        ("alt-contacts", "set", "--contacts-file", "{missing}", "--all"),
        ("ses", "contacts", "restore", "--from", "{missing}", "-c", "acme"),
    ],
    ids=["change new", "alt-contacts set", "ses contacts restore"],
)
def test_a_missing_input_file_is_one_line(world_dir: Path, args: tuple[str, ...]) -> None:
    missing = str(world_dir / "no-such-file.json")
    ran = run_in(world_dir, *(a.replace("{missing}", missing) for a in args))
    assert_one_error(ran, 2, missing)


@pytest.mark.parametrize(
    "args",
    [
        ("change", "new", "--from-file", "{bad}"),
        ("alt-contacts", "set", "--contacts-file", "{bad}", "--all"),
        ("ses", "contacts", "restore", "--from", "{bad}", "-c", "acme"),
    ],
    ids=["change new", "alt-contacts set", "ses contacts restore"],
)
def test_a_malformed_json_file_is_one_line(world_dir: Path, args: tuple[str, ...]) -> None:
    bad = world_dir / "bad.json"
    bad.write_text('{"changeMetadata": ', encoding="utf-8")
    ran = run_in(world_dir, *(a.replace("{bad}", str(bad)) for a in args))
    assert_one_error(ran, 2, str(bad), "JSON")


def test_a_malformed_config_json_is_one_line(world_dir: Path) -> None:
    (world_dir / "config.json").write_text("{", encoding="utf-8")
    ran = run_in(world_dir, "alt-contacts", "show", "--all")
    assert_one_error(ran, 2, "config.json", "JSON")


def test_a_change_id_that_is_not_a_uuid_is_one_line(world_dir: Path) -> None:
    assert_one_error(run_in(world_dir, "change", "show", "not-a-uuid"), 2, "not-a-uuid")


# --- the installed entry point, in a subprocess ---


def run_entry_point(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    missing = str(tmp_path / "no-such-aws-config")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CHANGECAST_"))},
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": missing,
        "AWS_SHARED_CREDENTIALS_FILE": missing,
        "CHANGECAST_DATA_DIR": str(tmp_path),
        "COLUMNS": "80",
    }
    return subprocess.run(
        [str(ENTRY_POINT), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("ses", "contacts", "add", "a@example.com", "--frobnicate"), "No such option"),
        (("ses", "contacts", "subscribe", "a@example.com"), "Missing option '--topic'"),
        (("alt-contacts", "shwo"), "No such command 'shwo'"),
    ],
    ids=["unknown option", "missing option", "typo"],
)
def test_the_entry_point_shows_a_usage_line_and_one_error(
    tmp_path: Path, args: tuple[str, ...], error: str
) -> None:
    done = run_entry_point(tmp_path, *args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith("Usage: changecast ")
    assert lines[1].startswith(f"Error: {error}")
    assert done.stdout == ""


def test_the_entry_point_reports_a_bad_json_file_in_one_line(tmp_path: Path) -> None:
    world = make_world(tmp_path / "cfg")
    bad = world.root / "contacts.json"
    bad.write_text(json.dumps({"billing": {"name": "x"}})[:-3], encoding="utf-8")
    done = run_entry_point(
        tmp_path, "--config", str(world.config_path), "alt-contacts", "set",
        "--contacts-file", str(bad), "--all",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert str(bad) in done.stderr


def test_a_backup_path_that_cannot_be_written_fails_that_customer_without_a_traceback(
    aws_env: None, tmp_path: Path
) -> None:
    from moto import mock_aws

    with mock_aws():
        world = make_world(tmp_path / "cfg", codes=("acme",))
        assert world.invoke("ses", "topics", "apply", "--all").code == 0
        blocker = tmp_path / "a-file"
        blocker.write_text("", encoding="utf-8")
        target = f"{blocker}/backup.json"  # a directory that is a file
        ran = run_in(
            world.root, "ses", "contacts", "backup", "--to", target, "-c", "acme", "-o", "json"
        )
    assert ran.code == 1, ran
    assert "Traceback" not in ran.stderr + ran.stdout
    (only,) = json.loads(ran.stdout)["customers"]
    assert only["detail"].startswith(f"{target}: cannot be written")
    assert only["errorKind"] == "invalid_input"
    assert ran.lines[-1] == "error (customers_failed): 1 of 1 customers failed: acme"
