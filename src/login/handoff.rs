//! Handing the browser back to Keycloak without a form that Back can repost.
//!
//! The submission that ends a challenge answers `303` to `/challenge/done`
//! instead of the assertion itself, so the browser's history holds a `GET`:
//! Back never asks to resubmit a form. Two cookies carry what that `GET`
//! needs, each sealed with a MAC under the pepper (so neither can be forged
//! or moved to another kind):
//!
//! * the *hand-off*: the assertion and where it goes, read once by the next
//!   `GET /challenge/done` (which clears it) and good for the assertion's
//!   own lifetime;
//! * the *finished* mark: which application, its address if known, and how
//!   the step ended; a later `GET` (Back) shows the "finished" page with a
//!   link back to the application, never a live code field.
//!
//! A cookie is `base64url(JSON) "." base64url(HMAC-SHA256(pepper, 0x00
//! "cookie" 0x00 kind 0x00 JSON))` ([`Pepper::tag`]).
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::challenge::Pepper;

/// Cookie of the hand-off; its path is `/challenge/done` only.
pub const HANDOFF_COOKIE: &str = "otp_handoff";
/// Cookie of the finished mark.
pub const FINISHED_COOKIE: &str = "otp_finished";
/// How long Back still finds the finished page (then: no sign-in in progress).
pub const FINISHED_SECS: i64 = 1800;
/// Longest cookie value accepted (a browser keeps at most 4096 bytes).
const MAX_COOKIE_LEN: usize = 4096;

/// The assertion on its way to Keycloak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// The challenge's checked `return_uri`.
    #[serde(rename = "to")]
    pub return_uri: String,
    #[serde(rename = "a")]
    pub assertion: String,
    /// Unix seconds after which the hand-off is void.
    #[serde(rename = "u")]
    pub until: i64,
    /// The realm the page speaks for (its issuer and display name).
    #[serde(flatten)]
    pub realm: RealmOf,
}

/// The realm of a finished challenge, for the branding of the pages after it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealmOf {
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(rename = "rn", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl RealmOf {
    pub fn look(&self) -> crate::templates::RealmLook<'_> {
        crate::templates::RealmLook {
            issuer: self.issuer.as_deref(),
            display_name: self.name.as_deref(),
        }
    }
}

/// How a challenge ended, for the page Back shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finished {
    /// `success`, `cancelled`, `locked` or `expired`.
    #[serde(rename = "r")]
    pub result: String,
    /// The application's display name.
    #[serde(rename = "n")]
    pub app_name: String,
    /// The application's address, when the request named one.
    #[serde(rename = "url", default, skip_serializing_if = "Option::is_none")]
    pub app_url: Option<String>,
    /// The locale the challenge was in.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(flatten)]
    pub realm: RealmOf,
    #[serde(rename = "u")]
    pub until: i64,
}

/// Something sealed in a cookie with an end of validity.
pub trait Sealed: Serialize + DeserializeOwned {
    /// Told apart from every other kind by the MAC.
    const KIND: &'static str;
    fn until(&self) -> i64;
}

impl Sealed for Handoff {
    const KIND: &'static str = "handoff";
    fn until(&self) -> i64 {
        self.until
    }
}

impl Sealed for Finished {
    const KIND: &'static str = "finished";
    fn until(&self) -> i64 {
        self.until
    }
}

fn tag(pepper: &Pepper, kind: &str, json: &[u8]) -> [u8; 32] {
    pepper.tag("cookie", &[kind.as_bytes(), json])
}

/// `value` as a cookie value.
pub fn seal<T: Sealed>(pepper: &Pepper, value: &T) -> String {
    // A struct of strings and numbers always serializes.
    let json = serde_json::to_vec(value).unwrap_or_default();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(tag(pepper, T::KIND, &json))
    )
}

