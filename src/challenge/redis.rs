//! The Redis store: one hash per challenge under a hash-tagged key, every
//! state change one Lua script run by `EVALSHA` (loaded on `NOSCRIPT`), so it
//! works the same on a single server and on Redis Cluster.
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClientBuilder, SentinelServerType};
use redis::{AsyncConnectionConfig, Cmd, ConnectionAddr, Script, Value};

use self::layout::{challenge_key, jti_field, rate_key, user_key};
use super::sentinel::SentinelConnection;
use super::thread_conn::ThreadConnection;
use super::{
    ChallengeId, ChallengeRecord, CodeMac, DeliveryState, DeliveryStep, JtiClaim, Policy,
    RateCount, RateKey, Rebind, ResendOutcome, SentinelSpec, Store, StoreCounters, StoreError,
    UserCharge, UserKey, UserUsage, VerifyOutcome, CREATED_MARK_SECS, EXPIRED_GRACE_SECS,
};

/// How long one connection attempt or one command may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnect attempts per outage detection; a failed command starts another round.
const RECONNECT_RETRIES: usize = 2;
/// Bound on the readiness probe ([`Store::ping`]).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Retries of a cluster command after a connection error or a redirection.
const CLUSTER_RETRIES: u32 = 2;
/// How long a consuming write waits for its replicas' acknowledgement (`WAIT`).
pub const REPLICA_ACK_TIMEOUT: Duration = Duration::from_millis(1000);

/// A script that answers with a challenge: `record.lua` (its `record_of`)
/// followed by the script itself, one text for `EVALSHA`.
macro_rules! script {
    ($file:literal) => {
        Script::new(&[lua!("record.lua"), lua!($file)].concat())
    };
}

/// A script file's text, built into the binary. In this crate's own unit tests
/// only, [`LUA_DIR_VAR`] may name a directory to read it from instead: the
/// Lua mutant harness (`scripts/lua-mutants.py`) runs the store suite against
/// mutated copies without rebuilding. No other build reads that variable.
macro_rules! lua {
    ($file:literal) => {
        lua_text($file, include_str!($file))
    };
}

/// See [`lua!`]: the variable the unit tests read the scripts' directory from.
#[cfg(test)]
pub(crate) const LUA_DIR_VAR: &str = "OTP_SIDECAR_TEST_LUA_DIR";

#[cfg(not(test))]
fn lua_text(_file: &str, built_in: &'static str) -> std::borrow::Cow<'static, str> {
    std::borrow::Cow::Borrowed(built_in)
}

#[cfg(test)]
#[allow(clippy::panic)]
fn lua_text(file: &str, built_in: &'static str) -> std::borrow::Cow<'static, str> {
    match std::env::var_os(LUA_DIR_VAR) {
        None => std::borrow::Cow::Borrowed(built_in),
        Some(dir) => {
            let path = std::path::Path::new(&dir).join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => std::borrow::Cow::Owned(text),
                Err(e) => panic!("{LUA_DIR_VAR}: cannot read {}: {e}", path.display()),
            }
        }
    }
}

static CHECK_CODE: LazyLock<Script> = LazyLock::new(|| script!("check_code.lua"));
static RESEND: LazyLock<Script> = LazyLock::new(|| script!("resend.lua"));
static CREATE: LazyLock<Script> = LazyLock::new(|| Script::new(&lua!("create.lua")));
static REBIND: LazyLock<Script> = LazyLock::new(|| script!("rebind.lua"));
static TAKE: LazyLock<Script> = LazyLock::new(|| script!("take.lua"));
static USER_CHARGE: LazyLock<Script> = LazyLock::new(|| Script::new(&lua!("user_charge.lua")));
static CLAIM_JTI: LazyLock<Script> = LazyLock::new(|| Script::new(&lua!("claim_jti.lua")));
static DELIVERY: LazyLock<Script> = LazyLock::new(|| script!("delivery.lua"));

/// A store on one Redis server (default), on a Redis Cluster
/// ([`ClusterStore`]) or on the master Redis Sentinels name
/// ([`SentinelStore`]). Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct RedisStore<C = ThreadConnection> {
    conn: C,
    /// Replicas that must acknowledge a consuming write (`WAIT`) before it
    /// counts; 0: none asked.
    min_replicas_ack: u32,
    counters: StoreCounters,
    /// A Redis Cluster: the probe also asks `CLUSTER INFO`.
    cluster: bool,
}

/// [`RedisStore`] on a Redis Cluster.
pub type ClusterStore = RedisStore<ClusterConnection>;

/// [`RedisStore`] on the master of a Sentinel-watched group.
pub type SentinelStore = RedisStore<SentinelConnection>;

impl<C> RedisStore<C> {
    fn new(conn: C) -> Self {
        RedisStore {
            conn,
            min_replicas_ack: 0,
            counters: StoreCounters::default(),
            cluster: false,
        }
    }

    /// A consuming write (a code checked, a request `jti` claimed) counts
    /// only once `n` replicas acknowledged it; otherwise it fails with
    /// [`StoreError::Unavailable`]. 0 asks no replica.
    pub fn with_min_replicas_ack(mut self, n: u32) -> Self {
        self.min_replicas_ack = n;
        self
    }

    /// Counts failed operations into `counters`.
    pub fn with_counters(mut self, counters: StoreCounters) -> Self {
        self.counters = counters;
        self
    }

