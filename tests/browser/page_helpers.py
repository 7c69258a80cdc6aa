"""The report's browser tests' helpers: a sample timeline (the faulty demo canary's shape) and a
PNG reader (stdlib zlib: no imaging package)."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from coalmine import timeline

T0 = datetime(2030, 1, 1, 0, 2, 4, tzinfo=UTC)


def _tick(seconds: int, verdict: str, action: str, errors_reason: str) -> dict[str, Any]:
    return {
        "seq": seconds // 60 - 1,
        "elapsedSeconds": seconds,
        "verdict": verdict,
        "action": action,
        "reason": errors_reason,
        "at": timeline.iso(T0 + timedelta(seconds=seconds)),
        "gates": [
            {"gate": "errors", "verdict": verdict, "reason": errors_reason,
             "evidence": {"newErrorRate": 0.2035, "oldErrorRate": 0.0}},
            {"gate": "latency", "verdict": "PASS", "reason": "no latency regression",
             "evidence": {"newP99Ms": 20.9, "oldP99Ms": 22.7}},
        ],
    }  # fmt: skip


def faulty_timeline() -> dict[str, Any]:
    """A canary rolled back at its second tick, as the faulty demo canary is."""
    minutes = timeline.window(T0, T0 + timedelta(seconds=120))
    weights = {m: ({"2": 1.0} if i < 2 or i == 4 else {"2": 0.9, "3": 0.1})
               for i, m in enumerate(minutes)}  # fmt: skip
    figures = {
        m: {"2": timeline.figures(1100, 0, 20.2, 22.0)}
        | ({"3": timeline.figures(114, 23, 20.3, 21.0)} if 2 <= i <= 3 else {})
        for i, m in enumerate(minutes)
    }
    reason = "step 1 (10%) failed analysis: errors: new version's error rate 20.35% is above"
    return timeline.build(
        function="brand-api",
        alias="prod",
        from_version="2",
        to_version="3",
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:coalmine-deployment:x",
        started=T0,
        ended=T0 + timedelta(seconds=120),
        minute_weights=weights,
        minute_figures=figures,
        steps=[
            {
                "index": 0,
                "weight": 0.1,
                "ticks": [
                    _tick(60, "INCONCLUSIVE", "CONTINUE", "too few invocations"),
                    _tick(120, "FAIL", "ROLLBACK", "error rate 20.35% is above 0.00%"),
                ],
            }
        ],
        actions=[],
        outcome="ROLLED_BACK",
        reason=reason,
        decided=T0 + timedelta(seconds=120),
    )


def png_pixels(path: Path) -> tuple[int, int, list[tuple[int, ...]]]:
    """(width, height, every pixel as RGB) of an 8-bit, non-interlaced RGB or RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0)
    channels = {2: 3, 6: 4}[colour]
    raw = zlib.decompress(idat)
    stride = width * channels
    pixels: list[tuple[int, ...]] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        pixels.extend(tuple(line[i : i + 3]) for i in range(0, stride, channels))
        previous = line
    return width, height, pixels
