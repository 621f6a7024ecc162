"""Which peers may speak for the client through ``X-Forwarded-For``/``-Proto``: the server options.

uvicorn trusts those headers from 127.0.0.1 unless told otherwise, which would let anything on the
same host (or any client behind a local reverse proxy that does not overwrite the header) choose
the address the audit trail records. Every server we start takes its options from here: forwarded
headers are read only from ``CHANGECAST_WEB__FORWARDED_ALLOW_IPS``, and with none listed, never.
"""

from __future__ import annotations

from typing import Any

from changecast.settings import WebSettings


def proxy_options(web: WebSettings) -> dict[str, Any]:
    """``proxy_headers`` and ``forwarded_allow_ips`` for ``uvicorn.run`` or ``uvicorn.Config``."""
    proxies = list(web.forwarded_allow_ips)
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies}
