"""Shared helpers for the tests of scripts/: fixture trees, fake binaries, stub commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent
REPO = SCRIPTS.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run(
    command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Runs a command and returns its result with stdout and stderr merged into .stdout."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        command,
        cwd=cwd,
        env=full_env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )


def check_infra(root: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, str(SCRIPTS / "check-infra.py"), "--root", str(root)])


@pytest.fixture
def fixture_repo(tmp_path: Path) -> Path:
    """A copy of the small fake repository, safe to change."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "repo", root, symlinks=True)
    return root


@pytest.fixture
def real_repo(tmp_path: Path) -> Path:
    """The real infra/, azure.yaml, scripts/ and names.rs, with functions/, host.json and
    local.settings.json.example from the repository when they exist, else the stand-ins."""
    root = tmp_path / "real"
    root.mkdir()
    for name in ("infra", "scripts"):
        # Build output (a crate's target/) is never part of what the checks read.
        ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", "target")
        shutil.copytree(REPO / name, root / name, ignore=ignore)
    shutil.copy2(REPO / "azure.yaml", root / "azure.yaml")
    (root / "src/config").mkdir(parents=True)
    shutil.copy2(REPO / "src/config/names.rs", root / "src/config/names.rs")
    expected = FIXTURES / "expected"
    for name in ("functions", "host.json", "local.settings.json.example"):
        source = REPO / name if (REPO / name).exists() else expected / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy2(source, root / name)
    return root


def compile_c(tmp_path: Path, name: str, source: str, flags: list[str]) -> Path:
    """Compiles a tiny C program with the machine's gcc (skips the test without one)."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler to build a fake handler binary")
    source_path = tmp_path / f"{name}.c"
    source_path.write_text(textwrap.dedent(source))
    output = tmp_path / name
    result = run([compiler, *flags, "-o", str(output), str(source_path)])
    assert result.returncode == 0, result.stdout
    return output


@pytest.fixture
def old_glibc_binary(tmp_path: Path) -> Path:
    """A dynamically linked x86-64 binary that needs only GLIBC_2.2.5 symbols (no C runtime
    start files, whose __libc_start_main would pull in the build machine's newest version)."""
    return compile_c(
        tmp_path,
        "handler-old",
        """
        #include <unistd.h>
        void _start(void) { write(1, "hi\\n", 3); _exit(0); }
    """,
        ["-nostartfiles", "-O1"],
    )


@pytest.fixture
def new_glibc_binary(tmp_path: Path) -> Path:
    """An ordinary binary built against this machine's glibc (2.34 or later here)."""
    return compile_c(tmp_path, "handler-new", "int main(void) { return 0; }\n", [])


@pytest.fixture
def stub_bin(tmp_path: Path) -> Path:
    """A folder of stub `azd` and `curl` commands that log their arguments; put it first on PATH.

    curl answers the codes listed in $STUB_CURL_CODES one per call (default 204) and saves each
    request body to $STUB_LOG.body.N."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "azd").write_text(
        textwrap.dedent("""\
        #!/usr/bin/env bash
        echo "azd $*" >> "$STUB_LOG"
        echo '{"token": "stub-token", "expiresOn": "2030-01-01T00:00:00Z"}'
    """)
    )
    (folder / "curl").write_text(
        textwrap.dedent("""\
        #!/usr/bin/env bash
        count=$(( $(grep -c '^curl ' "$STUB_LOG" 2>/dev/null || true) + 1 ))
        all="$*"
        echo "curl ${all//$'\n'/ }" >> "$STUB_LOG"
        while (($#)); do
          case $1 in
            --data) printf '%s' "$2" > "$STUB_LOG.body.$count"; shift 2 ;;
            --header) [[ $2 == @* ]] && cat "${2#@}" >> "$STUB_LOG.headers"; shift 2 ;;
            --output) : > "$2"; shift 2 ;;
            *) shift ;;
          esac
        done
        read -r -a codes <<< "${STUB_CURL_CODES:-204}"
        index=$(( count - 1 < ${#codes[@]} ? count - 1 : ${#codes[@]} - 1 ))
        printf '%s' "${codes[$index]}"
    """)
    )
    for stub in folder.iterdir():
        stub.chmod(0o755)
    return folder