    /// `e`, counted when it is [`StoreError::Unavailable`].
    fn failed(&self, e: StoreError) -> StoreError {
        if matches!(e, StoreError::Unavailable(_)) {
            self.counters.unavailable.inc();
        }
        e
    }
}

impl<C> std::fmt::Debug for RedisStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisStore")
    }
}

impl RedisStore {
    /// Connects to one server (`redis://` or `rediss://`, the latter verified
    /// against the system's trust store); fails when it cannot be reached now.
    /// Afterwards the connection is re-established by itself after any outage.
    pub async fn connect(url: &str) -> Result<RedisStore, StoreError> {
        RedisStore::connect_with_ca(url, None).await
    }

    /// [`RedisStore::connect`], trusting only `ca_pem` (PEM certificates) for
    /// `rediss://` instead of the system's trust store.
    pub async fn connect_with_ca(
        url: &str,
        ca_pem: Option<&[u8]>,
    ) -> Result<RedisStore, StoreError> {
        let client = match ca_pem {
            None => redis::Client::open(url),
            Some(pem) => redis::Client::build_with_tls(url, tls_roots(pem)),
        }
        .map_err(|e| StoreError::Unavailable(format!("invalid Redis URL: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_max_delay(Duration::from_millis(500));
        let conn = ThreadConnection::connect(client, config)
            .await
            .map_err(unavailable)?;
        Ok(RedisStore::new(conn))
    }
}

impl RedisStore {
    /// Opens the calling server thread's own connection in the background
    /// (see [`ThreadConnection`]).
    pub fn prepare_thread(&self) {
        self.conn.prepare_thread();
    }
}

impl ClusterStore {
    /// Connects to a Redis Cluster through any of its `nodes`
    /// (`redis://host:port` or `rediss://host:port` each); `ca_pem` as in
    /// [`RedisStore::connect_with_ca`].
    pub async fn connect_cluster(
        nodes: &[String],
        ca_pem: Option<&[u8]>,
    ) -> Result<ClusterStore, StoreError> {
        let mut builder = redis::cluster::ClusterClient::builder(nodes.iter().map(String::as_str))
            .connection_timeout(TIMEOUT)
            .response_timeout(TIMEOUT)
            // A command during a failover fails within seconds instead of
            // retrying for minutes (the default is 16 retries, 1.3 s apart and up).
            .retries(CLUSTER_RETRIES)
            .min_retry_wait(100)
            .max_retry_wait(500);
        if let Some(pem) = ca_pem {
            builder = builder.certs(tls_roots(pem));
        }
        let client = builder
            .build()
            .map_err(|e| StoreError::Unavailable(format!("invalid Redis Cluster URL: {e}")))?;
        let conn = client.get_async_connection().await.map_err(unavailable)?;
        Ok(RedisStore {
            cluster: true,
            ..RedisStore::new(conn)
        })
    }
}

impl SentinelStore {
    /// Connects to the master `spec`'s sentinels name (over TLS to both the
    /// sentinels and the master when `tls`, `ca_pem` as in
    /// [`RedisStore::connect_with_ca`]); fails when none is found now.
    /// After a failover the next command asks the sentinels again.
    pub async fn connect_sentinel(
        spec: &SentinelSpec,
        tls: bool,
        ca_pem: Option<&[u8]>,
    ) -> Result<SentinelStore, StoreError> {
        use secrecy::ExposeSecret as _;
        let addrs = spec.sentinels.iter().map(|(host, port)| {
            if tls {
                ConnectionAddr::TcpTls {
                    host: host.clone(),
                    port: *port,
                    insecure: false,
                    tls_params: None,
                }
            } else {
                ConnectionAddr::Tcp(host.clone(), *port)
            }
        });
        let invalid =
            |e: redis::RedisError| StoreError::Unavailable(format!("invalid sentinel set-up: {e}"));
        let mut builder =
            SentinelClientBuilder::new(addrs, &spec.master, SentinelServerType::Master)
                .map_err(invalid)?;
        if tls {
            builder = builder.set_client_to_redis_tls_mode(redis::TlsMode::Secure);
            if let Some(pem) = ca_pem {
                builder = builder
                    .set_client_to_redis_certificates(tls_roots(pem))
                    .set_client_to_sentinel_certificates(tls_roots(pem));
            }
        }
        if let Some(user) = &spec.username {
            builder = builder.set_client_to_redis_username(user);
        }
        if let Some(password) = &spec.password {
            builder = builder.set_client_to_redis_password(password.expose_secret());
        }
        let client = builder.build().map_err(invalid)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let conn = SentinelConnection::connect(client, config, TIMEOUT * 2)
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!(
                    "no master {:?} through the sentinels: {e}",
                    spec.master
                ))
            })?;
        Ok(RedisStore::new(conn))
    }
}

fn tls_roots(ca_pem: &[u8]) -> redis::TlsCertificates {
    redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(ca_pem.to_vec()),
    }
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Our scripts answer `CORRUPT ...` when a hash lacks a field they need.
fn script_error(e: redis::RedisError) -> StoreError {
    if e.code() == Some("CORRUPT") {
        StoreError::Corrupt(e.to_string())
    } else {
        unavailable(e)
    }
}

/// `EVALSHA` of `script` on `key`; the caller adds the arguments.
fn evalsha(script: &Script, key: &str) -> Cmd {
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(script.get_hash()).arg(1).arg(key);
    cmd
}

