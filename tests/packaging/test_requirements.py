"""The requirement files agree with uv.lock, nest, and keep the web stack out of the worker."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

import botocore.session
import pytest

import changecast
from changecast.packaging.kinds import KINDS, REQUIREMENT_SETS
from changecast.packaging.pins import Lock, marker_holds, normalize, pins_of, stale, wheel_fits

ROOT = Path(__file__).resolve().parents[2]
WEB_STACK = {"fastapi", "starlette", "python3-saml", "lxml", "xmlsec", "mangum", "uvicorn"}


def test_requirement_files_agree_with_uv_lock() -> None:
    assert stale(Lock(ROOT / "uv.lock")) == [], (
        "run: uv run python -m changecast.packaging.pins --write"
    )


def test_the_sets_nest_with_the_same_versions() -> None:
    worker = pins_of(REQUIREMENT_SETS["worker"].path)
    portal = pins_of(REQUIREMENT_SETS["portal"].path)
    server = pins_of(REQUIREMENT_SETS["server"].path)
    assert worker.items() <= portal.items() <= server.items()
    assert not set(worker) & (WEB_STACK | {"moto", "httpx", "alembic", "typer", "rich"})
    assert {"fastapi", "python3-saml", "mangum"} <= set(portal)
    assert not set(server) & {"moto", "httpx", "pytest"}


def test_the_server_set_is_what_pip_install_dot_installs() -> None:
    lock = Lock(ROOT / "uv.lock")
    expected = {normalize(name) for name in lock.closure(lock.project_roots())}
    assert set(pins_of(REQUIREMENT_SETS["server"].path)) == expected


def test_every_pin_carries_hashes() -> None:
    for spec in REQUIREMENT_SETS.values():
        text = spec.path.read_text(encoding="utf-8")
        for block in re.split(r"\n(?=[a-z0-9])", text):
            if "==" in block.splitlines()[0]:
                assert "--hash=sha256:" in block, block


def test_markers_and_wheel_tags() -> None:
    assert marker_holds("implementation_name != 'pypy'", "x86_64")
    assert not marker_holds("sys_platform == 'win32'", "aarch64")
    assert marker_holds("python_full_version < '3.12'", "x86_64")
    assert not marker_holds("extra == 'local'", "x86_64")
    assert wheel_fits(
        "pydantic_core-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )
    assert wheel_fits("cryptography-44.0-cp39-abi3-manylinux_2_28_aarch64.whl")
    assert wheel_fits("boto3-1.0-py3-none-any.whl")
    assert not wheel_fits("pydantic_core-2.0-cp311-cp311-musllinux_1_1_x86_64.whl")
    assert not wheel_fits("pydantic_core-2.0-cp312-cp312-manylinux2014_x86_64.whl")
    assert not wheel_fits("lxml-6.0-cp311-cp311-win_amd64.whl")


def _client_services(kind_name: str) -> set[str]:
    """Service names in the ``client(...)`` / ``for_role(...)`` calls of the code a kind ships."""
    kind = KINDS[kind_name]
    known = set(botocore.session.get_session().get_available_services())
    source = Path(changecast.__file__).parent
    found = set()
    for path in source.rglob("*.py"):
        if not kind.ships(path.relative_to(source)):
            continue
        with tokenize.open(path) as stream:
            for line in stream:
                if "client(" in line or "for_role(" in line:
                    found |= set(re.findall(r"\"([a-z0-9-]+)\"", line)) & known
    return found


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_aws_client_the_code_makes_has_its_service_model(kind: str) -> None:
    used = _client_services(kind)
    assert {"s3", "sqs", "sesv2"} <= used
    assert used <= KINDS[kind].aws_services


def test_the_worker_ships_no_web_cli_or_local_code() -> None:
    worker = KINDS["worker"]
    assert not worker.ships(Path("web/app.py"))
    assert not worker.ships(Path("cli/main.py"))
    assert not worker.ships(Path("local/system.py"))
    assert not worker.ships(Path("packaging/build.py"))
    assert not worker.ships(Path("__main__.py"))
    assert worker.ships(Path("local_runtime.py"))
    assert worker.ships(Path("workers/lambda_handler.py"))
    assert worker.ships(Path("delivery/templates/base.html.j2"))


def test_the_dockerfile_installs_the_same_requirement_files_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(
        r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", text, flags=re.MULTILINE | re.IGNORECASE
    )
    assert len(stages) >= 2
    final = text[text.rfind("\nFROM ") :]
    assert stages[-1][0] == "${PYTHON_IMAGE}"
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, flags=re.MULTILINE)
    assert "src/changecast/packaging/requirements/" in text
    assert "server.txt" in text
    assert "--require-hashes" in text and "--no-deps" in text and "--only-binary=:all:" in text
    users = re.findall(r"^USER\s+(\S+)", final, flags=re.MULTILINE)
    assert users and users[-1] not in {"root", "0", "0:0"}
    assert not re.search(r"apt-get install|gcc|build-essential", final)
    assert 'ENTRYPOINT ["changecast"]' in final
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    assert ".venv" in ignored and ".git" in ignored
