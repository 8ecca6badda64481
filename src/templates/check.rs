//! The template check: parse every template and message file, render every
//! template with every sample in every locale in strict mode, and report each
//! problem with file, line and column.
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use handlebars::RenderErrorReason;

use super::files::{line_col, FileSet};
use super::helpers::{Collector, RenderIssue};
use super::locale::Locales;
use super::model::Page;
use super::samples::{self, SampleKind, SAMPLE_CODE, SAMPLE_CSRF};
use super::{brand, template_data, Branding, Engine, Problem};

/// The templates the sidecar renders; each must exist.
pub const REQUIRED: [&str; 7] = [
    "mail/code.subject",
    "mail/code.html",
    "mail/code.txt",
    "pages/code",
    "pages/redirect",
    "pages/error",
    "pages/finished",
];

/// Every problem of the built-ins merged with `override_dir`; empty means
/// the set is good to serve.
pub fn check(override_dir: Option<&Path>, branding: &Branding) -> Vec<Problem> {
    let (files, mut problems) = FileSet::load(override_dir);
    problems.extend(check_files(files, branding));
    problems
}

/// [`check`] on files already read (what [`super::Templates::load`] serves).
pub(crate) fn check_files(files: FileSet, branding: &Branding) -> Vec<Problem> {
    let mut problems = brand::validate(branding);
    let (locales, locale_problems) = Locales::load(&files);
    problems.extend(locale_problems);
    let collector: Collector = Arc::new(Mutex::new(Vec::new()));
    let (mut engine, parse_problems) =
        Engine::build(files, Arc::new(locales), Some(collector.clone()));
    let unparsable: BTreeSet<String> = parse_problems.iter().map(|p| p.file.clone()).collect();
    problems.extend(parse_problems);
    for name in REQUIRED {
        if engine.rel_of(name).is_none() {
            problems.push(Problem::file(
                format!("{name}.hbs"),
                "required template is missing",
            ));
        }
    }
    let tags: Vec<String> = engine.locales.tags().cloned().collect();
    let now = 1_790_000_000;
    let samples = samples::all(now);
    let mut given_up: BTreeSet<String> = BTreeSet::new();
    let mut patched = std::collections::BTreeMap::new();
    for locale in &tags {
        for sample in &samples {
            let (names, static_base, ctx): (Vec<&str>, Option<&str>, serde_json::Value) =
                match &sample.kind {
                    SampleKind::Mail(m) => (
                        vec!["mail/code.subject", "mail/code.html", "mail/code.txt"],
                        None,
                        serde_json::to_value(m).unwrap_or_default(),
                    ),
                    SampleKind::Page(page, p) => (
                        vec![page.template_name()],
                        Some("/otp/static"),
                        serde_json::to_value(p).unwrap_or_default(),
                    ),
                };
            let data = template_data(
                &engine.locales,
                branding,
                "brand.css",
                locale,
                static_base,
                now,
                &ctx,
            );
            for name in names {
                let Some(rel) = engine.rel_of(name).map(str::to_string) else {
                    continue;
                };
                let display = engine.files.display(&rel);
                if unparsable.contains(&display) || given_up.contains(name) {
                    continue;
                }
                if let Some(output) = render_collecting(
                    &mut engine,
                    name,
                    &data,
                    locale,
                    &mut problems,
                    &mut given_up,
                    &mut patched,
                ) {
                    problems.extend(content_problems(name, &sample.kind, &output, &display));
                    if name == "mail/code.html" {
                        if let Err(e) = super::inline_css(&output) {
                            problems.push(Problem::file(display, format!("inlining CSS: {e}")));
                        }
                    }
                }
            }
        }
    }
    let issues: Vec<RenderIssue> = collector
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default();
    for issue in issues {
        problems.push(issue_problem(&engine, issue));
    }
    let mut seen = BTreeSet::new();
    problems.retain(|p| seen.insert(p.clone()));
    problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    problems
}

