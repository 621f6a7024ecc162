"""The client's address, for the audit trail: the socket peer, or X-Forwarded-For behind proxies."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request


def client_address(request: Request, trusted_proxy_hops: int) -> str | None:
    """The peer address; with ``trusted_proxy_hops`` > 0, the entry that many hops from the right.

    Entries further left were written by the client and cannot be trusted.
    """
    peer = request.client.host if request.client else None
    if trusted_proxy_hops <= 0:
        return peer
    forwarded = [
        part.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for part in header.split(",")
        if part.strip()
    ]
    if len(forwarded) < trusted_proxy_hops:
        return peer
    candidate = forwarded[-trusted_proxy_hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer
