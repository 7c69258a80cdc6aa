"""The emulated AWS over HTTP on 127.0.0.1: any SDK or the AWS CLI in another process reaches the
same in-process moto backends (and so every seam) the sandbox's own clients reach.

A small threaded HTTP server from the standard library (moto's own server needs Flask): each
request is handed to moto's request dispatcher (the one `mock_aws` routes botocore through) with
its URL rewritten to the service's AWS host, the service and region read from the SigV4
signature's credential scope (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`). Signatures are
not checked: any credentials work. Bound to 127.0.0.1 only.

CloudFormation: the sandbox stands template.yaml up through the service APIs, not through
CloudFormation (moto's needs packages the sandbox does not install), so the endpoint answers
`DescribeStacks` of the stood-up stack itself (its name, CREATE_COMPLETE, its outputs), which is
how `coalmine` finds the state machine, the tables and the buckets; other CloudFormation calls
reach moto.
"""

from __future__ import annotations

import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSPreparedRequest

from .internals import module

_SCOPE = re.compile(r"Credential=[^/]*/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
# signing name -> the host moto's URL patterns know it by ({region} filled in)
_HOSTS = {
    "iam": "iam.amazonaws.com",
    "s3": "s3.{region}.amazonaws.com",
    "execute-api": "execute-api.{region}.amazonaws.com",
}
# an unsigned request (--no-sign-request) names no service: assume STS, in the default region
_UNSIGNED_SERVICE = "sts"


def aws_url(path: str, headers: dict[str, str], default_region: str) -> str:
    """The URL the request would have had on AWS (the dispatcher routes by host)."""
    found = _SCOPE.search(headers.get("authorization", ""))
    region, service = found.groups() if found else (default_region, _UNSIGNED_SERVICE)
    host = _HOSTS.get(service, "{service}.{region}.amazonaws.com")
    return f"https://{host.format(service=service, region=region)}{path}"


class Endpoint:
    """`Endpoint(port).start()` serves until `stop()`; `url` is what clients pass as
    --endpoint-url. Port 0 picks a free port (read it back from `port`)."""

    def __init__(
        self,
        port: int = 4566,
        region: str = "us-east-1",
        stacks: dict[str, tuple[str, dict[str, str]]] | None = None,
    ) -> None:
        """Binds the port at once (an OSError if it is taken); serves from `start()`.
        `stacks`: stack name -> (stack ARN, outputs), what DescribeStacks answers (filled in
        until `start()`)."""
        self.region = region
        self.stacks: dict[str, tuple[str, dict[str, str]]] = dict(stacks or {})
        handler = _handler(region, self.stacks)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Endpoint:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()


def dispatch(method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, Any]:
    """(status, headers, body) from moto, as `mock_aws` answers an in-process client."""
    stubber = module("moto.core.models").botocore_stubber
    request = AWSPreparedRequest(
        method=method, url=url, headers=headers, body=body, stream_output=False
    )
    answer = stubber.process_request(request)
    if answer is None:
        return 404, {}, b"no emulated service answers this request"
    return answer  # type: ignore[no-any-return]


Answer = tuple[int, dict[str, str], str]
# headers the server writes itself (http.server adds Server and Date to every answer)
_OWN_HEADERS = ("content-length", "transfer-encoding", "connection", "server", "date")
_CFN = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


def describe_stacks(
    body: bytes, stacks: dict[str, tuple[str, dict[str, str]]], created: str
) -> Answer | None:
    """CloudFormation's DescribeStacks (query protocol) of the stood-up stack; None: not it."""
    params = parse_qs(body.decode("utf-8", "replace"))
    if params.get("Action") != ["DescribeStacks"]:
        return None
    wanted = params.get("StackName", [""])[0]
    found = [(n, a, o) for n, (a, o) in stacks.items() if wanted in (n, a)]
    request_id = f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
    if not found:
        message = f"Stack with id {escape(wanted)} does not exist"
        error = f"<Error><Type>Sender</Type><Code>ValidationError</Code><Message>{message}"
        xml = f'<ErrorResponse xmlns="{_CFN}">{error}</Message></Error>{request_id}</ErrorResponse>'
        return 400, {"Content-Type": "text/xml"}, xml
    name, arn, outputs = found[0]
    members = "".join(
        f"<member><OutputKey>{escape(k)}</OutputKey><OutputValue>{escape(v)}</OutputValue></member>"
        for k, v in outputs.items()
    )
    stack = (
        f"<member><StackName>{escape(name)}</StackName><StackId>{escape(arn)}</StackId>"
        f"<CreationTime>{created}</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>"
        f"<Outputs>{members}</Outputs></member>"
    )
    xml = (
        f'<DescribeStacksResponse xmlns="{_CFN}"><DescribeStacksResult><Stacks>{stack}'
        f"</Stacks></DescribeStacksResult>{request_id}</DescribeStacksResponse>"
    )
    return 200, {"Content-Type": "text/xml"}, xml


def _handler(
    region: str, stacks: dict[str, tuple[str, dict[str, str]]]
) -> type[BaseHTTPRequestHandler]:
    created = "2030-01-01T00:00:00Z"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, and `Expect: 100-continue` answered

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items()}
            lower = {k.lower(): v for k, v in headers.items()}
            url = aws_url(self.path, lower, region)
            try:
                own = describe_stacks(body, stacks, created) if "//cloudformation." in url else None
                status, out_headers, out_body = own or dispatch(self.command, url, headers, body)
            except Exception as error:  # an emulation bug: the client sees a 500, not a hang
                status, out_headers = 500, {}
                out_body = f"sandbox endpoint error: {type(error).__name__}: {error}"
            data = out_body.encode() if isinstance(out_body, str) else bytes(out_body or b"")
            self.send_response(int(status))
            for key, value in dict(out_headers or {}).items():
                if key.lower() not in _OWN_HEADERS:
                    self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return None  # quiet: the serve command prints what matters

    return Handler
