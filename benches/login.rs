//! Login benchmark: what one browser login costs through the real Keycloak of
//! the local stack (`scripts/stack.sh`), password only against password plus
//! our email code, measured side by side in one run.
//!
//! Everything goes over HTTP the way a browser would send it, with no browser:
//! a fresh cookie jar per login, redirects followed by hand, forms read from
//! the HTML. One login of each phase:
//!
//! * **P** (password only): `GET` the authorization endpoint of a bench client
//!   whose browser flow is Keycloak's own `browser` flow, `POST` username and
//!   password to the login form, and arrive at the client's `redirect_uri`
//!   with `code=`;
//! * **E** (email code): the same for `demo-app`, whose flow adds our step:
//!   after the password, Keycloak's hand-off page is posted to the sidecar's
//!   `/authorize`, the code page is fetched, the code is read from the mail
//!   the SMTP sink of the stack stored, the code is posted, the assertion page
//!   is fetched and its form posted back to Keycloak, which redirects to the
//!   client with `code=`.
//!
//! Every login must end at the client with a code, else the benchmark stops
//! with the step, the status and the start of the page.
//!
//! Setup through Keycloak's admin REST API: the bench client (bound to the
//! realm's `browser` flow) and `OTP_BENCH_USERS` users with verified
//! addresses, so that no user comes near the sidecar's per-user and
//! per-address budgets (each user signs in about ten times per phase); both
//! are deleted at the end. Then a warm-up of `OTP_BENCH_WARMUP` logins of each
//! kind for Keycloak's JIT, then `OTP_BENCH_LOGINS` logins of each kind in
//! batches of `OTP_BENCH_BATCH`, interleaved P E P E so that drift cancels.
//! Around every batch the CPU time (utime + stime of all threads, from
//! `/proc/<pid>/stat`) of the Keycloak java process, the sidecar and
//! redis-server is read.
//!
//! Printed: per login, Keycloak's CPU in P and in E, their difference (what our
//! step costs Keycloak), the sidecar's and Redis' CPU in E, wall time in P and
//! in E, and the ratio sidecar CPU (E) / Keycloak CPU (P) next to its 1 %
//! target.
//!
//! The stack: by default the benchmark starts its own (`scripts/stack.sh
//! start`, with the sidecar binary cargo built alongside this benchmark, or
//! `OTP_BENCH_SERVICE_BIN`) and stops it at the end. `OTP_BENCH_STACK=running`
//! measures the stack that runs already (`.cache/stack/current`).
//!
//! Run: `cargo bench --bench login` (or `scripts/bench.sh login`). Run by
//! `cargo test --bench login`, it is a smoke run: 3 logins of each kind, no
//! warm-up; the E2E stage runs it that way on its stack.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use url::Url;

mod support;
use support::smtp::find_code;

/// The binary cargo built alongside this benchmark (release settings under
/// `cargo bench`).
const SERVICE_BIN: &str = env!("CARGO_BIN_EXE_otp-sidecar");
/// The stack's code length (the realm's `otp.code.length`).
const CODE_LENGTH: usize = 6;
/// Longest wait for one HTTP answer or one mail.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest redirect chain one step may follow.
const MAX_REDIRECTS: usize = 8;
/// The target: sidecar CPU per email login at most this share of Keycloak's
/// CPU per password login.
const TARGET_SHARE: f64 = 0.01;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------- settings

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StackMode {
    /// Start a stack for this run and stop it at the end.
    Start,
    /// Measure the stack that already runs.
    Running,
}

#[derive(Debug, Clone)]
struct Knobs {
    /// Measured logins per phase.
    logins: usize,
    /// Warm-up logins per phase.
    warmup: usize,
    batch: usize,
    users: usize,
    stack: StackMode,
}

/// A whole number from the environment; `min` is the smallest allowed.
fn env_count(name: &str, default: usize, min: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n >= min)
            .unwrap_or_else(|| panic!("{name}={v}: expected a whole number of at least {min}")),
        Err(_) => default,
    }
}

fn knobs() -> Knobs {
    // `cargo bench` passes --bench; `cargo test --bench login` does not.
    let measuring = std::env::args().any(|a| a == "--bench");
    let (logins, warmup, batch) = if measuring { (300, 200, 25) } else { (3, 0, 3) };
    let logins = env_count("OTP_BENCH_LOGINS", logins, 1);
    let warmup = env_count("OTP_BENCH_WARMUP", warmup, 0);
    let batch = env_count("OTP_BENCH_BATCH", batch.min(logins), 1);
    // About ten logins of each kind per user: far below the stack's per-user
    // challenge budget (100 an hour) and per-address mail limit (200 in 15 min).
    let users = env_count("OTP_BENCH_USERS", (logins + warmup).div_ceil(10), 1);
    let stack = match std::env::var("OTP_BENCH_STACK").as_deref() {
        Err(_) | Ok("start") => StackMode::Start,
        Ok("running") => StackMode::Running,
        Ok(other) => panic!("OTP_BENCH_STACK={other}: expected start or running"),
    };
    Knobs {
        logins,
        warmup,
        batch,
        users,
        stack,
    }
}

