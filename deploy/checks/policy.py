#!/usr/bin/env python3
"""Deployment policy checks that schemas cannot express.

Run by scripts/check-deploy.sh on the rendered manifests. Each subcommand
prints what it checked and exits non-zero with one line per violation.

  policy.py kustomize FLAVOUR RENDERED.yaml   (FLAVOUR: base | dev | prod)
  policy.py operator RENDERED.yaml OUT_DIR    (writes k8s-objects.yaml and podtemplate.yaml)
  policy.py helm VALUES.yaml OUT_DIR          (writes pod.yaml)
  policy.py compose COMPOSE.yaml
  policy.py templates OVERRIDE_DIR BUILTIN_DIR
  policy.py no-key-material DIR
  policy.py dockerignore DOCKERFILE
"""
from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
import tomllib
from urllib.parse import urlsplit

import yaml

SIDECAR = "otp-sidecar"
CONFIG_PATH = "/etc/otp-sidecar/config.toml"
# Request paths and where the public Ingress must send them (backend port name
# or number: Keycloak "http"/8080, sidecar "otp"/8081), or None: not routed.
ROUTES = {
    "/realms/acme/protocol/openid-connect/auth": "keycloak",
    "/realms/acme/login-actions/authenticate": "keycloak",
    "/resources/abc/login/keycloak.v2/css/login.css": "keycloak",
    "/otp/authorize": "sidecar",
    "/otp/challenge": "sidecar",
    "/otp/challenge/verify": "sidecar",
    "/otp/api/v1/challenges/abc/verify": "sidecar",
    "/otp/static/page.css": "sidecar",
    "/otp/.well-known/jwks.json": "sidecar",
    "/metrics": None,
    "/healthz": None,
    "/readyz": None,
    "/admin/master/console/": None,
    "/": None,
    "/otpx/authorize": None,
}
BACKEND_PORTS = {"keycloak": ("http", 8080), "sidecar": ("otp", 8081)}


class Report:
    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.errors: list[str] = []
        self.checked: list[str] = []

    def ok(self, what: str) -> None:
        self.checked.append(what)

    def require(self, cond: bool, what: str, problem: str) -> None:
        if cond:
            self.checked.append(what)
        else:
            self.errors.append(f"{what}: {problem}")

    def finish(self) -> int:
        for e in self.errors:
            print(f"  FAIL {self.subject}: {e}")
        print(f"  {self.subject}: {len(self.checked)} properties hold, {len(self.errors)} violated")
        return 1 if self.errors else 0


