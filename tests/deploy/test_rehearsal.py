"""Deployment rehearsal: every process started with exactly what deploy/terraform gives it.

There is no Terraform binary or AWS account here, so this is the strongest check the machine
allows that the Terraform and the code agree. The test

1. evaluates environments/dev and modules/hub with python-hcl2 and ``terraform_eval`` (the
   expressions themselves, with the variables an operator sets in terraform.tfvars and the
   customers ``changecast deploy tfvars`` writes) to get, for each process Terraform deploys
   (portal on ECS, portal on Lambda, worker, SES events, scheduler, maintenance, migrate), the
   environment variables it is given, and its command or handler;
2. "applies" what those expressions name on moto's server (bucket, queues, ledger table and
   runtime secret under the names Terraform gives them, the RDS-managed database secret) and on
   a private PostgreSQL with password authentication (the machine's own trusts everyone, which
   would hide a missing password), whose address and database are the ``aws_db_instance``'s;
3. starts each real entry point with exactly that environment, plus the moto endpoint
   (``CHANGECAST_AWS_ENDPOINT_URL``) and fake AWS credentials, each in its own Python process:
   the migrate function brings the empty database to head; ``changecast serve`` (the ECS task's
   command) becomes ready and a SAML sign-in from the test IdP whose group maps to ChangeManager
   reaches the dashboard; the Lambda portal answers ready; a worker delivers a trigger; the
   scheduler, SES events and upkeep functions run;
4. drops each variable Terraform sets, one at a time, and shows the process then fails. The few
   whose absence a run cannot notice are listed in ``NOT_NEEDED`` with the reason.
"""

from __future__ import annotations

import base64
import gc
import importlib
import json
import os
import secrets
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg
import pytest

from changecast.aws.dynamodb import create_ledger_table
from changecast.aws.s3 import S3ObjectStore
from changecast.aws.sessions import AwsClients, AwsTarget
from changecast.changes.models import ChangeStatus
from changecast.customers.models import AppConfig
from changecast.customers.tfvars import tfvars
from changecast.distribution.models import DistributionEvent
from changecast.index.engine import SCHEMA_HEAD
from changecast.layout import execution_key
from changecast.local import provision
from changecast.local.demo import demo_config, demo_ses_config
from changecast.local.moto_store import sent_mail
from tests.delivery_support import publish, stored_change
from tests.deploy.terraform_eval import PROCESSES, Deployment
from tests.deploy.terraform_support import TERRAFORM
from tests.fakes.idp import IDP_ENTITY_ID, IDP_SSO_URL, FakeIdp, KeyPair, make_key_pair
from tests.production.idp_metadata import idp_metadata_xml
from tests.production.private_postgres import PrivatePostgres, private_postgres
from tests.production.stack import BUCKET, Hub, clean_env, free_port, moto_hub

ENVIRONMENT = TERRAFORM / "environments" / "dev"
HUB_ACCOUNT = "123456789012"
REGION = "us-east-1"
PORTAL_HOST = "changes.rehearsal.example"
PORTAL_URL = f"https://{PORTAL_HOST}"
IDP_ENTITY = IDP_ENTITY_ID  # the test IdP's issuer, published in its metadata
IDP_SSO = IDP_SSO_URL
# Identity Center sends group ids; the environment maps them to roles.
GROUPS = {
    "ChangeManager": "90676f1c-0011-70f0-cm00-000000000001",
    "Auditor": "90676f1c-0011-70f0-au00-000000000002",
    "ReadOnly": "90676f1c-0011-70f0-ro00-000000000003",
}
CUSTOMER_GROUP = "90676f1c-0011-70f0-cu00-000000000004"
DB_NAME = "changecast_rehearsal"
DB_USER = "changecast"
DB_PASSWORD = "rds-managed-" + secrets.token_hex(12)
CLIENT_IP = "203.0.113.7"  # the browser, as the load balancer forwards it