// ---------------------------------------------------------------- the stack

/// The stack under test: its run directory and `stack.env`; stops the stack
/// on drop when this run started it.
struct Stack {
    run: PathBuf,
    env: BTreeMap<String, String>,
    started_here: bool,
}

impl Stack {
    fn start() -> Result<Stack, String> {
        let bin = std::env::var_os("OTP_BENCH_SERVICE_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(SERVICE_BIN));
        println!(
            "starting the stack (scripts/stack.sh start) with the sidecar {}",
            bin.display()
        );
        let status = Command::new(repo().join("scripts/stack.sh"))
            .arg("start")
            .env("STACK_SIDECAR_BIN", &bin)
            // The benchmark stops at the client's redirect; no demo page needed.
            .env("STACK_DEMO_APP", "0")
            .status()
            .map_err(|e| format!("cannot run scripts/stack.sh: {e}"))?;
        if !status.success() {
            return Err(format!(
                "scripts/stack.sh start failed ({status}); if a stack runs already, stop it \
                 (scripts/stack.sh stop) or measure it with OTP_BENCH_STACK=running"
            ));
        }
        let mut stack = Stack::running()?;
        stack.started_here = true;
        Ok(stack)
    }

    fn running() -> Result<Stack, String> {
        let current = repo().join(".cache/stack/current");
        let run = std::fs::canonicalize(&current).map_err(|e| {
            format!(
                "no stack run at {} ({e}): start one (scripts/stack.sh start)",
                current.display()
            )
        })?;
        let text = std::fs::read_to_string(run.join("stack.env"))
            .map_err(|e| format!("cannot read {}/stack.env: {e}", run.display()))?;
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok(Stack {
            run,
            env,
            started_here: false,
        })
    }

    fn get(&self, key: &str) -> Result<&str, String> {
        self.env
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("{}/stack.env lacks {key}", self.run.display()))
    }

    /// The pid of a running service of this run (`pids/<name>` holds
    /// "pid starttime", so a recycled pid is not taken for it).
    fn service_pid(&self, name: &str) -> Result<u32, String> {
        let file = self.run.join("pids").join(name);
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("{name} is not running ({}: {e})", file.display()))?;
        let mut parts = text.split_whitespace();
        let pid: u32 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("{}: no pid", file.display()))?;
        let start = parts.next().unwrap_or_default();
        match stat_fields(pid) {
            Some(f) if f.get(19).map(String::as_str) == Some(start) => Ok(pid),
            _ => Err(format!("{name} (pid {pid}) is not running")),
        }
    }

    /// The process of a service whose command name is `comm`: the service's
    /// own pid or one in its process group (kc.sh runs java as a child).
    fn process(&self, name: &str, comm: &str) -> Result<Proc, String> {
        let group = self.service_pid(name)?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))? {
            let Some(pid) = entry
                .ok()
                .and_then(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
            else {
                continue;
            };
            let Some(fields) = stat_fields(pid) else {
                continue;
            };
            // After the command name: state, ppid, pgrp, ...
            if fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(group)
                && proc_comm(pid).as_deref() == Some(comm)
            {
                found.push(pid);
            }
        }
        match found.as_slice() {
            [pid] => Ok(Proc {
                name: name.to_string(),
                pid: *pid,
            }),
            [] => Err(format!(
                "no process named {comm} in the process group of {name} (pid {group})"
            )),
            more => Err(format!(
                "several processes named {comm} in the group of {name}: {more:?}"
            )),
        }
    }

    fn log_hint(&self) -> String {
        format!("logs: {}/logs/", self.run.display())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.started_here {
            let _ = Command::new(repo().join("scripts/stack.sh"))
                .arg("stop")
                .status();
        }
    }
}

/// The fields of /proc/<pid>/stat after the command name (which is in
/// parentheses and may hold spaces): index 0 is the state.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn proc_comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// A measured process.
struct Proc {
    name: String,
    pid: u32,
}

impl Proc {
    /// CPU time (user + system, every thread) used so far.
    fn cpu(&self) -> Result<Duration, String> {
        let f = stat_fields(self.pid)
            .ok_or_else(|| format!("{} (pid {}) has exited", self.name, self.pid))?;
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after ")".
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Ok(Duration::from_secs_f64(
            (ticks(11) + ticks(12)) as f64 / clock_ticks_per_second(),
        ))
    }
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ---------------------------------------------------------------- HTML forms

/// Undoes HTML escaping: the named entities FreeMarker and Handlebars write,
/// and numeric ones.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every tag `<name ...>` of the page, as its text between `<` and `>`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    html.match_indices(open.as_str())
        .filter_map(|(at, _)| {
            let tag = &html[at..];
            let after = tag[open.len()..].chars().next()?;
            if !after.is_whitespace() && after != '>' {
                return None;
            }
            Some(&tag[..tag.find('>')?])
        })
        .collect()
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    for quote in ['"', '\''] {
        let key = format!(" {name}={quote}");
        if let Some(start) = tag.find(&key).map(|i| i + key.len()) {
            let end = start + tag[start..].find(quote)?;
            return Some(unescape(&tag[start..end]));
        }
    }
    None
}

