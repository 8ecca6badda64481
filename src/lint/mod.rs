//! `otp-sidecar realm lint`: finds the silent traps in Keycloak realm files
//! (realm export JSON, keycloak-config-cli YAML) before they are deployed.
//!
//! Each input becomes a positioned tree ([`doc`], [`yaml`]); every realm in it
//! goes through the OTP-policy rules ([`otp_policy`]) and our flow's rules
//! ([`flow`]); [`report`] prints the findings as text, JSON or SARIF.

pub mod doc;
pub mod flow;
pub mod otp_policy;
pub mod report;
pub mod rules;
pub mod yaml;

use std::path::Path;

use doc::{Node, ParseError, Pointer, Pos, Value};
use rules::{Rule, Severity};

/// One problem, located as precisely as the source allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: &'static Rule,
    pub message: String,
    pub file: String,
    /// YAML document index (0-based) when the file holds several documents.
    pub document: Option<usize>,
    pub pointer: Pointer,
    pub pos: Option<Pos>,
}

impl Finding {
    pub fn severity(&self) -> Severity {
        self.rule.severity
    }
}

/// A finding before it is tied to a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub rule: &'static Rule,
    pub message: String,
    pub pointer: Pointer,
    pub pos: Option<Pos>,
}

/// Collects the findings for one realm.
pub struct Sink {
    hits: Vec<Hit>,
}

impl Sink {
    fn new() -> Self {
        Sink { hits: Vec::new() }
    }

    pub fn report(&mut self, rule: &'static Rule, pointer: Pointer, pos: Pos, message: String) {
        let hit = Hit {
            rule,
            message,
            pointer,
            pos: Some(pos),
        };
        if !self.hits.contains(&hit) {
            self.hits.push(hit);
        }
    }
}

/// Input we cannot lint: unreadable, unparseable, or not a realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    pub document: Option<usize>,
    pub error: ParseError,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(p) = self.error.pos {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        if let Some(d) = self.document {
            write!(f, " (document {})", d + 1)?;
        }
        write!(f, ": cannot lint: {}", self.error.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

/// Picks the reader by extension; without one, by the first meaningful character.
pub fn detect_format(path: &str, text: &str) -> Format {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".json") {
        Format::Json
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Format::Yaml
    } else if matches!(
        text.trim_start_matches('\u{feff}')
            .trim_start()
            .chars()
            .next(),
        Some('{' | '[')
    ) {
        Format::Json
    } else {
        Format::Yaml
    }
}

/// The realms inside one document: a realm object, a list of realms, or an
/// export object with `realms`.
fn realms_of(root: &Node) -> Result<Vec<(Pointer, &Node)>, ParseError> {
    let not_realm = |node: &Node, where_: &str| {
        ParseError {
        pos: Some(node.pos),
        message: format!(
            "{where_} is {}, not a realm: expected an object with \"realm\", a list of them, or an object with \"realms\"",
            node.kind()
        ),
    }
    };
    match &root.value {
        Value::Map(_) if root.get("realm").is_some() => Ok(vec![(Pointer::root(), root)]),
        Value::Map(_) => match root.get("realms") {
            Some(list) => {
                let base = Pointer::root().key("realms");
                realm_list(list, &base, not_realm)
            }
            None => Err(not_realm(root, "the document")),
        },
        Value::Seq(_) => realm_list(root, &Pointer::root(), not_realm),
        _ => Err(not_realm(root, "the document")),
    }
}

fn realm_list<'a>(
    list: &'a Node,
    base: &Pointer,
    not_realm: impl Fn(&Node, &str) -> ParseError,
) -> Result<Vec<(Pointer, &'a Node)>, ParseError> {
    if !matches!(list.value, Value::Seq(_)) {
        return Err(not_realm(list, &format!("{base}")));
    }
    list.items()
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let p = base.index(i);
            if matches!(item.value, Value::Map(_)) && item.get("realm").is_some() {
                Ok((p, item))
            } else {
                Err(not_realm(item, &format!("{p}")))
            }
        })
        .collect()
}

/// Runs every rule on one realm object.
pub fn lint_realm(realm: &Node, base: &Pointer) -> Vec<Hit> {
    let mut sink = Sink::new();
    otp_policy::check(realm, base, &mut sink);
    flow::check(realm, base, &mut sink);
    sink.hits
}

