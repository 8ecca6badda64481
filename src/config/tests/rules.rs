//! What is only safe on loopback: the combinations refused on a public bind
//! and the transport rules of each URL.
use super::*;

#[test]
fn non_loopback_bind_needs_redis_key_pepper_smtp_and_https() {
    let errs = errors(
        r#"
[server]
bind = "0.0.0.0:8080"
public_url = "http://id.example.com/otp"

[[realms]]
issuer = "https://id.example.com/realms/acme"
"#,
    );
    for key in [
        "store.redis_url",
        "signing.key_file",
        "secrets.pepper_file",
        "mail.smtp_url",
        "server.public_url",
    ] {
        let e = error_for(&errs, key);
        assert!(e.message.contains("0.0.0.0:8080"), "{e}");
    }
    assert_eq!(errs.len(), 5, "{errs}");

    let errs = errors("[server]\nbind = \"[::]:8080\"\n");
    error_for(&errs, "server.public_url"); // required off loopback
}

#[test]
fn smtp_must_be_tls_unless_loopback() {
    let scratch = Scratch::new();
    let base = production(&scratch);
    let smtps = "smtps://login:smtp-secret-pw@smtp.example.com:465";
    for bad in [
        // The scheme decides; a query would only suggest a choice that is not there.
        "smtp://smtp.example.com:587?tls=required",
        "smtp://smtp.example.com:587?tls=opportunistic",
        "smtp://smtp.example.com:587?tls=none",
        "smtps://smtp.example.com:465?tls=opportunistic",
        "http://smtp.example.com",
        "smtp://",
    ] {
        let errs = errors(&base.replace(smtps, bad));
        error_for(&errs, "mail.smtp_url");
    }
    for (good, security, port) in [
        (
            "smtp://login:pw@smtp.example.com",
            SmtpSecurity::StartTls,
            587,
        ),
        ("smtp://smtp.example.com:25", SmtpSecurity::StartTls, 25),
        ("smtps://smtp.example.com", SmtpSecurity::ImplicitTls, 465),
        ("smtp://127.0.0.1:2525", SmtpSecurity::Plain, 2525),
        ("smtp://127.0.0.2", SmtpSecurity::Plain, 25),
        ("smtp://localhost:25", SmtpSecurity::Plain, 25),
        ("smtp://[::1]:2525", SmtpSecurity::Plain, 2525),
    ] {
        let s = load(&base.replace(smtps, good)).unwrap_or_else(|e| panic!("{good}: {e}"));
        let url = s.mail.smtp_url.unwrap();
        assert_eq!((url.security(), url.port()), (security, port), "{good}");
    }
}

#[test]
fn pepper_rules() {
    let scratch = Scratch::new();
    // Redis needs a pepper even on loopback.
    let errs = errors(&format!(
        "{LOCAL}\n[store]\nredis_url = \"redis://127.0.0.1:6379\"\n"
    ));
    assert!(error_for(&errs, "secrets.pepper_file")
        .message
        .contains("store.redis_url"));
    // Too short.
    let short = scratch.file("short", "0123456789abcdef0123456789abcd\n");
    let errs = errors(&format!(
        "{LOCAL}\n[secrets]\npepper_file = \"{}\"\n",
        short.display()
    ));
    assert!(error_for(&errs, "secrets.pepper_file")
        .message
        .contains("30 bytes"));
    let ok = load(&format!(
        "{LOCAL}\n[store]\nredis_url = \"redis://127.0.0.1:6379\"\n[secrets]\npepper_file = \"{}\"\n",
        scratch.pepper().display()
    ))
    .unwrap();
    assert!(ok.store.redis_url.is_some());
}

#[test]
fn public_url_must_be_https_unless_loopback() {
    let errs = errors(&format!(
        "{LOCAL}\n[server]\npublic_url = \"http://id.example.com\"\n"
    ));
    error_for(&errs, "server.public_url");
    let ok = load(&format!(
        "{LOCAL}\n[server]\npublic_url = \"http://localhost:8080/otp\"\n"
    ))
    .unwrap();
    assert_eq!(ok.server.public_url.as_str(), "http://localhost:8080/otp");
    assert!(!ok.server.secure_cookies);
}

#[test]
fn realm_keys_over_plain_http_need_loopback_or_an_explicit_opt_in() {
    let remote = r#"
[[realms]]
issuer = "https://id.example.com/realms/acme"
jwks_uri = "http://keycloak.internal:8080/realms/acme/protocol/openid-connect/certs"
"#;
    let errs = load(remote).unwrap_err();
    let e = error_for(&errs, "realms[0].jwks_uri");
    assert!(e.message.contains("jwks_plain_http = true"), "{e}");

    let opted_in = format!("{remote}jwks_plain_http = true\n");
    let s = load(&opted_in).unwrap();
    assert_eq!(s.realms[0].jwks_uri.host_str(), Some("keycloak.internal"));

    // The opt-in is a boolean, read from the environment too.
    let errs = load(&format!("{remote}jwks_plain_http = \"yes\"\n")).unwrap_err();
    error_for(&errs, "realms[0].jwks_plain_http");

    // Loopback (the sidecar beside Keycloak in one pod) needs no opt-in.
    let s = load(LOCAL).unwrap();
    assert_eq!(s.realms[0].jwks_uri.scheme(), "http");
}