/// A form of the page: its action and its inputs (name, value).
struct Form {
    action: String,
    inputs: Vec<(String, String)>,
}

impl Form {
    fn field(&self, name: &str) -> Option<&str> {
        self.inputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The first form whose action, resolved against the page's URL, starts with
/// `prefix`.
fn form(html: &str, base: &Url, prefix: &str) -> Option<Form> {
    let mut rest = html;
    while let Some(at) = rest.find("<form") {
        let page = &rest[at..];
        let end = page.find("</form>").unwrap_or(page.len());
        let body = &page[..end];
        let action = tags(body, "form")
            .first()
            .and_then(|t| attribute(t, "action"))
            .and_then(|a| base.join(&a).ok())
            .map(String::from);
        if let Some(action) = action {
            if action.starts_with(prefix) {
                let inputs = tags(body, "input")
                    .into_iter()
                    .filter_map(|t| Some((attribute(t, "name")?, attribute(t, "value")?)))
                    .collect();
                return Some(Form { action, inputs });
            }
        }
        rest = &page[5..];
    }
    None
}

// ---------------------------------------------------------------- a browser

struct Cookie {
    name: String,
    value: String,
    path: String,
}

/// One login's browser: a cookie jar of its own; the HTTP connections are
/// shared.
struct Browser<'a> {
    http: &'a reqwest::Client,
    jar: Vec<Cookie>,
    /// What happened so far, for the error message.
    trail: Vec<String>,
}

/// Where a navigation ended.
enum Landed {
    /// A page (after following redirects).
    Page { url: Url, body: String },
    /// A redirect to the client's redirect_uri (not fetched).
    AtClient(Url),
}

impl<'a> Browser<'a> {
    fn new(http: &'a reqwest::Client) -> Self {
        Browser {
            http,
            jar: Vec::new(),
            trail: Vec::new(),
        }
    }

    fn cookie_header(&self, url: &Url) -> Option<String> {
        let path = url.path();
        let pairs: Vec<String> = self
            .jar
            .iter()
            .filter(|c| {
                path.starts_with(&c.path)
                    && (c.path.ends_with('/')
                        || path.len() == c.path.len()
                        || path[c.path.len()..].starts_with('/'))
            })
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn store_cookies(&mut self, url: &Url, response: &reqwest::Response) {
        for header in response.headers().get_all(SET_COOKIE) {
            let Ok(header) = header.to_str() else {
                continue;
            };
            let mut parts = header.split(';').map(str::trim);
            let Some((name, value)) = parts.next().and_then(|kv| kv.split_once('=')) else {
                continue;
            };
            let mut path = url
                .path()
                .rsplit_once('/')
                .map_or("/", |(dir, _)| if dir.is_empty() { "/" } else { dir })
                .to_string();
            let mut gone = false;
            for attr in parts {
                let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
                if k.eq_ignore_ascii_case("path") && v.starts_with('/') {
                    path = v.to_string();
                } else if k.eq_ignore_ascii_case("max-age") {
                    gone |= v.trim().parse::<i64>().is_ok_and(|s| s <= 0);
                } else if k.eq_ignore_ascii_case("expires") {
                    // Keycloak and actix expire cookies with a date in 1970.
                    gone |= v.contains("1970");
                }
            }
            self.jar.retain(|c| !(c.name == name && c.path == path));
            if !gone {
                self.jar.push(Cookie {
                    name: name.to_string(),
                    value: value.to_string(),
                    path,
                });
            }
        }
    }

    /// Sends one request, then follows redirects with GET until a page, or
    /// until a redirect to the client (`client` prefix), which is not fetched.
    async fn navigate(
        &mut self,
        step: &str,
        mut url: Url,
        mut form: Option<Vec<(String, String)>>,
        client: &str,
    ) -> Result<Landed, String> {
        for _ in 0..=MAX_REDIRECTS {
            let mut request = match &form {
                Some(fields) => self.http.post(url.clone()).form(fields),
                None => self.http.get(url.clone()),
            };
            if let Some(cookies) = self.cookie_header(&url) {
                request = request.header(COOKIE, cookies);
            }
            let method = if form.is_some() { "POST" } else { "GET" };
            let response = request
                .send()
                .await
                .map_err(|e| format!("{step}: {method} {}: {e}", short(&url)))?;
            let status = response.status();
            self.trail
                .push(format!("{method} {} -> {}", short(&url), status.as_u16()));
            self.store_cookies(&url, &response);
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| format!("{step}: {status} without Location"))?;
                let next = url
                    .join(location)
                    .map_err(|e| format!("{step}: bad Location {location:?}: {e}"))?;
                if next.as_str().starts_with(client) {
                    return Ok(Landed::AtClient(next));
                }
                url = next;
                form = None;
                continue;
            }
            let body = response
                .text()
                .await
                .map_err(|e| format!("{step}: reading {}: {e}", short(&url)))?;
            if status != StatusCode::OK {
                return Err(format!(
                    "{step}: {method} {} answered {status}: {}",
                    short(&url),
                    excerpt(&body)
                ));
            }
            return Ok(Landed::Page { url, body });
        }
        Err(format!("{step}: more than {MAX_REDIRECTS} redirects"))
    }

