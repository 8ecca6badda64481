#!/usr/bin/env python3
"""demo-app for the local stack: a confidential OIDC client on loopback that starts the
authorization-code login at Keycloak and shows who signed in.

    demo-app.py --port 18090 --issuer http://localhost:18080/realms/acme \
        --client-id demo-app --client-secret-file FILE
"""
import argparse
import base64
import html
import json
import secrets
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"
PENDING_LIMIT = 100  # logins started but not finished, oldest dropped first


def page(title, body):
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:16px system-ui,sans-serif;margin:3rem auto;max-width:44rem;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{text-align:left;padding:.3rem .8rem;border-bottom:1px solid #ddd}"
        "a.button{display:inline-block;padding:.6rem 1.2rem;background:#0b5cad;color:#fff;text-decoration:none;"
        "border-radius:4px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    ).encode()


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def make_handler(args, secret):
    redirect_uri = f"http://localhost:{args.port}/callback"
    pending = {}  # state -> nonce
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "demo-app"

        def log_message(self, fmt, *a):
            pass

        def send(self, status, body, headers=()):
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            if url.path == "/":
                return self.send(200, page("demo-app", (
                    "<p>A client application of the realm <code>acme</code>. Signing in goes through "
                    "Keycloak's password form and then the email code step.</p>"
                    "<p><a class=button href=/login>Sign in</a></p>"
                    "<p>User <code>alice</code>, password <code>alice-password</code>.</p>")))
            if url.path == "/login":
                state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
                with lock:
                    pending[state] = nonce
                    while len(pending) > PENDING_LIMIT:
                        pending.pop(next(iter(pending)))
                target = f"{args.issuer}/protocol/openid-connect/auth?" + urllib.parse.urlencode({
                    "client_id": args.client_id, "response_type": "code", "scope": "openid email profile",
                    "redirect_uri": redirect_uri, "state": state, "nonce": nonce})
                return self.send(303, b"", [("Location", target)])
            if url.path == "/callback":
                return self.callback(query)
            return self.send(404, page("Not found", "<p><a href=/>demo-app</a></p>"))

        def callback(self, query):
            one = lambda k: (query.get(k) or [""])[0]  # noqa: E731
            if one("error"):
                return self.send(400, page("Sign-in failed", (
                    f"<p>Keycloak answered <code>{html.escape(one('error'))}</code>: "
                    f"{html.escape(one('error_description'))}</p><p><a href=/>Try again</a></p>")))
            with lock:
                nonce = pending.pop(one("state"), None)
            if nonce is None:
                return self.send(400, page("Sign-in failed", (
                    "<p>Unknown or used <code>state</code>: this login was not started here, or the page "
                    "was reloaded.</p><p><a href=/>Start again</a></p>")))
            form = urllib.parse.urlencode({
                "grant_type": "authorization_code", "code": one("code"), "redirect_uri": redirect_uri}).encode()
            basic = base64.b64encode(f"{args.client_id}:{secret}".encode()).decode()
            request = urllib.request.Request(
                f"{args.issuer}/protocol/openid-connect/token", data=form,
                headers={"Authorization": f"Basic {basic}",
                         "Content-Type": "application/x-www-form-urlencoded"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    tokens = json.load(response)
            except urllib.error.HTTPError as e:
                return self.send(502, page("Sign-in failed", (
                    f"<p>The token endpoint answered {e.code}: <code>{html.escape(e.read(500).decode(errors='replace'))}"
                    "</code></p><p><a href=/>Try again</a></p>")))
            except OSError as e:
                return self.send(502, page("Sign-in failed", f"<p>Keycloak unreachable: {html.escape(str(e))}</p>"))
            # Received straight from the token endpoint, so its signature is not checked here.
            claims = jwt_claims(tokens["id_token"])
            if claims.get("nonce") != nonce:
                return self.send(400, page("Sign-in failed", "<p>The ID token's nonce does not match.</p>"))
            rows = "".join(
                f"<tr><th>{html.escape(k)}</th><td>{html.escape(json.dumps(v))}</td></tr>"
                for k, v in claims.items())
            logout = f"{args.issuer}/protocol/openid-connect/logout?" + urllib.parse.urlencode({
                "client_id": args.client_id})
            return self.send(200, page(f"Signed in as {claims.get('preferred_username', claims.get('sub'))}", (
                f"<p>The ID token Keycloak issued to demo-app:</p><table>{rows}</table>"
                f"<p><a href=/>Home</a> · <a href=\"{html.escape(logout)}\">Sign out at Keycloak</a></p>")))

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret-file", required=True)
    args = parser.parse_args()
    with open(args.client_secret_file, encoding="utf-8") as f:
        secret = f.read().strip()
    httpd = ThreadingHTTPServer((LOOPBACK, args.port), make_handler(args, secret))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown, daemon=True).start())
    print(f"demo-app: http://localhost:{args.port}/ (client {args.client_id} at {args.issuer})", flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
