"""`Sandbox`: emulated AWS in-process (moto + seams + simulated clock) with template.yaml stood up.

    with Sandbox(seed=1) as sb:
        arn = sb.start_execution({"functionName": "brand-api", ...})
        result = sb.wait_for_execution(arn)

Emulates AWS only: the shipped ASL, handlers and template run unchanged. The assembly of the
emulated services (aws/) and the moto seams (seams/); the rehearsal world (world/) builds on it.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from .aws.awslambda import process_hooks
from .aws.awslambda.async_invoke import AsyncInvoker
from .aws.awslambda.codeload import LOADER
from .aws.awslambda.runtime import Runtime
from .aws.clock import SimClock
from .aws.cloudformation.build import build_stack
from .aws.cloudformation.stack import Stack
from .aws.cloudwatch.alarms import AlarmEvaluator
from .aws.cloudwatch.metrics import MetricStore
from .aws.faults import FaultInjector
from .aws.sns import EventTopicPublisher
from .resources import REPO, TEMPLATE
from .seams import lambda_async, mock, registry, sqs
from .seams.hooks import MotoHooks
from .seams.mock import Mock

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # no MOTO_ACCOUNT_ID: it would pin every request to ACCOUNT_ID. Without it moto maps a
    # request's access key to its account: AssumeRole's credentials to the role's account (a
    # deployment into another account, docs/cross-account.md), any other key to moto's default
    # account, which is ACCOUNT_ID (seams/mock.py checks it)
}
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}  # an execution's final statuses


class Sandbox:
    def __init__(
        self,
        seed: int = 0,
        start: datetime | None = None,
        template: Path | None = TEMPLATE,
        stack_name: str = "coalmine",
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.seed = seed
        self.template = template
        self.stack_name = stack_name
        # the template's parameters: the samples are what the sandbox runs, so they are deployed
        # unless a caller says otherwise (the template's own default, a production install, is not)
        self.parameters = {"DeploySamples": "true", **(parameters or {})}
        self.clock = SimClock(start)
        # CloudWatch publishes as of the time its reader sees: the clock plus what the calling
        # invocation has slept (RecordTimeline waits in its invocation for the last minute), as
        # API faults judge their windows (aws/faults.py caller_now)
        self.metrics = MetricStore(self._caller_now)
        self.runtime = Runtime(now=self.clock.now, metrics=self.metrics, seed=seed, region=REGION)
        self.stack = Stack(name=stack_name, root=REPO)
        self.hooks: MotoHooks | None = None
        self.alarms: AlarmEvaluator | None = None
        self.faults = FaultInjector(self)
        self.async_lambda: AsyncInvoker | None = None
        self._clients: dict[str, Any] = {}
        self._saved_env: dict[str, str | None] = {}
        self._mock: Mock | None = None

    def _caller_now(self) -> datetime:
        return self.clock.now() + self.runtime.current_offset()

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Sandbox:
        self._saved_env = {k: os.environ.get(k) for k in (*_ENV, "MOTO_ACCOUNT_ID")}
        os.environ.pop("MOTO_ACCOUNT_ID", None)  # (see _ENV: accounts follow the credentials)
        # Handlers draw from the process-wide `random` (brand-api's error knob): seed it so the
        # same seed gives the same run, whatever ran earlier in this process.
        random.seed(f"sandbox-{self.seed}")
        os.environ.update(_ENV)
        try:
            self._mock = mock.start(ACCOUNT_ID)
            self.clock.start()
            process_hooks.install()
            self.hooks = MotoHooks(
                self.clock, self.runtime, self.metrics, self._start_from_event, ACCOUNT_ID, REGION
            )
            registry.install(self.hooks)
            self.hooks.faults = self.faults
            self.async_lambda = AsyncInvoker(
                self.clock,
                self.hooks.invoke_function,
                config=lambda_async.config_lookup(self.hooks),
                deliver=sqs.deliver(ACCOUNT_ID, REGION),
                metrics=self.metrics,
                function_arn=lambda_async.function_arn(ACCOUNT_ID, REGION),
                seed=self.seed,
            )
            self.hooks.async_invoker = self.async_lambda
            self.hooks.event_topics = EventTopicPublisher(
                self.client("sns"), self.client("kms"), ACCOUNT_ID
            )
            # Step Functions' own clock (execution TimeoutSeconds), then queued async invokes.
            self.clock.add_listener(self.hooks.sfn.on_clock)
            self.clock.add_listener(self.async_lambda.on_clock)
            if self.template is not None:
                self.stack = build_stack(
                    self.template,
                    self.client,
                    stack_name=self.stack_name,
                    region=REGION,
                    parameters=self.parameters,
                )
                for code in self.stack.functions.values():
                    self.runtime.code_dirs[code.code_sha256] = code.code_dir
                self.runtime.layer_dirs.update(self.stack.layers)
            # CloudWatch evaluates every alarm each minute from the metric data it holds.
            self.alarms = AlarmEvaluator(self.metrics, self.client("cloudwatch"))
            self.clock.add_listener(self.alarms.on_clock)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop everything this Sandbox started (safe to call twice)."""
        if self.hooks is not None:
            registry.uninstall(self.hooks)
            self.hooks = None
        LOADER.restore()
        process_hooks.uninstall()
        self.clock.stop()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self._clients.clear()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}

    # ------------------------------------------------------------------ AWS access
    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=REGION)
        return self._clients[service]

    @property
    def events_put(self) -> list[dict[str, Any]]:
        """Every event accepted on a bus (PutEvents), as EventBridge delivers it, in order."""
        return self.hooks.events_put if self.hooks else []

    @property
    def event_topics(self) -> EventTopicPublisher | None:
        """EventBridge's deliveries to SNS topics (and those refused, with the reason)."""
        return self.hooks.event_topics if self.hooks else None

    @property
    def event_errors(self) -> list[BaseException]:
        """Errors raised while delivering EventBridge events (moto's S3 would hide them)."""
        return self.hooks.event_errors if self.hooks else []

    def start_execution(self, input: dict[str, Any], name: str | None = None) -> str:
        kwargs = {"name": name} if name else {}
        return self.client("stepfunctions").start_execution(
            stateMachineArn=self.stack.state_machine_arn, input=json.dumps(input), **kwargs
        )["executionArn"]

    def wait_for_execution(
        self, arn: str, timeout_wall: float = 60.0, settle: bool = True
    ) -> dict[str, Any]:
        """Poll until the execution ends (it runs on moto's background thread); then, with
        `settle`, let what its ending triggers (status-change event -> async Lambda targets,
        with their retries in simulated time) play out, as a caller polling AWS eventually sees."""
        deadline = time.perf_counter() + timeout_wall
        sfn = self.client("stepfunctions")
        while True:
            seen = self.hooks.sfn.generation if self.hooks is not None else 0
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] in TERMINAL and (
                self.hooks is None or arn in self.hooks.sfn.finished or not settle
            ):
                # (a stopped or timed-out execution's last state finishes in the background:
                # its history is complete, and its side effects done, once the program returns)
                if settle:
                    self.settle()
                return described
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{arn} still {described['status']} after {timeout_wall} s")
            if self.hooks is not None:  # woken when an execution ends (no busy polling)
                self.hooks.sfn.wait_for_change(seen, timeout=0.25)
            else:
                process_hooks._real_sleep(0.002)

    def settle(self, limit_seconds: float = 3600.0) -> None:
        """Run queued asynchronous invocations (and their retries) until none is left."""
        if self.async_lambda is not None:
            self.async_lambda.settle(limit_seconds)

    def stop_execution(self, arn: str, cause: str = "stopped by the sandbox") -> None:
        """StopExecution (the console's Stop button): ABORTED at once; runs no Catch."""
        self.client("stepfunctions").stop_execution(executionArn=arn, error="Stopped", cause=cause)

    @property
    def status_events(self) -> list[dict[str, Any]]:
        """Every `Step Functions Execution Status Change` event emitted so far."""
        return self.hooks.sfn.events if self.hooks else []

    def alias(self, function: str, alias: str) -> dict[str, Any]:
        return self.client("lambda").get_alias(FunctionName=function, Name=alias)

    def publish_version(self, function: str, environment: dict[str, str]) -> str:
        """Merge `environment` into $LATEST's variables and publish (the public API)."""
        lam = self.client("lambda")
        current = lam.get_function_configuration(FunctionName=function)
        self._settle(function)
        variables = {**current.get("Environment", {}).get("Variables", {}), **environment}
        lam.update_function_configuration(
            FunctionName=function, Environment={"Variables": variables}
        )
        self._settle(function)
        return str(lam.publish_version(FunctionName=function)["Version"])

    def put_object(self, bucket: str, key: str, body: bytes | str, **kwargs: Any) -> dict[str, Any]:
        """PutObject; S3 -> EventBridge notifications are delivered synchronously."""
        return self.client("s3").put_object(Bucket=bucket, Key=key, Body=body, **kwargs)

    def add_listener(self, fn: Callable[[datetime, datetime], None]) -> Callable[[], None]:
        return self.clock.add_listener(fn)

    # ------------------------------------------------------------------ internals
    def _settle(self, function: str, limit_seconds: float = 60.0) -> None:
        """Advance simulated time until the function's last update has finished."""
        lam = self.client("lambda")
        waited = 0.0
        while (
            lam.get_function_configuration(FunctionName=function).get("LastUpdateStatus")
            == "InProgress"
            and waited < limit_seconds
        ):
            self.clock.advance(1)
            waited += 1

    def _start_from_event(self, state_machine_arn: str, input_text: str) -> str:
        return self.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, input=input_text
        )["executionArn"]
