//! Hostile building blocks shared by the properties.
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Fragments that have broken parsers, escapers and URL checks before.
pub const NASTY: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'",
    "\"",
    "`",
    "&amp;",
    "&",
    "=",
    "{{",
    "}}",
    "{{code}}",
    "{{{ctx.code}}}",
    "{{> partials/page-layout}}",
    "{ $code }",
    "{ -brand }",
    "{",
    "}",
    "\\",
    "%",
    "%00",
    "%2e%2e",
    "..",
    "/",
    "@",
    "#",
    "?",
    ":",
    "\u{202e}",
    "\u{2068}",
    "\u{200b}",
    "\u{feff}",
    "\u{ff0f}",
    "é",
    "\u{1f600}",
    "ß",
    "İ",
    "\u{0301}",
    " ",
    "javascript:",
    "data:text/html,",
    "\u{0}",
    "\r\n",
    "\t",
];

/// Text mixing nasty fragments and arbitrary characters.
pub fn hostile_text(max_pieces: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(NASTY).prop_map(str::to_string),
            2 => "\\PC{0,12}",
            1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
            1 => "[a-zA-Z0-9]{1,8}",
        ],
        0..max_pieces,
    )
    .prop_map(|parts| parts.concat())
}

/// Printable hostile text as a request's checks would let through (no control
/// characters, not blank).
pub fn printable_hostile(max_pieces: usize) -> impl Strategy<Value = String> {
    hostile_text(max_pieces).prop_map(|s| {
        let s: String = s.chars().filter(|c| !c.is_control()).collect();
        if s.trim().is_empty() {
            format!("x{s}")
        } else {
            s
        }
    })
}

/// Integers at the edges (and the usual suspects in between).
pub fn edge_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i64::MIN + 1),
        Just(0),
        Just(-1),
        Just(1),
        Just(i64::from(i32::MAX)),
        Just(i64::from(u32::MAX)),
        any::<i64>(),
    ]
}

/// Any JSON value, weighted towards the awkward: huge and negative numbers,
/// floats where integers belong, nesting, hostile strings.
pub fn hostile_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        edge_i64().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        Just(Value::Number(u64::MAX.into())),
        prop_oneof![
            any::<f64>(),
            Just(1e300),
            Just(-0.0),
            Just(0.5),
            Just(1.8e9)
        ]
        .prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        hostile_text(6).prop_map(Value::String),
        "[0-9]{1,30}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{0,8}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}
