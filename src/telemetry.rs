//! Structured JSON logs. Nothing secret is ever a field: no code, pepper, key,
//! request JWT or assertion; email addresses are masked.
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

    #[test]
    fn challenge_ref_is_a_prefix() {
        assert_eq!(challenge_ref("abcdefghijkl"), "abcdefgh");
        assert_eq!(challenge_ref("abc"), "abc");
    }
}
