"""`coalmine report`: its one-line errors and exit codes before any AWS call, and the page's text
(escaped, self-contained)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from coalmine import timeline
from coalmine_cli import deploy, report_html, sources
from coalmine_cli.main import main

T0 = datetime(2030, 1, 1, 0, 2, 4, tzinfo=UTC)


def _timeline(reason: str = "a reason", outcome: str = "PROMOTED") -> dict[str, Any]:
    return timeline.build(
        function="brand-api",
        alias="prod",
        from_version="2",
        to_version="3",
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:m:x",
        started=T0,
        ended=T0 + timedelta(seconds=60),
        minute_weights={},
        minute_figures={},
        steps=[],
        actions=[timeline.action(T0 + timedelta(seconds=30), T0, "stop", "<b>by hand</b>")],
        outcome=outcome,
        reason=reason,
        decided=T0 + timedelta(seconds=30),
    )


@pytest.mark.parametrize(
    ("content", "source", "named"),
    [
        (None, "no-such.json", "cannot read no-such.json"),
        ("{not json", "r.json", "is not valid JSON"),
        ('{"outcome": "PROMOTED"}', "r.json", "holds no timeline"),
        ("[1, 2]", "r.json", "holds no timeline"),
        (None, "arn:aws:states:us-east-1:123:execution:m:x", "is not a Step Functions execution"),
        (None, "arn:aws:lambda:us-east-1:123456789012:function:f", "is not a Step Functions"),
    ],
    ids=["missing file", "not JSON", "no timeline", "not an object", "short account", "lambda"],
)
def test_bad_sources_exit_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    content: str | None,
    source: str,
    named: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / source).write_text(content)
    # (a profile that does not exist: an AWS call would exit 3)
    code = main(["report", source, "-o", "out.html", "--profile", "no-such-profile"])
    err = capsys.readouterr().err.strip()
    assert code == deploy.EXIT_BAD_INPUT
    assert err.startswith("coalmine: ")
    assert len(err.splitlines()) == 1
    assert named in err
    assert not (tmp_path / "out.html").exists()


@pytest.mark.parametrize(
    ("arn", "region"),
    [
        ("arn:aws:states:eu-west-1:123456789012:execution:coalmine-deployment:abc", "eu-west-1"),
        ("arn:aws-cn:states:cn-north-1:123456789012:execution:m:n-1", "cn-north-1"),
        ("arn:aws:states:eu-west-1:123456789012:stateMachine:coalmine-deployment", None),
        ("arn:aws:states:eu-west-1:123456789012:execution:m", None),
        ("not an arn", None),
    ],
)
def test_arn_region(arn: str, region: str | None) -> None:
    assert sources.arn_region(arn) == region


def test_the_page_escapes_what_it_shows_and_needs_no_network() -> None:
    page = report_html.render(_timeline(reason="<script>alert(1)</script>"))
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;by hand&lt;/b&gt;" in page  # the operator's action
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "Decision: PROMOTED at t+30 s" in page


def test_a_result_json_is_drawn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = tmp_path / "result.json"
    result.write_text(json.dumps({"outcome": "ROLLED_BACK", "timeline": _timeline()}))
    assert main(["report", str(result), "-o", str(tmp_path / "r.html")]) == 0
    assert "coalmine deployment report: brand-api:prod v2" in (tmp_path / "r.html").read_text()
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'r.html'}"


@pytest.mark.parametrize(
    ("read_after", "noted"),
    [
        (None, False),  # a rehearsal's
        (30, True),  # no minute settled
        (timeline.SETTLE_SECONDS, True),  # all but the end minute
        (60 + timeline.SETTLE_SECONDS, False),  # every minute
    ],
)
def test_the_page_says_when_cloudwatchs_last_minutes_had_not_settled(
    read_after: int | None, noted: bool
) -> None:
    tl = _timeline()
    if read_after is not None:  # read from AWS that long after the end minute began
        read_at = timeline.minute_floor(T0 + timedelta(seconds=60)) + timedelta(seconds=read_after)
        tl.update(timeline.metrics_marker(timeline.window(T0, T0 + timedelta(seconds=60)), read_at))
    page = report_html.render(tl)
    assert ('id="metrics"' in page) is noted
    if noted:
        assert f"figures settled through {tl['metricsThrough'] or 'no minute'}" in page
