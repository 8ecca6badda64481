#!/usr/bin/env python3
"""SMTP sink for the local stack: accepts every message on loopback, stores it as
an .eml file, and shows the stored mail over HTTP (a page for people, JSON for tests).

    mail-sink.py --smtp-port 11025 --http-port 18025 --dir RUN/mail
"""
import argparse
import email
import email.policy
import html
import json
import os
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

LOOPBACK = "127.0.0.1"
MESSAGE_NAME = re.compile(r"^(\d{6})\.eml$")


class Maildir:
    """Numbered .eml files in one directory; writes are atomic (temp file + rename)."""

    def __init__(self, path: Path):
        self.path = path
        self.path.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def ids(self):
        return sorted(
            int(m.group(1)) for m in (MESSAGE_NAME.match(p.name) for p in self.path.iterdir()) if m
        )

    def store(self, raw: bytes) -> int:
        with self.lock:
            ids = self.ids()
            number = (ids[-1] + 1) if ids else 1
            tmp = self.path / f".{number:06d}.tmp"
            tmp.write_bytes(raw)
            os.replace(tmp, self.path / f"{number:06d}.eml")
            return number

    def raw(self, number: int) -> bytes:
        return (self.path / f"{number:06d}.eml").read_bytes()

    def summary(self, number: int) -> dict:
        raw = self.raw(number)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        rich = msg.get_body(preferencelist=("html",))
        return {
            "id": number,
            "from": str(msg.get("From", "")),
            "to": str(msg.get("To", "")),
            "subject": str(msg.get("Subject", "")),
            "date": str(msg.get("Date", "")),
            "text": text.get_content() if text is not None else "",
            "html": rich.get_content() if rich is not None else "",
        }


class SmtpHandler:
    def __init__(self, maildir: Maildir):
        self.maildir = maildir

    async def handle_DATA(self, server, session, envelope):
        number = self.maildir.store(envelope.original_content or envelope.content)
        print(
            f"mail-sink: stored message {number} for {len(envelope.rcpt_tos)} recipient(s)",
            flush=True,
        )
        return "250 Message accepted for delivery"


def page(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:15px system-ui,sans-serif;margin:2rem;max-width:60rem}"
        "table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .6rem;"
        "border-bottom:1px solid #ddd}pre{background:#f4f4f4;padding:1rem;white-space:pre-wrap}"
        "iframe{width:100%;height:32rem;border:1px solid #ccc}</style></head><body>"
        f"{body}</body></html>"
    ).encode()


def make_http_handler(maildir: Maildir):
    class Handler(BaseHTTPRequestHandler):
        server_version = "mail-sink"

        def log_message(self, fmt, *args):  # requests are not worth a log line each
            pass

        def send(self, status, content_type, body: bytes, extra=()):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def not_found(self):
            self.send(404, "text/plain; charset=utf-8", b"not found\n")

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                return self.send(200, "text/plain; charset=utf-8", b"ok\n")
            if path == "/api/messages":
                items = [maildir.summary(n) for n in maildir.ids()]
                body = json.dumps({"total": len(items), "messages": items}).encode()
                return self.send(200, "application/json", body)
            match = re.fullmatch(r"/messages/(\d+)(\.eml)?", path)
            if match:
                number = int(match.group(1))
                try:
                    if match.group(2):
                        return self.send(200, "message/rfc822", maildir.raw(number))
                    m = maildir.summary(number)
                except FileNotFoundError:
                    return self.not_found()
                rich = ""
                if m["html"]:
                    # The mail's own HTML, isolated: no scripts, no access to this origin.
                    rich = (
                        "<h2>HTML part</h2><iframe sandbox referrerpolicy=no-referrer srcdoc=\""
                        + html.escape(m["html"], quote=True)
                        + "\"></iframe>"
                    )
                body = (
                    f"<p><a href=/>&larr; all messages</a> · <a href=/messages/{number}.eml>raw</a></p>"
                    f"<h1>{html.escape(m['subject'])}</h1>"
                    f"<p>From: {html.escape(m['from'])}<br>To: {html.escape(m['to'])}<br>"
                    f"Date: {html.escape(m['date'])}</p>"
                    f"<h2>Text part</h2><pre>{html.escape(m['text'])}</pre>{rich}"
                )
                return self.send(
                    200,
                    "text/html; charset=utf-8",
                    page(m["subject"], body),
                    [("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; img-src data:")],
                )
            if path == "/":
                rows = []
                for n in reversed(maildir.ids()):
                    m = maildir.summary(n)
                    rows.append(
                        f"<tr><td>{n}</td><td>{html.escape(m['date'])}</td><td>{html.escape(m['to'])}</td>"
                        f"<td><a href=/messages/{n}>{html.escape(m['subject']) or '(no subject)'}</a></td></tr>"
                    )
                table = (
                    "<table><tr><th>#</th><th>Date</th><th>To</th><th>Subject</th></tr>"
                    + "".join(rows)
                    + "</table>"
                    if rows
                    else "<p>No mail yet. Reload after the code was sent.</p>"
                )
                return self.send(
                    200,
                    "text/html; charset=utf-8",
                    page("Mail sink", f"<h1>Mail sink</h1><p>Newest first.</p>{table}"),
                )
            return self.not_found()

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()

    maildir = Maildir(args.dir)
    controller = Controller(SmtpHandler(maildir), hostname=LOOPBACK, port=args.smtp_port)
    controller.start()
    httpd = ThreadingHTTPServer((LOOPBACK, args.http_port), make_http_handler(maildir))

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"mail-sink: SMTP on {LOOPBACK}:{args.smtp_port}, web on http://localhost:{args.http_port}/, "
        f"messages in {args.dir}",
        flush=True,
    )
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
