"""The safe calculator: right on arithmetic, and refuses everything else with ValidationError."""

from __future__ import annotations

import inspect
import math
import operator
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import claif.tools
from claif.common.errors import ValidationError
from claif.tools import _calculator as calculator
from claif.tools import calculator_tool
from claif.tools._calculator import MAX_EXPONENT, MAX_EXPRESSION_CHARS, MAX_INT_BITS, evaluate

# -- a reference: Python's own operators applied to a generated tree ---------------------

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}


class OutOfBounds(Exception):
    """The reference met a value the calculator must refuse."""


leaves = st.integers(-50, 50) | st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
trees = st.recursive(
    leaves,
    lambda inner: (
        st.tuples(st.sampled_from(sorted(_OPS)), inner, inner)
        | st.tuples(st.sampled_from(["-", "+"]), inner)
    ),
    max_leaves=8,
)


def render(tree: Any) -> str:
    if not isinstance(tree, tuple):
        text = repr(tree)
        return f"({text})" if text.startswith("-") else text  # so -2 ** 2 keeps its meaning
    if len(tree) == 2:
        return f"({tree[0]}{render(tree[1])})"
    op, left, right = tree
    return f"({render(left)} {op} {render(right)})"


def reference(tree: Any) -> Any:
    if not isinstance(tree, tuple):
        return tree
    if len(tree) == 2:
        return bounded(-reference(tree[1]) if tree[0] == "-" else +reference(tree[1]))
    op, left, right = tree
    a, b = reference(left), reference(right)
    if op == "**" and too_big_to_compute(a, b):
        raise OutOfBounds
    try:
        return bounded(_OPS[op](a, b))
    except (ZeroDivisionError, OverflowError) as exc:
        raise OutOfBounds from exc


def too_big_to_compute(base: Any, exponent: Any) -> bool:
    """Far beyond the documented bounds: not worth computing to find out."""
    if abs(exponent) > MAX_EXPONENT:
        return True
    return (
        isinstance(base, int)
        and abs(base) > 1
        and exponent * math.log2(abs(base)) > 2 * MAX_INT_BITS
    )


def bounded(value: Any) -> Any:
    if isinstance(value, complex):
        raise OutOfBounds
    if isinstance(value, float) and not math.isfinite(value):
        raise OutOfBounds
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise OutOfBounds
    return value


# -- arithmetic ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 % 3", 2),
        ("2 ** 10", 1024),
        ("2 ** -2", 0.25),
        ("-2 ** 2", -4),
        ("+-+3", -3),
        ("1.5e3 + 0.5", 1500.5),
        ("1_000 * 2", 2000),
        ("  6 * 7  ", 42),
    ],
)
def test_evaluates_arithmetic(expression, expected):
    """Numbers and + - * / // % ** with Python's precedence give Python's result."""
    result = evaluate(expression)
    assert result == expected
    assert type(result) is type(expected)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_matches_python_arithmetic_on_generated_expressions(tree):
    """A generated expression evaluates as Python computes it, or is refused only for bounds."""
    text = render(tree)
    try:
        expected = reference(tree)
    except OutOfBounds:
        with pytest.raises(ValidationError):
            evaluate(text)
        return
    result = evaluate(text)
    assert result == expected
    assert type(result) is type(expected)


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("__import__('os')", "function calls"),
        ("().__class__", "attribute access (.__class__)"),
        ("(1).__class__.__bases__", "attribute access"),
        ("x", "the name 'x'"),
        ("abs(1)", "function calls"),
        ("'a' * 3", "str constant"),
        ("True + 1", "bool constant"),
        ("1j", "complex constant"),
        ("None", "NoneType constant"),
        ("[1][0]", "subscripts"),
        ("[x for x in (1,)]", "comprehensions"),
        ("lambda: 1", "lambda"),
        ("1 < 2", "comparisons"),
        ("1 and 2", "boolean operators"),
        ("1 if 1 else 2", "conditional expressions"),
        ("1 << 100", "the operator LShift"),
        ("~1", "the operator Invert"),
        ("f'{1}'", "f-strings"),
    ],
)
def test_refuses_what_is_not_arithmetic(expression, named):
    """Names, calls, attributes, strings, bools and other non-arithmetic are refused by name."""
    with pytest.raises(ValidationError, match=re.escape(named)) as caught:
        evaluate(expression)
    assert caught.value.field == "expression"