# The processes whose variables are dropped one at a time (the Lambda portal's are the ECS
# portal's, from the same local.portal_env, plus CHANGECAST_WEB__STREAMING).
DROPPED_FROM = ("portal-ecs", "worker", "migrate", "scheduler", "ses-events", "maintenance")

# Variables Terraform sets whose absence a run here cannot notice, with why (each is checked to
# be in the process's environment, and the run without it to still succeed).
NOT_NEEDED: dict[tuple[str, str], str] = {
    **{
        (process, "CHANGECAST_MODE"): "deployed processes default to aws mode (Terraform says so)"
        for process in DROPPED_FROM
    },
    ("worker", "CHANGECAST_DELIVERY__MAX_RECEIVE_COUNT"): (
        "the queue's own redrive policy wins when the worker can read it"
    ),
    ("ses-events", "CHANGECAST_DELIVERY__MAX_RECEIVE_COUNT"): (
        "used when a record fails; an empty batch has none (test_iam_ses_events runs records)"
    ),
    ("ses-events", "CHANGECAST_DELIVERY__LEDGER_TABLE"): (
        "used per record; an empty batch reads no ledger (test_iam_ses_events runs records)"
    ),
    ("ses-events", "CHANGECAST_WEB__BASE_URL"): "SES events build no links",
    ("ses-events", "CHANGECAST_SECRETS_ID"): "SES events read no session or link secret",
    ("scheduler", "CHANGECAST_DELIVERY__LEDGER_TABLE"): "the scheduler reads no ledger",
    ("scheduler", "CHANGECAST_WEB__BASE_URL"): "a tick writes triggers, no links",
    ("scheduler", "CHANGECAST_SECRETS_ID"): "a tick signs nothing",
    ("maintenance", "CHANGECAST_DELIVERY__LEDGER_TABLE"): "the upkeep touches only the index",
    ("maintenance", "CHANGECAST_WEB__BASE_URL"): "the upkeep builds no links",
    ("maintenance", "CHANGECAST_SECRETS_ID"): "the upkeep signs nothing",
    ("worker", "CHANGECAST_SECRETS_ID"): (
        "it holds links_secret (sign-off links); without it the worker sends approval "
        "requests without sign-off links, and says so in its log"
    ),
    ("portal-ecs", "CHANGECAST_DELIVERY__LEDGER_TABLE"): (
        "the portal reads the ledger for a change's deliveries page only"
    ),
    ("portal-ecs", "CHANGECAST_WEB__FORWARDED_ALLOW_IPS"): (
        "only what uvicorn (`changecast serve`) reports as peer and scheme: the audit address "
        "comes from X-Forwarded-For with CHANGECAST_WEB__TRUSTED_PROXY_HOPS, URLs from the base URL"
    ),
}


def test_the_drop_runs_pass_with_nothing_dropped(migrated: Rehearsal) -> None:
    """The control of the drop tests: the in-process runs succeed with every variable."""
    for process in DROPPED_FROM:
        assert outcome(migrated, process) == "", process


# ---- the deployment ----------------------------------------------------------------------------


@dataclass
class Rehearsal:
    root: Path
    hub: Hub
    postgres: PrivatePostgres
    config: AppConfig
    keys: KeyPair
    wrong_keys: KeyPair
    tfvars: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)

    def deployment(self, **overrides: Any) -> Deployment:
        return Deployment.of(ENVIRONMENT, {**self.tfvars, **overrides}, self.state)

    def env(self, process: str, *, drop: str | None = None, **overrides: Any) -> dict[str, str]:
        """The process's environment: Terraform's variables, the moto endpoint, credentials."""
        terraform = self.deployment(**overrides).environment(process, self.customer)
        if drop is not None:
            del terraform[drop]
        return {
            **clean_env(self.root),
            "HOME": str(self.root / "home"),
            **terraform,
            "CHANGECAST_AWS_ENDPOINT_URL": self.hub.endpoint,
        }

    @property
    def customer(self) -> str:
        return sorted(self.config.customer_mappings)[0]


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
"""The in-process cold starts below drop runtimes without closing them, as a Lambda process that
ends would; psycopg and socket ResourceWarnings from collecting them are not findings here."""


