#!/usr/bin/env bash
# Mutation testing (`make mutants`; docs/testing.md, "Mutation testing").
#
#   scripts/mutants.sh [rust|lua|java|sample]... [-- MODULE...]
#
# rust    cargo-mutants on the code that keeps the promises, one module at a
#         time (challenge, tokens, login, config, or those named after --),
#         in two stages: every mutant against the module's quick tests, then
#         those it missed against all the tests that can kill them. Each
#         outcome is kept (target/mutation/MODULE/ledger.json) with the
#         digest of its file, so a run that is stopped goes on where it
#         stopped when started again, and only the mutants of changed files
#         are tested again. Prints the kill rate per module:
#         caught / (caught + missed), unviable and timeouts apart.
#         MUTANTS_JOBS (default 2; one more in the full stage) mutants are
#         built and tested at once.
# lua     scripts/lua-mutants.py: every Lua mutant of src/challenge/*.lua
#         against the store suite on a real redis-server.
# java    PIT on the Keycloak authenticator (keycloak-flow, profile `mutants`).
# sample  the bounded run of `make test`: Rust mutants in the files changed
#         since the last tag (or MUTANTS_BASE), at most MUTANTS_SAMPLE of them;
#         fails on a survivor that docs/testing.md does not list as accepted.
#
# With no argument: rust, lua and java. The Rust mutants are built and tested
# in copies of the tree (target/mutation/tree, refreshed each run, so the
# checkout is never mutated): the full run with the `mutants` profile
# (Cargo.toml: no debug info) in cargo-mutants' own copies, each with a copy
# of the tree's target/, built once; the sample in place, with the `test`
# profile in the checkout's target/, so that it reuses what `cargo test` built.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CARGO_MUTANTS_VERSION=27.1.0
MODULES=(challenge tokens login config)
# Per mutant: how long the tests may run (s), how long a build may take (s).
TEST_TIMEOUT=${MUTANTS_TIMEOUT:-300}
BUILD_TIMEOUT=${MUTANTS_BUILD_TIMEOUT:-600}
NICE=${MUTANTS_NICE:-15}
JOBS=${MUTANTS_JOBS:-2}
OUT=$ROOT/target/mutation
TREE=$OUT/tree
ACCEPTED=docs/testing.md

# The tests that can kill each module's mutants (stage `full`): the unit
# tests of the module (the store suite for challenge, on memory and real
# redis-servers) and the black-box tests that exercise it through the real
# service. Stage `quick`, which every mutant meets first, runs the fast ones
# of those (a few seconds): a mutant they catch is caught by the full set too,
# so the stages change how long the run takes, not its outcome. Filters are
# substrings of test names, any of which selects a test; --skip drops one.
tests_for() {
  case $1/${2:-full} in
    challenge/quick) echo "--lib -- challenge:: --skip redis_cluster --skip redis_tls --skip redis_acl --skip consuming_writes_wait_for_a_replica" ;;
    challenge/full) echo "--lib --test api -- challenge:: config:: failover:: api:: mail:: crash::" ;;
    tokens/quick) echo "--lib -- tokens::" ;;
    tokens/full) echo "--lib --test api -- tokens:: config:: api:: refusals:: browser::" ;;
    login/quick) echo "--lib --test api -- login:: api::" ;;
    login/full) echo "--lib --test api -- login:: api:: browser:: look:: rerender:: refusals:: budget:: limits:: mail:: crash:: stall:: audit::" ;;
    config/quick) echo "--lib -- config::" ;;
    config/full) echo "--lib --test api -- config:: overrides:: ops:: process::" ;;
    *) echo "mutants: unknown module $1 (one of ${MODULES[*]})" >&2; return 1 ;;
  esac
}

ensure_cargo_mutants() {
  if ! cargo mutants --version 2>/dev/null | grep -qx "cargo-mutants $CARGO_MUTANTS_VERSION"; then
    echo "installing cargo-mutants $CARGO_MUTANTS_VERSION (crates.io)"
    nice -n "$NICE" cargo install --locked cargo-mutants --version "$CARGO_MUTANTS_VERSION"
  fi
}

