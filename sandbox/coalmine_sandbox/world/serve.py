"""The sandbox as an endpoint (`coalmine sandbox serve`): the same emulation, served over HTTP on
127.0.0.1, its clock running `speed` times as fast as wall time, so the AWS CLI, any SDK and every
`coalmine` verb (`--endpoint-url`) in other processes drive deployments in it.

    with Serving(port=4566, speed=60) as served:
        served.info   # endpoint, region, state machine ARN, the deployable functions
        ...           # until Ctrl-C

The world around the deployments is the rehearsal's: brand-api's table seeded, its baseline
published and made production (alias `prod`), a healthy and a faulty candidate published, and
synthetic API traffic (`rps`, simulated) into `brand-api:prod` for as long as it serves. The stack's
outputs are a CloudFormation stack's (DescribeStacks `coalmine`), as `coalmine` looks them up.

Time: the clock moves on its own, `speed` simulated seconds per wall second (SimClock.pace);
Wait states and Retry back-off wait for it instead of moving it (a Wait of 60 s lasts 1 s wall at
speed 60), so every client sees the same time. Prints nothing: `emit` gets the lines.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..sandbox import ACCOUNT_ID, REGION, Sandbox
from ..seams.server import Endpoint
from .samples import SAMPLES
from .traffic import TrafficGenerator

Emit = Callable[[str], None]
FAULTY_ERROR_RATE = 0.2  # the faulty candidate: a share of its requests raise


@dataclass(frozen=True)
class Deployable:
    function: str
    alias: str
    production: str  # the version the alias points at
    candidates: dict[str, str]  # version -> what it is ("healthy", "faulty: 20% errors")


@dataclass(frozen=True)
class ServeInfo:
    endpoint: str
    region: str
    account_id: str
    stack_name: str
    state_machine_arn: str
    speed: float
    rps: float
    deployables: list[Deployable] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)


class Serving:
    def __init__(
        self,
        port: int = 4566,
        speed: float = 60.0,
        rps: float = 5.0,
        seed: int = 0,
        stack_name: str = "coalmine",
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0: {speed}")
        if rps < 0:
            raise ValueError(f"rps must be >= 0: {rps}")
        self.port, self.speed, self.rps, self.seed = port, speed, rps, seed
        self.sandbox = Sandbox(seed=seed, stack_name=stack_name)
        self.endpoint: Endpoint | None = None
        self.traffic: TrafficGenerator | None = None
        self._info: ServeInfo | None = None

    @property
    def info(self) -> ServeInfo:
        if self._info is None:
            raise RuntimeError("not serving")
        return self._info

    def __enter__(self) -> Serving:
        # the port first: a taken one fails at once, before the stack stands up
        self.endpoint = Endpoint(self.port, REGION)
        try:
            sb = self.sandbox.__enter__()
            deployable = _publish_brand_api(sb)
            outputs = _stack_outputs(sb)
            self._start_traffic(sb, deployable)
            stack_arn = (
                f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{sb.stack_name}/"
                "00000000-0000-4000-8000-000000000000"
            )
            self.endpoint.stacks[sb.stack_name] = (stack_arn, outputs)
            self.endpoint.start()
            sb.clock.pace(self.speed)
        except BaseException:
            self.close()
            raise
        self._info = ServeInfo(
            endpoint=self.endpoint.url,
            region=REGION,
            account_id=ACCOUNT_ID,
            stack_name=sb.stack_name,
            state_machine_arn=sb.stack.state_machine_arn,
            speed=self.speed,
            rps=self.rps,
            deployables=[deployable],
            outputs=outputs,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the clock, then the endpoint, then the emulation (safe to call twice)."""
        self.sandbox.clock.stop_pacing()
        if self.endpoint is not None:
            self.endpoint.stop()
            self.endpoint = None
        self.sandbox.close()

    def status_changes(self, since: int = 0) -> list[dict[str, Any]]:
        """The Step Functions status-change events emitted since the `since`-th."""
        return list(self.sandbox.status_events[since:])

    def _start_traffic(self, sb: Sandbox, deployable: Deployable) -> None:
        sample = SAMPLES[deployable.function]
        rng = random.Random(self.seed)

        def invoke(event: dict[str, Any]) -> None:
            assert self.traffic is not None
            sb.runtime.invoke_alias(
                deployable.function, deployable.alias, event, start=self.traffic.current_arrival
            )

        self.traffic = TrafficGenerator(invoke, self.rps, rng, sample.events(sb, None))
        sb.add_listener(self.traffic.on_clock)


def _publish_brand_api(sb: Sandbox) -> Deployable:
    """The rehearsal's world for brand-api: data, a production version, two candidates."""
    sample = SAMPLES["brand-api"]
    sample.prepare(sb)
    healthy = {"FAULT_ERROR_RATE": "0", "FAULT_LATENCY_MS": "0"}
    baseline = sb.publish_version(sample.function_name, {**healthy, "SAMPLE_RELEASE": "baseline"})
    sb.client("lambda").update_alias(
        FunctionName=sample.function_name,
        Name=sample.alias,
        FunctionVersion=baseline,
        RoutingConfig={"AdditionalVersionWeights": {}},
    )
    good = sb.publish_version(sample.function_name, {**healthy, "SAMPLE_RELEASE": "candidate"})
    faulty_env = {
        **healthy,
        "FAULT_ERROR_RATE": f"{FAULTY_ERROR_RATE:g}",
        "SAMPLE_RELEASE": "faulty",
    }
    bad = sb.publish_version(sample.function_name, faulty_env)
    return Deployable(
        sample.function_name,
        sample.alias,
        baseline,
        {good: "healthy", bad: f"faulty: {FAULTY_ERROR_RATE:.0%} of its requests fail"},
    )


def _stack_outputs(sb: Sandbox) -> dict[str, str]:
    """The stood-up stack's outputs: the endpoint answers DescribeStacks with them, so the
    `coalmine` verbs find the state machine, the tables and the bucket as they do on AWS."""
    return {k: str(v) for k, v in sb.stack.outputs.items() if v is not None}
