"""The index's database credentials from the RDS-managed master secret (``username``, ``password``).

RDS rotates that secret; nobody copies it. The engine asks for ``current()`` on each new
connection and for ``refreshed()`` once when the server refuses the password.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from changecast.aws.errors import translate
from changecast.errors import InvalidInputError, UpstreamError


class SecretsManagerDbCredentials:
    """``DatabaseCredentials`` read from a Secrets Manager secret as RDS writes it."""

    def __init__(self, client: Any, secret_id: str) -> None:
        self._client = client
        self._secret_id = secret_id
        self._lock = threading.Lock()
        self._cached: tuple[str, str] | None = None
        self.reads = 0
        """How many times the secret was read (each ``refreshed()`` reads it)."""

    def current(self) -> tuple[str, str]:
        with self._lock:
            if self._cached is None:
                self._cached = self._read()
            return self._cached

    def refreshed(self) -> tuple[str, str]:
        with self._lock:
            self._cached = self._read()
            return self._cached

    def _read(self) -> tuple[str, str]:
        name = f"CHANGECAST_DATABASE_SECRET_ID {self._secret_id[:200]}"
        try:
            answer = self._client.get_secret_value(SecretId=self._secret_id)
        except ClientError as exc:
            raise translate(exc, operation=f"GetSecretValue {self._secret_id[:200]}") from exc
        except BotoCoreError as exc:
            raise UpstreamError(f"{name}: {type(exc).__name__}", retryable=True) from None
        self.reads += 1
        try:
            raw = json.loads(answer.get("SecretString") or "")
        except json.JSONDecodeError:
            raise InvalidInputError(f"{name}: the secret is not a JSON object") from None
        if not isinstance(raw, dict):
            raise InvalidInputError(f"{name}: the secret is not a JSON object")
        user, password = raw.get("username"), raw.get("password")
        if not isinstance(user, str) or not user or not isinstance(password, str) or not password:
            raise InvalidInputError(
                f"{name}: the secret needs string fields username and password "
                "(as RDS writes its managed master secret)"
            )
        return user, password
