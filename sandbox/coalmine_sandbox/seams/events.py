"""EventBridge rules delivering to the sandbox's targets: a Step Functions target starts an
execution with the target's input (aws/eventbridge.py), a Lambda target is an asynchronous
invocation with the target's retry policy; errors stay visible (moto's S3 would swallow them).
Other targets are left to moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..aws.eventbridge import target_input
from .hooks import active


def _send_to_targets(original: Any) -> Any:
    def send(self: Any, event: dict[str, Any], transform_input: bool = True) -> None:
        ours = [t for t in self.targets if t["Arn"].split(":")[2:3] in (["states"], ["lambda"])]
        if ours and self.state == "ENABLED" and self.event_pattern.matches_event(event):
            hooks = active()
            delivered = {k: v for k, v in event.items() if k != "ingestion-time"}
            for target in ours:
                try:
                    text = target_input(target, delivered, rule_arn=self.arn, rule_name=self.name)
                    if target["Arn"].split(":")[2] == "states":
                        hooks.start_execution(target["Arn"], text)
                    elif hooks.async_invoker is not None:  # Lambda: an asynchronous invocation
                        retries = (target.get("RetryPolicy") or {}).get("MaximumRetryAttempts", 2)
                        hooks.async_invoker.submit(target["Arn"], json.loads(text), int(retries))
                except Exception as exc:  # moto's S3 swallows errors: keep them visible
                    hooks.event_errors.append(exc)
                    raise
        others = [t for t in self.targets if t not in ours]
        if others:
            saved, self.targets = self.targets, others
            try:
                original(self, event, transform_input)
            finally:
                self.targets = saved

    return send


FACTORIES: dict[str, Callable[[Any], Any]] = {"Rule.send_to_targets": _send_to_targets}
