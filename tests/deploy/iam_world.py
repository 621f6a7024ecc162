"""The deployed IAM, on in-process moto: hub and customer accounts, roles from the templates.

``build_world`` creates what Terraform would (bucket, queues with DLQs and notifications,
ledger, runtime secret, each customer's SES), then the roles, with the policy documents that
``terraform_support.render`` makes from deploy/terraform/policies: the same files Terraform
loads. Setup runs with IAM enforcement off; ``enforced()`` then turns it on
(``settings.INITIAL_NO_AUTH_ACTION_COUNT = 0``) for the code under test.

moto 5 authorises S3, SQS, STS and IAM calls against the resource ARN, but DynamoDB, SES v2 and
Secrets Manager calls against ``"*"``, which no resource-scoped grant matches.
``authorize_resources`` gives those three services (and SQS GetQueueUrl, which moto also checks
against ``"*"``) the ARNs AWS authorises (the table, the contact list and sending identity, the
secret, the queue), so their grants are checked, not bypassed. SES v2 signatures are not
checked (moto miscomputes them for that REST API); the permission check still is. moto
does not evaluate policy conditions (``dynamodb:LeadingKeys``) or cross-account trust policies;
test_iam_e2e checks those by reading the rendered documents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from changecast.aws.dynamodb import create_ledger_table
from changecast.aws.sessions import AwsClients, AwsTarget
from changecast.customers.directory import load_app_config, load_ses_config
from changecast.customers.models import AppConfig
from changecast.customers.tfvars import tfvars
from changecast.local import provision
from tests.deploy.terraform_support import ROOT, as_list, render

HUB = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
EXAMPLES = ROOT / "examples"
LEDGER_TABLE = "changecast-ledger"
SECRET_NAME = "changecast/runtime"
LOGS = f"arn:{PARTITION}:logs:{REGION}:{HUB}"
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{HUB}:key/00000000-0000-0000-0000-000000000000"
# The RDS-managed master secret (hub: CHANGECAST_DATABASE_SECRET_ID). These worlds index on
# SQLite, so no process here reads it; tests/deploy/test_rehearsal.py does, on PostgreSQL.
DB_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{HUB}:secret:rds!db-index-AbCdEf"
DB_SECRET_UNREAD = "the IAM worlds index on SQLite; test_rehearsal reads the RDS-managed secret"

Templates = dict[str, str]
"""Template file name -> its text (a test may mutate one before the world is built)."""


def original_templates() -> Templates:
    from tests.deploy.terraform_support import POLICIES

    return {path.name: path.read_text() for path in POLICIES.glob("*.json.tftpl")}


@dataclass
class Creds:
    access_key: str
    secret_key: str
    token: str

    def session(self) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            aws_session_token=self.token,
            region_name=REGION,
        )

    def client(self, service: str) -> Any:
        return self.session().client(service, region_name=REGION)  # type: ignore[call-overload]


@dataclass
class World:
    config: AppConfig
    vars: dict[str, Any]
    bucket: str
    secret_arn: str
    index_url: str
    queue_urls: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)
    worker_roles: dict[str, str] = field(default_factory=dict)
    workers: dict[str, Creds] = field(default_factory=dict)
    portal: Creds | None = None
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    def bucket_arn(self) -> str:
        return f"arn:{PARTITION}:s3:::{self.bucket}"

    def queue_arn(self, code: str, *, dlq: bool = False) -> str:
        name = self.vars["customers"][code]["queue_name"] + ("-dlq" if dlq else "")
        return f"arn:{PARTITION}:sqs:{REGION}:{HUB}:{name}"

    def ses_role_arn(self, code: str) -> str:
        return self.config.customer_mappings[code].ses_role_arn


def _assume(sts: Any, role_arn: str, name: str) -> Creds:
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=name)["Credentials"]
    return Creds(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def _role(iam: Any, name: str, trust: str, policy: str, *, path: str = "/") -> str:
    arn: str = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=trust)["Role"][
        "Arn"
    ]
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=policy)
    return arn


def _hub_resources(world: World, aws: AwsClients) -> None:
    """Bucket with config/, queues + DLQs + notifications, ledger, secret (as modules/hub)."""
    provision.create_bucket(aws, world.config)
    s3 = aws.client("s3")
    s3.put_object(
        Bucket=world.bucket, Key="config/config.json", Body=(EXAMPLES / "config.json").read_bytes()
    )
    s3.put_object(
        Bucket=world.bucket,
        Key="config/SESConfig.json",
        Body=(EXAMPLES / "SESConfig.json").read_bytes(),
    )
    sqs = aws.client("sqs")
    for code, customer in world.vars["customers"].items():
        dlq = sqs.create_queue(QueueName=f"{customer['queue_name']}-dlq")["QueueUrl"]
        redrive = {"deadLetterTargetArn": world.queue_arn(code, dlq=True), "maxReceiveCount": "5"}
        url = sqs.create_queue(
            QueueName=customer["queue_name"],
            Attributes={"VisibilityTimeout": "1800", "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
        world.queue_urls[code], world.dlq_urls[code] = url, dlq
    provision.configure_notifications(
        aws,
        world.config,
        {code: (url, world.queue_arn(code), "") for code, url in world.queue_urls.items()},
    )
    for url in world.queue_urls.values():  # S3 sends a test event when notifications are set
        sqs.purge_queue(QueueUrl=url)
    create_ledger_table(aws.client("dynamodb"), LEDGER_TABLE)
    secret = {"links_secret": "links-secret-of-the-iam-world-0123456789"}
    world.secret_arn = aws.client("secretsmanager").create_secret(
        Name=SECRET_NAME, SecretString=json.dumps(secret)
    )["ARN"]


def _customer_accounts(world: World, aws: AwsClients, templates: Templates) -> None:
    """Each customer's SES (identity, contact list, contacts) and its sending role."""
    ses_config = load_ses_config(EXAMPLES / "SESConfig.json")
    sts = aws.client("sts")
    email = world.config.email_config
    for index, (code, mapping) in enumerate(sorted(world.config.customer_mappings.items())):
        provision.provision_customer(aws, world.config, ses_config, mapping, index)
        account = mapping.account_id
        admin = _assume(sts, f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", "tf")
        iam = admin.client("iam")
        customer = world.vars["customers"][code]
        ses = f"arn:{PARTITION}:ses:{mapping.region}:{account}"
        contact_list = f"{ses}:contact-list/{mapping.contact_list_name}"
        send_resources = as_list(
            f"{ses}:identity/{email.domain}",
            *(f"{ses}:identity/{address}" for address in world.vars["sender_addresses"]),
            f"{ses}:configuration-set/changecast-{code}",
            contact_list,
        )
        trust = render(
            "ses-sending-trust.json.tftpl",
            {
                "worker_role_arn": world.worker_roles[code],
                "external_id": customer["ses_role_external_id"],
            },
            text=templates["ses-sending-trust.json.tftpl"],
        )
        policy = render(
            "ses-sending.json.tftpl",
            {"contact_list_arn": contact_list, "send_resource_arns": send_resources},
            text=templates["ses-sending.json.tftpl"],
        )
        world.documents[f"ses-sending-trust:{code}"] = json.loads(trust)
        world.documents[f"ses-sending:{code}"] = json.loads(policy)
        arn = _role(iam, customer["ses_role_name"], trust, policy, path=customer["ses_role_path"])
        assert arn == mapping.ses_role_arn


def _hub_roles(world: World, aws: AwsClients, templates: Templates) -> None:
    """The worker roles and the portal role (as modules/hub/workers.tf and portal.tf)."""
    iam = aws.client("iam")
    common = {
        "bucket_arn": world.bucket_arn(),
        "kms_key_arn": KMS_KEY_ARN,
        "ledger_table_arn": f"arn:{PARTITION}:dynamodb:{REGION}:{HUB}:table/{LEDGER_TABLE}",
        "secret_arn": world.secret_arn,
        "db_secret_arn": DB_SECRET_ARN,
    }
    for code in world.vars["customers"]:
        name = f"changecast-worker-{code}"
        trust = render(
            "lambda-trust.json.tftpl",
            {"account_id": HUB},
            text=templates["lambda-trust.json.tftpl"],
        )
        policy = render(
            "worker.json.tftpl",
            {
                **common,
                "code": code,
                "queue_arn": world.queue_arn(code),
                "dlq_arn": world.queue_arn(code, dlq=True),
                "ses_role_arn": world.ses_role_arn(code),
                "log_group_arn": f"{LOGS}:log-group:/aws/lambda/{name}",
            },
            text=templates["worker.json.tftpl"],
        )
        world.documents[f"worker:{code}"] = json.loads(policy)
        world.worker_roles[code] = _role(iam, name, trust, policy)
    admin_roles = as_list(
        *sorted(m.admin_role_arn for m in world.config.customer_mappings.values())
    )
    portal_policy = render(
        "portal.json.tftpl",
        {
            "bucket_arn": world.bucket_arn(),
            "kms_key_arn": KMS_KEY_ARN,
            "secret_arn": world.secret_arn,
            "db_secret_arn": DB_SECRET_ARN,
            "admin_role_arns": admin_roles,
            "log_group_arn": f"{LOGS}:log-group:/changecast/portal",
        },
        text=templates["portal.json.tftpl"],
    )
    trust = render(
        "ecs-tasks-trust.json.tftpl",
        {"account_id": HUB},
        text=templates["ecs-tasks-trust.json.tftpl"],
    )
    world.documents["portal"] = json.loads(portal_policy)
    _role(iam, "changecast-portal", trust, portal_policy)


def build_world(tmp_path: Path, templates: Templates) -> World:
    """Everything Terraform would create, and the hub roles' credentials (enforcement off)."""
    from changecast.index.engine import open_index

    config = load_app_config(EXAMPLES / "config.json")
    index_url = f"sqlite:///{tmp_path / 'index.db'}"
    open_index(index_url).engine.dispose()  # `changecast index migrate`, as a deploy step
    world = World(
        config=config,
        vars=tfvars(config),
        bucket=config.s3_config.bucket_name,
        secret_arn="",
        index_url=index_url,
    )
    aws = AwsClients(target=AwsTarget(region=REGION))
    _hub_resources(world, aws)
    _hub_roles(world, aws, templates)
    _customer_accounts(world, aws, templates)
    sts = aws.client("sts")
    for code, arn in world.worker_roles.items():
        world.workers[code] = _assume(sts, arn, f"lambda-{code}")
    world.portal = _assume(sts, f"arn:aws:iam::{HUB}:role/changecast-portal", "ecs-task")
    return world


@contextmanager
def enforced() -> Iterator[None]:
    """IAM enforcement on, from the next request (INITIAL_NO_AUTH_ACTION_COUNT = 0)."""
    from moto.core import enable_iam_authentication

    with enable_iam_authentication():
        yield


# ---- resource ARNs for the services moto authorises against "*" ------------------------------

_ADDRESS_DOMAIN = re.compile(r"@([A-Za-z0-9.-]+)")
_CONTACT_LIST_ACTIONS = {
    "GetContactList",
    "ListContacts",
    "GetContact",
    "CreateContact",
    "UpdateContact",
    "DeleteContact",
    "UpdateContactList",
    "DeleteContactList",
}


def _sesv2_resources(response: Any) -> list[str]:
    action = response._get_action()
    base = f"arn:{PARTITION}:ses:{response.region}:{response.current_account}"
    if action in _CONTACT_LIST_ACTIONS:
        return [f"{base}:contact-list/{response._get_param('ContactListName')}"]
    if action == "SendEmail":
        body = json.loads(response.body or "{}")
        found = _ADDRESS_DOMAIN.search(body.get("FromEmailAddress", ""))
        arns = [f"{base}:identity/{found[1] if found else '*'}"]
        managed = body.get("ListManagementOptions")
        if managed:
            arns.append(f"{base}:contact-list/{managed['ContactListName']}")
        return arns
    return ["*"]


def _dynamodb_resource(response: Any) -> str:
    body = response.body if isinstance(response.body, dict) else {}
    table = body.get("TableName")
    requested = list(body.get("RequestItems") or {})  # BatchGetItem/BatchWriteItem: per table
    if not table and len(requested) == 1:
        table = requested[0]
    if not table:
        return "*"
    return f"arn:{PARTITION}:dynamodb:{response.region}:{response.current_account}:table/{table}"


def _secret_resource(response: Any) -> str:
    secret = json.loads(response.body or "{}").get("SecretId", "")
    if secret.startswith("arn:"):
        return str(secret)
    return "*" if not secret else f"arn:{PARTITION}:secretsmanager:{response.region}:*:{secret}"


def _sqs_resource_of(original: Any) -> Any:
    def resource(response: Any) -> str:
        if response._get_action() == "GetQueueUrl":  # moto looks for a QueueUrl it lacks
            name = response._get_param("QueueName")
            owner = response._get_param("QueueOwnerAWSAccountId") or response.current_account
            return f"arn:{PARTITION}:sqs:{response.region}:{owner}:{name}"
        return str(original(response))

    return resource


def authorize_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto authorise DynamoDB, SES v2, Secrets Manager and SQS GetQueueUrl on ARNs."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam.access_control import IAMRequest
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.sesv2.responses import SESV2Response
    from moto.sqs.responses import SQSResponse

    def each_sesv2_resource(self: Any, resource: str = "*") -> None:
        # moto recomputes SES v2 (REST) signatures over another path than botocore signs and
        # always answers SignatureDoesNotMatch; the permission check is what matters here.
        if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
            ActionAuthenticatorMixin.request_count += 1
            return
        for arn in _sesv2_resources(self):
            request = IAMRequest(
                account_id=self.current_account,
                method=self.method,
                path=self.raw_path,
                data=self.data,
                body=self.raw_body,
                headers=self.headers,
                action=self._get_action(),
            )
            request.check_action_permitted(arn)

    monkeypatch.setattr(
        SQSResponse, "_determine_resource", _sqs_resource_of(SQSResponse._determine_resource)
    )
    monkeypatch.setattr(DynamoHandler, "_determine_resource", _dynamodb_resource, raising=False)
    monkeypatch.setattr(
        SecretsManagerResponse, "_determine_resource", _secret_resource, raising=False
    )
    monkeypatch.setattr(
        SESV2Response, "_authenticate_and_authorize_normal_action", each_sesv2_resource
    )