/// Render `name`; on a strict-mode error, report it, blank the offending
/// expression and render again, so one run reports every missing variable.
fn render_collecting(
    engine: &mut Engine,
    name: &str,
    data: &serde_json::Value,
    locale: &str,
    problems: &mut Vec<Problem>,
    given_up: &mut BTreeSet<String>,
    patched: &mut std::collections::BTreeMap<String, String>,
) -> Option<String> {
    let data = handlebars::Context::from(data.clone());
    for _ in 0..100 {
        let err = match engine.render(name, &data) {
            Ok(out) => return Some(out),
            Err(e) => e,
        };
        let template = err
            .template_name
            .clone()
            .unwrap_or_else(|| name.to_string());
        let rel = engine
            .rel_of(&template)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{template}.hbs"));
        let display = engine.files.display(&rel);
        let message = match err.reason() {
            RenderErrorReason::MissingVariable(path) => format!(
                "variable `{}` does not exist (see templates/README.md for the data model)",
                path.clone().unwrap_or_default()
            ),
            RenderErrorReason::HelperNotFound(h) => format!("unknown helper `{h}`"),
            RenderErrorReason::PartialNotFound(p) => format!("partial `{p}` does not exist"),
            RenderErrorReason::TemplateNotFound(t) => format!("template `{t}` does not exist"),
            other => other.to_string(),
        };
        let locale_specific = matches!(err.reason(), RenderErrorReason::Other(_));
        problems.push(Problem {
            file: display,
            line: err.line_no,
            column: err.column_no,
            locale: locale_specific.then(|| locale.to_string()),
            message,
        });
        let blanked = match (err.line_no, err.column_no) {
            (Some(line), Some(col)) => engine
                .files
                .get(&rel)
                .map(|f| f.text().into_owned())
                .and_then(|src| {
                    let current = patched.get(&template).cloned().unwrap_or(src);
                    blank_expression(&current, line, col)
                }),
            _ => None,
        };
        match blanked {
            Some(src) => {
                let mut ok = true;
                for registry in [&mut engine.html, &mut engine.text] {
                    ok &= registry.register_template_string(&template, &src).is_ok();
                }
                if ok {
                    patched.insert(template.clone(), src);
                } else {
                    given_up.insert(name.to_string());
                    return None;
                }
            }
            None => {
                given_up.insert(name.to_string());
                return None;
            }
        }
    }
    given_up.insert(name.to_string());
    None
}

/// Replace the simple expression `{{...}}` starting at `line`:`col` with
/// spaces (keeping every other position). Block tags cannot be blanked
/// without breaking the structure: `None`.
pub(crate) fn blank_expression(src: &str, line: usize, col: usize) -> Option<String> {
    let line_start: usize = src
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let line_text = src.get(line_start..)?.split('\n').next()?;
    let offset_in_line: usize = line_text
        .char_indices()
        .nth(col.saturating_sub(1))
        .map(|(i, _)| i)?;
    let start = line_start + offset_in_line;
    let rest = src.get(start..)?;
    if !rest.starts_with("{{") {
        return None;
    }
    let inner = rest
        .trim_start_matches('{')
        .trim_start_matches('~')
        .trim_start();
    if inner.starts_with(['#', '/', '^', '>', '!', '*']) || inner.starts_with("else") {
        return None;
    }
    let end = start + rest.find("}}")? + 2;
    let end = if src.get(end..)?.starts_with('}') {
        end + 1
    } else {
        end
    };
    let mut out = String::with_capacity(src.len());
    out.push_str(src.get(..start)?);
    for c in src.get(start..end)?.chars() {
        out.push(if c == '\n' { '\n' } else { ' ' });
    }
    out.push_str(src.get(end..)?);
    Some(out)
}

/// What a rendered template must contain for the flow to work.
fn content_problems(name: &str, kind: &SampleKind, output: &str, display: &str) -> Vec<Problem> {
    let mut must: Vec<(String, &str)> = Vec::new();
    match (name, kind) {
        ("mail/code.html" | "mail/code.txt", _) => {
            must.push((SAMPLE_CODE.to_string(), "the code (`ctx.code`)"));
        }
        ("pages/code", SampleKind::Page(Page::Code, ctx)) => {
            must.push((SAMPLE_CSRF.to_string(), "the CSRF token (`ctx.csrf_token`)"));
            if ctx.expired {
                // A lapsed code: no code field, but a way to a new code.
                if let Some(a) = &ctx.resend_action {
                    must.push((
                        a.clone(),
                        "the resend form action (`ctx.resend_action`) when `ctx.expired`",
                    ));
                }
            } else {
                if let Some(a) = &ctx.verify_action {
                    must.push((a.clone(), "the verify form action (`ctx.verify_action`)"));
                }
                must.push(("name=\"code\"".into(), "the code field (`name=\"code\"`)"));
            }
        }
        ("pages/redirect", SampleKind::Page(Page::Redirect, ctx)) => {
            if let Some(a) = &ctx.redirect_action {
                must.push((
                    handlebars::html_escape(a),
                    "the form action (`ctx.redirect_action`)",
                ));
            }
            for f in &ctx.redirect_fields {
                must.push((f.value.clone(), "every field of `ctx.redirect_fields`"));
            }
        }
        _ => {}
    }
    must.into_iter()
        .filter(|(needle, _)| !output.contains(needle.as_str()))
        .map(|(_, what)| {
            Problem::file(
                display,
                format!("the rendered output does not contain {what}"),
            )
        })
        .collect()
}

/// Place a message issue at the first use of the message in its template.
fn issue_problem(engine: &Engine, issue: RenderIssue) -> Problem {
    let template = issue.template.unwrap_or_default();
    let rel = engine
        .rel_of(&template)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{template}.hbs"));
    let display = engine.files.display(&rel);
    let position = engine.files.get(&rel).and_then(|f| {
        let text = f.text();
        let quoted = format!("\"{}\"", issue.needle);
        text.find(&quoted)
            .or_else(|| text.find(&issue.needle))
            .map(|offset| line_col(&text, offset))
    });
    Problem {
        file: display,
        line: position.map(|p| p.0),
        column: position.map(|p| p.1),
        locale: Some(issue.issue.locale),
        message: issue.issue.message,
    }
}
