//! `otp-sidecar realm lint`, run as a user runs it: the real binary over the
//! fixtures in tests/fixtures/lint/, checking findings, formats and exit codes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint")
}

/// Runs `otp-sidecar realm lint ARGS` in `dir`, bounded in time.
fn lint_in(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otp-sidecar"))
        .arg("realm")
        .arg("lint")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("realm lint {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn lint(args: &[&str]) -> Output {
    lint_in(&fixtures(), args)
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

/// (rule, pointer, line, YAML document) of each finding.
type Found = BTreeSet<(String, String, u64, Option<u64>)>;

fn json_findings(file: &str) -> (i32, Found) {
    let out = lint(&["--format", "json", file]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{file}: stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let found = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["file"], file);
            (
                f["rule"].as_str().unwrap().to_string(),
                f["pointer"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["document"].as_u64(),
            )
        })
        .collect();
    (code(&out), found)
}

/// (fixture, exit code, [(rule, pointer, line, YAML document)]): exactly these, nothing else.
#[allow(clippy::type_complexity)]
const EXPECTED: &[(&str, i32, &[(&str, &str, u64, Option<u64>)])] = &[
    ("clean.json", 0, &[]),
    ("clean.yaml", 0, &[]),
    ("clean-conditional.json", 0, &[]),
    ("realm-list.json", 0, &[]),
    (
        "export-realms.json",
        1,
        &[("otp-policy/digits", "/realms/1/otpPolicyDigits", 111, None)],
    ),
    (
        "otp-policy-partial.json",
        1,
        &[("otp-policy/partial", "/otpPolicyAlgorithm", 8, None)],
    ),
    (
        "yaml-partial.yaml",
        1,
        &[("otp-policy/partial", "/otpPolicyAlgorithm", 4, None)],
    ),
    (
        "otp-policy-incomplete.json",
        1,
        &[("otp-policy/incomplete", "/otpPolicyType", 8, None)],
    ),
    (
        "otp-policy-incomplete-hotp.json",
        1,
        &[("otp-policy/incomplete", "/otpPolicyType", 8, None)],
    ),
    (
        "otp-policy-type.json",
        1,
        &[("otp-policy/type", "/otpPolicyType", 8, None)],
    ),
    (
        "otp-policy-wrong-type.json",
        1,
        &[("otp-policy/wrong-type", "/otpPolicyDigits", 11, None)],
    ),
    (
        "otp-policy-algorithm.json",
        1,
        &[("otp-policy/algorithm", "/otpPolicyAlgorithm", 9, None)],
    ),
    (
        "yaml-multi-document.yaml",
        1,
        &[("otp-policy/algorithm", "/otpPolicyAlgorithm", 6, Some(1))],
    ),
    (
        "otp-policy-sha1.json",
        0,
        &[("otp-policy/sha1", "/otpPolicyAlgorithm", 9, None)],
    ),
    (
        "otp-policy-digits.json",
        1,
        &[("otp-policy/digits", "/otpPolicyDigits", 11, None)],
    ),
    (
        "otp-policy-period.json",
        1,
        &[("otp-policy/period", "/otpPolicyPeriod", 13, None)],
    ),
    (
        "otp-policy-look-ahead.json",
        1,
        &[(
            "otp-policy/look-ahead",
            "/otpPolicyLookAheadWindow",
            12,
            None,
        )],
    ),
    (
        "otp-policy-period-with-hotp.json",
        0,
        &[("otp-policy/period-with-hotp", "/otpPolicyPeriod", 13, None)],
    ),
    (
        "otp-policy-counter-with-totp.json",
        0,
        &[(
            "otp-policy/counter-with-totp",
            "/otpPolicyInitialCounter",
            10,
            None,
        )],
    ),
    (
        "otp-policy-unknown-key.json",
        1,
        &[(
            "otp-policy/unknown-key",
            "/otpPolicyCodeReuseable",
            15,
            None,
        )],
    ),
    (
        "otp-policy-code-reusable.json",
        0,
        &[(
            "otp-policy/code-reusable",
            "/otpPolicyCodeReusable",
            14,
            None,
        )],
    ),
    (
        "flow-unknown-flow.json",
        1,
        &[(
            "flow/unknown-flow",
            "/clients/0/authenticationFlowBindingOverrides/browser",
            25,
            None,
        )],
    ),
    (
        "otp-sidecar-not-bound.json",
        1,
        &[(
            "otp-sidecar/not-bound",
            "/authenticationFlows/2/authenticationExecutions/1/authenticator",
            99,
            None,
        )],
    ),
    (
        "otp-sidecar-unbound-flow.json",
        0,
        &[(
            "otp-sidecar/unbound-flow",
            "/authenticationFlows/2/authenticationExecutions/1/authenticator",
            100,
            None,
        )],
    ),
    (
        "otp-sidecar-requirement.json",
        1,
        &[(
            "otp-sidecar/requirement",
            "/authenticationFlows/1/authenticationExecutions/1/requirement",
            77,
            None,
        )],
    ),
    (
        "otp-sidecar-requirement-conditional.json",
        1,
        &[(
            "otp-sidecar/requirement",
            "/authenticationFlows/1/authenticationExecutions/1/requirement",
            77,
            None,
        )],
    ),
    (
        "otp-sidecar-bypass.json",
        0,
        &[(
            "otp-sidecar/bypass",
            "/authenticationFlows/0/authenticationExecutions/1/authenticator",
            44,
            None,
        )],
    ),
    (
        "otp-sidecar-user-not-identified.json",
        1,
        &[(
            "otp-sidecar/user-not-identified",
            "/authenticationFlows/1/authenticationExecutions/0/authenticator",
            68,
            None,
        )],
    ),
    (
        "otp-sidecar-config-missing.json",
        1,
        &[(
            "otp-sidecar/config-missing",
            "/authenticationFlows/1/authenticationExecutions/1/authenticator",
            75,
            None,
        )],
    ),
    (
        "otp-sidecar-config-incomplete.json",
        1,
        &[(
            "otp-sidecar/config-incomplete",
            "/authenticatorConfig/0/config",
            89,
            None,
        )],
    ),
    (
        "otp-sidecar-config-unknown-key.json",
        1,
        &[(
            "otp-sidecar/config-unknown-key",
            "/authenticatorConfig/0/config/otp.max.attempt",
            100,
            None,
        )],
    ),
    (
        "otp-sidecar-config-invalid.json",
        1,
        &[
            (
                "otp-sidecar/config-invalid",
                "/authenticatorConfig/0/config/otp.sidecar.public.url",
                90,
                None,
            ),
            (
                "otp-sidecar/config-invalid",
                "/authenticatorConfig/0/config/otp.code.length",
                94,
                None,
            ),
        ],
    ),
    (
        "yaml-config-invalid.yaml",
        1,
        &[(
            "otp-sidecar/config-invalid",
            "/authenticatorConfig/0/config/otp.ttl",
            20,
            None,
        )],
    ),
    (
        "otp-sidecar-brute-force.json",
        0,
        &[("otp-sidecar/brute-force", "/bruteForceProtected", 6, None)],
    ),
];

#[test]
fn each_fixture_yields_exactly_its_findings() {
    let mut failures = Vec::new();
    for (file, want_code, want) in EXPECTED {
        let (got_code, got) = json_findings(file);
        let want: BTreeSet<_> = want
            .iter()
            .map(|(r, p, l, d)| (r.to_string(), p.to_string(), *l, *d))
            .collect();
        if got != want || got_code != *want_code {
            failures.push(format!(
                "{file}: exit {got_code} (want {want_code})\n  got  {got:?}\n  want {want:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_a_fixture_and_every_fixture_is_checked() {
    let out = lint(&["--format", "sarif", "clean.json"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: BTreeSet<String> = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let covered: BTreeSet<String> = EXPECTED
        .iter()
        .flat_map(|(_, _, w)| w.iter().map(|(r, ..)| r.to_string()))
        .collect();
    assert_eq!(
        rules, covered,
        "rules without a fixture, or fixtures of unknown rules"
    );

    let listed: BTreeSet<&str> = EXPECTED.iter().map(|(f, ..)| *f).collect();
    let unreadable = [
        "broken-syntax.json",
        "broken-syntax.yaml",
        "not-a-realm.json",
    ];
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            listed.contains(name.as_str()) || unreadable.contains(&name.as_str()),
            "fixture {name} has no expectation"
        );
    }
}

#[test]
fn human_output_names_file_line_column_severity_and_rule() {
    let out = lint(&["otp-policy-algorithm.json", "otp-policy-sha1.json"]);
    assert_eq!(code(&out), 1);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "otp-policy-algorithm.json:9:25: error[otp-policy/algorithm]: otpPolicyAlgorithm \"SHA256\" is not a Keycloak OTP algorithm; did you mean \"HmacSHA256\"? (at /otpPolicyAlgorithm)",
            "otp-policy-sha1.json:9:25: warning[otp-policy/sha1]: otpPolicyAlgorithm HmacSHA1 is deprecated; prefer HmacSHA256 for new enrolments (at /otpPolicyAlgorithm)",
            "1 error(s), 1 warning(s) in 2 file(s)",
        ]
    );
}

#[test]
fn partial_policy_message_names_the_ignored_fields() {
    let out = lint(&["otp-policy-partial.json"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "when the realm is created, Keycloak ignores otpPolicyAlgorithm, otpPolicyDigits;"
        ) && text.contains("keycloak-config-cli (6.2 and later) still writes otpPolicyAlgorithm"),
        "{text}"
    );
}

#[test]
fn exit_codes_and_strict() {
    assert_eq!(code(&lint(&["clean.json", "clean.yaml"])), 0);
    assert_eq!(code(&lint(&["--strict", "clean.json", "clean.yaml"])), 0);
    assert_eq!(code(&lint(&["otp-policy-sha1.json"])), 0);
    assert_eq!(code(&lint(&["--strict", "otp-policy-sha1.json"])), 1);
    assert_eq!(code(&lint(&["otp-policy-digits.json"])), 1);
    // An unreadable file wins over findings in the others.
    assert_eq!(
        code(&lint(&["otp-policy-digits.json", "broken-syntax.json"])),
        2
    );
}

#[test]
fn unreadable_input_exits_2_with_file_and_location() {
    let out = lint(&["broken-syntax.json"]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("broken-syntax.json:4:1: cannot lint: "),
        "{err}"
    );

    let out = lint(&["broken-syntax.yaml"]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("broken-syntax.yaml:3:1: cannot lint: "),
        "{err}"
    );

    let out = lint(&["not-a-realm.json"]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("not a realm"), "{err}");

    let out = lint(&["no-such-file.json"]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("no-such-file.json: cannot lint: cannot read the file"),
        "{err}"
    );
}

#[test]
fn sarif_report_is_code_scanning_shaped() {
    let out = lint(&[
        "--format",
        "sarif",
        "otp-sidecar-config-invalid.json",
        "yaml-multi-document.yaml",
    ]);
    assert_eq!(code(&out), 1);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        assert_eq!(r["level"], rules[idx]["defaultConfiguration"]["level"]);
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() > 0);
        assert!(region["startColumn"].as_u64().unwrap() > 0);
    }
    let last = &results[2];
    assert_eq!(
        last["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "yaml-multi-document.yaml"
    );
    assert_eq!(
        last["locations"][0]["physicalLocation"]["region"]["startLine"],
        6
    );
    assert_eq!(
        last["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "document 2: /otpPolicyAlgorithm"
    );
}

#[test]
fn json_report_summary() {
    let out = lint(&[
        "--format",
        "json",
        "otp-policy-sha1.json",
        "otp-policy-digits.json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["errors"], 1);
    assert_eq!(report["summary"]["warnings"], 1);
    assert_eq!(report["summary"]["files"], 2);
    let f = &report["findings"][1];
    assert_eq!(f["severity"], "error");
    assert_eq!(f["column"], 22);
    assert!(f["message"].as_str().unwrap().contains("is 7"));
}

/// The realm files shipped with the Keycloak authenticator must pass.
#[test]
fn shipped_realm_files_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("keycloak-flow/realm");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("json" | "yaml" | "yml")
            )
        })
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no realm file", dir.display());
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let out = lint_in(root, &args);
    assert_eq!(
        code(&out),
        0,
        "shipped realm files fail the linter:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
