"""The portal on AWS Lambda, through Mangum (API Gateway HTTP/REST APIs, or an ALB target).

Handler: ``changecast.web.lambda_portal.handler``. Lambda answers whole responses, so the
streamed per-customer submit results are sent complete (``web.streaming`` off). The app is
built once per cold start.
"""

from __future__ import annotations

import functools
from typing import Any

from mangum import Mangum

from changecast.logging import configure_logging
from changecast.web import app as web_app
from changecast.web.asgi import build_portal_runtime


@functools.cache
def adapter() -> Mangum:
    configure_logging(json_output=True)
    runtime = build_portal_runtime()
    web = runtime.settings.web.model_copy(update={"streaming": False})
    runtime.settings = runtime.settings.model_copy(update={"web": web})
    return Mangum(web_app.create_app(runtime), lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda handler."""
    answer: dict[str, Any] = adapter()(event, context)
    return answer