/// `{count, window end}` as `user_charge.lua` returns it.
fn charge_reply(reply: &Value) -> Result<(u32, i64), StoreError> {
    match reply {
        Value::Array(items) => match (items.first(), items.get(1)) {
            (Some(Value::Int(count)), Some(Value::Int(until))) => {
                Ok((u32::try_from(*count).unwrap_or(u32::MAX), *until))
            }
            _ => Err(StoreError::Corrupt(format!("charge returned {reply:?}"))),
        },
        other => Err(StoreError::Corrupt(format!("charge returned {other:?}"))),
    }
}

/// A counter as Redis returns it (`nil` when absent).
fn counter(v: Option<&Value>) -> Result<u32, StoreError> {
    match v {
        None | Some(Value::Nil) => Ok(0),
        Some(Value::Int(n)) => Ok(u32::try_from(*n).unwrap_or(u32::MAX)),
        Some(other) => bytes(other)
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|s| s.parse::<i64>().ok())
            .map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX))
            .ok_or_else(|| StoreError::Corrupt(format!("user counter {other:?}"))),
    }
}

/// Key and field names of the Redis layout, and how a [`ChallengeRecord`]
/// is written into its hash and read back.
///
/// The challenge hash `{ch:<id>}` (one letter per field; numbers are
/// stored as integers, which Redis keeps in one to nine bytes):
///
/// | field | holds |
/// |---|---|
/// | `t` | `created_at` (unix s) |
/// | `e` | `expires_at` |
/// | `s` | `last_sent_at` |
/// | `l` | `lease_until` |
/// | `a` | `attempts` |
/// | `r` | `resends` |
/// | `g` | `generation` |
/// | `d` | `delivery`: 0 sending, 1 sent, 2 failed |
/// | `p` | the policy: `"<length> <ttl_secs> <max_attempts> <resend_cooldown_secs> <max_resends>"` |
/// | `m` | the MAC of the current code (32 raw bytes) |
/// | `c` | the current code, sealed ([`super::seal_code`]) |
/// | `R` `U` `M` `O` `J` | realm issuer, subject, email, nonce, request jti |
/// | `Q` | the `return_uri` after `{realm}/login-actions/authenticate` (the query, with its `?`), the form every checked `return_uri` has; `X` instead holds a `return_uri` of another form whole |
/// | `N` `L` `A` `D` `C` `W` | when present: name, locale, azp, realm display name, client name, client URL |
///
/// A text longer than [`CHUNK`] bytes continues in `<field>2`, `<field>3`,
/// ... of [`CHUNK`] bytes each, so that no value exceeds Redis's default
/// `hash-max-listpack-value` and the hash stays a listpack (a hash with one
/// longer value is converted to a hash table, which costs about three times
/// as much). Neither the id (it is in the key name) nor the CSRF token
/// ([`super::csrf_token`]) is stored.
///
/// A hash without `e` is no challenge: what a finished challenge leaves
/// (the mark that its id was created: `t` alone, or `k` alone, holding the
/// same creation time, when its attempts were spent and later submissions
/// are answered locked), or a record of an older layout.
///
/// A user's hash `{ch:u:<UserKey>}`: `u` the budget window's end, `f`
/// failures, `c` challenges, and for each claimed request jti a field named
/// [`jti_field`] holding `"<expires_at> <challenge id>"`. A send limit
/// `{ch:r:<RateKey>}`: `u` the window's end, `m` mails.
pub mod layout {
    use super::super::{digest, ChallengeId, RateKey, UserKey};

    /// Longest value a field holds ([`super::layout`]).
    pub const CHUNK: usize = 64;

    /// The challenge's hash.
    pub fn challenge_key(id: &ChallengeId) -> String {
        format!("{{ch:{}}}", id.as_str())
    }

    /// The user's budget and claimed request jtis.
    pub fn user_key(user: &UserKey) -> String {
        format!("{{ch:u:{}}}", user.as_str())
    }

    /// A send-limit counter.
    pub fn rate_key(key: &RateKey) -> String {
        format!("{{ch:r:{}}}", key.as_str())
    }

    /// The field of a claimed request `jti` in its user's hash: a digest
    /// (never one letter, unlike the budget's fields), so the field's
    /// length is fixed whatever the jti.
    pub fn jti_field(jti: &str) -> String {
        digest(&[jti.as_bytes()])
    }

    /// Window end of a budget or send limit.
    pub const WINDOW_END: &str = "u";
    /// Mails counted by a send limit.
    pub const MAILS: &str = "m";
    /// `expires_at` of a challenge: present in every live one.
    pub const EXPIRES_AT: &str = "e";
    pub const ATTEMPTS: &str = "a";
    pub const RESENDS: &str = "r";
    pub const GENERATION: &str = "g";
    /// The policy, packed ([`super::layout`]).
    pub const POLICY: &str = "p";
    /// The mark a locked challenge leaves: its creation time, in this field
    /// instead of `t` ([`super::layout`]).
    pub const LOCKED: &str = "k";
}

use layout::CHUNK;

/// The path below the realm issuer of every checked `return_uri`
/// (`tokens::return_uri`); the hash stores only what follows it.
const ACTION_PATH: &str = "/login-actions/authenticate";