#[test]
fn plaintext_redis_needs_loopback_or_an_explicit_opt_in() {
    let remote =
        format!("{LOCAL}\n[store]\nredis_url = \"redis://:secret@redis.internal:6379/0\"\n");
    let errs = load(&remote).unwrap_err();
    let e = error_for(&errs, "store.redis_url");
    assert!(e.message.contains("redis_plaintext = true"), "{e}");
    assert!(!e.to_string().contains("secret"), "{e}");

    let opted_in = format!("{remote}redis_plaintext = true\n");
    let errs = load(&opted_in).err();
    // Accepted as a URL; what may still be missing is unrelated to TLS.
    assert!(errs.is_none_or(|errs| errs.iter().all(|e| e.key != "store.redis_url")));

    let tls = format!("{LOCAL}\n[store]\nredis_url = \"rediss://redis.internal:6380/0\"\n");
    assert!(load(&tls)
        .err()
        .is_none_or(|errs| errs.iter().all(|e| e.key != "store.redis_url")));
}

#[test]
fn a_redis_cluster_url_passes_config_check() {
    let scratch = Scratch::new();
    let base = production(&scratch);
    let single = "rediss://:redis-secret-pw@redis:6379";
    for (cluster, tls) in [
        (
            "rediss+cluster://:redis-secret-pw@h1:6379,h2:6379,h3:6379",
            true,
        ),
        ("redis+cluster://h1:6379,h2:6379", false),
    ] {
        let mut toml = base.replace(single, cluster);
        if !tls {
            toml = toml.replace("[store]\n", "[store]\nredis_plaintext = true\n");
        }
        let path = scratch.file("cluster.toml", &toml);
        let report = check_file(&path, &[]).unwrap_or_else(|e| panic!("{cluster}: {e}"));
        assert!(!report.contains("redis-secret-pw"), "{report}");
        let s = load(&toml).unwrap();
        let url = s.store.redis_url.unwrap();
        assert!(url.is_cluster() && url.uses_tls() == tls, "{cluster}");
    }
    // Plaintext to a cluster of non-loopback seeds needs the same opt-in.
    let errs = errors(&base.replace(single, "redis+cluster://h1:6379,h2:6379"));
    let e = error_for(&errs, "store.redis_url");
    assert!(e.message.contains("redis_plaintext = true"), "{e}");
    // A bad seed is named.
    let errs = errors(&base.replace(single, "rediss+cluster://h1:6379,h2:port"));
    let e = error_for(&errs, "store.redis_url");
    assert!(e.message.contains("h2:port"), "{e}");
}

#[test]
fn a_redis_sentinel_url_and_min_replicas_ack() {
    let scratch = Scratch::new();
    let base = production(&scratch);
    let single = "rediss://:redis-secret-pw@redis:6379";
    let sentinel = "rediss+sentinel://app:redis-secret-pw@s1:26379,s2,s3/otp";
    let toml = base.replace(single, sentinel);
    let report = check_file(&scratch.file("sentinel.toml", &toml), &[]).unwrap();
    assert!(!report.contains("redis-secret-pw"), "{report}");
    assert!(report.contains("min_replicas_ack 1"), "{report}");
    let s = load(&toml).unwrap();
    let url = s.store.redis_url.unwrap();
    assert_eq!(url.sentinel().unwrap().master, "otp");
    assert_eq!(s.store.min_replicas_ack, None);

    // Plaintext to remote sentinels needs the opt-in; a missing master name is named.
    let errs = errors(&base.replace(single, "redis+sentinel://s1:26379,s2/otp"));
    let e = error_for(&errs, "store.redis_url");
    assert!(e.message.contains("redis_plaintext = true"), "{e}");
    let errs = errors(&base.replace(single, "rediss+sentinel://s1:26379,s2"));
    let e = error_for(&errs, "store.redis_url");
    assert!(e.message.contains("no master name"), "{e}");

    // Set explicitly, within bounds, and only with a Redis URL.
    let set = |n: &str| toml.replace("[store]\n", &format!("[store]\nmin_replicas_ack = {n}\n"));
    assert_eq!(load(&set("0")).unwrap().store.min_replicas_ack, Some(0));
    assert_eq!(load(&set("2")).unwrap().store.min_replicas_ack, Some(2));
    let errs = errors(&set("17"));
    let e = error_for(&errs, "store.min_replicas_ack");
    assert!(e.message.contains("0..=16"), "{e}");
    let errs = errors(&set("\"one\""));
    let e = error_for(&errs, "store.min_replicas_ack");
    assert!(e.message.contains("an integer"), "{e}");
    let errs = errors(&format!("{LOCAL}\n[store]\nmin_replicas_ack = 1\n"));
    let e = error_for(&errs, "store.min_replicas_ack");
    assert!(e.message.contains("without store.redis_url"), "{e}");
}
