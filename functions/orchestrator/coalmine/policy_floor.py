"""Pure: the floor a function's tags set under every deployment of it ("tighten, never loosen").

Applied in Prepare (preflight.check_request) to every execution input, whoever started it (an
upload, the console, CI), once the input is parsed and its upload's policy filled in:

- a bake that rounds to 0 s (a canary or linear ``intervalMinutes`` under half a second, e.g.
  0.001) is refused: it would promote with no bake at all;
- tag ``coalmine:strategies`` (names or strategy types separated by spaces, e.g.
  ``Canary10Percent5Minutes Linear10PercentEvery1Minute blueGreen``) pins the strategies any
  deployment of the function may use;
- the switches that loosen a deployment's judgement: a dry run (``dryRun``), promotion on low
  traffic (``promoteOnLowTraffic``: ``lowTrafficPolicy: "promote"``), no minimum of invocations
  (``minInvocations0``: ``minInvocations: 0``), and alarms that leave out the function's own
  (``noAlarms``: an ``analysis.alarms`` without every alarm its tag ``coalmine:alarms`` names).
  An upload may switch one on only if the function's tag ``coalmine:allow`` lists it (write
  access to deployments/<function>/ may tighten the function's policy, never loosen it); with the
  tag set, every caller is held to it (``coalmine:allow=none`` forbids them all, dry runs
  included); without it, a caller of StartExecution (who holds more than an upload's right) may.

Each refusal is an InvalidInput naming the field (``analysis.dryRun``, ``strategy``, ...).
Tag values: AWS tags take letters, digits, spaces and ``+ - = . _ : / @``, so lists are separated
by spaces (commas are accepted too, for other sources).
"""

from __future__ import annotations

from collections.abc import Mapping

from coalmine import strategies
from coalmine.exceptions import InvalidInput
from coalmine.models import CanaryStrategy, ExecutionInput, LinearStrategy, StrategySpec
from coalmine.upload_policy import TAG_ALARMS, parse_alarms

TAG_STRATEGIES = "coalmine:strategies"
TAG_ALLOW = "coalmine:allow"
DRY_RUN = "dryRun"
PROMOTE_ON_LOW_TRAFFIC = "promoteOnLowTraffic"
MIN_INVOCATIONS_0 = "minInvocations0"
NO_ALARMS = "noAlarms"
NONE = "none"
SWITCHES = (DRY_RUN, PROMOTE_ON_LOW_TRAFFIC, MIN_INVOCATIONS_0, NO_ALARMS)


def check(request: ExecutionInput, tags: Mapping[str, str], from_upload: bool) -> None:
    """Raise InvalidInput(field) if the request goes below the function's floor."""
    name = request.function_name
    check_bake(request.strategy)
    check_strategy(request.strategy, tags, name)
    allowed = allowances(tags, name, from_upload)
    if allowed is None:
        return
    for field, switch, problem in loosenings(request, tags, name):
        if switch not in allowed:
            raise InvalidInput(field, f"{problem}: {_why(switch, name, tags, from_upload)}")


def check_bake(strategy: str | StrategySpec) -> None:
    """A canary or linear interval that rounds to a bake of 0 s."""
    minutes = (
        strategy.interval_minutes if isinstance(strategy, CanaryStrategy | LinearStrategy) else None
    )
    if minutes is not None and round(minutes * 60) == 0:
        raise InvalidInput(
            "strategy.intervalMinutes",
            f"{minutes:g} minutes rounds to a bake of 0 s (no bake at all); give at least 1 s "
            f"(0.0167 minutes)",
        )


def check_strategy(strategy: str | StrategySpec, tags: Mapping[str, str], name: str) -> None:
    if TAG_STRATEGIES not in tags:
        return
    allowed = split(tags[TAG_STRATEGIES])
    plan_name = strategies.resolve(strategy).strategy
    kind = _kind(strategy, plan_name)
    if plan_name in allowed or kind in allowed:
        return
    raise InvalidInput(
        "strategy",
        f"{plan_name} is not a strategy {name} allows: its tag {TAG_STRATEGIES} lists "
        f"{', '.join(allowed) or '(nothing)'}",
    )


def allowances(tags: Mapping[str, str], name: str, from_upload: bool) -> set[str] | None:
    """The loosening switches allowed (None: no limit, a direct caller and no coalmine:allow)."""
    if TAG_ALLOW not in tags:
        return set() if from_upload else None
    words = split(tags[TAG_ALLOW])
    unknown = [w for w in words if w not in (*SWITCHES, NONE)]
    if unknown:
        raise InvalidInput(
            f"{TAG_ALLOW} (tags of function {name})",
            f"{', '.join(unknown)} is not one of {', '.join((*SWITCHES, NONE))}",
        )
    return set(words) - {NONE}


def loosenings(
    request: ExecutionInput, tags: Mapping[str, str], name: str
) -> list[tuple[str, str, str]]:
    """(field, switch, what it does) for every loosening switch the request turns on."""
    analysis = request.analysis
    found: list[tuple[str, str, str]] = []
    if analysis.dry_run:
        found.append(("analysis.dryRun", DRY_RUN, f"a dry run of {name}"))
    if analysis.low_traffic_policy == "promote":
        found.append(
            ("analysis.lowTrafficPolicy", PROMOTE_ON_LOW_TRAFFIC, "promotion on low traffic")
        )
    if analysis.min_invocations == 0:
        found.append(("analysis.minInvocations", MIN_INVOCATIONS_0, "no minimum of invocations"))
    if TAG_ALARMS in tags:
        own = parse_alarms(tags[TAG_ALARMS], f"{TAG_ALARMS} (tags of function {name})")
        missing = [alarm for alarm in own if alarm not in analysis.alarms]
        if missing:
            found.append(
                ("analysis.alarms", NO_ALARMS, f"leaving out {name}'s alarm {', '.join(missing)}")
            )
    return found


def split(value: str) -> list[str]:
    return [word for word in value.replace(",", " ").split() if word]


def _kind(strategy: str | StrategySpec, plan_name: str) -> str:
    if not isinstance(strategy, str):
        return strategy.type
    for prefix, kind in (("Canary", "canary"), ("Linear", "linear")):
        if plan_name.startswith(prefix):
            return kind
    return plan_name


def _why(switch: str, name: str, tags: Mapping[str, str], from_upload: bool) -> str:
    if TAG_ALLOW in tags:
        return f"{name}'s tag {TAG_ALLOW} does not list {switch}"
    assert from_upload
    return (
        f"an upload's policy may tighten {name}'s own, never loosen it (tag {name} "
        f"{TAG_ALLOW}={switch} to allow it)"
    )
