//! The configuration loader: any TOML text and any `OTP_SIDECAR__*`
//! variables give settings or errors that name their key, never a panic.
use proptest::prelude::*;
use toml::Value;

use crate::cases;
use crate::oracle::check_config;
use crate::strategies::hostile_text;

/// Every key the loader knows, as dotted paths (`otp.*` also take bound tables).
const KEYS: &[&str] = &[
    "server.bind",
    "server.public_url",
    "store.redis_url",
    "store.redis_plaintext",
    "mail.smtp_url",
    "mail.from",
    "mail.timeout_secs",
    "mail.retry_for_secs",
    "mail.per_address_max",
    "mail.per_address_window_secs",
    "mail.global_max",
    "mail.global_window_secs",
    "signing.key_file",
    "signing.previous_key_files",
    "signing.algorithm",
    "signing.audience",
    "secrets.pepper_file",
    "otp.length",
    "otp.ttl",
    "otp.max_attempts",
    "otp.resend_cooldown",
    "otp.max_resends",
    "otp.user_max_failures",
    "otp.user_max_challenges",
    "otp.user_window",
    "otp.length.default",
    "otp.ttl.min",
    "otp.max_attempts.max",
    "branding.product_name",
    "branding.logo_url",
    "branding.primary_color",
    "templates.dir",
    "apps.account-console",
    "realms",
];

/// A configuration that loads (loopback, in-memory store, outbox).
pub const BASE: &str = r#"
[server]
bind = "127.0.0.1:8080"
public_url = "http://127.0.0.1:8080/"

[[realms]]
issuer = "https://id.example.com/realms/acme"
"#;

fn toml_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        hostile_text(5).prop_map(Value::String),
        prop::sample::select(vec![
            "127.0.0.1:0",
            "0.0.0.0:8080",
            "[::1]:65535",
            "localhost:99999",
            "https://id.example.com/otp/",
            "http://localhost",
            "redis://127.0.0.1:1",
            "rediss://:pw@redis:6379",
            "smtp://localhost:25",
            "smtps://u:p@mail:465",
            "ES256",
            "RS256",
            "EdDSA",
            "#fff",
            "#1f5fbf",
            "rgb(0,0,0)",
            "/dev/null",
            "/nonexistent",
            "",
            " ",
            "otp-sidecar",
        ])
        .prop_map(|s| Value::String(s.to_string())),
        any::<i64>().prop_map(Value::Integer),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(i64::MAX),
            Just(i64::MIN),
            0i64..1000
        ]
        .prop_map(Value::Integer),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec!["default", "min", "max", "issuer", "x", ""]),
                    inner
                ),
                0..4
            )
            .prop_map(|kv| Value::Table(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

/// Sets a dotted key in a table, replacing whatever lies in the way.
fn set(root: &mut toml::Table, path: &str, value: Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut table = root;
    for p in parts {
        let entry = table
            .entry(p.to_string())
            .or_insert_with(|| Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(toml::Table::new());
        }
        table = entry.as_table_mut().unwrap();
    }
    table.insert(last.to_string(), value);
}

fn env_name(path: &str) -> String {
    format!(
        "OTP_SIDECAR__{}",
        path.replace('.', "__").to_ascii_uppercase()
    )
}

proptest! {
    #![proptest_config(cases(4000))]

    /// Arbitrary text as the file (mostly not TOML): refused as such.
    #[test]
    fn arbitrary_text_is_refused_with_a_reason(text in "\\PC{0,400}") {
        let _ = check_config(&text, &[]);
    }

    /// A working file with one key set to anything: if refused, an error names
    /// that key (or the table holding it, or a key inside it).
    #[test]
    fn a_bad_value_is_blamed_on_its_key(key in prop::sample::select(KEYS), value in toml_value()) {
        let mut root: toml::Table = BASE.parse().unwrap();
        set(&mut root, key, value.clone());
        let text = toml::to_string(&root).unwrap();
        if let Err(errors) = check_config(&text, &[]) {
            let related = |k: &str| {
                k == key || k.starts_with(&format!("{key}.")) || k.starts_with(&format!("{key}["))
                    || key.starts_with(&format!("{k}."))
            };
            // Either the key itself, or a key a rule ties to it whose message names it
            // (`secrets.pepper_file: missing while store.redis_url is set`).
            prop_assert!(
                errors.iter().any(|(k, m)| related(k) || m.contains(key)),
                "{} = {:?} refused, but no error names it: {:?}", key, value, errors
            );
        }
    }

    /// The same through the environment: the error names the key and the variable.
    #[test]
    fn a_bad_variable_is_blamed_on_its_key(
        key in prop::sample::select(KEYS),
        raw in prop_oneof![
            hostile_text(4),
            "[0-9-]{1,25}",
            Just("[1, 2".to_string()),
            Just("{ default = 7, min = 9 }".to_string()),
            Just("[\"a\", 1]".to_string()),
        ],
    ) {
        let name = env_name(key);
        let env = vec![(name.clone(), raw.clone())];
        let result = check_config(BASE, &env);
        if let Err(errors) = result {
            let related = |k: &str| {
                k == key || k == name || k.starts_with(&format!("{key}.")) || k.starts_with(&format!("{key}["))
                    || key.starts_with(&format!("{k}."))
            };
            prop_assert!(
                errors.iter().any(|(k, m)| related(k) || m.contains(key)),
                "{}={:?} refused, but no error names it: {:?}", name, raw, errors
            );
        }
    }

    /// Random tables of known and unknown keys, plus random variables.
    #[test]
    fn random_configurations_never_panic(
        entries in prop::collection::vec((prop::sample::select(KEYS), toml_value()), 0..8),
        unknown in prop::collection::vec(("[a-z_]{1,10}(\\.[a-z_]{1,10})?", toml_value()), 0..2),
        env in prop::collection::vec(
            ("[A-Za-z_]{0,12}(__[A-Za-z_]{0,12}){0,3}", hostile_text(3)),
            0..3,
        ),
    ) {
        let mut root = toml::Table::new();
        for (k, v) in entries.into_iter().chain(unknown.iter().map(|(k, v)| (k.as_str(), v.clone()))) {
            set(&mut root, k, v);
        }
        let text = toml::to_string(&root).unwrap_or_default();
        let env: Vec<(String, String)> = env
            .into_iter()
            .map(|(k, v)| (format!("OTP_SIDECAR__{k}"), v))
            .collect();
        let _ = check_config(&text, &env);
    }
}

#[test]
fn the_base_configuration_loads() {
    assert!(check_config(BASE, &[]).is_ok());
}
