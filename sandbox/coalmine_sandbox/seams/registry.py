"""Every seam the sandbox opens in moto (pinned: moto==5.2.5), in one table.

HOOKS lists each attribute replaced (module, dotted name); READS each internal name read.
tests/sandbox/test_moto_hooks.py checks that every one still exists and every hook has a
replacement. `install` replaces them all (and activates the hooks); `uninstall` puts back the
originals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import (
    awslambda,
    cloudwatch,
    core,
    events,
    lambda_async,
    lambda_config,
    s3,
    sqs,
    stepfunctions,
)
from .hooks import MotoHooks, activate, deactivate
from .internals import resolve

SFN = "moto.stepfunctions.parser"
ASL = f"{SFN}.asl.component"
LAMBDA_MODELS, LAMBDA_API = "moto.awslambda.models", "moto.awslambda.responses"
LR = "LambdaResponse"
HOOKS: tuple[tuple[str, str], ...] = (
    # Step Functions (stepfunctions.py)
    (f"{ASL}.state.wait.wait_function.wait_function", "WaitFunction._wait_interval"),
    (f"{ASL}.common.retry.retrier_decl", "time"),
    (f"{SFN}.models", "StepFunctionsParserBackend.start_execution"),
    (f"{SFN}.backend.execution", "Execution.start"),
    (f"{SFN}.backend.execution", "Execution.stop"),
    (f"{SFN}.backend.execution", "BaseExecutionWorkerCommunication.terminated"),
    (f"{ASL}.state.exec.state_task.service.state_task_service", "StateTaskService._eval_execution"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.stop_execution"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.describe_execution"),
    # Lambda: Invoke (awslambda.py)
    (LAMBDA_MODELS, "LambdaFunction._invoke_lambda"),
    (LAMBDA_MODELS, "LambdaBackend.invoke"),
    (LAMBDA_API, f"{LR}.invoke"),
    # Lambda: the control plane (lambda_config.py)
    (LAMBDA_MODELS, "LambdaFunction.get_configuration"),
    (LAMBDA_MODELS, "LambdaFunction.update_configuration"),
    (LAMBDA_MODELS, "LambdaFunction.update_function_code"),
    (LAMBDA_MODELS, "LambdaAlias.update"),
    (LAMBDA_MODELS, "LambdaStorage.publish_version"),
    (LAMBDA_API, f"{LR}.create_alias"),
    (LAMBDA_API, f"{LR}.update_alias"),
    (LAMBDA_API, f"{LR}.publish_version"),
    (LAMBDA_API, f"{LR}.update_function_configuration"),
    (LAMBDA_API, f"{LR}.update_function_code"),
    # Lambda: event invoke configs (lambda_async.py)
    (LAMBDA_API, f"{LR}.put_function_event_invoke_config"),
    (LAMBDA_API, f"{LR}.update_function_event_invoke_config"),
    (LAMBDA_API, f"{LR}.get_function_event_invoke_config"),
    (LAMBDA_API, f"{LR}.delete_function_event_invoke_config"),
    (LAMBDA_API, f"{LR}.list_function_event_invoke_configs"),
    # S3 notifications (s3.py), SQS (sqs.py)
    ("moto.s3.notifications", "_invoke_awslambda"),
    ("moto.s3.notifications", "_get_s3_event"),
    ("moto.sqs.models", "SQSBackend.is_message_valid_based_on_retention_period"),
    # CloudWatch (cloudwatch.py), EventBridge (events.py), every API (core.py)
    ("moto.cloudwatch.responses", "CloudWatchResponse.get_metric_data"),
    ("moto.cloudwatch.responses", "CloudWatchResponse.get_metric_statistics"),
    ("moto.events.models", "Rule.send_to_targets"),
    ("moto.core.responses", "BaseResponse.call_action"),
)
READS: tuple[tuple[str, str], ...] = (
    (LAMBDA_MODELS, "lambda_backends"),
    (LAMBDA_MODELS, "LambdaBackend.get_alias"),
    (LAMBDA_MODELS, "LambdaBackend.get_function"),
    (LAMBDA_MODELS, "EventInvokeConfig"),
    ("moto.awslambda.exceptions", "LambdaClientError"),
    ("moto.awslambda.exceptions", "InvalidParameterValueException"),
    ("moto.awslambda.exceptions", "PreconditionFailedException"),
    ("moto.awslambda.exceptions", "UnknownEventConfig"),
    ("moto.core.responses", "ActionResult"),
    ("moto.core.responses", "BaseResponse._get_params"),
    ("moto.core.responses", "BaseResponse._get_action"),
    ("moto.core.responses", "BaseResponse.serialized"),
    ("moto.core.exceptions", "ServiceException"),
    ("moto.core.utils", "unix_time"),
    ("moto.s3.models", "s3_backends"),
    ("moto.sqs.models", "sqs_backends"),
    ("moto.sqs.models", "SQSBackend.send_message"),
    ("moto.sqs.models", "SQSBackend.get_queue"),
    ("moto.events.models", "events_backends"),
    ("moto.events.models", "EventsBackend.put_events"),
    (f"{SFN}.asl.eval.environment", "Environment.is_running"),
    (f"{SFN}.asl.eval.environment", "Environment.set_timed_out"),
    (f"{SFN}.asl.eval.environment", "Environment.set_stop"),
    (f"{ASL}.common.timeouts.timeout", "EvalTimeoutError"),
)
FACTORIES: dict[str, Callable[[Any], Any]] = {
    **stepfunctions.FACTORIES,
    **awslambda.FACTORIES,
    **lambda_config.FACTORIES,
    **lambda_async.FACTORIES,
    **s3.FACTORIES,
    **sqs.FACTORIES,
    **cloudwatch.FACTORIES,
    **events.FACTORIES,
    **core.FACTORIES,
}


def install(hooks: MotoHooks) -> None:
    """Replace every hooked attribute and make `hooks` the active ones."""
    activate(hooks)
    for module_name, dotted in HOOKS:
        owner, attr, original = resolve(module_name, dotted)
        hooks.saved.append((owner, attr, original))
        setattr(owner, attr, _replacement(dotted, original))
    hooks.runtime.view = hooks


def uninstall(hooks: MotoHooks) -> None:
    for owner, attr, original in reversed(hooks.saved):
        setattr(owner, attr, original)
    hooks.saved.clear()
    deactivate(hooks)


def _replacement(dotted: str, original: Any) -> Any:
    if dotted == "time":  # a module attribute, not a function: Retry's back-off sleeps with it
        return stepfunctions.retrier_time()
    return FACTORIES[dotted](original)