/// Field/value pairs of a challenge's hash, the MAC included ([`layout`]).
fn record_fields(record: &ChallengeRecord, mac: &CodeMac) -> Vec<(String, Vec<u8>)> {
    let p = &record.policy;
    let mut fields: Vec<(String, Vec<u8>)> = [
        ("t", record.created_at.to_string()),
        ("e", record.expires_at.to_string()),
        ("s", record.last_sent_at.to_string()),
        ("l", record.lease_until.to_string()),
        ("a", record.attempts.to_string()),
        ("r", record.resends.to_string()),
        ("g", record.generation.to_string()),
        ("d", delivery_code(record.delivery).to_string()),
        (
            "p",
            format!(
                "{} {} {} {} {}",
                p.length, p.ttl_secs, p.max_attempts, p.resend_cooldown_secs, p.max_resends
            ),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.into_bytes()))
    .collect();
    fields.push(("m".to_owned(), mac.to_vec()));
    put_text(&mut fields, "c", &record.sealed_code);
    put_text(&mut fields, "R", &record.realm);
    put_text(&mut fields, "U", &record.subject);
    put_text(&mut fields, "M", &record.email);
    put_text(&mut fields, "O", &record.nonce);
    fields.extend(request_fields(
        &record.realm,
        &record.request_jti,
        &record.return_uri,
    ));
    for (name, value) in [
        ("N", &record.name),
        ("L", &record.locale),
        ("A", &record.azp),
        ("D", &record.realm_name),
        ("C", &record.client_name),
        ("W", &record.client_url),
    ] {
        if let Some(v) = value {
            put_text(&mut fields, name, v);
        }
    }
    fields
}

/// The `d` field: 0 sending, 1 sent, 2 failed.
fn delivery_code(state: DeliveryState) -> u8 {
    match state {
        DeliveryState::Sending => 0,
        DeliveryState::Sent => 1,
        DeliveryState::Failed => 2,
    }
}

/// The `p` field: `"<length> <ttl_secs> <max_attempts> <resend_cooldown_secs> <max_resends>"`.
fn parse_policy(raw: &str) -> Option<Policy> {
    let mut numbers = raw.split(' ').map(str::parse::<u64>);
    let mut next = || numbers.next()?.ok();
    let policy = Policy {
        length: u8::try_from(next()?).ok()?,
        ttl_secs: next()?,
        max_attempts: u32::try_from(next()?).ok()?,
        resend_cooldown_secs: next()?,
        max_resends: u32::try_from(next()?).ok()?,
    };
    next().is_none().then_some(policy)
}

/// The fields of the request a challenge answers to (what a rebind
/// replaces): `J`, and `Q` or `X`.
fn request_fields(realm: &str, request_jti: &str, return_uri: &str) -> Vec<(String, Vec<u8>)> {
    let mut fields = Vec::new();
    put_text(&mut fields, "J", request_jti);
    match return_uri
        .strip_prefix(realm)
        .and_then(|rest| rest.strip_prefix(ACTION_PATH))
    {
        Some(query) => put_text(&mut fields, "Q", query),
        None => put_text(&mut fields, "X", return_uri),
    }
    fields
}

/// Appends `name` = `value` in pieces of at most [`CHUNK`] bytes: `name`,
/// then `name2`, `name3`, ...
fn put_text(fields: &mut Vec<(String, Vec<u8>)>, name: &str, value: &str) {
    let mut pieces = value.as_bytes().chunks(CHUNK);
    fields.push((name.to_owned(), pieces.next().unwrap_or_default().to_vec()));
    for (i, piece) in pieces.enumerate() {
        fields.push((format!("{name}{}", i + 2), piece.to_vec()));
    }
}

/// A string as our commands and scripts return it: a bulk string (a Lua
/// string is one; none of them answers with a status reply).
fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        _ => None,
    }
}

/// The record from a flat field/value list (as HGETALL or our scripts
/// return it); `None` for a hash that holds no challenge ([`layout`]).
fn parse_record(id: &ChallengeId, fields: &[Value]) -> Result<Option<ChallengeRecord>, StoreError> {
    let mut map: HashMap<&[u8], &[u8]> = HashMap::with_capacity(fields.len() / 2);
    for pair in fields.chunks(2) {
        let [k, v] = pair else {
            return Err(StoreError::Corrupt("odd field list".into()));
        };
        let (Some(k), Some(v)) = (bytes(k), bytes(v)) else {
            return Err(StoreError::Corrupt("non-string hash field".into()));
        };
        map.insert(k, v);
    }
    if !map.contains_key(&b"e"[..]) {
        return Ok(None);
    }
    let missing = |k: &str| StoreError::Corrupt(format!("challenge field {k} is missing"));
    let optional = |k: &str| -> Result<Option<String>, StoreError> {
        let Some(first) = map.get(k.as_bytes()) else {
            return Ok(None);
        };
        let mut text = first.to_vec();
        for n in 2.. {
            match map.get(format!("{k}{n}").as_bytes()) {
                Some(more) => text.extend_from_slice(more),
                None => break,
            }
        }
        String::from_utf8(text)
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("challenge field {k} is not UTF-8")))
    };
    let text = |k: &str| optional(k)?.ok_or_else(|| missing(k));
    let num = |k: &str| -> Result<i64, StoreError> {
        let raw = map.get(k.as_bytes()).ok_or_else(|| missing(k))?;
        std::str::from_utf8(raw)
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("challenge field {k} is not a number")))
    };
    let count = |k: &str| -> Result<u32, StoreError> {
        u32::try_from(num(k)?)
            .map_err(|_| StoreError::Corrupt(format!("challenge field {k} is out of range")))
    };
    let policy = text("p")?;
    let policy = parse_policy(&policy)
        .ok_or_else(|| StoreError::Corrupt(format!("challenge policy {policy:?} is malformed")))?;
    let delivery = match num("d")? {
        0 => DeliveryState::Sending,
        1 => DeliveryState::Sent,
        2 => DeliveryState::Failed,
        other => {
            return Err(StoreError::Corrupt(format!(
                "challenge delivery state {other} is unknown"
            )))
        }
    };
    let realm = text("R")?;
    let return_uri = match (optional("Q")?, optional("X")?) {
        (Some(query), _) => format!("{realm}{ACTION_PATH}{query}"),
        (None, Some(whole)) => whole,
        (None, None) => return Err(missing("Q")),
    };
    Ok(Some(ChallengeRecord {
        id: id.clone(),
        subject: text("U")?,
        email: text("M")?,
        name: optional("N")?,
        locale: optional("L")?,
        azp: optional("A")?,
        realm_name: optional("D")?,
        client_name: optional("C")?,
        client_url: optional("W")?,
        nonce: text("O")?,
        request_jti: text("J")?,
        return_uri,
        realm,
        policy,
        attempts: count("a")?,
        resends: count("r")?,
        created_at: num("t")?,
        last_sent_at: num("s")?,
        expires_at: num("e")?,
        delivery,
        generation: count("g")?,
        lease_until: num("l")?,
        sealed_code: text("c")?,
    }))
}

