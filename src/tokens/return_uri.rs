//! The `return_uri` check of docs/protocol.md section 2 (the `return_uri` row): the only place a
//! [`ReturnUri`] is built, so every redirect target has passed it.
//!
//! The raw string is checked before the `url` crate normalises anything, so a
//! form that only *becomes* the right URL after normalisation (dot segments,
//! percent-encoded dots or slashes, backslashes) is refused rather than fixed.
use url::Url;

use super::{Issuer, RequestRejection, ReturnUri};

/// Longest `return_uri` accepted; Keycloak's action URLs are far shorter.
const MAX_LEN: usize = 4096;
/// The action path below the issuer that Keycloak's `getActionUrl` produces.
const ACTION_PATH: &str = "/login-actions/authenticate";

impl ReturnUri {
    /// Accepts `raw` only if its scheme, host, port and path equal
    /// `{issuer}/login-actions/authenticate` exactly; the query is kept verbatim.
    pub fn for_issuer(issuer: &Issuer, raw: &str) -> Result<Self, RequestRejection> {
        check(issuer, raw).map_err(RequestRejection::BadReturnUri)
    }
}

fn check(issuer: &Issuer, raw: &str) -> Result<ReturnUri, String> {
    if raw.is_empty() || raw.len() > MAX_LEN {
        return Err(format!("length must be 1..={MAX_LEN}"));
    }
    if let Some(c) = raw.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "contains a whitespace, control or non-ASCII character ({c:?})"
        ));
    }
    if raw.contains('\\') {
        return Err("contains a backslash".into());
    }
    if raw.contains('#') {
        return Err("carries a fragment".into());
    }
    let (before_query, query) = match raw.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (raw, None),
    };
    let Some((scheme, rest)) = before_query.split_once("://") else {
        return Err("is not an absolute URL".into());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err("carries user-info".into());
    }
    let lower_path = path.to_ascii_lowercase();
    for encoded in ["%2e", "%2f", "%5c"] {
        if lower_path.contains(encoded) {
            return Err(format!("path contains the percent-encoded {encoded}"));
        }
    }
    if path.split('/').any(|s| s == "." || s == "..") {
        return Err("path contains a dot segment".into());
    }

    let expected = issuer.url();
    let expected_path = format!("{}{ACTION_PATH}", expected.path().trim_end_matches('/'));
    let expected_port = expected.port_or_known_default();
    let expected_host = expected.host_str().unwrap_or_default();

    if !scheme.eq_ignore_ascii_case(expected.scheme()) {
        return Err(format!(
            "scheme {scheme} is not the issuer's {}",
            expected.scheme()
        ));
    }
    // Raw authority, case-insensitively: host, or host:port (port may be spelled
    // out when it is the scheme's default).
    let authority_lower = authority.to_ascii_lowercase();
    let host_lower = expected_host.to_ascii_lowercase();
    let authority_ok = match (expected.port(), expected_port) {
        (Some(p), _) => authority_lower == format!("{host_lower}:{p}"),
        (None, Some(default)) => {
            authority_lower == host_lower || authority_lower == format!("{host_lower}:{default}")
        }
        (None, None) => authority_lower == host_lower,
    };
    if !authority_ok {
        return Err(format!(
            "host and port {authority} are not the issuer's {}",
            match expected.port() {
                Some(p) => format!("{expected_host}:{p}"),
                None => expected_host.to_string(),
            }
        ));
    }
    if path != expected_path {
        return Err(format!("path {path} is not {expected_path}"));
    }

    // Belt and braces: the parsed form must agree with the raw checks.
    let parsed = Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    if !is_action_url(&parsed, expected, &expected_path) {
        return Err("does not parse to the issuer's action URL".into());
    }

    let mut canonical = format!("{}{ACTION_PATH}", issuer.as_str());
    if let Some(q) = query {
        canonical.push('?');
        canonical.push_str(q);
    }
    Ok(ReturnUri(canonical))
}

