"""S3: the evidence store, ``reports/`` of the stack's ReportsBucket (coalmine/evidence.py says
what goes there). One object per tick; a failed write is retried (botocore's standard retries,
then ``best_effort``'s) and then reported as False, never raised: evidence never changes a
deployment's outcome."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from coalmine.adapters.best_effort import best_effort
from coalmine.evidence import TickEvidence

BUCKET_ENV = "REPORTS_BUCKET_NAME"


@cache
def default_client() -> Any:  # no mypy-boto3-s3 stubs in the dev set
    return boto3.client("s3", config=Config(retries={"mode": "standard"}))


class ReportsBucket:
    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self.client = client if client is not None else default_client()

    @classmethod
    def from_env(cls) -> ReportsBucket | None:
        """None where the stack gives no bucket (a handler run outside the stack)."""
        bucket = os.environ.get(BUCKET_ENV)
        return cls(bucket) if bucket else None

    def location(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def put_ticks(self, ticks: Sequence[TickEvidence], function_name: str) -> bool:
        """Write every tick; False if one could not be written (logged, EvidenceWriteFailed)."""

        def write() -> None:
            for tick in ticks:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=tick.key,
                    Body=json.dumps(tick.body, separators=(",", ":")).encode(),
                    ContentType="application/json",
                )

        return best_effort(write, "EvidenceWriteFailed", function_name)