@pytest.fixture(autouse=True)
def _collect_discarded_cold_starts() -> Iterator[None]:
    """The in-process runs simulate a cold start by dropping the handlers' cached runtimes (a
    real Lambda process would end); their unclosed database connections and sockets are
    collected here, at each test's end, instead of warning inside whichever test runs next."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def rehearsal_config() -> AppConfig:
    """config.json as first-deployment.md ends step 4 with: two customers, external ids."""
    raw = json.loads(demo_config(2, portal_url="https://before.example").model_dump_json())
    raw["s3_config"]["bucket_name"] = BUCKET
    for code, mapping in raw["customer_mappings"].items():
        mapping["ses_role_external_id"] = f"external-id-of-{code}"
    return AppConfig.model_validate(raw)


def operator_tfvars(config: AppConfig) -> dict[str, Any]:
    """customers.auto.tfvars.json, and the terraform.tfvars of first-deployment.md."""
    return {
        **tfvars(config),
        "vpc_id": "vpc-0123456789abcdef0",
        "private_subnet_ids": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        "portal_domain_name": PORTAL_HOST,
        "portal_route53_zone_id": "Z0123456789ABCDEFGHIJ",
        "portal_image_tag": "0.1.0",
        "saml_idp_metadata_url": f"s3://{BUCKET}/config/idp-metadata.xml",
        "saml_allowed_email_domains": [config.email_config.domain],
        "saml_change_manager_groups": [GROUPS["ChangeManager"]],
        "saml_auditor_groups": [GROUPS["Auditor"]],
        "saml_read_only_groups": [GROUPS["ReadOnly"]],
        "saml_customer_manager_groups": {CUSTOMER_GROUP: [sorted(config.customer_mappings)[0]]},
    }


def _apply(rehearsal: Rehearsal) -> None:
    """What `terraform apply` makes, on moto, under the names the expressions give."""
    hub = rehearsal.hub
    aws = AwsClients(target=AwsTarget(region=REGION, endpoint_url=hub.endpoint))
    named = rehearsal.deployment()
    name_of = {
        address: named.hub.value(named.hub.resource(address)["name"])
        for address in ("aws_dynamodb_table.ledger", "aws_secretsmanager_secret.runtime")
    }
    queues = provision.create_queues(aws, rehearsal.config)
    provision.configure_notifications(aws, rehearsal.config, queues)
    sqs = aws.client("sqs")
    for code, (url, _, _) in queues.items():
        sqs.purge_queue(QueueUrl=url)  # S3 sends a test event when notifications are set
        rehearsal.queue_urls[code] = url
    create_ledger_table(aws.client("dynamodb"), name_of["aws_dynamodb_table.ledger"])
    ses_config = demo_ses_config()
    for index, mapping in enumerate(sorted(rehearsal.config.customer_mappings.values(), key=str)):
        provision.provision_customer(aws, rehearsal.config, ses_config, mapping, index)
    s3 = aws.client("s3")
    s3.put_object(
        Bucket=BUCKET,
        Key="config/config.json",
        Body=rehearsal.config.model_dump_json(exclude_none=True).encode(),
    )
    s3.put_object(
        Bucket=BUCKET,
        Key="config/SESConfig.json",
        Body=json.dumps(ses_config.model_dump(mode="json", by_alias=True)).encode(),
    )
    metadata = idp_metadata_xml(rehearsal.keys.cert_pem, IDP_ENTITY, IDP_SSO)
    s3.put_object(Bucket=BUCKET, Key="config/idp-metadata.xml", Body=metadata.encode())
    manager = aws.client("secretsmanager")
    runtime_secret = manager.create_secret(
        Name=name_of["aws_secretsmanager_secret.runtime"],
        SecretString=json.dumps({"session_secret": secrets.token_urlsafe(48)}),
    )["ARN"]
    database_secret = manager.create_secret(
        Name="rds!db-0b1c2d3e-rehearsal",
        SecretString=json.dumps(
            {"username": DB_USER, "password": DB_PASSWORD, "engine": "postgres"}
        ),
    )["ARN"]
    rehearsal.state.update(
        {
            "aws_secretsmanager_secret.runtime.arn": runtime_secret,
            "aws_db_instance.index.master_user_secret[0].secret_arn": database_secret,
            "aws_db_instance.index.address": "127.0.0.1",
            "aws_db_instance.index.port": rehearsal.postgres.port,
            "aws_db_instance.index.db_name": DB_NAME,
        }
    )


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    root = tmp_path_factory.mktemp("rehearsal")
    (root / "home").mkdir()
    with private_postgres() as postgres:
        with psycopg.connect(postgres.libpq(), autocommit=True) as db:
            db.execute(f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{DB_PASSWORD}'")
            db.execute(f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}")
        with moto_hub(root) as hub:
            config = rehearsal_config()
            found = Rehearsal(
                root=root,
                hub=hub,
                postgres=PrivatePostgres(postgres.port, DB_NAME),
                config=config,
                keys=make_key_pair(root / "keys", "idp"),
                wrong_keys=make_key_pair(root / "keys", "wrong"),
                tfvars=operator_tfvars(config),
                state={
                    "data.aws_partition.current.partition": "aws",
                    "data.aws_caller_identity.current.account_id": HUB_ACCOUNT,
                    "data.aws_region.current.name": REGION,
                    # The rehearsal's VPC is the loopback network: the "load balancer" is us.
                    "data.aws_vpc.main.cidr_block": "127.0.0.0/8",
                    "aws_ecr_repository.portal.repository_url": (
                        f"{HUB_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/changecast-dev-portal"
                    ),
                },
            )
            _apply(found)
            yield found


@pytest.fixture(scope="module")
def migrated(rehearsal: Rehearsal) -> Rehearsal:
    """The deploy step: the migrate function, with its Terraform environment, on the empty DB."""
    answer = run_function(rehearsal, "migrate", {})
    assert answer.result is not None, answer.stderr
    assert answer.result["ok"] is True, answer.result
    assert (answer.result["before"], answer.result["after"]) == (None, SCHEMA_HEAD)
    return rehearsal


# ---- running the entry points --------------------------------------------------------------------

_INVOKE = """
import importlib, json, sys
module, _, name = sys.argv[1].rpartition(".")
handler = getattr(importlib.import_module(module), name)
print("RESULT " + json.dumps(handler(json.loads(sys.stdin.read()), None), default=str))
"""


@dataclass
class Invocation:
    returncode: int
    result: Any
    stderr: str


def run_function(
    rehearsal: Rehearsal,
    process: str,
    event: Any,
    *,
    drop: str | None = None,
    in_process: bool = False,
    **overrides: Any,
) -> Invocation:
    """One cold start and invocation of a Lambda function: in its own Python process, or (for
    the many runs of the drop tests) here, with os.environ swapped and the handler caches empty."""
    handler = rehearsal.deployment(**overrides).handler(process)
    env = rehearsal.env(process, drop=drop, **overrides)
    if in_process:
        module, _, name = handler.rpartition(".")
        with process_environment(env):
            try:
                answer = getattr(importlib.import_module(module), name)(event, None)
            except Exception as exc:  # the cold start or the run refused: the finding
                return Invocation(1, None, f"{type(exc).__name__}: {exc}"[:3000])
        return Invocation(0, json.loads(json.dumps(answer, default=str)), "")
    done = subprocess.run(
        [sys.executable, "-c", _INVOKE, handler],
        input=json.dumps(event),
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    result = json.loads(lines[-1][len("RESULT ") :]) if lines else None
    return Invocation(done.returncode, result, done.stderr[-3000:])


@contextmanager
def serving(rehearsal: Rehearsal, *, drop: str | None = None) -> Iterator[str]:
    """The ECS task's command (host and port made local) with the task's environment."""
    command = rehearsal.deployment().handler("portal-ecs").split()
    port = free_port()
    command = [{"0.0.0.0": "127.0.0.1", "8000": str(port)}.get(word, word) for word in command]
    assert command[:2] == ["changecast", "serve"]
    log_path = rehearsal.root / f"serve-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", *command],
            env=rehearsal.env("portal-ecs", drop=drop),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise StartFailed(log_path.read_text()[-2000:])
                try:
                    if httpx.get(f"{url}/api/health/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            else:
                raise StartFailed("not ready within 90 s: " + log_path.read_text()[-2000:])
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


class StartFailed(Exception):
    """The process stopped, or never became ready."""


class Browser:
    """Cookies by hand: the session cookie is Secure (the ALB speaks HTTPS, we speak HTTP)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {
            "X-Forwarded-For": CLIENT_IP,
            "X-Forwarded-Proto": "https",
            "accept": "text/html",
            **kwargs.pop("headers", {}),
        }
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        answer = self.client.request(method, path, headers=headers, **kwargs)
        for header in answer.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return answer


