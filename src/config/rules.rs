//! Cross-field rules: combinations that are only safe on loopback, checked
//! on whatever parsed so they show up alongside every other problem.
use std::net::SocketAddr;

use url::Url;

use super::walk::Walk;
use crate::challenge::MIN_PEPPER_LEN;
use crate::net::is_loopback_host;

impl Walk {
    /// Refuses combinations that are only safe on loopback, with the reason.
    /// Runs on whatever parsed, so these show up alongside other errors.
    pub(super) fn combinations(&mut self, f: &Facts) {
        let exposed = f.bind.map(|b| (!b.ip().is_loopback(), b));
        if let Some((true, bind)) = exposed {
            let why = format!("while server.bind is {bind} (not loopback)");
            if f.redis == Some(false) {
                self.error("store.redis_url", format!("missing {why}; the in-memory store is for one local process only, set a redis:// or rediss:// URL"));
            }
            if f.key_file == Some(false) {
                self.error("signing.key_file", format!("missing {why}; an ephemeral key changes on every restart and breaks Keycloak's cached JWKS, set a PKCS#8 PEM key file"));
            }
            if f.pepper == Some(false) {
                self.error(
                    "secrets.pepper_file",
                    format!("missing {why}; set a file of at least {MIN_PEPPER_LEN} random bytes"),
                );
            }
            if f.smtp == Some(false) {
                self.error("mail.smtp_url", format!("missing {why}; the local outbox is for development only, set smtps:// or smtp:// (STARTTLS required)"));
            }
            if let Some(u) = f.public_url.as_ref().filter(|u| u.scheme() != "https") {
                self.found(
                    "server.public_url",
                    u.as_str(),
                    format!("an https:// URL {why}, so the challenge cookie can be Secure"),
                );
            }
        } else {
            if f.redis == Some(true) && f.pepper == Some(false) {
                self.error("secrets.pepper_file", format!("missing while store.redis_url is set; every instance sharing Redis must use the same pepper, set a file of at least {MIN_PEPPER_LEN} random bytes"));
            }
            if let Some(u) = f
                .public_url
                .as_ref()
                .filter(|u| u.scheme() != "https" && !url_is_loopback(u))
            {
                self.found(
                    "server.public_url",
                    u.as_str(),
                    "an https:// URL (plain http only for a loopback host)",
                );
            }
        }
    }
}

/// What the combination checks need; `None` where the value itself was wrong.
pub(super) struct Facts {
    pub(super) bind: Option<SocketAddr>,
    pub(super) public_url: Option<Url>,
    pub(super) redis: Option<bool>,
    pub(super) smtp: Option<bool>,
    pub(super) key_file: Option<bool>,
    pub(super) pepper: Option<bool>,
}

fn url_is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(is_loopback_host)
}
