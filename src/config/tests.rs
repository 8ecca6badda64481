use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "otp-sidecar-config-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    fn pepper(&self) -> PathBuf {
        self.file("pepper", "4b1d6c0e9f2a8b7c3d5e1f0a9b8c7d6e5f4a3b2c1d0e")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn key(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name)
        .display()
        .to_string()
}

fn production(scratch: &Scratch) -> String {
    format!(
        r#"
[server]
bind = "0.0.0.0:8080"
public_url = "https://id.example.com/otp/"

[store]
redis_url = "rediss://:redis-secret-pw@redis:6379"

[mail]
smtp_url = "smtps://login:smtp-secret-pw@smtp.example.com:465"
from = "Acme Login <login@example.com>"

[[realms]]
issuer = "https://id.example.com/realms/acme"
jwks_uri = "http://localhost:8080/realms/acme/protocol/openid-connect/certs"

[[realms]]
issuer = "https://id.example.com/realms/beta"

[signing]
key_file = "{key}"

[secrets]
pepper_file = "{pepper}"
"#,
        key = key("sidecar-es256.pem"),
        pepper = scratch.pepper().display()
    )
}

fn load(toml: &str) -> Result<Settings, ConfigErrors> {
    load_env(toml, &[])
}

fn load_env(toml: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
    let scratch = Scratch::new();
    let path = scratch.file("otp-sidecar.toml", toml);
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::load_with_env(Some(&path), &env)
}

fn errors(toml: &str) -> ConfigErrors {
    match load(toml) {
        Err(e) => e,
        Ok(s) => panic!("accepted: {s:?}"),
    }
}

/// The error for `key`, or a failure listing what was reported.
fn error_for<'a>(errs: &'a ConfigErrors, key: &str) -> &'a ConfigError {
    errs.iter()
        .find(|e| e.key == key)
        .unwrap_or_else(|| panic!("no error for {key}; got:\n{errs}"))
}

/// A valid loopback config with one realm, to which tests add one problem.
const LOCAL: &str = r#"
[[realms]]
issuer = "http://localhost:8081/realms/acme"
"#;

