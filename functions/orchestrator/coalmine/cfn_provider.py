"""The ``Custom::CoalmineAlias`` provider's steps (handlers/coalmine_alias.py): the decisions
are coalmine/custom_resource.py's; this runs them against the adapters it is handed.

- ``on_request``: a CloudFormation request -> an answer at once (Delete; Create; a revert; a
  refused request; an error), or a deployment started whose end answers.
- ``on_end``: a deployment's end (its ``Step Functions Execution Status Change`` event) -> the
  answer its ``callback`` asks for, once (AnswerClaims), whatever the ending: promoted, rolled
  back, aborted, failed in Prepare, stopped from the console, timed out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from coalmine import custom_resource as cr
from coalmine.exceptions import AliasChangedOutOfBand, ResourceNotFound
from coalmine.models import AliasState
from coalmine.observability import logger

DESCRIPTION = "coalmine: Custom::CoalmineAlias"
#: pointing the alias (Create, a revert) is conditional on the revision read: a concurrent change
#: (Cleanup restoring a stopped deployment's alias) makes it look again, this many times at most
POINT_ATTEMPTS = 3


class Aliases(Protocol):
    def get_alias(self, function_name: str, alias: str) -> AliasState: ...
    def put_alias(self, function_name: str, alias: str, version: str, description: str) -> None: ...


class Claims(Protocol):
    def claim(self, key: str, status: str, execution: str) -> bool: ...
    def unclaim(self, key: str) -> None: ...


@dataclass
class Ports:
    aliases: Aliases
    start: Callable[[str, str], str]  # (execution name, input JSON) -> execution ARN
    put: Callable[[str, bytes], int]  # (ResponseURL, body) -> HTTP status
    claims: Claims
    read_input: Callable[[str], str]  # execution ARN -> its input JSON


def on_request(event: Any, ports: Ports) -> dict[str, Any]:
    """Answer (or start the deployment that will); a crash answers FAILED with its message."""
    request = cr.parse(event)  # Refused: nowhere to answer, the invocation fails (logged)
    try:
        outcome = _respond(request, ports)
    except cr.Refused as refused:
        outcome = cr.Answer(cr.FAILED, refused.reason, _physical(request))
    except Exception as error:  # never leave the stack waiting
        logger.exception("provider error")
        reason = f"coalmine provider error: {type(error).__name__}: {error}"
        outcome = cr.Answer(cr.FAILED, reason, _physical(request))
        if not _first_answer(request, ports):  # a deployment did start, and has answered
            return {"status": "already answered", "reason": reason}
    if isinstance(outcome, str):
        logger.info("deployment started", extra={"executionArn": outcome})
        return {"started": outcome}
    ports.put(request.response_url, cr.answer_body(request, outcome))
    logger.info("answered", extra={"status": outcome.status, "reason": outcome.reason})
    return {"status": outcome.status, "reason": outcome.reason}


def on_end(detail: dict[str, Any], ports: Ports) -> dict[str, Any]:
    """A deployment's end: answer its CloudFormation request, once (none: not ours)."""
    text = detail.get("input") or ports.read_input(str(detail["executionArn"]))
    document = json.loads(text) if text else {}
    hook = document.get("callback") if isinstance(document, dict) else None
    if not isinstance(hook, dict):
        return {"answered": False, "why": "no callback"}
    status, reason = cr.ended(
        str(detail.get("status")), detail.get("error"), detail.get("cause"), detail.get("output")
    )
    key = cr.ANSWERED_PREFIX + str(hook["requestId"])
    if not ports.claims.claim(key, status, str(detail.get("executionArn"))):
        logger.info("already answered", extra={"requestId": hook["requestId"]})
        return {"answered": False, "why": "already answered"}
    props = cr.AliasProperties(
        str(document.get("functionName")),
        str(document.get("alias")),
        str(hook.get("functionVersion") or document.get("targetVersion")),
    )
    body = cr.response(
        status=status,
        reason=reason,
        physical_id=str(hook["physicalResourceId"]),
        stack_id=str(hook["stackId"]),
        request_id=str(hook["requestId"]),
        logical_id=str(hook["logicalResourceId"]),
        data=cr.data(props) if status == cr.SUCCESS else None,
    )
    try:
        http = ports.put(str(hook["responseUrl"]), body)
    except Exception:
        ports.claims.unclaim(key)  # the retried invocation answers
        raise
    if http >= 400:  # the URL expired (CloudFormation gave up waiting): nobody to tell
        logger.warning("CloudFormation no longer takes this answer", extra={"http": http})
        return {"answered": False, "why": f"ResponseURL answered HTTP {http}", "status": status}
    logger.info("answered at the end", extra={"status": status, "reason": reason})
    return {"answered": True, "status": status, "reason": reason}


def _respond(request: cr.Request, ports: Ports) -> cr.Answer | str:
    if request.request_type == "Delete":  # never refused, never touches the function
        deleted = cr.decide(request, None, {})
        assert isinstance(deleted, cr.Answer)
        return deleted
    props = cr.alias_properties(request.properties)
    body = cr.checked(props)
    for attempt in range(1, POINT_ATTEMPTS + 1):
        decision = cr.decide(request, _alias(ports, props), body)
        if isinstance(decision, cr.Answer):
            return decision
        if isinstance(decision, cr.StartDeployment):
            return ports.start(decision.execution_name, json.dumps(decision.execution_input))
        try:
            version = decision.props.function_version
            ports.aliases.put_alias(props.function_name, props.alias_name, version, DESCRIPTION)
        except AliasChangedOutOfBand:  # e.g. Cleanup restoring it meanwhile: look again
            if attempt == POINT_ATTEMPTS:
                raise
            logger.info("alias changed while pointing it; deciding again")
            continue
        return cr.Answer(cr.SUCCESS, decision.why, props.physical_id, cr.data(props))
    raise AssertionError("unreachable")  # pragma: no cover


def _alias(ports: Ports, props: cr.AliasProperties) -> AliasState | None:
    try:
        return ports.aliases.get_alias(props.function_name, props.alias_name)
    except ResourceNotFound:
        return None


def _first_answer(request: cr.Request, ports: Ports) -> bool:
    """Claim the request's answer before a crash's FAILED (an execution may have started before
    the error, e.g. StartExecution's response lost: its end then stays silent). A claim that
    cannot be made is no reason to stay silent: True."""
    try:
        return ports.claims.claim(cr.ANSWERED_PREFIX + request.request_id, cr.FAILED, "")
    except Exception:
        logger.exception("could not claim the answer; answering anyway")
        return True


def _physical(request: cr.Request) -> str:
    return cr.fallback_physical_id(request)