def load_all(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def find(docs: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [
        d for d in docs
        if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)
    ]


def env_map(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def check_sidecar(r: Report, pod: dict, where: str) -> dict:
    """The otp-sidecar container in a pod spec; returns it (or {})."""
    inits = [c for c in pod.get("initContainers", []) if c.get("name") == SIDECAR]
    r.require(len(inits) == 1, f"{where}: {SIDECAR} is an init container", "not found in initContainers")
    if not inits:
        return {}
    c = inits[0]
    r.require(c.get("restartPolicy") == "Always", f"{where}: {SIDECAR} is a native sidecar",
              f"restartPolicy is {c.get('restartPolicy')!r}, expected 'Always'")
    args = c.get("args", [])
    r.require(args[-1:] == ["run"] and "--config" in args and CONFIG_PATH in args,
              f"{where}: {SIDECAR} runs with --config {CONFIG_PATH}", f"args are {args}")
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    r.require(ports.get("otp") == 8081, f"{where}: {SIDECAR} port otp=8081", f"ports are {ports}")
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        got = c.get(probe, {}).get("httpGet", {})
        r.require(got.get("path") == path and got.get("port") in ("otp", 8081),
                  f"{where}: {SIDECAR} {probe} GET {path}", f"got {got or 'none'}")
    res = c.get("resources", {})
    r.require(bool(res.get("requests", {}).get("cpu")) and bool(res.get("requests", {}).get("memory"))
              and bool(res.get("limits", {}).get("memory")),
              f"{where}: {SIDECAR} resources (cpu/memory requests, memory limit)", f"got {res}")
    sc = c.get("securityContext", {})
    pod_sc = pod.get("securityContext", {})
    expected = {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
    }
    for key, value in expected.items():
        r.require(sc.get(key) == value, f"{where}: {SIDECAR} securityContext.{key}={value}",
                  f"got {sc.get(key)!r}")
    r.require(sc.get("capabilities", {}).get("drop") == ["ALL"],
              f"{where}: {SIDECAR} drops all capabilities", f"got {sc.get('capabilities')}")
    seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
    r.require(seccomp == "RuntimeDefault", f"{where}: {SIDECAR} seccomp RuntimeDefault", f"got {seccomp!r}")
    # Credentials reach the container only from Secrets, never as literals.
    for name, e in env_map(c).items():
        if any(s in name for s in ("PASSWORD", "REDIS_URL", "SMTP_URL", "PEPPER", "SECRET")):
            literal = e.get("value")
            ok = "secretKeyRef" in e.get("valueFrom", {}) or (
                literal is not None and re.search(r"\$\([A-Z_]+\)", literal) is not None
                and "@" in literal and not re.search(r"//[^:/@]*:[^$(@][^@]*@", literal))
            r.require(ok, f"{where}: env {name} comes from a Secret", f"literal value {literal!r}")
    for name in ("OTP_SIDECAR__STORE__REDIS_URL", "OTP_SIDECAR__MAIL__SMTP_URL"):
        r.require(name in env_map(c), f"{where}: env {name} set", "missing")
    return c


def volume_paths(pod: dict, container: dict) -> dict[str, dict]:
    """mountPath -> volume definition for a container."""
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    return {m["mountPath"]: vols.get(m["name"], {}) for m in container.get("volumeMounts", [])}


def check_config_against_pod(r: Report, where: str, config: dict, sidecar: dict, pod: dict) -> None:
    mounts = volume_paths(pod, sidecar)
    r.require(CONFIG_PATH in mounts, f"{where}: config.toml mounted at {CONFIG_PATH}", f"mounts {sorted(mounts)}")
    for key, path in (("signing.key_file", config.get("signing", {}).get("key_file")),
                      ("secrets.pepper_file", config.get("secrets", {}).get("pepper_file"))):
        parent = str(pathlib.PurePosixPath(path or "/nonexistent").parent)
        vol = mounts.get(parent, {})
        names = [s.get("secret", {}).get("name") for s in vol.get("projected", {}).get("sources", [])]
        items = [i["path"] for s in vol.get("projected", {}).get("sources", [])
                 for i in s.get("secret", {}).get("items", [])]
        r.require(bool(names) and pathlib.PurePosixPath(path or "").name in items,
                  f"{where}: {key} ({path}) is a file from a mounted Secret", f"volume at {parent}: {vol or 'none'}")
    tdir = config.get("templates", {}).get("dir")
    if tdir:
        vol = mounts.get(tdir, {})
        r.require("configMap" in vol, f"{where}: [templates] dir {tdir} is a mounted ConfigMap",
                  f"volume {vol or 'none'}")


def ingress_route(paths: list[dict], request: str) -> object:
    """Backend port of the Ingress path serving `request` (Kubernetes Prefix /
    Exact semantics, longest match wins), or None."""
    best, port = -1, None
    for p in paths:
        path, kind = p["path"], p.get("pathType")
        if kind == "Exact":
            hit = request == path
        elif kind == "Prefix":
            base = path.rstrip("/")
            hit = base == "" or request == base or request.startswith(base + "/")
        else:
            raise ValueError(f"pathType {kind} of {path}: only Prefix and Exact are portable")
        if hit and len(path) > best:
            svc = p["backend"]["service"]["port"]
            best, port = len(path), svc.get("name", svc.get("number"))
    return port


def check_ingress_paths(r: Report, where: str, paths: list[dict], public_url: str) -> None:
    r.require(all(p.get("pathType") in ("Prefix", "Exact") for p in paths),
              f"{where}: only portable path types (Prefix, Exact)", f"got {[p.get('pathType') for p in paths]}")
    if not all(p.get("pathType") in ("Prefix", "Exact") for p in paths):
        return
    prefix = urlsplit(public_url).path.rstrip("/")
    r.require(any(p["path"].rstrip("/") == prefix and p["pathType"] == "Prefix" for p in paths),
              f"{where}: Prefix {prefix} (the path of public_url) routed", f"paths {[p['path'] for p in paths]}")
    for request, target in ROUTES.items():
        got = ingress_route(paths, request)
        want = BACKEND_PORTS[target] if target else (None,)
        r.require(got in want, f"{where}: {request} -> {target or 'not routed'}", f"goes to {got}")


def ingress_paths(ingress: dict) -> list[dict]:
    return [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]


def kustomize(flavour: str, rendered: str) -> int:
    r = Report(f"kustomize {flavour}")
    docs = load_all(rendered)
    deps = find(docs, "Deployment", "keycloak")
    r.require(len(deps) == 1, "Deployment keycloak", "missing")
    if not deps:
        return r.finish()
    dep = deps[0]
    pod = dep["spec"]["template"]["spec"]
    sidecar = check_sidecar(r, pod, "Deployment keycloak")
    r.require(pod.get("securityContext", {}).get("runAsNonRoot") is True, "pod runAsNonRoot", "not set")
    kc = [c for c in pod["containers"] if c["name"] == "keycloak"]
    r.require(len(kc) == 1, "keycloak container", "missing")
    kc_env = env_map(kc[0]) if kc else {}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        r.require(probe in (kc[0] if kc else {}), f"keycloak {probe}", "missing")

    cms = {d["metadata"]["name"].rsplit("-", 1)[0]: d for d in find(docs, "ConfigMap")}
    r.require("otp-sidecar-config" in cms and "otp-sidecar-templates" in cms,
              "ConfigMaps otp-sidecar-config and otp-sidecar-templates", f"got {sorted(cms)}")
    config = tomllib.loads(cms["otp-sidecar-config"]["data"]["config.toml"]) if "otp-sidecar-config" in cms else {}
    if sidecar and config:
        check_config_against_pod(r, "Deployment keycloak", config, sidecar, pod)

    # Hostnames agree: Ingress host, public_url, realm issuer, KC_HOSTNAME.
    ingresses = find(docs, "Ingress")
    r.require(len(ingresses) == 1, "one Ingress (Keycloak and sidecar on one host)",
              f"got {[i['metadata']['name'] for i in ingresses]}")
    if ingresses and config:
        ing = ingresses[0]
        host = ing["spec"]["rules"][0]["host"]
        public_url = config["server"]["public_url"]
        r.require(public_url == f"https://{host}/otp", "public_url is https://<Ingress host>/otp",
                  f"{public_url} vs host {host}")
        r.require(bool(ing["spec"].get("tls")) and all(h == host for t in ing["spec"]["tls"] for h in t["hosts"]),
                  "Ingress TLS for the host", f"tls {ing['spec'].get('tls')}")
        hostname = kc_env.get("KC_HOSTNAME", {}).get("value")
        issuers = [realm["issuer"] for realm in config.get("realms", [])]
        r.require(hostname == f"https://{host}" and issuers
                  and all(i.startswith(f"{hostname}/realms/") for i in issuers),
                  "KC_HOSTNAME and realm issuers on the Ingress host", f"{hostname}, {issuers}")
        r.require(not ing["metadata"].get("annotations"), "Ingress needs no controller-specific annotation",
                  f"{ing['metadata'].get('annotations')}")
        r.require({p["backend"]["service"]["name"] for p in ingress_paths(ing)} == {"keycloak"},
                  "Ingress backends: Service keycloak", f"{[p['backend'] for p in ingress_paths(ing)]}")
        check_ingress_paths(r, "Ingress", ingress_paths(ing), public_url)

    svc = find(docs, "Service", "keycloak")
    ports = {p["name"]: p["targetPort"] for p in svc[0]["spec"]["ports"]} if svc else {}
    r.require(ports.get("otp") == "otp" and ports.get("http") == "http", "Service keycloak ports http, otp",
              f"got {ports}")
    pdb = find(docs, "PodDisruptionBudget", "keycloak")
    r.require(bool(pdb) and pdb[0]["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"],
              "PodDisruptionBudget selects the Keycloak pods", "missing or other selector")

    secrets = find(docs, "Secret")
    if flavour == "dev":
        r.require(len(secrets) >= 4, "dev: Secrets generated from placeholder files", f"{len(secrets)} Secrets")
    else:
        r.require(not secrets, f"{flavour}: no Secret objects rendered (secrets come from outside)",
                  f"{[s['metadata']['name'] for s in secrets]}")

    redis = find(docs, "Deployment", "redis")
    if flavour == "prod":
        r.require(not redis, "prod: no in-cluster Redis", "redis Deployment rendered")
        url = env_map(sidecar).get("OTP_SIDECAR__STORE__REDIS_URL", {})
        r.require("secretKeyRef" in url.get("valueFrom", {}), "prod: Redis URL from a Secret", f"got {url}")
        r.require(urlsplit(config.get("store", {}).get("redis_url", "")).scheme == "rediss",
                  "prod: Redis over TLS (rediss://)", f"got {config.get('store')}")
        r.require((dep["spec"].get("replicas") or 0) >= 2, "prod: more than one Keycloak replica",
                  f"replicas {dep['spec'].get('replicas')}")
        hpa = find(docs, "HorizontalPodAutoscaler", "keycloak")
        r.require(bool(hpa) and hpa[0]["spec"]["minReplicas"] >= 2, "prod: HPA with minReplicas >= 2", "missing")
    else:
        r.require(len(redis) == 1, f"{flavour}: in-cluster Redis", "missing")
        if redis:
            rc = redis[0]["spec"]["template"]["spec"]["containers"][0]
            args = rc.get("args", [])
            r.require("--requirepass" in args and args[args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)",
                      "Redis requires a password", f"args {args}")
            r.require("secretKeyRef" in env_map(rc).get("REDIS_PASSWORD", {}).get("valueFrom", {}),
                      "Redis password from a Secret", "not from a Secret")
            r.require("noeviction" in args, "Redis never evicts (jti records stay)", f"args {args}")
            rsc = rc.get("securityContext", {})
            r.require(rsc.get("readOnlyRootFilesystem") is True and rsc.get("allowPrivilegeEscalation") is False,
                      "Redis container hardened", f"got {rsc}")
        pw = env_map(sidecar).get("REDIS_PASSWORD", {}).get("valueFrom", {}).get("secretKeyRef", {})
        rpw = env_map(redis[0]["spec"]["template"]["spec"]["containers"][0]).get("REDIS_PASSWORD", {}) if redis else {}
        r.require(bool(pw) and pw == rpw.get("valueFrom", {}).get("secretKeyRef"),
                  "sidecar and Redis share one password Secret", f"{pw} vs {rpw}")
        nps = find(docs, "NetworkPolicy", "redis")
        r.require(len(nps) == 1, "NetworkPolicy redis", "missing")
        if nps:
            spec = nps[0]["spec"]
            r.require(spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "redis"}},
                      "NetworkPolicy redis selects Redis", f"got {spec['podSelector']}")
            r.require(sorted(spec.get("policyTypes", [])) == ["Egress", "Ingress"] and spec.get("egress") == [],
                      "Redis may reach nothing (egress denied)", f"policyTypes {spec.get('policyTypes')}, "
                      f"egress {spec.get('egress')}")
            froms = [f for rule in spec.get("ingress", []) for f in rule.get("from", [])]
            r.require(len(spec.get("ingress", [])) == 1 and froms == [
                {"podSelector": {"matchLabels": dep["spec"]["selector"]["matchLabels"]}}],
                "only the Keycloak pod reaches Redis", f"from {froms}")
    return r.finish()


