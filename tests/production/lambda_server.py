"""A local server speaking the Lambda Invoke API that runs a real handler in a subprocess.

moto cannot run Lambda code without Docker. This server answers
``POST /2015-03-31/functions/{name}/invocations`` as Lambda does (the handler's JSON result, or
``X-Amz-Function-Error: Unhandled`` with ``errorType``/``errorMessage`` when it raised), running
``handler`` in a fresh Python process with exactly ``env`` — like a cold start. Unknown function
names get Lambda's ``ResourceNotFoundException``. With ``upstream`` (moto's server), every other
request is passed on to it, so one endpoint serves Lambda and the rest of AWS.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

_RUNNER = """
import json, sys, traceback
module, _, name = sys.argv[1].rpartition(".")
event = json.loads(open(sys.argv[2]).read())
try:
    handler = getattr(__import__(module, fromlist=[name]), name)
    result = {"result": handler(event, None)}
except Exception as exc:
    result = {"errorType": type(exc).__name__, "errorMessage": str(exc),
              "stackTrace": traceback.format_exc().splitlines()}
open(sys.argv[3], "w").write(json.dumps(result))
"""


@dataclass
class LambdaFunction:
    handler: str
    env: dict[str, str]


@dataclass
class LambdaServer:
    endpoint: str
    functions: dict[str, LambdaFunction] = field(default_factory=dict)
    invocations: list[str] = field(default_factory=list)


def _run(function: LambdaFunction, event: bytes) -> tuple[dict[str, str], bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        event_path, result_path = Path(tmp) / "event.json", Path(tmp) / "result.json"
        event_path.write_bytes(event or b"{}")
        done = subprocess.run(
            [sys.executable, "-c", _RUNNER, function.handler, str(event_path), str(result_path)],
            env=function.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if not result_path.exists():  # the runtime itself died (import error, crash)
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["exited"]
            body = {"errorType": "Runtime.ExitError", "errorMessage": tail[0]}
            return {"X-Amz-Function-Error": "Unhandled"}, json.dumps(body).encode()
        result = json.loads(result_path.read_text())
    if "result" in result:
        return {}, json.dumps(result["result"]).encode()
    return {"X-Amz-Function-Error": "Unhandled"}, json.dumps(result).encode()


def forward(handler: BaseHTTPRequestHandler, upstream: str, body: bytes) -> None:
    """Pass one request on to ``upstream`` and its answer back."""
    import http.client
    from urllib.parse import urlsplit

    target = urlsplit(upstream)
    connection = http.client.HTTPConnection(target.netloc, timeout=60)
    headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
    headers["Host"] = target.netloc
    connection.request(handler.command, handler.path, body=body or None, headers=headers)
    answer = connection.getresponse()
    raw = answer.read()
    handler.send_response(answer.status)
    for key, value in answer.getheaders():
        if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
            handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(raw)
    connection.close()


class _Handler(BaseHTTPRequestHandler):
    lambda_state: LambdaServer
    upstream: str | None = None

    def log_message(self, format: str, *args: object) -> None:
        del format, args

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self, body: bytes) -> None:
        if self.upstream is None:
            self._answer(404, {}, {"message": "unknown path"})
            return
        forward(self, self.upstream, body)

    def do_GET(self) -> None:
        self._forward(self._body())

    def do_PUT(self) -> None:
        self._forward(self._body())

    def do_HEAD(self) -> None:
        self._forward(self._body())

    def do_DELETE(self) -> None:
        self._forward(self._body())

    def do_POST(self) -> None:
        server = self.lambda_state
        parts = self.path.split("?")[0].strip("/").split("/")
        body = self._body()
        if len(parts) != 4 or parts[0] != "2015-03-31" or parts[3] != "invocations":
            self._forward(body)
            return
        name = unquote(parts[2]).rsplit(":", 1)[-1] if ":" in parts[2] else parts[2]
        function = server.functions.get(name)
        if function is None:
            headers = {"x-amzn-ErrorType": "ResourceNotFoundException"}
            message = {"Type": "User", "message": f"Function not found: {name}"}
            self._answer(404, headers, message)
            return
        server.invocations.append(name)
        headers, payload = _run(function, body)
        self._answer(200, {"X-Amz-Executed-Version": "$LATEST", **headers}, payload)

    def _answer(self, status: int, headers: dict[str, str], body: object) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)


@contextmanager
def lambda_server(upstream: str | None = None) -> Iterator[LambdaServer]:
    """Serve on a free port; register functions in ``server.functions[name]``."""
    state = LambdaServer(endpoint="")
    handler = type("Handler", (_Handler,), {"lambda_state": state, "upstream": upstream})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.endpoint = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
