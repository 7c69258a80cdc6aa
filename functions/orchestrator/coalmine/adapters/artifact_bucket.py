"""The artifact bucket's name (ARTIFACT_BUCKET_NAME, set by template.yaml on Prepare): an
upload's bucket must be it (coalmine/uploads.py). None when unset: no bucket check."""

from __future__ import annotations

import os

BUCKET_ENV = "ARTIFACT_BUCKET_NAME"


def artifact_bucket_name() -> str | None:
    return os.environ.get(BUCKET_ENV) or None
