"""Bicep rendered offline: the deployment a set of parameter values would make, as far as it can be
known without Azure.

Files are read with tree-sitter-bicep (which, unlike pycep, tells a literal 'x' from a symbol x).
A `Scope` is one file deployed with given parameter values; it evaluates parameters, variables,
conditions, resource bodies and module parameters on demand, and opens the scopes of the modules it
deploys. What only Azure knows (a resource's id or keys, uniqueString, the resource group) evaluates
to an `Unknown` that says what it stands for and which resources it reads. Conditions that depend on
an Unknown stay Unknown; the checks report them rather than guess.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import tree_sitter
import tree_sitter_bicep

from .arm_functions import OPAQUE_FUNCTIONS, binary, call, text

Node = tree_sitter.Node


@dataclass(frozen=True)
class Unknown:
    """A value only a real deployment knows. `refs` names the resources and modules it reads."""

    text: str
    refs: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return f"<{self.text}>"


def refs_of(*values: Any) -> frozenset[str]:
    found: set[str] = set()
    for value in values:
        if isinstance(value, Unknown):
            found |= value.refs
        elif isinstance(value, list):
            found |= refs_of(*value)
        elif isinstance(value, dict):
            found |= refs_of(*value.values())
    return frozenset(found)


def unknown_in(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, list):
        return any(unknown_in(item) for item in value)
    if isinstance(value, dict):
        return any(unknown_in(item) for item in value.values())
    return False


@dataclass
class Declaration:
    kind: str  # param, var, resource, module, output
    name: str
    node: Node
    type: str = ""  # parameter type, resource type, or module path
    value: Node | None = None  # default, value, or body (object or for_statement)
    condition: Node | None = None
    existing: bool = False
    allowed: list[Any] | None = None


@dataclass
class BicepSource:
    path: Path
    text: bytes
    declarations: dict[str, Declaration] = field(default_factory=dict)
    outputs: dict[str, Declaration] = field(default_factory=dict)  # a namespace of their own

    def of_kind(self, kind: str) -> Iterator[Declaration]:
        return (d for d in self.declarations.values() if d.kind == kind)

    def source(self, node: Node) -> str:
        return self.text[node.start_byte : node.end_byte].decode()


_PARSER: tree_sitter.Parser | None = None


@functools.lru_cache(maxsize=None)
def read_source(path: Path) -> BicepSource:
    """A file's declarations (read once per run: scopes never change them)."""
    global _PARSER
    if _PARSER is None:
        _PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))
    text = path.read_bytes()
    source = BicepSource(path, text)
    decorators: Node | None = None
    for node in _PARSER.parse(text).root_node.named_children:
        if node.type == "decorators":
            decorators = node
            continue
        declaration = read_declaration(source, node)
        if declaration is not None:
            if declaration.kind == "param" and decorators is not None:
                declaration.allowed = allowed_values(source, decorators)
            table = source.outputs if declaration.kind == "output" else source.declarations
            table[declaration.name] = declaration
        decorators = None
    return source


def read_declaration(source: BicepSource, node: Node) -> Declaration | None:
    named = node.named_children
    kinds = {
        "parameter_declaration": "param",
        "variable_declaration": "var",
        "resource_declaration": "resource",
        "module_declaration": "module",
        "output_declaration": "output",
    }
    kind = kinds.get(node.type)
    if kind is None or not named:
        return None
    declaration = Declaration(kind, source.source(named[0]), node)
    rest = named[1:]
    if kind in ("param", "output"):
        if rest and rest[0].type == "type":
            declaration.type = source.source(rest[0])
            rest = rest[1:]
        declaration.value = rest[-1] if rest else None
    elif kind == "var":
        declaration.value = rest[-1] if rest else None
    else:
        declaration.type = string_literal(source, rest[0]) or ""
        declaration.existing = any(child.type == "existing" for child in node.children)
        body = rest[-1] if len(rest) > 1 else None
        if body is not None and body.type == "if_statement":
            declaration.condition, body = body.named_children[0], body.named_children[-1]
        declaration.value = body
    return declaration


