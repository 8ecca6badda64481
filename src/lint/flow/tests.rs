use super::super::doc::parse_json;
use super::*;

const CONFIG: &str = r#"{"alias":"otp","config":{"otp.sidecar.public.url":"https://id.example.com/otp","otp.sidecar.jwks.url":"https://id.example.com/otp/.well-known/jwks.json","otp.sidecar.issuer":"https://id.example.com/otp","otp.sidecar.audience":"otp-sidecar","otp.code.length":"6","otp.ttl":"300","otp.max.attempts":"5","otp.resend.cooldown":"30","otp.max.resends":"3","otp.require.verified.email":"true"}}"#;

fn exec(auth: &str, req: &str) -> String {
    let cfg = if auth == AUTHENTICATOR_ID {
        r#","authenticatorConfig":"otp""#
    } else {
        ""
    };
    format!(r#"{{"authenticator":"{auth}","authenticatorFlow":false,"requirement":"{req}"{cfg}}}"#)
}

fn sub(alias: &str, req: &str) -> String {
    format!(r#"{{"authenticatorFlow":true,"flowAlias":"{alias}","requirement":"{req}"}}"#)
}

fn flow(alias: &str, execs: &[String]) -> String {
    format!(
        r#"{{"id":"id-{alias}","alias":"{alias}","providerId":"basic-flow","topLevel":true,"authenticationExecutions":[{}]}}"#,
        execs.join(",")
    )
}

fn realm(extra: &str, flows: &[String]) -> String {
    format!(
        r#"{{"realm":"r","bruteForceProtected":true,"browserFlow":"main","authenticatorConfig":[{CONFIG}],"authenticationFlows":[{}]{extra}}}"#,
        flows.join(",")
    )
}

fn hits(json: &str) -> Vec<(String, String)> {
    let node = parse_json(json).unwrap();
    let mut sink = Sink::new();
    check(&node, &Pointer::root(), &mut sink);
    sink.hits
        .into_iter()
        .map(|h| (h.rule.id.to_string(), h.pointer.as_str().to_string()))
        .collect()
}

fn standard() -> Vec<String> {
    vec![
        flow(
            "main",
            &[
                exec("auth-cookie", "ALTERNATIVE"),
                sub("forms", "ALTERNATIVE"),
            ],
        ),
        flow(
            "forms",
            &[
                exec("auth-username-password-form", "REQUIRED"),
                exec(AUTHENTICATOR_ID, "REQUIRED"),
            ],
        ),
    ]
}

#[test]
fn standard_shape_is_clean() {
    assert_eq!(hits(&realm("", &standard())), vec![]);
}

#[test]
fn realm_without_the_step_is_not_checked() {
    assert_eq!(hits(r#"{"realm":"master"}"#), vec![]);
}

#[test]
fn not_bound_and_unbound_flow() {
    let mut flows = standard();
    flows[0] = flow("main", &[exec("auth-username-password-form", "REQUIRED")]);
    let got = hits(&realm("", &flows));
    assert_eq!(
        got,
        vec![(
            "otp-sidecar/not-bound".into(),
            "/authenticationFlows/1/authenticationExecutions/1/authenticator".into()
        )]
    );

    let mut flows = standard();
    flows.push(flow(
        "spare",
        &[
            exec("auth-username-form", "REQUIRED"),
            exec(AUTHENTICATOR_ID, "REQUIRED"),
        ],
    ));
    let got = hits(&realm("", &flows));
    assert_eq!(
        got,
        vec![(
            "otp-sidecar/unbound-flow".into(),
            "/authenticationFlows/2/authenticationExecutions/1/authenticator".into()
        )]
    );
}

#[test]
fn client_override_by_id_or_alias_binds() {
    let mut flows = standard();
    flows[0] = flow("main", &[exec("auth-username-password-form", "REQUIRED")]);
    flows.push(flow("client", &[sub("forms", "REQUIRED")]));
    for key in ["id-client", "client"] {
        let extra = format!(
            r#","clients":[{{"clientId":"app","authenticationFlowBindingOverrides":{{"browser":"{key}"}}}}]"#
        );
        assert_eq!(hits(&realm(&extra, &flows)), vec![]);
    }
    let extra = r#","clients":[{"clientId":"app","authenticationFlowBindingOverrides":{"browser":"nope"}}]"#;
    let got = hits(&realm(extra, &flows));
    assert!(
        got.contains(&(
            "flow/unknown-flow".into(),
            "/clients/0/authenticationFlowBindingOverrides/browser".into()
        )),
        "{got:?}"
    );
}

#[test]
fn broker_flows_bind_and_start_identified() {
    // The step only in an IdP's post-broker-login flow: bound, and the user is known.
    let flows = vec![
        flow("main", &[exec("identity-provider-redirector", "REQUIRED")]),
        flow("after idp", &[exec(AUTHENTICATOR_ID, "REQUIRED")]),
    ];
    let extra = r#","identityProviders":[{"alias":"corp","providerId":"oidc","postBrokerLoginFlowAlias":"after idp"}]"#;
    assert_eq!(hits(&realm(extra, &flows)), vec![]);
    let extra = r#","identityProviders":[{"alias":"corp","providerId":"oidc","postBrokerLoginFlowAlias":"after"}]"#;
    let got = hits(&realm(extra, &flows));
    assert_eq!(
        got,
        vec![
            (
                "flow/unknown-flow".into(),
                "/identityProviders/0/postBrokerLoginFlowAlias".into()
            ),
            (
                "otp-sidecar/not-bound".into(),
                "/authenticationFlows/1/authenticationExecutions/0/authenticator".into()
            ),
        ]
    );
}

#[test]
fn requirement_shapes() {
    let mut flows = standard();
    flows[1] = flow(
        "forms",
        &[
            exec("auth-username-password-form", "REQUIRED"),
            exec(AUTHENTICATOR_ID, "ALTERNATIVE"),
        ],
    );
    assert_eq!(
        hits(&realm("", &flows)),
        vec![(
            "otp-sidecar/requirement".into(),
            "/authenticationFlows/1/authenticationExecutions/1/requirement".into()
        )]
    );

    // CONDITIONAL sub-flow without a condition: skipped on every login.
    let flows = vec![
        flow(
            "main",
            &[
                exec("auth-username-password-form", "REQUIRED"),
                sub("cond", "CONDITIONAL"),
            ],
        ),
        flow("cond", &[exec(AUTHENTICATOR_ID, "REQUIRED")]),
    ];
    assert_eq!(
        hits(&realm("", &flows)),
        vec![(
            "otp-sidecar/requirement".into(),
            "/authenticationFlows/0/authenticationExecutions/1/requirement".into()
        )]
    );

    // With a condition it is fine, and so is a CONDITIONAL step inside it.
    for req in ["REQUIRED", "CONDITIONAL"] {
        let flows = vec![
            flow(
                "main",
                &[
                    exec("auth-username-password-form", "REQUIRED"),
                    sub("cond", "CONDITIONAL"),
                ],
            ),
            flow(
                "cond",
                &[
                    exec("conditional-user-role", "REQUIRED"),
                    exec(AUTHENTICATOR_ID, req),
                ],
            ),
        ];
        assert_eq!(hits(&realm("", &flows)), vec![], "{req}");
    }

    // An ALTERNATIVE sub-flow next to a REQUIRED step is ignored.
    let flows = vec![
        flow(
            "main",
            &[
                exec("auth-username-password-form", "REQUIRED"),
                sub("alt", "ALTERNATIVE"),
            ],
        ),
        flow("alt", &[exec(AUTHENTICATOR_ID, "REQUIRED")]),
    ];
    assert_eq!(
        hits(&realm("", &flows)),
        vec![(
            "otp-sidecar/requirement".into(),
            "/authenticationFlows/0/authenticationExecutions/1/requirement".into()
        )]
    );
}

#[test]
fn bypass_alternative() {
    let mut flows = standard();
    flows[0] = flow(
        "main",
        &[
            exec("auth-cookie", "ALTERNATIVE"),
            exec("auth-username-password-form", "ALTERNATIVE"),
            sub("forms", "ALTERNATIVE"),
        ],
    );
    assert_eq!(
        hits(&realm("", &flows)),
        vec![(
            "otp-sidecar/bypass".into(),
            "/authenticationFlows/0/authenticationExecutions/1/authenticator".into()
        )]
    );
}

#[test]
fn user_identification() {
    let flows = vec![flow(
        "main",
        &[
            exec(AUTHENTICATOR_ID, "REQUIRED"),
            exec("auth-username-password-form", "REQUIRED"),
        ],
    )];
    assert_eq!(
        hits(&realm("", &flows)),
        vec![(
            "otp-sidecar/user-not-identified".into(),
            "/authenticationFlows/0/authenticationExecutions/0/authenticator".into()
        )]
    );
    // Priorities decide the order, not the listing.
    let flows = vec![flow(
        "main",
        &[
            exec(AUTHENTICATOR_ID, "REQUIRED").replace("{", r#"{"priority":20,"#),
            exec("auth-username-form", "REQUIRED").replace("{", r#"{"priority":10,"#),
        ],
    )];
    assert_eq!(hits(&realm("", &flows)), vec![]);
    // A REQUIRED sub-flow whose alternatives all identify the user counts.
    let flows = vec![
        flow(
            "main",
            &[sub("login", "REQUIRED"), exec(AUTHENTICATOR_ID, "REQUIRED")],
        ),
        flow(
            "login",
            &[exec("auth-cookie", "ALTERNATIVE"), sub("pw", "ALTERNATIVE")],
        ),
        flow("pw", &[exec("auth-username-password-form", "REQUIRED")]),
    ];
    assert_eq!(hits(&realm("", &flows)), vec![]);
}

/// Keycloak's step-up wiring: level 1 (password) and level 2 (the step) as
/// CONDITIONAL sub-flows gated by the level-of-authentication condition.
#[test]
fn step_up_levels_identify_the_user_for_later_levels() {
    let levels = |first: &str, second: &str, condition: &str| {
        vec![
            flow(
                "main",
                &[
                    exec("auth-cookie", "ALTERNATIVE"),
                    sub("forms", "ALTERNATIVE"),
                ],
            ),
            flow(
                "forms",
                &[
                    sub(first, "CONDITIONAL").replace("{", r#"{"priority":0,"#),
                    sub(second, "CONDITIONAL").replace("{", r#"{"priority":1,"#),
                ],
            ),
            flow(
                "level 1",
                &[
                    exec(condition, "REQUIRED"),
                    exec("auth-username-password-form", "REQUIRED"),
                ],
            ),
            flow(
                "level 2",
                &[
                    exec(condition, "REQUIRED"),
                    exec(AUTHENTICATOR_ID, "REQUIRED"),
                ],
            ),
        ]
    };
    assert_eq!(
        hits(&realm(
            "",
            &levels("level 1", "level 2", "conditional-level-of-authentication")
        )),
        vec![]
    );
    let not_identified = vec![(
        "otp-sidecar/user-not-identified".to_string(),
        "/authenticationFlows/3/authenticationExecutions/1/authenticator".to_string(),
    )];
    // The level with the step runs first: nothing has identified the user yet.
    assert_eq!(
        hits(&realm(
            "",
            &levels("level 2", "level 1", "conditional-level-of-authentication")
        )),
        not_identified
    );
    // Other conditions may skip the password sub-flow and still run the step.
    assert_eq!(
        hits(&realm(
            "",
            &levels("level 1", "level 2", "conditional-user-role")
        )),
        not_identified
    );
}

#[test]
fn config_rules() {
    let with = |cfg: &str| realm("", &standard()).replace(CONFIG, cfg);
    assert_eq!(
        hits(&with(&CONFIG.replace(
            "https://id.example.com/otp\",\"otp.sidecar.jwks",
            "http://id.example.com/otp\",\"otp.sidecar.jwks"
        ))),
        vec![(
            "otp-sidecar/config-invalid".into(),
            "/authenticatorConfig/0/config/otp.sidecar.public.url".into()
        )]
    );
    assert_eq!(
        hits(&with(&CONFIG.replace(
            "https://id.example.com/otp\",\"otp.sidecar.jwks",
            "http://127.0.0.1:8081\",\"otp.sidecar.jwks"
        ))),
        vec![]
    );
    assert_eq!(
        hits(&with(
            &CONFIG.replace("\"otp.ttl\":\"300\"", "\"otp.ttl\":\"30\"")
        )),
        vec![(
            "otp-sidecar/config-invalid".into(),
            "/authenticatorConfig/0/config/otp.ttl".into()
        )]
    );
    assert_eq!(
        hits(&with(&CONFIG.replace(
            "\"otp.sidecar.issuer\":\"https://id.example.com/otp\",",
            ""
        ))),
        vec![(
            "otp-sidecar/config-incomplete".into(),
            "/authenticatorConfig/0/config".into()
        )]
    );
    assert_eq!(
        hits(&with(&CONFIG.replace(
            "\"otp.ttl\":\"300\"",
            "\"otp.ttl\":\"300\",\"otp.max.attempt\":\"5\""
        ))),
        vec![(
            "otp-sidecar/config-unknown-key".into(),
            "/authenticatorConfig/0/config/otp.max.attempt".into()
        )]
    );
    assert_eq!(
        hits(&with(
            &CONFIG.replace("\"alias\":\"otp\"", "\"alias\":\"other\"")
        )),
        vec![(
            "otp-sidecar/config-missing".into(),
            "/authenticationFlows/1/authenticationExecutions/1/authenticatorConfig".into()
        )]
    );
    assert_eq!(
        hits(&with(&CONFIG.replace("\"5\"", "\"$(env:MAX)\""))),
        vec![]
    );
    // The remember-browser days, and Keycloak's own AMR keys of every execution.
    let amr = |extra: &str| {
        with(&CONFIG.replace(
            "\"otp.ttl\":\"300\"",
            &format!("\"otp.ttl\":\"300\",{extra}"),
        ))
    };
    assert_eq!(
        hits(&amr(
            r#""otp.remember.days":"30","default.reference.value":"otp","default.reference.maxAge":"36000""#
        )),
        vec![]
    );
    assert_eq!(
        hits(&amr(r#""otp.remember.days":"365""#)),
        vec![(
            "otp-sidecar/config-invalid".into(),
            "/authenticatorConfig/0/config/otp.remember.days".into()
        )]
    );
    assert_eq!(
        hits(&amr(r#""default.reference.maxAge":"10h""#)),
        vec![(
            "otp-sidecar/config-invalid".into(),
            "/authenticatorConfig/0/config/default.reference.maxAge".into()
        )]
    );
}

#[test]
fn brute_force() {
    let json = realm("", &standard()).replace("\"bruteForceProtected\":true,", "");
    assert_eq!(
        hits(&json),
        vec![("otp-sidecar/brute-force".into(), "/realm".into())]
    );
    let json = realm("", &standard()).replace(
        "\"bruteForceProtected\":true",
        "\"bruteForceProtected\":false",
    );
    assert_eq!(
        hits(&json),
        vec![(
            "otp-sidecar/brute-force".into(),
            "/bruteForceProtected".into()
        )]
    );
}

#[test]
fn url_checks() {
    assert!(url_problem("https://a.example").is_none());
    assert!(url_problem("http://localhost:8081/x").is_none());
    assert!(url_problem("http://[::1]:8081").is_none());
    assert!(url_problem("http://a.example").is_some());
    assert!(url_problem("https://u:p@a.example").is_some());
    assert!(url_problem("ftp://a.example").is_some());
    assert!(url_problem("not a url").is_some());
}

/// The OTP limits are written in Rust ([`OTP_LIMITS`], which [`CONFIG_KEYS`]
/// derives from) and in the Java authenticator (`OtpSidecarConfig`'s
/// `Bounds`): the Java copy must be equal, default included.
#[test]
fn the_java_authenticator_has_the_same_limits_and_defaults() {
    let java = include_str!(
        "../../../keycloak-flow/src/main/java/dev/otpsidecar/keycloak/OtpSidecarConfig.java"
    );
    let constant = |name: &str| -> String {
        let decl = format!("public static final String {name} = \"");
        let start = java.find(&decl).unwrap_or_else(|| panic!("no {name}")) + decl.len();
        java[start..].split('"').next().unwrap().to_string()
    };
    let mut bounds = std::collections::BTreeMap::new();
    for line in java.lines() {
        let Some(args) = line
            .split("= new Bounds(")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
        else {
            continue;
        };
        let parts: Vec<&str> = args.split(',').map(str::trim).collect();
        let [key, min, max, default] = parts[..] else {
            panic!("unexpected Bounds: {line}");
        };
        let n = |s: &str| s.parse::<i64>().unwrap();
        bounds.insert(constant(key), (n(min), n(max), n(default)));
    }
    let l = OTP_LIMITS;
    let rust = [
        ("otp.code.length", l.length.map(i64::from)),
        ("otp.ttl", l.ttl_secs.map(|v| v as i64)),
        ("otp.max.attempts", l.max_attempts.map(i64::from)),
        (
            "otp.resend.cooldown",
            l.resend_cooldown_secs.map(|v| v as i64),
        ),
        ("otp.max.resends", l.max_resends.map(i64::from)),
    ];
    // Not a sidecar limit: the authenticator's own "remember this browser" days.
    assert_eq!(bounds.remove("otp.remember.days"), Some((0, 90, 0)));
    let remember = CONFIG_KEYS
        .iter()
        .find(|(k, _, _)| *k == "otp.remember.days")
        .unwrap();
    assert!(matches!(remember.2, Check::Range(0, 90)));
    assert_eq!(bounds.len(), rust.len(), "{bounds:?}");
    for (key, b) in rust {
        assert_eq!(
            bounds.get(key),
            Some(&(b.min, b.max, b.default)),
            "{key}: Java OtpSidecarConfig differs from config::OTP_LIMITS"
        );
        let linted = CONFIG_KEYS.iter().find(|(k, _, _)| *k == key).unwrap();
        assert!(matches!(linted.2, Check::Range(lo, hi) if (lo, hi) == (b.min, b.max)));
    }
    assert_eq!(
        constant("DEFAULT_AUDIENCE"),
        crate::config::DEFAULT_AUDIENCE
    );
}
