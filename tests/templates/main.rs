//! Templates as a designer and the service see them: the check on the
//! built-ins and on broken overrides, rendering in every locale, the locale
//! fallback chain, and overriding single files.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use otp_sidecar::templates::check::check;
use otp_sidecar::templates::samples::{self, SampleKind, SAMPLE_CODE};
use otp_sidecar::templates::{
    AppInfo, Branding, MailContext, Page, PageContext, Problem, TemplateError, Templates,
};

const SHIPPED: [&str; 12] = [
    "cs", "de", "en", "es", "fr", "it", "ja", "nl", "pl", "pt-BR", "sv", "zh-CN",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/templates")
        .join(name)
}

/// A fresh, empty directory under the system temp dir.
fn temp_dir(label: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "otp-sidecar-templates-{label}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn builtin(rel: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("templates")
            .join(rel),
    )
    .unwrap()
}

fn mail_ctx() -> MailContext {
    MailContext {
        code: "730164".into(),
        app: AppInfo {
            client_id: "wiki".into(),
            name: "Team Wiki & Docs".into(),
        },
        name: Some("Ana <Admin>".into()),
        email: "ana@example.com".into(),
        expires_at: 1_790_000_000,
        expires_in_minutes: 5,
        resent: false,
    }
}

fn report(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one problem in `problems` whose file ends with `file`, at `line`.
fn find<'a>(problems: &'a [Problem], file: &str, line: usize, needle: &str) -> &'a Problem {
    problems
        .iter()
        .find(|p| p.file.ends_with(file) && p.line == Some(line) && p.message.contains(needle))
        .unwrap_or_else(|| {
            panic!(
                "no problem `{needle}` at {file}:{line} in:\n{}",
                report(problems)
            )
        })
}

#[test]
fn builtins_pass_the_check() {
    let problems = check(None, &Branding::default());
    assert!(problems.is_empty(), "{}", report(&problems));
}

#[test]
fn check_reports_a_syntax_error_with_its_line() {
    let problems = check(Some(&fixture("syntax-error")), &Branding::default());
    let p = find(
        &problems,
        "syntax-error/pages/error.hbs",
        5,
        "Handlebars syntax",
    );
    assert_eq!(p.column, Some(1));
    assert!(p.message.contains("\"if\" was opened"), "{p}");
}

#[test]
fn check_reports_every_missing_variable_with_line_and_column() {
    let problems = check(Some(&fixture("missing-variable")), &Branding::default());
    let first = find(
        &problems,
        "missing-variable/mail/code.txt.hbs",
        5,
        "`ctx.app.display_name` does not exist",
    );
    assert_eq!(first.column, Some(1));
    let second = find(
        &problems,
        "missing-variable/mail/code.txt.hbs",
        6,
        "`ctx.emial` does not exist",
    );
    assert_eq!(second.column, Some(9));
    assert_eq!(problems.len(), 2, "{}", report(&problems));
}

#[test]
fn check_reports_an_unknown_helper() {
    let problems = check(Some(&fixture("unknown-helper")), &Branding::default());
    let p = find(
        &problems,
        "unknown-helper/mail/code.subject.hbs",
        2,
        "unknown helper `uppercase`",
    );
    assert_eq!(p.column, Some(1));
}

#[test]
fn check_reports_a_message_missing_in_one_locale_where_it_is_used() {
    let problems = check(Some(&fixture("missing-message")), &Branding::default());
    let used = find(
        &problems,
        "missing-message/mail/code.txt.hbs",
        16,
        "`custom-help` is missing in locale es",
    );
    assert_eq!(used.locale.as_deref(), Some("es"));
    assert_eq!(used.column, Some(5));
    assert!(
        problems.iter().any(
            |p| p.file.contains("locales/es") && p.message.contains("`custom-help` is missing")
        ),
        "{}",
        report(&problems)
    );
    // The other locales have the message: nothing reported for them.
    assert!(
        !problems
            .iter()
            .any(|p| matches!(p.locale.as_deref(), Some("de" | "fr" | "en"))),
        "{}",
        report(&problems)
    );
}