def operator(rendered: str, out_dir: str) -> int:
    """Structural check of the Keycloak CR (no schema is shipped by any registry);
    its pod template is written out as a v1 PodTemplate for schema validation."""
    r = Report("operator")
    docs = load_all(rendered)
    crs = find(docs, "Keycloak")
    r.require(len(crs) == 1, "one Keycloak resource", f"{len(crs)}")
    others = [d for d in docs if d.get("kind") != "Keycloak"]
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "k8s-objects.yaml").write_text(yaml.safe_dump_all(others, sort_keys=False))
    if not crs:
        return r.finish()
    cr = crs[0]
    r.require(cr.get("apiVersion") == "k8s.keycloak.org/v2beta1", "apiVersion k8s.keycloak.org/v2beta1",
              f"got {cr.get('apiVersion')}")
    spec = cr.get("spec", {})
    # Field names and types of the Keycloak CRD (spec level) that this resource uses.
    known = {
        "instances": int, "image": str, "startOptimized": bool, "db": dict, "http": dict, "hostname": dict,
        "proxy": dict, "ingress": dict, "unsupported": dict, "additionalOptions": list, "features": dict,
        "resources": dict, "scheduling": dict, "truststores": dict, "cache": dict, "transaction": dict,
        "httpManagement": dict, "bootstrapAdmin": dict, "imagePullSecrets": list, "networkPolicy": dict,
        "tracing": dict, "telemetry": dict, "update": dict, "env": list,
    }
    for key, value in spec.items():
        r.require(key in known and isinstance(value, known[key]), f"spec.{key} is a known field of its type",
                  f"unknown field or wrong type ({type(value).__name__})")
    sub = {"db": {"vendor", "host", "port", "database", "url", "schema", "usernameSecret", "passwordSecret",
                  "poolInitialSize", "poolMinSize", "poolMaxSize"},
           "http": {"httpEnabled", "httpPort", "httpsPort", "tlsSecret"},
           "hostname": {"hostname", "admin", "strict", "backchannelDynamic"},
           "proxy": {"headers"}, "ingress": {"enabled", "className", "annotations", "labels", "tlsSecret"},
           "unsupported": {"podTemplate"}}
    for key, allowed in sub.items():
        if key in spec:
            extra = set(spec[key]) - allowed
            r.require(not extra, f"spec.{key} fields known", f"unknown {sorted(extra)}")
    r.require(spec.get("db", {}).get("usernameSecret", {}).get("name") and spec.get("db", {}).get(
        "passwordSecret", {}).get("name"), "database credentials from Secrets", "not Secret references")
    r.require(spec.get("proxy", {}).get("headers") in ("xforwarded", "forwarded"), "proxy.headers set",
              f"got {spec.get('proxy')}")
    r.require(spec.get("ingress", {}).get("enabled") is False, "operator Ingress off (ours exposes less)",
              f"got {spec.get('ingress')}")
    tpl = spec.get("unsupported", {}).get("podTemplate", {})
    pod = tpl.get("spec", {})
    sidecar = check_sidecar(r, pod, "podTemplate")
    config_cm = [d for d in docs if d.get("kind") == "ConfigMap" and d["metadata"]["name"].startswith(
        "otp-sidecar-config")]
    if sidecar and config_cm:
        config = tomllib.loads(config_cm[0]["data"]["config.toml"])
        check_config_against_pod(r, "podTemplate", config, sidecar, pod)
        host = urlsplit(config["server"]["public_url"]).hostname
        r.require(spec.get("hostname", {}).get("hostname") == f"https://{host}",
                  "CR hostname and public_url on one host", f"{spec.get('hostname')} vs {host}")
        r.require(urlsplit(config["store"]["redis_url"]).scheme == "rediss", "Redis over TLS (rediss://)",
                  f"got {config['store']['redis_url']}")
    ing = [d for d in docs if d.get("kind") == "Ingress"]
    r.require(len(ing) == 1, "one Ingress", f"{len(ing)}")
    if ing and config_cm:
        paths = ingress_paths(ing[0])
        check_ingress_paths(r, "Ingress", paths, tomllib.loads(config_cm[0]["data"]["config.toml"])["server"]["public_url"])
        by_port = {str(p["backend"]["service"]["port"].get("name", p["backend"]["service"]["port"].get("number"))):
                   p["backend"]["service"]["name"] for p in paths}
        r.require(by_port == {"8080": f"{cr['metadata']['name']}-service", "otp": "keycloak-otp"},
                  "Keycloak paths to the operator's Service, /otp to keycloak-otp", f"got {by_port}")
    svc = [d for d in docs if d.get("kind") == "Service" and d["metadata"]["name"] == "keycloak-otp"]
    r.require(bool(svc) and svc[0]["spec"]["selector"].get("app.kubernetes.io/instance") == cr["metadata"]["name"],
              "Service keycloak-otp selects the operator's pods", "missing or other selector")
    template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "keycloak-podtemplate"},
                "template": {"metadata": tpl.get("metadata", {}),
                             "spec": {**pod, "containers": pod.get("containers") or [
                                 {"name": "keycloak", "image": spec.get("image", "keycloak")}]}}}
    (out / "podtemplate.yaml").write_text(yaml.safe_dump(template, sort_keys=False))
    return r.finish()