def sign_in(
    connect: Callable[[], Any], idp: FakeIdp, *, email: str, group: str
) -> tuple[Browser, Any]:
    """SP-initiated: /saml/login → the IdP → POST /saml/acs, in a fresh browser."""
    browser = Browser(connect())
    started = browser.send("GET", "/saml/login", params={"next": "/"})
    if started.status_code != 303 or not started.headers["location"].startswith(IDP_SSO):
        return browser, started
    location = started.headers["location"]
    relay = parse_qs(urlparse(location).query).get("RelayState", [""])[0]
    response = idp.response(
        email=email, groups=[group], in_response_to=idp.request_id(location), name="Rehearsal"
    )
    answer = browser.send("POST", "/saml/acs", data={"SAMLResponse": response, "RelayState": relay})
    return browser, answer


def portal_run(rehearsal: Rehearsal, *, drop: str | None = None) -> str:
    """'' when `changecast serve` started, signs in by SAML and maps every group; else why not."""
    try:
        with serving(rehearsal, drop=drop) as url:
            return portal_checks(
                rehearsal,
                lambda: httpx.Client(base_url=url, follow_redirects=False, timeout=20),
            )
    except StartFailed as exc:
        return f"did not start: {exc}"


def portal_in_process(rehearsal: Rehearsal, *, drop: str | None = None) -> str:
    """The same checks on the app `changecast serve` runs (its factory), in this process."""
    from fastapi.testclient import TestClient

    from changecast.web import asgi

    with process_environment(rehearsal.env("portal-ecs", drop=drop)):
        try:
            app = asgi.create_app()
        except Exception as exc:  # the start refused: the finding
            return f"did not start: {type(exc).__name__}: {exc}"[:600]
        with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 40000)):
            return portal_checks(
                rehearsal,
                lambda: TestClient(
                    app,
                    base_url="http://127.0.0.1",
                    client=("127.0.0.1", 40000),
                    follow_redirects=False,
                ),
            )