def string_literal(source: BicepSource, node: Node) -> str | None:
    if node.type != "string" or any(child.type == "interpolation" for child in node.named_children):
        return None
    return "".join(source.source(child) for child in node.named_children if child.type == "string_content")


def allowed_values(source: BicepSource, decorators: Node) -> list[Any] | None:
    for decorator in decorators.named_children:
        call = decorator.named_children[0] if decorator.named_children else None
        if call is None or call.type != "call_expression":
            continue
        function, arguments = call.named_children[0], call.named_children[-1]
        if source.source(function) == "allowed" and arguments.named_children:
            values = Scope(source, {}).value(arguments.named_children[0])
            return values if isinstance(values, list) else None
    return None


@dataclass(frozen=True)
class ResourceRef:
    symbol: str


@dataclass(frozen=True)
class ModuleRef:
    symbol: str


ESCAPES = {"\\'": "'", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\$": "$"}


class Scope:
    """One Bicep file deployed with the given parameter values."""

    def __init__(
        self, source: BicepSource, params: dict[str, Any], label: str = "", symbol: str = ""
    ) -> None:
        self.source = source
        self.params = params
        self.label = label or source.path.name
        self.symbol = symbol  # the module symbol that deploys this file; "" for the root
        self._variables: dict[str, Any] = {}
        self._modules: dict[str, Scope | None] = {}
        self._busy: set[str] = set()

    # Declarations --------------------------------------------------------------------------

    def parameter(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        declaration = self.source.declarations[name]
        if declaration.value is None:
            return Unknown(f"parameter {name}")
        return self.value(declaration.value)

    def variable(self, name: str) -> Any:
        if name not in self._variables:
            if name in self._busy:
                return Unknown(f"{name} (cycle)")
            self._busy.add(name)
            self._variables[name] = self.value(self.source.declarations[name].value)
            self._busy.discard(name)
        return self._variables[name]

    def deployed(self, symbol: str) -> bool | Unknown:
        """Whether a resource or module is deployed: its `if` condition, true when it has none."""
        declaration = self.source.declarations[symbol]
        if declaration.existing:
            return False
        if declaration.condition is None:
            return True
        verdict = self.value(declaration.condition)
        return verdict if isinstance(verdict, (bool, Unknown)) else Unknown(f"condition of {symbol}")

    def body(self, symbol: str) -> Any:
        """A resource's or module's body, evaluated (a list of bodies for a loop)."""
        return self.value(self.source.declarations[symbol].value)

    def member_name(self, symbol: str) -> Any:
        """A resource's name as its symbol's `.name` gives it."""
        return self.member(ResourceRef(symbol), "name")

    def module(self, symbol: str) -> Scope | None:
        """The scope of a module this file declares, with the parameters it passes."""
        if symbol not in self._modules:
            declaration = self.source.declarations[symbol]
            path = (self.source.path.parent / declaration.type).resolve()
            if not path.is_file() or declaration.value is None or declaration.value.type != "object":
                self._modules[symbol] = None
            else:
                body = self.value(declaration.value)
                params = body.get("params") if isinstance(body, dict) else None
                self._modules[symbol] = Scope(
                    read_source(path),
                    params if isinstance(params, dict) else {},
                    f"{self.label} > {symbol}",
                    symbol,
                )
        return self._modules[symbol]

    def resources(self) -> Iterator[tuple[Scope, Declaration]]:
        """Every resource this scope and the modules it deploys declare, with its scope."""
        for declaration in self.source.of_kind("resource"):
            yield self, declaration
        for declaration in self.source.of_kind("module"):
            if self.deployed(declaration.name) is False:
                continue
            child = self.module(declaration.name)
            if child is not None:
                yield from child.resources()

    # Expressions ---------------------------------------------------------------------------

    def value(self, node: Node | None, env: dict[str, Any] | None = None) -> Any:
        if node is None:
            return None
        env = env or {}
        handler: Callable[[Node, dict[str, Any]], Any] | None = getattr(self, "_" + node.type, None)
        if handler is None:
            return Unknown(self.source.source(node)[:60])
        return handler(node, env)

    def _parenthesized_expression(self, node: Node, env: dict[str, Any]) -> Any:
        return self.value(node.named_children[0], env)

    def _string(self, node: Node, env: dict[str, Any]) -> Any:
        parts: list[Any] = []
        for child in node.named_children:
            if child.type == "string_content":
                parts.append(self.source.source(child))
            elif child.type == "escape_sequence":
                escape = self.source.source(child)
                parts.append(ESCAPES.get(escape, escape))
            elif child.type == "interpolation":
                parts.append(self.value(child.named_children[0], env))
        if any(isinstance(part, Unknown) for part in parts):
            return Unknown("".join(str(part) for part in parts), refs_of(*parts))
        return "".join(text(part) for part in parts)

    def _number(self, node: Node, env: dict[str, Any]) -> Any:
        return int(self.source.source(node))

    def _boolean(self, node: Node, env: dict[str, Any]) -> Any:
        return self.source.source(node) == "true"

    def _null(self, node: Node, env: dict[str, Any]) -> Any:
        return None

    def _array(self, node: Node, env: dict[str, Any]) -> Any:
        return [self.value(child, env) for child in node.named_children if child.type != "comment"]

    def _object(self, node: Node, env: dict[str, Any]) -> Any:
        result: dict[str, Any] = {}
        for prop in node.named_children:
            if prop.type != "object_property" or len(prop.named_children) < 2:
                continue
            key_node, value_node = prop.named_children[0], prop.named_children[-1]
            key = (
                string_literal(self.source, key_node)
                if key_node.type == "string"
                else self.source.source(key_node)
            )
            if key is not None:
                result[key] = self.value(value_node, env)
        return result

    def _identifier(self, node: Node, env: dict[str, Any]) -> Any:
        name = self.source.source(node)
        if name in env:
            return env[name]
        declaration = self.source.declarations.get(name)
        if declaration is None:
            return Unknown(name)
        if declaration.kind == "param":
            return self.parameter(name)
        if declaration.kind == "var":
            return self.variable(name)
        if declaration.kind == "resource":
            return ResourceRef(name)
        if declaration.kind == "module":
            return ModuleRef(name)
        return Unknown(name)

    def _ternary_expression(self, node: Node, env: dict[str, Any]) -> Any:
        condition, consequence, alternative = node.named_children
        verdict = self.value(condition, env)
        if verdict is True:
            return self.value(consequence, env)
        if verdict is False:
            return self.value(alternative, env)
        return Unknown(f"{self.source.source(node)[:60]}", refs_of(verdict))

    def _unary_expression(self, node: Node, env: dict[str, Any]) -> Any:
        operator = self.source.source(node.children[0])
        operand = self.value(node.named_children[-1], env)
        if isinstance(operand, Unknown):
            return operand
        if operator == "!" and isinstance(operand, bool):
            return not operand
        if operator == "-" and isinstance(operand, int):
            return -operand
        return Unknown(self.source.source(node))

    def _binary_expression(self, node: Node, env: dict[str, Any]) -> Any:
        left_node, right_node = node.named_children[0], node.named_children[-1]
        operator = next(self.source.source(c) for c in node.children if not c.is_named)
        left = self.value(left_node, env)
        if operator == "&&" and left is False:
            return False
        if operator == "||" and left is True:
            return True
        if operator == "??" and left is not None and not isinstance(left, Unknown):
            return left
        right = self.value(right_node, env)
        if operator == "??":
            return right if left is None else left
        if operator in ("&&", "||") and not isinstance(left, Unknown) and not isinstance(right, Unknown):
            return bool(right)
        if isinstance(left, Unknown) or isinstance(right, Unknown) or unknown_in([left, right]):
            if operator == "&&" and right is False:
                return False
            if operator == "||" and right is True:
                return True
            return Unknown(self.source.source(node)[:60], refs_of(left, right))
        try:
            return binary(operator, left, right)
        except (TypeError, ValueError):
            return Unknown(self.source.source(node)[:60])

    def _member_expression(self, node: Node, env: dict[str, Any]) -> Any:
        target = self.value(node.named_children[0], env)
        name = self.source.source(node.named_children[-1])
        return self.member(target, name)

    def member(self, target: Any, name: str) -> Any:
        if isinstance(target, dict):
            return target.get(name, Unknown(f"missing property {name}"))
        if isinstance(target, ResourceRef):
            if name == "name":
                body = self.body(target.symbol)
                known = body.get("name") if isinstance(body, dict) else None
                if isinstance(known, str):
                    return known
                if isinstance(known, Unknown):
                    return Unknown(known.text, known.refs | {target.symbol})
            return Unknown(f"{target.symbol}.{name}", frozenset({target.symbol}))
        if isinstance(target, ModuleRef):
            if name == "outputs":
                return ModuleOutputs(target.symbol)
            return Unknown(f"{target.symbol}.{name}", frozenset({target.symbol}))
        if isinstance(target, ModuleOutputs):
            child = self.module(target.symbol)
            output = child.source.outputs.get(name) if child else None
            if child is None or output is None:
                return Unknown(f"{target.symbol}.outputs.{name}", frozenset({target.symbol}))
            value = child.value(output.value)
            if isinstance(value, Unknown):
                return Unknown(f"{target.symbol}.outputs.{name}", frozenset({target.symbol}) | value.refs)
            return value
        if isinstance(target, Unknown):
            return Unknown(f"{target.text}.{name}", target.refs)
        return Unknown(f"{target!r}.{name}")

    def _subscript_expression(self, node: Node, env: dict[str, Any]) -> Any:
        target = self.value(node.named_children[0], env)
        index = self.value(node.named_children[-1], env)
        if isinstance(target, Unknown) or isinstance(index, Unknown):
            return Unknown(self.source.source(node)[:60], refs_of(target, index))
        try:
            return target[index]
        except (KeyError, IndexError, TypeError):
            return Unknown(f"no {index!r} in {self.source.source(node)[:40]}")

    def _call_expression(self, node: Node, env: dict[str, Any]) -> Any:
        function_node, arguments_node = node.named_children[0], node.named_children[-1]
        arguments = [self.value(child, env) for child in arguments_node.named_children]
        if function_node.type == "member_expression":  # storage.listKeys() and the like
            target = self.value(function_node.named_children[0], env)
            symbol = {target.symbol} if isinstance(target, (ResourceRef, ModuleRef)) else set()
            return Unknown(self.source.source(node)[:60], frozenset(symbol) | refs_of(target, *arguments))
        name = self.source.source(function_node)
        if name in OPAQUE_FUNCTIONS and not unknown_in(arguments):
            # Keep the arguments readable: a role definition's GUID is in them.
            return Unknown(f"{name}({', '.join(text(argument) for argument in arguments)})")
        if name in OPAQUE_FUNCTIONS or any(isinstance(argument, Unknown) for argument in arguments):
            return Unknown(self.source.source(node)[:60], refs_of(*arguments))
        try:
            return call(name, arguments)
        except (TypeError, ValueError, IndexError, KeyError):
            return Unknown(self.source.source(node)[:60])

    def _for_statement(self, node: Node, env: dict[str, Any]) -> Any:
        named = node.named_children
        if named[0].type == "for_loop_parameters":
            parameters = [self.source.source(child) for child in named[0].named_children]
        else:
            parameters = [self.source.source(named[0])]
        items = self.value(named[1], env)
        if isinstance(items, Unknown) or not isinstance(items, list):
            return Unknown(self.source.source(node)[:60], refs_of(items))
        results = []
        for index, item in enumerate(items):
            local = {**env, parameters[0]: item}
            if len(parameters) > 1:
                local[parameters[1]] = index
            results.append(self.value(named[-1], local))
        return results


@dataclass(frozen=True)
class ModuleOutputs:
    symbol: str