    /// Navigates and expects a page with a form whose action starts with
    /// `prefix`.
    async fn form_step(
        &mut self,
        step: &str,
        url: Url,
        fields: Option<Vec<(String, String)>>,
        client: &str,
        prefix: &str,
    ) -> Result<Form, String> {
        match self.navigate(step, url, fields, client).await? {
            Landed::Page { url, body } => form(&body, &url, prefix).ok_or_else(|| {
                format!(
                    "{step}: the page at {} has no form posting to {prefix}: {}",
                    short(&url),
                    excerpt(&body)
                )
            }),
            Landed::AtClient(at) => Err(format!(
                "{step}: sent to the client ({}) instead of a form posting to {prefix}",
                short(&at)
            )),
        }
    }

    /// Navigates and expects the redirect to the client with `code=` and the
    /// login's `state`.
    async fn final_step(
        &mut self,
        step: &str,
        url: Url,
        fields: Vec<(String, String)>,
        client: &str,
        state: &str,
    ) -> Result<(), String> {
        match self.navigate(step, url, Some(fields), client).await? {
            Landed::AtClient(at) => {
                let query: BTreeMap<_, _> = at.query_pairs().collect();
                if query.get("state").map(|s| s.as_ref()) != Some(state) {
                    return Err(format!("{step}: back at the client with another state"));
                }
                match query.get("code") {
                    Some(code) if !code.is_empty() => Ok(()),
                    _ => Err(format!(
                        "{step}: back at the client without a code: {}",
                        short(&at)
                    )),
                }
            }
            Landed::Page { url, body } => Err(format!(
                "{step}: stays at {} instead of going back to the client: {}",
                short(&url),
                excerpt(&body)
            )),
        }
    }
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// A URL without its query (which holds session codes), for messages.
fn short(url: &Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

/// The readable start of a page, for error messages.
fn excerpt(body: &str) -> String {
    let text: String = body
        .split('<')
        .map(|part| part.split_once('>').map_or(part, |(_, t)| t))
        .collect::<Vec<_>>()
        .join(" ");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(400).collect()
}

// ---------------------------------------------------------------- mail

/// The stack's SMTP sink stores each message as `<dir>/NNNNNN.eml`, numbered
/// in arrival order.
struct Mailbox {
    dir: PathBuf,
    next: u64,
}

impl Mailbox {
    fn open(dir: &Path) -> Result<Mailbox, String> {
        let last = std::fs::read_dir(dir)
            .map_err(|e| format!("mail directory {}: {e}", dir.display()))?
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix(".eml")?
                    .parse()
                    .ok()
            })
            .max()
            .unwrap_or(0u64);
        Ok(Mailbox {
            dir: dir.to_path_buf(),
            next: last + 1,
        })
    }

    /// The code of the next mail to `address` (bounded wait).
    async fn code_for(&mut self, address: &str) -> Result<String, String> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let file = self.dir.join(format!("{:06}.eml", self.next));
            match std::fs::read(&file) {
                Ok(raw) => {
                    self.next += 1;
                    let raw = String::from_utf8_lossy(&raw);
                    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
                    let to_us = head.lines().any(|l| {
                        l.to_ascii_lowercase().starts_with("to:")
                            && l.to_ascii_lowercase().contains(address)
                    });
                    if !to_us {
                        continue;
                    }
                    return find_code(&raw, CODE_LENGTH).ok_or_else(|| {
                        format!("mail {} to {address} has no code line", file.display())
                    });
                }
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(_) => {
                    return Err(format!(
                        "no mail to {address} within {STEP_TIMEOUT:?} (waiting for {})",
                        file.display()
                    ))
                }
            }
        }
    }
}

// ---------------------------------------------------------------- Keycloak admin

struct Admin<'a> {
    http: &'a reqwest::Client,
    base: String,
    realm: String,
    user: String,
    password: String,
    token: Option<(String, Instant)>,
}

impl Admin<'_> {
    async fn token(&mut self) -> Result<String, String> {
        if let Some((t, at)) = &self.token {
            // Master realm tokens live 60 s.
            if at.elapsed() < Duration::from_secs(30) {
                return Ok(t.clone());
            }
        }
        let response = self
            .http
            .post(format!(
                "{}/realms/master/protocol/openid-connect/token",
                self.base
            ))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", &self.user),
                ("password", &self.password),
            ])
            .send()
            .await
            .map_err(|e| format!("admin token: {e}"))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("admin token ({status}): {e}"))?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| format!("admin token: {status} {body}"))?
            .to_string();
        self.token = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    /// One admin request; returns the status, the Location header and the body.
    async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Option<String>, String), String> {
        let token = self.token().await?;
        let url = format!("{}/admin/realms/{}{path}", self.base, self.realm);
        let mut request = self.http.request(method.clone(), &url).bearer_auth(token);
        if let Some(b) = body {
            request = request.json(b);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("{method} {path}: {status} {}", excerpt(&text)));
        }
        Ok((status, location, text))
    }

    /// Creates something; returns its id (the last segment of Location).
    async fn create(&mut self, path: &str, body: &Value) -> Result<String, String> {
        let (_, location, _) = self.send(reqwest::Method::POST, path, Some(body)).await?;
        location
            .and_then(|l| l.rsplit('/').next().map(str::to_string))
            .ok_or_else(|| format!("POST {path}: no Location in the answer"))
    }
}

