"""A local HTTP endpoint standing in for CloudFormation's pre-signed ResponseURL: it records every
PUT (its path and JSON body) and can refuse the next ones with an HTTP 500 (S3 having a bad
moment), so a test reads exactly what CloudFormation would have read."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ResponseEndpoint:
    def __init__(self) -> None:
        self.answers: list[tuple[str, dict[str, Any]]] = []  # (request name, body), in order
        self.refuse = 0  # how many next PUTs get a 500
        self.refuse_code = 500  # (403: an expired pre-signed URL)
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with endpoint._lock:
                    refused = endpoint.refuse > 0
                    endpoint.refuse -= 1 if refused else 0
                    if not refused:
                        name = self.path.split("?")[0].strip("/")
                        endpoint.answers.append((name, json.loads(body)))
                self.send_response(endpoint.refuse_code if refused else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # quiet
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def url(self, name: str) -> str:
        """A pre-signed-looking URL for the request called ``name``."""
        return f"http://127.0.0.1:{self.port}/{name}?X-Amz-Signature=local"

    def of(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for n, body in self.answers if n == name]


@contextmanager
def response_endpoint() -> Iterator[ResponseEndpoint]:
    endpoint = ResponseEndpoint()
    thread = threading.Thread(target=endpoint.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        endpoint.server.shutdown()
        endpoint.server.server_close()


def cfn_request(
    kind: str,
    endpoint: ResponseEndpoint,
    name: str,
    properties: dict[str, Any],
    *,
    old: dict[str, Any] | None = None,
    physical_id: str | None = None,
    logical_id: str = "TeamAlias",
    stack: str = "arn:aws:cloudformation:us-east-1:123456789012:stack/team/0a1b2c3d",
) -> dict[str, Any]:
    """A CloudFormation custom-resource request as CloudFormation sends it (every scalar
    property a string); ``name`` is its RequestId and the ResponseURL's path."""
    event: dict[str, Any] = {
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:coalmine-alias",
        "ResponseURL": endpoint.url(name),
        "StackId": stack,
        "RequestId": name,
        "LogicalResourceId": logical_id,
        "ResourceType": "Custom::CoalmineAlias",
        "ResourceProperties": {"ServiceToken": "arn:...:coalmine-alias", **properties},
    }
    if kind != "Create":
        event["PhysicalResourceId"] = physical_id
    if kind == "Update":
        event["OldResourceProperties"] = {"ServiceToken": "arn:...:coalmine-alias", **(old or {})}
    return event
