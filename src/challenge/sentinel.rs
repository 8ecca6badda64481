//! [`SentinelConnection`]: a connection to the master a set of Redis
//! Sentinels names, which finds the master again after a failover.
//!
//! The master's address is asked of the sentinels when the first command is
//! sent, and again after any error that says the connection is gone or no
//! longer leads to the master: an I/O error (refused, reset, closed, timed
//! out), a reply out of step, or a reply saying the node did not run the
//! command because it is not a master that can (a write refused with
//! `READONLY`, `WAIT` refused by a replica, `MASTERDOWN`, `LOADING`). A
//! command refused that way was not run, so it is sent once more to the
//! master the sentinels name now; any other command whose fate is unknown is
//! not repeated: it fails, and the next one goes to the new master.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::sentinel::SentinelClient;
use redis::{AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};

/// Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct SentinelConnection {
    inner: Arc<Inner>,
}

struct Inner {
    /// Asking the sentinels is done by one caller at a time.
    sentinels: tokio::sync::Mutex<SentinelClient>,
    current: Mutex<Current>,
    config: AsyncConnectionConfig,
    /// Bound on one look-up through the sentinels plus the connection.
    lookup_timeout: Duration,
}

#[derive(Default)]
struct Current {
    /// Bumped at every new connection, so a stale failure does not drop a
    /// newer connection.
    epoch: u64,
    conn: Option<MultiplexedConnection>,
}

impl SentinelConnection {
    /// Connects to the master `sentinels` name now; fails when none can be
    /// found within `lookup_timeout`.
    pub async fn connect(
        sentinels: SentinelClient,
        config: AsyncConnectionConfig,
        lookup_timeout: Duration,
    ) -> Result<SentinelConnection, RedisError> {
        let conn = SentinelConnection {
            inner: Arc::new(Inner {
                sentinels: tokio::sync::Mutex::new(sentinels),
                current: Mutex::new(Current::default()),
                config,
                lookup_timeout,
            }),
        };
        conn.master().await?;
        Ok(conn)
    }

    fn cached(&self) -> Option<(u64, MultiplexedConnection)> {
        let current = self.inner.current.lock().unwrap_or_else(|p| p.into_inner());
        current.conn.clone().map(|c| (current.epoch, c))
    }

    /// The connection to the master, asking the sentinels when there is none.
    async fn master(&self) -> Result<(u64, MultiplexedConnection), RedisError> {
        if let Some(found) = self.cached() {
            return Ok(found);
        }
        let mut sentinels = self.inner.sentinels.lock().await;
        // Another caller may have found it while this one waited.
        if let Some(found) = self.cached() {
            return Ok(found);
        }
        let conn = tokio::time::timeout(
            self.inner.lookup_timeout,
            sentinels.get_async_connection_with_config(&self.inner.config),
        )
        .await
        .map_err(|_| {
            RedisError::from((
                ErrorKind::Io,
                "no master found through the sentinels in time",
            ))
        })??;
        let mut current = self.inner.current.lock().unwrap_or_else(|p| p.into_inner());
        current.epoch += 1;
        current.conn = Some(conn.clone());
        Ok((current.epoch, conn))
    }

    /// Drops the connection of `epoch`: the next command asks the sentinels.
    fn forget(&self, epoch: u64) {
        let mut current = self.inner.current.lock().unwrap_or_else(|p| p.into_inner());
        if current.epoch == epoch {
            current.conn = None;
        }
    }

    /// Sends `request` to the master; see the module documentation for what
    /// happens on errors.
    async fn run(&self, request: Request<'_>) -> Result<Reply, RedisError> {
        let (epoch, mut conn) = self.master().await?;
        let first = request.send(&mut conn).await;
        let refused = match &first {
            Ok(reply) => reply.refused_by_replica(),
            Err(e) => {
                if leads_nowhere(e) {
                    self.forget(epoch);
                }
                false
            }
        };
        if !refused {
            return first;
        }
        self.forget(epoch);
        let (epoch, mut conn) = self.master().await?;
        let second = request.send(&mut conn).await;
        match &second {
            Ok(reply) if reply.refused_by_replica() => self.forget(epoch),
            Err(e) if leads_nowhere(e) => self.forget(epoch),
            _ => {}
        }
        second
    }
}

#[derive(Clone, Copy)]
enum Request<'a> {
    One(&'a Cmd),
    Many(&'a Pipeline, usize, usize),
}

enum Reply {
    One(Value),
    Many(Vec<Value>),
}

impl Request<'_> {
    async fn send(self, conn: &mut MultiplexedConnection) -> Result<Reply, RedisError> {
        match self {
            Request::One(cmd) => conn.req_packed_command(cmd).await.map(Reply::One),
            Request::Many(pipeline, offset, count) => conn
                .req_packed_commands(pipeline, offset, count)
                .await
                .map(Reply::Many),
        }
    }
}

impl Reply {
    /// True when a replica refused (part of) it: not run.
    fn refused_by_replica(&self) -> bool {
        match self {
            Reply::One(v) => replica_refusal(v),
            Reply::Many(vs) => vs.iter().any(replica_refusal),
        }
    }
}

/// An error after which this connection should not be used again: every
/// transport failure (the redis crate reports refused, reset, closed and
/// timed-out connections as I/O errors), and the others it says need a new
/// connection (a reply that cannot be parsed). The server's own refusals
/// arrive as replies, not errors: [`replica_refusal`].
fn leads_nowhere(e: &RedisError) -> bool {
    e.is_io_error() || e.is_unrecoverable_error()
}

/// A node's refusal to run a command because it is not a master that can:
/// `READONLY` for a write on a replica, and for `WAIT` (the readiness
/// probe's, and the one after a consuming write) an `ERR` of its own, so
/// that a probe on a demoted master's connection does not fail until some
/// write finds the new master; `MASTERDOWN` (a replica cut off from its
/// master) and `LOADING` (a node reading its data after a restart).
fn replica_refusal(v: &Value) -> bool {
    matches!(v, Value::ServerError(e) if matches!(e.code(), "READONLY" | "MASTERDOWN" | "LOADING")
        || (e.code() == "ERR"
            && e.details().is_some_and(|d| d.starts_with("WAIT cannot be used with replica"))))
}

impl ConnectionLike for SentinelConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            match self.run(Request::One(cmd)).await? {
                Reply::One(v) => Ok(v),
                Reply::Many(_) => Err(RedisError::from((
                    ErrorKind::Client,
                    "one command answered as a pipeline",
                ))),
            }
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            match self.run(Request::Many(pipeline, offset, count)).await? {
                Reply::Many(v) => Ok(v),
                Reply::One(_) => Err(RedisError::from((
                    ErrorKind::Client,
                    "a pipeline answered as one command",
                ))),
            }
        })
    }

    fn get_db(&self) -> i64 {
        0
    }
}