/// What setup made, so that it can be removed again.
struct Fixtures {
    client_id: String,
    client_uuid: String,
    users: Vec<(String, String)>, // (username, id)
    email_domain: &'static str,
    password: String,
}

async fn set_up(admin: &mut Admin<'_>, knobs: &Knobs, redirect: &str) -> Result<Fixtures, String> {
    let tag = format!(
        "{:x}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros())
            & 0xff_ffff
    );
    let (_, _, flows) = admin
        .send(reqwest::Method::GET, "/authentication/flows", None)
        .await?;
    let flows: Value =
        serde_json::from_str(&flows).map_err(|e| format!("authentication flows: {e}"))?;
    let browser = flows
        .as_array()
        .and_then(|a| a.iter().find(|f| f["alias"] == "browser"))
        .and_then(|f| f["id"].as_str())
        .ok_or("the realm has no flow aliased \"browser\" (Keycloak's password flow)")?
        .to_string();
    let origin = Url::parse(redirect)
        .map_err(|e| format!("redirect URI {redirect}: {e}"))?
        .origin()
        .ascii_serialization();
    let client_id = format!("login-bench-{tag}");
    let client_uuid = admin
        .create(
            "/clients",
            &json!({
                "clientId": client_id,
                "name": "Login benchmark (password only)",
                "enabled": true,
                "protocol": "openid-connect",
                "publicClient": false,
                "clientAuthenticatorType": "client-secret",
                "standardFlowEnabled": true,
                "implicitFlowEnabled": false,
                "directAccessGrantsEnabled": false,
                "redirectUris": [format!("{origin}/*")],
                "authenticationFlowBindingOverrides": { "browser": browser },
            }),
        )
        .await?;
    let password = format!("bench-{tag}-{}", std::process::id());
    let mut fixtures = Fixtures {
        client_id,
        client_uuid,
        users: Vec::new(),
        email_domain: "example.com",
        password,
    };
    for i in 0..knobs.users {
        let username = format!("bench-{tag}-{i:04}");
        let id = admin
            .create(
                "/users",
                &json!({
                    "username": username,
                    "email": format!("{username}@{}", fixtures.email_domain),
                    "emailVerified": true,
                    "enabled": true,
                    "firstName": "Bench",
                    "lastName": format!("User {i}"),
                    "requiredActions": [],
                    "credentials": [{
                        "type": "password",
                        "value": fixtures.password,
                        "temporary": false,
                    }],
                }),
            )
            .await;
        match id {
            Ok(id) => fixtures.users.push((username, id)),
            Err(e) => {
                tear_down(admin, &fixtures).await;
                return Err(e);
            }
        }
    }
    Ok(fixtures)
}

async fn tear_down(admin: &mut Admin<'_>, fixtures: &Fixtures) {
    for (username, id) in &fixtures.users {
        if let Err(e) = admin
            .send(reqwest::Method::DELETE, &format!("/users/{id}"), None)
            .await
        {
            eprintln!("cleanup: user {username}: {e}");
        }
    }
    if let Err(e) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/clients/{}", fixtures.client_uuid),
            None,
        )
        .await
    {
        eprintln!("cleanup: client {}: {e}", fixtures.client_id);
    }
}

// ---------------------------------------------------------------- logins

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Password only.
    P,
    /// Password and the email code.
    E,
}

struct Target<'a> {
    issuer: &'a str,
    sidecar: &'a str,
    redirect: &'a str,
    p_client: &'a str,
    e_client: &'a str,
}

fn authorization_url(t: &Target<'_>, client_id: &str, state: &str) -> Result<Url, String> {
    let mut url = Url::parse(&format!("{}/protocol/openid-connect/auth", t.issuer))
        .map_err(|e| format!("issuer {}: {e}", t.issuer))?;
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("redirect_uri", t.redirect)
        .append_pair("state", state)
        .append_pair("nonce", &format!("n-{state}"));
    Ok(url)
}

fn parse(url: &str, step: &str) -> Result<Url, String> {
    Url::parse(url).map_err(|e| format!("{step}: bad form action {url:?}: {e}"))
}

/// Who signs in, through which phase.
struct Attempt<'a> {
    phase: Phase,
    username: &'a str,
    email: &'a str,
    password: &'a str,
    state: &'a str,
}

/// One complete login; `Err` names the step that failed and what it saw.
async fn login(
    http: &reqwest::Client,
    mail: &mut Mailbox,
    t: &Target<'_>,
    a: &Attempt<'_>,
) -> Result<(), String> {
    let mut b = Browser::new(http);
    let result = login_steps(&mut b, mail, t, a).await;
    result.map_err(|e| format!("{e}\n  requests: {}", b.trail.join("; ")))
}