#[test]
fn a_problem_in_a_partial_is_reported_in_the_partial() {
    let dir = temp_dir("partial");
    let layout = builtin("partials/page-layout.hbs").replace(
        "<span class=\"brand-name\">{{branding.product_name}}</span>",
        "<span class=\"brand-name\">{{brandng.product_name}}</span>",
    );
    let line = layout.lines().position(|l| l.contains("brandng")).unwrap() + 1;
    write(&dir, "partials/page-layout.hbs", &layout);
    let problems = check(Some(&dir), &Branding::default());
    find(
        &problems,
        "partials/page-layout.hbs",
        line,
        "`brandng.product_name` does not exist",
    );
}

#[test]
fn a_broken_override_refuses_to_load_with_the_whole_report() {
    let errors = match Templates::load(Some(&fixture("missing-variable")), Branding::default()) {
        Ok(_) => panic!("a broken override loaded"),
        Err(e) => e,
    };
    assert_eq!(errors.len(), 2);
    let text: Vec<String> = errors.iter().map(TemplateError::to_string).collect();
    assert!(text[0].contains("code.txt.hbs:5:1"), "{text:?}");
    assert!(text[1].contains("code.txt.hbs:6:9"), "{text:?}");
}

#[test]
fn a_missing_override_directory_is_an_error() {
    let problems = check(
        Some(Path::new("/nonexistent/otp-templates")),
        &Branding::default(),
    );
    assert!(
        problems[0].message.contains("does not exist"),
        "{}",
        report(&problems)
    );
}

#[test]
fn invalid_branding_is_reported() {
    // The colour is an `Rgb`, refused by configuration already; the rest is checked here.
    let branding = Branding {
        logo_url: Some("javascript:alert(1)".into()),
        ..Branding::default()
    };
    let problems = check(None, &branding);
    assert!(
        problems
            .iter()
            .any(|p| p.file.contains("logo_url") && p.message.contains("https://")),
        "{}",
        report(&problems)
    );
}

#[test]
fn the_twelve_locales_ship() {
    let t = Templates::load(None, Branding::default()).unwrap();
    assert_eq!(t.locales(), SHIPPED);
}

#[test]
fn every_mail_renders_in_every_locale_with_the_code_and_lang() {
    let t = Templates::load(None, Branding::default()).unwrap();
    let mut subjects = std::collections::BTreeSet::new();
    for locale in SHIPPED {
        let mail = t.render_mail(locale, &mail_ctx()).unwrap();
        assert!(
            mail.html.contains(&format!("<html lang=\"{locale}\"")),
            "{locale}"
        );
        assert!(
            mail.html.contains("730164"),
            "{locale}: html lacks the code"
        );
        assert!(
            mail.text.contains("730164"),
            "{locale}: text lacks the code"
        );
        assert!(!mail.subject.is_empty() && !mail.subject.contains('\n'));
        // The code is text, never a link.
        assert!(!mail.html.contains("href"), "{locale}: mail has a link");
        // The app's display name, escaped in HTML and verbatim in text.
        assert!(mail.html.contains("Team Wiki &amp; Docs"), "{locale}");
        assert!(mail.text.contains("Team Wiki & Docs"), "{locale}");
        assert!(mail.html.contains("Ana &lt;Admin&gt;"), "{locale}");
        assert!(!mail.html.contains("<Admin>"), "{locale}: name not escaped");
        // CSS inlined for Gmail/Outlook; dark mode kept in the style block.
        assert!(
            mail.html.contains("class=\"code\" style=\"") && mail.html.contains("monospace"),
            "{locale}: code style not inlined"
        );
        assert!(mail.html.contains("prefers-color-scheme: dark"), "{locale}");
        assert!(mail.html.contains("name=\"color-scheme\""), "{locale}");
        for out in [&mail.html, &mail.text, &mail.subject] {
            assert!(!out.contains("[mail-"), "{locale}: unresolved message");
        }
        subjects.insert(mail.subject);
    }
    assert_eq!(
        subjects.len(),
        SHIPPED.len(),
        "every locale has its own subject"
    );
}

