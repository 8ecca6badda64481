#!/usr/bin/env python3
"""Kill rate per class from PIT's mutations.xml, and every surviving mutant.

Killed = KILLED or TIMED_OUT (PIT's own reading: a mutant that makes a test
hang is detected). Not killed = SURVIVED or NO_COVERAGE. NON_VIABLE and
MEMORY_ERROR / RUN_ERROR are reported apart and left out of the rate.

Usage: scripts/pit-summary.py keycloak-flow/target/pit-reports/mutations.xml
"""
import collections
import sys
import xml.etree.ElementTree as ET


def main(path):
    root = ET.parse(path).getroot()
    per_class = collections.defaultdict(collections.Counter)
    survivors = []
    for m in root:
        cls = m.findtext("mutatedClass").rsplit(".", 1)[-1].split("$")[0]
        status = m.get("status")
        per_class[cls][status] += 1
        if status in ("SURVIVED", "NO_COVERAGE"):
            survivors.append((cls, int(m.findtext("lineNumber")), m.findtext("mutatedMethod"),
                              m.findtext("description"), status))
    print(f"{'class':32} {'killed':>6} {'survived':>8} {'no cover':>8} {'other':>5} {'kill rate':>9}")
    totals = collections.Counter()
    for cls in sorted(per_class):
        c = per_class[cls]
        killed = c["KILLED"] + c["TIMED_OUT"]
        missed = c["SURVIVED"] + c["NO_COVERAGE"]
        other = sum(c.values()) - killed - missed
        totals.update(killed=killed, survived=c["SURVIVED"], nocov=c["NO_COVERAGE"], other=other)
        rate = f"{100 * killed / (killed + missed):.1f}%" if killed + missed else "-"
        print(f"{cls:32} {killed:6} {c['SURVIVED']:8} {c['NO_COVERAGE']:8} {other:5} {rate:>9}")
    judged = totals["killed"] + totals["survived"] + totals["nocov"]
    rate = f"{100 * totals['killed'] / judged:.1f}%" if judged else "-"
    print(f"{'all':32} {totals['killed']:6} {totals['survived']:8} {totals['nocov']:8} "
          f"{totals['other']:5} {rate:>9}")
    for cls, line, method, description, status in sorted(survivors):
        print(f"  {status.lower():11} {cls}.{method} line {line}: {description}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