def portal_checks(  # noqa: PLR0911 - one return per check, naming what failed
    rehearsal: Rehearsal, connect: Callable[[], Any]
) -> str:
    """Ready; SP metadata at the portal's address; SAML sign-in per group; domain; address."""
    anonymous = Browser(connect())
    if anonymous.send("GET", "/api/health/ready").status_code != 200:
        return "not ready"
    metadata = anonymous.send("GET", "/saml/metadata").text
    if f'entityID="{PORTAL_URL}/saml/metadata"' not in metadata:
        return "the SP metadata does not name the portal's address"
    idp = FakeIdp(
        keys=rehearsal.keys,
        wrong_keys=rehearsal.wrong_keys,
        sp_metadata=metadata,
        sp_entity_id=f"{PORTAL_URL}/saml/metadata",
        acs_url=f"{PORTAL_URL}/saml/acs",
        sso_url=IDP_SSO,
    )
    domain = rehearsal.config.email_config.domain
    email = f"ada-{secrets.token_hex(3)}@{domain}"
    browser, answer = sign_in(connect, idp, email=email, group=GROUPS["ChangeManager"])
    if answer.status_code != 303:
        return f"sign-in answered {answer.status_code}: {answer.text[:300]}"
    dashboard = browser.send("GET", answer.headers["location"])
    session = browser.send("GET", "/api/session", headers={"accept": "application/json"})
    if dashboard.status_code != 200 or session.json().get("role") != "ChangeManager":
        return f"dashboard {dashboard.status_code}, session {session.text[:200]}"
    for role, group in [*GROUPS.items(), ("CustomerManager", CUSTOMER_GROUP)]:
        other, _ = sign_in(connect, idp, email=f"{role.lower()}@{domain}", group=group)
        me = other.send("GET", "/api/session", headers={"accept": "application/json"})
        if me.status_code != 200 or me.json().get("role") != role:
            return f"group {group} gave {me.status_code} {me.text[:200]}, not {role}"
    _, foreign = sign_in(connect, idp, email="eve@elsewhere.example", group=GROUPS["Auditor"])
    if foreign.status_code == 303:
        return "a foreign email domain was let in"
    if not signed_in_from(rehearsal, email, CLIENT_IP):
        return f"the sign-in was not recorded from the browser's address {CLIENT_IP}"
    return ""