async fn login_steps(
    b: &mut Browser<'_>,
    mail: &mut Mailbox,
    t: &Target<'_>,
    a: &Attempt<'_>,
) -> Result<(), String> {
    let Attempt {
        phase,
        username,
        email,
        password,
        state,
    } = *a;
    let client = match phase {
        Phase::P => t.p_client,
        Phase::E => t.e_client,
    };
    let login_actions = format!("{}/login-actions/", t.issuer);
    let credentials = fields(&[
        ("username", username),
        ("password", password),
        ("credentialId", ""),
    ]);
    let login_form = b
        .form_step(
            "authorize",
            authorization_url(t, client, state)?,
            None,
            t.redirect,
            &login_actions,
        )
        .await?;
    let action = parse(&login_form.action, "login form")?;
    if phase == Phase::P {
        return b
            .final_step("password", action, credentials, t.redirect, state)
            .await;
    }
    // Keycloak's hand-off page: one field, the request JWT, to the sidecar.
    let authorize = format!("{}/authorize", t.sidecar);
    let handoff = b
        .form_step(
            "password",
            action,
            Some(credentials),
            t.redirect,
            &authorize,
        )
        .await?;
    let request = handoff
        .field("request")
        .ok_or("hand-off page: no request field")?
        .to_string();
    // The sidecar: 303 to the code page.
    let code_form = b
        .form_step(
            "sidecar authorize",
            parse(&handoff.action, "hand-off")?,
            Some(fields(&[("request", &request)])),
            t.redirect,
            &format!("{}/challenge/verify", t.sidecar),
        )
        .await?;
    let csrf = code_form
        .field("csrf_token")
        .ok_or("code page: no csrf_token field")?
        .to_string();
    let code = mail
        .code_for(email)
        .await
        .map_err(|e| format!("mail: {e}"))?;
    // Right code: 303 to /challenge/done, the page that posts the assertion.
    let assertion_form = b
        .form_step(
            "code",
            parse(&code_form.action, "code page")?,
            Some(fields(&[("csrf_token", &csrf), ("code", &code)])),
            t.redirect,
            &login_actions,
        )
        .await?;
    let assertion = assertion_form
        .field("assertion")
        .ok_or("assertion page: no assertion field")?
        .to_string();
    b.final_step(
        "assertion",
        parse(&assertion_form.action, "assertion page")?,
        fields(&[("assertion", &assertion)]),
        t.redirect,
        state,
    )
    .await
}

/// CPU of the three processes at one moment.
#[derive(Clone, Copy)]
struct Cpu {
    keycloak: Duration,
    sidecar: Duration,
    redis: Duration,
}

struct Procs {
    keycloak: Proc,
    sidecar: Proc,
    redis: Proc,
}

impl Procs {
    fn read(&self) -> Result<Cpu, String> {
        Ok(Cpu {
            keycloak: self.keycloak.cpu()?,
            sidecar: self.sidecar.cpu()?,
            redis: self.redis.cpu()?,
        })
    }
}

/// Sums of one phase over the measured batches.
#[derive(Default)]
struct Tally {
    logins: usize,
    keycloak: Duration,
    sidecar: Duration,
    redis: Duration,
    walls: Vec<Duration>,
    /// Keycloak CPU per login of each batch, for the spread.
    keycloak_per_batch: Vec<Duration>,
}

impl Tally {
    fn per_login(&self, d: Duration) -> Duration {
        d / u32::try_from(self.logins.max(1)).unwrap_or(u32::MAX)
    }
}

struct Runner<'a> {
    http: &'a reqwest::Client,
    mail: Mailbox,
    target: Target<'a>,
    fixtures: &'a Fixtures,
    procs: &'a Procs,
    counter: [usize; 2],
}

impl Runner<'_> {
    /// `n` logins of one phase, one after the other; their CPU and wall times.
    async fn batch(&mut self, phase: Phase, n: usize) -> Result<(Cpu, Vec<Duration>), String> {
        let before = self.procs.read()?;
        let mut walls = Vec::with_capacity(n);
        for _ in 0..n {
            let k = &mut self.counter[phase as usize];
            let i = *k;
            *k += 1;
            let (username, _) = &self.fixtures.users[i % self.fixtures.users.len()];
            let email = format!("{username}@{}", self.fixtures.email_domain);
            let state = format!("{phase:?}-{i}");
            let started = Instant::now();
            let attempt = Attempt {
                phase,
                username,
                email: &email,
                password: &self.fixtures.password,
                state: &state,
            };
            login(self.http, &mut self.mail, &self.target, &attempt)
                .await
                .map_err(|e| format!("login {phase:?} #{i} ({username}) failed at {e}"))?;
            walls.push(started.elapsed());
        }
        let after = self.procs.read()?;
        Ok((
            Cpu {
                keycloak: after.keycloak.saturating_sub(before.keycloak),
                sidecar: after.sidecar.saturating_sub(before.sidecar),
                redis: after.redis.saturating_sub(before.redis),
            },
            walls,
        ))
    }
}

