"""Customers and health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from changecast.web.deps import CurrentActor, RuntimeDep

router = APIRouter(prefix="/api", tags=["meta"])


@router.get("/health")
def health(runtime: RuntimeDep) -> dict[str, Any]:
    """Liveness plus the mode we run in; no authentication."""
    return {"status": "ok", "mode": runtime.settings.mode}


@router.get("/customers")
def customers(runtime: RuntimeDep, actor: CurrentActor) -> list[dict[str, Any]]:
    """The customers in config.json, marking those the user may act for."""
    mine = actor.customers
    result = []
    for code in runtime.directory.codes:
        mapping = runtime.directory.get(code)
        result.append(
            {
                "code": code,
                "name": mapping.customer_name,
                "environment": mapping.environment,
                "production": mapping.is_production,
                "mayAct": actor.role.value == "ChangeManager"
                or (actor.role.value == "CustomerManager" and code in mine),
            }
        )
    return result
