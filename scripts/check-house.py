#!/usr/bin/env python3
"""The house rules of issue 17 that a compiler does not check, over src/:

- no import circle between top-level modules, nor between files (a module's file and its own
  children excepted: a `mod.rs` re-exports what its children define);
- no file over 500 lines;
- every top-level module named in the crate map (`src/lib.rs`'s `//!` lines).

References are read from `crate::...` and `super::...` paths outside `#[cfg(test)]` code; `//`
comments are ignored. Exits non-zero naming what breaks a rule.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
MAX_LINES = 500


def modules():
    found = {}
    for folder, _, files in os.walk(ROOT):
        for name in files:
            # main.rs is the binary's root: it uses the library from outside, as any caller does.
            if not name.endswith(".rs") or (folder == ROOT and name == "main.rs"):
                continue
            path = os.path.join(folder, name)
            parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            with open(path, encoding="utf-8") as f:
                found["::".join(parts)] = (path, f.read())
    return found


def code_of(text):
    text = text.split("#[cfg(test)]")[0]
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def edges(found):
    files, tops = set(), set()
    for module, (_, text) in found.items():
        code = code_of(text)
        parent = module.rsplit("::", 1)[0] if "::" in module else ""
        targets = []
        for ref in re.findall(r"crate::([a-z_]+(?:::[a-z_]+)*)", code):
            parts = ref.split("::")
            for k in range(len(parts), 0, -1):
                if "::".join(parts[:k]) in found:
                    targets.append("::".join(parts[:k]))
                    break
        for ref in re.findall(r"super::([a-z_]+)", code):
            target = f"{parent}::{ref}" if parent else ref
            if target in found:
                targets.append(target)
        for target in targets:
            if target == module:
                continue
            if not (target.startswith(module + "::") or module.startswith(target + "::")):
                files.add((module, target))
            top, target_top = module.split("::")[0], target.split("::")[0]
            if top and top != target_top:
                tops.add((top, target_top))
    return files, tops


def circles(graph_edges):
    graph = {}
    for a, b in graph_edges:
        graph.setdefault(a, set()).add(b)
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def main():
    found = modules()
    problems = []
    files, tops = edges(found)
    for circle in circles(tops):
        problems.append("import circle between modules: " + " -> ".join(circle))
    for circle in circles(files):
        problems.append("import circle between files: " + " -> ".join(circle))
    for module, (path, text) in sorted(found.items()):
        lines = text.count("\n")
        if lines > MAX_LINES:
            problems.append(f"{os.path.relpath(path, ROOT)} has {lines} lines (over {MAX_LINES})")
    crate_map = "\n".join(l for l in found[""][1].splitlines() if l.startswith("//!"))
    for top in sorted({m.split("::")[0] for m in found if m and "::" not in m}):
        if f"[`{top}`]" not in crate_map:
            problems.append(f"src/lib.rs's crate map does not name `{top}`")
    for problem in problems:
        print(problem)
    print(f"check-house: {len(found)} files, {len(files)} file imports, "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