/// Lints the text of one file; `name` is how findings name the file.
pub fn lint_text(name: &str, text: &str) -> Result<Vec<Finding>, InputError> {
    let fail = |document, error| InputError {
        file: name.to_string(),
        document,
        error,
    };
    let (docs, multi) = match detect_format(name, text) {
        Format::Json => (
            vec![doc::parse_json(text).map_err(|e| fail(None, e))?],
            false,
        ),
        Format::Yaml => {
            let docs = yaml::parse_yaml(text).map_err(|e| fail(None, e))?;
            let multi = docs.len() > 1;
            (docs, multi)
        }
    };
    if docs.is_empty() {
        return Err(fail(
            None,
            ParseError {
                pos: None,
                message: "the file holds no document".into(),
            },
        ));
    }
    let mut findings = Vec::new();
    for (i, root) in docs.iter().enumerate() {
        let document = multi.then_some(i);
        let realms = realms_of(root).map_err(|e| fail(document, e))?;
        for (base, realm) in realms {
            findings.extend(lint_realm(realm, &base).into_iter().map(|h| Finding {
                rule: h.rule,
                message: h.message,
                file: name.to_string(),
                document,
                pointer: h.pointer,
                pos: h.pos,
            }));
        }
    }
    Ok(findings)
}

pub fn lint_file(path: &Path) -> Result<Vec<Finding>, InputError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        file: name.clone(),
        document: None,
        error: ParseError {
            pos: None,
            message: format!("cannot read the file: {e}"),
        },
    })?;
    lint_text(&name, &text)
}

/// Exit status: 2 for unreadable input, 1 for errors (or warnings with `strict`), else 0.
pub fn exit_status(findings: &[Finding], input_errors: usize, strict: bool) -> u8 {
    if input_errors > 0 {
        2
    } else if findings
        .iter()
        .any(|f| f.severity() == Severity::Error || strict)
    {
        1
    } else {
        0
    }
}

/// `otp-sidecar realm lint`: lints every file, prints the report, returns the exit status.
pub fn run(files: &[std::path::PathBuf], format: report::OutputFormat, strict: bool) -> u8 {
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        match lint_file(path) {
            Ok(f) => findings.extend(f),
            Err(e) => errors.push(e),
        }
    }
    for e in &errors {
        eprintln!("{e}");
    }
    let out = report::render(format, &findings, files.len());
    print!("{out}");
    exit_status(&findings, errors.len(), strict)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn realm_shapes() {
        let one = lint_text("a.json", r#"{"realm":"a"}"#).unwrap();
        assert!(one.is_empty());
        let list = lint_text("a.json", r#"[{"realm":"a","otpPolicyDigits":7}]"#).unwrap();
        assert!(list.iter().all(|f| f.pointer.as_str().starts_with("/0/")));
        let export = lint_text(
            "a.json",
            r#"{"realms":[{"realm":"a"},{"realm":"b","otpPolicyDigits":7}]}"#,
        )
        .unwrap();
        assert!(export
            .iter()
            .all(|f| f.pointer.as_str().starts_with("/realms/1/")));
        assert!(!export.is_empty());
    }

    #[test]
    fn not_a_realm_is_an_input_error() {
        let e = lint_text("a.json", r#"{"name":"a"}"#).unwrap_err();
        assert!(e.error.message.contains("not a realm"), "{e}");
        let e = lint_text("a.yaml", "realm: a\n---\n- 1\n").unwrap_err();
        assert_eq!(e.document, Some(1));
        assert!(e.to_string().contains("(document 2)"), "{e}");
    }

    #[test]
    fn format_detection() {
        assert_eq!(detect_format("x.JSON", ""), Format::Json);
        assert_eq!(detect_format("x.yml", "{}"), Format::Yaml);
        assert_eq!(detect_format("x", "  {"), Format::Json);
        assert_eq!(detect_format("x", "realm: a"), Format::Yaml);
    }

    #[test]
    fn exit_statuses() {
        let w = lint_text(
            "a.json",
            r#"{"realm":"a","otpPolicyType":"totp","otpPolicyAlgorithm":"HmacSHA1","otpPolicyDigits":6,"otpPolicyPeriod":30,"otpPolicyLookAheadWindow":1}"#,
        )
        .unwrap();
        assert!(!w.is_empty());
        assert!(w.iter().all(|f| f.severity() == Severity::Warning));
        assert_eq!(exit_status(&w, 0, false), 0);
        assert_eq!(exit_status(&w, 0, true), 1);
        assert_eq!(exit_status(&w, 1, false), 2);
        assert_eq!(exit_status(&[], 0, true), 0);
    }
}