@contextmanager
def process_environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ is exactly ``env`` inside, and the handlers' per-process caches are empty."""
    from changecast.web import lambda_portal
    from changecast.workers import lambda_handler, ses_events
    from changecast.workers import scheduler as scheduler_module

    caches = [
        lambda_handler.current_worker,
        scheduler_module.current_scheduler,
        ses_events.current_events_lambda,
        lambda_portal.adapter,
    ]
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    for cache in caches:
        cache.cache_clear()
    try:
        yield
    finally:
        for cache in caches:
            cache.cache_clear()
        os.environ.clear()
        os.environ.update(saved)
        with warnings.catch_warnings():  # the dropped runtimes: see _collect_discarded_cold_starts
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def signed_in_from(rehearsal: Rehearsal, email: str, address: str) -> bool:
    """The audit trail in S3 has a sign-in of ``email`` from ``address``."""
    s3 = rehearsal.hub.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="audit/").get("Contents", [])
    for item in sorted(listed, key=lambda i: i["LastModified"], reverse=True)[:50]:
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()
        if email in body and f'"{address}"' in body and "sign_in" in body.lower().replace("-", "_"):
            return True
    return False


def http_api_event(method: str, path: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": PORTAL_HOST, "x-forwarded-proto": "https"},
        "requestContext": {
            "http": {"method": method, "path": path, "sourceIp": CLIENT_IP, "protocol": "HTTP/1.1"},
            "requestId": "rehearsal",
            "stage": "$default",
        },
        "isBase64Encoded": False,
        "body": "",
    }