#[test]
fn expiry_time_is_written_the_readers_way() {
    // 1790000000 = 2026-09-21 14:13:20 UTC
    let t = Templates::load(None, Branding::default()).unwrap();
    let expect = [
        ("en", "2:13 PM UTC"),
        ("de", "14:13 Uhr"),
        ("fr", "14:13"),
        ("es", "a las 14:13"),
    ];
    for (locale, time) in expect {
        let mail = t.render_mail(locale, &mail_ctx()).unwrap();
        assert!(mail.text.contains(time), "{locale}: {}", mail.text);
    }
    let one_am = MailContext {
        expires_at: 1_790_000_000 - 13 * 3600,
        ..mail_ctx()
    };
    let es = t.render_mail("es", &one_am).unwrap();
    assert!(es.text.contains("a la 1:13"), "{}", es.text);
}

#[test]
fn plurals_follow_each_language() {
    let t = Templates::load(None, Branding::default()).unwrap();
    let page = |locale: &str, attempts: u32| {
        let ctx = PageContext {
            notice: Some("invalid_code".into()),
            attempts_left: Some(attempts),
            ..code_page()
        };
        t.render_page(Page::Code, locale, &ctx).unwrap()
    };
    assert!(page("en", 1).contains("1 attempt left."));
    assert!(page("en", 3).contains("3 attempts left."));
    assert!(page("de", 1).contains("noch 1 Versuch."));
    assert!(page("de", 2).contains("noch 2 Versuche."));
    assert!(page("fr", 1).contains("1 tentative."));
    assert!(page("fr", 4).contains("4 tentatives."));
    assert!(page("es", 1).contains("Le queda 1 intento."));
    assert!(page("es", 2).contains("Le quedan 2 intentos."));
    // CLDR: Polish and Czech have a "few" form (2-4, 22-24 ...) apart from "many"/"other".
    assert!(page("pl", 1).contains("Została Ci 1 próba."));
    assert!(page("pl", 3).contains("Zostały Ci 3 próby."));
    assert!(page("pl", 5).contains("Zostało Ci 5 prób."));
    assert!(page("pl", 12).contains("Zostało Ci 12 prób."));
    assert!(page("pl", 22).contains("Zostały Ci 22 próby."));
    assert!(page("cs", 1).contains("Zbývá vám 1 pokus."));
    assert!(page("cs", 4).contains("Zbývají vám 4 pokusy."));
    assert!(page("cs", 5).contains("Zbývá vám 5 pokusů."));
    assert!(page("pt-BR", 1).contains("mais 1 tentativa."));
    assert!(page("pt-BR", 2).contains("mais 2 tentativas."));
    // No plural in Japanese and Chinese; the exact [0] still wins.
    assert!(page("ja", 3).contains("残り 3 回試せます。"));
    assert!(page("zh-CN", 0).contains("您已没有剩余尝试次数。"));
}

/// ` onclick=`-style attributes, which the pages' CSP would block.
fn has_inline_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(i, _)| {
        let rest = &html[i + 3..];
        let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    })
}

fn code_page() -> PageContext {
    samples::all(1_790_000_000)
        .into_iter()
        .find_map(|s| match s.kind {
            SampleKind::Page(Page::Code, ctx) => Some(ctx),
            _ => None,
        })
        .unwrap()
}

#[test]
fn every_page_sample_renders_in_every_locale() {
    let t = Templates::load(None, Branding::default()).unwrap();
    let samples = samples::all(1_790_000_000);
    for locale in SHIPPED {
        for sample in &samples {
            match &sample.kind {
                SampleKind::Page(page, ctx) => {
                    let html = t.render_page(*page, locale, ctx).unwrap();
                    assert!(
                        html.contains(&format!("<html lang=\"{locale}\"")),
                        "{locale} {}",
                        sample.id
                    );
                    // CSP on pages: no inline style or script, no handlers.
                    assert!(!html.contains("style="), "{}: inline style", sample.id);
                    assert!(!html.contains("<style"), "{}: style block", sample.id);
                    assert!(!has_inline_handler(&html), "{}: inline handler", sample.id);
                    assert!(
                        !html.contains("<script>") && html.contains("/static/otp.js"),
                        "{}",
                        sample.id
                    );
                }
                SampleKind::Mail(m) => {
                    let mail = t.render_mail(locale, m).unwrap();
                    assert!(mail.html.contains(SAMPLE_CODE));
                }
            }
        }
    }
}

