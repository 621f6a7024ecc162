"""What each entry point loads: `--help` no boto3, the worker no web stack, nothing loads moto."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from changecast.index.engine import (
    MIGRATIONS,
    SCHEMA_HEAD,
    SchemaBehindError,
    create_index_engine,
    open_index,
    run_migrations,
)

PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m.split(".")[0] for m in sys.modules)))
"""


def loaded_by(body: str) -> set[str]:
    answer = subprocess.run(
        [sys.executable, "-c", PROBE.format(body=body)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(json.loads(answer.stdout.strip().splitlines()[-1]))


def test_help_loads_neither_boto3_nor_the_domain() -> None:
    body = (
        "sys.argv = ['changecast', '--help']\n"
        "from changecast.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    loaded = loaded_by(body)
    assert not loaded & {"boto3", "botocore", "moto", "sqlalchemy", "fastapi", "pydantic"}


@pytest.mark.parametrize(
    ("entry", "forbidden"),
    [
        (
            "import changecast.workers.lambda_handler",
            {"fastapi", "starlette", "onelogin", "lxml", "xmlsec", "moto", "alembic", "httpx"},
        ),
        ("import changecast.web.lambda_portal", {"moto", "alembic", "httpx", "typer"}),
        ("import changecast.web.asgi", {"moto", "typer"}),
        ("import changecast.cli.changes, changecast.cli.ses, changecast.cli.index", {"moto"}),
    ],
)
def test_entry_points_load_only_what_they_need(entry: str, forbidden: set[str]) -> None:
    assert not loaded_by(entry) & forbidden


def test_the_schema_head_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


def test_a_deployed_process_refuses_an_index_that_is_behind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'index.db'}"
    with pytest.raises(SchemaBehindError, match="run `changecast deploy migrate") as caught:
        open_index(url, migrate=False)
    assert "not migrated" in caught.value.message
    assert "or `changecast index migrate`" in caught.value.message
    engine = create_index_engine(url)
    assert run_migrations(engine) == SCHEMA_HEAD
    engine.dispose()
    open_index(url, migrate=False).engine.dispose()