def helm(values_path: str, out_dir: str) -> int:
    """keycloakx values: the template strings parse as YAML and, put into a Pod
    next to a stand-in Keycloak container, form a valid pod (validated after)."""
    r = Report("helm keycloakx")
    with open(values_path, encoding="utf-8") as f:
        values = yaml.safe_load(f)
    parsed: dict[str, object] = {}
    for key in ("extraInitContainers", "extraVolumes", "extraEnv"):
        raw = values.get(key)
        r.require(isinstance(raw, str), f"{key} is a string (the chart renders it with tpl)",
                  f"got {type(raw).__name__}")
        try:
            parsed[key] = yaml.safe_load(raw) if isinstance(raw, str) else None
        except yaml.YAMLError as e:
            r.require(False, f"{key} parses as YAML", str(e).splitlines()[0])
            parsed[key] = None
        r.require(isinstance(parsed[key], list), f"{key} is a YAML list", f"got {type(parsed[key]).__name__}")
    pod = {"securityContext": values.get("podSecurityContext", {}),
           "initContainers": parsed.get("extraInitContainers") or [],
           "containers": [{"name": "keycloak", "image": f"{values['image']['repository']}:{values['image']['tag']}",
                           "env": parsed.get("extraEnv") or []}],
           "volumes": parsed.get("extraVolumes") or []}
    sidecar = check_sidecar(r, pod, "extraInitContainers")
    config_path = pathlib.Path(values_path).parent.parent / "operator" / "config.toml"
    if sidecar:
        config = tomllib.loads(config_path.read_text(encoding="utf-8"))
        check_config_against_pod(r, "extraInitContainers", config, sidecar, pod)
    r.require(values.get("http", {}).get("relativePath") == "/", "Keycloak at the root path (issuer /realms/..)",
              f"got {values.get('http')}")
    r.require(values.get("args") == ["start", "--optimized"], "optimized start", f"got {values.get('args')}")
    extra_ports = {p["name"]: p for p in values.get("service", {}).get("extraPorts", [])}
    r.require(extra_ports.get("otp", {}).get("port") == 8081, "Service extra port otp 8081", f"got {extra_ports}")
    # The chart's Ingress template: backend port = path's servicePort or ingress.servicePort ("http").
    default_port = values["ingress"].get("servicePort", "http")
    paths = [{"path": p["path"], "pathType": p["pathType"],
              "backend": {"service": {"port": {"name": p.get("servicePort", default_port)}}}}
             for rule in values["ingress"]["rules"] for p in rule["paths"]]
    if sidecar:
        check_ingress_paths(r, "Ingress (chart)", paths,
                            tomllib.loads(config_path.read_text(encoding="utf-8"))["server"]["public_url"])
    r.require(not values["ingress"].get("annotations"), "Ingress needs no controller-specific annotation",
              f"{values['ingress'].get('annotations')}")
    r.require(not values["ingress"].get("console", {}).get("enabled"), "no console (admin) Ingress",
              "console Ingress enabled")
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pod.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "keycloakx-values"}, "spec": pod}, sort_keys=False))
    return r.finish()


