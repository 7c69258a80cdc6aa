"""CloudFormation's custom-resource answer: one PUT of the JSON body to the request's pre-signed
``ResponseURL`` (an S3 URL; no AWS credentials, no Content-Type, as cfn-response sends it), and
the claim that makes an execution's end answer once (a conditional put in the lock table).

A failed PUT raises: the provider's invocation fails and Lambda retries it (async).
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from typing import Any

from botocore.exceptions import ClientError

from coalmine.adapters.errors import error_code, throttling_translated
from coalmine.adapters.locks_table import TABLE_ENV, default_client

TIMEOUT_SECONDS = 30
DELAYS = (1.0, 3.0)  # between the PUT's attempts
CLAIM_DAYS = 7  # an answered request's claim expires (TTL) after this


def put_response(url: str, body: bytes, sleep: Any = time.sleep) -> int:
    """PUT ``body`` to ``url``; the HTTP status: 2xx, or 4xx (final: the pre-signed URL expired
    or was refused, as after CloudFormation's own timeout; retrying cannot help). A 5xx or a
    network error is retried, then raised."""
    last: Exception | None = None
    for delay in (0.0, *DELAYS):
        if delay:
            sleep(delay)
        request = urllib.request.Request(
            url,
            data=body,
            method="PUT",
            headers={"Content-Type": "", "Content-Length": str(len(body))},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            if 400 <= error.code < 500:
                return int(error.code)
            last = error
        except OSError as error:  # URLError, timeouts
            last = error
    assert last is not None
    raise last


class AnswerClaims:
    """One item per request answered at an execution's end: ``cfn-answer#<RequestId>``."""

    def __init__(self, table_name: str | None = None, client: Any = None) -> None:
        self.table = table_name or os.environ[TABLE_ENV]
        self.client = client if client is not None else default_client()

    def claim(self, key: str, status: str, execution: str) -> bool:
        """True if this caller is the first to answer ``key`` (False: already answered)."""
        now = int(time.time())
        try:
            with throttling_translated("DynamoDB throttled the answer's claim"):
                self.client.put_item(
                    TableName=self.table,
                    Item={
                        "lockId": {"S": key},
                        "answered": {"S": status},
                        "execution": {"S": execution},
                        "answeredAt": {"N": str(now)},
                        "expiresAt": {"N": str(now + CLAIM_DAYS * 86_400)},
                    },
                    ConditionExpression="attribute_not_exists(lockId)",
                )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def unclaim(self, key: str) -> None:
        """The PUT failed after the claim: let the retried invocation answer."""
        self.client.delete_item(TableName=self.table, Key={"lockId": {"S": key}})
