"""The function kinds we package, what each needs from PyPI and from changecast itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Arch = Literal["x86_64", "arm64"]
ARCHES: tuple[Arch, ...] = ("x86_64", "arm64")
MACHINE: dict[Arch, str] = {"x86_64": "x86_64", "arm64": "aarch64"}

REQUIREMENTS_DIR = Path(__file__).parent / "requirements"

# The python3.11 Lambda runtime runs on Amazon Linux 2: glibc 2.26 loads manylinux <= 2_26.
LAMBDA_GLIBC = (2, 26)
PYTHON_VERSION = "3.11"

# Deployed processes only check the schema revision (no Alembic); `changecast index migrate`
# (the container image, or a deploy step) migrates it.
WORKER_ROOTS = (
    "aws-lambda-powertools",
    "boto3",
    "cryptography",  # sealed link tokens (access/links.py): the recipient is not readable
    "icalendar",
    "jinja2",
    "markdown-it-py",  # announcement bodies (delivery/markdown.py)
    "psycopg[binary]",
    "pydantic",
    "pydantic-settings",
    "sqlalchemy",
    "structlog",
    "tzdata",
)
PORTAL_ROOTS = (
    *WORKER_ROOTS,
    "fastapi",
    "itsdangerous",
    "lxml",
    "mangum",
    "python-multipart",
    "python3-saml",
    "xmlsec",
)


# `local up`'s threads (workers, SES simulator, SES events): only `cli local up` imports them.
_LOCAL_ONLY = frozenset({"workers/local.py"})
# Operator commands only (`changecast doctor`, `changecast deploy migrate`): no function runs them.
_CLI_ONLY = frozenset({"aws/doctor.py", "aws/lambda_invoke.py"})


@dataclass(frozen=True)
class RequirementSet:
    """One requirement file: the distributions reached from ``roots`` in uv.lock.

    ``base`` names the set this one extends (``-r base.txt``); its pins are not repeated.
    ``roots`` empty means every runtime dependency of the project (no extras, no dev group).
    """

    name: str
    roots: tuple[str, ...]
    base: str | None = None

    @property
    def path(self) -> Path:
        return REQUIREMENTS_DIR / f"{self.name}.txt"


MIGRATE_ROOTS = (*WORKER_ROOTS, "alembic")
"""The migrate function (``changecast deploy migrate``): the worker's set and Alembic."""

REQUIREMENT_SETS: dict[str, RequirementSet] = {
    "worker": RequirementSet("worker", WORKER_ROOTS),
    "migrate": RequirementSet("migrate", MIGRATE_ROOTS, base="worker"),
    "portal": RequirementSet("portal", PORTAL_ROOTS, base="worker"),
    # The container image (portal on ECS, ECS worker, the CLI): everything `pip install .` gets.
    "server": RequirementSet("server", (), base="portal"),
}


@dataclass(frozen=True)
class FunctionKind:
    """A Lambda function kind: its handler, requirement set and the changecast code it ships.

    Every top-level ``changecast/*.py`` module ships; of the subpackages, those in ``omit`` do
    not, except the files listed in ``keep`` (paths relative to the changecast package).
    ``forbidden`` are import names that must not be in the package at all. Of botocore's
    service models only ``aws_services`` ship (a client for any other fails with
    UnknownServiceError); tests/packaging checks every ``client("...")`` the code makes is here.
    """

    name: str
    handler: str
    requirements: str
    omit: frozenset[str]
    keep: frozenset[str] = frozenset()
    drop: frozenset[str] = _LOCAL_ONLY | _CLI_ONLY
    forbidden: frozenset[str] = frozenset()
    aws_services: frozenset[str] = frozenset()

    def ships(self, relative: Path) -> bool:
        """Whether the changecast file at ``relative`` (inside the package) goes in the zip."""
        parts = relative.parts
        if "__pycache__" in parts or (relative.name == "__main__.py" and len(parts) == 1):
            return False
        if relative.as_posix() in self.drop:
            return False
        if len(parts) == 1 or parts[0] not in self.omit:
            return True
        return relative.as_posix() in self.keep


_NEVER = frozenset({"moto", "pytest", "httpx"})
# The hub's S3, SQS, DynamoDB ledger and Secrets Manager; STS to assume each customer's role;
# the customer's SESv2, and SES v1 for preflight's identity, DKIM and quota reads (moto has
# those, not SESv2's GetAccount; aws/ses_preflight.py ships with every kind).
_SERVICES = frozenset({"s3", "sqs", "dynamodb", "secretsmanager", "sts", "sesv2", "ses"})

KINDS: dict[str, FunctionKind] = {
    "worker": FunctionKind(
        name="worker",
        handler="changecast.workers.lambda_handler.handler",
        requirements="worker",
        omit=frozenset({"web", "cli", "local", "packaging"}),
        forbidden=_NEVER
        | {"fastapi", "starlette", "onelogin", "lxml", "xmlsec", "mangum", "uvicorn", "typer"},
        aws_services=_SERVICES,
    ),
    "migrate": FunctionKind(
        name="migrate",
        handler="changecast.workers.migrate.handler",
        requirements="migrate",
        omit=frozenset({"web", "cli", "local", "packaging"}),
        forbidden=_NEVER
        | {"fastapi", "starlette", "onelogin", "lxml", "xmlsec", "mangum", "uvicorn", "typer"},
        aws_services=_SERVICES,
    ),
    "portal": FunctionKind(
        name="portal",
        handler="changecast.web.lambda_portal.handler",
        requirements="portal",
        omit=frozenset({"cli", "local", "packaging"}),
        # The outbox pages exist in local mode only; their modules import no moto at load time.
        keep=frozenset(
            {
                "local/__init__.py",
                "local/outbox.py",
                "local/moto_store.py",
                "local/state_mirror.py",
            }
        ),
        forbidden=_NEVER | {"uvicorn", "typer"},
        aws_services=_SERVICES,
    ),
}
