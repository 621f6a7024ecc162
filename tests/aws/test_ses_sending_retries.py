"""One retry layer: the SES client that sends makes one HTTP attempt per call.

A local HTTP server plays SESv2 and counts the requests that reach it, so what is checked is
what botocore really sends, not its configuration.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from changecast.aws.ses_mail import SesMailAdapter
from changecast.aws.sessions import AwsClients, AwsTarget
from changecast.errors import UpstreamError
from changecast.local.demo import demo_config
from changecast.workers.wiring import AssumedSes


class CountingSes(ThreadingHTTPServer):
    """Answers every request with 429 TooManyRequestsException, or 200 once ``accept_after``."""

    def __init__(self, accept_after: int | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits = 0
        self.accept_after = accept_after

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: CountingSes

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.hits += 1
        accept = (
            self.server.accept_after is not None and self.server.hits > self.server.accept_after
        )
        if accept:
            status, body, headers = 200, {"MessageId": "m-1"}, {}
        else:
            status = 429
            body = {"message": "Maximum sending rate exceeded."}
            headers = {"x-amzn-ErrorType": "TooManyRequestsException"}
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def serve(aws_env: None) -> Iterator[type[CountingSes]]:
    servers: list[CountingSes] = []

    class Started(CountingSes):
        def __init__(self, accept_after: int | None = None) -> None:
            super().__init__(accept_after)
            servers.append(self)
            threading.Thread(target=self.serve_forever, daemon=True).start()

    yield Started
    for server in servers:
        server.shutdown()
        server.server_close()


def send(adapter: SesMailAdapter) -> str:
    return adapter.send_email(
        sender="change-notices@ccoe.example.com",
        to="ops@acme.example.com",
        subject="s",
        html="<p>h</p>",
        text="t",
        list_name="changecast",
        topic="aws-announce",
    )


def test_a_throttled_send_is_one_http_attempt_and_comes_back_as_throttled(
    serve: type[CountingSes],
) -> None:
    server = serve()
    aws = AwsClients(target=AwsTarget(endpoint_url=server.url))
    with pytest.raises(UpstreamError) as raised:
        send(SesMailAdapter(aws.sending_client()))
    assert server.hits == 1  # botocore did not retry behind the bucket's back
    assert raised.value.retryable and raised.value.context.get("throttled") is True


def test_other_clients_still_retry_so_the_server_counts_every_attempt(
    serve: type[CountingSes],
) -> None:
    server = serve(accept_after=1)
    aws = AwsClients(target=AwsTarget(endpoint_url=server.url))
    client = aws.client("sesv2", retries={"mode": "standard", "total_max_attempts": 2})
    assert send(SesMailAdapter(client)) == "m-1"
    assert server.hits == 2


def test_the_workers_mail_port_sends_with_the_single_attempt_client(aws_env: None) -> None:
    from moto import mock_aws

    with mock_aws():
        ses = AssumedSes(
            AwsClients(), demo_config(1, portal_url="http://portal.test").customer_mappings["acme"]
        )
        sending, contacts = ses.mail(), ses.contacts()
    assert sending.client is not contacts.client
    sending_config: Any = sending.client.meta.config  # botocore's Config has no stubs for it
    contacts_config: Any = contacts.client.meta.config
    assert sending_config.retries["total_max_attempts"] == 1
    assert contacts_config.retries.get("total_max_attempts", 0) != 1
    assert sending.account_client is contacts.client  # GetAccount keeps botocore's retries
