#!/usr/bin/env python3
"""The shape of the Rust tree, checked (run by scripts/test.sh; docs/ARCHITECTURE.md says why).

1. No crate holds more than a third of the Rust lines under src-tauri/*/src.
2. No two files of a crate import each other: file A refers to a module of file B
   (`crate::b…`, `super::b…`, `self::b…`, also inline paths) and B refers to A. A file's
   references to its own ancestor module files (lib.rs, main.rs, a mod.rs above it) do
   not count: a parent declares and re-exports its children by construction. Code after
   a `#[cfg(test)]` line is not looked at (tests may reach anywhere).
3. The SQL is in one place, the store (src-tauri/store): no file of another crate names
   `sqlx` (before its `#[cfg(test)]` line), but the contract's error conversion.
4. The mail server and the admin API server build on the contract's traits, not on the
   engine: `postdesk-engine` is not among the normal (non-dev) dependencies of
   `postdesk-mailserver` or `postdesk-server`, directly or through another crate.

Exits 1 with every violation listed.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = os.path.join(ROOT, "src-tauri")
problems = []


def rust_files(src):
    for dirpath, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                yield os.path.join(dirpath, name)


def code_lines(path):
    """The file's lines up to its first `#[cfg(test)]`, comments removed."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip().startswith("#[cfg(test)]"):
                break
            out.append(re.sub(r"//.*", "", line))
    return out


def module_path(src, path):
    """`src/a/b.rs` → ('a', 'b'); `src/a/mod.rs` → ('a',); `src/lib.rs` → ()."""
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == "mod" or (len(rel) == 1 and rel[0] in ("lib", "main")):
        rel = rel[:-1]
    return tuple(rel)


# 1. lines per crate
sizes = {}
for crate in sorted(os.listdir(CRATES)):
    src = os.path.join(CRATES, crate, "src")
    if os.path.isdir(src):
        sizes[crate] = sum(sum(1 for _ in open(p, encoding="utf-8")) for p in rust_files(src))
total = sum(sizes.values())
for crate, n in sizes.items():
    if n * 3 > total:
        problems.append(f"crate {crate} holds {n} of {total} Rust lines (more than a third)")

# 2. files that import each other
PATH_RE = re.compile(r"\b(crate|super|self)((?:::\w+)+)")
GROUP_RE = re.compile(r"\b(crate|super|self)((?:::\w+)*)::\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}", re.S)
for crate in sizes:
    src = os.path.join(CRATES, crate, "src")
    files = {module_path(src, p): p for p in rust_files(src)}
    is_dir_module = {m: os.path.basename(p) in ("mod.rs", "lib.rs", "main.rs") for m, p in files.items()}

    def resolve(current, anchor, segments):
        if anchor == "crate":
            base = ()
        else:
            # `self` is the file's module; `super` its parent (for a mod.rs, the module itself is the dir).
            base = current if anchor == "self" else current[:-1]
        full = base + tuple(segments)
        # the longest prefix that is a file
        for n in range(len(full), -1, -1):
            if full[:n] in files:
                return full[:n]
        return None

    edges = {m: set() for m in files}
    for m, p in files.items():
        text = "".join(code_lines(p))
        refs = []
        for g in GROUP_RE.finditer(text):
            prefix = [s for s in g.group(2).split("::") if s]
            for item in re.split(r",", re.sub(r"\{[^{}]*\}", "", g.group(3))):
                head = item.strip().split("::")[0].split(" as ")[0].strip()
                if head and head != "self":
                    refs.append((g.group(1), prefix + [head]))
                elif head == "self":
                    refs.append((g.group(1), prefix))
        for r in PATH_RE.finditer(text):
            refs.append((r.group(1), [s for s in r.group(2).split("::") if s]))
        for anchor, segments in refs:
            target = resolve(m, anchor, segments)
            if target is None or target == m:
                continue
            # references to an ancestor module file do not count
            if target == m[: len(target)]:
                continue
            edges[m].add(target)
    seen = set()
    for a, targets in edges.items():
        for b in targets:
            if a in edges.get(b, ()) and (b, a) not in seen:
                # a parent module file and its child also do not count from the parent's side
                if a == b[: len(a)] or b == a[: len(b)]:
                    continue
                seen.add((a, b))
                problems.append(
                    f"{crate}: {os.path.relpath(files[a], ROOT)} and {os.path.relpath(files[b], ROOT)} import each other"
                )

# 3. sqlx only in the store (and the contract's `From<sqlx::Error>`)
for crate in sorted(os.listdir(CRATES)):
    src = os.path.join(CRATES, crate, "src")
    if crate == "store" or not os.path.isdir(src):
        continue
    for p in rust_files(src):
        rel = os.path.relpath(p, CRATES)
        if rel == os.path.join("contract", "src", "error.rs"):
            continue
        for i, line in enumerate(code_lines(p), 1):
            if "sqlx" in line:
                problems.append(f"{rel}:{i} names sqlx outside the store (src-tauri/store)")

# 4. mailserver and server without the engine
meta = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
workspace = {p["name"]: p for p in meta["packages"] if p["id"] in meta["workspace_members"]}


def normal_deps(name, seen):
    for d in workspace[name]["dependencies"]:
        if d["kind"] is None and d["name"] in workspace and d["name"] not in seen:
            seen.add(d["name"])
            normal_deps(d["name"], seen)
    return seen


for crate in ("postdesk-mailserver", "postdesk-server"):
    if "postdesk-engine" in normal_deps(crate, set()):
        problems.append(f"{crate} depends on postdesk-engine (it must use the contract's traits)")

print("Rust lines per crate (src/): " + ", ".join(f"{c} {n}" for c, n in sorted(sizes.items(), key=lambda x: -x[1])) + f"; total {total}")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print("layers: ok")
