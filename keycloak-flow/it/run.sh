#!/usr/bin/env bash
# The otp-sidecar step in a real Keycloak: builds the jar (unit tests included), fetches the
# Keycloak server through Maven, starts it on loopback with the acme realm, and runs
# keycloak_it.py against it with a stand-in sidecar. Installs what it needs; stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

need_apt=()
command -v mvn >/dev/null || need_apt+=(maven)
command -v java >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v python3 >/dev/null || need_apt+=(python3)
command -v unzip >/dev/null || need_apt+=(unzip)
command -v curl >/dev/null || need_apt+=(curl)
python3 -c 'import cryptography' 2>/dev/null || need_apt+=(python3-cryptography)
if ((${#need_apt[@]})); then
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi

kc_version=$(sed -n 's:.*<keycloak.version>\(.*\)</keycloak.version>.*:\1:p' pom.xml)
mvn -B -q -f pom.xml package
jar=$(ls target/otp-sidecar-keycloak-*.jar)

work=target/it
mkdir -p "$work"
if [[ ! -d $work/keycloak-$kc_version ]]; then
  mvn -B -q -f pom.xml org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="org.keycloak:keycloak-quarkus-dist:$kc_version:zip" -DoutputDirectory="$work"
  rm -rf "$work/unpack"
  unzip -q "$work/keycloak-quarkus-dist-$kc_version.zip" -d "$work/unpack"
  mv "$work/unpack/keycloak-$kc_version" "$work/keycloak-$kc_version"
  rm -rf "$work/unpack" "$work/keycloak-quarkus-dist-$kc_version.zip"
fi
kc=$work/keycloak-$kc_version
rm -rf "$kc/data" "$kc/providers"/otp-sidecar-keycloak-*.jar
mkdir -p "$kc/data/import"
cp "$jar" "$kc/providers/"
cp realm/acme-realm.json "$kc/data/import/"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kc_port=$(free_port)
mgmt_port=$(free_port)
sidecar_port=$(free_port)
admin_password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')

kc_started=$(date +%s)
KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=$admin_password \
  setsid "$kc/bin/kc.sh" start-dev --http-host 127.0.0.1 --http-port "$kc_port" \
  --http-management-port "$mgmt_port" --hostname "http://localhost:$kc_port" --import-realm \
  >"$work/keycloak.log" 2>&1 &
kc_pid=$!
stop_keycloak() { kill -- "-$kc_pid" 2>/dev/null || true; wait "$kc_pid" 2>/dev/null || true; }
trap stop_keycloak EXIT

for _ in $(seq 1 300); do
  if curl -sf "http://localhost:$kc_port/realms/acme/.well-known/openid-configuration" >/dev/null; then
    break
  fi
  if ! kill -0 "$kc_pid" 2>/dev/null; then
    echo "Keycloak exited; see $work/keycloak.log" >&2
    tail -40 "$work/keycloak.log" >&2
    exit 1
  fi
  sleep 1
done
curl -sf "http://localhost:$kc_port/realms/acme/.well-known/openid-configuration" >/dev/null \
  || { echo "Keycloak did not come up within 300 s; see $work/keycloak.log" >&2; exit 1; }
echo "Keycloak $kc_version up on port $kc_port after $(($(date +%s) - kc_started)) s"

status=0
KC_URL="http://localhost:$kc_port" KC_ADMIN_PASSWORD=$admin_password SIDECAR_PORT=$sidecar_port \
  timeout 600 python3 it/keycloak_it.py || status=$?
echo "keycloak-flow integration: $(($(date +%s) - started)) s in all"
exit $status
