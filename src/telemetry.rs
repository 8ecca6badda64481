//! Structured JSON logs. Nothing secret is ever a field: no code, pepper, key,
//! request JWT or assertion; email addresses are masked.
use std::net::SocketAddr;

use tracing::subscriber::set_global_default;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

/// A JSON subscriber writing to `sink`; `RUST_LOG` overrides `default_filter`.
pub fn subscriber<Sink>(default_filter: &str, sink: Sink) -> impl tracing::Subscriber + Send + Sync
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    Registry::default().with(filter).with(
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_target(true)
            .with_writer(sink),
    )
}

/// Install `subscriber` for the whole process. Fails if one is already set.
pub fn init(
    subscriber: impl tracing::Subscriber + Send + Sync,
) -> Result<(), tracing::subscriber::SetGlobalDefaultError> {
    set_global_default(subscriber)
}

/// The message of the start-up line that announces where the sidecar listens.
pub const LISTENING: &str = "listening";

/// Logs the start-up line, once the server listens: `addr` (the address
/// bound, also when the configuration said port 0), `port`, `public_url`
/// and `embedded`. Supervisors and tests read the address back from it
/// ([`listening_addr`]).
pub fn announce_listening(addr: SocketAddr, public_url: &url::Url, embedded: bool) {
    tracing::info!(
        addr = %addr,
        port = addr.port(),
        public_url = %public_url,
        embedded,
        "listening"
    );
}

/// The `addr` of a JSON log line written by [`announce_listening`]; `None`
/// for any other line.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let event: serde_json::Value = serde_json::from_str(line).ok()?;
    if event.get("message")?.as_str()? != LISTENING {
        return None;
    }
    event.get("addr")?.as_str()?.parse().ok()
}

/// `john@example.com` -> `j***@example.com`; anything without `@` -> `***`.
pub fn mask_email(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        _ => "***".to_string(),
    }
}

/// A short, non-secret reference to a challenge id for logs (the id itself
/// is a bearer value for the JSON API).
pub fn challenge_ref(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn masks_local_part() {
        assert_eq!(mask_email("john@example.com"), "j***@example.com");
        assert_eq!(mask_email("j@example.com"), "j***@example.com");
        assert_eq!(mask_email("élise@exämple.com"), "é***@exämple.com");
        assert_eq!(mask_email("@example.com"), "***");
        assert_eq!(mask_email("nobody"), "***");
    }

    /// Log lines written to a shared buffer.
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    #[test]
    fn the_listening_line_gives_back_the_bound_address() {
        let lines = Lines::default();
        let url = url::Url::parse("http://[::1]:41234/otp").unwrap();
        tracing::subscriber::with_default(subscriber("info", lines.clone()), || {
            tracing::info!(addr = "127.0.0.1:1", "not the announce line");
            announce_listening("[::1]:41234".parse().unwrap(), &url, false);
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let found: Vec<_> = text.lines().map(listening_addr).collect();
        assert_eq!(
            found,
            [None, Some("[::1]:41234".parse().unwrap())],
            "{text}"
        );
        let announce: serde_json::Value =
            serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(announce["port"], 41234);
        assert_eq!(announce["public_url"], "http://[::1]:41234/otp");
        assert_eq!(announce["embedded"], false);
        assert_eq!(listening_addr("not JSON"), None);
        assert_eq!(
            listening_addr(r#"{"message":"listening","addr":"nowhere"}"#),
            None
        );
    }

    #[test]
    fn challenge_ref_is_a_prefix() {
        assert_eq!(challenge_ref("abcdefghijkl"), "abcdefgh");
        assert_eq!(challenge_ref("abc"), "abc");
    }
}
