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
    lambda_provisioned,
    s3,
    sfn_costs,
    sfn_history,
    sfn_limits,
    sqs,
    stepfunctions,
)
from .hooks import MotoHooks, activate, deactivate
from .internals import resolve

SFN = "moto.stepfunctions.parser"
ASL = f"{SFN}.asl.component"
LAMBDA_MODELS, LAMBDA_API = "moto.awslambda.models", "moto.awslambda.responses"
LR = "LambdaResponse"
SFN_COPIES = (  # the interpreter's modules whose `copy.deepcopy` copies a state's data
    "eval.states",
    "eval.event.event_manager",
    "component.common.string.string_expression",
    "component.common.path.result_path",
    "component.state.exec.execute_state",
    "component.state.exec.state_task.service.state_task_service",
)
HOOKS: tuple[tuple[str, str], ...] = (
    # Step Functions (stepfunctions.py)
    (f"{ASL}.state.wait.wait_function.wait_function", "WaitFunction._wait_interval"),
    (f"{ASL}.common.retry.retrier_decl", "time"),
    (f"{SFN}.models", "StepFunctionsParserBackend.start_execution"),
    (f"{SFN}.backend.execution", "Execution.start"),
    (f"{SFN}.backend.execution", "Execution.stop"),
    (f"{SFN}.backend.execution", "BaseExecutionWorkerCommunication.terminated"),
    (f"{ASL}.state.exec.state_task.service.state_task_service", "StateTaskService._eval_execution"),
    (
        f"{ASL}.state.exec.state_task.service.state_task_service_callback",
        "StateTaskServiceCallback._eval_wait_for_task_token",
    ),
    ("moto.stepfunctions.responses", "StepFunctionResponse.stop_execution"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.describe_execution"),
    (f"{ASL}.state.exec.state_task.state_task", "StateTask._from_error"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.send_task_failure"),
    # Step Functions: GetExecutionHistory's paging (sfn_history.py)
    ("moto.stepfunctions.responses", "StepFunctionResponse.get_execution_history"),
    # Step Functions: the execution input's size, the history's 25,000 events (sfn_limits.py)
    (f"{SFN}.asl.eval.event.event_manager", "EventManager.add_event"),
    (f"{SFN}.asl.eval.environment", "Environment.set_error"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.start_execution"),
    # Step Functions: copies at C speed, a definition validated once (sfn_costs.py)
    *((f"{SFN}.asl.{name}", "copy") for name in SFN_COPIES),
    (f"{SFN}.models", "StepFunctionsParserBackend._validate_definition"),
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
    # Lambda: provisioned concurrency's URL (lambda_provisioned.py; core.py serves its actions)
    ("moto.awslambda.urls", "url_paths"),
    # S3 notifications (s3.py), SQS (sqs.py)
    ("moto.s3.notifications", "_invoke_awslambda"),
    ("moto.s3.notifications", "_get_s3_event"),
    ("moto.s3.responses", "S3Response._key_response_put"),
    ("moto.sqs.models", "SQSBackend.is_message_valid_based_on_retention_period"),
    ("moto.sqs.models", "SQSBackend.send_message"),
    ("moto.sqs.models", "SQSBackend.get_queue_attributes"),
    ("moto.sqs.models", "Queue.attributes"),
    # CloudWatch (cloudwatch.py), EventBridge (events.py), every API (core.py)
    ("moto.cloudwatch.responses", "CloudWatchResponse.get_metric_data"),
    ("moto.cloudwatch.responses", "CloudWatchResponse.get_metric_statistics"),
    ("moto.events.models", "Rule.send_to_targets"),
    ("moto.events.models", "EventsBackend.put_events"),
    ("moto.core.responses", "BaseResponse.call_action"),
    ("moto.core.responses", "BaseResponse._enrich_response"),
    ("moto.core.responses", "method_names_from_class"),
    ("moto.core.base_backend", "BaseBackend.urls"),
)
READS: tuple[tuple[str, str], ...] = (
    (LAMBDA_MODELS, "lambda_backends"),
    (LAMBDA_MODELS, "LambdaBackend.get_alias"),
    (LAMBDA_MODELS, "LambdaBackend.get_function"),
    (LAMBDA_MODELS, "EventInvokeConfig"),
    ("moto.awslambda.exceptions", "LambdaClientError"),
    ("moto.awslambda.responses", "LambdaResponse.dispatch"),
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
    (f"{SFN}.asl.eval.callback.callback", "CallbackOutcomeTimedOut"),
    (f"{SFN}.asl.eval.callback.callback", "HeartbeatTimedOut"),
    (f"{SFN}.asl.eval.callback.callback", "HeartbeatEndpoint"),
    (f"{SFN}.asl.eval.callback.callback", "HeartbeatTimeoutError"),
    (f"{ASL}.common.error_name.states_error_name_type", "StatesErrorNameType"),
    (f"{ASL}.common.error_name.states_error_name", "StatesErrorName"),
    ("moto.core.responses", "EmptyResult"),
    (f"{SFN}.asl.eval.callback.callback", "CallbackEndpoint.get_outcome"),
    ("moto.stepfunctions.exceptions", "InvalidToken"),
    ("moto.stepfunctions.exceptions", "ValidationException"),
    ("moto.s3.exceptions", "S3ClientError"),
    (f"{SFN}.asl.eval.event.event_manager", "EventManager"),
    # the HTTP endpoint of `coalmine sandbox serve` (server.py)
    ("moto.core.models", "botocore_stubber"),
    ("moto.core.botocore_stubber", "BotocoreStubber.process_request"),
)
FACTORIES: dict[str, Callable[[Any], Any]] = {
    **stepfunctions.FACTORIES,
    **sfn_history.FACTORIES,
    **sfn_limits.FACTORIES,
    **sfn_costs.FACTORIES,
    **awslambda.FACTORIES,
    **lambda_config.FACTORIES,
    **lambda_async.FACTORIES,
    **lambda_provisioned.FACTORIES,
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
        # what the class itself holds (a staticmethod stays one once restored)
        raw = vars(owner).get(attr, original) if isinstance(owner, type) else original
        hooks.saved.append((owner, attr, raw))
        replacement = _replacement(dotted, original)
        if isinstance(raw, staticmethod):
            replacement = staticmethod(replacement)
        setattr(owner, attr, replacement)
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
