"""Builds one customer's AWS adapters for the admin commands (SES, Identity Center, accounts)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import typer

from changecast.bootstrap import Runtime
from changecast.cli.state import state_of
from changecast.customers.models import CustomerMapping, SESConfig
from changecast.errors import InvalidInputError

if TYPE_CHECKING:  # the adapters import boto3, which `changecast --help` must not load
    import boto3

    from changecast.aws.account import AccountContactsAdapter
    from changecast.aws.identitystore import IdentityStoreAdapter
    from changecast.aws.ses import SesContactListAdapter
    from changecast.aws.ses_domain import SesDomainAdapter

SESSION_NAME = "changecast-admin"


class MissingRoleError(InvalidInputError):
    """config.json gives this customer no role for the requested service."""


@dataclass
class CustomerAws:
    """Adapters per customer, all under assumed roles from config.json (or a flag)."""

    runtime: Runtime

    @classmethod
    def of(cls, ctx: typer.Context) -> CustomerAws:
        return cls(state_of(ctx).runtime())

    def warm(self) -> None:
        """Build the hub session and an STS client here, before threads share them."""
        self.runtime.aws.client("sts")

    @cached_property
    def ses_config(self) -> SESConfig:
        """SESConfig.json next to config.json; a bad file is a usage error (exit 2)."""
        return self.runtime.require_ses_config()

    def session(self, role_arn: str) -> boto3.Session:
        """The assumed-role session (cached by AwsClients, sharing the hub's model loader)."""
        return self.runtime.aws.assume(role_arn, session_name=SESSION_NAME)

    def client(self, role_arn: str, service: str, region: str) -> Any:
        return self.runtime.aws.client(service, session=self.session(role_arn), region=region)

    def ses(self, mapping: CustomerMapping) -> SesContactListAdapter:
        from changecast.aws.ses import SesContactListAdapter

        return SesContactListAdapter(self.client(mapping.admin_role_arn, "sesv2", mapping.region))

    def domain(self, mapping: CustomerMapping) -> SesDomainAdapter:
        from changecast.aws.ses_domain import SesDomainAdapter

        return SesDomainAdapter(
            self.client(mapping.admin_role_arn, "sesv2", mapping.region),
            ses_v1=self.client(mapping.admin_role_arn, "ses", mapping.region),
        )

    def identity(
        self, mapping: CustomerMapping, *, store_id: str | None, region: str | None
    ) -> IdentityStoreAdapter:
        from changecast.aws.identitystore import IdentityStoreAdapter, find_identity_store_id

        role = mapping.identity_center_role_arn
        if not role:
            raise MissingRoleError(
                f"customer {mapping.customer_code} has no identity_center_role_arn in config.json"
            )
        where = region or mapping.region
        if store_id is None:
            store_id = find_identity_store_id(self.client(role, "sso-admin", where))
        return IdentityStoreAdapter(self.client(role, "identitystore", where), store_id)

    def accounts(self, mapping: CustomerMapping, *, role_arn: str | None) -> AccountContactsAdapter:
        from changecast.aws.account import AccountContactsAdapter

        role = role_arn or mapping.identity_center_role_arn
        if not role:
            raise MissingRoleError(
                f"customer {mapping.customer_code}: pass --role-arn (a role in the organization's "
                "management or delegated admin account) or set identity_center_role_arn"
            )
        account = self.client(role, "account", "us-east-1")
        orgs = self.client(role, "organizations", "us-east-1")
        return AccountContactsAdapter(account, orgs, caller_account_id=role.split(":")[4])
