//! The realm linter's input: any JSON or YAML text, and realm-shaped
//! documents with hostile values, give findings or a positioned input error.
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::cases;
use crate::oracle::check_lint;
use crate::strategies::hostile_json;

/// Keys the rules look at, so random documents reach them.
const REALM_KEYS: &[&str] = &[
    "realm",
    "otpPolicyType",
    "otpPolicyAlgorithm",
    "otpPolicyDigits",
    "otpPolicyPeriod",
    "otpPolicyLookAheadWindow",
    "otpPolicyInitialCounter",
    "otpPolicyCodeReusable",
    "authenticationFlows",
    "authenticatorConfig",
    "browserFlow",
    "directGrantFlow",
    "firstBrokerLoginFlow",
    "requiredActions",
    "clients",
    "authenticationFlowBindingOverrides",
    "alias",
    "id",
    "providerId",
    "topLevel",
    "builtIn",
    "authenticationExecutions",
    "authenticator",
    "requirement",
    "priority",
    "flowAlias",
    "autheticatorFlow",
    "authenticatorFlow",
    "config",
    "otp.length",
    "otp.ttl",
    "otp.max.attempts",
    "sidecar.url",
    "realms",
];

fn realm_doc() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        4 => prop::sample::select(REALM_KEYS).prop_map(str::to_string),
        1 => "[a-zA-Z.]{0,10}",
    ];
    let requirement = prop::sample::select(vec![
        "REQUIRED",
        "ALTERNATIVE",
        "CONDITIONAL",
        "DISABLED",
        "required",
        "",
    ]);
    let execution = (
        prop::sample::select(vec![
            "email-otp-sidecar",
            "auth-username-password-form",
            "x",
        ]),
        requirement,
        prop::option::of("[a-z ]{0,8}"),
        prop::option::of(hostile_json()),
    )
        .prop_map(|(a, r, flow, config)| {
            let mut e = json!({"authenticator": a, "requirement": r, "priority": 10});
            if let Some(f) = flow {
                e["flowAlias"] = json!(f);
                e["authenticatorFlow"] = json!(true);
            }
            if let Some(c) = config {
                e["authenticatorConfig"] = c;
            }
            e
        });
    let flow = ("[a-z ]{0,8}", prop::collection::vec(execution, 0..4)).prop_map(
        |(alias, ex)| json!({"alias": alias, "topLevel": true, "authenticationExecutions": ex}),
    );
    (
        prop::collection::vec(flow, 0..3),
        prop::collection::vec((key, hostile_json()), 0..6),
    )
        .prop_map(|(flows, extra)| {
            let mut realm = Map::new();
            realm.insert("realm".into(), json!("acme"));
            realm.insert("authenticationFlows".into(), Value::Array(flows));
            for (k, v) in extra {
                realm.insert(k, v);
            }
            Value::Object(realm)
        })
}

/// YAML in block style, as keycloak-config-cli files are written.
fn to_yaml(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                out.push_str(&format!("{pad}{}:", serde_json::to_string(k).unwrap()));
                if matches!(v, Value::Object(m) if !m.is_empty())
                    || matches!(v, Value::Array(a) if !a.is_empty())
                {
                    out.push('\n');
                    to_yaml(v, indent + 2, out);
                } else {
                    out.push_str(&format!(" {v}\n"));
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for item in a {
                out.push_str(&format!("{pad}-\n"));
                to_yaml(item, indent + 2, out);
            }
        }
        other => out.push_str(&format!("{pad}{other}\n")),
    }
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(
        name in prop::sample::select(vec!["realm.json", "realm.yaml", "realm.yml", "realm"]),
        text in "\\PC{0,300}",
    ) {
        check_lint(name, &text);
    }

    #[test]
    fn realm_shaped_json_and_yaml_never_panic(doc in realm_doc(), wrap in 0u8..3) {
        let doc = match wrap {
            0 => doc,
            1 => json!([doc]),
            _ => json!({"realms": [doc]}),
        };
        check_lint("realm.json", &serde_json::to_string_pretty(&doc).unwrap());
        // JSON is YAML (flow style) too; and block style.
        check_lint("realm.yaml", &serde_json::to_string(&doc).unwrap());
        let mut yaml = String::new();
        to_yaml(&doc, 0, &mut yaml);
        check_lint("realm.yaml", &yaml);
    }

    /// YAML's own features: anchors, aliases, merge keys, tags, several documents.
    #[test]
    fn yaml_features_never_panic(
        pieces in prop::collection::vec(
            prop::sample::select(vec![
                "---\n", "...\n", "a: &x {b: 1}\n", "c: *x\n", "<<: *x\n", "<<: [*x, *x]\n",
                "d: !!str 7\n", "e: !custom x\n", "f: [*x, *x, *x]\n", "? complex\n: v\n",
                "- *x\n", "- &y [1, *y]\n", "g: *missing\n", "realm: acme\n",
                "otpPolicyDigits: 12\n", "authenticationFlows:\n- alias: b\n  authenticationExecutions:\n  - authenticator: email-otp-sidecar\n    requirement: REQUIRED\n",
                "  x: 1\n", "h: |\n  text\n", "i: 'unterminated\n", "j: \"\\u0000\"\n",
                "%YAML 1.2\n", "%TAG ! tag:x:\n", "k: 0x1F\n", "l: .inf\n", "m: ~\n",
            ]),
            0..12,
        )
    ) {
        check_lint("realm.yaml", &pieces.concat());
    }
}

/// Nesting and alias expansion at sizes a parser must bound.
#[test]
fn deep_and_exponential_inputs_are_refused_in_bounded_time() {
    let started = std::time::Instant::now();
    for depth in [255, 256, 257, 10_000, 100_000] {
        check_lint(
            "realm.json",
            &format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        );
        check_lint(
            "realm.yaml",
            &format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        );
        check_lint("realm.yaml", &"- ".repeat(depth));
    }
    // Aliases nest deeper than the document does: 300 links of depth 200 each
    // (this overflowed the stack once; tests/fuzz/README.md).
    let mut chain = String::from("a0: &a0 ");
    chain.push_str(&"[".repeat(200));
    chain.push_str(&"]".repeat(200));
    chain.push('\n');
    for i in 1..300 {
        chain.push_str(&format!(
            "a{i}: &a{i} {}*a{}{}\n",
            "[".repeat(200),
            i - 1,
            "]".repeat(200)
        ));
    }
    check_lint("realm.yaml", &chain);
    // A billion laughs.
    let mut laughs = String::from("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*l{}", i - 1); 10].join(", ");
        laughs.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
    }
    check_lint("realm.yaml", &laughs);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}