#[test]
fn code_page_has_an_accessible_one_time_code_field() {
    let t = Templates::load(None, Branding::default()).unwrap();
    let ctx = PageContext {
        static_base: Some("/otp/static/".into()),
        ..code_page()
    };
    let html = t.render_page(Page::Code, "en", &ctx).unwrap();
    for needle in [
        "<label for=\"code\">",
        "id=\"code\" name=\"code\"",
        "autocomplete=\"one-time-code\"",
        "inputmode=\"numeric\"",
        "pattern=\"[0-9]*\"",
        "maxlength=\"6\"",
        "name=\"csrf_token\" value=\"sample-csrf-token\"",
        "action=\"/otp/challenge/verify\"",
        "action=\"/otp/challenge/resend\"",
        "action=\"/otp/challenge/cancel\"",
        "href=\"/otp/static/page.css\"",
        "href=\"/otp/static/brand.css\"",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
}

#[test]
fn redirect_page_posts_every_field_and_works_without_script() {
    let t = Templates::load(None, Branding::default()).unwrap();
    let ctx = PageContext {
        redirect_action: Some(
            "https://id.example.com/realms/acme/login-actions/authenticate?a=1&b=2".into(),
        ),
        redirect_fields: vec![otp_sidecar::templates::FormField {
            name: "assertion".into(),
            value: "x.y\"z".into(),
        }],
        ..PageContext::default()
    };
    let html = t.render_page(Page::Redirect, "fr", &ctx).unwrap();
    assert!(html.contains("method=\"post\""));
    assert!(
        html.contains("authenticate?a&#x3D;1&amp;b&#x3D;2") || html.contains("a=1&amp;b=2"),
        "{html}"
    );
    assert!(
        html.contains("name=\"assertion\" value=\"x.y&quot;z\""),
        "{html}"
    );
    assert!(html.contains("<noscript>"));
    assert!(html.contains("<button type=\"submit\""));
}

#[test]
fn error_page_explains_each_reason() {
    let t = Templates::load(None, Branding::default()).unwrap();
    let mut titles = std::collections::BTreeSet::new();
    for reason in samples::ERROR_REASONS {
        let ctx = PageContext {
            error: Some(reason.into()),
            ..PageContext::default()
        };
        let html = t.render_page(Page::Error, "de", &ctx).unwrap();
        let h1 = html
            .split("<h1>")
            .nth(1)
            .unwrap()
            .split("</h1>")
            .next()
            .unwrap();
        titles.insert(h1.to_string());
    }
    assert_eq!(titles.len(), samples::ERROR_REASONS.len(), "{titles:?}");
}

#[test]
fn locale_falls_back_from_region_to_language_to_english() {
    let t = Templates::load(None, Branding::default()).unwrap();
    for (requested, expected) in [
        ("de-AT", "de"),
        ("de_CH", "de"),
        ("DE", "de"),
        ("fr-CA", "fr"),
        ("es-419", "es"),
        ("en-GB", "en"),
        ("pt-BR", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("pt", "pt-BR"),
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-Hans-SG", "zh-CN"),
        ("zh-TW", "en"),
        ("zh-Hant", "en"),
        ("ja-JP", "ja"),
        ("sr", "en"),
        ("", "en"),
        ("not a tag!", "en"),
    ] {
        assert_eq!(t.resolve_locale(requested), expected, "{requested}");
    }
    let mail = t.render_mail("de-AT", &mail_ctx()).unwrap();
    assert!(mail.html.contains("<html lang=\"de\""));
    assert!(
        mail.subject.starts_with("Ihr Anmeldecode"),
        "{}",
        mail.subject
    );
}

#[test]
fn a_regional_locale_in_an_override_takes_the_rest_from_its_language() {
    let dir = temp_dir("regional");
    write(
        &dir,
        "locales/de-AT/main.ftl",
        "mail-greeting = Grüß Gott,\n",
    );
    let t = Templates::load(Some(&dir), Branding::default()).unwrap();
    assert_eq!(t.resolve_locale("de-AT"), "de-AT");
    let ctx = MailContext {
        name: None,
        ..mail_ctx()
    };
    let mail = t.render_mail("de-AT", &ctx).unwrap();
    assert!(mail.text.starts_with("Grüß Gott,"), "{}", mail.text);
    assert!(
        mail.subject.starts_with("Ihr Anmeldecode"),
        "{}",
        mail.subject
    );
    assert!(mail.html.contains("<html lang=\"de-AT\""));
    assert_eq!(t.resolve_locale("de"), "de");
}

#[test]
fn overriding_one_template_keeps_the_other_built_ins() {
    let dir = temp_dir("one-file");
    let error = builtin("pages/error.hbs").replace("<h1>", "<h1 class=\"custom-marker\">");
    write(&dir, "pages/error.hbs", &error);
    let t = Templates::load(Some(&dir), Branding::default()).unwrap();
    let ctx = PageContext {
        error: Some("expired".into()),
        ..PageContext::default()
    };
    assert!(t
        .render_page(Page::Error, "en", &ctx)
        .unwrap()
        .contains("custom-marker"));
    let code = t.render_page(Page::Code, "en", &code_page()).unwrap();
    assert!(!code.contains("custom-marker"));
    assert!(code.contains("autocomplete=\"one-time-code\""));
}

#[test]
fn overriding_one_message_keeps_the_other_messages() {
    let dir = temp_dir("one-message");
    write(
        &dir,
        "locales/de/overrides.ftl",
        "mail-subject = Ihr Code für { $app }\n",
    );
    let t = Templates::load(Some(&dir), Branding::default()).unwrap();
    let mail = t.render_mail("de", &mail_ctx()).unwrap();
    assert_eq!(mail.subject, "Ihr Code für Team Wiki & Docs");
    assert!(
        mail.text.contains("Guten Tag, Ana <Admin>,"),
        "{}",
        mail.text
    );
}

#[test]
fn an_override_changes_the_mail_colours_in_one_file() {
    let dir = temp_dir("colours");
    let style = builtin("partials/mail-style.hbs").replace("#eef1f6", "#ffe9a8");
    write(&dir, "partials/mail-style.hbs", &style);
    let t = Templates::load(Some(&dir), Branding::default()).unwrap();
    let mail = t.render_mail("en", &mail_ctx()).unwrap();
    assert!(mail.html.contains("background-color: #ffe9a8"));
}

#[test]
fn unexpected_files_in_an_override_are_reported() {
    let dir = temp_dir("stray");
    write(&dir, "pages/code.html", "<p>wrong extension</p>");
    write(&dir, "README.md", "notes are fine");
    let problems = check(Some(&dir), &Branding::default());
    assert_eq!(problems.len(), 1, "{}", report(&problems));
    assert!(problems[0].file.ends_with("pages/code.html"));
}

#[test]
fn static_assets_come_from_the_override_or_the_built_ins() {
    let dir = temp_dir("static");
    write(&dir, "static/page.css", "body { color: rebeccapurple; }");
    write(
        &dir,
        "static/logo.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    );
    let branding = Branding {
        primary_color: otp_sidecar::templates::brand::Rgb(0xff, 0xcc, 0x00),
        ..Branding::default()
    };
    let t = Templates::load(Some(&dir), branding).unwrap();
    let (ct, css) = t.static_asset("page.css").unwrap();
    assert_eq!(ct, "text/css; charset=utf-8");
    assert_eq!(css, b"body { color: rebeccapurple; }");
    let (ct, js) = t.static_asset("otp.js").unwrap();
    assert!(ct.starts_with("text/javascript"));
    assert!(String::from_utf8(js).unwrap().contains("data-auto-submit"));
    assert_eq!(t.static_asset("logo.svg").unwrap().0, "image/svg+xml");
    let (_, brand) = t.static_asset("brand.css").unwrap();
    let brand = String::from_utf8(brand).unwrap();
    assert!(brand.contains("--brand: #ffcc00;"), "{brand}");
    // Yellow needs dark text on it, and a darker shade as text on white.
    assert!(brand.contains("--on-brand: #000000;"), "{brand}");
    for name in ["../Cargo.toml", "", ".hidden", "a/b.css", "missing.css"] {
        assert!(t.static_asset(name).is_none(), "{name}");
    }
}

mod command {
    //! The `otp-sidecar templates ...` commands, run as a designer runs them.
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use super::{builtin, fixture, temp_dir, write};

    const BIN: &str = env!("CARGO_BIN_EXE_otp-sidecar");

    #[test]
    fn check_passes_on_the_built_ins() {
        let out = Command::new(BIN)
            .args(["templates", "check"])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("templates ok"));
    }

    #[test]
    fn check_fails_with_file_and_line_on_a_broken_override() {
        let out = Command::new(BIN)
            .args(["templates", "check"])
            .arg(fixture("missing-variable"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("missing-variable/mail/code.txt.hbs:6:9: variable `ctx.emial`"),
            "{stdout}"
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("2 problems"));
    }

    #[test]
    fn render_writes_every_sample_in_every_locale() {
        let out_dir = temp_dir("render");
        let out = Command::new(BIN)
            .args(["templates", "render", "--out"])
            .arg(&out_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for locale in super::SHIPPED {
            let mail = std::fs::read_to_string(out_dir.join(locale).join("mail-code.txt")).unwrap();
            assert!(mail.contains(otp_sidecar::templates::samples::SAMPLE_CODE));
            assert!(out_dir.join(locale).join("error-locked.html").is_file());
        }
        assert!(out_dir.join("static/brand.css").is_file());
    }

    /// Kills the preview when the test ends, however it ends.
    struct Preview(Child, String);

    impl Drop for Preview {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn start_preview(dir: &std::path::Path) -> Preview {
        let mut child = Command::new(BIN)
            .args(["templates", "preview"])
            .arg(dir)
            .args(["--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("preview: http://")
            .and_then(|s| s.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Preview(child, addr)
    }

    fn get(addr: &str, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    #[test]
    fn preview_reloads_when_a_file_changes() {
        let dir = temp_dir("preview");
        write(
            &dir,
            "partials/mail-style.hbs",
            &builtin("partials/mail-style.hbs"),
        );
        let preview = start_preview(&dir);
        let addr = preview.1.clone();
        let (status, gallery) = get(&addr, "/?locale=fr");
        assert_eq!(status, 200);
        assert!(gallery.contains("Votre code de connexion pour Acme Payroll"));
        let (_, before) = get(&addr, "/__version");
        let (_, mail) = get(&addr, "/view/de/mail-code.html");
        assert!(mail.contains("#eef1f6") && !mail.contains("#ffe9a8"));

        let style = builtin("partials/mail-style.hbs").replace("#eef1f6", "#ffe9a8");
        write(&dir, "partials/mail-style.hbs", &style);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (_, now) = get(&addr, "/__version");
            if now != before {
                break;
            }
            assert!(Instant::now() < deadline, "no reload after the change");
            std::thread::sleep(Duration::from_millis(100));
        }
        let (_, mail) = get(&addr, "/view/de/mail-code.html");
        assert!(mail.contains("#ffe9a8"), "change not shown");

        // A mistake shows the problem list instead of the gallery.
        write(
            &dir,
            "partials/mail-style.hbs",
            "<style>{{palete.primary}}</style>",
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (_, page) = get(&addr, "/");
            if page.contains("palete.primary") {
                assert!(page.contains("mail-style.hbs:1:8"), "{page}");
                break;
            }
            assert!(Instant::now() < deadline, "problem not shown");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    #[test]
    fn preview_serves_pages_with_the_production_csp_and_refuses_other_interfaces() {
        let dir = temp_dir("preview-csp");
        let preview = start_preview(&dir);
        let mut stream = TcpStream::connect(&preview.1).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(stream, "GET /view/en/code-sent.html HTTP/1.0\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let lower = response.to_ascii_lowercase();
        assert!(lower.contains(
            "content-security-policy: default-src 'none'; style-src 'self'; script-src 'self'"
        ));
        let (status, css) = get(&preview.1, "/static/brand.css");
        assert_eq!(status, 200);
        assert!(css.contains("--brand:"));

        let out = Command::new(BIN)
            .args(["templates", "preview", "--bind", "0.0.0.0:0"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    }
}

#[test]
fn accept_language_picks_the_best_shipped_locale() {
    let t = Templates::load(None, Branding::default()).unwrap();
    for (header, expected) in [
        ("de-DE,de;q=0.9,en;q=0.8", Some("de")),
        ("en;q=0.5, fr-CH;q=0.9", Some("fr")),
        ("sr, hr;q=0.9, pl;q=0.8", Some("pl")),
        ("pt-PT", Some("pt-BR")),
        ("zh-TW, ja;q=0.5", Some("ja")),
        ("ja;q=0, sv", Some("sv")),
        ("*", None),
        ("tlh, x-klingon", None),
        ("", None),
        ("de;q=2, it;q=abc, nl;q=0.001", Some("nl")),
    ] {
        assert_eq!(t.negotiate_locale(header).as_deref(), expected, "{header}");
    }
}

#[test]
fn a_realm_speaks_with_its_own_name_and_colour() {
    let realm_branding = [(
        "https://id.example.com/realms/staff".to_string(),
        otp_sidecar::templates::RealmBranding {
            product_name: None,
            logo_url: Some("https://cdn.example.com/staff.svg".into()),
            primary_color: Some(otp_sidecar::templates::brand::Rgb(0x0b, 0x6e, 0x4f)),
        },
    )]
    .into_iter()
    .collect();
    let t = Templates::load(None, Branding::default())
        .unwrap()
        .with_realm_branding(realm_branding);
    let staff = otp_sidecar::templates::RealmLook {
        issuer: Some("https://id.example.com/realms/staff"),
        display_name: Some("Acme Staff"),
    };
    let page = t
        .render_page_for(staff, Page::Code, "en", &code_page())
        .unwrap();
    assert!(
        page.contains("<span class=\"brand-name\">Acme Staff</span>"),
        "{page}"
    );
    assert!(
        page.contains("src=\"https://cdn.example.com/staff.svg\""),
        "{page}"
    );
    assert!(page.contains("href=\"/static/brand-0b6e4f.css\""), "{page}");
    let (_, css) = t.static_asset("brand-0b6e4f.css").unwrap();
    assert!(String::from_utf8(css)
        .unwrap()
        .contains("--brand: #0b6e4f;"));

    let mail = t.render_mail_for(staff, "de", &mail_ctx()).unwrap();
    assert_eq!(mail.sender_name.as_deref(), Some("Acme Staff"));
    assert!(mail.text.contains("--\nAcme Staff\n"), "{}", mail.text);
    assert!(mail.html.contains("#0b6e4f"), "{}", mail.html);

    // Another realm, with a display name only: that name, the global colour.
    let other = otp_sidecar::templates::RealmLook {
        issuer: Some("https://id.example.com/realms/other"),
        display_name: Some("Other & Co"),
    };
    let page = t
        .render_page_for(other, Page::Code, "en", &code_page())
        .unwrap();
    assert!(
        page.contains("<span class=\"brand-name\">Other &amp; Co</span>"),
        "{page}"
    );
    assert!(page.contains("href=\"/static/brand.css\""), "{page}");
    assert!(!page.contains("staff.svg"));
    // No realm at all: the configured product name, and the sender as configured.
    let page = t.render_page(Page::Code, "en", &code_page()).unwrap();
    assert!(
        page.contains("<span class=\"brand-name\">Sign-in</span>"),
        "{page}"
    );
    assert_eq!(t.render_mail("en", &mail_ctx()).unwrap().sender_name, None);
    assert!(t.static_asset("brand-123456.css").is_none());
}
