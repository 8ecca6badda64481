//! Request JWT verification: hostile headers, claims, sizes, integers and
//! algorithms. Never a panic, never an acceptance the realm did not sign,
//! always a specific refusal.
use std::sync::OnceLock;

use jsonwebtoken::Algorithm;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::cases;
use crate::oracle::{valid_claims, RequestOracle, Signature, ACTION_PATH, ISSUER, NOW, RETURN_URI};
use crate::strategies::{edge_i64, hostile_json, hostile_text, printable_hostile};

fn oracle() -> &'static RequestOracle {
    static ORACLE: OnceLock<RequestOracle> = OnceLock::new();
    ORACLE.get_or_init(RequestOracle::new)
}

#[derive(Debug, Clone)]
enum Kid {
    Rsa,
    Ec,
    Absent,
    Value(Value),
}

#[derive(Debug, Clone)]
enum SigChoice {
    RealmRs256,
    RealmPs256,
    RealmEs256,
    Stranger,
    Hmac,
    Empty,
    Raw(Vec<u8>),
    Text(String),
}

fn header_strategy() -> impl Strategy<Value = (Option<Value>, Kid, Vec<(String, Value)>)> {
    let alg = prop_oneof![
        6 => prop::sample::select(vec!["RS256", "PS256", "ES256"]).prop_map(|a| Some(json!(a))),
        4 => prop::sample::select(vec![
            "none", "None", "NONE", "HS256", "HS384", "HS512", "RS384", "RS512", "ES384", "ES512",
            "PS384", "EdDSA", "rs256", "RS256 ", "", "ED25519",
        ])
        .prop_map(|a| Some(json!(a))),
        1 => Just(None),
        1 => hostile_json().prop_map(Some),
    ];
    let kid = prop_oneof![
        4 => Just(Kid::Rsa),
        3 => Just(Kid::Ec),
        1 => Just(Kid::Absent),
        1 => Just(Kid::Value(json!(""))),
        1 => "[a-zA-Z0-9_-]{257,300}".prop_map(|k| Kid::Value(json!(k))),
        1 => hostile_json().prop_map(Kid::Value),
    ];
    let extra = prop::collection::vec(
        (
            prop::sample::select(vec![
                "crit", "jku", "x5u", "jwk", "typ", "cty", "b64", "zip", "x",
            ]),
            hostile_json(),
        )
            .prop_map(|(k, v)| (k.to_string(), v)),
        0..2,
    );
    (alg, kid, extra)
}

fn signature_strategy() -> impl Strategy<Value = SigChoice> {
    prop_oneof![
        5 => Just(SigChoice::RealmRs256),
        2 => Just(SigChoice::RealmPs256),
        3 => Just(SigChoice::RealmEs256),
        2 => Just(SigChoice::Stranger),
        2 => Just(SigChoice::Hmac),
        1 => Just(SigChoice::Empty),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(SigChoice::Raw),
        1 => hostile_text(4).prop_map(SigChoice::Text),
    ]
}

/// One claim changed: removed, replaced by anything, or moved to an edge.
fn claim_mutation() -> impl Strategy<Value = (String, Option<Value>)> {
    let claim = prop::sample::select(vec![
        "iss",
        "aud",
        "sub",
        "email",
        "name",
        "locale",
        "azp",
        "nonce",
        "return_uri",
        "iat",
        "exp",
        "nbf",
        "jti",
        "otp",
    ]);
    let near = prop_oneof![
        edge_i64().prop_map(|n| json!(n)),
        (-400i64..400).prop_map(|d| json!(NOW + d)),
        (-1_000_000i64..1_000_000).prop_map(|d| json!(NOW + d)),
        Just(json!(["otp-sidecar", "other"])),
        Just(json!(["other"])),
        Just(json!("https://id.example.com/realms/other")),
        Just(json!(format!("{ISSUER}/"))),
        Just(json!(format!("{ISSUER}{ACTION_PATH}#x"))),
        Just(json!(format!(
            "https://evil.example/realms/acme{ACTION_PATH}"
        ))),
        Just(json!({"length": 255, "ttl": u64::MAX})),
        Just(json!({"length": -1})),
        Just(json!({"unknown": 1})),
        printable_hostile(6).prop_map(|s| json!(s)),
        "[a-zA-Z0-9._%+-]{1,64}@[a-z0-9.-]{1,40}".prop_map(|s| json!(s)),
        "[ -~]{0,300}".prop_map(|s| json!(s)),
    ];
    (
        claim.prop_map(str::to_string),
        prop_oneof![
            1 => Just(None),
            3 => near.prop_map(Some),
            2 => hostile_json().prop_map(Some),
        ],
    )
}

fn build_header(
    o: &RequestOracle,
    (alg, kid, extra): &(Option<Value>, Kid, Vec<(String, Value)>),
) -> Map<String, Value> {
    let mut h = Map::new();
    if let Some(alg) = alg {
        h.insert("alg".into(), alg.clone());
    }
    match kid {
        Kid::Rsa => {
            h.insert("kid".into(), json!(o.kid_rsa));
        }
        Kid::Ec => {
            h.insert("kid".into(), json!(o.kid_ec));
        }
        Kid::Absent => {}
        Kid::Value(v) => {
            h.insert("kid".into(), v.clone());
        }
    }
    for (k, v) in extra {
        h.insert(k.clone(), v.clone());
    }
    h
}

