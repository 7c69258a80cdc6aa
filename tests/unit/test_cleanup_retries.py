"""Cleanup keeps trying at least as long as Rollback, and its last failure says how to finish."""

from __future__ import annotations

import pytest

from coalmine import cleanup_retries
from coalmine.exceptions import AwsThrottled, RollbackFailed


def test_a_transient_failure_is_retried_until_it_passes() -> None:
    answers = iter([AwsThrottled("t"), AwsThrottled("t"), "done"])
    slept: list[float] = []

    def attempt() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert cleanup_retries.persist(attempt, 840, slept.append, lambda e, d: None) == "done"
    assert slept == [5.0, 10.0]


def test_it_gives_up_only_when_the_budget_is_spent() -> None:
    slept: list[float] = []

    def attempt() -> str:
        raise AwsThrottled("still throttled")

    with pytest.raises(AwsThrottled):
        cleanup_retries.persist(attempt, 840, slept.append, lambda e, d: None)
    assert 780 <= sum(slept) <= 840  # one invocation; Lambda's two async retries add two more
    assert 3 * sum(slept) >= 25 * 60  # together at least as long as Rollback retries


@pytest.mark.parametrize(
    "error",
    [
        AwsThrottled("DynamoDB throttled a request on the lock table"),
        RollbackFailed(
            "could not put brand-api:prod back wholly on version 1: x. Finish by hand: aws lambda "
            "update-alias --function-name brand-api --name prod --function-version 1 "
            "--routing-config AdditionalVersionWeights={}"
        ),
    ],
)
def test_the_last_failure_names_the_alias_and_the_commands(error: Exception) -> None:
    text = cleanup_retries.gave_up("brand-api", "prod", "exec-1", "locks", error)
    assert "brand-api:prod" in text
    assert (
        "aws lambda update-alias --function-name brand-api --name prod --function-version" in text
    )
    assert "aws dynamodb delete-item --table-name locks" in text
