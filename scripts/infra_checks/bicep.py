"""Bicep: parse every file with two parsers, then check the wiring between files (modules,
their parameters and outputs, loaded files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import tree_sitter
import tree_sitter_bicep
from lark.exceptions import LarkError
from pycep import BicepParser

from .report import Report, table


@dataclass
class BicepFile:
    path: Path
    tree: dict[str, Any]

    def section(self, name: str) -> dict[str, Any]:
        return self.tree.get(name) or {}


def parse_bicep(root: Path, report: Report) -> list[BicepFile]:
    report.section("Bicep files parse (pycep-parser and tree-sitter-bicep)")
    files = sorted((root / "infra").rglob("*.bicep"))
    if not files:
        report.error("no .bicep file under infra/")
        return []
    pycep = BicepParser()
    sitter = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))
    parsed, rows = [], []
    for path in files:
        name = str(path.relative_to(root))
        try:
            tree = pycep.parse(file_path=path)
            pycep_result = "ok"
        except (LarkError, ValueError) as failure:
            tree, pycep_result = None, "FAIL"
            report.error(f"{name}: pycep-parser: {first_line(failure)}")
        problem = first_syntax_problem(sitter.parse(path.read_bytes()).root_node)
        if problem:
            report.error(f"{name}: tree-sitter-bicep: {problem}")
        rows.append([name, pycep_result, "FAIL" if problem else "ok"])
        if tree is not None:
            parsed.append(BicepFile(path, tree))
    table(rows, ["file", "pycep", "tree-sitter"])
    return parsed


def first_line(failure: Exception) -> str:
    return " ".join(str(failure).split("\n")[:2]).strip()


def first_syntax_problem(node: Any) -> str | None:
    if node.type == "ERROR" or node.is_missing:
        row, column = node.start_point
        what = f"missing {node.type}" if node.is_missing else "unexpected text"
        return f"{what} at line {row + 1}, column {column + 1}"
    if node.has_error:
        for child in node.children:
            found = first_syntax_problem(child)
            if found:
                return found
    return None


def walk(value: Any) -> Iterator[Any]:
    """Every node of a pycep value, depth first."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def module_body(module: dict[str, Any]) -> dict[str, Any]:
    config = module.get("config") or {}
    return config.get("config", config) if "condition" in config else config


def accessed_outputs(value: Any) -> Iterator[tuple[str, str]]:
    """(symbol, output) for every `symbol.outputs.output` in a value."""
    for node in walk(value):
        operator = node.get("operator") if isinstance(node, dict) else None
        if not isinstance(operator, dict) or operator.get("type") != "property_accessor":
            continue
        first, second = operator["operands"]["operand_1"], operator["operands"]["operand_2"]
        inner = second.get("operator") if isinstance(second, dict) else None
        if isinstance(first, str) and isinstance(inner, dict) and inner.get("type") == "property_accessor":
            if inner["operands"]["operand_1"] == "outputs" and isinstance(
                inner["operands"]["operand_2"], str
            ):
                yield first, inner["operands"]["operand_2"]


def check_wiring(files: list[BicepFile], report: Report) -> None:
    report.section("Bicep wiring (modules, parameters, outputs, loaded files)")
    by_path = {bicep.path.resolve(): bicep for bicep in files}
    count = 0
    for bicep in files:
        here = bicep.path.parent
        targets: dict[str, BicepFile] = {}
        for symbol, module in bicep.section("modules").items():
            if module.get("type") != "local":
                continue
            target_path = (here / module["detail"]["path"]).resolve()
            target = by_path.get(target_path)
            label = f"{bicep.path.name}: module {symbol}"
            if target is None:
                report.error(f"{label}: {module['detail']['path']} does not exist or did not parse")
                continue
            targets[symbol] = target
            declared = target.section("parameters")
            passed = set((module_body(module).get("params") or {}).keys())
            for unknown in sorted(passed - declared.keys()):
                report.error(f"{label}: passes {unknown}, which {target.path.name} does not declare")
            for name, param in declared.items():
                # pycep gives a parameter without a default `default: None`; nullable types
                # (`string?`) may be left out.
                optional = param.get("default") is not None or str(param.get("type", "")).endswith("?")
                if not optional and name not in passed:
                    report.error(f"{label}: does not pass required parameter {name}")
            count += 1
        for symbol, output in accessed_outputs(bicep.tree):
            if symbol in targets and output not in targets[symbol].section("outputs"):
                report.error(
                    f"{bicep.path.name}: {symbol}.outputs.{output} is not an output of {targets[symbol].path.name}"
                )
        for node in walk(bicep.tree):
            function = node.get("function") if isinstance(node, dict) else None
            if isinstance(function, dict) and function.get("type") == "load_text_content":
                loaded = here / function["parameters"]["file_path"]
                if not loaded.is_file():
                    report.error(
                        f"{bicep.path.name}: loadTextContent('{function['parameters']['file_path']}') not found"
                    )
    report.note(f"{count} module references checked")
