#!/usr/bin/env python3
"""The outcome of every Rust mutant of one module, kept across cargo-mutants
runs, so that a full run can be staged and resumed (scripts/mutants.sh).

A module's mutants are tested in two stages: `quick` (the module's fast tests)
for every mutant, then `full` (all the tests that can kill them) for those
the quick stage missed. A mutant's outcome is settled for a stage when:

  quick  it has any outcome;
  full   it was caught, unviable or timed out in either stage, or has an
         outcome of the full stage.

The ledger (DIR/ledger.json) maps each mutant, as cargo-mutants names it, to
[outcome, stage]. It belongs to one version of the examined code: DIR/key
holds a digest of the mutant list and the examined files, and a ledger of
another digest is dropped.

  mutants-ledger.py open DIR KEY ALL     keep or drop the ledger for KEY;
                                         ALL: the mutant list (one a line)
  mutants-ledger.py merge DIR STAGE OUT  record the outcomes of the run whose
                                         mutants.out is OUT
  mutants-ledger.py seed DIR STAGE OUT   write OUT/previously_caught.txt: the
                                         mutants settled for STAGE, which
                                         `cargo mutants --iterate` then skips;
                                         prints how many are left
  mutants-ledger.py summary MODULE=DIR...
                                         the kill rate per module, every
                                         survivor, and what is still pending
"""
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


def settled(entry, stage):
    if entry is None:
        return False
    outcome, at = entry
    return stage == "quick" or outcome in FINAL or at == "full"


def cmd_open(d, key, listing):
    os.makedirs(d, exist_ok=True)
    key_path = os.path.join(d, "key")
    old = lines(key_path)
    if old != [key]:
        if os.path.exists(os.path.join(d, "ledger.json")):
            print("  the examined code changed since the last run: its outcomes are dropped")
        save(d, {})
        with open(key_path, "w") as f:
            f.write(key + "\n")
    with open(os.path.join(d, "all.txt"), "w") as f:
        f.writelines(m + "\n" for m in lines(listing))


def cmd_merge(d, stage, out):
    ledger = load(d)
    known = set(all_mutants(d))
    for outcome in OUTCOMES:
        for m in lines(os.path.join(out, outcome + ".txt")):
            if m not in known:
                sys.exit(f"{out}/{outcome}.txt: {m!r} is not a mutant of this code")
            ledger[m] = [outcome, stage]
    save(d, ledger)


def cmd_seed(d, stage, out):
    ledger = load(d)
    done = [m for m in all_mutants(d) if settled(ledger.get(m), stage)]
    os.makedirs(out, exist_ok=True)
    # Only this file: --iterate reads caught.txt, previously_caught.txt and
    # unviable.txt, and merge reads caught.txt, so the seed goes here alone.
    for name in ("caught.txt", "unviable.txt", "missed.txt", "timeout.txt"):
        path = os.path.join(out, name)
        if os.path.exists(path):
            os.remove(path)
    with open(os.path.join(out, "previously_caught.txt"), "w") as f:
        f.writelines(m + "\n" for m in done)
    print(len(all_mutants(d)) - len(done))


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
            if not settled(entry, "full"):
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
    if cmd == "open" and len(args) == 3:
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