#[test]
fn no_configuration_at_all_is_the_embedded_default() {
    let env = vec![("PATH".to_string(), "/usr/bin".to_string())];
    let s = Settings::load_with_env(None, &env).unwrap();
    assert!(s.embedded);
    assert_eq!(s.server.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(s.server.public_url.as_str(), "http://127.0.0.1:8080/");
    assert!(!s.server.secure_cookies);
    assert!(s.store.redis_url.is_none() && s.mail.smtp_url.is_none());
    assert!(s.signing.key_file.is_none());
    assert_eq!(s.signing.algorithm, SigningAlgorithm::Es256);
    assert_eq!(s.signing.audience, "otp-sidecar");
    // The demo realm is added at start-up, where it is served (tests/api/demo.rs).
    assert!(s.realms.is_empty());
    assert_eq!(s.otp.length.default, 6);

    let other = Settings::embedded_at("127.0.0.1:41234".parse().unwrap());
    assert_eq!(other.server.public_url.as_str(), "http://127.0.0.1:41234/");
}

#[test]
fn a_public_url_left_out_follows_the_port_bound_for_port_0() {
    for (bind, derived, bound, served) in [
        (
            "127.0.0.1:0",
            "http://127.0.0.1:0/",
            "127.0.0.1:41234",
            "http://127.0.0.1:41234/",
        ),
        (
            "[::1]:0",
            "http://[::1]:0/",
            "[::1]:41234",
            "http://[::1]:41234/",
        ),
        // A port of its own: the URL already names it.
        (
            "127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "127.0.0.1:8080",
            "http://127.0.0.1:8080/",
        ),
    ] {
        let mut s = load(&format!("{LOCAL}\n[server]\nbind = \"{bind}\"\n")).unwrap();
        assert_eq!(s.server.public_url.as_str(), derived, "{bind}");
        if derived.contains(":0/") {
            assert!(
                s.summary().contains("the port bound at start-up"),
                "{}",
                s.summary()
            );
        }
        s.server.bound_at(bound.parse().unwrap());
        assert_eq!(s.server.public_url.as_str(), served, "{bind}");
        assert!(!s.server.secure_cookies);
    }

    // The embedded default with --demo-bind 127.0.0.1:0 alike.
    let mut demo = Settings::embedded_at("127.0.0.1:0".parse().unwrap());
    demo.server.bound_at("127.0.0.1:41234".parse().unwrap());
    assert_eq!(demo.server.public_url.as_str(), "http://127.0.0.1:41234/");
}

#[test]
fn an_explicit_public_url_stays_as_given_and_never_has_port_0() {
    let mut s = load(&format!(
        "{LOCAL}\n[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"http://localhost:9000/otp\"\n"
    ))
    .unwrap();
    s.server.bound_at("127.0.0.1:41234".parse().unwrap());
    assert_eq!(s.server.public_url.as_str(), "http://localhost:9000/otp");

    for url in ["http://127.0.0.1:0", "https://id.example.com:0/otp"] {
        let errs = errors(&format!(
            "{LOCAL}\n[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"{url}\"\n"
        ));
        let e = error_for(&errs, "server.public_url");
        assert!(e.message.contains("port other than 0"), "{e}");
        assert_eq!(errs.len(), 1, "{errs}");
    }
}

#[test]
fn a_single_env_variable_is_configuration() {
    let env = vec![(
        "OTP_SIDECAR__SERVER__BIND".to_string(),
        "127.0.0.1:9000".to_string(),
    )];
    let errs = Settings::load_with_env(None, &env).unwrap_err();
    // Configured, so the demo realm is not implied: realms are required.
    error_for(&errs, "realms");
}

#[test]
fn a_production_config_loads() {
    let scratch = Scratch::new();
    let s = load(&production(&scratch)).unwrap();
    assert!(!s.embedded);
    assert_eq!(s.server.bind.to_string(), "0.0.0.0:8080");
    assert_eq!(s.server.public_url.as_str(), "https://id.example.com/otp");
    assert!(s.server.secure_cookies);
    assert_eq!(s.mail.from, "Acme Login <login@example.com>");
    assert_eq!(s.mail.timeout_secs, 10);
    assert_eq!(s.realms.len(), 2);
    assert_eq!(
        s.realms[0].jwks_uri.as_str(),
        "http://localhost:8080/realms/acme/protocol/openid-connect/certs"
    );
    assert_eq!(
        s.realms[1].jwks_uri.as_str(),
        "https://id.example.com/realms/beta/protocol/openid-connect/certs"
    );
    assert_eq!(s.signing.algorithm, SigningAlgorithm::Es256);
    let o = &s.otp;
    assert_eq!((o.length.default, o.length.min, o.length.max), (6, 4, 10));
    assert_eq!((o.ttl_secs.default, o.max_attempts.default), (300, 5));
    assert_eq!(
        (o.resend_cooldown_secs.default, o.max_resends.default),
        (30, 3)
    );
}

#[test]
fn secrets_never_show_in_debug_summary_or_errors() {
    let scratch = Scratch::new();
    let s = load(&production(&scratch)).unwrap();
    for text in [format!("{s:?}"), s.summary()] {
        assert!(!text.contains("redis-secret-pw"), "{text}");
        assert!(!text.contains("smtp-secret-pw"), "{text}");
    }
    assert!(s.summary().contains("smtp.example.com"));
    let bad = production(&scratch).replace(
        "smtps://login:smtp-secret-pw@smtp.example.com:465",
        "smtp://login:smtp-secret-pw@smtp.example.com:587?tls=none",
    );
    let errs = errors(&bad);
    let text = errs.to_string();
    assert!(text.contains("mail.smtp_url"), "{text}");
    assert!(!text.contains("smtp-secret-pw"), "{text}");
}

#[test]
fn unknown_keys_are_errors_with_the_closest_key_suggested() {
    let errs = errors(&format!(
        r#"{LOCAL}
[server]
bnid = "127.0.0.1:8080"

[sever]
x = 1

[otp.length]
defualt = 6

[mail]
colour = "blue"
"#
    ));
    let e = error_for(&errs, "server.bnid");
    assert!(e.message.contains("did you mean server.bind?"), "{e}");
    assert!(error_for(&errs, "sever")
        .message
        .contains("did you mean server?"));
    assert!(error_for(&errs, "otp.length.defualt")
        .message
        .contains("did you mean otp.length.default?"));
    let e = error_for(&errs, "mail.colour");
    assert!(
        e.message
            .contains("valid keys here: smtp_url, from, timeout_secs"),
        "{e}"
    );
    assert!(
        e.origin.as_deref().unwrap().ends_with("otp-sidecar.toml"),
        "{e}"
    );
    let e = errors(&format!(
        "{LOCAL}\n[[realms]]\nissuer = \"http://localhost:8081/realms/b\"\njwks = \"x\"\n"
    ));
    assert!(error_for(&e, "realms[1].jwks")
        .message
        .contains("did you mean realms[1].jwks_uri?"));
}

#[test]
fn wrong_types_say_what_was_found_and_expected() {
    let errs = errors(&format!(
        r#"{LOCAL}
[server]
bind = 8080

[otp]
ttl = "300"

[mail]
timeout_secs = 1.5

[apps]
account = 3
"#
    ));
    assert_eq!(
        error_for(&errs, "server.bind").message,
        "found an integer, expected a string"
    );
    assert_eq!(
        error_for(&errs, "otp.ttl").message,
        "found a string, expected an integer"
    );
    assert_eq!(
        error_for(&errs, "mail.timeout_secs").message,
        "found a float, expected an integer"
    );
    error_for(&errs, "apps.account");
    let errs = errors("realms = \"https://id.example.com/realms/acme\"\n");
    assert!(error_for(&errs, "realms")
        .message
        .contains("expected an array of tables"));
    let errs = errors(&format!("server = \"x\"\n{LOCAL}"));
    assert!(error_for(&errs, "server")
        .message
        .contains("expected a table"));
}

/// A key of the wrong type is one problem, not also a "missing" one; each
/// part of `public_url` and `bind` is checked on its own.
#[test]
fn each_server_and_mail_problem_is_reported_once_for_what_it_is() {
    let only = |toml: String, key: &str, says: &str| {
        let errs = errors(&toml);
        assert!(!errs.is_empty());
        let for_key: Vec<_> = errs.iter().filter(|e| e.key == key).collect();
        assert_eq!(for_key.len(), 1, "{toml}\n{errs}");
        assert!(for_key[0].message.contains(says), "{toml}\n{errs}");
    };
    let server = |lines: &str| format!("{LOCAL}\n[server]\n{lines}\n");
    only(
        server("bind = \"0.0.0.0:8080\"\npublic_url = 5"),
        "server.public_url",
        "found an integer, expected a string",
    );
    only(
        server("bind = \"0.0.0.0:8080\""),
        "server.public_url",
        "missing; required when server.bind is not a loopback address",
    );
    for url in [
        "https://id.example.com/otp?x=1",
        "https://id.example.com/otp#x",
    ] {
        only(
            server(&format!("public_url = \"{url}\"")),
            "server.public_url",
            "a URL without query or fragment",
        );
    }
    only(
        format!("{LOCAL}\n[mail]\nsmtp_url = \"smtp://localhost:2525\"\nfrom = 5\n"),
        "mail.from",
        "found an integer, expected a string",
    );
    assert!(load(LOCAL)
        .unwrap()
        .server
        .public_url
        .as_str()
        .starts_with("http://127.0.0.1"));
    assert!(ConfigErrors(Vec::new()).is_empty());
}

/// `signing.audience` is taken as written when it is a plain word; a blank
/// one, one with a control character, or a comma-separated list of key
/// files in the file (the form only the environment uses) is refused.
#[test]
fn signing_values_are_taken_only_as_written() {
    let signing = |lines: &str| format!("{LOCAL}\n[signing]\n{lines}\n");
    let s = load(&signing("audience = \"otp-sidecar-acme\"")).unwrap();
    assert_eq!(s.signing.audience, "otp-sidecar-acme");
    for bad in ["\" \"", "\"otp\\u0007\""] {
        let errs = errors(&signing(&format!("audience = {bad}")));
        assert!(
            error_for(&errs, "signing.audience")
                .message
                .contains("a non-empty audience"),
            "{errs}"
        );
    }
    let errs = errors(&signing("previous_key_files = \"a.pem,b.pem\""));
    error_for(&errs, "signing.previous_key_files");
}

#[test]
fn partial_sections_name_the_missing_key() {
    let errs = errors(
        r#"
[[realms]]
jwks_uri = "https://id.example.com/certs"

[mail]
smtp_url = "smtps://smtp.example.com"
"#,
    );
    assert!(error_for(&errs, "realms[0].issuer")
        .message
        .starts_with("missing"));
    assert!(error_for(&errs, "mail.from").message.starts_with("missing"));
    let errs = errors("[server]\nbind = \"127.0.0.1:8080\"\n");
    assert!(error_for(&errs, "realms").message.starts_with("missing"));
    let errs = errors("realms = []\n");
    error_for(&errs, "realms");
}

#[test]
fn bad_urls_and_values() {
    let errs = errors(
        r#"
[server]
public_url = "not a url"

[[realms]]
issuer = "http://localhost:8081/realms/ok"

[[realms]]
issuer = "ftp://id.example.com/realms/acme"
jwks_uri = "javascript:alert(1)"

[[realms]]
issuer = "http://localhost:8081/realms/ok/"

[[realms]]
issuer = "https://user@id.example.com/realms/x"

[store]
redis_url = "http://redis:6379"

[signing]
algorithm = "HS256"
audience = ""

[branding]
primary_color = "blue"
logo_url = "http://cdn.example.com/logo.png"
product_name = ""
"#,
    );
    error_for(&errs, "server.public_url");
    assert!(error_for(&errs, "realms[1].issuer").message.contains("ftp"));
    error_for(&errs, "realms[1].jwks_uri");
    assert!(error_for(&errs, "realms[2].issuer")
        .message
        .contains("each realm issuer once"));
    error_for(&errs, "realms[3].issuer");
    error_for(&errs, "store.redis_url");
    assert!(error_for(&errs, "signing.algorithm")
        .message
        .contains("\"ES256\", \"EdDSA\", \"RS256\""));
    error_for(&errs, "signing.audience");
    assert!(error_for(&errs, "branding.primary_color")
        .message
        .contains("#rrggbb"));
    error_for(&errs, "branding.logo_url");
    error_for(&errs, "branding.product_name");
    assert!(!errs.iter().any(|e| e.key == "realms[0].issuer"), "{errs}");
}

#[test]
fn unreadable_files_are_reported() {
    let missing = std::env::temp_dir().join("otp-sidecar-no-such-file.toml");
    let errs = Settings::load_with_env(Some(&missing), &[]).unwrap_err();
    assert!(errs.0[0].message.contains("cannot read"), "{errs}");
    assert_eq!(errs.0[0].key, missing.display().to_string());

    let errs = errors(&format!(
        r#"{LOCAL}
[signing]
key_file = "/nonexistent/signing.pem"
previous_key_files = ["{ok}", "/nonexistent/old.pem"]

[secrets]
pepper_file = "/nonexistent/pepper"

[templates]
dir = "/nonexistent/templates"
"#,
        ok = key("sidecar-ed25519.pub.pem")
    ));
    assert!(error_for(&errs, "signing.key_file")
        .message
        .contains("cannot read"));
    // Every key file is checked, not only up to the first bad one.
    assert!(error_for(&errs, "signing.previous_key_files[1]")
        .message
        .contains("old.pem"));
    assert!(error_for(&errs, "secrets.pepper_file")
        .message
        .contains("cannot be read"));
    assert!(error_for(&errs, "templates.dir")
        .message
        .contains("not a readable directory"));

    let errs = errors(&format!(
        "{LOCAL}\n[signing]\nkey_file = \"{}\"\nprevious_key_files = [\"{}\", \"/nonexistent/old.pem\"]\n",
        key("sidecar-es256.pem"),
        key("sidecar-ed25519.pub.pem")
    ));
    assert!(error_for(&errs, "signing.previous_key_files[1]")
        .message
        .contains("old.pem"));
}

#[test]
fn invalid_toml_reports_where() {
    let errs = errors("[server\nbind = 1\n");
    assert_eq!(errs.len(), 1);
    assert!(errs.0[0].message.contains("not valid TOML"), "{errs}");
    assert!(errs.0[0].message.contains("line 1"), "{errs}");
    // And what the parser found wrong there, not only where.
    let (_, what) = errs.0[0].message.rsplit_once(": ").unwrap();
    assert!(!what.trim().is_empty(), "{errs}");
    assert!(!errs.0[0].message.contains('\n'), "one line: {errs}");
    // The file is the key, however it was given (`config check FILE` or `--config FILE`).
    assert!(errs.0[0].key.ends_with("otp-sidecar.toml"), "{errs}");
    assert!(!errs.to_string().contains("--config"), "{errs}");
}

#[test]
fn the_report_is_the_one_in_the_docs() {
    let doc = include_str!("../../docs/configuration.md");
    let block = doc
        .split("```console\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let mut lines = block.lines();
    let command = lines.next().unwrap();
    assert_eq!(
        command,
        "$ OTP_SIDECAR__OTP__LENGTH=12 otp-sidecar config check /etc/otp-sidecar/config.toml"
    );
    let documented: Vec<&str> = lines.take_while(|l| !l.starts_with('$')).collect();
    let scratch = Scratch::new();
    let path = scratch.file(
        "config.toml",
        &format!("[server]\nbnid = \"127.0.0.1:8080\"\n{LOCAL}"),
    );
    let env = [("OTP_SIDECAR__OTP__LENGTH".to_string(), "12".to_string())];
    let report = check_file(&path, &env).unwrap_err();
    let report = report.replace(&path.display().to_string(), "/etc/otp-sidecar/config.toml");
    assert_eq!(report.lines().collect::<Vec<_>>(), documented);
}

#[test]
fn an_invalid_algorithm_does_not_hide_a_key_file_problem() {
    let scratch = Scratch::new();
    let sec1 = scratch.file(
        "sec1.pem",
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    );
    let errs = errors(&format!(
        "{LOCAL}\n[signing]\nalgorithm = \"ES512\"\nkey_file = \"{}\"\n",
        sec1.display()
    ));
    error_for(&errs, "signing.algorithm");
    let e = error_for(&errs, "signing.key_file");
    assert!(
        e.message.contains("holds an EC PRIVATE KEY (not PKCS#8)"),
        "{e}"
    );
}

#[test]
fn key_algorithm_must_match() {
    let errs = errors(&format!(
        "{LOCAL}\n[signing]\nkey_file = \"{}\"\n",
        key("sidecar-ed25519.pem")
    ));
    let e = error_for(&errs, "signing.key_file");
    assert!(e.message.contains("signing.algorithm is ES256"), "{e}");
    assert!(e.message.contains("EdDSA"), "{e}");
    assert!(e.message.contains("holds an Ed25519 key"), "{e}");
    assert!(e.message.contains("or use an ES256 key"), "{e}");
    let ok = load(&format!(
        "{LOCAL}\n[signing]\nkey_file = \"{}\"\nalgorithm = \"EdDSA\"\n",
        key("sidecar-ed25519.pem")
    ))
    .unwrap();
    assert_eq!(ok.signing.algorithm, SigningAlgorithm::EdDsa);
}

/// Each algorithm the protocol allows, written out, is taken with a key of
/// its kind (ES256 is also the default, but an explicit `"ES256"` must not
/// be refused as unknown).
#[test]
fn every_algorithm_is_taken_as_written_with_its_key() {
    for (alg, file, want) in [
        ("ES256", "sidecar-es256.pem", SigningAlgorithm::Es256),
        ("EdDSA", "sidecar-ed25519.pem", SigningAlgorithm::EdDsa),
        ("RS256", "sidecar-rs256.pem", SigningAlgorithm::Rs256),
    ] {
        let settings = load(&format!(
            "{LOCAL}\n[signing]\nalgorithm = \"{alg}\"\nkey_file = \"{}\"\n",
            key(file)
        ))
        .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(settings.signing.algorithm, want, "{alg}");
        // The start-up line names it as written.
        let summary = settings.summary();
        assert!(
            summary.contains(&format!(", {alg} key {}", key(file))),
            "{summary}"
        );
    }
}

#[test]
fn otp_policy_shapes_and_bounds() {
    let ok = load(&format!(
        r#"{LOCAL}
[otp]
length = 8
ttl = {{ default = 120, max = 300 }}
max_attempts = {{ min = 3, max = 5 }}
resend_cooldown = 0

[otp.max_resends]
default = 0
min = 0
max = 2
"#
    ))
    .unwrap();
    let o = &ok.otp;
    assert_eq!((o.length.default, o.length.min, o.length.max), (8, 4, 10));
    assert_eq!(
        (o.ttl_secs.default, o.ttl_secs.min, o.ttl_secs.max),
        (120, 60, 300)
    );
    assert_eq!(
        (
            o.max_attempts.default,
            o.max_attempts.min,
            o.max_attempts.max
        ),
        (5, 3, 5)
    );
    assert_eq!(o.resend_cooldown_secs.default, 0);
    assert_eq!((o.max_resends.default, o.max_resends.max), (0, 2));
    assert_eq!(
        (o.ttl_secs.default, o.ttl_secs.min, o.ttl_secs.max),
        (120, 60, 300)
    );

    let errs = errors(&format!(
        r#"{LOCAL}
[otp]
length = 12
ttl = {{ min = 500, max = 100 }}
max_attempts = {{ default = 9, max = 5 }}
resend_cooldown = -1
max_resends = {{ max = 11 }}
"#
    ));
    assert!(error_for(&errs, "otp.length").message.contains("4..=10"));
    assert!(error_for(&errs, "otp.ttl.min")
        .message
        .contains("min <= max"));
    assert!(
        error_for(&errs, "otp.max_attempts.default")
            .message
            .contains("3..=5")
            || error_for(&errs, "otp.max_attempts.default")
                .message
                .contains("1..=5")
    );
    assert!(error_for(&errs, "otp.resend_cooldown")
        .message
        .contains("0..=600"));
    assert!(error_for(&errs, "otp.max_resends.max")
        .message
        .contains("0..=10"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let errs = errors(
        r##"
[server]
bind = "0.0.0.0:99999"
public_url = "ftp://x"
extra = true

[[realms]]
issuer = "https://id.example.com/realms/acme"

[[realms]]
issuer = "nope"

[mail]
from = "not a mailbox"

[otp]
length = 3
ttl = 9999

[branding]
primary_color = "#12345"

[unknown_section]
"##,
    );
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    for key in [
        "server.bind",
        "server.public_url",
        "server.extra",
        "realms[1].issuer",
        "mail.from",
        "otp.length",
        "otp.ttl",
        "branding.primary_color",
        "unknown_section",
    ] {
        assert!(keys.contains(&key), "{key} missing from\n{errs}");
    }
    let text = errs.to_string();
    assert!(
        text.starts_with(&format!("{} configuration problems:", errs.len())),
        "{text}"
    );
}

#[test]
fn env_overrides_the_file_and_names_the_variable() {
    let scratch = Scratch::new();
    let s = load_env(
        &production(&scratch),
        &[
            ("OTP_SIDECAR__SERVER__BIND", "0.0.0.0:9090"),
            ("OTP_SIDECAR__OTP__LENGTH__MAX", "8"),
            ("OTP_SIDECAR__MAIL__TIMEOUT_SECS", "30"),
            ("OTP_SIDECAR__BRANDING__PRODUCT_NAME", "Acme Sign-in"),
            ("UNRELATED", "x"),
        ],
    )
    .unwrap();
    assert_eq!(s.server.bind.to_string(), "0.0.0.0:9090");
    assert_eq!(s.otp.length.max, 8);
    assert_eq!(s.mail.timeout_secs, 30);
    assert_eq!(s.branding.product_name, "Acme Sign-in");

    let errs = load_env(
        &production(&scratch),
        &[
            ("OTP_SIDECAR__SERVER__BINDD", "0.0.0.0:9090"),
            ("OTP_SIDECAR__OTP__TTL", "five minutes"),
            ("OTP_SIDECAR__SERVER__BIND__PORT", "1"),
            ("OTP_SIDECAR____X", "1"),
        ],
    )
    .unwrap_err();
    let e = error_for(&errs, "server.bindd");
    assert_eq!(
        e.origin.as_deref(),
        Some("environment variable OTP_SIDECAR__SERVER__BINDD")
    );
    assert!(e.message.contains("did you mean server.bind?"));
    let e = error_for(&errs, "otp.ttl");
    assert!(e.message.contains("\"five minutes\""), "{e}");
    assert_eq!(
        e.origin.as_deref(),
        Some("environment variable OTP_SIDECAR__OTP__TTL")
    );
    error_for(&errs, "server.bind.port");
    error_for(&errs, "OTP_SIDECAR____X");
}

#[test]
fn env_alone_can_configure_everything() {
    let scratch = Scratch::new();
    let pepper = scratch.pepper().display().to_string();
    let key_file = key("sidecar-es256.pem");
    let env: Vec<(String, String)> = [
        ("OTP_SIDECAR__SERVER__BIND", "0.0.0.0:8080"),
        (
            "OTP_SIDECAR__SERVER__PUBLIC_URL",
            "https://id.example.com/otp",
        ),
        ("OTP_SIDECAR__STORE__REDIS_URL", "redis://redis:6379"),
        ("OTP_SIDECAR__STORE__REDIS_PLAINTEXT", "true"),
        ("OTP_SIDECAR__MAIL__SMTP_URL", "smtps://smtp.example.com"),
        ("OTP_SIDECAR__MAIL__FROM", "login@example.com"),
        (
            "OTP_SIDECAR__REALMS",
            r#"[{ issuer = "https://id.example.com/realms/acme" }]"#,
        ),
        ("OTP_SIDECAR__SIGNING__KEY_FILE", &key_file),
        (
            "OTP_SIDECAR__SIGNING__PREVIOUS_KEY_FILES",
            &format!(
                "{}, {}",
                key("sidecar-ed25519.pub.pem"),
                key("sidecar-rs256.pem")
            ),
        ),
        ("OTP_SIDECAR__SECRETS__PEPPER_FILE", &pepper),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let s = Settings::load_with_env(None, &env).unwrap();
    assert!(!s.embedded);
    assert_eq!(
        s.realms[0].issuer.as_str(),
        "https://id.example.com/realms/acme"
    );
    assert_eq!(s.signing.previous_key_files.len(), 2);

    let mut bad = env.clone();
    bad.push(("OTP_SIDECAR__APPS".into(), "[1, ".into()));
    let errs = Settings::load_with_env(None, &bad).unwrap_err();
    error_for(&errs, "apps");
}

#[test]
fn apps_and_templates() {
    let scratch = Scratch::new();
    let ok = load(&format!(
        "{LOCAL}\n[apps]\naccount-console = \"Your account\"\n\"my.app\" = \"My App\"\n[templates]\ndir = \"{}\"\n",
        scratch.0.display()
    ))
    .unwrap();
    assert_eq!(
        ok.apps.get("account-console").map(String::as_str),
        Some("Your account")
    );
    assert_eq!(ok.apps.get("my.app").map(String::as_str), Some("My App"));
    assert_eq!(ok.templates_dir.as_deref(), Some(scratch.0.as_path()));
}

#[test]
fn check_file_prints_every_problem_or_a_summary() {
    let scratch = Scratch::new();
    let good = scratch.file("good.toml", &production(&scratch));
    let out = check_file(&good, &[]).unwrap();
    assert!(out.starts_with("ok: "), "{out}");
    assert!(
        out.contains(
            "realms [https://id.example.com/realms/acme, https://id.example.com/realms/beta]"
        ),
        "{out}"
    );
    assert!(!out.contains("secret-pw"), "{out}");

    let bad = scratch.file("bad.toml", "[server]\nbind = 1\nport = 2\n");
    let env = vec![("OTP_SIDECAR__OTP__TTL".to_string(), "x".to_string())];
    let out = check_file(&bad, &env).unwrap_err();
    assert!(out.contains("with 1 OTP_SIDECAR__* override"), "{out}");
    for line in [
        "  - server.bind: found an integer, expected a string",
        "  - server.port: unknown key",
        "  - otp.ttl: found \"x\", expected an integer",
        "  - realms: missing",
    ] {
        assert!(out.contains(line), "{line} not in\n{out}");
    }
}

#[test]
fn user_budget_has_defaults_bounds_and_env_overrides() {
    let s = load(LOCAL).unwrap();
    assert_eq!(s.otp.user, crate::config::USER_BUDGET_DEFAULT);
    assert_eq!(
        (
            s.otp.user.max_failures,
            s.otp.user.max_challenges,
            s.otp.user.window_secs
        ),
        (10, 10, 3600)
    );
    let s = load(&format!(
        "{LOCAL}\n[otp]\nuser_max_failures = 3\nuser_max_challenges = 100\nuser_window = 60\n"
    ))
    .unwrap();
    assert_eq!(
        (
            s.otp.user.max_failures,
            s.otp.user.max_challenges,
            s.otp.user.window_secs
        ),
        (3, 100, 60)
    );
    let s = load_env(LOCAL, &[("OTP_SIDECAR__OTP__USER_MAX_FAILURES", "7")]).unwrap();
    assert_eq!(s.otp.user.max_failures, 7);
    // Every bad key is reported at once, with its bounds.
    let errs = errors(&format!(
        "{LOCAL}\n[otp]\nuser_max_failures = 0\nuser_max_challenges = 101\nuser_window = 59\n"
    ));
    assert!(error_for(&errs, "otp.user_max_failures")
        .message
        .contains("1..=100"));
    assert!(error_for(&errs, "otp.user_max_challenges")
        .message
        .contains("1..=100"));
    assert!(error_for(&errs, "otp.user_window")
        .message
        .contains("60..=86400"));
    let errs = errors(&format!("{LOCAL}\n[otp]\nuser_window = \"1h\"\n"));
    assert!(error_for(&errs, "otp.user_window")
        .message
        .contains("an integer"));
}

/// What is only safe on loopback, and the typed values behind it.
mod rules;

#[test]
fn a_realm_has_its_own_branding() {
    let scratch = Scratch::new();
    let toml = production(&scratch).replace(
        "[[realms]]\nissuer = \"https://id.example.com/realms/beta\"\n",
        "[[realms]]\nissuer = \"https://id.example.com/realms/beta/\"\n\n\
         [realms.branding]\nproduct_name = \"Beta Staff\"\nprimary_color = \"#0B6E4F\"\n",
    );
    let s = load(&toml).unwrap();
    let beta = &s.realm_branding["https://id.example.com/realms/beta"];
    assert_eq!(beta.product_name.as_deref(), Some("Beta Staff"));
    assert_eq!(beta.primary_color.map(|c| c.hex()), Some("#0b6e4f".into()));
    assert_eq!(beta.logo_url, None);
    assert!(!s
        .realm_branding
        .contains_key("https://id.example.com/realms/acme"));
}

#[test]
fn a_realms_branding_is_checked_like_the_global_one() {
    let errs = errors(&format!(
        "{LOCAL}\n[realms.branding]\nprimary_color = \"blue\"\nlogo_url = \"javascript:alert(1)\"\nproduct_name = \"\"\ncolour = \"#000000\"\n"
    ));
    for key in [
        "realms[0].branding.primary_color",
        "realms[0].branding.logo_url",
        "realms[0].branding.product_name",
        "realms[0].branding.colour",
    ] {
        error_for(&errs, key);
    }
    assert!(error_for(&errs, "realms[0].branding.primary_color")
        .to_string()
        .contains("#rrggbb"));
}

#[test]
fn the_product_name_defaults_to_the_senders_name() {
    let scratch = Scratch::new();
    // mail.from is "Acme Login <login@example.com>".
    let s = load(&production(&scratch)).unwrap();
    assert_eq!(s.branding.product_name, "Acme Login");
    let s = load(&format!(
        "{}\n[branding]\nproduct_name = \"Acme ID\"\n",
        production(&scratch)
    ))
    .unwrap();
    assert_eq!(s.branding.product_name, "Acme ID");
    // A bare address has no name: the built-in default stays.
    let s = load(&format!("{LOCAL}\n[mail]\nfrom = \"login@example.com\"\n")).unwrap();
    assert_eq!(s.branding.product_name, "Sign-in");
}

#[test]
fn server_limits_have_defaults_bounds_and_env_overrides() {
    let s = load(LOCAL).unwrap();
    assert_eq!(s.server.body_timeout_secs, DEFAULT_BODY_TIMEOUT_SECS);
    assert_eq!(
        s.server.max_connections_per_client,
        DEFAULT_MAX_CONNECTIONS_PER_CLIENT
    );

    let s = load(&format!(
        "{LOCAL}\n[server]\nbody_timeout_secs = 3\nmax_connections_per_client = 0\n"
    ))
    .unwrap();
    assert_eq!(s.server.body_timeout_secs, 3);
    assert_eq!(s.server.max_connections_per_client, 0);

    let s = load_env(
        LOCAL,
        &[
            ("OTP_SIDECAR__SERVER__BODY_TIMEOUT_SECS", "7"),
            ("OTP_SIDECAR__SERVER__MAX_CONNECTIONS_PER_CLIENT", "12"),
        ],
    )
    .unwrap();
    assert_eq!(s.server.body_timeout_secs, 7);
    assert_eq!(s.server.max_connections_per_client, 12);

    let errs = errors(&format!(
        "{LOCAL}\n[server]\nbody_timeout_secs = 0\nmax_connections_per_client = -1\n"
    ));
    assert_eq!(
        error_for(&errs, "server.body_timeout_secs").message,
        "found 0, expected a value in 1..=120"
    );
    assert_eq!(
        error_for(&errs, "server.max_connections_per_client").message,
        "found -1, expected a value in 0..=10000"
    );
    let errs = errors(&format!("{LOCAL}\n[server]\nbody_timeout_secs = \"10s\"\n"));
    assert_eq!(
        error_for(&errs, "server.body_timeout_secs").message,
        "found a string, expected an integer"
    );
}

/// Found by fuzzing (fuzz/corpus/config/): a variable `OTP_SIDECAR__ ` was
/// reported under the key " ", which names nothing an operator can find.
#[test]
fn a_variable_with_a_blank_segment_is_named_by_the_variable() {
    let scratch = Scratch::new();
    let errs = load_env(&production(&scratch), &[("OTP_SIDECAR__ ", "x")]).unwrap_err();
    let e = error_for(&errs, "OTP_SIDECAR__ ");
    assert!(e.message.contains("whitespace"), "{e}");
    assert_eq!(
        e.origin.as_deref(),
        Some("environment variable OTP_SIDECAR__ ")
    );
}

/// Keys that are not bare TOML keys are quoted in error paths, as TOML writes them.
#[test]
fn odd_keys_are_named_quoted() {
    let errs = errors("\" \" = 1\n[apps]\n\"my app\" = 7\n");
    error_for(&errs, "\" \"");
    let e = error_for(&errs, "apps.\"my app\"");
    assert!(e.message.contains("display name"), "{e}");
}

/// `value` as a TOML string, quoted and escaped.
fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}

/// One `[branding]` value, written as TOML: `Ok` when taken, else the
/// problem reported for exactly that key.
fn branding_value(key: &str, value: &str) -> Result<Settings, String> {
    let toml = format!("{LOCAL}\n[branding]\n{key} = {}\n", toml_string(value));
    load(&toml).map_err(|errs| {
        let path = format!("branding.{key}");
        assert_eq!(errs.len(), 1, "{key} = {value:?}: {errs}");
        error_for(&errs, &path).to_string()
    })
}

/// Each branding value at its bounds: names of 1 to 100 characters, no
/// control characters; a logo that is an https URL with a host or an
/// absolute path (not `//host`, no blank, quote or backslash).
#[test]
fn branding_values_are_taken_up_to_their_bounds_and_no_further() {
    for name in ["A", &"é".repeat(100), "Acme Sign-in"] {
        let s = branding_value("product_name", name).unwrap();
        assert_eq!(s.branding.product_name, name);
    }
    for name in ["", "   ", &"é".repeat(101), "Acme\u{7}", "\tAcme"] {
        let e = branding_value("product_name", name).unwrap_err();
        assert!(e.contains("1 to 100 characters"), "{name:?}: {e}");
    }
    for logo in [
        "/static/logo.svg",
        "https://cdn.example.com/logo.svg",
        "https://cdn.example.com:8443/a/logo.png?v=2",
    ] {
        let s = branding_value("logo_url", logo).unwrap();
        assert_eq!(s.branding.logo_url.as_deref(), Some(logo));
    }
    for logo in [
        "//cdn.example.com/logo.svg",
        "http://cdn.example.com/logo.svg",
        "logo.svg",
        "https:logo.svg",
        "data:image/svg+xml,<svg/>",
        "/static/my logo.svg",
        "/static/logo.svg\u{7}",
        "/static/lo\"go.svg",
        "/static/lo\\go.svg",
        "https://cdn.example.com/my logo.svg",
        "",
    ] {
        let e = branding_value("logo_url", logo)
            .err()
            .unwrap_or_else(|| panic!("{logo:?} taken"));
        assert!(
            e.contains("an https:// URL or an absolute path"),
            "{logo:?}: {e}"
        );
    }
}

/// `[apps]` names and the sender's display name (the mail's From) follow
/// the same rule as the product name: 1 to 100 characters, no control
/// characters.
#[test]
fn app_and_sender_names_are_taken_up_to_their_bounds_and_no_further() {
    let app = |name: &str| format!("{LOCAL}\n[apps]\nweb = {}\n", toml_string(name));
    for name in ["A", &"é".repeat(100)] {
        assert_eq!(load(&app(name)).unwrap().apps["web"], name);
    }
    for name in ["", "   ", &"é".repeat(101), "Pay\u{7}roll"] {
        error_for(&errors(&app(name)), "apps.web");
    }
    // Without a product name of its own, the product is the sender's name.
    let product = |from: &str| {
        let toml = format!("{LOCAL}\n[mail]\nfrom = {}\n", toml_string(from));
        load(&toml).unwrap().branding.product_name
    };
    let default = load(LOCAL).unwrap().branding.product_name;
    assert_eq!(product("Acme Login <login@example.com>"), "Acme Login");
    let longest = "é".repeat(100);
    assert_eq!(
        product(&format!("\"{longest}\" <login@example.com>")),
        longest
    );
    for from in [
        "login@example.com".to_string(),
        "\"   \" <login@example.com>".to_string(),
        format!("\"{}\" <login@example.com>", "é".repeat(101)),
    ] {
        assert_eq!(product(&from), default, "{from}");
    }
}

/// A file with nothing wrong and one unknown override in the environment:
/// refused, naming the variable, not started without it.
#[test]
fn one_unknown_override_alone_refuses_the_configuration() {
    let scratch = Scratch::new();
    let errs = load_env(
        &production(&scratch),
        &[("OTP_SIDECAR__SERVER__BINDD", "0.0.0.0:9090")],
    )
    .unwrap_err();
    assert_eq!(errs.len(), 1, "{errs}");
    assert!(
        errs.to_string().contains("OTP_SIDECAR__SERVER__BINDD"),
        "{errs}"
    );
}

/// `store.redis_plaintext`: a plain `redis://` URL to another host only when
/// it is `true`, from the file (a TOML boolean) or the environment (`true` or
/// `false` as text, nothing else).
#[test]
fn plaintext_redis_only_when_allowed_in_so_many_words() {
    let scratch = Scratch::new();
    let pepper = scratch.file("pepper", &"p".repeat(32));
    let file = |extra: &str| {
        format!(
            "{LOCAL}\n[secrets]\npepper_file = {}\n\n[store]\nredis_url = \"redis://redis.internal:6379\"\n{extra}",
            toml_string(&pepper.display().to_string())
        )
    };
    let taken =
        |toml: &str, env: &[(&str, &str)]| load_env(toml, env).map(|s| s.store.redis_url.is_some());
    assert_eq!(taken(&file("redis_plaintext = true\n"), &[]), Ok(true));
    for env in ["true", " true "] {
        assert_eq!(
            taken(&file(""), &[("OTP_SIDECAR__STORE__REDIS_PLAINTEXT", env)]),
            Ok(true),
            "{env:?}"
        );
    }
    // Not allowed: the URL is refused.
    for (toml, env) in [
        (file(""), None),
        (file("redis_plaintext = false\n"), None),
        (file(""), Some("false")),
    ] {
        let env: Vec<(&str, &str)> = env
            .map(|v| ("OTP_SIDECAR__STORE__REDIS_PLAINTEXT", v))
            .into_iter()
            .collect();
        let errs = load_env(&toml, &env).unwrap_err();
        error_for(&errs, "store.redis_url");
        assert_eq!(errs.len(), 1, "{errs}");
    }
    // Neither a boolean nor, from the environment, its text: refused as such.
    let errs = load_env(&file(""), &[("OTP_SIDECAR__STORE__REDIS_PLAINTEXT", "yes")]).unwrap_err();
    assert!(
        error_for(&errs, "store.redis_plaintext")
            .to_string()
            .contains("true or false"),
        "{errs}"
    );
    let errs = load_env(&file("redis_plaintext = \"true\"\n"), &[]).unwrap_err();
    error_for(&errs, "store.redis_plaintext");
}

/// A realm's `jwks_uri` is an http(s) URL with a host and no user-info:
/// each part refused alone.
#[test]
fn a_jwks_uri_is_an_http_url_with_a_host_and_no_user_info() {
    let with = |jwks: &str| {
        format!(
            "[[realms]]\nissuer = \"http://localhost:8081/realms/acme\"\njwks_uri = {}\n",
            toml_string(jwks)
        )
    };
    let s = load(&with("https://keys.example.com/certs")).unwrap();
    assert_eq!(
        s.realms[0].jwks_uri.as_str(),
        "https://keys.example.com/certs"
    );
    for (jwks, what) in [
        ("ftp://keys.example.com/certs", "ftp"),
        ("https://user@keys.example.com/certs", "user-info"),
        ("https://:secret@keys.example.com/certs", "user-info"),
        ("https://user:secret@keys.example.com/certs", "user-info"),
    ] {
        let errs = errors(&with(jwks));
        let e = error_for(&errs, "realms[0].jwks_uri");
        assert!(e.to_string().contains(what), "{jwks}: {e}");
        assert!(!e.to_string().contains("secret"), "{jwks}: {e}");
    }
}

/// An unknown key is named as TOML would quote it: a control character in
/// its name is written as an escape, never sent raw to a terminal or a log.
#[test]
fn an_unknown_keys_name_is_quoted_with_its_control_characters_escaped() {
    let errs = errors(&format!("{LOCAL}\n[server]\n\"bi\\u0007nd\" = 1\n"));
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["server.\"bi\\u0007nd\""], "{errs}");
    assert!(!errs.to_string().contains('\u{7}'), "{errs}");
}

/// A policy bound may be a single value: `min` equal to `max`, and a
/// `default` equal to either end.
#[test]
fn a_policy_bound_may_be_one_value_and_its_default_either_end() {
    let s = load(&format!(
        r#"{LOCAL}
[otp]
ttl = {{ min = 120, max = 120 }}
max_attempts = {{ default = 5, min = 3, max = 5 }}
max_resends = {{ default = 1, min = 1, max = 2 }}
"#
    ))
    .unwrap();
    let o = &s.otp;
    assert_eq!(
        (o.ttl_secs.default, o.ttl_secs.min, o.ttl_secs.max),
        (120, 120, 120)
    );
    assert_eq!(
        (
            o.max_attempts.default,
            o.max_attempts.min,
            o.max_attempts.max
        ),
        (5, 3, 5)
    );
    assert_eq!(
        (o.max_resends.default, o.max_resends.min, o.max_resends.max),
        (1, 1, 2)
    );
}

/// `signing.previous_key_files`: a blank entry is no path; and a file that
/// is also `signing.key_file` has its problem reported under that key.
#[test]
fn previous_key_files_are_paths_and_the_current_key_is_named_as_such() {
    let errs = errors(&format!(
        "{LOCAL}\n[signing]\nkey_file = \"{}\"\nprevious_key_files = [\"  \"]\n",
        key("sidecar-es256.pem")
    ));
    let e = error_for(&errs, "signing.previous_key_files[0]");
    assert!(e.message.contains("a file path"), "{e}");

    let missing = "/nonexistent/current.pem";
    let errs = errors(&format!(
        "{LOCAL}\n[signing]\nkey_file = \"{missing}\"\nprevious_key_files = [\"{missing}\"]\n"
    ));
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    assert!(keys.contains(&"signing.key_file"), "{errs}");
    assert!(!keys.contains(&"signing.previous_key_files[0]"), "{errs}");
}
