"""config.json as Terraform variables: ``customers.auto.tfvars.json`` for deploy/terraform.

Terraform and the code read the same config.json, so they cannot disagree on a customer's code,
region, account, SES role, queue or contact list. ``deploy/terraform/environments/*`` declare
exactly the variables written here, and the hub module's ``customers`` variable has exactly the
attributes of :func:`customer_vars` (a test compares them).
"""

from __future__ import annotations

from typing import Any

from changecast.customers.models import AppConfig, CustomerMapping
from changecast.errors import InvalidInputError

TFVARS_FILE = "customers.auto.tfvars.json"


def _arn_parts(arn: str) -> list[str]:
    return arn.split(":", 5)


def queue_name(mapping: CustomerMapping) -> str:
    """The queue's name from ``sqs_queue_arn``; without one, ``changecast-{code}``."""
    if mapping.sqs_queue_arn is None:
        return f"changecast-{mapping.customer_code}"
    return _arn_parts(mapping.sqs_queue_arn)[5]


def _role_name_and_path(role_arn: str) -> tuple[str, str]:
    """``arn:aws:iam::1:role/a/b/name`` -> (``name``, ``/a/b/``)."""
    resource = _arn_parts(role_arn)[5].removeprefix("role/")
    path, _, name = resource.rpartition("/")
    return name, f"/{path}/" if path else "/"


def customer_vars(mapping: CustomerMapping) -> dict[str, Any]:
    """One entry of the ``customers`` map variable."""
    role_name, role_path = _role_name_and_path(mapping.ses_role_arn)
    admin_name = (
        _role_name_and_path(mapping.ses_admin_role_arn)[0] if mapping.ses_admin_role_arn else None
    )
    return {
        "code": mapping.customer_code,
        "name": mapping.customer_name,
        "environment": mapping.environment,
        "region": mapping.region,
        "account_id": mapping.account_id,
        "ses_role_name": role_name,
        "ses_role_path": role_path,
        "ses_role_external_id": mapping.ses_role_external_id,
        "ses_admin_role_name": admin_name,
        "queue_name": queue_name(mapping),
        "queue_arn": mapping.sqs_queue_arn,
        "contact_list_name": mapping.contact_list_name,
    }


def _check(config: AppConfig) -> None:
    """What the modules need: external ids, and every queue in the hub's region and account."""
    accounts = set()
    for code, mapping in config.customer_mappings.items():
        if mapping.ses_role_external_id is None:
            raise InvalidInputError(
                f"customer_mappings.{code} has no ses_role_external_id; the SES role's trust "
                "policy requires one (any 2-1224 characters of A-Z a-z 0-9 +=,.@:/-, e.g. "
                "`python -c 'import secrets; print(secrets.token_hex(16))'`)"
            )
        if mapping.sqs_queue_arn is None:
            continue
        parts = _arn_parts(mapping.sqs_queue_arn)
        if parts[3] != config.aws_region:
            raise InvalidInputError(
                f"customer_mappings.{code}.sqs_queue_arn is in {parts[3]}, but the hub (and its "
                f"queues) is in aws_region {config.aws_region}"
            )
        accounts.add(parts[4])
    if len(accounts) > 1:
        raise InvalidInputError(
            "the sqs_queue_arn values name several accounts "
            f"({', '.join(sorted(accounts))}); the hub's queues live in one account"
        )


def tfvars(config: AppConfig) -> dict[str, Any]:
    """The content of ``customers.auto.tfvars.json``."""
    _check(config)
    email = config.email_config
    return {
        "aws_region": config.aws_region,
        "bucket_name": config.s3_config.bucket_name,
        "sender_domain": email.domain,
        "sender_addresses": sorted({email.sender_address, email.meeting_organizer}),
        "customers": {
            code: customer_vars(mapping)
            for code, mapping in sorted(config.customer_mappings.items())
        },
    }