/// The value of a cookie made by [`seal`] for this kind, if its MAC holds
/// and it is still valid at `now`.
pub fn open<T: Sealed>(pepper: &Pepper, raw: &str, now: i64) -> Option<T> {
    if raw.len() > MAX_COOKIE_LEN {
        return None;
    }
    let (body, mac) = raw.split_once('.')?;
    let json = URL_SAFE_NO_PAD.decode(body).ok()?;
    let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
    let expected = tag(pepper, T::KIND, &json);
    if !bool::from(expected.as_slice().ct_eq(mac.as_slice())) {
        return None;
    }
    let value: T = serde_json::from_slice(&json).ok()?;
    (now <= value.until()).then_some(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn pepper(byte: u8) -> Pepper {
        Pepper::from_bytes(&[byte; 32]).unwrap()
    }

    fn handoff() -> Handoff {
        Handoff {
            return_uri: "https://id.example.com/realms/acme/login-actions/authenticate?x=1".into(),
            assertion: "eyJhbGciOiJFUzI1NiJ9.e30.sig".into(),
            until: 1_000,
            realm: RealmOf {
                issuer: Some("https://id.example.com/realms/acme".into()),
                name: Some("ACME".into()),
            },
        }
    }

    #[test]
    fn a_sealed_cookie_opens_until_it_lapses() {
        let raw = seal(&pepper(1), &handoff());
        assert!(raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        assert_eq!(open::<Handoff>(&pepper(1), &raw, 1_000), Some(handoff()));
        assert_eq!(open::<Handoff>(&pepper(1), &raw, 1_001), None);
    }

    /// A sealed cookie opens up to 4096 bytes long (a browser keeps at
    /// least that per cookie), and not longer, though its MAC holds.
    #[test]
    fn a_cookie_opens_up_to_4096_bytes_and_no_longer() {
        let of_length = |target: usize| {
            (0..target).find_map(|n| {
                let value = Handoff {
                    assertion: "a".repeat(n),
                    ..handoff()
                };
                let raw = seal(&pepper(1), &value);
                (raw.len() == target).then_some((raw, value))
            })
        };
        let (longest, value) = of_length(MAX_COOKIE_LEN).expect("a cookie of 4096 bytes");
        assert_eq!(open::<Handoff>(&pepper(1), &longest, 0), Some(value));
        let (over, _) = of_length(MAX_COOKIE_LEN + 2).expect("a cookie of 4098 bytes");
        assert_eq!(open::<Handoff>(&pepper(1), &over, 0), None);
    }

    #[test]
    fn tampered_foreign_or_misused_cookies_do_not_open() {
        let raw = seal(&pepper(1), &handoff());
        // Another deployment's pepper.
        assert_eq!(open::<Handoff>(&pepper(2), &raw, 0), None);
        // Another kind: a hand-off is not a finished mark, even if it parsed.
        let finished = Finished {
            result: "success".into(),
            app_name: "App".into(),
            app_url: None,
            locale: None,
            until: 1_000,
            realm: RealmOf::default(),
        };
        let raw_finished = seal(&pepper(1), &finished);
        assert_eq!(open::<Handoff>(&pepper(1), &raw_finished, 0), None);
        assert_eq!(
            open::<Finished>(&pepper(1), &raw_finished, 0),
            Some(finished.clone())
        );
        // A finished mark is good up to its own `until`, not after.
        assert_eq!(
            open::<Finished>(&pepper(1), &raw_finished, 1_000),
            Some(finished)
        );
        assert_eq!(open::<Finished>(&pepper(1), &raw_finished, 1_001), None);
        // A changed body (a return_uri of the attacker's) with the old MAC.
        let (_, mac) = raw.split_once('.').unwrap();
        let forged = Handoff {
            return_uri: "https://evil.example/".into(),
            ..handoff()
        };
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            open::<Handoff>(&pepper(1), &format!("{body}.{mac}"), 0),
            None
        );
        // Garbage of every shape.
        for junk in ["", ".", "abc", "abc.def", "%%%.%%%", &"A".repeat(5000)] {
            assert_eq!(open::<Handoff>(&pepper(1), junk, 0), None, "{junk}");
        }
    }
}
