"""The seams that keep moto's per-call cost independent of how much it holds answer exactly what
moto answered: GetExecutionHistory pages (and every event without paging), SQS sends (FIFO
deduplication, queue counts), XML request ids, Step Functions' copies of the data; the
rehearsal's incremental history reader returns every event once."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from coalmine_sandbox import Sandbox
from coalmine_sandbox.seams.sfn_costs import deep_copy
from coalmine_sandbox.world.history_tail import HistoryTail

STATES = 60  # 122 events: more than a default page


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(template=None) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def execution(sb: Sandbox) -> str:
    states: dict[str, Any] = {
        f"S{i}": {
            "Type": "Pass",
            "Result": {"step": i},
            "ResultPath": f"$.s{i}",
            "Next": f"S{i + 1}",
        }
        for i in range(STATES)
    }
    states[f"S{STATES - 1}"].pop("Next")
    states[f"S{STATES - 1}"]["End"] = True
    sfn = sb.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="passes",
        definition=json.dumps({"StartAt": "S0", "States": states}),
        roleArn="arn:aws:iam::123456789012:role/passes",
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input='{"doc": [1, 2]}')["executionArn"]
    assert sb.wait_for_execution(arn)["status"] == "SUCCEEDED"
    return arn


def _pages(sb: Sandbox, arn: str, **kwargs: Any) -> list[list[dict[str, Any]]]:
    sfn, pages = sb.client("stepfunctions"), []
    request: dict[str, Any] = {"executionArn": arn, **kwargs}
    while True:
        page = sfn.get_execution_history(**request)
        pages.append(page["events"])
        if not page.get("nextToken"):
            return pages
        request["nextToken"] = page["nextToken"]


def test_a_history_request_without_paging_gets_every_event_in_order(
    sb: Sandbox, execution: str
) -> None:
    # Given a finished execution of 60 Pass states
    # When its history is asked for without maxResults, nextToken or reverseOrder
    pages = _pages(sb, execution)
    # Then one answer holds every event, oldest first
    assert len(pages) == 1
    ids = [event["id"] for event in pages[0]]
    assert ids == list(range(1, len(ids) + 1))
    assert len(ids) == 2 * STATES + 2  # entered/exited per state, started, succeeded


def test_history_pages_hold_max_results_events_and_chain_by_next_token(
    sb: Sandbox, execution: str
) -> None:
    (everything,) = _pages(sb, execution)
    # When it is read 5 events at a time
    pages = _pages(sb, execution, maxResults=5)
    # Then every page but the last holds 5, and together they are the whole history
    assert [len(page) for page in pages[:-1]] == [5] * (len(everything) // 5)
    assert [event for page in pages for event in page] == everything


def test_reverse_order_pages_start_from_the_newest_event(sb: Sandbox, execution: str) -> None:
    (everything,) = _pages(sb, execution)
    pages = _pages(sb, execution, maxResults=7, reverseOrder=True)
    assert [event for page in pages for event in page] == everything[::-1]
    assert pages[0][0]["type"] == "ExecutionSucceeded"


def test_max_results_zero_is_the_default_page_of_100(sb: Sandbox, execution: str) -> None:
    (everything,) = _pages(sb, execution)
    page = sb.client("stepfunctions").get_execution_history(executionArn=execution, maxResults=0)
    assert page["events"] == everything[:100]
    assert page["nextToken"]


def test_a_token_that_was_never_given_is_refused(sb: Sandbox, execution: str) -> None:
    with pytest.raises(ClientError) as raised:
        sb.client("stepfunctions").get_execution_history(
            executionArn=execution, maxResults=5, nextToken="not-a-token"
        )
    assert raised.value.response["Error"]["Code"] == "InvalidToken"


def test_a_fifo_queue_still_deduplicates_by_content_and_counts_its_messages(
    sb: Sandbox,
) -> None:
    sqs = sb.client("sqs")
    fifo = sqs.create_queue(
        QueueName="dedup.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    plain = sqs.create_queue(QueueName="plain")["QueueUrl"]
    # When the same body is sent twice to each
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
        sqs.send_message(QueueUrl=plain, MessageBody="same")

    # Then the FIFO queue kept one, the standard queue both, and the counts say so
    def depth(url: str) -> int:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    assert (depth(fifo), depth(plain)) == (1, 2)
    # and once one is received, every count asked for at once is right
    sqs.receive_message(QueueUrl=plain, MaxNumberOfMessages=1)
    counts = sqs.get_queue_attributes(QueueUrl=plain, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "1"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"
    # and a FIFO queue without content-based deduplication still wants a deduplication id
    strict = sqs.create_queue(QueueName="strict.fifo", Attributes={"FifoQueue": "true"})
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=strict["QueueUrl"], MessageBody="x", MessageGroupId="g")


def test_an_xml_answer_carries_the_request_id_of_its_headers(sb: Sandbox) -> None:
    metadata = sb.client("iam").list_roles()["ResponseMetadata"]
    assert metadata["RequestId"] == metadata["HTTPHeaders"]["x-amzn-requestid"]
    assert len(metadata["RequestId"]) == 52


def test_the_json_copier_copies_like_deepcopy() -> None:
    value = {"a": [1, 2.5, {"b": None, "c": True}], "d": "text", "e": {"f": [[]]}, "g": {1, 2}}
    copied = deep_copy(value)
    assert copied == copy.deepcopy(value)
    copied["a"][2]["b"] = "changed"
    copied["g"].add(3)
    assert value["a"][2]["b"] is None
    assert value["g"] == {1, 2}


class _GrowingHistory:
    """GetExecutionHistory (reverseOrder pages) over a history that grows between reads."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.requests = 0

    def grow(self, count: int) -> None:
        start = len(self.events) + 1
        self.events += [{"id": i, "type": "PassStateEntered"} for i in range(start, start + count)]

    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["reverseOrder"] is True
        self.requests += 1
        offset, size = int(kwargs.get("nextToken", 0)), kwargs["maxResults"]
        newest_first = self.events[::-1]
        page: dict[str, Any] = {"events": newest_first[offset : offset + size]}
        if offset + size < len(newest_first):
            page["nextToken"] = str(offset + size)
        return page


def test_the_history_tail_returns_each_event_once_in_order() -> None:
    history = _GrowingHistory()
    tail = HistoryTail(history, "arn")
    history.grow(60)  # more than a first page
    first = tail.new_events()
    history.grow(7)
    second = tail.new_events()
    third = tail.new_events()
    assert [e["id"] for e in first] == list(range(1, 61))
    assert [e["id"] for e in second] == list(range(61, 68))
    assert third == []
    assert [e["id"] for e in tail.events] == list(range(1, 68))


def test_a_bad_definition_is_refused_every_time(sb: Sandbox) -> None:
    sfn = sb.client("stepfunctions")
    for name in ("bad-1", "bad-2"):
        with pytest.raises(ClientError) as raised:
            sfn.create_state_machine(
                name=name,
                definition='{"StartAt": "Nowhere", "States": {"X": {"Type": "Bogus"}}}',
                roleArn="arn:aws:iam::123456789012:role/passes",
            )
        # (moto answers InvalidDefinition with an empty error code, the parser's message)
        assert "ASLParserException" in raised.value.response["Error"]["Message"]
