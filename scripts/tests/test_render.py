"""scripts/infra_checks/render.py: Bicep evaluated offline, on small files written here."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import SCRIPTS

sys.path.insert(0, str(SCRIPTS))
from infra_checks.render import Scope, Unknown, read_source  # noqa: E402


def scope(tmp_path: Path, text: str, **params: object) -> Scope:
    path = tmp_path / "main.bicep"
    path.write_text(text)
    return Scope(read_source(path.resolve()), dict(params))


def test_literals_symbols_and_branches(tmp_path: Path) -> None:
    main = scope(
        tmp_path,
        "@allowed([\n  'A'\n  'B'\n])\nparam kind string = 'A'\n"
        "var EP1 = 'a variable'\n"
        "var picked = kind == 'B' ? EP1 : 'EP1'\n"
        "var escaped = 'it\\'s ${kind}'\n"
        "var looped = [for (item, i) in ['x', 'y']: '${item}${i}']\n"
        "var merged = union({ a: 1 }, { b: kind })\n",
    )
    assert main.source.declarations["kind"].allowed == ["A", "B"]
    assert main.variable("picked") == "EP1"  # the literal, not the variable of that name
    assert main.variable("escaped") == "it's A"
    assert main.variable("looped") == ["x0", "y1"]
    assert main.variable("merged") == {"a": 1, "b": "A"}


def test_what_only_azure_knows_stays_unknown(tmp_path: Path) -> None:
    main = scope(
        tmp_path,
        "param token string = uniqueString(resourceGroup().id)\n"
        "resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {\n  name: 'st${token}'\n}\n"
        "var url = '${account.properties.primaryEndpoints.blob}x'\n"
        "var either = empty(token) ? 'none' : 'some'\n"
        "var shortCircuit = false && empty(token)\n",
    )
    url = main.variable("url")
    assert isinstance(url, Unknown) and "account" in url.refs
    assert isinstance(main.variable("either"), Unknown)
    assert main.variable("shortCircuit") is False
    assert main.deployed("account") is False  # an existing resource is not deployed


def test_module_parameters_conditions_and_outputs(tmp_path: Path) -> None:
    (tmp_path / "child.bicep").write_text(
        "param size int\nvar doubled = size * 2\noutput twice int = doubled\noutput size int = size\n"
    )
    main = scope(
        tmp_path,
        "param on bool = true\nmodule child './child.bicep' = if (on) {\n  name: 'c'\n  params: {\n    size: 21\n  }\n}\n"
        "var answer = child.outputs.twice\n",
        on=False,
    )
    assert main.deployed("child") is False
    assert main.variable("answer") == 42
    assert main.module("child").parameter("size") == 21
