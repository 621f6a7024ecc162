"""Configuration kept in AWS: config files in S3, and secrets in Secrets Manager."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from changecast.aws.errors import error_code, translate
from changecast.customers.directory import ConfigFileError
from changecast.errors import InvalidInputError

MAX_CONFIG_BYTES = 5 * 1024 * 1024


def read_s3_file(client: Any, bucket: str, key: str) -> bytes:
    """The body of ``s3://bucket/key``; a missing or unreadable object names the URI."""
    uri = f"s3://{bucket}/{key}"
    try:
        answer = client.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = error_code(exc)
        if code in {"NoSuchKey", "404", "NotFound"}:
            raise ConfigFileError.of_file(uri, "does not exist") from None
        if code in {"NoSuchBucket"}:
            raise ConfigFileError.of_file(uri, f"bucket {bucket} does not exist") from None
        if code in {"AccessDenied", "403"}:
            raise ConfigFileError.of_file(
                uri, "access denied: the process's role needs s3:GetObject on it"
            ) from None
        raise translate(exc, operation=f"GetObject {uri}") from exc
    if int(answer.get("ContentLength") or 0) > MAX_CONFIG_BYTES:
        raise ConfigFileError.of_file(uri, f"is larger than {MAX_CONFIG_BYTES} bytes")
    body: bytes = answer["Body"].read()
    return body


SECRET_FIELDS = frozenset({"session_secret", "links_secret", "saml_idp_cert"})
"""Exactly what the code reads from the runtime secret (docs/runbooks/secret-schema.md)."""
_RETIRED = {
    "database_url": "database credentials come from the RDS-managed secret "
    "(CHANGECAST_DATABASE_SECRET_ID) and the host from CHANGECAST_DATABASE_URL",
}


def read_secret_fields(client: Any, secret_id: str) -> dict[str, str]:
    """The JSON object stored in Secrets Manager under ``secret_id``, checked field by field."""
    try:
        answer = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        raise translate(exc, operation=f"GetSecretValue {secret_id[:200]}") from exc
    try:
        raw = json.loads(answer.get("SecretString") or "")
    except json.JSONDecodeError:
        raise InvalidInputError(
            f"CHANGECAST_SECRETS_ID {secret_id[:200]}: the secret is not a JSON object"
        ) from None
    if not isinstance(raw, dict):
        raise InvalidInputError(
            f"CHANGECAST_SECRETS_ID {secret_id[:200]}: the secret is not a JSON object"
        )
    unknown = sorted(set(raw) - SECRET_FIELDS)
    if unknown:
        why = "".join(f" ({name}: {_RETIRED[name]})" for name in unknown if name in _RETIRED)
        raise InvalidInputError(
            f"CHANGECAST_SECRETS_ID {secret_id[:200]}: unknown fields {', '.join(unknown)[:200]}"
            f"{why}; accepted: {', '.join(sorted(SECRET_FIELDS))}"
        )
    wrong = sorted(name for name, value in raw.items() if not isinstance(value, str))
    if wrong:
        raise InvalidInputError(
            f"CHANGECAST_SECRETS_ID {secret_id[:200]}: {', '.join(wrong)} must be a string"
        )
    return {str(k): str(v) for k, v in raw.items() if isinstance(v, str) and v}