struct Outcome {
    p: Tally,
    e: Tally,
    elapsed: Duration,
    warmup_elapsed: Duration,
    /// Load averages when the measured batches began and ended.
    load_before: String,
    load_after: String,
}

async fn run(knobs: &Knobs, stack: &Stack, http: &reqwest::Client) -> Result<Outcome, String> {
    let procs = Procs {
        keycloak: stack.process("keycloak", "java")?,
        sidecar: stack.process("sidecar", "otp-sidecar")?,
        redis: stack.process("redis", "redis-server")?,
    };
    println!(
        "processes: keycloak java pid {}, otp-sidecar pid {}, redis-server pid {}",
        procs.keycloak.pid, procs.sidecar.pid, procs.redis.pid
    );
    let mut admin = Admin {
        http,
        base: stack.get("KEYCLOAK_URL")?.to_string(),
        realm: stack.get("KEYCLOAK_REALM")?.to_string(),
        user: stack.get("KEYCLOAK_ADMIN_USER")?.to_string(),
        password: stack.get("KEYCLOAK_ADMIN_PASSWORD")?.to_string(),
        token: None,
    };
    let redirect = stack.get("DEMO_REDIRECT_URI")?;
    let t0 = Instant::now();
    let fixtures = set_up(&mut admin, knobs, redirect).await?;
    println!(
        "setup: client {} (Keycloak's browser flow), {} users, in {:.1} s",
        fixtures.client_id,
        fixtures.users.len(),
        t0.elapsed().as_secs_f64()
    );
    let result = measure(knobs, stack, http, &fixtures, &procs).await;
    tear_down(&mut admin, &fixtures).await;
    result
}

async fn measure(
    knobs: &Knobs,
    stack: &Stack,
    http: &reqwest::Client,
    fixtures: &Fixtures,
    procs: &Procs,
) -> Result<Outcome, String> {
    let mail_dir = PathBuf::from(stack.get("STACK_RUN_DIR")?).join("mail");
    let mut runner = Runner {
        http,
        mail: Mailbox::open(&mail_dir)?,
        target: Target {
            issuer: stack.get("KEYCLOAK_ISSUER")?,
            sidecar: stack.get("SIDECAR_URL")?,
            redirect: stack.get("DEMO_REDIRECT_URI")?,
            p_client: &fixtures.client_id,
            e_client: stack.get("DEMO_CLIENT_ID")?,
        },
        fixtures,
        procs,
        counter: [0, 0],
    };

    let warm = Instant::now();
    let mut done = 0;
    while done < knobs.warmup {
        let n = knobs.batch.min(knobs.warmup - done);
        for phase in [Phase::P, Phase::E] {
            runner.batch(phase, n).await?;
        }
        done += n;
        println!(
            "warm-up: {done}/{} logins of each kind, {:.0} s",
            knobs.warmup,
            warm.elapsed().as_secs_f64()
        );
    }
    let warmup_elapsed = warm.elapsed();

    let load_before = load_average();
    let start = Instant::now();
    let mut tallies = [Tally::default(), Tally::default()];
    let rounds = knobs.logins.div_ceil(knobs.batch);
    let mut done = 0;
    for round in 1..=rounds {
        let n = knobs.batch.min(knobs.logins - done);
        let mut line = format!("round {round}/{rounds}, {n} logins each:");
        for phase in [Phase::P, Phase::E] {
            let (cpu, walls) = runner.batch(phase, n).await?;
            let t = &mut tallies[phase as usize];
            t.logins += n;
            t.keycloak += cpu.keycloak;
            t.sidecar += cpu.sidecar;
            t.redis += cpu.redis;
            let per = |d: Duration| d / u32::try_from(n).unwrap_or(u32::MAX);
            t.keycloak_per_batch.push(per(cpu.keycloak));
            let wall: Duration = walls.iter().sum();
            line.push_str(&format!(
                "  {phase:?}: Keycloak {}, sidecar {}, Redis {}, wall {} per login;",
                ms(per(cpu.keycloak)),
                ms(per(cpu.sidecar)),
                ms(per(cpu.redis)),
                ms(per(wall))
            ));
            t.walls.extend(walls);
        }
        println!("{}", line.trim_end_matches(';'));
        done += n;
    }
    let [p, e] = tallies;
    Ok(Outcome {
        p,
        e,
        elapsed: start.elapsed(),
        warmup_elapsed,
        load_before,
        load_after: load_average(),
    })
}

// ---------------------------------------------------------------- report

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn ms_signed(secs: f64) -> String {
    format!("{:.2} ms", secs * 1e3)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn share(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        f64::NAN
    } else {
        a.as_secs_f64() / b.as_secs_f64()
    }
}

