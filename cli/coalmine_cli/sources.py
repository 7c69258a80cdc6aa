"""`coalmine report EXECUTION_ARN`: which execution (its ARN's region). The timeline itself is
the domain's: coalmine/execution_timeline.py (pure) and coalmine/adapters/timeline_sources.py
(the reads: the stored ``timeline.json`` when complete, else rebuilt from the execution
history, the S3 ticks and CloudWatch; docs/report.md, "Where the timeline comes from")."""

from __future__ import annotations

import re

EXECUTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:states:(?P<region>[a-z0-9-]+):\d{12}:execution:[A-Za-z0-9_.-]+:[^:\s]+$"
)


def arn_region(arn: str) -> str | None:
    """The region of a well-formed execution ARN; None if ``arn`` is not one."""
    found = EXECUTION_ARN.match(arn)
    return found.group("region") if found else None
