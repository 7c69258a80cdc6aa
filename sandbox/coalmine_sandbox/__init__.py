"""Local emulation of AWS for coalmine: moto + seams + a simulated clock, in-process.

Three parts, each importing only the ones below it (pyproject.toml's [tool.importlinter]):
`world/` (scenarios, samples, traffic, rehearsals, soak, invariants) -> `sandbox.py` (the
`Sandbox` assembly) -> `seams/` (the only package importing moto) -> `aws/` (the emulated
services) -> `resources.py` (where template.yaml, scenarios and events are).
"""

from .aws.awslambda.invocation import FunctionSpec, Invocation
from .aws.awslambda.runtime import Runtime
from .aws.clock import SimClock
from .sandbox import Sandbox

__all__ = ["FunctionSpec", "Invocation", "Runtime", "Sandbox", "SimClock"]