def worker_run(rehearsal: Rehearsal, *, drop: str | None = None, in_process: bool = False) -> str:
    """'' when the worker, given its Terraform environment, delivered a fresh trigger."""
    code = rehearsal.customer
    mapping = rehearsal.config.customer_mappings[code]
    store = S3ObjectStore(rehearsal.hub.client("s3"), BUCKET)
    change = stored_change(status=ChangeStatus.SUBMITTED, approved_before=False, customers=[code])
    publish(store, change, DistributionEvent.SUBMITTED, code)
    sqs = rehearsal.hub.client("sqs")
    url = rehearsal.queue_urls[code]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{HUB_ACCOUNT}:changecast-{code}",
            "awsRegion": REGION,
        }
        for m in messages.get("Messages", [])
    ]
    if len(records) != 1:
        return f"the trigger reached the queue {len(records)} times"
    before = len(sent_mail(mapping.account_id, mapping.region))
    answer = run_function(
        rehearsal, "worker", {"Records": records}, drop=drop, in_process=in_process
    )
    sqs.delete_message(QueueUrl=url, ReceiptHandle=records[0]["receiptHandle"])
    if answer.result != {"batchItemFailures": []}:
        return f"the handler answered {answer.result}: {answer.stderr[-800:]}"
    mail = sent_mail(mapping.account_id, mapping.region)[before:]
    if not mail:
        return "nothing was sent"
    if not any(PORTAL_URL in _text(m) for m in mail):
        return "the emails do not link to the portal's address"
    try:
        store.get(execution_key(change.change_id, 1, code))
    except Exception as exc:  # the record is the proof of delivery
        return f"no execution record: {exc}"
    return ""


def _text(mail: Any) -> str:
    raw = getattr(mail, "raw", "") or ""
    text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
    decoded = []
    for part in text.split("\n\n"):
        try:
            decoded.append(base64.b64decode("".join(part.split()), validate=True).decode())
        except ValueError:
            decoded.append(part)
    return text + "\n".join(decoded) + json.dumps(getattr(mail, "__dict__", {}), default=str)


def function_run(
    rehearsal: Rehearsal, process: str, *, drop: str | None = None, in_process: bool = False
) -> str:
    """'' when the scheduled or event-fed function ran; else why not."""
    events = {
        "scheduler": {"source": "changecast.scheduler"},
        "maintenance": {"source": "changecast.index-upkeep"},
        "ses-events": {"Records": []},
        "migrate": {},
    }
    answer = run_function(rehearsal, process, events[process], drop=drop, in_process=in_process)
    if answer.returncode != 0 or answer.result is None:
        return f"exit {answer.returncode}: {answer.stderr[-800:]}"
    if process == "migrate" and (answer.result.get("ok"), answer.result.get("after")) != (
        True,
        SCHEMA_HEAD,
    ):
        return f"migrate answered {answer.result}"
    if process == "ses-events" and answer.result != {"batchItemFailures": []}:
        return f"answered {answer.result}"
    return ""


def outcome(rehearsal: Rehearsal, process: str, *, drop: str | None = None) -> str:
    """The drop tests' run: the same checks, in this process (a cold start each time)."""
    if process == "portal-ecs":
        return portal_in_process(rehearsal, drop=drop)
    if process == "worker":
        return worker_run(rehearsal, drop=drop, in_process=True)
    return function_run(rehearsal, process, drop=drop, in_process=True)


# ---- the tests -----------------------------------------------------------------------------------


def test_terraform_gives_each_process_its_settings_and_no_secret(migrated: Rehearsal) -> None:
    deployment = migrated.deployment()
    for process in PROCESSES:
        kwargs = {"portal_mode": "lambda"} if process == "portal-lambda" else {}
        env = migrated.deployment(**kwargs).environment(process, migrated.customer)
        assert env["CHANGECAST_DATABASE_URL"] == (
            f"postgresql+psycopg://127.0.0.1:{migrated.postgres.port}/{DB_NAME}"
        )
        assert env["CHANGECAST_DATABASE_SECRET_ID"].split(":")[6].startswith("rds!db-")
        assert DB_PASSWORD not in json.dumps(env)
        assert not any("SESSION_SECRET" in name or "PASSWORD" in name for name in env)
    assert set(deployment.environment("migrate")) == {
        "CHANGECAST_MODE",
        "CHANGECAST_DATABASE_URL",
        "CHANGECAST_DATABASE_SECRET_ID",
    }
    portal = deployment.environment("portal-ecs")
    assert portal["CHANGECAST_WEB__BASE_URL"] == PORTAL_URL
    assert portal["CHANGECAST_SAML__IDP_METADATA_URL"] == f"s3://{BUCKET}/config/idp-metadata.xml"
    assert portal["CHANGECAST_WEB__TRUSTED_PROXY_HOPS"] == "1"
    assert json.loads(portal["CHANGECAST_SAML__ROLES__CHANGE_MANAGER_GROUPS"]) == [
        GROUPS["ChangeManager"]
    ]
    assert deployment.output("migrate_function_name") == "changecast-dev-migrate"
    assert deployment.handler("migrate") == "changecast.workers.migrate.handler"