/// `{verdict, payload?}` as our scripts return it.
fn parse_verdict(reply: &Value) -> Result<(&str, Option<&Value>), StoreError> {
    let Value::Array(items) = reply else {
        return Err(StoreError::Corrupt(format!(
            "script returned {reply:?}, expected an array"
        )));
    };
    let verdict = items
        .first()
        .and_then(bytes)
        .and_then(|b| std::str::from_utf8(b).ok())
        .ok_or_else(|| StoreError::Corrupt("script reply has no verdict".into()))?;
    Ok((verdict, items.get(1)))
}

/// The live challenge `id` a script answered with.
fn record_payload(
    id: &ChallengeId,
    payload: Option<&Value>,
) -> Result<Box<ChallengeRecord>, StoreError> {
    match payload {
        Some(Value::Array(fields)) => parse_record(id, fields)?
            .map(Box::new)
            .ok_or_else(|| StoreError::Corrupt("script answered with no challenge".into())),
        other => Err(StoreError::Corrupt(format!(
            "script reply carries {other:?}, expected a record"
        ))),
    }
}

fn int_payload(payload: Option<&Value>) -> Result<i64, StoreError> {
    match payload {
        Some(Value::Int(n)) => Ok(*n),
        other => Err(StoreError::Corrupt(format!(
            "script reply carries {other:?}, expected an integer"
        ))),
    }
}

fn ttl(expires_at: i64, now: i64) -> i64 {
    expires_at.saturating_sub(now).max(1)
}

impl<C> RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Runs a consuming script (`eval`, built by [`evalsha`]). With
    /// `min_replicas_ack` > 0 it is followed, on the same connection and so
    /// on the same node, by `WAIT n timeout`; the reply counts only when
    /// enough replicas acknowledged it, so a failover cannot bring back
    /// what it consumed.
    async fn consume(&self, script: &Script, eval: Cmd) -> Result<Value, StoreError> {
        let mut conn = self.conn.clone();
        let n = self.min_replicas_ack;
        let mut call = redis::pipe();
        // Each reply is looked at here: a pipeline's error would hide its code.
        call.ignore_errors().add_command(eval);
        if n > 0 {
            call.cmd("WAIT")
                .arg(n)
                .arg(REPLICA_ACK_TIMEOUT.as_millis() as u64);
        }
        let mut replies: Vec<Value> = call
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(unavailable(e)))?;
        if matches!(replies.first(), Some(Value::ServerError(e)) if e.code() == "NOSCRIPT") {
            script
                .load_async(&mut conn)
                .await
                .map_err(|e| self.failed(unavailable(e)))?;
            replies = call
                .query_async(&mut conn)
                .await
                .map_err(|e| self.failed(unavailable(e)))?;
        }
        let mut reply = replies.into_iter();
        let result = reply
            .next()
            .unwrap_or(Value::Nil)
            .extract_error()
            .map_err(|e| self.failed(script_error(e)))?;
        if n > 0 {
            let acked = match reply.next().map(Value::extract_error) {
                Some(Ok(Value::Int(acked))) => acked,
                Some(Err(e)) => return Err(self.failed(unavailable(e))),
                other => {
                    return Err(StoreError::Corrupt(format!("WAIT answered {other:?}")));
                }
            };
            if acked < i64::from(n) {
                self.counters.unacknowledged.inc();
                return Err(self.failed(StoreError::Unavailable(format!(
                    "{acked} of {n} replica(s) acknowledged the write within {} ms \
                     (store.min_replicas_ack)",
                    REPLICA_ACK_TIMEOUT.as_millis()
                ))));
            }
        }
        Ok(result)
    }
}