# The tree as it is now (tracked and untracked files, .gitignore honoured),
# mtimes kept so that unchanged files stay fresh for cargo.
refresh_tree() {
  mkdir -p "$TREE"
  find "$TREE" -mindepth 1 -maxdepth 1 ! -name target -exec rm -rf {} +
  git ls-files -z --cached --others --exclude-standard |
    tar --null -T - -cf - 2>/dev/null | tar -xf - -C "$TREE"
}

# A copy of .cargo/mutants.toml that examines only the files matching "$@"
# (globs), written to $OUT/$name.toml; prints its path. Not --file or --re:
# --file adds to examine_globs, and cargo-mutants 27.1.0 lets the "delete
# field" mutants of every examined file through --re; a config of its own
# keeps each run to its files.
scoped_config() {
  local name=$1
  shift
  mkdir -p "$OUT"
  python3 - "$ROOT/.cargo/mutants.toml" "$OUT/$name.toml" "$@" <<'EOF'
import json, re, sys
source, target, globs = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(source).read()
scoped, n = re.subn(r"examine_globs = \[.*?\]", "examine_globs = " + json.dumps(globs), text, flags=re.S)
if n != 1:
    sys.exit(f"{source}: no examine_globs to narrow")
open(target, "w").write(scoped)
EOF
  echo "$OUT/$name.toml"
}

# The cargo-mutants options that pick a module's tests: the test targets as
# cargo arguments (so that a mutant builds only those), the name filters
# after `--` (for `cargo test` only).
test_options() {
  local args split=0 opts=()
  read -r -a args <<<"$(tests_for "$1" "${2:-full}")"
  for i in "${!args[@]}"; do [ "${args[$i]}" = "--" ] && split=$i; done
  for a in "${args[@]:0:$split}"; do opts+=("--cargo-arg=$a"); done
  opts+=(-- -- "${args[@]:$((split + 1))}")
  printf '%s\n' "${opts[@]}"
}

# caught / missed / unviable / timeout counts from one run's outcomes.json.
summarize() {
  python3 - "$@" <<'EOF'
import json, sys
print(f"{'module':10} {'caught':>6} {'missed':>6} {'unviable':>8} {'timeout':>7} {'kill rate':>9}")
for path in sys.argv[1:]:
    module, file = path.split("=", 1)
    try:
        outcomes = json.load(open(file))
    except OSError:
        print(f"{module:10} (no outcomes)")
        continue
    n = {"caught": outcomes.get("caught", 0), "missed": outcomes.get("missed", 0),
         "unviable": outcomes.get("unviable", 0), "timeout": outcomes.get("timeout", 0)}
    judged = n["caught"] + n["missed"]
    rate = f"{100 * n['caught'] / judged:.1f}%" if judged else "-"
    print(f"{module:10} {n['caught']:6} {n['missed']:6} {n['unviable']:8} {n['timeout']:7} {rate:>9}")
EOF
}

# Whether cargo-mutants' exit code $1 is a result: 0 all caught, 2 some
# missed, 3 some timed out; anything else (a tree that does not build, a
# usage error) is none, and is reported with its log, $2.
cargo_mutants_result() {
  case $1 in
    0 | 2 | 3) return 0 ;;
    *) echo "  cargo-mutants failed (exit $1); see $2"; return 1 ;;
  esac
}

# scripts/mutants-ledger.py, on the files of the tree that is mutated.
ledger() {
  (cd "$TREE" && python3 "$ROOT/scripts/mutants-ledger.py" "$@")
}

