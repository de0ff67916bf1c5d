#!/usr/bin/env bash
# Builds the deployable Functions app: dist/app/ (the app root) and dist/app.zip.
#
#   dist/app/host.json
#   dist/app/handler                      release binary, linked against glibc 2.28, mode 0755
#   dist/app/<Function>/function.json     one folder per functions/<Function>/
#   dist/app.zip                          the same tree, file modes kept (the exec bit matters)
#
# The binary is built with cargo-zigbuild for x86_64-unknown-linux-gnu.2.28, so it runs on the
# Functions Linux images whatever glibc the build machine has. Missing tools are installed:
# cargo-zigbuild from crates.io, and zig from PyPI (the ziglang package) in a private venv
# that cargo-zigbuild reaches through CARGO_ZIGBUILD_PYTHON_PATH (it runs `python -m ziglang`).
#
# Usage: scripts/package.sh [--skip-build BINARY] [--out DIR] [--root DIR]
#   --skip-build BINARY  package BINARY instead of building (tests, or a binary built elsewhere)
#   --out DIR            output folder (default: <root>/dist)
#   --root DIR           repository root (default: the parent of scripts/)
# Environment: GLIBC_VERSION (default 2.28), CARGO_ZIGBUILD_VERSION, ZIGLANG_VERSION,
# SOURCE_DATE_EPOCH (timestamp stored in the zip; default 1980-01-01 for reproducible zips).
# Re-running replaces dist/app and dist/app.zip; nothing else is touched.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
out=""
binary=""
glibc=${GLIBC_VERSION:-2.28}
target=x86_64-unknown-linux-gnu
zigbuild_version=${CARGO_ZIGBUILD_VERSION:-0.24.0}
ziglang_version=${ZIGLANG_VERSION:-0.15.1}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
fail() { echo "package.sh: $*" >&2; exit 1; }

while (($#)); do
  case $1 in
    --skip-build) binary=${2:?--skip-build needs a binary}; shift 2 ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --root) root=$(cd "${2:?--root needs a folder}" && pwd); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) fail "unknown argument $1 (see --help)" ;;
  esac
done
out=${out:-$root/dist}

ensure_zigbuild() {
  if ! cargo zigbuild --help >/dev/null 2>&1; then
    echo "Installing cargo-zigbuild $zigbuild_version from crates.io"
    cargo install --locked cargo-zigbuild --version "$zigbuild_version"
  fi
  if [[ -n ${CARGO_ZIGBUILD_ZIG_PATH:-} ]] || command -v zig >/dev/null 2>&1; then
    return
  fi
  local tools=${ADT_BRIDGE_TOOLS_DIR:-$root/target/tools}
  local venv=$tools/ziglang-venv
  if ! "$venv/bin/python" -m ziglang version >/dev/null 2>&1; then
    echo "Installing zig (ziglang $ziglang_version from PyPI) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "ziglang==$ziglang_version"
  fi
  export CARGO_ZIGBUILD_PYTHON_PATH=$venv/bin/python
}

build() {
  ensure_zigbuild
  echo "Building handler for $target with glibc $glibc"
  (cd "$root" && cargo zigbuild --release --locked --target "$target.$glibc" --bin handler)
  binary=${CARGO_TARGET_DIR:-$root/target}/$target/release/handler
}

# Writes <out>/app.zip from <out>/app: sorted entries, fixed timestamps, Unix modes kept.
write_zip() {
  python3 - "$1" "$2" <<'PY'
import os, stat, sys, time, zipfile
source, archive = sys.argv[1], sys.argv[2]
epoch = max(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")), 315532800)
stamp = time.gmtime(epoch)[:6]
partial = archive + ".partial"
with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zipped:
    for folder, folders, files in os.walk(source):
        folders.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            entry = zipfile.ZipInfo(os.path.relpath(path, source).replace(os.sep, "/"), stamp)
            mode = stat.S_IMODE(os.stat(path).st_mode)
            entry.create_system = 3  # Unix, so readers honour the mode bits below
            entry.external_attr = (stat.S_IFREG | mode) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as handle:
                zipped.writestr(entry, handle.read())
os.replace(partial, archive)
PY
}

[[ -f $root/host.json ]] || fail "$root/host.json not found"
compgen -G "$root/functions/*/function.json" >/dev/null || fail "no $root/functions/<Name>/function.json"

if [[ -z $binary ]]; then
  build
fi
[[ -f $binary ]] || fail "binary $binary not found"

app=$out/app
rm -rf "$app" "$out/app.zip"
mkdir -p "$app"
install -m 0644 "$root/host.json" "$app/host.json"
install -m 0755 "$binary" "$app/handler"
for function_dir in "$root"/functions/*/; do
  name=$(basename "$function_dir")
  [[ -f $function_dir/function.json ]] || continue
  mkdir -p "$app/$name"
  # Everything in the function's folder except local-only files.
  find "$function_dir" -maxdepth 1 -type f ! -name 'local.settings.json' -exec install -m 0644 {} "$app/$name/" \;
done
write_zip "$app" "$out/app.zip"

echo "Packaged $(find "$app" -type f | wc -l) files into $app and $out/app.zip"