impl<C> RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Deletes and returns the challenge, its mark saying why it ended
    /// (`ending`: `cancelled` or `locked`, `take.lua`).
    async fn take_as(
        &self,
        id: &ChallengeId,
        ending: &str,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        let mut conn = self.conn.clone();
        let reply: Value = TAKE
            .key(challenge_key(id))
            .arg(now)
            .arg(CREATED_MARK_SECS)
            .arg(ending)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(script_error(e)))?;
        let Value::Array(fields) = reply else {
            return Err(StoreError::Corrupt(format!("take returned {reply:?}")));
        };
        if fields.is_empty() {
            return Ok(None);
        }
        Ok(parse_record(id, &fields)?.filter(|record| !record.is_gone(now)))
    }
}

impl<C> Store for RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn claim_jti(
        &self,
        user: &UserKey,
        jti: &str,
        challenge: &ChallengeId,
        expires_at: i64,
        now: i64,
    ) -> Result<JtiClaim, StoreError> {
        let mut eval = evalsha(&CLAIM_JTI, &user_key(user));
        eval.arg(now)
            .arg(expires_at.max(now.saturating_add(1)))
            .arg(challenge.as_str())
            .arg(jti_field(jti));
        let reply = self.consume(&CLAIM_JTI, eval).await?;
        let seen: Option<String> = redis::from_redis_value(reply)
            .map_err(|e| StoreError::Corrupt(format!("jti claim answered {e}")))?;
        match seen {
            None => Ok(JtiClaim::Fresh),
            Some(id) => ChallengeId::parse(&id)
                .map(JtiClaim::Seen)
                .map_err(|e| StoreError::Corrupt(format!("jti bound to a bad id: {e}"))),
        }
    }

    async fn create(
        &self,
        record: &ChallengeRecord,
        mac: &CodeMac,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let kept = ttl(record.expires_at.saturating_add(EXPIRED_GRACE_SECS), now);
        let mut call = CREATE.key(challenge_key(&record.id));
        call.arg(kept.max(CREATED_MARK_SECS));
        for (name, value) in record_fields(record, mac) {
            call.arg(name).arg(value);
        }
        let created: i64 = call
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(script_error(e)))?;
        if created == 1 {
            Ok(())
        } else {
            Err(StoreError::AlreadyCreated(record.id.to_string()))
        }
    }

    async fn get(&self, id: &ChallengeId, now: i64) -> Result<Option<ChallengeRecord>, StoreError> {
        let mut conn = self.conn.clone();
        let reply: Value = redis::cmd("HGETALL")
            .arg(challenge_key(id))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(unavailable(e)))?;
        let fields = match reply {
            Value::Array(fields) => fields,
            // RESP3 answers a map.
            Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
            other => return Err(StoreError::Corrupt(format!("HGETALL returned {other:?}"))),
        };
        if fields.is_empty() {
            return Ok(None);
        }
        Ok(parse_record(id, &fields)?.filter(|record| !record.is_gone(now)))
    }

    async fn check_code(
        &self,
        id: &ChallengeId,
        mac: &CodeMac,
        now: i64,
    ) -> Result<VerifyOutcome, StoreError> {
        let mut eval = evalsha(&CHECK_CODE, &challenge_key(id));
        eval.arg(now)
            .arg(&mac[..])
            .arg(EXPIRED_GRACE_SECS)
            .arg(CREATED_MARK_SECS);
        let reply = self.consume(&CHECK_CODE, eval).await?;
        let (verdict, payload) = parse_verdict(&reply)?;
        match verdict {
            "success" => Ok(VerifyOutcome::Success(record_payload(id, payload)?)),
            "locked" => Ok(VerifyOutcome::Locked(match payload {
                None => None,
                some => Some(record_payload(id, some)?),
            })),
            "expired" => Ok(VerifyOutcome::Expired(match payload {
                None => None,
                some => Some(record_payload(id, some)?),
            })),
            "invalid" => Ok(VerifyOutcome::Invalid {
                attempts_left: u32::try_from(int_payload(payload)?).unwrap_or(0),
            }),
            other => Err(StoreError::Corrupt(format!("unknown verdict {other}"))),
        }
    }

    async fn resend(
        &self,
        id: &ChallengeId,
        mac: &CodeMac,
        sealed_code: &str,
        lease_until: i64,
        now: i64,
    ) -> Result<ResendOutcome, StoreError> {
        let mut conn = self.conn.clone();
        let reply: Value = RESEND
            .key(challenge_key(id))
            .arg(now)
            .arg(&mac[..])
            .arg(EXPIRED_GRACE_SECS)
            .arg(sealed_code)
            .arg(lease_until)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(script_error(e)))?;
        let (verdict, payload) = parse_verdict(&reply)?;
        match verdict {
            "resent" => Ok(ResendOutcome::Resent(record_payload(id, payload)?)),
            "cooldown" => Ok(ResendOutcome::Cooldown {
                retry_after_secs: u64::try_from(int_payload(payload)?).unwrap_or(0),
            }),
            "exhausted" => Ok(ResendOutcome::Exhausted),
            "expired" => Ok(ResendOutcome::Expired),
            other => Err(StoreError::Corrupt(format!("unknown verdict {other}"))),
        }
    }

    async fn delivery(
        &self,
        id: &ChallengeId,
        step: DeliveryStep,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        // The last argument: the lease end, or the outcome ('d' field).
        let (op, generation, value) = match step {
            DeliveryStep::Claim { lease_until } => ("claim", 0, lease_until),
            DeliveryStep::Extend {
                generation,
                lease_until,
            } => ("extend", generation, lease_until),
            DeliveryStep::Finish { generation, state } => {
                ("finish", generation, i64::from(delivery_code(state)))
            }
        };
        let mut conn = self.conn.clone();
        let reply: Value = DELIVERY
            .key(challenge_key(id))
            .arg(op)
            .arg(now)
            .arg(generation)
            .arg(value)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(script_error(e)))?;
        match reply {
            Value::Array(fields) if fields.is_empty() => Ok(None),
            Value::Array(fields) => parse_record(id, &fields)?
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt("delivery answered with no challenge".into())),
            other => Err(StoreError::Corrupt(format!("delivery returned {other:?}"))),
        }
    }

    async fn charge_rate(
        &self,
        key: &RateKey,
        window_secs: u64,
        now: i64,
    ) -> Result<RateCount, StoreError> {
        let mut conn = self.conn.clone();
        let reply: Value = USER_CHARGE
            .key(rate_key(key))
            .arg(now)
            .arg(window_secs)
            .arg(layout::MAILS)
            .arg(1)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(script_error(e)))?;
        let (count, resets_at) = charge_reply(&reply)?;
        Ok(RateCount { count, resets_at })
    }

    async fn refund_rate(&self, key: &RateKey, now: i64) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: Value = USER_CHARGE
            .key(rate_key(key))
            .arg(now)
            .arg(0)
            .arg(layout::MAILS)
            .arg(-1)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(script_error(e)))?;
        Ok(())
    }

    async fn rebind(
        &self,
        id: &ChallengeId,
        rebind: &Rebind<'_>,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        let mut conn = self.conn.clone();
        let mut call = REBIND.key(challenge_key(id));
        call.arg(now)
            .arg(rebind.realm)
            .arg(rebind.subject)
            .arg(rebind.nonce);
        for (name, value) in request_fields(rebind.realm, rebind.request_jti, rebind.return_uri) {
            call.arg(name).arg(value);
        }
        let reply: Value = call
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(script_error(e)))?;
        let (verdict, payload) = parse_verdict(&reply)?;
        match verdict {
            "rebound" => Ok(Some(*record_payload(id, payload)?)),
            "unchanged" => Ok(None),
            other => Err(StoreError::Corrupt(format!("unknown verdict {other}"))),
        }
    }

    async fn take(
        &self,
        id: &ChallengeId,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        self.take_as(id, "cancelled", now).await
    }

    async fn lock(
        &self,
        id: &ChallengeId,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        self.take_as(id, "locked", now).await
    }

    /// The mark's own TTL ends it (`retire` in record.lua), so `now` is not
    /// needed here.
    async fn was_locked(&self, id: &ChallengeId, _now: i64) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let mark: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(challenge_key(id))
            .arg(layout::LOCKED)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(unavailable(e)))?;
        Ok(mark.is_some())
    }

    async fn charge_user(
        &self,
        user: &UserKey,
        kind: UserCharge,
        window_secs: u64,
        now: i64,
    ) -> Result<u32, StoreError> {
        let mut conn = self.conn.clone();
        let reply: Value = USER_CHARGE
            .key(user_key(user))
            .arg(now)
            .arg(window_secs)
            .arg(kind.field())
            .arg(1)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(script_error(e)))?;
        Ok(charge_reply(&reply)?.0)
    }

    async fn refund_user(
        &self,
        user: &UserKey,
        kind: UserCharge,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: Value = USER_CHARGE
            .key(user_key(user))
            .arg(now)
            .arg(0)
            .arg(kind.field())
            .arg(-1)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(script_error(e)))?;
        Ok(())
    }

    async fn user_usage(&self, user: &UserKey, now: i64) -> Result<UserUsage, StoreError> {
        let mut conn = self.conn.clone();
        let reply: Value = redis::cmd("HMGET")
            .arg(user_key(user))
            .arg(layout::WINDOW_END)
            .arg(UserCharge::Failure.field())
            .arg(UserCharge::Challenge.field())
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(unavailable(e)))?;
        let Value::Array(items) = reply else {
            return Err(StoreError::Corrupt(format!("HMGET returned {reply:?}")));
        };
        let until = match items.first() {
            None | Some(Value::Nil) => return Ok(UserUsage::default()),
            Some(v) => i64::from(counter(Some(v))?),
        };
        if now >= until {
            return Ok(UserUsage::default());
        }
        Ok(UserUsage {
            failures: counter(items.get(1))?,
            challenges: counter(items.get(2))?,
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // One bound for the whole probe: a failover in progress shows as
        // "not ready" at once, not after the client's retries.
        tokio::time::timeout(PROBE_TIMEOUT, self.probe())
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "Redis did not answer the probe within {} ms",
                    PROBE_TIMEOUT.as_millis()
                ))
            })?
    }
}

