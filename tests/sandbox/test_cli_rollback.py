"""`coalmine rollback --to-previous` against a Sandbox: after a blue/green promotion (Promote keeps
the old version on the `previous` alias) the alias goes wholly back on it in one UpdateAlias;
every refusal exits 2 with one line and changes nothing; an AWS error exits 3."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_helpers import FUNCTION, alias_snapshot, publish_candidate, routing

from coalmine_cli import deploy, rollback
from coalmine_cli.main import main
from coalmine_sandbox import Sandbox

REASON = "prices wrong since the cutover"
BLUE_GREEN = {"type": "blueGreen", "bakeSeconds": 0}  # (no traffic here: nothing to watch)


def _cli(sb: Sandbox, *args: str) -> int:
    return main([*args, "--lock-table", sb.stack["DeploymentLocksTable"], "--region", "us-east-1"])


def _rollback(sb: Sandbox, target: str = f"{FUNCTION}:prod", *extra: str) -> int:
    return _cli(sb, "rollback", "--to-previous", target, "--reason", REASON, *extra)


def _one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.startswith("coalmine")]
    assert len(lines) == 1, text
    assert text.count("Traceback") == text.count("--- Logging error ---"), text
    return lines[0]


def _promoted_blue_green(sb: Sandbox) -> tuple[str, str]:
    """(the stable version, the candidate) after a blue/green promotion of the candidate."""
    stable = routing(alias_snapshot(sb))[0]
    candidate = publish_candidate(sb)
    arn = sb.start_execution(
        {"functionName": FUNCTION, "targetVersion": candidate, "strategy": BLUE_GREEN}
    )
    assert sb.wait_for_execution(arn)["status"] == "SUCCEEDED"
    assert routing(alias_snapshot(sb)) == (candidate, {})
    assert sb.alias(FUNCTION, "previous")["FunctionVersion"] == stable
    return stable, candidate


def test_rollback_to_previous_puts_the_alias_wholly_back_and_exits_0(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a blue/green deployment that promoted its candidate
    stable, candidate = _promoted_blue_green(sandbox)
    before = alias_snapshot(sandbox)
    capsys.readouterr()
    # When the operator rolls back to the previous version
    code = _rollback(sandbox)
    out = capsys.readouterr().out
    # Then the alias is wholly on the stable version, by a write of a new revision
    assert code == 0
    after = alias_snapshot(sandbox)
    assert routing(after) == (stable, {})
    assert after["RevisionId"] != before["RevisionId"]
    assert sandbox.alias(FUNCTION, "previous")["FunctionVersion"] == stable  # left as it was
    line = _one_line(out.replace("rolled back", "coalmine rolled back"))
    assert f"{FUNCTION}:prod: v{candidate} -> v{stable}" in line
    assert f"revision {after['RevisionId']}" in line
    assert REASON in line
    assert "arn:aws:sts::" in line
    # And a second one changes nothing and says so
    assert _rollback(sandbox) == 0
    assert f"{FUNCTION}:prod is already wholly on v{stable} ('previous'): no change" in (
        capsys.readouterr().out
    )
    assert alias_snapshot(sandbox)["RevisionId"] == after["RevisionId"]


def test_rollback_refuses_while_a_deployment_holds_the_alias(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a blue/green promotion, then a 10% canary of another candidate (10 minutes' bake)
    _promoted_blue_green(sandbox)
    plan = {"type": "steps", "steps": [{"weight": 0.1, "bakeSeconds": 600}]}
    request = {"functionName": FUNCTION, "targetVersion": publish_candidate(sandbox, "second"),
               "strategy": plan}  # fmt: skip
    began = sandbox.clock.now()
    seen: list[Any] = []

    def rollback_at_120s(t_from: Any, t_to: Any) -> None:
        if (t_to - began).total_seconds() == 120 and not seen:
            before = alias_snapshot(sandbox)
            seen.append(_rollback(sandbox))
            seen.append(alias_snapshot(sandbox) == before)

    remove = sandbox.add_listener(rollback_at_120s)
    arn = sandbox.start_execution(request)
    # When the operator asks for the rollback during the canary
    try:
        sandbox.wait_for_execution(arn, timeout_wall=600)
    finally:
        remove()
    # Then it is refused in one line naming the holder, and the alias was not touched
    assert seen == [deploy.EXIT_BAD_INPUT, True]
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"coalmine: a deployment of {FUNCTION}:prod holds the alias ({arn})")


@pytest.mark.parametrize(
    "case",
    ["no --to-previous", "empty reason", "the previous alias itself", "malformed target",
     "unknown function", "unknown alias", "no previous alias", "changed meanwhile"],
)  # fmt: skip
def test_rollback_refusals_exit_2_with_one_line_and_change_nothing(
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    if case in {"unknown alias", "changed meanwhile"}:
        _promoted_blue_green(sandbox)
    before = alias_snapshot(sandbox)
    args = ["rollback", "--to-previous", f"{FUNCTION}:prod", "--reason", REASON]
    named = {
        "no --to-previous": "rollback needs --to-previous",
        "empty reason": "--reason must say why",
        "the previous alias itself": f"{FUNCTION}:previous is the previous alias itself",
        "malformed target": "expected FUNCTION[:ALIAS]",
        "unknown function": "function no-such-function does not exist",
        "unknown alias": f"alias {FUNCTION}:live does not exist",
        "no previous alias": f"{FUNCTION} has no alias 'previous'",
        "changed meanwhile": f"{FUNCTION}:prod changed while it was read",
    }[case]
    if case == "no --to-previous":
        args.remove("--to-previous")
    elif case == "empty reason":
        args[-1] = "  "
    elif case == "the previous alias itself":
        args[2] = f"{FUNCTION}:previous"
    elif case == "malformed target":
        args[2] = ":prod"
    elif case == "unknown function":
        args[2] = "no-such-function:prod"
    elif case == "unknown alias":
        args[2] = f"{FUNCTION}:live"
    elif case == "changed meanwhile":
        # someone else moves the alias between the CLI's read and its write
        original = rollback._alias

        def read_then_tamper(lam: Any, function: str, alias: str, missing: str) -> Any:
            found = original(lam, function, alias, missing)
            if alias == "prod":
                lam.update_alias(FunctionName=function, Name=alias, Description="tampered")
            return found

        monkeypatch.setattr(rollback, "_alias", read_then_tamper)
        before = None
    capsys.readouterr()
    code = _cli(sandbox, *args)
    assert code == deploy.EXIT_BAD_INPUT
    assert named in _one_line(capsys.readouterr().err)
    if before is not None:
        assert alias_snapshot(sandbox) == before  # nothing changed
    else:  # the tamperer's change stands, the rollback was not made
        assert alias_snapshot(sandbox)["Description"] == "tampered"
        assert (
            routing(alias_snapshot(sandbox))[0]
            != sandbox.alias(FUNCTION, "previous")["FunctionVersion"]
        )


def test_rollback_exits_3_on_an_aws_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["rollback", "--to-previous", f"{FUNCTION}:prod", "--reason", REASON,
                 "--profile", "no-such-profile"])  # fmt: skip
    assert code == deploy.EXIT_AWS_ERROR
    assert "no-such-profile" in _one_line(capsys.readouterr().err)
