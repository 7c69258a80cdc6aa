"""Emulated AWS: the services coalmine's state machine, handlers and samples talk to, in-process.

Lambda (awslambda/: the runtime running real handlers, code packages, alias routing, reserved
concurrency, asynchronous invocation and destinations), CloudWatch (cloudwatch/: metrics,
statistics, GetMetricData/GetMetricStatistics, alarms), CloudFormation (cloudformation/:
template.yaml stood up through the service APIs), EventBridge target input, the simulated clock
and fault injection at the AWS API.

Imports nothing from `seams` (the moto seams) nor `world` (the rehearsal world), and not moto:
what moto must be told is said by the seams, which import this package.
"""
