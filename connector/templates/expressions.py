"""Conditions and formulas: a small expression language evaluated in Jinja2's sandbox.

An expression may use field keys, numbers, strings, lists, comparisons, ``and/or/not``, ``in``,
arithmetic (no powers), ``x if c else y``, and a few functions and filters. Anything else, and
any name starting with ``_``, is refused when the template is uploaded; at run time the sandbox
also refuses repeated strings and oversized results.
"""

from __future__ import annotations

import decimal
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_EXPRESSION_LENGTH = 500
MAX_STRING_RESULT = 10_000
FUNCTIONS = {"min": min, "max": max, "abs": abs, "round": round, "len": len}
FILTERS = {"round", "abs", "int", "float", "default", "lower", "upper", "length", "trim"}
TESTS = {"defined", "undefined", "none", "number", "string"}
ALLOWED_NODES = (
    nodes.Name,
    nodes.Const,
    nodes.List,
    nodes.Tuple,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Add,
    nodes.Sub,
    nodes.Mul,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Mod,
    nodes.Neg,
    nodes.Pos,
    nodes.CondExpr,
    nodes.Call,
    nodes.Filter,
    nodes.Test,
)


class ExpressionError(Exception):
    """The expression is not allowed or does not parse; the message says why."""


class _Environment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        numbers = (int, float, decimal.Decimal)
        if operator == "*" and not (isinstance(left, numbers) and isinstance(right, numbers)):
            raise SecurityError("only numbers can be multiplied")
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, str | list) and len(result) > MAX_STRING_RESULT:
            raise SecurityError("the result is too long")
        return result


ENVIRONMENT = _Environment()
ENVIRONMENT.globals.clear()
ENVIRONMENT.globals.update(FUNCTIONS)
ENVIRONMENT.filters = {k: v for k, v in ENVIRONMENT.filters.items() if k in FILTERS}
ENVIRONMENT.tests = {k: v for k, v in ENVIRONMENT.tests.items() if k in TESTS}


@dataclass(frozen=True)
class Expression:
    source: str
    names: frozenset[str]

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Evaluate over ``values``; a missing name is None. Errors raise ExpressionError."""
        compiled = _compile(self.source)
        try:
            return compiled(**{k: v for k, v in values.items() if k.isidentifier()})
        except (SecurityError, TypeError, ValueError, ArithmeticError, AttributeError) as err:
            raise ExpressionError(str(err) or type(err).__name__) from err


@functools.lru_cache(maxsize=2048)
def _compile(source: str) -> Any:
    return ENVIRONMENT.compile_expression(source, undefined_to_none=True)


def parse_expression(source: str) -> Expression:
    """Check ``source`` against the allowed language; returns it with the names it reads."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("is empty")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"is longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        parser = Parser(ENVIRONMENT, source, state="variable")
        tree = parser.parse_expression()
        if not parser.stream.eos:
            raise ExpressionError("has something after the expression")
    except TemplateSyntaxError as err:
        raise ExpressionError(f"does not parse: {err.message}") from None
    names: set[str] = set()
    for node in [tree, *tree.find_all(nodes.Node)]:
        _check_node(node, names)
    return Expression(source=source, names=frozenset(names))


def _check_node(node: nodes.Node, names: set[str]) -> None:
    if not isinstance(node, ALLOWED_NODES):
        raise ExpressionError(f"uses {type(node).__name__.lower()}, which is not allowed")
    if isinstance(node, nodes.Name):
        if node.name.startswith("_"):
            raise ExpressionError(f"uses the name {node.name!r}, which is not allowed")
        if node.name not in FUNCTIONS:
            names.add(node.name)
    elif isinstance(node, nodes.Call):
        if not isinstance(node.node, nodes.Name) or node.node.name not in FUNCTIONS:
            raise ExpressionError(f"may only call {', '.join(sorted(FUNCTIONS))}")
        if node.dyn_args is not None or node.dyn_kwargs is not None or node.kwargs:
            raise ExpressionError("may pass only plain arguments to functions")
    elif isinstance(node, nodes.Filter) and node.name not in FILTERS:
        raise ExpressionError(f"uses the filter {node.name!r}, which is not allowed")
    elif isinstance(node, nodes.Test) and node.name not in TESTS:
        raise ExpressionError(f"uses the test {node.name!r}, which is not allowed")
    elif isinstance(node, nodes.Const) and isinstance(node.value, str) and len(node.value) > 200:
        raise ExpressionError("has a string longer than 200 characters")
