"""The otp-sidecar step inside a real Keycloak, with a stand-in for the sidecar.

The stand-in publishes a JWKS and signs assertions with a fresh EC P-256 key, exactly as
docs/protocol.md section 4 describes, so every check Keycloak makes (same section) can be driven on purpose
(wrong nonce, tampered, replayed, locked, ...). Checks the pages, the events with their
reasons, Keycloak's brute-force counter, and the three wirings (browser flow, conditional
sub-flow, step-up with Level of Authentication). The real sidecar is exercised by the
browser end-to-end test.

Environment: KC_URL (e.g. http://localhost:18180), KC_ADMIN_PASSWORD, SIDECAR_PORT.
"""
import base64
import html
import http.cookiejar
import http.server
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

KC = os.environ["KC_URL"]
ADMIN_PASSWORD = os.environ["KC_ADMIN_PASSWORD"]
REALM = KC + "/realms/acme"
SIDECAR = "http://localhost:" + os.environ["SIDECAR_PORT"]
REDIRECT = "http://localhost:18090/cb"
TIMEOUT = 30


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---- the stand-in sidecar: JWKS endpoint and assertion signing ----

KEY = ec.generate_private_key(ec.SECP256R1())
KID = "it-" + uuid.uuid4().hex[:12]
_numbers = KEY.public_key().public_numbers()
JWKS = {"keys": [{"kty": "EC", "crv": "P-256", "kid": KID, "alg": "ES256", "use": "sig",
                  "x": b64(_numbers.x.to_bytes(32, "big")), "y": b64(_numbers.y.to_bytes(32, "big"))}]}
jwks_available = threading.Event()
jwks_available.set()


class JwksHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if not jwks_available.is_set():
            self.send_response(503)
            self.end_headers()
            return
        body = json.dumps(JWKS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def sign(claims, alg="ES256", kid=None):
    header = b64(json.dumps({"alg": alg, "kid": kid or KID, "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    r, s = decode_dss_signature(KEY.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{header}.{payload}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def assertion_claims(request, **override):
    now = int(time.time())
    claims = {"iss": SIDECAR, "aud": request["iss"], "sub": request["sub"], "nonce": request["nonce"],
              "req_jti": request["jti"], "jti": str(uuid.uuid4()), "iat": now, "exp": now + 60,
              "result": "success", "amr": ["otp"], "otp_channel": "email"}
    claims.update(override)
    return claims


# ---- HTTP as a browser does it (cookies, no redirects followed) ----

class _Cookies(http.cookiejar.DefaultCookiePolicy):
    # Keycloak marks its cookies Secure; browsers send those to http://localhost, urllib does not.
    def return_ok_secure(self, cookie, request):
        return True


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser():
    jar = http.cookiejar.CookieJar(policy=_Cookies())
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())


def call(opener, url, form=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with opener.open(urllib.request.Request(url, data=data), timeout=TIMEOUT) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def admin(method, path, body=None):
    status, _, text = call(browser(), KC + "/realms/master/protocol/openid-connect/token",
                           {"grant_type": "password", "client_id": "admin-cli", "username": "admin",
                            "password": ADMIN_PASSWORD})
    token = json.loads(text)["access_token"]
    request = urllib.request.Request(KC + "/admin/realms/acme" + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": "Bearer " + token,
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        text = response.read().decode()
        return json.loads(text) if text else None


# ---- login steps ----

def authorize(opener, client="demo-app", **params):
    query = {"client_id": client, "response_type": "code", "scope": "openid", "redirect_uri": REDIRECT}
    query.update(params)
    return call(opener, REALM + "/protocol/openid-connect/auth?" + urllib.parse.urlencode(query))


def submit_password(opener, page, username="alice", password="alice-password"):
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page).group(1))
    return call(opener, action, {"username": username, "password": password})


def request_of(page):
    match = re.search(r'name="request" value="([^"]+)"', page)
    return json.loads(unb64(match.group(1).split(".")[1])) if match else None


def post_assertion(opener, request, token):
    return call(opener, request["return_uri"], {"assertion": token})


def send_new_code(opener, error_page):
    match = re.search(r'<form id="otp-sidecar-restart" method="post" action="([^"]+)"', error_page)
    assert match, "error page has no 'send a new code' form"
    status, _, page = call(opener, html.unescape(match.group(1)), {"restart": "1"})
    request = request_of(page)
    assert status == 200 and request, (status, page[-1000:])
    return request, page


def login_to_request(client="demo-app", **params):
    opener = browser()
    _, _, page = authorize(opener, client, **params)
    status, _, page = submit_password(opener, page)
    request = request_of(page)
    assert status == 200 and request, (status, page[-1000:])
    return opener, request, page


def id_token(client, secret, location):
    code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
    _, _, text = call(browser(), REALM + "/protocol/openid-connect/token",
                      {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                       "client_id": client, "client_secret": secret})
    return json.loads(unb64(json.loads(text)["id_token"].split(".")[1]))


def redirected_with_code(status, headers):
    return status == 302 and headers.get("Location", "").startswith(REDIRECT) and "code=" in headers["Location"]


# ---- checks ----

results = []


def check(name, ok, info=""):
    results.append(ok)
    print(("PASS  " if ok else "FAIL  ") + name + ("" if ok else "\n      " + str(info)[:1500]), flush=True)


def failures_of(user_id):
    return admin("GET", f"/attack-detection/brute-force/users/{user_id}").get("numFailures", 0)


def settled_failures(user_id, expected, seconds=30):
    """Keycloak's failure count once it has reached `expected` (polled, bounded); as it is after the
    bound when it never does. Keycloak hands each failure to its brute-force executor when the request
    that caused it is answered, so the count lags the pages."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        count = failures_of(user_id)
        if count >= expected:
            return count
        time.sleep(0.2)
    return failures_of(user_id)


def counted_after(user_id, before):
    """A barrier for "that was not counted": a failure caused now (a wrong password on the login form),
    then the settled count, which must be exactly before + 1. Once this failure is counted, one that a
    request answered earlier had caused would have been counted too."""
    opener = browser()
    _, _, page = authorize(opener)
    status, _, page = submit_password(opener, page, password="not-alices-password")
    assert status == 200 and "Invalid username or password" in page, (status, page[-800:])
    return settled_failures(user_id, before + 1)


def error_reasons(since_ms):
    # dateFrom as epoch milliseconds: a date would be midnight UTC, not our start.
    events = admin("GET", f"/events?type=LOGIN_ERROR&dateFrom={since_ms}&max=200")
    return [e.get("details", {}).get("reason") for e in events if e["time"] >= since_ms]


def point_step_at_stand_in():
    config = {"otp.sidecar.public.url": SIDECAR, "otp.sidecar.jwks.url": SIDECAR + "/.well-known/jwks.json",
              "otp.sidecar.issuer": SIDECAR}
    for execution in admin("GET", "/authentication/flows/browser-otp-sidecar/executions"):
        if execution.get("providerId") == "otp-sidecar":
            rep = admin("GET", "/authentication/config/" + execution["authenticationConfig"])
            rep["config"].update(config)
            admin("PUT", "/authentication/config/" + rep["id"], rep)
            return dict(rep["config"])
    raise SystemExit("the acme realm has no otp-sidecar execution in browser-otp-sidecar")


def test_browser_flow(user_id):
    opener, request, page = login_to_request()
    check("request JWT carries the section-1 claims",
          {"iss", "aud", "sub", "email", "azp", "nonce", "return_uri", "iat", "exp", "jti", "otp"} <= set(request)
          and request["iss"] == REALM and request["aud"] == "otp-sidecar" and request["azp"] == "demo-app"
          and request["email"] == "alice@example.com" and request["exp"] - request["iat"] <= 300, request)
    check("page posts the request to {public URL}/authorize and loads the submit script",
          f'action="{SIDECAR}/authorize"' in page and "otp-sidecar-autosubmit.js" in page, page[-1500:])
    good = sign(assertion_claims(request))
    status, headers, page = post_assertion(opener, request, good)
    check("a valid assertion finishes the login", redirected_with_code(status, headers), (status, page[-800:]))
    claims = id_token("demo-app", "demo-app-secret", headers["Location"])
    check("the ID token is alice's", claims["sub"] == user_id and claims.get("email") == "alice@example.com", claims)
    return good


def test_refusals(user_id, captured):
    since = int(time.time() * 1000)
    before = failures_of(user_id)
    opener, request, _ = login_to_request()
    status, _, page = post_assertion(opener, request, captured)
    check("a captured assertion re-posted in another login is refused",
          status == 200 and "otp-sidecar-send-new-code" in page, (status, page[-800:]))
    now = int(time.time())
    cases = [
        ("wrong nonce", "nonce_mismatch", lambda r: sign(assertion_claims(r, nonce=b64(os.urandom(16))))),
        ("wrong sub", "subject_mismatch", lambda r: sign(assertion_claims(r, sub=str(uuid.uuid4())))),
        ("wrong iss", "wrong_issuer", lambda r: sign(assertion_claims(r, iss="http://evil.example"))),
        ("wrong aud", "wrong_audience", lambda r: sign(assertion_claims(r, aud=KC + "/realms/other"))),
        ("expired assertion", "assertion_expired", lambda r: sign(assertion_claims(r, iat=now - 200, exp=now - 140))),
        ("tampered result", "bad_signature",
         lambda r: (lambda t: t.split(".")[0] + "." + b64(json.dumps(assertion_claims(r)).encode()) + "."
                    + t.split(".")[2])(sign(assertion_claims(r, result="locked")))),
        ("alg none", "algorithm_not_allowed",
         lambda r: b64(json.dumps({"alg": "none", "kid": KID}).encode()) + "."
         + b64(json.dumps(assertion_claims(r)).encode()) + "."),
        ("unknown kid", "unknown_key", lambda r: sign(assertion_claims(r), kid="not-published")),
        ("result locked", "locked", lambda r: sign(assertion_claims(r, result="locked"))),
        ("result expired", "expired", lambda r: sign(assertion_claims(r, result="expired"))),
        ("result cancelled", "cancelled", lambda r: sign(assertion_claims(r, result="cancelled"))),
    ]
    nonces = {request["nonce"]}
    for name, reason, make in cases:
        request, _ = send_new_code(opener, page)
        nonces.add(request["nonce"])
        status, _, page = post_assertion(opener, request, make(request))
        check(f"{name}: error page with 'Send a new code', no stack trace",
              status == 200 and "otp-sidecar-send-new-code" in page and "Exception" not in page
              and "at org." not in page, (status, page[-1200:]))
    check("every 'Send a new code' issued a new nonce", len(nonces) == len(cases) + 1, nonces)
    request, _ = send_new_code(opener, page)
    status, _, page = call(opener, request["return_uri"], {"unrelated": "1"})
    check("a post without assertion is refused", status == 200 and "otp-sidecar-send-new-code" in page,
          (status, page[-800:]))
    expected = before + 1 + len(cases) + 1
    after = settled_failures(user_id, expected)
    check(f"brute-force detection counted every refusal ({expected - before})", after == expected, (before, after))
    after = counted_after(user_id, expected)
    check("brute-force detection counted each refusal once", after == expected + 1, (expected, after))
    reasons = error_reasons(since)
    missing = [reason for _, reason, _ in cases if reason not in reasons]
    check("each refusal is a LOGIN_ERROR event with its reason",
          not missing and "missing_assertion" in reasons, (missing, reasons))
    request, _ = send_new_code(opener, page)
    status, headers, page = post_assertion(opener, request, sign(assertion_claims(request)))
    check("after refusals, a valid assertion still finishes the login", redirected_with_code(status, headers),
          (status, page[-800:]))


def test_german():
    opener = browser()
    _, _, page = authorize(opener, ui_locales="de")
    _, _, page = submit_password(opener, page)
    check("German request page", "Code per E-Mail" in page and ">Weiter<" in page, page[-2000:])
    request = request_of(page)
    _, _, page = post_assertion(opener, request, sign(assertion_claims(request, result="expired")))
    check("German error page", "Der Code ist abgelaufen." in page and "Neuen Code senden" in page, page[-2000:])


def test_unverified_email():
    if not admin("GET", "/users?username=bob&exact=true"):
        admin("POST", "/users", {"username": "bob", "enabled": True, "email": "bob@example.com",
                                 "emailVerified": False, "firstName": "Bob", "lastName": "Example",
                                 "credentials": [{"type": "password", "value": "bob-password", "temporary": False}]})
    opener = browser()
    _, _, page = authorize(opener)
    status, _, page = submit_password(opener, page, "bob", "bob-password")
    check("unverified email: page says why, no request is sent",
          status == 200 and "email address is not verified" in page and 'name="request"' not in page, page[-1500:])


def test_bad_config_at_login(config):
    execution = next(e for e in admin("GET", "/authentication/flows/browser-otp-sidecar/executions")
                     if e.get("providerId") == "otp-sidecar")
    rep = admin("GET", "/authentication/config/" + execution["authenticationConfig"])
    rep["config"].update({"otp.code.length": "99", "otp.sidecar.public.url": "http://sidecar.example.com"})
    admin("PUT", "/authentication/config/" + rep["id"], rep)
    since = int(time.time() * 1000)
    try:
        opener = browser()
        _, _, page = authorize(opener)
        status, _, page = submit_password(opener, page)
        check("invalid config reaching the step: clear page, no request, no stack trace",
              "not set up correctly" in page and 'name="request"' not in page and "Exception" not in page,
              page[-1500:])
        check("invalid config: LOGIN_ERROR event with reason misconfigured", "misconfigured" in error_reasons(since))
    finally:
        rep["config"] = config
        admin("PUT", "/authentication/config/" + rep["id"], rep)


def test_sidecar_keys_down(user_id):
    opener, request, _ = login_to_request()
    before = failures_of(user_id)
    jwks_available.clear()
    try:
        # The step loaded the sidecar's keys before sending the browser away; with Keycloak's key cache
        # cleared it must fetch them again for the assertion (as for a rotated kid, at most every 10 s).
        admin("POST", "/clear-keys-cache")
        status, _, page = post_assertion(opener, request, sign(assertion_claims(request), kid="rotated-" + KID))
        check("sidecar keys unreachable: clear page, no stack trace",
              status == 200 and "not available right now" in page and "Exception" not in page, (status, page[-1500:]))
    finally:
        jwks_available.set()
    after = counted_after(user_id, before)
    check("sidecar keys unreachable: not counted for brute force", after == before + 1, (before, after))


def start_stand_in():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["SIDECAR_PORT"])), JwksHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_stand_in(server):
    server.shutdown()
    server.server_close()


def test_sidecar_down_before_login(stand_in, user_id):
    """The stand-in is stopped and Keycloak's key cache cleared: the step must not send the browser away."""
    admin("POST", "/clear-keys-cache")
    stop_stand_in(stand_in)
    since = int(time.time() * 1000)
    before = failures_of(user_id)
    try:
        opener = browser()
        _, _, page = authorize(opener)
        status, headers, page = submit_password(opener, page)
        check("sidecar down before the login: Keycloak error page, no request, no redirect to the sidecar",
              status == 200 and "not available right now" in page and "otp-sidecar-send-new-code" in page
              and 'name="request"' not in page and SIDECAR not in page and "Location" not in headers
              and "Exception" not in page, (status, headers.get("Location"), page[-1500:]))
        check("sidecar down before the login: LOGIN_ERROR event with reason sidecar_unavailable",
              "sidecar_unavailable" in error_reasons(since), error_reasons(since))
        after = counted_after(user_id, before)
        check("sidecar down before the login: not counted for brute force", after == before + 1, (before, after))
    finally:
        stand_in = start_stand_in()
    request, _ = send_new_code(opener, page)
    status, headers, page = post_assertion(opener, request, sign(assertion_claims(request)))
    check("sidecar back: 'Send a new code' sends the request and the login completes",
          redirected_with_code(status, headers), (status, page[-800:]))
    return stand_in


# ---- the other two wirings ----

def _quoted(alias):
    return urllib.parse.quote(alias)


def _add_execution(flow, provider, requirement, config=None):
    admin("POST", f"/authentication/flows/{_quoted(flow)}/executions/execution", {"provider": provider})
    execution = [e for e in admin("GET", f"/authentication/flows/{_quoted(flow)}/executions")
                 if e.get("providerId") == provider][-1]
    execution["requirement"] = requirement
    admin("PUT", f"/authentication/flows/{_quoted(flow)}/executions", execution)
    if config:
        admin("POST", f"/authentication/executions/{execution['id']}/config", {"alias": config[0], "config": config[1]})


def _add_subflow(flow, alias, requirement):
    admin("POST", f"/authentication/flows/{_quoted(flow)}/executions/flow",
          {"alias": alias, "type": "basic-flow", "provider": "registration-page-form", "description": alias})
    execution = [e for e in admin("GET", f"/authentication/flows/{_quoted(flow)}/executions")
                 if e.get("displayName") == alias][-1]
    execution["requirement"] = requirement
    admin("PUT", f"/authentication/flows/{_quoted(flow)}/executions", execution)


def _client(client_id, flow_alias):
    flow_id = next(f["id"] for f in admin("GET", "/authentication/flows") if f["alias"] == flow_alias)
    admin("POST", "/clients", {"clientId": client_id, "enabled": True, "publicClient": False, "secret": "secret",
                               "standardFlowEnabled": True, "directAccessGrantsEnabled": False,
                               "redirectUris": ["http://localhost:18090/*"],
                               "authenticationFlowBindingOverrides": {"browser": flow_id}})


def test_step_up(config):
    flow = "browser-step-up"
    admin("POST", "/authentication/flows", {"alias": flow, "providerId": "basic-flow",
                                            "topLevel": True, "builtIn": False, "description": "step-up"})
    _add_execution(flow, "auth-cookie", "ALTERNATIVE")
    _add_subflow(flow, "step-up forms", "ALTERNATIVE")
    _add_subflow("step-up forms", "level 1", "CONDITIONAL")
    _add_execution("level 1", "conditional-level-of-authentication", "REQUIRED",
                   ("loa-1", {"loa-condition-level": "1", "loa-max-age": "36000"}))
    _add_execution("level 1", "auth-username-password-form", "REQUIRED")
    _add_subflow("step-up forms", "level 2", "CONDITIONAL")
    _add_execution("level 2", "conditional-level-of-authentication", "REQUIRED",
                   ("loa-2", {"loa-condition-level": "2", "loa-max-age": "300"}))
    _add_execution("level 2", "otp-sidecar", "REQUIRED", ("otp-sidecar-step-up", config))
    # Added to the realm's own map (password/email-otp, which demo-app's minimum ACR names).
    realm = admin("GET", "")
    attributes = realm.setdefault("attributes", {})
    loa_map = json.loads(attributes.get("acr.loa.map") or "{}")
    loa_map.update({"silver": 1, "gold": 2})
    attributes["acr.loa.map"] = json.dumps(loa_map)
    admin("PUT", "", realm)
    _client("stepup-it-app", "browser-step-up")

    opener = browser()
    _, _, page = authorize(opener, "stepup-it-app", acr_values="silver")
    status, headers, page = submit_password(opener, page)
    check("step-up: level 1 needs the password only", redirected_with_code(status, headers), (status, page[-800:]))
    check("step-up: level 1 token says acr silver", id_token("stepup-it-app", "secret", headers["Location"]).get("acr")
          == "silver")
    status, _, page = authorize(opener, "stepup-it-app", acr_values="gold")
    request = request_of(page)
    check("step-up: level 2 asks for the email code only, not the password again",
          status == 200 and request is not None and 'name="password"' not in page, page[-1500:])
    status, headers, page = post_assertion(opener, request, sign(assertion_claims(request)))
    check("step-up: the assertion finishes level 2", redirected_with_code(status, headers), (status, page[-800:]))
    check("step-up: level 2 token says acr gold",
          id_token("stepup-it-app", "secret", headers["Location"]).get("acr") == "gold")


def test_conditional(config, user_id):
    admin("POST", "/authentication/flows", {"alias": "browser-conditional", "providerId": "basic-flow",
                                            "topLevel": True, "builtIn": False, "description": "conditional"})
    _add_execution("browser-conditional", "auth-cookie", "ALTERNATIVE")
    _add_subflow("browser-conditional", "conditional forms", "ALTERNATIVE")
    _add_execution("conditional forms", "auth-username-password-form", "REQUIRED")
    _add_subflow("conditional forms", "email code for admins", "CONDITIONAL")
    _add_execution("email code for admins", "conditional-user-role", "REQUIRED",
                   ("admins-only", {"condUserRole": "acme-admin", "negate": "false"}))
    _add_execution("email code for admins", "otp-sidecar", "REQUIRED", ("otp-sidecar-conditional", config))
    admin("POST", "/roles", {"name": "acme-admin"})
    _client("conditional-app", "browser-conditional")

    opener = browser()
    _, _, page = authorize(opener, "conditional-app")
    status, headers, page = submit_password(opener, page)
    check("conditional: without the role, no email code", redirected_with_code(status, headers),
          (status, page[-800:]))
    role = admin("GET", "/roles/acme-admin")
    admin("POST", f"/users/{user_id}/role-mappings/realm", [role])
    try:
        opener, request, _ = login_to_request("conditional-app")
        check("conditional: with the role, the email code is requested", request["azp"] == "conditional-app")
        status, headers, page = post_assertion(opener, request, sign(assertion_claims(request)))
        check("conditional: the assertion finishes the login", redirected_with_code(status, headers),
              (status, page[-800:]))
    finally:
        admin("DELETE", f"/users/{user_id}/role-mappings/realm", [role])


def main():
    server = start_stand_in()
    try:
        config = point_step_at_stand_in()
        user_id = admin("GET", "/users?username=alice&exact=true")[0]["id"]
        captured = test_browser_flow(user_id)
        test_refusals(user_id, captured)
        admin("DELETE", f"/attack-detection/brute-force/users/{user_id}")
        test_german()
        test_unverified_email()
        test_bad_config_at_login(config)
        test_step_up(config)
        test_conditional(config, user_id)
        test_sidecar_keys_down(user_id)
        server = test_sidecar_down_before_login(server, user_id)
        admin("DELETE", f"/attack-detection/brute-force/users/{user_id}")
    finally:
        stop_stand_in(server)
    print(f"{sum(results)}/{len(results)} checks passed", flush=True)
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