fn signature(choice: &SigChoice) -> Signature {
    match choice {
        SigChoice::RealmRs256 => Signature::RealmRsa(Algorithm::RS256),
        SigChoice::RealmPs256 => Signature::RealmRsa(Algorithm::PS256),
        SigChoice::RealmEs256 => Signature::RealmEc,
        SigChoice::Stranger => Signature::Stranger,
        SigChoice::Hmac => Signature::HmacWithRealmPublicKey,
        SigChoice::Empty => Signature::Text(String::new()),
        SigChoice::Raw(b) => Signature::Raw(b.clone()),
        SigChoice::Text(t) => Signature::Text(t.clone()),
    }
}

proptest! {
    #![proptest_config(cases(3000))]

    /// Structured: a real request with its header and up to four claims
    /// changed, signed by the realm, a stranger, HMAC-with-the-public-key or
    /// not at all.
    #[test]
    fn mutated_requests_are_refused_specifically_or_verified_correctly(
        header in header_strategy(),
        mutations in prop::collection::vec(claim_mutation(), 0..4),
        sig in signature_strategy(),
    ) {
        let o = oracle();
        let mut claims = valid_claims();
        for (claim, value) in &mutations {
            let map = claims.as_object_mut().unwrap();
            match value {
                None => { map.remove(claim); }
                Some(v) => { map.insert(claim.clone(), v.clone()); }
            }
        }
        let header = build_header(o, &header);
        let payload = serde_json::to_vec(&claims).unwrap();
        o.check_signed(&header, &payload, &signature(&sig));
    }

    /// A genuine, otherwise valid request whose times move: accepted exactly
    /// inside the window docs/protocol.md gives (60 s leeway, 300 s lifetime).
    #[test]
    fn time_claims_follow_the_window(iat_d in -1000i64..1000, life in -10i64..700) {
        let o = oracle();
        let mut claims = valid_claims();
        let iat = NOW + iat_d;
        let exp = iat.saturating_add(life);
        claims["iat"] = json!(iat);
        claims["exp"] = json!(exp);
        let jwt = o.token(
            &o.header("ES256", &o.kid_ec.clone()),
            &serde_json::to_vec(&claims).unwrap(),
            &Signature::RealmEc,
        );
        let should_pass = NOW <= exp + 60 && iat <= NOW + 60 && exp > iat && exp - iat <= 300;
        let got = o.verify(&jwt);
        prop_assert_eq!(got.is_ok(), should_pass, "iat {} exp {}: {:?}", iat_d, life, got.err());
    }

    /// Raw bytes and dot-separated junk: never accepted.
    #[test]
    fn arbitrary_text_is_never_accepted(
        parts in prop::collection::vec(
            prop_oneof![
                "[A-Za-z0-9_-]{0,80}",
                prop::collection::vec(any::<u8>(), 0..120).prop_map(|b| {
                    use base64::Engine;
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
                }),
                hostile_text(3),
                Just(String::new()),
            ],
            0..5,
        )
    ) {
        oracle().check_raw(&parts.join("."));
    }

    /// Header or payload that is not a JSON object, or is hostile JSON.
    #[test]
    fn non_object_parts_are_refused(
        header in hostile_json(),
        payload in prop_oneof![hostile_json(), Just(valid_claims())],
        sig in signature_strategy(),
    ) {
        let o = oracle();
        let payload = serde_json::to_vec(&payload).unwrap();
        match header.as_object() {
            Some(h) => o.check_signed(h, &payload, &signature(&sig)),
            None => {
                let jwt = o.token_raw(&serde_json::to_vec(&header).unwrap(), &payload, &signature(&sig));
                let got = o.verify(&jwt);
                prop_assert!(
                    matches!(got, Err(otp_sidecar::tokens::RequestRejection::Malformed(_))),
                    "header {:?}: {:?}", header, got
                );
            }
        }
    }
}

/// Sizes at the limits: 16 KiB is the bound, larger is refused before decoding.
#[test]
fn oversized_tokens_are_refused_as_malformed() {
    let o = oracle();
    for len in [16 * 1024, 16 * 1024 + 1, 1 << 20] {
        let jwt = "a".repeat(len);
        match o.verify(&jwt) {
            Err(otp_sidecar::tokens::RequestRejection::Malformed(_)) => {}
            other => panic!("{len} bytes: {other:?}"),
        }
    }
    // A genuine signature over a huge claim set: refused (too long), not verified.
    let mut claims = valid_claims();
    claims["name"] = json!("x".repeat(20_000));
    let jwt = o.token(
        &o.header("RS256", &o.kid_rsa.clone()),
        &serde_json::to_vec(&claims).unwrap(),
        &Signature::RealmRsa(Algorithm::RS256),
    );
    assert!(matches!(
        o.verify(&jwt),
        Err(otp_sidecar::tokens::RequestRejection::Malformed(_))
    ));
    assert!(RETURN_URI.starts_with(ISSUER));
}
