"""scripts/package.sh --skip-build and scripts/check-package.sh, on the fixture repository with
small binaries built here: one that needs only old glibc symbols, one built the ordinary way."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import pytest
from conftest import SCRIPTS, run


def package(root: Path, binary: Path) -> Path:
    result = run(["bash", str(SCRIPTS / "package.sh"), "--root", str(root), "--skip-build", str(binary)])
    assert result.returncode == 0, result.stdout
    return root / "dist"


def check(app: Path, *arguments: str) -> tuple[int, str]:
    result = run(["bash", str(SCRIPTS / "check-package.sh"), str(app), *arguments])
    return result.returncode, result.stdout


@pytest.fixture
def packaged(fixture_repo: Path, old_glibc_binary: Path) -> Path:
    return package(fixture_repo, old_glibc_binary)


def test_layout(packaged: Path) -> None:
    app = packaged / "app"
    files = sorted(str(path.relative_to(app)) for path in app.rglob("*") if path.is_file())
    assert files == [
        "FactorySimulator/function.json",
        "TwinUpdatesEventGrid/function.json",
        "TwinUpdatesEventHub/function.json",
        "handler",
        "host.json",
    ]
    assert stat.S_IMODE((app / "handler").stat().st_mode) == 0o755
    with zipfile.ZipFile(packaged / "app.zip") as zipped:
        entry = zipped.getinfo("handler")
        assert entry.create_system == 3
        assert stat.S_IMODE(entry.external_attr >> 16) == 0o755
        assert sorted(zipped.namelist()) == files


def test_packaging_twice_gives_the_same_zip(fixture_repo: Path, old_glibc_binary: Path) -> None:
    first = (package(fixture_repo, old_glibc_binary) / "app.zip").read_bytes()
    (fixture_repo / "dist/app/leftover.txt").write_text("from an older run")
    second = (package(fixture_repo, old_glibc_binary) / "app.zip").read_bytes()
    assert first == second
    assert not (fixture_repo / "dist/app/leftover.txt").exists()


def test_package_needs_host_json(fixture_repo: Path, old_glibc_binary: Path) -> None:
    (fixture_repo / "host.json").unlink()
    result = run(
        [
            "bash",
            str(SCRIPTS / "package.sh"),
            "--root",
            str(fixture_repo),
            "--skip-build",
            str(old_glibc_binary),
        ]
    )
    assert result.returncode == 1
    assert "host.json not found" in result.stdout


def test_good_package_passes(packaged: Path, fixture_repo: Path) -> None:
    code, output = check(packaged / "app", "--functions", str(fixture_repo / "functions"))
    assert code == 0, output
    assert "glibc needed: 2.2.5 (allowed up to 2.28)" in output
    assert "zip keeps handler executable (mode 0o755); 5 entries match the app" in output


def test_glibc_too_new(fixture_repo: Path, new_glibc_binary: Path) -> None:
    dist = package(fixture_repo, new_glibc_binary)
    code, output = check(dist / "app", "--functions", str(fixture_repo / "functions"))
    assert code == 1
    assert "newer than 2.28" in output
    code, output = check(dist / "app", "--functions", str(fixture_repo / "functions"), "--max-glibc", "9.0")
    assert code == 0, output


def test_zip_without_exec_bit(packaged: Path, fixture_repo: Path) -> None:
    # What a zip made on Windows looks like: MS-DOS attributes, no Unix mode.
    archive = packaged / "app.zip"
    with zipfile.ZipFile(archive) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(archive, "w") as target:
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            info.create_system = 0
            info.external_attr = 0x20
            target.writestr(info, data)
    code, output = check(packaged / "app", "--functions", str(fixture_repo / "functions"))
    assert code == 1
    assert "zip entry handler carries no Unix exec bit" in output


def test_stale_or_incomplete_package(packaged: Path, fixture_repo: Path) -> None:
    app = packaged / "app"
    (app / "handler").chmod(0o644)
    (fixture_repo / "functions/FactorySimulator/function.json").write_text('{"bindings": []}\n')
    (fixture_repo / "functions/NewFunction").mkdir()
    (fixture_repo / "functions/NewFunction/function.json").write_text('{"bindings": []}\n')
    code, output = check(app, "--functions", str(fixture_repo / "functions"))
    assert code == 1
    assert "handler has mode 644" in output
    assert "FactorySimulator/function.json differs from functions/FactorySimulator/function.json" in output
    assert "functions/NewFunction/function.json is missing from the app root" in output


def test_bad_host_json_and_function_folder(packaged: Path) -> None:
    app = packaged / "app"
    (app / "host.json").write_text(json.dumps({"version": "2.0"}))
    (app / "bin").mkdir()
    (app / "bin/readme.txt").write_text("not a function")
    (app / "TwinUpdatesEventGrid/function.json").write_text(
        '{"bindings": [{"type": "eventGridTrigger", "name": "my_event"}]}'
    )
    code, output = check(app, "--zip", "none")
    assert code == 1
    assert "no customHandler.description.defaultExecutablePath" in output
    assert "extensionBundle" in output
    assert "bin/ has no function.json" in output
    assert "binding name 'my_event' must be letters and digits only" in output


def test_zip_must_match_the_app(packaged: Path, fixture_repo: Path) -> None:
    (packaged / "app/TwinUpdatesEventHub/function.json").write_text("{}")
    (packaged / "app/extra.txt").write_text("x")
    code, output = check(packaged / "app", "--functions", str(fixture_repo / "functions"))
    assert code == 1
    assert "zip entry TwinUpdatesEventHub/function.json differs" in output
    assert "zip lacks extra.txt" in output