def test_migrate_brought_the_empty_database_to_head_and_repeats_safely(
    migrated: Rehearsal,
) -> None:
    again = run_function(migrated, "migrate", {})
    assert again.result is not None, again.stderr
    assert again.result["ok"] is True
    assert again.result["before"] == again.result["after"] == SCHEMA_HEAD
    assert DB_PASSWORD not in json.dumps(again.result) + again.stderr


def test_the_portal_on_ecs_signs_in_through_saml_with_only_what_terraform_gives(
    migrated: Rehearsal,
) -> None:
    assert portal_run(migrated) == ""


def test_the_portal_on_lambda_is_ready_with_only_what_terraform_gives(
    migrated: Rehearsal,
) -> None:
    ready = run_function(
        migrated, "portal-lambda", http_api_event("GET", "/api/health/ready"), portal_mode="lambda"
    )
    assert ready.result is not None, ready.stderr
    assert ready.result["statusCode"] == 200, ready.result
    metadata = run_function(
        migrated, "portal-lambda", http_api_event("GET", "/saml/metadata"), portal_mode="lambda"
    )
    assert f'entityID="{PORTAL_URL}/saml/metadata"' in metadata.result["body"]


def test_a_worker_with_only_its_terraform_environment_delivers_a_trigger(
    migrated: Rehearsal,
) -> None:
    assert worker_run(migrated) == ""


@pytest.mark.parametrize("process", ["scheduler", "ses-events", "maintenance"])
def test_the_scheduled_and_event_functions_run(migrated: Rehearsal, process: str) -> None:
    assert function_run(migrated, process) == ""


def _variables() -> list[tuple[str, str]]:
    """(process, variable) for every variable Terraform sets, read from the Terraform itself."""
    config = rehearsal_config()
    state = {
        "aws_secretsmanager_secret.runtime.arn": "arn:runtime",
        "aws_db_instance.index.master_user_secret[0].secret_arn": "arn:database",
        "aws_db_instance.index.address": "db.internal",
        "aws_db_instance.index.port": 5432,
        "data.aws_partition.current.partition": "aws",
        "data.aws_caller_identity.current.account_id": HUB_ACCOUNT,
        "data.aws_region.current.name": REGION,
        "data.aws_vpc.main.cidr_block": "10.0.0.0/16",
        "aws_ecr_repository.portal.repository_url": "registry/portal",
    }
    deployment = Deployment.of(ENVIRONMENT, operator_tfvars(config), state)
    customer = sorted(config.customer_mappings)[0]
    return [
        (process, name)
        for process in DROPPED_FROM
        for name in sorted(deployment.environment(process, customer))
    ]


VARIABLES = _variables()


def test_every_variable_terraform_sets_is_tried() -> None:
    assert len(VARIABLES) >= 40
    assert set(NOT_NEEDED) <= set(VARIABLES)


@pytest.mark.parametrize(("process", "variable"), VARIABLES, ids=str)
def test_dropping_a_variable_the_code_needs_makes_the_process_fail(
    migrated: Rehearsal, process: str, variable: str
) -> None:
    failure = outcome(migrated, process, drop=variable)
    if (process, variable) in NOT_NEEDED:
        assert failure == "", f"{variable} is listed as not needed, yet: {failure}"
    else:
        assert failure, f"{process} still works without {variable}: Terraform sets it for nothing"
