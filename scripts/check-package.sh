#!/usr/bin/env bash
# Checks a packaged Functions app before it is deployed.
#
# Usage: scripts/check-package.sh [APP_DIR] [--zip ZIP] [--functions DIR] [--max-glibc X.Y]
#   APP_DIR        the app root (default: dist/app)
#   --zip ZIP      the archive made from it (default: APP_DIR/../app.zip; "none" skips it)
#   --functions    the source function folders (default: <repo>/functions)
#   --max-glibc    newest glibc the binary may need (default 2.28)
#
# It fails when any of these does not hold:
#   - host.json is JSON with version 2.0, a customHandler whose defaultExecutablePath names a
#     file in the app, and the extension bundle [4.*, 5.0.0);
#   - that executable is an x86-64 ELF file with the exec bit for owner, group and others;
#   - every functions/<Name>/function.json is at the app root as <Name>/function.json, unchanged,
#     and every function folder there has a valid name and a function.json with bindings;
#   - the zip holds exactly the app's files, same bytes, with Unix modes that keep the
#     executable executable (zips made on Windows lose the bit and the host cannot start it);
#   - the GLIBC symbol versions the executable needs are all <= --max-glibc (figure printed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
app=""
zip=""
functions=$(dirname "$here")/functions
max_glibc=2.28

while (($#)); do
  case $1 in
    --zip) zip=${2:?--zip needs a path}; shift 2 ;;
    --functions) functions=${2:?--functions needs a folder}; shift 2 ;;
    --max-glibc) max_glibc=${2:?--max-glibc needs a version}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "check-package.sh: unknown option $1" >&2; exit 2 ;;
    *) app=$1; shift ;;
  esac
done
app=${app:-$(dirname "$here")/dist/app}
[[ -d $app ]] || { echo "check-package.sh: $app is not a folder (run scripts/package.sh)" >&2; exit 2; }
app=$(cd "$app" && pwd)
zip=${zip:-$(dirname "$app")/app.zip}

problems=0
ok() { echo "  ok    $*"; }
bad() { echo "  FAIL  $*"; problems=$((problems + 1)); }

echo "Checking $app"