def compose(path: str) -> int:
    r = Report("compose")
    base = pathlib.Path(path).parent
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    services = doc.get("services", {})
    r.require(set(services) >= {"keycloak", "otp-sidecar", "redis", "mailpit"},
              "services keycloak, otp-sidecar, redis, mailpit", f"got {sorted(services)}")
    for name, svc in services.items():
        for port in svc.get("ports", []):
            r.require(isinstance(port, str) and port.startswith("127.0.0.1:"),
                      f"{name}: port {port} on 127.0.0.1 only", "published beyond loopback")
        image = svc.get("image", "")
        if "build" not in svc:
            r.require(":" in image and not image.endswith(":latest"), f"{name}: image {image} pinned",
                      "no tag or :latest")
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("."):
                r.require((base / src).exists(), f"{name}: bind source {src} exists", "missing in the repository")
        if "build" in svc:
            b = svc["build"]
            r.require((base / b["context"] / b["dockerfile"]).is_file(), f"{name}: Dockerfile {b['dockerfile']}",
                      "missing")
    for name in ("keycloak", "redis", "mailpit", "forwarder"):
        r.require("healthcheck" in services.get(name, {}), f"{name}: healthcheck", "missing")
    side = services.get("otp-sidecar", {})
    r.require(side.get("network_mode") == "service:keycloak", "otp-sidecar shares Keycloak's network (as in a pod)",
              f"got {side.get('network_mode')}")
    r.require(side.get("read_only") is True and side.get("cap_drop") == ["ALL"] and side.get("user") == "65532:65532",
              "otp-sidecar read-only, no capabilities, uid 65532", "not hardened")
    deps = side.get("depends_on", {})
    r.require(deps.get("redis", {}).get("condition") == "service_healthy", "otp-sidecar waits for a healthy Redis",
              f"got {deps.get('redis')}")
    cmd = services.get("redis", {}).get("command", [])
    r.require("--requirepass" in cmd, "Redis requires a password", f"command {cmd}")
    r.require(services.get("mailpit", {}).get("image", "").startswith("axllent/mailpit:"), "Mailpit mail catcher",
              "other image")
    kc = services.get("keycloak", {})
    r.require("--import-realm" in kc.get("command", []) and any(
        v.endswith(":/opt/keycloak/data/import:ro") for v in kc.get("volumes", [])),
        "realm imported at start", "no --import-realm or no import mount")
    # The sidecar config agrees with the published ports and Keycloak's host name.
    cfg_mounts = [v.split(":")[0] for v in side.get("volumes", []) if v.endswith(":/etc/otp-sidecar/config.toml:ro")]
    r.require(len(cfg_mounts) == 1, "otp-sidecar config mounted read-only", f"got {side.get('volumes')}")
    if cfg_mounts and (base / cfg_mounts[0]).is_file():
        config = tomllib.loads((base / cfg_mounts[0]).read_text(encoding="utf-8"))
        bind = config["server"]["bind"]
        r.require(bind.startswith("127.0.0.1:"), "sidecar binds loopback (the forwarder publishes it)", f"bind {bind}")
        published = {p.split(":")[1]: p.split(":")[2] for p in kc.get("ports", [])}
        public = urlsplit(config["server"]["public_url"])
        fwd = services.get("forwarder", {}).get("command", [""])[-1]
        r.require(public.hostname == "localhost" and str(public.port) in published
                  and f"listen {published[str(public.port)]};" in fwd
                  and f"proxy_pass http://{bind};" in fwd,
                  "public_url -> published port -> forwarder -> sidecar bind", f"{public.geturl()}, {published}")
        hostname = kc.get("environment", {}).get("KC_HOSTNAME")
        r.require([x["issuer"] for x in config["realms"]] == [f"{hostname}/realms/acme"],
                  "realm issuer on KC_HOSTNAME", f"{config['realms']} vs {hostname}")
        realm_file = base / "../keycloak-flow/realm/acme-realm.json"
        if realm_file.is_file():
            realm = json.loads(realm_file.read_text(encoding="utf-8"))
            auth = [c.get("config", {}) for c in realm.get("authenticatorConfig", [])
                    if "otp.sidecar.public.url" in c.get("config", {})]
            issuer = config["server"]["public_url"].rstrip("/")
            want = {"otp.sidecar.public.url": issuer, "otp.sidecar.issuer": issuer,
                    "otp.sidecar.jwks.url": f"{issuer}/.well-known/jwks.json"}
            r.require(len(auth) == 1 and all(auth[0].get(k, "").rstrip("/") == v for k, v in want.items()),
                      "realm's authenticator config points at this sidecar", f"realm has {auth}, expected {want}")
        r.require(urlsplit(config["mail"]["smtp_url"]).hostname == "127.0.0.1"
                  and services.get("mailpit", {}).get("environment", {}).get("MP_SMTP_BIND_ADDR") == "127.0.0.1:1025",
                  "mail to Mailpit on loopback", f"{config['mail']['smtp_url']}")
    return r.finish()