# One stage of one module: the mutants not yet settled for it, tested with
# that stage's tests.
run_stage() {
  local module=$1 stage=$2 config=$3 dir=$OUT/$1
  local out=$dir/$stage/mutants.out left tests=() timeout=$TEST_TIMEOUT jobs=$JOBS
  # A run stopped half-way left outcomes: keep them first.
  [ ! -f "$dir/$stage/digests.json" ] || ledger merge "$dir" "$stage" "$out"
  left=$(ledger seed "$dir" "$stage" "$out")
  echo "==> $module, stage $stage: $left mutant(s) to test ($(tests_for "$module" "$stage"))"
  [ "$left" -gt 0 ] || return 0
  mapfile -t tests < <(test_options "$module" "$stage")
  # The quick tests take seconds: a mutant that makes them hang is found
  # sooner. The full ones mostly wait (on failovers, cluster handshakes):
  # one job more.
  if [ "$stage" = quick ]; then
    timeout=${MUTANTS_QUICK_TIMEOUT:-30}
  else
    jobs=$((JOBS + 1))
  fi
  local rc=0
  (
    cd "$TREE"
    nice -n "$NICE" cargo mutants --iterate --no-shuffle --jobs "$jobs" --copy-target true \
      --config "$config" --timeout "$timeout" --build-timeout "$BUILD_TIMEOUT" \
      --profile mutants --output "$dir/$stage" --colors never "${tests[@]}"
  ) || rc=$?
  ledger merge "$dir" "$stage" "$out"
  cargo_mutants_result "$rc" "$out/debug.log"
}