# host.json, and the executable it names. Prints the executable's relative path.
host_report=$(python3 - "$app" <<'PY'
import json, sys, pathlib
app = pathlib.Path(sys.argv[1])
try:
    host = json.loads((app / "host.json").read_text())
except FileNotFoundError:
    print("FAIL host.json is missing"); sys.exit()
except json.JSONDecodeError as error:
    print(f"FAIL host.json is not JSON: {error}"); sys.exit()
if host.get("version") != "2.0":
    print(f"FAIL host.json version is {host.get('version')!r}, expected '2.0'")
bundle = host.get("extensionBundle") or {}
if bundle.get("id") != "Microsoft.Azure.Functions.ExtensionBundle" or bundle.get("version") != "[4.*, 5.0.0)":
    print(f"FAIL host.json extensionBundle is {bundle}, expected Microsoft.Azure.Functions.ExtensionBundle [4.*, 5.0.0)")
path = (((host.get("customHandler") or {}).get("description") or {}).get("defaultExecutablePath"))
if not path:
    print("FAIL host.json has no customHandler.description.defaultExecutablePath"); sys.exit()
print(f"EXE {path}")
PY
)
executable=""
while IFS= read -r line; do
  case $line in
    FAIL*) bad "${line#FAIL }" ;;
    EXE*) executable=${line#EXE } ;;
  esac
done <<<"$host_report"
if [[ -n $executable && $host_report != *FAIL* ]]; then
  ok "host.json: version 2.0, extension bundle [4.*, 5.0.0), custom handler '$executable'"
fi

# The executable itself.
if [[ -n $executable ]]; then
  binary=$app/$executable
  if [[ ! -f $binary ]]; then
    bad "$executable (named by host.json) is not in the app"
    binary=""
  else
    mode=$(stat -c '%a' "$binary")
    if (((8#$mode & 8#111) == 8#111)); then ok "$executable is executable (mode $mode)"; else bad "$executable has mode $mode: it needs the exec bit for everyone (chmod 755)"; fi
    if [[ $(head -c 4 "$binary" | od -An -c | tr -d ' ') == '177ELF' ]] &&
      [[ $(od -An -tx1 -j 18 -N 2 "$binary" | tr -d ' \n') == 3e00 ]]; then
      ok "$executable is an x86-64 ELF binary"
    else
      bad "$executable is not an x86-64 ELF binary"
    fi
  fi
fi

# Function folders.
found_functions=0
for folder in "$app"/*/; do
  [[ -d $folder ]] || continue
  name=$(basename "$folder")
  if [[ ! -f $folder/function.json ]]; then
    bad "$name/ has no function.json (only function folders belong at the app root)"
    continue
  fi
  found_functions=$((found_functions + 1))
  shopt -s nocasematch
  if [[ ! $name =~ ^[a-z][a-z0-9_-]{0,127}$ ]]; then bad "function name '$name' is not valid for the Functions host"; fi
  shopt -u nocasematch
  verdict=$(python3 - "$folder/function.json" <<'PY'
import json, re, sys
try:
    document = json.load(open(sys.argv[1]))
except json.JSONDecodeError as error:
    print(f"not JSON: {error}"); sys.exit()
bindings = document.get("bindings")
if not isinstance(bindings, list) or not bindings:
    print("has no bindings"); sys.exit()
for binding in bindings:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", str(binding.get("name", ""))):
        print(f"binding name {binding.get('name')!r} must be letters and digits only"); sys.exit()
print("ok")
PY
  )
  if [[ $verdict == ok ]]; then ok "$name/function.json"; else bad "$name/function.json $verdict"; fi
done
((found_functions > 0)) || bad "no function folder (<Name>/function.json) at the app root"
if [[ -d $functions ]]; then
  for source in "$functions"/*/function.json; do
    [[ -f $source ]] || continue
    name=$(basename "$(dirname "$source")")
    if [[ ! -f $app/$name/function.json ]]; then
      bad "functions/$name/function.json is missing from the app root ($name/function.json)"
    elif ! cmp -s "$source" "$app/$name/function.json"; then
      bad "$name/function.json differs from functions/$name/function.json (stale package?)"
    fi
  done
else
  echo "  note  no source folder $functions: function folders not compared with the sources"
fi

# The zip.
if [[ $zip != none ]]; then
  while IFS= read -r line; do
    case $line in
      ok\ *) ok "${line#ok }" ;;
      *) bad "$line" ;;
    esac
  done < <(python3 - "$app" "$zip" "$executable" <<'PY'
import os, stat, sys, zipfile, zlib
app, archive, executable = sys.argv[1], sys.argv[2], sys.argv[3]
if not os.path.isfile(archive):
    print(f"{archive} does not exist"); sys.exit()
on_disk = {}
for folder, _, files in os.walk(app):
    for name in files:
        path = os.path.join(folder, name)
        on_disk[os.path.relpath(path, app).replace(os.sep, "/")] = path
with zipfile.ZipFile(archive) as zipped:
    entries = {entry.filename: entry for entry in zipped.infolist() if not entry.is_dir()}
    for name in sorted(set(entries) - set(on_disk)):
        print(f"zip holds {name}, which is not in the app")
    for name in sorted(set(on_disk) - set(entries)):
        print(f"zip lacks {name}")
    for name in sorted(set(entries) & set(on_disk)):
        data = open(on_disk[name], "rb").read()
        if entries[name].file_size != len(data) or entries[name].CRC != (zlib.crc32(data) & 0xFFFFFFFF):
            print(f"zip entry {name} differs from the app's file (stale zip?)")
    if any("\\" in name for name in entries):
        print("zip entry names contain backslashes (made on Windows?)")
    if executable in entries:
        entry = entries[executable]
        mode = entry.external_attr >> 16
        if entry.create_system != 3 or not stat.S_ISREG(mode) or (mode & 0o111) != 0o111:
            print(f"zip entry {executable} carries no Unix exec bit (system {entry.create_system}, "
                  f"mode {oct(stat.S_IMODE(mode))}): the host could not start it")
        else:
            print(f"ok zip keeps {executable} executable (mode {oct(stat.S_IMODE(mode))}); {len(entries)} entries match the app")
PY
  )
fi

# glibc: the newest GLIBC_x.y symbol version the executable needs.
if [[ -n ${binary:-} ]]; then
  if command -v objdump >/dev/null 2>&1; then
    symbols=$(objdump -T "$binary" 2>/dev/null || true)
  else
    symbols=$(readelf --dyn-syms --wide "$binary" 2>/dev/null || true)
  fi
  newest=$(grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' <<<"$symbols" | sed 's/^GLIBC_//' | sort -uV | tail -n 1 || true)
  if [[ -z $newest ]]; then
    ok "glibc needed: none (no GLIBC symbol versions: static or not linked against glibc)"
  elif [[ $(printf '%s\n%s\n' "$newest" "$max_glibc" | sort -V | tail -n 1) == "$max_glibc" ]]; then
    ok "glibc needed: $newest (allowed up to $max_glibc)"
  else
    bad "glibc needed: $newest, newer than $max_glibc: build with scripts/package.sh (cargo zigbuild --target x86_64-unknown-linux-gnu.$max_glibc)"
    grep -E "GLIBC_$newest" <<<"$symbols" | awk '{print "        needs " $NF " @ GLIBC_'"$newest"'"}' | sort -u | head -n 5
  fi
fi

if ((problems)); then
  echo "check-package: $problems problem(s)"
  exit 1
fi
echo "check-package: the package is deployable"
