//! Findings as text for people, JSON for scripts, SARIF 2.1.0 for code scanning.

use serde_json::{json, Value};

use super::rules::{self, Severity};
use super::Finding;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
    Sarif,
}

pub fn render(format: OutputFormat, findings: &[Finding], files: usize) -> String {
    match format {
        OutputFormat::Human => human(findings, files),
        OutputFormat::Json => pretty(&json_report(findings, files)),
        OutputFormat::Sarif => pretty(&sarif(findings)),
    }
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn counts(findings: &[Finding]) -> (usize, usize) {
    let errors = findings
        .iter()
        .filter(|f| f.severity() == Severity::Error)
        .count();
    (errors, findings.len() - errors)
}

/// `file:line:col: severity[rule]: message (at /pointer)`, then a summary line.
pub fn human(findings: &[Finding], files: usize) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&f.file);
        if let Some(p) = f.pos {
            out.push_str(&format!(":{}:{}", p.line, p.column));
        }
        let doc = f
            .document
            .map(|d| format!(" document {}", d + 1))
            .unwrap_or_default();
        out.push_str(&format!(
            ": {}[{}]: {} (at{doc} {})\n",
            f.severity().as_str(),
            f.rule.id,
            f.message,
            f.pointer
        ));
    }
    let (errors, warnings) = counts(findings);
    out.push_str(&format!(
        "{errors} error(s), {warnings} warning(s) in {files} file(s)\n"
    ));
    out
}

pub fn json_report(findings: &[Finding], files: usize) -> Value {
    let (errors, warnings) = counts(findings);
    let items: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({
                "file": f.file,
                "document": f.document,
                "pointer": f.pointer.as_str(),
                "line": f.pos.map(|p| p.line),
                "column": f.pos.map(|p| p.column),
                "severity": f.severity().as_str(),
                "rule": f.rule.id,
                "message": f.message,
            })
        })
        .collect();
    json!({
        "findings": items,
        "summary": {"errors": errors, "warnings": warnings, "files": files},
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A relative path as a URI reference: forward slashes, reserved bytes escaped.
fn uri_of(path: &str) -> String {
    let mut out = String::new();
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn sarif(findings: &[Finding]) -> Value {
    let rules: Vec<Value> = rules::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id.replace(['/', '-'], "_"),
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.help},
                "help": {"text": r.help},
                "defaultConfiguration": {"level": level(r.severity)},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut physical = json!({"artifactLocation": {"uri": uri_of(&f.file)}});
            if let Some(p) = f.pos {
                physical["region"] = json!({"startLine": p.line, "startColumn": p.column});
            }
            let logical = match f.document {
                Some(d) => format!("document {}: {}", d + 1, f.pointer),
                None => f.pointer.to_string(),
            };
            json!({
                "ruleId": f.rule.id,
                "ruleIndex": rules::ALL.iter().position(|r| r.id == f.rule.id),
                "level": level(f.severity()),
                "message": {"text": f.message},
                "locations": [{
                    "physicalLocation": physical,
                    "logicalLocations": [{"fullyQualifiedName": logical, "kind": "member"}],
                }],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "otp-sidecar realm lint",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::lint_text;
    use super::*;

    fn sample() -> Vec<Finding> {
        lint_text(
            "dir/my realm.json",
            "{\"realm\":\"a\",\n \"otpPolicyAlgorithm\":\"SHA256\"}",
        )
        .unwrap()
    }

    #[test]
    fn human_lines() {
        let out = human(&sample(), 1);
        assert!(
            out.starts_with("dir/my realm.json:2:2: error[otp-policy/partial]: "),
            "{out}"
        );
        assert!(out.contains("error[otp-policy/algorithm]"), "{out}");
        assert!(
            out.ends_with("2 error(s), 0 warning(s) in 1 file(s)\n"),
            "{out}"
        );
    }

    #[test]
    fn sarif_shape() {
        let s = sarif(&sample());
        assert_eq!(s["version"], "2.1.0");
        let run = &s["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), rules::ALL.len());
        let r = &run["results"][1];
        assert_eq!(r["ruleId"], "otp-policy/algorithm");
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], "otp-policy/algorithm");
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "dir/my%20realm.json");
        assert_eq!(loc["region"]["startLine"], 2);
        assert_eq!(loc["region"]["startColumn"], 23);
    }
}
