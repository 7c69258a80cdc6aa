"""Local emulation of AWS for coalmine: moto + hooks + a simulated clock, in-process."""

from .clock import SimClock
from .runtime import FunctionSpec, Invocation, Runtime
from .sandbox import Sandbox

__all__ = ["FunctionSpec", "Invocation", "Runtime", "Sandbox", "SimClock"]
