//! The seeds of the coverage-guided targets (`fuzz/corpus/<target>/`, crashes
//! once found included) replayed through the same properties on every test run.
use std::path::PathBuf;

use crate::oracle::{check_config_bytes, check_lint_bytes, RequestOracle, TemplateOracle};

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

#[test]
fn request_jwt_seeds() {
    let o = RequestOracle::new();
    for (name, data) in seeds("request_jwt") {
        o.check_bytes(&data);
        // The seeds that stand for a genuine request must really pass, or the
        // fuzzer starts from refusals only.
        if name.ends_with("-valid") {
            let text = String::from_utf8_lossy(&data[1..]).into_owned();
            let (header, payload) = text.split_once('\0').unwrap();
            let sig = match data[0] % 4 {
                1 => crate::oracle::Signature::RealmRsa(jsonwebtoken::Algorithm::RS256),
                _ => crate::oracle::Signature::RealmEc,
            };
            let jwt = o.token_raw(header.as_bytes(), payload.as_bytes(), &sig);
            assert!(
                o.verify(&jwt).is_ok(),
                "seed {name} is refused: {:?}",
                o.verify(&jwt)
            );
        }
    }
}

#[test]
fn return_uri_seeds() {
    for (_, data) in seeds("return_uri") {
        crate::oracle::check_return_uri_bytes(&data);
    }
}

#[test]
fn config_seeds() {
    for (_, data) in seeds("config") {
        check_config_bytes(&data);
    }
}

#[test]
fn templates_seeds() {
    let o = TemplateOracle::new("Acme Sign-in");
    for (_, data) in seeds("templates") {
        o.check_bytes(&data);
    }
}

#[test]
fn realm_lint_seeds() {
    for (_, data) in seeds("realm_lint") {
        check_lint_bytes(&data);
    }
}
