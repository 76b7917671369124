"""Tools the model may call: the loop that runs them, and a safe example calculator."""

from ._calculator import calculator_tool
from ._loop import ToolLoopResult, run_tool_loop

__all__ = [
    "ToolLoopResult",
    "calculator_tool",
    "run_tool_loop",
]
