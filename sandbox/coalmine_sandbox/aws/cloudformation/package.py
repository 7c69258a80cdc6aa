"""A function's code package as CloudFormation's local paths give it: the CodeUri directory zipped
deterministically (so the same directory always has the same CodeSha256)."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

LOCAL_BUCKET = "coalmine-sandbox-local"  # where a template's local paths point after transform


@dataclass(frozen=True)
class FunctionCode:
    code_dir: Path
    handler: str
    code_sha256: str


def zip_dir(directory: Path) -> bytes:
    """A deterministic zip of `directory` (fixed timestamps, sorted, no caches)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            info = zipfile.ZipInfo(
                str(path.relative_to(directory)), date_time=(1980, 1, 1, 0, 0, 0)
            )
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()