/// Whether `parsed` is the issuer's action URL: its scheme, host, port and
/// `path`, no user-info, no fragment (the query is free).
fn is_action_url(parsed: &Url, issuer: &Url, path: &str) -> bool {
    parsed.scheme() == issuer.scheme()
        && parsed.host_str() == issuer.host_str()
        && parsed.port_or_known_default() == issuer.port_or_known_default()
        && parsed.path() == path
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && parsed.fragment().is_none()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn issuer(s: &str) -> Issuer {
        Issuer::parse(s).unwrap()
    }

    fn acme() -> Issuer {
        issuer("https://id.example.com/realms/acme")
    }

    const GOOD: &str = "https://id.example.com/realms/acme/login-actions/authenticate";
    const KEYCLOAK_QUERY: &str =
        "?session_code=abc-DEF_1&execution=5f1e&client_id=app&tab_id=x1Y&client_data=eyJ0IjoxfQ%3D%3D";

    fn refused(issuer: &Issuer, raw: &str) -> String {
        match ReturnUri::for_issuer(issuer, raw) {
            Err(RequestRejection::BadReturnUri(why)) => why,
            other => panic!("{raw} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn accepts_the_action_url_and_keeps_the_query_verbatim() {
        let raw = format!("{GOOD}{KEYCLOAK_QUERY}");
        let ok = ReturnUri::for_issuer(&acme(), &raw).unwrap();
        assert_eq!(ok.as_str(), raw);
        let bare = ReturnUri::for_issuer(&acme(), GOOD).unwrap();
        assert_eq!(bare.as_str(), GOOD);
    }

    #[test]
    fn host_and_scheme_compare_case_insensitively_and_default_port_may_be_spelled() {
        let ok = ReturnUri::for_issuer(
            &acme(),
            "HTTPS://ID.EXAMPLE.COM/realms/acme/login-actions/authenticate?tab_id=1",
        )
        .unwrap();
        assert_eq!(ok.as_str(), format!("{GOOD}?tab_id=1"));
        assert!(ReturnUri::for_issuer(
            &acme(),
            "https://id.example.com:443/realms/acme/login-actions/authenticate"
        )
        .is_ok());
    }

    #[test]
    fn path_case_is_exact() {
        refused(
            &acme(),
            "https://id.example.com/realms/ACME/login-actions/authenticate",
        );
    }

    #[test]
    fn refuses_other_hosts() {
        for raw in [
            "https://evil.com/realms/acme/login-actions/authenticate",
            "https://id.example.com.evil.com/realms/acme/login-actions/authenticate",
            "https://evil.com/?https://id.example.com/realms/acme/login-actions/authenticate",
            "https://id.example.com./realms/acme/login-actions/authenticate",
            "https://xid.example.com/realms/acme/login-actions/authenticate",
            "https:///realms/acme/login-actions/authenticate",
            "//id.example.com/realms/acme/login-actions/authenticate",
            "/realms/acme/login-actions/authenticate",
        ] {
            refused(&acme(), raw);
        }
    }

    #[test]
    fn refuses_user_info() {
        for raw in [
            "https://id.example.com@evil.com/realms/acme/login-actions/authenticate",
            "https://evil.com@id.example.com/realms/acme/login-actions/authenticate",
            "https://user:pw@id.example.com/realms/acme/login-actions/authenticate",
            "https://id.example.com%40evil.com/realms/acme/login-actions/authenticate",
        ] {
            refused(&acme(), raw);
        }
    }

    #[test]
    fn refuses_other_port_and_scheme() {
        for raw in [
            "https://id.example.com:8443/realms/acme/login-actions/authenticate",
            "https://id.example.com:/realms/acme/login-actions/authenticate",
            "http://id.example.com/realms/acme/login-actions/authenticate",
            "javascript://id.example.com/realms/acme/login-actions/authenticate",
        ] {
            refused(&acme(), raw);
        }
        let local = issuer("http://localhost:8080/realms/acme");
        assert!(ReturnUri::for_issuer(
            &local,
            "http://localhost:8080/realms/acme/login-actions/authenticate"
        )
        .is_ok());
        for raw in [
            "http://localhost/realms/acme/login-actions/authenticate",
            "http://localhost:80/realms/acme/login-actions/authenticate",
            "http://localhost:08080/realms/acme/login-actions/authenticate",
            "https://localhost:8080/realms/acme/login-actions/authenticate",
        ] {
            refused(&local, raw);
        }
    }

    #[test]
    fn refuses_other_realm_and_other_paths() {
        for raw in [
            "https://id.example.com/realms/other/login-actions/authenticate",
            "https://id.example.com/realms/acme2/login-actions/authenticate",
            "https://id.example.com/realms/acme/login-actions/authenticate/extra",
            "https://id.example.com/realms/acme/login-actions/authenticate/",
            "https://id.example.com/realms/acme/login-actions/authenticatex",
            "https://id.example.com/realms/acme/login-actions/required-action",
            "https://id.example.com/realms/acme/login-actions",
            "https://id.example.com/realms/acme//login-actions/authenticate",
            "https://id.example.com/realms/acme/login-actions/authenticate;x=1",
            "https://id.example.com",
        ] {
            refused(&acme(), raw);
        }
    }

    #[test]
    fn refuses_dot_segments_and_encoded_tricks() {
        for (raw, why) in [
            (
                "https://id.example.com/realms/acme/login-actions/authenticate/../x",
                "dot segment",
            ),
            (
                "https://id.example.com/realms/other/../acme/login-actions/authenticate",
                "dot segment",
            ),
            (
                "https://id.example.com/realms/acme/./login-actions/authenticate",
                "dot segment",
            ),
            (
                "https://id.example.com/realms/other/%2e%2e/acme/login-actions/authenticate",
                "%2e",
            ),
            (
                "https://id.example.com/realms/other/%2E%2E/acme/login-actions/authenticate",
                "%2e",
            ),
            (
                "https://id.example.com/realms/other/.%2e/acme/login-actions/authenticate",
                "%2e",
            ),
            (
                "https://id.example.com/realms/acme%2flogin-actions/authenticate",
                "%2f",
            ),
            (
                "https://id.example.com/realms/acme%2Flogin-actions%2Fauthenticate",
                "%2f",
            ),
            (
                "https://id.example.com/realms/acme%5clogin-actions/authenticate",
                "%5c",
            ),
            (
                "https://id.example.com/realms/acme/login-actions/authenticat%65",
                "path",
            ),
        ] {
            let refusal = refused(&acme(), raw);
            assert!(refusal.contains(why), "{raw}: {refusal}");
        }
    }

    /// The check on the parsed form, which the raw checks make
    /// unreachable from `for_issuer`: each part on its own.
    #[test]
    fn the_parsed_form_must_match_in_every_part() {
        let issuer = Url::parse("https://id.example.com/realms/acme").unwrap();
        let path = "/realms/acme/login-actions/authenticate";
        let is = |raw: &str| is_action_url(&Url::parse(raw).unwrap(), &issuer, path);
        assert!(is(
            "https://id.example.com/realms/acme/login-actions/authenticate?x=1"
        ));
        assert!(is(
            "https://id.example.com:443/realms/acme/login-actions/authenticate"
        ));
        for other in [
            "http://id.example.com/realms/acme/login-actions/authenticate",
            "https://id.example.org/realms/acme/login-actions/authenticate",
            "https://id.example.com:8443/realms/acme/login-actions/authenticate",
            "https://id.example.com/realms/acme/login-actions/other",
            "https://u@id.example.com/realms/acme/login-actions/authenticate",
            "https://:p@id.example.com/realms/acme/login-actions/authenticate",
            "https://id.example.com/realms/acme/login-actions/authenticate#f",
        ] {
            assert!(!is(other), "{other}");
        }
    }

    #[test]
    fn may_be_4096_bytes_long_and_no_longer() {
        let of_length = |len: usize| format!("{GOOD}?q={}", "a".repeat(len - GOOD.len() - 3));
        assert_eq!(
            ReturnUri::for_issuer(&acme(), &of_length(MAX_LEN))
                .unwrap()
                .as_str()
                .len(),
            4096
        );
        assert!(refused(&acme(), &of_length(MAX_LEN + 1)).contains("length must be 1..=4096"));
    }

    #[test]
    fn refuses_backslashes_controls_whitespace_and_fragments() {
        for raw in [
            "https://id.example.com\\@evil.com/realms/acme/login-actions/authenticate",
            "https://id.example.com/realms/acme\\login-actions/authenticate",
            "https://id.example.com/realms/acme/login-actions/authenticate\n",
            "https://id.example.com/realms/acme/login-actions/authenticate\t",
            " https://id.example.com/realms/acme/login-actions/authenticate",
            "https://id.example.com/realms/acme/login-actions/authenticate?a=b c",
            "https://id.example.com/realms/acme/login-actions/authenticate\u{0}",
            "https://id.example.com/realms/acme/login-actions/authenticate#frag",
            "https://id.example.com/realms/acme/login-actions/authenticate?x=1#",
            "https://id.exämple.com/realms/acme/login-actions/authenticate",
            "",
        ] {
            refused(&acme(), raw);
        }
        let long = format!("{GOOD}?{}", "a".repeat(MAX_LEN));
        refused(&acme(), &long);
    }

    #[test]
    fn ipv6_and_ip_forms() {
        let v6 = issuer("http://[::1]:8080/realms/acme");
        assert!(ReturnUri::for_issuer(
            &v6,
            "http://[::1]:8080/realms/acme/login-actions/authenticate"
        )
        .is_ok());
        for raw in [
            "http://[0:0:0:0:0:0:0:1]:8080/realms/acme/login-actions/authenticate",
            "http://[::ffff:127.0.0.1]:8080/realms/acme/login-actions/authenticate",
            "http://127.0.0.1:8080/realms/acme/login-actions/authenticate",
            "http://[::1]/realms/acme/login-actions/authenticate",
        ] {
            refused(&v6, raw);
        }
        let v4 = issuer("http://127.0.0.1:8080/realms/acme");
        for raw in [
            "http://[::ffff:127.0.0.1]:8080/realms/acme/login-actions/authenticate",
            "http://2130706433:8080/realms/acme/login-actions/authenticate",
            "http://0x7f.0.0.1:8080/realms/acme/login-actions/authenticate",
            "http://127.1:8080/realms/acme/login-actions/authenticate",
            "http://localhost:8080/realms/acme/login-actions/authenticate",
        ] {
            refused(&v4, raw);
        }
    }

    #[test]
    fn issuers_are_normalised_or_refused() {
        for bad in [
            "https://id.example.com/realms/other/../acme",
            "https://id.example.com/realms/./acme",
            "https://id.example.com/realms/%61cme",
            "https://user@id.example.com/realms/acme",
            "https://id.example.com/realms/acme?x=1",
            "https://id.example.com/realms/acme#x",
            "ftp://id.example.com/realms/acme",
            "https://id.example.com/realms/ac me",
            "id.example.com/realms/acme",
        ] {
            assert!(Issuer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn issuer_with_a_path_prefix() {
        let legacy = issuer("https://id.example.com/auth/realms/acme/");
        assert_eq!(legacy.as_str(), "https://id.example.com/auth/realms/acme");
        assert!(ReturnUri::for_issuer(
            &legacy,
            "https://id.example.com/auth/realms/acme/login-actions/authenticate?x=1"
        )
        .is_ok());
        refused(
            &legacy,
            "https://id.example.com/realms/acme/login-actions/authenticate",
        );
    }
}