impl<C> RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// `PING` (on a cluster: every master), then, with `min_replicas_ack`,
    /// `WAIT n` answering that many replicas: ready means a login can
    /// complete, and its consuming writes need the replicas (on a cluster
    /// `WAIT` answers the least over the masters).
    async fn probe(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let pong = redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(unavailable)?;
        if pong != "PONG" {
            return Err(StoreError::Corrupt(format!("PING answered {pong}")));
        }
        // The client pings the masters it is connected to; a master that
        // died is only seen by the cluster itself: every slot must be served.
        if self.cluster {
            let info: String = redis::cmd("CLUSTER")
                .arg("INFO")
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let field = |name: &str| {
                info.lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                    .map(str::trim)
                    .unwrap_or_default()
                    .to_string()
            };
            if field("cluster_state") != "ok" || field("cluster_slots_ok") != "16384" {
                return Err(StoreError::Unavailable(format!(
                    "cluster state {}, {} of 16384 slots ok (pfail {}, fail {})",
                    field("cluster_state"),
                    field("cluster_slots_ok"),
                    field("cluster_slots_pfail"),
                    field("cluster_slots_fail"),
                )));
            }
        }
        let n = self.min_replicas_ack;
        if n > 0 {
            let acked: i64 = redis::cmd("WAIT")
                .arg(n)
                .arg(PROBE_TIMEOUT.as_millis() as u64 / 4)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            if acked < i64::from(n) {
                return Err(StoreError::Unavailable(format!(
                    "{acked} of {n} replica(s) acknowledge writes (store.min_replicas_ack)"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hash_tagged_short_and_fixed_length() {
        let id = ChallengeId::parse("AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(challenge_key(&id), "{ch:AAAAAAAAAAAAAAAAAAAAAA}");
        let user = user_key(&UserKey::new("https://id.example.com/realms/acme", "jane"));
        let rate = rate_key(&super::super::RateKey::recipient("jane@example.com"));
        // Key names of at most 28 bytes: Redis allocates them in 32.
        for key in [challenge_key(&id), user.clone(), rate.clone()] {
            assert!(key.len() <= 28, "{key}");
        }
        assert!(user.starts_with("{ch:u:") && rate.starts_with("{ch:r:"));
        assert_eq!(jti_field("abc"), "ungWv48Bz-pBQUDeXa4i");
        assert_eq!(jti_field(&"x".repeat(10_000)).len(), 20);
    }

    fn record() -> ChallengeRecord {
        ChallengeRecord {
            id: ChallengeId::generate(),
            subject: "s".into(),
            email: "e".repeat(200),
            name: Some("Jané".repeat(40)),
            locale: None,
            realm: "https://id.example.com/realms/acme".into(),
            azp: None,
            realm_name: None,
            client_name: None,
            client_url: Some(String::new()),
            nonce: "n".into(),
            request_jti: "j".into(),
            return_uri: format!(
                "https://id.example.com/realms/acme/login-actions/authenticate?q={}",
                "x".repeat(100)
            ),
            policy: Policy {
                length: 6,
                ttl_secs: 600,
                max_attempts: 5,
                resend_cooldown_secs: 30,
                max_resends: 3,
            },
            attempts: 1,
            resends: 2,
            created_at: 1_800_000_000,
            last_sent_at: 1_800_000_030,
            expires_at: 1_800_000_600,
            delivery: DeliveryState::Failed,
            generation: 2,
            lease_until: 1_800_000_052,
            sealed_code: "c2VhbGVk".into(),
        }
    }

    fn as_values(fields: &[(String, Vec<u8>)]) -> Vec<Value> {
        fields
            .iter()
            .flat_map(|(k, v)| {
                [
                    Value::BulkString(k.clone().into_bytes()),
                    Value::BulkString(v.clone()),
                ]
            })
            .collect()
    }

    #[test]
    fn no_value_is_longer_than_a_listpack_keeps_and_every_record_reads_back() {
        let mut record = record();
        let fields = record_fields(&record, &[7u8; 32]);
        assert!(fields.iter().all(|(_, v)| v.len() <= CHUNK));
        // The return_uri is kept relative to the realm's action URL.
        let query = fields.iter().find(|(k, _)| k == "Q").unwrap();
        assert!(query.1.starts_with(b"?q=xxx"));
        assert!(fields.iter().any(|(k, _)| k == "M4"), "200 bytes: 4 pieces");
        assert!(!fields.iter().any(|(k, _)| k == "M5"));
        let back = parse_record(&record.id, &as_values(&fields)).unwrap();
        assert_eq!(back.as_ref(), Some(&record));
        // A return_uri of another form is kept whole; empty texts survive.
        record.return_uri = "urn:other".into();
        record.realm = String::new();
        let fields = record_fields(&record, &[7u8; 32]);
        assert!(fields.iter().any(|(k, _)| k == "X"));
        let back = parse_record(&record.id, &as_values(&fields)).unwrap();
        assert_eq!(back, Some(record));
    }

    #[test]
    fn a_hash_without_expiry_holds_no_challenge() {
        let id = ChallengeId::generate();
        for field in ["t", layout::LOCKED] {
            let mark = as_values(&[(field.to_owned(), b"1800000000".to_vec())]);
            assert_eq!(parse_record(&id, &mark).unwrap(), None);
        }
        // An older layout's record reads as no challenge, not as damage.
        let older = as_values(&[
            ("expires_at".to_owned(), b"1800000000".to_vec()),
            ("attempts".to_owned(), b"0".to_vec()),
        ]);
        assert_eq!(parse_record(&id, &older).unwrap(), None);
        assert!(parse_policy("6 600 5 30 3").is_some());
        for bad in [
            "6 600 5 30",
            "6 600 5 30 3 1",
            "300 600 5 30 3",
            "6 600 -5 30 3",
            "",
        ] {
            assert_eq!(parse_policy(bad), None, "{bad:?}");
        }
        let mut fields = record_fields(&record(), &[7u8; 32]);
        fields.retain(|(k, _)| k != "p");
        assert!(matches!(
            parse_record(&id, &as_values(&fields)),
            Err(StoreError::Corrupt(_))
        ));
    }
}
