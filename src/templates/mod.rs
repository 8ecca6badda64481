//! Handlebars templates for mails and pages: built-ins compiled into the
//! binary, any subset overridable from a directory, messages per locale in
//! Fluent files, and a check (run at load time and by `otp-sidecar templates
//! check`) that renders everything with sample data in every locale, so a typo
//! fails at start-up instead of during a user's login.
//!
//! The data each template receives is the versioned model in [`model`];
//! `templates/README.md` documents it for designers.

pub mod brand;
pub mod check;
pub mod cli;
pub mod files;
pub mod gallery;
pub mod helpers;
mod inline;
pub mod locale;
pub mod model;
pub mod preview;
pub mod samples;

use std::path::Path;
use std::sync::Arc;

use handlebars::Handlebars;

use crate::clock::{Clock, SystemClock};

pub use model::{
    AppInfo, Branding, FormField, MailContext, Page, PageContext, RealmBranding, RealmLook,
    RenderedMail,
};

use files::FileSet;
use helpers::Collector;
use locale::Locales;

/// One thing wrong with a template, message file or setting, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The locale the problem shows in, when it depends on the locale.
    pub locale: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            file: file.into(),
            line: None,
            column: None,
            locale: None,
            message: message.into(),
        }
    }

    pub fn at(
        file: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            file: file.into(),
            line: Some(line),
            column: Some(column),
            locale: None,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if let Some(locale) = &self.locale {
            return write!(f, ": [{locale}] {}", self.message);
        }
        write!(f, ": {}", self.message)
    }
}

/// What went wrong while loading or rendering a template, with the file.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{file}: {message}")]
    Load { file: String, message: String },
    #[error("rendering {template}: {message}")]
    Render { template: String, message: String },
    /// Found by the check; carries file, line and column.
    #[error("{0}")]
    Check(Problem),
}

/// Templates whose output is plain text (no HTML escaping).
fn is_text_template(name: &str) -> bool {
    name.ends_with(".txt") || name.ends_with(".subject")
}

/// The parsed template set and its messages, without any checking.
pub(crate) struct Engine {
    pub(crate) html: Handlebars<'static>,
    pub(crate) text: Handlebars<'static>,
    pub(crate) files: FileSet,
    pub(crate) locales: Arc<Locales>,
    /// Template name -> path relative to the template root.
    pub(crate) names: Vec<(String, String)>,
}

impl Engine {
    /// Parse every template; parse errors come back as problems.
    pub(crate) fn build(
        files: FileSet,
        locales: Arc<Locales>,
        collector: Option<Collector>,
    ) -> (Engine, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut html = Handlebars::new();
        let mut text = Handlebars::new();
        text.register_escape_fn(handlebars::no_escape);
        let mut names = Vec::new();
        for registry in [&mut html, &mut text] {
            registry.set_strict_mode(true);
            registry.register_helper(
                "t",
                Box::new(helpers::Translate {
                    locales: locales.clone(),
                    collector: collector.clone(),
                }),
            );
            registry.register_helper(
                "datetime",
                Box::new(helpers::DateTime {
                    locales: locales.clone(),
                    collector: collector.clone(),
                }),
            );
        }
        for (rel, file) in files.iter() {
            let Some(name) = rel.strip_suffix(".hbs") else {
                continue;
            };
            let source = file.text();
            let mut failed = false;
            for registry in [&mut html, &mut text] {
                if let Err(e) = registry.register_template_string(name, source.as_ref()) {
                    if !failed {
                        let (line, column) = e.pos().unwrap_or((0, 0));
                        problems.push(Problem {
                            file: files.display(rel),
                            line: (line > 0).then_some(line),
                            column: (line > 0).then_some(column),
                            locale: None,
                            message: format!("Handlebars syntax: {}", e.reason()),
                        });
                    }
                    failed = true;
                }
            }
            names.push((name.to_string(), rel.clone()));
        }
        (
            Engine {
                html,
                text,
                files,
                locales,
                names,
            },
            problems,
        )
    }

    fn registry(&self, name: &str) -> &Handlebars<'static> {
        if is_text_template(name) {
            &self.text
        } else {
            &self.html
        }
    }

    /// Renders `name` with `data`, wrapped once into a [`handlebars::Context`]
    /// by the caller (wrapping a `Value` by reference would copy it for every
    /// template rendered).
    pub(crate) fn render(
        &self,
        name: &str,
        data: &handlebars::Context,
    ) -> Result<String, handlebars::RenderError> {
        self.registry(name).render_with_context(name, data)
    }

    pub(crate) fn rel_of(&self, name: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, rel)| rel.as_str())
    }
}

