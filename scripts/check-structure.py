#!/usr/bin/env python3
"""Checks two structure rules of docs/ARCHITECTURE.md over every crate's `src/`:

1. No function longer than 120 lines, except the SIMD lane loops listed in ALLOWED (a function
   is counted from its `fn` line to its closing brace, comments and blank lines included).
2. No import circle between the files of one crate: when a file names `crate::a::…` (in a `use`
   or in a path) and the file of `a` names the first file's module back, or any longer loop. A
   module and its own submodules count as one (a parent declares its children, a child reads its
   parent's types); test modules are left out.

Prints each finding as `path:line: message` and exits 1 when there is one, 0 otherwise.
Usage: scripts/check-structure.py [ROOT]  (ROOT: the workspace, default this script's parent).
"""

import os
import re
import sys

MAX_LINES = 120

# (file relative to the workspace, function name): the documented SIMD lane loops, where one
# long function keeps every lane's arithmetic in registers (docs/ARCHITECTURE.md, `process.rs`).
ALLOWED = {
    ("crates/model/src/process.rs", "run_block_inline"),
    # The slices' per-block day consumer: one closure over the lanes of each day.
    ("crates/model/src/payoff/slices.rs", "block_inline"),
}

# Functions over the limit when the checker was written, with their length then: each may
# shrink (and must leave this list once it is within the limit) but not grow, and no function
# may join the list. Splitting them is open work (issue 18).
KNOWN = {
}

FN_RE = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:default\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?"
    r"(?:extern\s+\"[^\"]*\"\s+)?fn\s+([A-Za-z_][A-Za-z0-9_]*)"
)


def strip_code(text):
    """The text with comments, strings and char literals blanked (newlines kept), so braces and
    paths are only those of code."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 40]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            j = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            # A char literal ('x', '\n', '\u{1F600}') but not a lifetime ('a).
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:i + 12])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def long_functions(path, code):
    """(line, name, length) of each function whose body spans more than MAX_LINES lines."""
    lines = code.split("\n")
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln) + 1)
    found = []
    for no, ln in enumerate(lines):
        m = FN_RE.match(ln)
        if not m:
            continue
        # The body starts at the first `{` after the signature, unless a `;` ends it first
        # (a trait method without a body).
        k = offsets[no] + m.end()
        while k < len(code) and code[k] not in "{;":
            k += 1
        if k >= len(code) or code[k] == ";":
            continue
        depth, j = 0, k
        while j < len(code):
            if code[j] == "{":
                depth += 1
            elif code[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        end_line = code.count("\n", 0, j)
        length = end_line - no + 1
        if length > MAX_LINES:
            found.append((no + 1, m.group(1), length))
    return found


def module_files(src):
    """Module path (tuple) → file, for the files under a crate's `src/`."""
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            if rel and rel[0] == "bin":
                continue
            mods[tuple(rel)] = full
    return mods


def expand_use(tree):
    """The paths of a `use` tree text (`a::{b, c::{d, e}}` → a::b, a::c::d, a::c::e)."""
    tree = tree.strip()
    depth, top = 0, None
    for i, c in enumerate(tree):
        if c == "{":
            if depth == 0 and top is None:
                top = i
            depth += 1
        elif c == "}":
            depth -= 1
    if top is None:
        return [tree]
    head = tree[:top].rstrip(":").strip()
    inner = tree[top + 1:tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for c in inner:
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += c == "{"
        depth -= c == "}"
        cur += c
    parts.append(cur)
    out = []
    for p in parts:
        if not p.strip():
            continue
        for q in expand_use(p):
            out.append(head + "::" + q if head else q)
    return out


def crate_refs(code):
    """Every `crate::…` path a file names, as lists of segments."""
    refs = []
    for m in re.finditer(r"\buse\s+(crate::[^;]*);", code):
        for p in expand_use(m.group(1)):
            refs.append([s.strip() for s in p.split(" as ")[0].split("::")][1:])
    for m in re.finditer(r"\bcrate((?:::[A-Za-z_][A-Za-z0-9_]*)+)", code):
        refs.append(m.group(1).split("::")[1:])
    return refs


def resolve(mods, segs):
    """The longest module prefix of `segs` that is a file; None for the crate root."""
    for k in range(len(segs), 0, -1):
        if tuple(segs[:k]) in mods:
            return tuple(segs[:k])
    return None


def related(a, b):
    """True when module `a` is `b`, or one contains the other."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def cycles(graph):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    crates = []
    for base in ("crates", "."):
        d = os.path.join(root, base)
        for name in sorted(os.listdir(d)):
            src = os.path.join(d, name, "src")
            if os.path.isdir(src) and os.path.isfile(os.path.join(d, name, "Cargo.toml")):
                crates.append(src)
    findings = []
    for src in crates:
        mods = module_files(src)
        graph = {}
        for mod, path in sorted(mods.items()):
            rel = os.path.relpath(path, root)
            with open(path, encoding="utf-8") as f:
                code = strip_code(f.read())
            for line, name, length in long_functions(rel, code):
                if (rel, name) in ALLOWED or length <= KNOWN.get((rel, name), 0):
                    continue
                findings.append(f"{rel}:{line}: fn {name} is {length} lines (limit {MAX_LINES}; split it)")
            # Test modules may reach anywhere in their crate: only the code before them counts.
            cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+tests\b", code)
            body = code[:cut.start()] if cut else code
            for segs in crate_refs(body):
                target = resolve(mods, segs)
                # A module and its own submodules are one unit (the parent declares and
                # re-exports its children; a child reads its parent's types).
                if target is None or mod == () or related(mod, target):
                    continue
                graph.setdefault(mod, set()).add(target)
        for comp in cycles(graph):
            files = [os.path.relpath(mods[m], root) for m in comp]
            findings.append(f"{files[0]}:1: import circle between {', '.join(files)}")
    for f in findings:
        print(f)
    if findings:
        print(f"check-structure: {len(findings)} finding(s)", file=sys.stderr)
        return 1
    print(f"check-structure: ok ({len(crates)} crates: no function over {MAX_LINES} lines beyond the lane loops and the {len(KNOWN)} known ones, no import circles)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