fn print_summary(knobs: &Knobs, run_dir: &Path, o: &mut Outcome) {
    println!("\n==== otp-sidecar login benchmark: summary ====");
    println!(
        "{} logins of each kind in batches of {} (P E P E ...), after a warm-up of {} of each \
         ({:.0} s); {} users; one login at a time, fresh cookie jar each; real Keycloak, \
         sidecar, Redis and SMTP sink of scripts/stack.sh; CPU = utime + stime of the process",
        o.p.logins,
        knobs.batch,
        knobs.warmup,
        o.warmup_elapsed.as_secs_f64(),
        knobs.users
    );
    let bin = std::fs::read_to_string(run_dir.join("sidecar-bin"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    let size = std::fs::metadata(&bin).map_or(0, |m| m.len());
    println!(
        "sidecar binary: {bin} ({:.1} MiB){}",
        size as f64 / (1024.0 * 1024.0),
        if bin.contains("/debug/") {
            "  -- a DEBUG build: its CPU figures do not stand for the release"
        } else {
            ""
        }
    );
    println!(
        "measured in {:.0} s; load average before {}, after {} ({} cores)",
        o.elapsed.as_secs_f64(),
        o.load_before,
        o.load_after,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let (p, e) = (&mut o.p, &mut o.e);
    p.walls.sort();
    e.walls.sort();
    let kc_p = p.per_login(p.keycloak);
    let kc_e = e.per_login(e.keycloak);
    // Signed: in a short or noisy run E can come out below P.
    let step_kc = kc_e.as_secs_f64() - kc_p.as_secs_f64();
    let side_e = e.per_login(e.sidecar);
    let redis_e = e.per_login(e.redis);
    let wall = |t: &Tally| {
        let mean: Duration = t.walls.iter().sum::<Duration>()
            / u32::try_from(t.walls.len().max(1)).unwrap_or(u32::MAX);
        (mean, percentile(&t.walls, 50.0), percentile(&t.walls, 95.0))
    };
    let (wp, we) = (wall(p), wall(e));
    let spread = |t: &Tally| {
        let min = t
            .keycloak_per_batch
            .iter()
            .min()
            .copied()
            .unwrap_or_default();
        let max = t
            .keycloak_per_batch
            .iter()
            .max()
            .copied()
            .unwrap_or_default();
        format!(
            "{:.1} .. {:.1} ms",
            min.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        )
    };
    let row = |label: &str, p: String, e: String| println!("  {label:<36}{p:>18}{e:>20}");
    println!(
        "\n{:<38}{:>18}{:>20}",
        "per login", "P (password)", "E (+ email code)"
    );
    row("Keycloak CPU", ms(kc_p), ms(kc_e));
    row("  per batch, lowest .. highest", spread(p), spread(e));
    row("sidecar CPU", ms(p.per_login(p.sidecar)), ms(side_e));
    row("redis-server CPU", ms(p.per_login(p.redis)), ms(redis_e));
    row("wall time, mean", ms(wp.0), ms(we.0));
    row("wall time, p50", ms(wp.1), ms(we.1));
    row("wall time, p95", ms(wp.2), ms(we.2));
    println!("\nour step (E - P), per login:");
    let line = |label: &str, v: String| println!("  {label:<36}{v:>18}");
    line("Keycloak CPU, E - P", ms_signed(step_kc));
    line("sidecar CPU (E)", ms(side_e));
    line("redis-server CPU (E)", ms(redis_e));
    let total = step_kc + side_e.as_secs_f64() + redis_e.as_secs_f64();
    println!(
        "  {:<36}{:>18}  ({:.1}% of Keycloak's CPU per password login)",
        "all three",
        ms_signed(total),
        total / kc_p.as_secs_f64() * 100.0
    );
    line(
        "wall time, mean E - P",
        ms_signed(we.0.as_secs_f64() - wp.0.as_secs_f64()),
    );
    let ratio = share(side_e, kc_p);
    let smoke = knobs.warmup == 0 || o.p.logins < 50;
    if smoke {
        println!(
            "\n(a smoke-sized run: Keycloak is not warmed up and the CPU clock counts in {:.0} ms \
             ticks, so these figures are not a measurement)",
            1e3 / clock_ticks_per_second()
        );
    }
    let verdict = if smoke {
        "no verdict from a smoke-sized run"
    } else if ratio <= TARGET_SHARE {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "\nratio sidecar CPU (E) / Keycloak CPU (P): {:.2}%  (target at most {:.0}%: {verdict})",
        ratio * 100.0,
        TARGET_SHARE * 100.0,
    );
}

fn main() {
    let knobs = knobs();
    println!("login benchmark settings: {knobs:?}");
    let stack = match knobs.stack {
        StackMode::Start => Stack::start(),
        StackMode::Running => Stack::running(),
    };
    let stack = stack.unwrap_or_else(|e| {
        eprintln!("login benchmark FAILED: {e}");
        std::process::exit(1);
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    // reqwest is built without a bundled crypto provider (plain HTTP here anyway).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(STEP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("HTTP client: {e}"));
    let result = rt.block_on(run(&knobs, &stack, &http));
    let run_dir = stack.run.clone();
    let hint = stack.log_hint();
    // A stack this run started stops before the summary, so that its messages
    // do not run into it.
    drop(stack);
    match result {
        Ok(mut outcome) => print_summary(&knobs, &run_dir, &mut outcome),
        Err(e) => {
            eprintln!("login benchmark FAILED: {e}\n{hint}");
            std::process::exit(1);
        }
    }
}
