#!/usr/bin/env python3
"""The outcome of every Rust mutant of one module, kept across cargo-mutants
runs, so that a full run can be staged and resumed (scripts/mutants.sh).

A module's mutants are tested in two stages: `quick` (the module's fast tests)
for every mutant, then `full` (all the tests that can kill them) for those
the quick stage missed. A mutant is settled for a stage, and not tested
again in it, when:

  quick  it has any outcome;
  full   it was caught, unviable or timed out in either stage.

So a mutant the full stage missed is tested again in the next run (after a
test was added for it, say), and one the quick stage missed waits for the
full stage. A mutant has its final outcome once it is settled for the full
stage or the full stage missed it.

The ledger (DIR/ledger.json) maps each mutant, as cargo-mutants names it
(`src/file.rs:line:col: what`), to [outcome, stage, digest]: the digest is
that of its file's text when it was tested. An outcome holds only for that
text: when a file changes, its mutants' outcomes are dropped and they are
tested again; the other files' outcomes are kept. Test files are not
examined, and a file's own test module (`#[cfg(test)]` then `mod tests`,
with no mutant after its first line) is left out of its digest, so a new
test drops nothing.

  mutants-ledger.py open DIR ALL         ALL: the mutant list (one a line);
                                         drops the outcomes of changed files
  mutants-ledger.py seed DIR STAGE OUT   before a run: write
                                         OUT/previously_caught.txt, the
                                         mutants settled for STAGE, which
                                         `cargo mutants --iterate` then skips,
                                         and OUT/../digests.json, the files'
                                         digests; prints how many are left
  mutants-ledger.py merge DIR STAGE OUT  after a run (or a stopped one):
                                         record the outcomes in OUT, for the
                                         digests the run started with
  mutants-ledger.py summary MODULE=DIR...
                                         the kill rate per module, every
                                         survivor, and what is still pending
"""
import hashlib
import json
import os
import sys

OUTCOMES = ("caught", "missed", "unviable", "timeout")
FINAL = ("caught", "unviable", "timeout")


def load(d):
    path = os.path.join(d, "ledger.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def save(d, ledger):
    path = os.path.join(d, "ledger.json")
    with open(path + ".new", "w") as f:
        json.dump(ledger, f, indent=0, sort_keys=True)
    os.replace(path + ".new", path)


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def all_mutants(d):
    return lines(os.path.join(d, "all.txt"))


def file_of(mutant):
    return mutant.split(":", 1)[0]


def line_of(mutant):
    return int(mutant.split(":", 2)[1])


def code_part(text, last_mutant_line):
    """The text before the file's test module, when no mutant lies in or
    after it; the whole text otherwise."""
    lines = text.split(b"\n")
    for i, line in enumerate(lines):
        if line.strip() != b"#[cfg(test)]" or i + 1 < last_mutant_line:
            continue
        following = [l.strip() for l in lines[i + 1:i + 4]]
        module = next((l for l in following if not l.startswith(b"#[")), b"")
        if module in (b"mod tests {", b"mod tests;"):
            return b"\n".join(lines[:i])
    return text


def digests(mutants):
    """The digest of each examined file's code (paths relative to the cwd)."""
    last = {}
    for m in mutants:
        last[file_of(m)] = max(last.get(file_of(m), 0), line_of(m))
    out = {}
    for path in sorted(last):
        with open(path, "rb") as f:
            code = code_part(f.read(), last[path])
        out[path] = hashlib.sha256(code).hexdigest()[:16]
    return out


def settled(entry, stage):
    if entry is None:
        return False
    return stage == "quick" or entry[0] in FINAL


def final(entry):
    return settled(entry, "full") or entry[:2] == ["missed", "full"]


def cmd_open(d, listing):
    os.makedirs(d, exist_ok=True)
    mutants = lines(listing)
    current = digests(mutants)
    ledger = load(d)
    kept = {m: e for m, e in ledger.items() if m in set(mutants) and current.get(file_of(m)) == e[2]}
    changed = sorted({file_of(m) for m in ledger if m not in kept})
    if changed:
        print(f"  changed since their mutants were tested: {', '.join(changed)}")
    save(d, kept)
    with open(os.path.join(d, "all.txt"), "w") as f:
        f.writelines(m + "\n" for m in mutants)


def cmd_seed(d, stage, out):
    ledger, mutants = load(d), all_mutants(d)
    done = [m for m in mutants if settled(ledger.get(m), stage)]
    os.makedirs(out, exist_ok=True)
    # The seed goes in previously_caught.txt alone: --iterate reads it with
    # caught.txt and unviable.txt, and merge reads only this run's files.
    for name in OUTCOMES:
        path = os.path.join(out, name + ".txt")
        if os.path.exists(path):
            os.remove(path)
    with open(os.path.join(out, "previously_caught.txt"), "w") as f:
        f.writelines(m + "\n" for m in done)
    with open(os.path.join(os.path.dirname(out), "digests.json"), "w") as f:
        json.dump(digests(mutants), f, indent=0, sort_keys=True)
    print(len(mutants) - len(done))


def cmd_merge(d, stage, out):
    ledger = load(d)
    known = set(all_mutants(d))
    with open(os.path.join(os.path.dirname(out), "digests.json")) as f:
        started = json.load(f)
    current = digests(known)
    for outcome in OUTCOMES:
        for m in lines(os.path.join(out, outcome + ".txt")):
            digest = started.get(file_of(m))
            if digest is None:
                sys.exit(f"{out}/{outcome}.txt: {m!r} is not a mutant of the examined files")
            # An outcome for a file's earlier text is of no use now.
            if m in known and digest == current.get(file_of(m)):
                ledger[m] = [outcome, stage, digest]
    save(d, ledger)


def cmd_summary(pairs):
    print(f"{'module':10} {'mutants':>7} {'caught':>6} {'missed':>6} {'unviable':>8} "
          f"{'timeout':>7} {'pending':>7} {'kill rate':>9}")
    survivors, status = [], 0
    for pair in pairs:
        module, d = pair.split("=", 1)
        ledger, mutants = load(d), all_mutants(d)
        n = dict.fromkeys(OUTCOMES + ("pending",), 0)
        for m in mutants:
            entry = ledger.get(m)
            if entry is None or not final(entry):
                n["pending"] += 1
                continue
            n[entry[0]] += 1
            if entry[0] == "missed":
                survivors.append(m)
        judged = n["caught"] + n["missed"]
        rate = f"{100 * n['caught'] / judged:.1f}%" if judged else "-"
        print(f"{module:10} {len(mutants):7} {n['caught']:6} {n['missed']:6} {n['unviable']:8} "
              f"{n['timeout']:7} {n['pending']:7} {rate:>9}")
        if n["pending"]:
            status = 1
    if survivors:
        print("missed:")
        for m in survivors:
            print(f"  {m}")
    return status


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "open" and len(args) == 2:
        cmd_open(*args)
    elif cmd == "merge" and len(args) == 3 and args[1] in ("quick", "full"):
        cmd_merge(*args)
    elif cmd == "seed" and len(args) == 3 and args[1] in ("quick", "full"):
        cmd_seed(*args)
    elif cmd == "summary" and args:
        return cmd_summary(args)
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