/// The template data every template receives (schema 1); `ctx` is the
/// template's own context. `brand_css` names the stylesheet under `static/`
/// with the branding's colours.
pub(crate) fn template_data<T: serde::Serialize>(
    locales: &Locales,
    branding: &Branding,
    brand_css: &str,
    requested_locale: &str,
    static_base: Option<&str>,
    now: i64,
    ctx: &T,
) -> serde_json::Value {
    let static_base = static_base.unwrap_or("/static").trim_end_matches('/');
    let ctx = serde_json::to_value(ctx).unwrap_or_default();
    // Seconds until "send a new code" works: templates cannot subtract.
    let resend_in_seconds = ctx
        .get("resend_available_at")
        .and_then(|v| v.as_i64())
        .map(|at| at.saturating_sub(now).max(0));
    // Time left on the code, for "expires in 4 minutes" and its live update:
    // the whole minutes rounded up (under a minute: 0), and every minute
    // count from there down to 1 (the page's script swaps their texts in).
    let expires_in_seconds = ctx
        .get("expires_at")
        .and_then(|v| v.as_i64())
        .map(|at| at.saturating_sub(now).max(0));
    let expires_in_minutes = expires_in_seconds.map(|s| {
        if s < 60 {
            0
        } else {
            s / 60 + i64::from(s % 60 != 0)
        }
    });
    // At most an hour of steps (codes live minutes); past that the sentence
    // stays as rendered until the count comes within the hour.
    let expiry_steps: Vec<i64> = (1..=expires_in_minutes.unwrap_or(0).min(60))
        .rev()
        .collect();
    serde_json::json!({
        "schema": model::SCHEMA_VERSION,
        "resend_in_seconds": resend_in_seconds,
        "expires_in_seconds": expires_in_seconds,
        "expires_in_minutes": expires_in_minutes,
        "expiry_steps": expiry_steps,
        "locale": locales.resolve(requested_locale),
        "branding": branding,
        "palette": brand::palette(branding),
        "static_base": static_base,
        "brand_css_url": format!("{static_base}/{brand_css}"),
        "now": now,
        "ctx": ctx,
    })
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Inline the mail's `<style>` block into `style=` attributes (what Gmail and
/// Outlook need); `@media` rules (dark mode, small screens) stay in the block.
pub(crate) fn inline_css(html: &str) -> Result<String, String> {
    css_inline::CSSInliner::options()
        .keep_at_rules(true)
        .load_remote_stylesheets(false)
        .build()
        .inline(html)
        .map_err(|e| e.to_string())
}

/// The loaded template set. Cheap to share behind an `Arc`.
pub struct Templates {
    engine: Engine,
    branding: Branding,
    brand_css: String,
    /// `[branding]` per realm issuer.
    realm_branding: std::collections::BTreeMap<String, RealmBranding>,
    /// The code mail's inlined CSS, kept per mail skeleton.
    mail_inliner: inline::MailInliner,
    /// "Now" for what a template shows (countdowns, dates): the service's
    /// clock, so that pages and mails agree with the flow's own time.
    clock: Arc<dyn Clock>,
}

/// Name of the generated stylesheet for a primary colour other than the
/// global one: `brand-0b6e4f.css`.
fn brand_css_name(color: brand::Rgb) -> String {
    format!("brand-{}.css", color.hex().trim_start_matches('#'))
}

impl Templates {
    /// Built-ins, overridden file by file from `override_dir` when given.
    /// Runs the full check first: any problem (syntax, missing variable,
    /// unknown helper, missing message in any locale) refuses the set, with
    /// every problem listed.
    pub fn load(
        override_dir: Option<&Path>,
        branding: Branding,
    ) -> Result<Self, Vec<TemplateError>> {
        let (files, mut problems) = FileSet::load(override_dir);
        // Check exactly the files that will be served.
        problems.extend(check::check_files(files.clone(), &branding));
        if !problems.is_empty() {
            return Err(problems.into_iter().map(TemplateError::Check).collect());
        }
        let (locales, locale_problems) = Locales::load(&files);
        problems.extend(locale_problems);
        let (engine, parse_problems) = Engine::build(files, Arc::new(locales), None);
        problems.extend(parse_problems);
        if !problems.is_empty() {
            return Err(problems.into_iter().map(TemplateError::Check).collect());
        }
        let brand_css = brand::css(&branding);
        Ok(Self {
            engine,
            branding,
            brand_css,
            realm_branding: Default::default(),
            mail_inliner: Default::default(),
            clock: Arc::new(SystemClock),
        })
    }

    /// The same set reading "now" from `clock` (the wall clock by default).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same set with `[branding]` per realm issuer.
    pub fn with_realm_branding(
        mut self,
        realm_branding: std::collections::BTreeMap<String, RealmBranding>,
    ) -> Self {
        self.realm_branding = realm_branding;
        self
    }

    /// The branding a sign-in of `realm` is shown with: each key of the
    /// realm's `[branding]`, else the global one; the name is the realm's
    /// `[branding] product_name`, else the realm's display name from the
    /// request, else the global `product_name`.
    pub fn branding_for(&self, realm: RealmLook<'_>) -> Branding {
        let own = realm.issuer.and_then(|i| self.realm_branding.get(i));
        let global = &self.branding;
        Branding {
            product_name: own
                .and_then(|b| b.product_name.clone())
                .or_else(|| realm.display_name.map(str::to_string))
                .unwrap_or_else(|| global.product_name.clone()),
            logo_url: own
                .and_then(|b| b.logo_url.clone())
                .or_else(|| global.logo_url.clone()),
            primary_color: own
                .and_then(|b| b.primary_color)
                .unwrap_or(global.primary_color),
        }
    }

    /// The stylesheet with `branding`'s colours: `brand.css` for the global
    /// colour, a generated `brand-rrggbb.css` for a realm's own.
    fn brand_css_for(&self, branding: &Branding) -> String {
        if branding.primary_color == self.branding.primary_color {
            "brand.css".to_string()
        } else {
            brand_css_name(branding.primary_color)
        }
    }

    /// Subject, HTML and plain-text body of the code mail.
    pub fn render_mail(
        &self,
        locale: &str,
        ctx: &MailContext,
    ) -> Result<RenderedMail, TemplateError> {
        self.render_mail_for(RealmLook::default(), locale, ctx)
    }

    /// [`Self::render_mail`] in the branding of `realm`.
    pub fn render_mail_for(
        &self,
        realm: RealmLook<'_>,
        locale: &str,
        ctx: &MailContext,
    ) -> Result<RenderedMail, TemplateError> {
        let branding = self.branding_for(realm);
        let data = handlebars::Context::from(self.data(&branding, locale, None, ctx));
        let html = self.render("mail/code.html", &data)?;
        let html = self
            .mail_inliner
            .inline(&html)
            .map_err(|message| TemplateError::Render {
                template: "mail/code.html".into(),
                message: format!("inlining CSS: {message}"),
            })?;
        let own_name = branding.product_name != self.branding.product_name;
        Ok(RenderedMail {
            sender_name: own_name.then(|| branding.product_name.clone()),
            subject: single_line(&self.render("mail/code.subject", &data)?),
            html,
            text: self.render("mail/code.txt", &data)?,
        })
    }

    /// A full HTML page.
    pub fn render_page(
        &self,
        page: Page,
        locale: &str,
        ctx: &PageContext,
    ) -> Result<String, TemplateError> {
        self.render_page_for(RealmLook::default(), page, locale, ctx)
    }

    /// [`Self::render_page`] in the branding of `realm`.
    pub fn render_page_for(
        &self,
        realm: RealmLook<'_>,
        page: Page,
        locale: &str,
        ctx: &PageContext,
    ) -> Result<String, TemplateError> {
        let branding = self.branding_for(realm);
        let data = handlebars::Context::from(self.data(
            &branding,
            locale,
            ctx.static_base.as_deref(),
            ctx,
        ));
        self.render(page.template_name(), &data)
    }

    /// The locale a request's `locale` claim resolves to (`de-AT` -> `de` when
    /// there is no `de-AT`; unknown -> `en`).
    pub fn resolve_locale(&self, requested: &str) -> String {
        self.engine.locales.resolve(requested)
    }

    /// The locale for a browser's `Accept-Language` header, if any of its
    /// languages is one of ours (see [`Locales::negotiate`](locale::Locales::negotiate)).
    pub fn negotiate_locale(&self, accept_language: &str) -> Option<String> {
        self.engine.locales.negotiate(accept_language)
    }

    /// Locales that have messages.
    pub fn locales(&self) -> Vec<String> {
        self.engine.locales.tags().cloned().collect()
    }

    /// A file under `static/` (the override's when present) with its content
    /// type. `brand.css` is generated from the branding configuration unless
    /// the override directory has its own.
    pub fn static_asset(&self, name: &str) -> Option<(&'static str, Vec<u8>)> {
        if name.is_empty() || name.contains('/') || name.contains('\\') || name.starts_with('.') {
            return None;
        }
        if let Some(file) = self.engine.files.get(&format!("static/{name}")) {
            return Some((content_type(name), file.bytes.clone()));
        }
        if name == "brand.css" {
            return Some((content_type(name), self.brand_css.clone().into_bytes()));
        }
        // A realm's own colour: generated like brand.css.
        self.realm_branding
            .values()
            .filter_map(|b| b.primary_color)
            .find(|c| brand_css_name(*c) == name)
            .map(|primary_color| {
                let branding = Branding {
                    primary_color,
                    ..self.branding.clone()
                };
                (content_type(name), brand::css(&branding).into_bytes())
            })
    }

    /// Names of every static asset (`brand.css` included).
    pub fn static_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .engine
            .files
            .iter()
            .filter_map(|(rel, _)| rel.strip_prefix("static/").map(str::to_string))
            .collect();
        if !names.iter().any(|n| n == "brand.css") {
            names.push("brand.css".into());
        }
        names.sort();
        names
    }

    fn data<T: serde::Serialize>(
        &self,
        branding: &Branding,
        locale: &str,
        static_base: Option<&str>,
        ctx: &T,
    ) -> serde_json::Value {
        template_data(
            &self.engine.locales,
            branding,
            &self.brand_css_for(branding),
            locale,
            static_base,
            self.clock.now(),
            ctx,
        )
    }

    fn render(&self, name: &str, data: &handlebars::Context) -> Result<String, TemplateError> {
        self.engine
            .render(name, data)
            .map_err(|e| TemplateError::Render {
                template: name.to_string(),
                message: e.to_string(),
            })
    }
}

