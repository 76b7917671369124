"""The example calculator tool: arithmetic evaluated by an AST walk, never by ``eval``.

The plugin guide's calculator calls ``eval`` on model output, which lets a model
(or anyone who can steer one) run arbitrary code. Here the expression is parsed
and only numbers, ``+ - * / // % **``, unary ``+ -`` and parentheses are walked.
Everything that could cost unbounded time or memory is refused up front: long
input, deep nesting, large exponents and results beyond a bit budget.
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from collections.abc import Callable
from typing import Any, NoReturn, TypeAlias

from ..common.errors import ValidationError
from ..common.types import Tool

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_EXPRESSION_CHARS",
    "MAX_INT_BITS",
    "calculator_tool",
    "evaluate",
]

Number: TypeAlias = int | float

MAX_EXPRESSION_CHARS = 500
MAX_DEPTH = 250
"""Deeper trees are refused, keeping the recursive walk well inside Python's recursion limit.

250 lets any chain like ``1+2+...`` that fits in the length limit through.
"""
MAX_EXPONENT = 1000
MAX_INT_BITS = 10_000
"""About 3000 decimal digits: cheap to compute and under Python's int-to-str limit (4300)."""

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_REFUSED: dict[type[ast.AST], str] = {
    ast.Call: "function calls",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators",
    ast.IfExp: "conditional expressions",
    ast.JoinedStr: "f-strings",
}


def evaluate(expression: str) -> Number:
    """The value of an arithmetic expression; anything else raises ValidationError."""
    if not isinstance(expression, str):
        _refuse(f"expression must be a string, got {type(expression).__name__}")
    if len(expression) > MAX_EXPRESSION_CHARS:
        _refuse(f"expression is {len(expression)} characters, over {MAX_EXPRESSION_CHARS}")
    tree = _parse(expression)
    try:
        return _walk(tree.body, 0)
    except RecursionError as exc:  # only when called from an already deep stack
        raise ValidationError("expression nests too deeply", field="expression") from exc


def _parse(expression: str) -> ast.Expression:
    """Parse without letting Python's warnings, or its parser errors, reach the caller."""
    try:
        # The parser warns on odd literals ("1if"); user input should not print warnings.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
        raise ValidationError(
            f"not a valid arithmetic expression: {reason}", field="expression"
        ) from exc


def _walk(node: ast.expr, depth: int) -> Number:
    if depth > MAX_DEPTH:
        _refuse(f"expression nests deeper than {MAX_DEPTH} levels")
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _checked(_UNARY[type(node.op)](_walk(node.operand, depth + 1)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _walk(node.left, depth + 1)
        right = _walk(node.right, depth + 1)
        return _binary(node.op, left, right)
    _refuse(f"not allowed in arithmetic: {_describe(node)}")


def _constant(value: object) -> Number:
    # type() rather than isinstance(): True is an int, and must not count as one.
    if type(value) in (int, float):
        return _checked(value)
    _refuse(f"not allowed in arithmetic: the {type(value).__name__} constant {_short(value)}")


def _binary(op: ast.operator, left: Number, right: Number) -> Number:
    if isinstance(op, ast.Pow):
        _check_power(left, right)
    try:
        return _checked(_BINARY[type(op)](left, right))
    except ZeroDivisionError as exc:
        raise ValidationError("division by zero", field="expression") from exc
    except OverflowError as exc:
        raise ValidationError("number too large for a float", field="expression") from exc


def _check_power(base: Number, exponent: Number) -> None:
    """Refuse a power before computing it when the exponent or the result is too big."""
    if abs(exponent) > MAX_EXPONENT:
        _refuse(f"exponent {exponent} is beyond ±{MAX_EXPONENT}")
    if _int_power_bits(base, exponent) > MAX_INT_BITS:
        _refuse(f"the result of this power would exceed {MAX_INT_BITS} bits")


def _int_power_bits(base: Number, exponent: Number) -> float:
    """About how many bits ``base ** exponent`` needs, for an int result; else 0."""
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
        return exponent * math.log2(abs(base))
    return 0.0


def _checked(value: object) -> Number:
    """Keep every intermediate a finite float or an int within the bit budget."""
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            _refuse(f"number exceeds {MAX_INT_BITS} bits")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            _refuse("number too large (float overflow)")
        return value
    _refuse(f"result is not a real number: {type(value).__name__}")


def _describe(node: ast.AST) -> str:
    """Name the refused construct, so the model (or its user) can see what to change."""
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return f"the operator {type(node.op).__name__}"
    if isinstance(node, ast.Name):
        return f"the name {_short(node.id)}"
    if isinstance(node, ast.Attribute):
        return f"attribute access (.{node.attr})"
    return _REFUSED.get(type(node), f"{type(node).__name__} expressions")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _refuse(message: str) -> NoReturn:
    raise ValidationError(message, field="expression")


def _calculate(expression: str) -> Number:
    return evaluate(expression)


calculator_tool = Tool(
    name="calculator",
    description=(
        "Evaluate an arithmetic expression exactly: numbers, + - * / // % ** and parentheses."
    ),
    parameters={
        "type": "object",
        "properties": {
            "expression": {
                "type": "string",
                "description": "For example: (2 + 3) * 4 ** 2 / 7",
            }
        },
        "required": ["expression"],
    },
    handler=_calculate,
)
