// The demo-app's redirect target: a small HTTP server on localhost:18090 that records
// every callback and shows the browser a plain page.
import http from 'node:http';

export class CallbackServer {
  constructor(redirectUri) {
    this.redirect = new URL(redirectUri);
    this.requests = [];
  }

  async start() {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url, this.redirect.origin);
      if (url.pathname === this.redirect.pathname) {
        this.requests.push(url);
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end('<!doctype html><title>demo-app</title><h1>demo-app</h1><p>Signed in: the authorization code arrived.</p>');
    });
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(Number(this.redirect.port), '127.0.0.1', resolve);
    });
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Callback requests that arrived since `since` (a count from `this.requests.length`). */
  since(since) {
    return this.requests.slice(since);
  }
}
