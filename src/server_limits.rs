//! What one client may hold of the server: a deadline for a request's body
//! (`server.body_timeout_secs`), and a cap on the connections one peer
//! address keeps open (`server.max_connections_per_client`).
//!
//! actix-http already cuts idle keep-alive connections and slow headers
//! (5 s); it has no bound on how long a body may take. The connection cap is
//! decided when a connection is accepted (`on_connect`); a connection over
//! the cap is answered `429` with `Connection: close` on its first request,
//! before anything else of the pipeline runs, and holds no slot.
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use actix_web::{HttpMessage as _, HttpResponse};
use futures_core::Stream;
use serde_json::json;

use crate::metrics::Metrics;

/// Open connections per peer address, shared by every worker.
#[derive(Debug)]
pub struct ClientSlots {
    /// 0: no cap.
    max: u32,
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// What `on_connect` decided for a connection; kept in its extensions.
#[derive(Debug)]
pub enum Admission {
    /// Holds one of its peer's slots until the connection is dropped.
    Admitted(#[allow(dead_code)] Option<SlotGuard>),
    /// Over its peer's cap: every request gets 429 and the connection closes.
    Refused,
}

/// One open connection of `ip`; gives its slot back when dropped.
#[derive(Debug)]
pub struct SlotGuard {
    slots: Arc<ClientSlots>,
    ip: IpAddr,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut open = self.slots.lock();
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

impl ClientSlots {
    pub fn new(max: u32) -> Arc<ClientSlots> {
        Arc::new(ClientSlots {
            max,
            open: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, u32>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a new connection from `ip`, unless it holds `max` already.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Admission {
        if self.max == 0 {
            return Admission::Admitted(None);
        }
        let mut open = self.lock();
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max {
            return Admission::Refused;
        }
        *n += 1;
        Admission::Admitted(Some(SlotGuard {
            slots: Arc::clone(self),
            ip,
        }))
    }

    /// Connections `ip` holds now.
    pub fn open(&self, ip: IpAddr) -> u32 {
        self.lock().get(&ip).copied().unwrap_or(0)
    }
}

/// The `on_connect` hook: take a slot for the peer, or mark the connection refused.
pub fn on_connect(
    slots: Arc<ClientSlots>,
    metrics: Arc<Metrics>,
) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync + 'static {
    move |conn, extensions| {
        let Some(peer) = conn
            .downcast_ref::<actix_web::rt::net::TcpStream>()
            .and_then(|s| s.peer_addr().ok())
        else {
            return;
        };
        let admission = slots.admit(peer.ip());
        if matches!(admission, Admission::Refused) {
            metrics.connections_refused.inc();
            tracing::debug!(
                max = slots.max,
                "connection refused: its client holds the most connections allowed"
            );
        }
        extensions.insert(admission);
    }
}

/// First thing for every request: a refused connection's request is
/// answered at once; any other gets a body deadline of `body_timeout` from now.
pub fn guard_request<S, B>(
    mut req: ServiceRequest,
    srv: &S,
    body_timeout: Duration,
    metrics: Arc<Metrics>,
) -> impl Future<Output = Result<ServiceResponse, actix_web::Error>>
where
    S: actix_web::dev::Service<
        ServiceRequest,
        Response = ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody + 'static,
{
    enum Next<F> {
        Refused(ServiceRequest),
        Call(F, Arc<AtomicBool>, Arc<Metrics>),
    }
    let next = if matches!(req.conn_data::<Admission>(), Some(Admission::Refused)) {
        Next::Refused(req)
    } else {
        let fired = Arc::new(AtomicBool::new(false));
        let payload = req.take_payload();
        req.set_payload(Payload::Stream {
            payload: Box::pin(BodyDeadline {
                inner: payload,
                sleep: Box::pin(tokio::time::sleep(body_timeout)),
                fired: Arc::clone(&fired),
            }),
        });
        Next::Call(srv.call(req), fired, metrics)
    };
    async move {
        match next {
            Next::Refused(req) => Ok(req.into_response(too_many_connections())),
            Next::Call(call, fired, metrics) => {
                let response = call.await?;
                if fired.load(Ordering::Relaxed) {
                    metrics.body_timeouts.inc();
                    tracing::warn!(
                        route = response.request().match_pattern().unwrap_or_default(),
                        "request body not received within server.body_timeout_secs; connection closed"
                    );
                    return Ok(response.into_response(body_too_slow()));
                }
                Ok(response.map_into_boxed_body())
            }
        }
    }
}

fn too_many_connections() -> HttpResponse {
    HttpResponse::TooManyRequests()
        .force_close()
        .insert_header(("Retry-After", "1"))
        .json(json!({
            "error": "too_many_connections",
            "message": "this client holds the most connections allowed; close some and retry",
        }))
}

fn body_too_slow() -> HttpResponse {
    HttpResponse::RequestTimeout().force_close().json(json!({
        "error": "request_timeout",
        "message": "the request body did not arrive in time",
    }))
}

/// The request's payload, failing once `sleep` is over.
struct BodyDeadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    fired: Arc<AtomicBool>,
}

impl Stream for BodyDeadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.fired.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.fired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request body deadline passed",
            )))));
        }
        Poll::Pending
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_per_address_and_given_back() {
        let slots = ClientSlots::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = slots.admit(a);
        let second = slots.admit(a);
        assert!(matches!(first, Admission::Admitted(Some(_))));
        assert!(matches!(second, Admission::Admitted(Some(_))));
        assert!(matches!(slots.admit(a), Admission::Refused));
        assert!(matches!(slots.admit(b), Admission::Admitted(Some(_))));
        assert_eq!(slots.open(a), 2);
        drop(first);
        assert_eq!(slots.open(a), 1);
        assert!(matches!(slots.admit(a), Admission::Admitted(Some(_))));
    }

    #[test]
    fn zero_means_no_cap() {
        let slots = ClientSlots::new(0);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<_> = (0..100).map(|_| slots.admit(a)).collect();
        assert!(held.iter().all(|s| matches!(s, Admission::Admitted(None))));
    }
}
