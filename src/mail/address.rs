//! Recipient addresses: one parser for the request check and the mailer.
//!
//! An address is taken only if lettre parses it, its domain is a host name
//! (no `[127.0.0.1]` literal) that converts to ASCII (IDNA), and its local
//! part is a plain dot-atom (no quoted string, so no `"a@x,b"@y`). What
//! passes here can be put in an SMTP envelope and a `To:` header as is.
use lettre::Address;

/// A recipient that passed [`Recipient::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    address: Address,
    /// Lower case, domain in ASCII (IDNA): the key of the per-address send limit.
    normalised: String,
}

impl Recipient {
    pub fn parse(raw: &str) -> Result<Recipient, String> {
        if raw.len() > 254 || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("is not an email address".into());
        }
        let address: Address = raw
            .parse()
            .map_err(|e| format!("is not an email address ({e})"))?;
        let (user, domain) = (address.user(), address.domain());
        if user.starts_with('"') || user.contains(['"', ',', '\\', '(', ')', '<', '>']) {
            return Err("has a quoted or special local part, which is not accepted".into());
        }
        if domain.starts_with('[') {
            return Err("has an address literal as its domain; a host name is required".into());
        }
        let ascii = idna::domain_to_ascii(domain)
            .map_err(|_| "has a domain that is not a valid internationalised name".to_string())?;
        if !ascii.contains('.') && !ascii.eq_ignore_ascii_case("localhost") {
            return Err("has a domain without a dot".into());
        }
        let normalised = format!("{}@{}", user.to_lowercase(), ascii.to_lowercase());
        Ok(Recipient {
            address,
            normalised,
        })
    }

    pub fn address(&self) -> &Address {
        &self.address
    }

    pub fn normalised(&self) -> &str {
        &self.normalised
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_pass_and_normalise() {
        let r = Recipient::parse("Alice.Smith@Example.COM").unwrap();
        assert_eq!(r.normalised(), "alice.smith@example.com");
        assert_eq!(r.address().to_string(), "Alice.Smith@Example.COM");
        let idn = Recipient::parse("anna@bücher.example").unwrap();
        assert_eq!(idn.normalised(), "anna@xn--bcher-kva.example");
        assert!(Recipient::parse("dev@localhost").is_ok());
    }

    #[test]
    fn addresses_smtp_cannot_take_are_refused() {
        for bad in [
            "\"a@x.example,b\"@y.example",
            "\"quoted\"@example.com",
            "root@[127.0.0.1]",
            "root@[IPv6:::1]",
            "no-at-sign",
            "a b@example.com",
            "a@example.com\r\nBcc: x@example.com",
            "user@nodot",
        ] {
            assert!(Recipient::parse(bad).is_err(), "{bad}");
        }
    }
}
