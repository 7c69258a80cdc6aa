"""The canary benchmark (bench/): a quick smoke run with few runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root holds bench/

from bench import canary_bench
from bench.rules import RULES, codedeploy, sfn2017
from bench.simulate import Arm, Scenario, simulate
from coalmine.gates import Period, VersionSample
from coalmine.gates_config import GatesConfig


def test_smoke_run_prints_the_table_and_writes_json(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "bench.json"
    assert canary_bench.main(["--runs", "20", "--jobs", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert set(report["scenarios"]) == {s.name for s in canary_bench.SCENARIOS}
    for rules in report["scenarios"].values():
        assert set(rules) == set(RULES)
    assert {t["scenario"] for t in report["targets"]} >= {"aa-20rps", "low-0.2rps"}
    assert "2x-20rps: coalmine would need" in printed
    assert "MET" in printed
    # a healthy run is never promoted blind nor rolled back by coalmine on these seeds
    assert report["scenarios"]["low-0.2rps"]["coalmine"]["promotedBelowMinShare"] == 0


def test_runs_are_reproducible_and_prefix_consistent() -> None:
    scn = Scenario("x", 20, Arm(0.01), Arm(0.05))
    assert simulate(scn, 3, 5) == simulate(scn, 3, 5)
    assert simulate(scn, 3, 8)[:5] == simulate(scn, 3, 5)
    first = canary_bench.run_scenario(scn, 10, 1, GatesConfig())
    assert first == canary_bench.run_scenario(scn, 10, 1, GatesConfig())


@pytest.mark.parametrize(
    ("errors", "codedeploy_minute", "sfn_minute"),
    [
        ([(0, 3), (0, 3)], 2, None),  # 6 errors on the alias over 2 minutes, none on the canary
        ([(1, 0), (0, 0)], None, 1),
        ([(0, 0), (0, 0)], None, None),
    ],
)
def test_baseline_rules(
    errors: list[tuple[int, int]], codedeploy_minute: int | None, sfn_minute: int | None
) -> None:
    scn = Scenario("x", 20, Arm(), Arm(), bake_minutes=2)
    periods = [Period(VersionSample(100, e1), VersionSample(900, e0)) for e1, e0 in errors]
    for rule, minute in ((codedeploy, codedeploy_minute), (sfn2017, sfn_minute)):
        outcome = rule(scn, periods, GatesConfig())
        assert outcome.rolled_back == (minute is not None)
        assert outcome.minute == (minute or 2)


def test_grid_smoke_run_prints_every_cell_and_the_targets(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from bench import grid

    out = tmp_path / "grid.json"
    assert grid.main(["--runs", "10", "--jobs", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report["cells"]) == {c.name for c in grid.cells()}
    assert len(report["cells"]) == 3 + 12  # A/A at 3 rates + 4 effects x 3 rates
    for shares in report["cells"].values():
        assert set(shares) == {"coalmine", "sprt", "alarm-fair"}
    # the fair alarm's threshold falls as traffic grows (a rate is steadier with more requests)
    thresholds = [report["thresholds"][str(r)] for r in grid.RATES]
    assert thresholds == sorted(thresholds, reverse=True)
    assert "targets met" in capsys.readouterr().out
    # the before/after rows: the watch after a blue/green and an AllAtOnce cutover, each targeted
    assert set(report["watch"]) == {c.name for c in grid.watch_cells()}
    assert {name.split("-")[0] for name in report["watch"]} == {"bg", "aao"}
    targeted = {row["cell"] for row in report["targets"]}
    assert {
        "bg-aa-20rps",
        "aao-aa-200rps",
        "bg-errors50pct-20rps",
        "aao-latency5x-20rps",
    } <= targeted


def test_a_watch_run_pairs_both_versions_at_the_whole_alias_traffic() -> None:
    from bench import grid
    from bench.simulate import simulate

    scn = next(c for c in grid.watch_cells() if c.name == "bg-aa-200rps")
    periods = simulate(scn, 1, 5, latency=False)
    assert all(abs(p.new.invocations - 12000) < 600 for p in periods)
    assert all(abs(p.old.invocations - 12000) < 600 for p in periods)
