"""Customers and health."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from changecast.health import readiness
from changecast.web.api.schemas import ERRORS, CustomerView, Health, Readiness, ReadinessCheck
from changecast.web.deps import CurrentActor, RuntimeDep

router = APIRouter(prefix="/api", tags=["meta"], responses=ERRORS)


@router.get("/health")
def health(runtime: RuntimeDep) -> Health:
    """Liveness plus the mode we run in; no authentication, no call to anything else."""
    return Health(status="ok", mode=runtime.settings.mode)


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A check failed"}},
)
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """Readiness (load balancers): config loaded, bucket reachable, index at the expected schema.

    200 when every check passes, else 503; the body names each check and what failed.
    """
    found = await run_in_threadpool(readiness, runtime)
    body = Readiness(
        status="ready" if found.ready else "not_ready",
        failed=found.failed,
        checks={c.name: ReadinessCheck(ok=c.ok, detail=c.detail) for c in found.checks},
    )
    return JSONResponse(
        body.model_dump(mode="json", by_alias=True), status_code=200 if found.ready else 503
    )


@router.get("/customers")
def customers(runtime: RuntimeDep, actor: CurrentActor) -> list[CustomerView]:
    """The customers in config.json, marking those the user may act for."""
    mine = actor.customers
    result = []
    for code in runtime.directory.codes:
        mapping = runtime.directory.get(code)
        result.append(
            CustomerView(
                code=code,
                name=mapping.customer_name,
                environment=mapping.environment,
                production=mapping.is_production,
                may_act=actor.role.value == "ChangeManager"
                or (actor.role.value == "CustomerManager" and code in mine),
            )
        )
    return result
