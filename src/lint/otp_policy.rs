//! Rules for the realm's `otpPolicy*` fields.
//!
//! What Keycloak 26.7.3 stores, checked against the real server by the
//! realm-server stage (tests/realm-server/), on four paths: the admin REST API
//! creating and updating a realm, and keycloak-config-cli (6.5) doing the same.
//!
//! * Keycloak builds the OTP policy from the representation only when
//!   `otpPolicyType` is present; otherwise every other `otpPolicy*` field is
//!   dropped without a word. One exception: keycloak-config-cli 6.2 and later
//!   writes a lone `otpPolicyAlgorithm` into an existing realm (its issue
//!   #847), as is, invalid values included.
//! * When the type is present, the policy starts from an empty `OTPPolicy`, so
//!   a field left out becomes null / 0 rather than Keycloak's default, on
//!   update as on create (the realm's previous values are not kept).
//! * An unknown `otpPolicy*` key makes the admin REST API (HTTP 400) and
//!   keycloak-config-cli refuse the whole realm.

use super::doc::{bool_of, int_of, BoolVal, IntVal, Node, Pointer, Value};
use super::rules;
use super::Sink;

const TYPE: &str = "otpPolicyType";
const ALGORITHM: &str = "otpPolicyAlgorithm";
const INITIAL_COUNTER: &str = "otpPolicyInitialCounter";
const DIGITS: &str = "otpPolicyDigits";
const LOOK_AHEAD: &str = "otpPolicyLookAheadWindow";
const PERIOD: &str = "otpPolicyPeriod";
const CODE_REUSABLE: &str = "otpPolicyCodeReusable";

/// The `otpPolicy*` properties of Keycloak 26's RealmRepresentation.
pub const KNOWN: [&str; 7] = [
    TYPE,
    ALGORITHM,
    INITIAL_COUNTER,
    DIGITS,
    LOOK_AHEAD,
    PERIOD,
    CODE_REUSABLE,
];

pub const ALGORITHMS: [&str; 3] = ["HmacSHA1", "HmacSHA256", "HmacSHA512"];

/// The closest name in `candidates` (case-insensitive edit distance), if close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(&lower, &c.to_ascii_lowercase()), *c))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, c)| *d <= (c.len() / 3).clamp(1, 3))
        .map(|(_, c)| c)
}

/// The JCA name an algorithm spelling most likely meant: `SHA256`, `sha-256`,
/// `HMAC_SHA256`, `hmacsha256` all mean `HmacSHA256`.
pub fn suggest_algorithm(value: &str) -> Option<&'static str> {
    let norm: String = value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let bare = norm.strip_prefix("hmac").unwrap_or(&norm);
    match bare {
        "sha1" | "hs1" => Some("HmacSHA1"),
        "sha256" | "hs256" | "sha2" => Some("HmacSHA256"),
        "sha512" | "hs512" => Some("HmacSHA512"),
        _ => None,
    }
}

enum Text<'a> {
    Str(&'a str),
    Opaque,
}

/// A string field as Jackson reads it (scalars coerce to their text).
fn text_of(node: &Node) -> Option<Text<'_>> {
    match &node.value {
        Value::Str(s) if super::doc::is_substitution(s) => Some(Text::Opaque),
        Value::Str(s) => Some(Text::Str(s)),
        _ => None,
    }
}

