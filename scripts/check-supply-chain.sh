#!/usr/bin/env bash
# Supply-chain stage:
#   advisories  cargo-audit against the RustSec snapshot at ../shared/advisory-db (offline);
#               fails on any advisory (vulnerability, unsound, unmaintained) that is not
#               listed, with its reason, in supply-chain/advisory-ignore.toml
#   licenses, sources, bans
#               cargo-deny with deny.toml (offline, after `cargo fetch --locked`)
#   java        the Keycloak authenticator jar ships no dependency: Maven's runtime
#               classpath of keycloak-flow is empty (everything is `provided` by Keycloak)
# Installs its pinned tools from crates.io (`cargo install --locked`) when missing. Without
# ../shared/advisory-db (a clone elsewhere) it says so and skips the advisory check only.
set -uo pipefail
cd "$(dirname "$0")/.."

CARGO_AUDIT_VERSION=0.22.2
CARGO_DENY_VERSION=0.20.2
ADVISORY_DB=${ADVISORY_DB:-../shared/advisory-db}
IGNORE_FILE=supply-chain/advisory-ignore.toml
OUT=target/supply-chain

passed=0
failed=0
skipped=0
result() {
	case $1 in
	pass) passed=$((passed + 1)) ;;
	fail) failed=$((failed + 1)) ;;
	skip) skipped=$((skipped + 1)) ;;
	esac
	printf 'supply-chain: %-4s %s\n' "$1" "$2"
}

# cargo install --locked TOOL --version V, unless that version is installed.
ensure_tool() {
	local tool=$1 version=$2
	if cargo install --list | grep -qx "$tool v$version:"; then
		return 0
	fi
	echo "supply-chain: installing $tool $version from crates.io (cargo install --locked)"
	cargo install --locked --quiet "$tool" --version "$version"
}

mkdir -p "$OUT"

# ---- advisories
if [[ ! -d "$ADVISORY_DB/crates" ]]; then
	result skip "advisories: $ADVISORY_DB not found (the RustSec snapshot comes with ../shared beside the clone)"
elif ! ensure_tool cargo-audit "$CARGO_AUDIT_VERSION"; then
	result fail "advisories: could not install cargo-audit $CARGO_AUDIT_VERSION"
else
	cargo audit --db "$ADVISORY_DB" --no-fetch --stale --json --file Cargo.lock >"$OUT/audit.json" 2>"$OUT/audit.stderr"
	if python3 - "$OUT/audit.json" "$IGNORE_FILE" <<'PY'; then
import json, re, sys, tomllib

report_file, ignore_file = sys.argv[1], sys.argv[2]
try:
    report = json.load(open(report_file))
except ValueError:
    sys.exit(f"advisories: cargo audit gave no report; see {report_file} and its .stderr")
with open(ignore_file, "rb") as f:
    entries = tomllib.load(f).get("ignore", [])

bad = False
ignored = {}
for e in entries:
    if not re.fullmatch(r"RUSTSEC-\d{4}-\d{4}", str(e.get("id", ""))) or not e.get("crate") \
            or not str(e.get("reason", "")).strip():
        print(f"  {ignore_file}: entry {e} needs an id RUSTSEC-YYYY-NNNN, a crate and a reason")
        bad = True
    ignored[e.get("id")] = e

found = [(v["advisory"], v["package"]) for v in report["vulnerabilities"]["list"]]
for kind, items in report.get("warnings", {}).items():
    found += [(w["advisory"], w["package"]) for w in items if w.get("advisory")]
print(f"  RustSec database: {report['database']['advisory-count']} advisories;"
      f" Cargo.lock: {report['lockfile']['dependency-count']} crates")
matched = set()
for adv, pkg in found:
    line = f"{adv['id']} {pkg['name']} {pkg['version']}: {adv['title']}"
    e = ignored.get(adv["id"])
    if e and e.get("crate") == pkg["name"]:
        matched.add(adv["id"])
        print(f"  ignored  {line}\n           reason: {e['reason']}")
    else:
        bad = True
        print(f"  FOUND    {line} ({adv.get('url') or 'https://rustsec.org/advisories/' + adv['id']})")
for i in ignored:
    if i not in matched:
        print(f"  note     {i} is listed in {ignore_file} but matches nothing in Cargo.lock any more; remove it")
sys.exit(1 if bad else 0)
PY
		result pass "advisories (cargo-audit $CARGO_AUDIT_VERSION, $ADVISORY_DB)"
	else
		result fail "advisories: see above; list an advisory in $IGNORE_FILE only with its reason"
	fi
fi

# ---- licenses, sources, bans
if ! ensure_tool cargo-deny "$CARGO_DENY_VERSION"; then
	result fail "licenses, sources, bans: could not install cargo-deny $CARGO_DENY_VERSION"
# cargo-deny reads every crate of Cargo.lock, those of other platforms too, which no build
# here downloads; fetch them all first so that its offline run finds them.
elif ! cargo fetch --locked >"$OUT/fetch.log" 2>&1; then
	tail -20 "$OUT/fetch.log"
	result fail "licenses, sources, bans: cargo fetch --locked could not download the crates of Cargo.lock (see $OUT/fetch.log)"
else
	for check in licenses sources bans; do
		if cargo deny --offline --locked check --hide-inclusion-graph "$check" >"$OUT/deny-$check.log" 2>&1; then
			result pass "$check (cargo-deny $CARGO_DENY_VERSION, deny.toml)"
		else
			grep -E '^(error|warning)|\[ERROR\]|├|└|= ' "$OUT/deny-$check.log" | head -40
			result fail "$check: see $OUT/deny-$check.log"
		fi
	done
fi

# ---- the Keycloak jar's runtime dependencies: none
if mvn -B -q -f keycloak-flow/pom.xml dependency:list -DincludeScope=runtime -DexcludeTransitive=false \
	-DoutputFile="$PWD/$OUT/java-runtime-deps.txt" >"$OUT/java.log" 2>&1; then
	deps=$(grep -E '^ +[^ ]+:[^ ]+:' "$OUT/java-runtime-deps.txt" || true)
	if [[ -z "$deps" ]]; then
		result pass "java: keycloak-flow has no runtime dependency (all provided by Keycloak)"
	else
		echo "$deps"
		result fail "java: keycloak-flow would need these at runtime; the jar ships none of them (keycloak-flow/README.md)"
	fi
else
	tail -n 20 "$OUT/java.log"
	result fail "java: mvn dependency:list failed ($OUT/java.log)"
fi

echo "supply-chain: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