/// Subjects are one line: collapse whitespace and newlines.
pub(crate) fn single_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn templates_can_be_shared_across_workers() {
        assert_send_sync::<Templates>();
    }

    /// The built-in code mail, its CSS inlined per skeleton, reads the same as
    /// the whole mail inlined, for names that need escaping, in two locales.
    #[test]
    fn the_code_mail_inlined_per_skeleton_reads_as_inlined_whole() {
        let templates = Templates::load(None, Branding::default()).unwrap();
        let normalized = |html: &str| {
            html.replace("&#x27;", "'")
                .replace("&#x60;", "`")
                .replace("&#x3D;", "=")
                .replace("&quot;", "\"")
        };
        for (locale, name) in [
            ("en", Some("Jane Doe")),
            ("en", Some("O'Brien & <Sons> = \"ok\"")),
            ("de", None),
            ("de", Some("Zoë Ünal")),
        ] {
            let ctx = MailContext {
                code: "042133".into(),
                app: model::AppInfo {
                    client_id: "app".into(),
                    name: "Acme App".into(),
                },
                name: name.map(str::to_string),
                email: "jane@example.com".into(),
                expires_at: 1_900_000_000,
                expires_in_minutes: 5,
                resent: false,
            };
            let mail = templates.render_mail(locale, &ctx).unwrap();
            let data = templates.data(&templates.branding, locale, None, &ctx);
            let raw = templates
                .render("mail/code.html", &handlebars::Context::from(data))
                .unwrap();
            let whole = inline_css(&raw).unwrap();
            assert_eq!(
                normalized(&mail.html),
                normalized(&whole),
                "{locale} {name:?}"
            );
            assert!(mail.html.contains("042133"));
        }
        // Two locales, with and without a name: each skeleton inlined once,
        // none of them fell back to inlining every mail whole.
        assert!(templates.mail_inliner.usable() >= 2);
        assert_eq!(
            templates.mail_inliner.usable(),
            templates.mail_inliner.kept_count()
        );
    }

    #[test]
    fn builtins_check_clean() {
        let problems = check::check(None, &Branding::default());
        for p in &problems {
            eprintln!("{p}");
        }
        assert!(problems.is_empty());
    }
}