pub fn check(realm: &Node, base: &Pointer, sink: &mut Sink) {
    // Unknown otpPolicy* keys: the admin REST API and keycloak-config-cli refuse the realm.
    for e in realm.entries() {
        if e.key.to_ascii_lowercase().starts_with("otppolicy") && !KNOWN.contains(&e.key.as_str()) {
            let hint = closest(&e.key, &KNOWN)
                .map(|c| format!("; did you mean \"{c}\"?"))
                .unwrap_or_else(|| format!("; the known keys are {}", KNOWN.join(", ")));
            sink.report(
                &rules::OTP_UNKNOWN_KEY,
                base.key(&e.key),
                e.key_pos,
                format!(
                    "unknown key \"{}\": Keycloak's admin REST API and keycloak-config-cli refuse the whole realm with it{hint}",
                    e.key
                ),
            );
        }
    }

    let field = |name: &str| realm.get(name);
    let at = |name: &str| base.key(name);

    // Wrong JSON types, and the typed values the other rules read.
    let mut ints = std::collections::HashMap::new();
    for name in [INITIAL_COUNTER, DIGITS, LOOK_AHEAD, PERIOD] {
        if let Some(node) = field(name) {
            match int_of(node) {
                IntVal::Int(i) => {
                    ints.insert(name, (i, node));
                }
                IntVal::Opaque => {}
                IntVal::Wrong => sink.report(
                    &rules::OTP_WRONG_TYPE,
                    at(name),
                    node.pos,
                    format!("{name} must be an integer, found {}", node.kind()),
                ),
            }
        }
    }
    for name in [TYPE, ALGORITHM] {
        if let Some(node) = field(name) {
            if text_of(node).is_none() {
                sink.report(
                    &rules::OTP_WRONG_TYPE,
                    at(name),
                    node.pos,
                    format!("{name} must be a string, found {}", node.kind()),
                );
            }
        }
    }
    let reusable = field(CODE_REUSABLE);
    if let Some(node) = reusable {
        match bool_of(node) {
            BoolVal::Bool(true) => sink.report(
                &rules::OTP_CODE_REUSABLE,
                at(CODE_REUSABLE),
                node.pos,
                "otpPolicyCodeReusable is true: a code can be used again within its validity window; set it to false".into(),
            ),
            BoolVal::Bool(false) | BoolVal::Opaque => {}
            BoolVal::Wrong => sink.report(
                &rules::OTP_WRONG_TYPE,
                at(CODE_REUSABLE),
                node.pos,
                format!("{CODE_REUSABLE} must be a boolean, found {}", node.kind()),
            ),
        }
    }

    // The type decides whether anything else is applied.
    let type_node = field(TYPE);
    let kind: Option<Text<'_>> = type_node.and_then(text_of);
    match type_node {
        None => {
            let ignored: Vec<&str> = KNOWN
                .iter()
                .copied()
                .filter(|k| *k != TYPE && field(k).is_some())
                .collect();
            if let Some(first) = ignored.first().and_then(|k| realm.entry(k)) {
                let fix = "add otpPolicyType (\"totp\" or \"hotp\") with the whole policy";
                let message = if ignored.contains(&ALGORITHM) {
                    let rest: Vec<&str> = ignored
                        .iter()
                        .copied()
                        .filter(|k| *k != ALGORITHM)
                        .collect();
                    let rest = if rest.is_empty() {
                        String::new()
                    } else {
                        format!(", and ignores {}", rest.join(", "))
                    };
                    format!(
                        "otpPolicyType is missing: when the realm is created, Keycloak ignores {}; \
                         on an existing realm, keycloak-config-cli (6.2 and later) still writes otpPolicyAlgorithm, \
                         as is (the admin REST API does not){rest}; {fix}",
                        ignored.join(", ")
                    )
                } else {
                    format!(
                        "otpPolicyType is missing, so Keycloak ignores {}, on create and on update; {fix}",
                        ignored.join(", ")
                    )
                };
                sink.report(&rules::OTP_PARTIAL, at(&first.key), first.key_pos, message);
            }
        }
        Some(type_node) => {
            if let Some(Text::Str(t)) = &kind {
                if *t != "totp" && *t != "hotp" {
                    let hint = match t.trim().to_ascii_lowercase().as_str() {
                        l @ ("totp" | "hotp") => {
                            format!("; write \"{l}\" (Keycloak compares case-sensitively)")
                        }
                        _ => String::new(),
                    };
                    sink.report(
                        &rules::OTP_TYPE,
                        at(TYPE),
                        type_node.pos,
                        format!("otpPolicyType \"{t}\" is not \"totp\" or \"hotp\"{hint}"),
                    );
                }
            }
            let mut missing = vec![];
            if field(ALGORITHM).is_none() {
                missing.push("otpPolicyAlgorithm (becomes null)");
            }
            if field(DIGITS).is_none() {
                missing.push("otpPolicyDigits (becomes 0)");
            }
            if matches!(kind, Some(Text::Str("totp"))) && field(PERIOD).is_none() {
                missing.push("otpPolicyPeriod (becomes 0)");
            }
            // 0: a code is accepted only for the exact time step (totp) or the exact next
            // counter value (hotp), where Keycloak's default allows one either way.
            if field(LOOK_AHEAD).is_none() {
                missing.push("otpPolicyLookAheadWindow (becomes 0)");
            }
            if !missing.is_empty() {
                sink.report(
                    &rules::OTP_INCOMPLETE,
                    at(TYPE),
                    type_node.pos,
                    format!(
                        "with otpPolicyType set, Keycloak builds the policy from the given fields only; missing: {}",
                        missing.join(", ")
                    ),
                );
            }
        }
    }

    if let Some(node) = field(ALGORITHM) {
        if let Some(Text::Str(alg)) = text_of(node) {
            if alg == "HmacSHA1" {
                sink.report(
                    &rules::OTP_SHA1,
                    at(ALGORITHM),
                    node.pos,
                    "otpPolicyAlgorithm HmacSHA1 is deprecated; prefer HmacSHA256 for new enrolments".into(),
                );
            } else if !ALGORITHMS.contains(&alg) {
                let hint = match suggest_algorithm(alg) {
                    Some(s) => format!("; did you mean \"{s}\"?"),
                    None => format!("; use one of {}", ALGORITHMS.join(", ")),
                };
                sink.report(
                    &rules::OTP_ALGORITHM,
                    at(ALGORITHM),
                    node.pos,
                    format!("otpPolicyAlgorithm \"{alg}\" is not a Keycloak OTP algorithm{hint}"),
                );
            }
        }
    }

    if let Some((d, node)) = ints.get(DIGITS) {
        if *d != 6 && *d != 8 {
            sink.report(
                &rules::OTP_DIGITS,
                at(DIGITS),
                node.pos,
                format!("otpPolicyDigits is {d}; authenticator apps support 6 or 8"),
            );
        }
    }
    if let Some((w, node)) = ints.get(LOOK_AHEAD) {
        if !(0..=10).contains(w) {
            sink.report(
                &rules::OTP_LOOK_AHEAD,
                at(LOOK_AHEAD),
                node.pos,
                format!("otpPolicyLookAheadWindow is {w}; keep it within 0..=10 (Keycloak's default is 1)"),
            );
        }
    }
    let is_hotp = matches!(kind, Some(Text::Str("hotp")));
    let is_totp = matches!(kind, Some(Text::Str("totp")));
    if let Some((p, node)) = ints.get(PERIOD) {
        if is_hotp {
            // Exports always write the period; only a value someone chose is worth a word.
            if *p != 30 {
                sink.report(
                    &rules::OTP_PERIOD_WITH_HOTP,
                    at(PERIOD),
                    node.pos,
                    format!("otpPolicyPeriod {p} has no effect on an hotp policy; remove it, or use otpPolicyType \"totp\""),
                );
            }
        } else if !(1..=120).contains(p) {
            sink.report(
                &rules::OTP_PERIOD,
                at(PERIOD),
                node.pos,
                format!(
                    "otpPolicyPeriod is {p} seconds; keep it within 1..=120 (30 is the standard)"
                ),
            );
        }
    }
    if let Some((c, node)) = ints.get(INITIAL_COUNTER) {
        if is_totp && *c != 0 {
            sink.report(
                &rules::OTP_COUNTER_WITH_TOTP,
                at(INITIAL_COUNTER),
                node.pos,
                format!("otpPolicyInitialCounter {c} has no effect on a totp policy; remove it, or use otpPolicyType \"hotp\""),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::doc::parse_json;
    use super::*;

    fn ids(json: &str) -> Vec<(String, String)> {
        let realm = parse_json(json).unwrap();
        let mut sink = Sink::new();
        check(&realm, &Pointer::root(), &mut sink);
        sink.hits
            .into_iter()
            .map(|h| (h.rule.id.to_string(), h.pointer.as_str().to_string()))
            .collect()
    }

    fn one(rule: &str, ptr: &str) -> Vec<(String, String)> {
        vec![(rule.to_string(), ptr.to_string())]
    }

    const FULL: &str = r#""otpPolicyType":"totp","otpPolicyAlgorithm":"HmacSHA256","otpPolicyDigits":6,"otpPolicyPeriod":30,"otpPolicyLookAheadWindow":1,"otpPolicyInitialCounter":0,"otpPolicyCodeReusable":false"#;

    #[test]
    fn clean_policy_and_no_policy() {
        assert!(ids(&format!("{{\"realm\":\"a\",{FULL}}}")).is_empty());
        assert!(ids(r#"{"realm":"a"}"#).is_empty());
    }

    #[test]
    fn partial_names_every_ignored_field() {
        let realm =
            parse_json(r#"{"realm":"a","otpPolicyAlgorithm":"HmacSHA256","otpPolicyDigits":8}"#)
                .unwrap();
        let mut sink = Sink::new();
        check(&realm, &Pointer::root(), &mut sink);
        assert_eq!(sink.hits.len(), 1);
        assert_eq!(sink.hits[0].rule.id, "otp-policy/partial");
        assert_eq!(sink.hits[0].pointer.as_str(), "/otpPolicyAlgorithm");
        assert!(sink.hits[0]
            .message
            .contains("otpPolicyAlgorithm, otpPolicyDigits"));
    }

    #[test]
    fn incomplete() {
        assert_eq!(
            ids(r#"{"realm":"a","otpPolicyType":"totp","otpPolicyAlgorithm":"HmacSHA256"}"#),
            one("otp-policy/incomplete", "/otpPolicyType")
        );
        // hotp needs no period.
        assert!(ids(r#"{"realm":"a","otpPolicyType":"hotp","otpPolicyAlgorithm":"HmacSHA256","otpPolicyDigits":6,"otpPolicyLookAheadWindow":1}"#).is_empty());
    }

    #[test]
    fn incomplete_names_the_look_ahead_window() {
        // Keycloak 26.7.3 stores look-ahead 0 for a policy without it (checked by the
        // realm-server stage): hotp then never resynchronises, totp allows no clock drift.
        for kind in ["totp", "hotp"] {
            let realm = parse_json(&format!(
                r#"{{"realm":"a","otpPolicyType":"{kind}","otpPolicyAlgorithm":"HmacSHA256","otpPolicyDigits":6,"otpPolicyPeriod":30}}"#
            ))
            .unwrap();
            let mut sink = Sink::new();
            check(&realm, &Pointer::root(), &mut sink);
            let ids: Vec<&str> = sink.hits.iter().map(|h| h.rule.id).collect();
            assert!(ids.contains(&"otp-policy/incomplete"), "{kind}: {ids:?}");
            let hit = sink
                .hits
                .iter()
                .find(|h| h.rule.id == "otp-policy/incomplete")
                .unwrap();
            assert!(
                hit.message
                    .ends_with("missing: otpPolicyLookAheadWindow (becomes 0)"),
                "{kind}: {}",
                hit.message
            );
        }
    }

    #[test]
    fn type_value() {
        let got = ids(&format!(
            "{{\"realm\":\"a\",{}}}",
            FULL.replace("\"totp\"", "\"TOTP\"")
        ));
        assert_eq!(got, one("otp-policy/type", "/otpPolicyType"));
    }

    #[test]
    fn algorithm_suggestions() {
        assert_eq!(suggest_algorithm("SHA256"), Some("HmacSHA256"));
        assert_eq!(suggest_algorithm("sha-512"), Some("HmacSHA512"));
        assert_eq!(suggest_algorithm("hmacsha1"), Some("HmacSHA1"));
        assert_eq!(suggest_algorithm("HMAC_SHA256"), Some("HmacSHA256"));
        assert_eq!(suggest_algorithm("MD5"), None);
        let realm = parse_json(&format!(
            "{{\"realm\":\"a\",{}}}",
            FULL.replace("HmacSHA256", "SHA256")
        ))
        .unwrap();
        let mut sink = Sink::new();
        check(&realm, &Pointer::root(), &mut sink);
        assert_eq!(sink.hits.len(), 1);
        assert_eq!(sink.hits[0].rule.id, "otp-policy/algorithm");
        assert!(sink.hits[0].message.contains("did you mean \"HmacSHA256\""));
    }

    #[test]
    fn sha1_warns() {
        let got = ids(&format!(
            "{{\"realm\":\"a\",{}}}",
            FULL.replace("HmacSHA256", "HmacSHA1")
        ));
        assert_eq!(got, one("otp-policy/sha1", "/otpPolicyAlgorithm"));
    }

    #[test]
    fn digits_look_ahead_period() {
        let f =
            |from: &str, to: &str| ids(&format!("{{\"realm\":\"a\",{}}}", FULL.replace(from, to)));
        assert_eq!(
            f("\"otpPolicyDigits\":6", "\"otpPolicyDigits\":7"),
            one("otp-policy/digits", "/otpPolicyDigits")
        );
        assert!(f("\"otpPolicyDigits\":6", "\"otpPolicyDigits\":8").is_empty());
        assert!(
            f("\"otpPolicyDigits\":6", "\"otpPolicyDigits\":\"8\"").is_empty(),
            "Jackson coerces numeric strings"
        );
        assert_eq!(
            f(
                "\"otpPolicyLookAheadWindow\":1",
                "\"otpPolicyLookAheadWindow\":11"
            ),
            one("otp-policy/look-ahead", "/otpPolicyLookAheadWindow")
        );
        assert_eq!(
            f(
                "\"otpPolicyLookAheadWindow\":1",
                "\"otpPolicyLookAheadWindow\":-1"
            ),
            one("otp-policy/look-ahead", "/otpPolicyLookAheadWindow")
        );
        assert!(f(
            "\"otpPolicyLookAheadWindow\":1",
            "\"otpPolicyLookAheadWindow\":10"
        )
        .is_empty());
        assert_eq!(
            f("\"otpPolicyPeriod\":30", "\"otpPolicyPeriod\":0"),
            one("otp-policy/period", "/otpPolicyPeriod")
        );
        assert_eq!(
            f("\"otpPolicyPeriod\":30", "\"otpPolicyPeriod\":121"),
            one("otp-policy/period", "/otpPolicyPeriod")
        );
    }

    #[test]
    fn type_specific_fields() {
        let f =
            |from: &str, to: &str| ids(&format!("{{\"realm\":\"a\",{}}}", FULL.replace(from, to)));
        assert_eq!(
            f(
                "\"otpPolicyInitialCounter\":0",
                "\"otpPolicyInitialCounter\":5"
            ),
            one("otp-policy/counter-with-totp", "/otpPolicyInitialCounter")
        );
        let hotp = FULL.replace("\"totp\"", "\"hotp\"");
        assert!(
            ids(&format!("{{\"realm\":\"a\",{hotp}}}")).is_empty(),
            "the exported default period is not a choice"
        );
        assert_eq!(
            ids(&format!(
                "{{\"realm\":\"a\",{}}}",
                hotp.replace("\"otpPolicyPeriod\":30", "\"otpPolicyPeriod\":60")
            )),
            one("otp-policy/period-with-hotp", "/otpPolicyPeriod")
        );
    }

    #[test]
    fn unknown_keys_suggest_the_closest() {
        let realm = parse_json(&format!(
            "{{\"realm\":\"a\",{FULL},\"otpPolicyDigit\":6,\"otpPolicyFoo\":1}}"
        ))
        .unwrap();
        let mut sink = Sink::new();
        check(&realm, &Pointer::root(), &mut sink);
        assert_eq!(sink.hits.len(), 2);
        assert!(sink.hits[0]
            .message
            .contains("did you mean \"otpPolicyDigits\""));
        assert!(sink.hits[1].message.contains("the known keys are"));
        assert_eq!(
            closest("otppolicycodereuseable", &KNOWN),
            Some("otpPolicyCodeReusable")
        );
    }

    #[test]
    fn reusable_and_wrong_types() {
        let f =
            |from: &str, to: &str| ids(&format!("{{\"realm\":\"a\",{}}}", FULL.replace(from, to)));
        assert_eq!(
            f(
                "\"otpPolicyCodeReusable\":false",
                "\"otpPolicyCodeReusable\":true"
            ),
            one("otp-policy/code-reusable", "/otpPolicyCodeReusable")
        );
        assert_eq!(
            f("\"otpPolicyDigits\":6", "\"otpPolicyDigits\":\"six\""),
            one("otp-policy/wrong-type", "/otpPolicyDigits")
        );
        assert_eq!(
            f(
                "\"otpPolicyCodeReusable\":false",
                "\"otpPolicyCodeReusable\":\"no\""
            ),
            one("otp-policy/wrong-type", "/otpPolicyCodeReusable")
        );
        assert_eq!(
            f(
                "\"otpPolicyAlgorithm\":\"HmacSHA256\"",
                "\"otpPolicyAlgorithm\":[]"
            ),
            one("otp-policy/wrong-type", "/otpPolicyAlgorithm")
        );
        // config-cli substitutions are opaque, not wrong.
        assert!(f(
            "\"otpPolicyDigits\":6",
            "\"otpPolicyDigits\":\"$(env:OTP_DIGITS)\""
        )
        .is_empty());
    }
}