@pytest.mark.parametrize("expression", ["9**9**9", "10**10**10", "(10**1000)**1000", "2**100000"])
def test_refuses_huge_powers_without_computing_them(expression):
    """Powers beyond the exponent or bit budget are refused in well under a second."""
    started = time.perf_counter()
    with pytest.raises(ValidationError):
        evaluate(expression)
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(
    "expression",
    ["1 / 0", "1 // 0", "1 % 0", "0 ** -1", "1.0 / 0.0"],
)
def test_refuses_division_by_zero(expression):
    """Division by zero is a ValidationError, not a ZeroDivisionError."""
    with pytest.raises(ValidationError, match="division by zero"):
        evaluate(expression)


@pytest.mark.parametrize(
    "expression",
    ["1e999", "1e308 * 10", "2.5 ** 1000", "10 ** 400 / 3", "10 ** 400 + 0.5", "(-8) ** 0.5"],
)
def test_refuses_overflow_and_complex_results(expression):
    """A float overflow or a complex result is a ValidationError, never inf or a complex."""
    with pytest.raises(ValidationError):
        evaluate(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "(" * 500 + "1" + ")" * 500,
        "(" * 240 + "1" + ")" * 240,
        "-" * 450 + "1",
        "[" * 300,
    ],
)
def test_refuses_deep_nesting(expression):
    """Deep nesting is a ValidationError, never a RecursionError, MemoryError or SyntaxError."""
    with pytest.raises(ValidationError):
        evaluate(expression)


def test_allows_a_long_flat_chain():
    """A chain of additions as long as the length limit allows still evaluates."""
    expression = "1+" * ((MAX_EXPRESSION_CHARS - 1) // 2) + "1"
    assert evaluate(expression) == (MAX_EXPRESSION_CHARS - 1) // 2 + 1


def test_refuses_overlong_input():
    """Input over the length limit is refused before parsing."""
    with pytest.raises(ValidationError, match="characters"):
        evaluate("1" + " " * MAX_EXPRESSION_CHARS)


@pytest.mark.parametrize("expression", ["", "1 +", "1; import os", "1\x00"])
def test_refuses_invalid_syntax(expression):
    """Text that does not parse is a ValidationError, not a SyntaxError."""
    with pytest.raises(ValidationError, match="not a valid arithmetic expression"):
        evaluate(expression)


def test_refuses_a_non_string():
    """Only a string is an expression."""
    with pytest.raises(ValidationError, match="must be a string"):
        evaluate(42)  # type: ignore[arg-type]


arithmetic_like_text = st.text(alphabet="0123456789.eEjx_+-*/%()[]~<'\" ", max_size=120)


@settings(max_examples=600, deadline=None)
@given(st.text(max_size=MAX_EXPRESSION_CHARS + 20) | arithmetic_like_text)
def test_arbitrary_text_raises_only_validation_error(text):
    """Any text at all yields a number or a ValidationError, nothing else."""
    try:
        result = evaluate(text)
    except ValidationError:
        return
    assert type(result) in (int, float)


def test_source_never_calls_eval_exec_or_compile():
    """The calculator module contains no call of eval, exec or compile."""
    source = inspect.getsource(calculator)
    assert not re.search(r"\b(eval|exec|compile)\s*\(", source)


# -- the Tool --------------------------------------------------------------------------------


def test_calculator_tool_describes_itself():
    """The tool is named calculator and takes one required string, expression."""
    assert calculator_tool.name == "calculator"
    assert calculator_tool.description
    assert calculator_tool.parameters["type"] == "object"
    assert calculator_tool.parameters["properties"]["expression"]["type"] == "string"
    assert calculator_tool.parameters["required"] == ["expression"]


def test_calculator_tool_handler_evaluates():
    """The handler takes ``expression`` and returns the number."""
    assert calculator_tool.handler is not None
    assert calculator_tool.handler(expression="6 * 7") == 42


def test_tools_all_is_sorted():
    """claif.tools exports a sorted __all__ of names it really has."""
    assert claif.tools.__all__ == sorted(claif.tools.__all__)
    assert all(hasattr(claif.tools, name) for name in claif.tools.__all__)
