"""EventBridge rules delivering to the sandbox's targets: a Step Functions target starts an
execution with the target's input (aws/eventbridge.py), a Lambda target is an asynchronous
invocation with the target's retry policy, an SNS topic is published the input if its policies
let EventBridge (aws/sns.py; moto has no SNS target); errors stay visible (moto's S3 would
swallow them). Other targets are left to moto. Every event put on a bus (PutEvents, accepted
entries) is kept in `MotoHooks.events_put` as EventBridge delivers it (source, detail-type,
detail, resources, time)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..aws.eventbridge import target_input
from .hooks import active, installed

_OURS = (["states"], ["lambda"], ["sns"])


def _send_to_targets(original: Any) -> Any:
    def send(self: Any, event: dict[str, Any], transform_input: bool = True) -> None:
        ours = [t for t in self.targets if t["Arn"].split(":")[2:3] in _OURS]
        if ours and self.state == "ENABLED" and self.event_pattern.matches_event(event):
            hooks = active()
            delivered = {k: v for k, v in event.items() if k != "ingestion-time"}
            for target in ours:
                try:
                    text = target_input(target, delivered, rule_arn=self.arn, rule_name=self.name)
                    service = target["Arn"].split(":")[2]
                    if service == "states":
                        hooks.start_execution(target["Arn"], text)
                    elif service == "sns":
                        if hooks.event_topics is not None:
                            hooks.event_topics.publish(target["Arn"], text, self.arn)
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


def _put_events(original: Any) -> Any:
    def put(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answers: list[dict[str, Any]] = original(self, events)
        hooks = installed()
        if hooks is not None:
            for entry, answer in zip(events, answers, strict=False):
                if "EventId" in answer:
                    hooks.events_put.append(_as_delivered(entry, answer["EventId"]))
        return answers

    return put


def _as_delivered(entry: dict[str, Any], event_id: str) -> dict[str, Any]:
    """A PutEvents entry as EventBridge delivers the event (the fields a rule sees)."""
    try:
        detail = json.loads(entry.get("Detail") or "null")
    except ValueError:
        detail = entry.get("Detail")
    return {
        "id": event_id,
        "source": entry.get("Source"),
        "detail-type": entry.get("DetailType"),
        "resources": list(entry.get("Resources") or []),
        "time": entry.get("Time"),
        "event-bus": entry.get("EventBusName") or "default",
        "detail": detail,
    }


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "Rule.send_to_targets": _send_to_targets,
    "EventsBackend.put_events": _put_events,
}
