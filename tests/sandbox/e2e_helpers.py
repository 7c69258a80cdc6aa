"""Shared by the end-to-end sandbox tests (test_e2e_*.py): deployments of brand-api through the
shipped state machine, observed from the outside (the alias, the versions, the execution)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from coalmine.exceptions import lambda_error_message
from coalmine_sandbox import Sandbox
from coalmine_sandbox.world.samples import SAMPLES
from coalmine_sandbox.world.traffic import TrafficGenerator, api_gateway_event

REPO = Path(__file__).resolve().parents[2]
FUNCTION = "brand-api"
ALIAS = "prod"
ERRORS_ALARM = "brand-api-prod-errors"
BRAND_API_DIR = REPO / "functions" / "brand_api"


# ------------------------------------------------------------------ versions and the alias
def publish_candidate(sb: Sandbox, release: str = "candidate", **env: str) -> str:
    """Publish a new brand-api version (a changed environment stands for new code)."""
    return sb.publish_version(FUNCTION, {"SAMPLE_RELEASE": release, **env})


def alias_snapshot(sb: Sandbox, function: str = FUNCTION, alias: str = ALIAS) -> dict[str, Any]:
    """Everything GetAlias says about the alias except the per-request metadata."""
    found = sb.alias(function, alias)
    return {k: v for k, v in found.items() if k != "ResponseMetadata"}


def routing(snapshot: dict[str, Any]) -> tuple[str, dict[str, float]]:
    weights = snapshot.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
    return snapshot["FunctionVersion"], dict(weights)


def published_versions(sb: Sandbox, function: str = FUNCTION) -> list[str]:
    lam = sb.client("lambda")
    return [v["Version"] for v in lam.list_versions_by_function(FunctionName=function)["Versions"]]


def code_sha256(sb: Sandbox, version: str, function: str = FUNCTION) -> str:
    config = sb.client("lambda").get_function_configuration(
        FunctionName=function, Qualifier=version
    )
    return str(config["CodeSha256"])


# ------------------------------------------------------------------ executions
@dataclass
class Finished:
    """An execution that ended: DescribeExecution, its parsed output and error message."""

    description: dict[str, Any]
    entered: list[str]  # state names in the order they were entered

    @property
    def status(self) -> str:
        return str(self.description["status"])

    @property
    def error(self) -> str | None:
        return self.description.get("error")

    @property
    def cause(self) -> str:
        return str(self.description.get("cause") or "")

    @property
    def message(self) -> str:
        """A Lambda error's `errorMessage` (the cause is its JSON), else the cause itself."""
        return lambda_error_message(self.cause)

    @property
    def output(self) -> dict[str, Any]:
        return json.loads(self.description.get("output") or "{}")


def finish(sb: Sandbox, arn: str) -> Finished:
    # (a wall-clock safety net only: a loaded two-core machine runs a canary in minutes)
    description = sb.wait_for_execution(arn, timeout_wall=600)
    return Finished(description, entered_states(sb, arn))


def run(sb: Sandbox, request: dict[str, Any]) -> Finished:
    return finish(sb, sb.start_execution(request))


def run_raw(sb: Sandbox, text: str) -> Finished:
    """Start with an input text as given (a JSON array, a JSON string, ...)."""
    sfn = sb.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=sb.stack.state_machine_arn, input=text)
    return finish(sb, arn["executionArn"])


def entered_states(sb: Sandbox, arn: str) -> list[str]:
    sfn = sb.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]


def executions(sb: Sandbox) -> list[dict[str, Any]]:
    sfn = sb.client("stepfunctions")
    return list(sfn.list_executions(stateMachineArn=sb.stack.state_machine_arn)["executions"])


# ------------------------------------------------------------------ watching the alias
@dataclass
class AliasWatcher:
    """A clock listener reading the alias once per simulated second (what a client would see)."""

    sb: Sandbox
    function: str = FUNCTION
    alias: str = ALIAS
    seen: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    stop: Callable[[], None] = lambda: None  # removes the listener (set by `watch`)

    def __call__(self, t_from: datetime, t_to: datetime) -> None:
        self.seen.append(routing(alias_snapshot(self.sb, self.function, self.alias)))

    def routings(self) -> list[tuple[str, dict[str, float]]]:
        """The distinct routings in the order they were seen (consecutive repeats dropped)."""
        out: list[tuple[str, dict[str, float]]] = []
        for item in self.seen:
            if not out or out[-1] != item:
                out.append(item)
        return out

    def weights_on(self, version: str) -> list[float]:
        """The weights `version` had as the alias's additional version, in order."""
        return [w[version] for _, w in self.routings() if version in w]

    def seconds_wholly_on(self, version: str) -> int:
        return sum(1 for v, w in self.seen if v == version and not w)


def watch(sb: Sandbox) -> AliasWatcher:
    watcher = AliasWatcher(sb)
    watcher.stop = sb.add_listener(watcher)
    return watcher


# ------------------------------------------------------------------ traffic
@dataclass
class VersionCounts:
    invocations: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


def start_traffic(
    sb: Sandbox, rps: float, seed: int = 7
) -> tuple[VersionCounts, Callable[[], None]]:
    """Seed brand-api's table and send `rps` API Gateway requests per simulated second to the
    alias (as the rehearsal does); returns per-version counts and a function that stops it."""
    sample = SAMPLES[FUNCTION]
    sample.prepare(sb)
    counts = VersionCounts()

    def invoke(event: dict[str, Any]) -> None:
        result = sb.runtime.invoke_alias(FUNCTION, ALIAS, event)
        version = result.executed_version
        counts.invocations[version] = counts.invocations.get(version, 0) + 1
        counts.errors[version] = counts.errors.get(version, 0) + int(result.error)

    rng = random.Random(seed)
    generator = TrafficGenerator(invoke, rps, rng, sample.events(sb))
    return counts, sb.add_listener(generator.on_clock)


def unknown_brand_request(brand_id: str = "no-such-brand") -> dict[str, Any]:
    """GET /brands/<id> for an id no table holds: brand-api answers 404 with its message."""
    return api_gateway_event(
        "GET",
        f"/brands/{brand_id}",
        resource="/brands/{brandId}",
        path_parameters={"brandId": brand_id},
    )


# ------------------------------------------------------------------ code packages
def brand_api_zip(marker: str) -> bytes:
    """brand-api's code (functions/brand_api) as a zip, its 404 message carrying `marker`."""
    original = b'"brand not found"'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(BRAND_API_DIR.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            data = path.read_bytes()
            if path.name == "app.py":
                assert original in data, "brand-api's 404 message moved: update brand_api_zip"
                data = data.replace(original, f'"brand not found ({marker})"'.encode())
            archive.writestr(str(path.relative_to(BRAND_API_DIR)), data)
    return buffer.getvalue()


def sha256_b64(data: bytes) -> str:
    """Lambda's CodeSha256 of a zip: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()
