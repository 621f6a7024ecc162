"""A wrong role at dev login names the valid ones, to a script and to a person alike."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from changecast.access.models import Role
from changecast.bootstrap import Runtime
from changecast.web.app import create_app
from tests.web.test_pages_support import module_runtime

runtime = pytest.fixture(scope="module")(module_runtime)


def test_an_unknown_role_lists_the_valid_ones(runtime: Runtime) -> None:
    valid = ", ".join(role.value for role in Role)
    with TestClient(create_app(runtime)) as client:
        answer = client.post("/auth/dev-login", data={"email": "a@b.example", "role": "Admin"})
        assert answer.status_code in {400, 422}
        message = answer.json()["error"]["message"]
        assert message == f"unknown role 'Admin': choose one of {valid}"
        page = client.post(
            "/auth/dev-login",
            data={"email": "a@b.example", "role": "Approver", "next": "/"},
            headers={"accept": "text/html"},
        )
        assert page.status_code in {400, 422}
        assert f"choose one of {valid}" in page.text
        signed = client.post("/auth/dev-login", data={"email": "a@b.example", "role": "Auditor"})
        assert signed.status_code == 200 and signed.json()["role"] == "Auditor"
