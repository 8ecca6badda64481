#!/usr/bin/env python3
"""Mutation testing of the Redis store's Lua scripts (src/challenge/*.lua).

Plants one mutant at a time in a copy of the scripts and runs the store suite
against a real redis-server for each; a mutant the suite still passes with
survived. Every Lua mutant must be killed: the run fails on any survivor.

Operators (in code, never in comments or string literals):
  relational  <  <-> <=,  >  <-> >=,  == <-> ~=
  off by one  + 1 -> - 1,  + 1 -> (dropped),  - 1 -> + 1
  statement   one `redis.call(...)` statement dropped (its lines blanked)

The suite is built once (`cargo test --lib --no-run`); the unit-test binary
reads the scripts from the directory named by OTP_SIDECAR_TEST_LUA_DIR
(`lua!` in src/challenge/redis.rs, compiled into this crate's own unit tests
only), so no mutant needs a rebuild. Every .lua file in the directory is
discovered, and each must be loaded through `lua!` (or `script!`, built on
it), or the run stops.

Usage: scripts/lua-mutants.py [--filter F] [--timeout S] [--only FILE] [--list]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA_DIR = ROOT / "src" / "challenge"
DIR_VAR = "OTP_SIDECAR_TEST_LUA_DIR"
# The store suite (and the Redis-only cases) on one real redis-server.
DEFAULT_FILTER = "challenge::tests::redis::redis_single::"

RELATIONAL = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "~=", "~=": "=="}
OPERATOR_RE = re.compile(r"<=|>=|==|~=|<|>")
PLUS_ONE_RE = re.compile(r"\s\+\s1(?![\w.])")
MINUS_ONE_RE = re.compile(r"\s-\s1(?![\w.])")


def code_spans(line):
    """(start, end) spans of `line` that are code: outside string literals
    and before a `--` comment."""
    spans, start, i, quote = [], 0, 0, None
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
                start = i + 1
        elif c in "'\"":
            spans.append((start, i))
            quote = c
        elif line.startswith("--", i):
            spans.append((start, i))
            return [s for s in spans if s[0] < s[1]]
        i += 1
    if not quote:
        spans.append((start, len(line)))
    return [s for s in spans if s[0] < s[1]]


def in_code(spans, pos, end):
    return any(a <= pos and end <= b for a, b in spans)


def statement_end(lines, row, col):
    """The (row, col) just past the `)` closing the call opened at lines[row][col:]."""
    depth = 0
    r, c = row, col
    while r < len(lines):
        spans = code_spans(lines[r])
        while c < len(lines[r]):
            ch = lines[r][c]
            if in_code(spans, c, c + 1):
                if ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                    if depth == 0:
                        return r, c + 1
            c += 1
        r, c = r + 1, 0
    raise ValueError(f"unbalanced redis.call at line {row + 1}")


def mutants_of(name, text):
    """Every mutant of one script: (description, mutated text)."""
    lines = text.split("\n")
    out = []

    def replaced(row, start, end, new):
        mutated = list(lines)
        mutated[row] = lines[row][:start] + new + lines[row][end:]
        return "\n".join(mutated)

    for row, line in enumerate(lines):
        spans = code_spans(line)
        where = f"{name}:{row + 1}"
        for m in OPERATOR_RE.finditer(line):
            if in_code(spans, m.start(), m.end()):
                op = m.group()
                out.append((f"{where}:{m.start() + 1}: `{op}` -> `{RELATIONAL[op]}`",
                            replaced(row, m.start(), m.end(), RELATIONAL[op])))
        for m in PLUS_ONE_RE.finditer(line):
            if in_code(spans, m.start(), m.end()):
                at = f"{where}:{m.start() + 2}"
                out.append((f"{at}: `+ 1` -> `- 1`", replaced(row, m.start(), m.end(), " - 1")))
                out.append((f"{at}: `+ 1` dropped", replaced(row, m.start(), m.end(), "")))
        for m in MINUS_ONE_RE.finditer(line):
            if in_code(spans, m.start(), m.end()):
                out.append((f"{where}:{m.start() + 2}: `- 1` -> `+ 1`", replaced(row, m.start(), m.end(), " + 1")))
        stripped = line.lstrip()
        if stripped.startswith("redis.call(") and in_code(spans, len(line) - len(stripped), len(line) - len(stripped) + 1):
            col = line.index("redis.call(") + len("redis.call")
            end_row, end_col = statement_end(lines, row, col)
            if lines[end_row][end_col:].strip() not in ("", ";"):
                continue  # not a statement of its own
            mutated = list(lines)
            for r in range(row, end_row + 1):
                mutated[r] = ""
            call = line.strip()
            if end_row > row:
                call += " ..."
            out.append((f"{where}: `{call}` dropped", "\n".join(mutated)))
    return out


def loaded_through_lua_macro(files):
    """The names of the .lua files the Rust side does not load through `lua!`
    (directly, or through `script!`, which prepends record.lua)."""
    rust = "".join(p.read_text() for p in LUA_DIR.glob("*.rs"))
    return [f.name for f in files
            if f'lua!("{f.name}")' not in rust and f'script!("{f.name}")' not in rust]


def build_suite():
    cmd = ["cargo", "test", "--lib", "--locked", "--no-run", "--message-format=json"]
    print("building the store suite:", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit("lua-mutants: the unit tests do not build")
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if (msg.get("reason") == "compiler-artifact" and msg.get("executable")
                and msg["target"]["kind"] == ["lib"] and msg["profile"]["test"]):
            return msg["executable"]
    sys.exit("lua-mutants: cargo named no unit-test binary")


def run_suite(binary, lua_dir, test_filter, timeout):
    """'passed', 'failed' or 'timeout' for the suite on the scripts in lua_dir."""
    env = dict(os.environ, **{DIR_VAR: str(lua_dir)})
    try:
        proc = subprocess.run([binary, test_filter, "--quiet"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    ran = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed", proc.stdout)
    if ran is None or int(ran.group(1)) + int(ran.group(2)) == 0:
        sys.exit(f"lua-mutants: the filter {test_filter!r} ran no test:\n{proc.stdout[-2000:]}")
    return ("passed" if proc.returncode == 0 else "failed"), proc.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--filter", default=DEFAULT_FILTER, help="test name filter (the store suite)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds one suite run may take")
    ap.add_argument("--only", action="append", help="mutate only this file (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the mutants and stop")
    args = ap.parse_args()

    files = sorted(LUA_DIR.glob("*.lua"))
    if args.only:
        files = [f for f in files if f.name in args.only]
    missing = loaded_through_lua_macro(sorted(LUA_DIR.glob("*.lua")))
    if missing:
        sys.exit(f"lua-mutants: not loaded through lua!(...) in src/challenge/*.rs, so a "
                 f"mutant could not reach the suite: {', '.join(missing)}")
    plan = [(f.name, desc, text) for f in files for desc, text in mutants_of(f.name, f.read_text())]
    if args.list:
        for _, desc, _ in plan:
            print(desc)
        print(f"{len(plan)} mutants in {len(files)} files")
        return 0

    binary = build_suite()
    work = Path(tempfile.mkdtemp(prefix="lua-mutants-"))
    try:
        pristine = work / "pristine"
        shutil.copytree(LUA_DIR, pristine, ignore=shutil.ignore_patterns("*.rs", "tests"))
        start = time.monotonic()
        status, output = run_suite(binary, pristine, args.filter, args.timeout)
        baseline = time.monotonic() - start
        if status != "passed":
            print(output[-4000:])
            sys.exit(f"lua-mutants: the suite does not pass on the unmutated scripts ({status})")
        print(f"baseline: the suite passes on the unmutated scripts in {baseline:.0f} s; "
              f"{len(plan)} mutants", flush=True)

        results = {}
        for i, (name, desc, text) in enumerate(plan, 1):
            mutant = work / f"m{i}"
            shutil.copytree(pristine, mutant)
            (mutant / name).write_text(text)
            t = time.monotonic()
            status, _ = run_suite(binary, mutant, args.filter, args.timeout)
            shutil.rmtree(mutant)
            verdict = {"failed": "caught", "timeout": "timeout", "passed": "MISSED"}[status]
            results.setdefault(name, []).append((desc, verdict))
            print(f"[{i}/{len(plan)}] {verdict:7} {desc} ({time.monotonic() - t:.0f} s)", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("\nper script: caught / timeout / missed")
    survivors = []
    for name in sorted(results):
        verdicts = [v for _, v in results[name]]
        print(f"  {name:16} {verdicts.count('caught'):3} {verdicts.count('timeout'):3} "
              f"{verdicts.count('MISSED'):3}")
        survivors += [d for d, v in results[name] if v == "MISSED"]
    total = sum(len(v) for v in results.values())
    print(f"lua mutants: {total - len(survivors)} killed, {len(survivors)} survived")
    for d in survivors:
        print(f"  survived: {d}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