def templates(override_dir: str, builtin_dir: str) -> int:
    r = Report(f"template overrides in {override_dir}")
    files = sorted(p for p in pathlib.Path(override_dir).rglob("*.hbs"))
    r.require(bool(files), "at least one override", "none")
    for p in files:
        rel = p.relative_to(override_dir)
        r.require((pathlib.Path(builtin_dir) / rel).is_file(), f"{rel} overrides a built-in template",
                  f"no templates/{rel} in the repository")
        text = p.read_text(encoding="utf-8")
        r.require(text.count("{{") == text.count("}}"), f"{rel} has balanced braces", "unbalanced")
    return r.finish()


def no_key_material(root: str) -> int:
    r = Report("no key material committed")
    pattern = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
    n = 0
    for p in sorted(pathlib.Path(root).rglob("*")):
        if p.is_file():
            n += 1
            try:
                text = p.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                r.require(False, f"{p}", "binary file in deploy/")
                continue
            r.require(not pattern.search(text), f"{p.relative_to(root)} has no private key", "private key found")
    print(f"  scanned {n} files")
    return r.finish()


def dockerignore(dockerfile: str) -> int:
    """The build context is the repository root (GBs of target/): the
    Dockerfile's own ignore file must exclude everything but what COPY reads."""
    r = Report(f"{dockerfile}.dockerignore")
    path = pathlib.Path(f"{dockerfile}.dockerignore")
    r.require(path.is_file(), "ignore file next to the Dockerfile", "missing")
    if not path.is_file():
        return r.finish()
    rules = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    r.require(rules[:1] == ["*"], "excludes everything by default", f"first rule {rules[:1]}")
    allowed = [x[1:].rstrip("/") for x in rules if x.startswith("!")]
    for line in pathlib.Path(dockerfile).read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            for src in [w for w in words[1:-1] if not w.startswith("--")]:
                r.require(any(src == a or src.startswith(a + "/") for a in allowed),
                          f"COPY {src} is in the context", f"not re-included by {allowed}")
    lock = pathlib.Path("Cargo.lock")
    if "otp-sidecar" in dockerfile and lock.is_file():
        # The builder is rust:*-slim (gcc, no OpenSSL headers), the runtime distroless.
        # Only what the release binary links counts (dev-dependencies are not built).
        tree = subprocess.run(["cargo", "tree", "--locked", "-e", "normal,build", "--prefix", "none",
                               "-p", "otp-sidecar"], capture_output=True, text=True, timeout=300, check=False)
        r.require(tree.returncode == 0, "cargo tree of the release dependencies", tree.stderr.strip()[-300:])
        crates = {line.split()[0] for line in tree.stdout.splitlines() if line.strip()}
        docker = pathlib.Path(dockerfile).read_text(encoding="utf-8")
        for crate, package in (("openssl-sys", "libssl-dev"), ("libsqlite3-sys", "libsqlite3-dev")):
            if crate in crates:
                r.require(package in docker, f"the binary needs {crate}: builder installs {package}",
                          f"{package} not installed in {dockerfile} (or drop {crate}: rustls is used elsewhere)")
        r.ok(f"{len(crates)} release crates need no system library the builder lacks")
        # Cargo picks up build.rs by itself: it must reach the build context too.
        if pathlib.Path("build.rs").is_file():
            r.require("build.rs" in allowed and "build.rs" in docker, "build.rs in the context and copied",
                      f"not re-included by {allowed} or not copied")
    r.require(any(x.rstrip("/").endswith("target") for x in rules if not x.startswith("!"))
              or not any(a == "keycloak-flow" for a in allowed), "build output stays out", "target/ not excluded")
    return r.finish()


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    table = {"kustomize": kustomize, "operator": operator, "helm": helm, "compose": compose,
             "templates": templates, "no-key-material": no_key_material,
             "dockerignore": dockerignore}
    if cmd not in table:
        print(f"unknown subcommand {cmd!r}\n{__doc__}")
        return 2
    return table[cmd](*args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
