"""Every `coalmine <verb> --help` ends with examples of that verb (pause's and resume's show
both) and the exit codes it can return, in order."""

from __future__ import annotations

import argparse
import re

import pytest

from coalmine_cli.main import build_parser


def _verbs() -> dict[str, argparse.ArgumentParser]:
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


EXPECTED = {"deploy", "list", "history", "status", "abort", "promote", "pause", "resume",
            "retry", "rollback", "report", "rehearse", "demo", "soak"}  # fmt: skip


def test_the_verbs_are_the_documented_ones() -> None:
    assert set(_verbs()) >= EXPECTED


@pytest.mark.parametrize("verb", sorted(EXPECTED))
def test_every_verb_has_examples_and_exit_codes(
    verb: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([verb, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    examples = text.split("example", 1)[1].split("exit codes:", 1)[0]
    commands = re.findall(r"^  coalmine (\S+)", examples, flags=re.MULTILINE)
    assert commands, text
    assert verb in commands
    allowed = {"pause", "resume"} if verb in {"pause", "resume"} else {verb}
    assert set(commands) <= allowed, commands
    codes = re.findall(r"^  (\d+) ", text.split("exit codes:", 1)[1], flags=re.MULTILINE)
    assert "0" in codes
    assert codes == sorted(codes, key=int)