rust() {
  local modules=("$@")
  [ ${#modules[@]} -gt 0 ] || modules=("${MODULES[@]}")
  for module in "${modules[@]}"; do tests_for "$module" >/dev/null; done
  ensure_cargo_mutants
  refresh_tree
  # Dependencies and the crate, once, in the tree's own target/: each
  # cargo-mutants job starts from a copy of it.
  echo "==> building the tree with the mutants profile"
  (cd "$TREE" && unset CARGO_TARGET_DIR && nice -n "$NICE" cargo test --locked --profile mutants --no-run --lib --test api -q)
  local results=() status=0 module stage
  for module in "${modules[@]}"; do
    local dir=$OUT/$module
    mkdir -p "$dir"
    scoped_config "$module" "src/$module/**/*.rs" >/dev/null
    (cd "$TREE" && cargo mutants --list --config "$OUT/$module.toml") >"$dir/list.txt"
    ledger open "$dir" "$dir/list.txt"
    results+=("$module=$dir")
  done
  # Every module's quick stage first: what only the slow tests can tell
  # comes last.
  for stage in quick full; do
    for module in "${modules[@]}"; do
      (unset CARGO_TARGET_DIR && run_stage "$module" "$stage" "$OUT/$module.toml") || status=1
    done
  done
  ledger summary "${results[@]}" || status=1
  return $status
}

lua() {
  nice -n "$NICE" python3 scripts/lua-mutants.py
}

java() {
  nice -n "$NICE" mvn -B -q -f keycloak-flow/pom.xml -P mutants \
    test-compile org.pitest:pitest-maven:mutationCoverage
  python3 scripts/pit-summary.py keycloak-flow/target/pit-reports/mutations.xml
}

# Survivors docs/testing.md accepts: the lines of its table of accepted Rust
# mutants, as cargo-mutants names them (`src/file.rs:line:col: what`, with
# `|` written `\|` in the table), without the line and column, which move
# with every edit.
accepted() {
  sed -n '/<!-- accepted-rust-mutants -->/,/<!-- \/accepted-rust-mutants -->/p' "$ACCEPTED" |
    grep -o '`src/[^`]*`' | tr -d '`' | sed -E 's/\\\|/|/g; s/^([^:]+):[0-9]+:[0-9]+: /\1: /'
}

sample() {
  local cap=${MUTANTS_SAMPLE:-4}
  local base=${MUTANTS_BASE:-}
  if [ -z "$base" ]; then
    base=$(git describe --tags --abbrev=0 2>/dev/null || true)
  fi
  if [ -z "$base" ]; then
    # No tag yet: the last 20 commits (CI clones with full history).
    base=$(git rev-list --max-count=21 HEAD | tail -n 1)
  fi
  local files=()
  while IFS= read -r f; do files+=("$f"); done < <(
    git diff --name-only "$base" -- 'src/challenge/*.rs' 'src/tokens/*.rs' 'src/login/*.rs' 'src/config/*.rs' |
      grep -v -E '(^|/)tests(\.rs|/)' || true)
  echo "mutants sample: Rust files changed since $(git rev-parse --short "$base"): ${#files[@]}"
  [ ${#files[@]} -gt 0 ] || { echo "nothing to sample"; return 0; }
  ensure_cargo_mutants
  refresh_tree
  # Each module with changes gets its share of $cap (at least one): every
  # k-th of its mutants, k = its mutants / its share; which of the k shards
  # runs follows the commit, so the sample moves over the mutants from one
  # commit to the next. Each runs against its module's own tests, the same
  # as in the full run.
  local modules_changed=0 module
  for module in "${MODULES[@]}"; do
    printf '%s\n' "${files[@]}" | grep -q "^src/$module/" && modules_changed=$((modules_changed + 1))
  done
  local share=$((cap / modules_changed))
  [ "$share" -gt 0 ] || share=1
  local hash=$((16#$(git rev-parse HEAD | cut -c1-7)))
  local status=0
  for module in "${MODULES[@]}"; do
    local changed=()
    for f in "${files[@]}"; do [[ $f == src/$module/* ]] && changed+=("$f"); done
    [ ${#changed[@]} -gt 0 ] || continue
    local tests=() config total k shard
    mapfile -t tests < <(test_options "$module")
    config=$(scoped_config "sample-$module" "${changed[@]}")
    total=$(cd "$TREE" && cargo mutants --list --config "$config" 2>/dev/null | wc -l)
    [ "$total" -gt 0 ] || continue
    k=$(((total + share - 1) / share))
    shard=$((hash % k))
    rm -rf "$OUT/sample-$module"
    echo "==> $module: ${#changed[@]} changed file(s), $total mutants; 1 in $k (shard $shard)"
    local rc=0
    (
      cd "$TREE"
      CARGO_TARGET_DIR=$ROOT/target nice -n "$NICE" cargo mutants --in-place --no-shuffle \
        --config "$config" --shard "$shard/$k" --sharding round-robin \
        --baseline skip --timeout "$TEST_TIMEOUT" --build-timeout "$BUILD_TIMEOUT" \
        --output "$OUT/sample-$module" --colors never "${tests[@]}"
    ) || rc=$?
    if ! cargo_mutants_result "$rc" "$OUT/sample-$module/mutants.out/debug.log"; then
      status=1
      continue
    fi
    summarize "$module=$OUT/sample-$module/mutants.out/outcomes.json"
    local missed=$OUT/sample-$module/mutants.out/missed.txt
    if [ -s "$missed" ]; then
      while IFS= read -r m; do
        local key
        key=$(sed -E 's/^([^:]+):[0-9]+:[0-9]+: /\1: /' <<<"$m")
        if accepted | grep -qxF "$key"; then
          echo "  accepted survivor: $m"
        else
          echo "  SURVIVED (not accepted in $ACCEPTED): $m"
          status=1
        fi
      done <"$missed"
    fi
  done
  return $status
}

parts=()
modules=()
while [ $# -gt 0 ]; do
  case $1 in
    --) shift; modules=("$@"); break ;;
    rust | lua | java | sample) parts+=("$1") ;;
    *) echo "usage: $0 [rust|lua|java|sample]... [-- MODULE...]" >&2; exit 2 ;;
  esac
  shift
done
[ ${#parts[@]} -gt 0 ] || parts=(rust lua java)

status=0
for part in "${parts[@]}"; do
  case $part in
    rust) rust "${modules[@]}" || status=1 ;;
    *) "$part" || status=1 ;;
  esac
done
exit $status
