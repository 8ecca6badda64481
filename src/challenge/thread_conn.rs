//! One Redis connection per server thread.
//!
//! Each actix worker runs its requests on a single-threaded runtime of its
//! own. A connection opened on another runtime makes every command cross
//! threads twice (the request's task wakes that runtime's I/O task, whose
//! reply wakes the request's task again): in a profile of the JSON API those
//! wake-ups and context switches were the largest single cost. So a worker
//! thread opens its own connection on first use (or when
//! [`ThreadConnection::prepare_thread`] is called as it starts) and keeps it;
//! tasks on the multi-threaded runtime share the connection opened at start.
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Cmd, Pipeline, RedisFuture, RedisResult, Value};
use tokio::runtime::{Handle, RuntimeFlavor};

/// Tells stores apart in the per-thread table (tests run several in one process).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's connections, by store.
    static CONNECTIONS: RefCell<HashMap<u64, ConnectionManager>> = RefCell::new(HashMap::new());
}

/// A [`ConnectionManager`] per single-threaded runtime (an actix worker),
/// the shared one elsewhere. Each reconnects by itself after an outage.
#[derive(Clone)]
pub struct ThreadConnection {
    setup: Arc<Setup>,
    shared: ConnectionManager,
}

/// How a thread opens its connection.
struct Setup {
    id: u64,
    client: Client,
    config: ConnectionManagerConfig,
}

impl ThreadConnection {
    /// Opens the shared connection now (it fails when Redis cannot be reached).
    pub async fn connect(client: Client, config: ConnectionManagerConfig) -> RedisResult<Self> {
        let shared = ConnectionManager::new_with_config(client.clone(), config.clone()).await?;
        Ok(ThreadConnection {
            setup: Arc::new(Setup {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                client,
                config,
            }),
            shared,
        })
    }

    /// Whether the calling thread gets a connection of its own: it runs a
    /// single-threaded runtime, whose tasks never move to another thread.
    fn thread_owned() -> bool {
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::CurrentThread)
    }

    fn cached(&self) -> Option<ConnectionManager> {
        CONNECTIONS.with(|c| c.borrow().get(&self.setup.id).cloned())
    }

    /// The connection for the calling thread, opened if it has none yet.
    async fn resolve(&self) -> RedisResult<ConnectionManager> {
        if !Self::thread_owned() {
            return Ok(self.shared.clone());
        }
        if let Some(conn) = self.cached() {
            return Ok(conn);
        }
        let setup = &self.setup;
        let conn =
            ConnectionManager::new_with_config(setup.client.clone(), setup.config.clone()).await?;
        // Two first requests may race on one thread: the first one stored wins.
        Ok(CONNECTIONS.with(|c| c.borrow_mut().entry(setup.id).or_insert(conn).clone()))
    }

    /// Opens the calling thread's connection in the background, so that its
    /// first request does not wait for it; does nothing outside a
    /// single-threaded runtime. A failure is left to the first request,
    /// which tries again and reports it.
    pub fn prepare_thread(&self) {
        if !Self::thread_owned() || self.cached().is_some() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let _ = this.resolve().await;
        });
    }
}

impl ConnectionLike for ThreadConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move { self.resolve().await?.req_packed_command(cmd).await })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            self.resolve()
                .await?
                .req_packed_commands(cmd, offset, count)
                .await
        })
    }

    fn get_db(&self) -> i64 {
        self.shared.get_db()
    }
}
