//! Handlebars templates for mails and pages: built-ins compiled into the
//! binary, any subset overridable from a directory, strict mode so a typo
//! fails at load time instead of during a user's login.
//!
//! The data each template receives is the versioned model in [`model`];
//! `templates/README.md` documents it for designers.

pub mod model;

use std::path::Path;

use handlebars::Handlebars;
use rust_embed::RustEmbed;

pub use model::{Branding, MailContext, Page, PageContext, RenderedMail};

#[derive(RustEmbed)]
#[folder = "templates/"]
#[include = "*.hbs"]
struct BuiltIn;

/// What went wrong while loading or rendering a template, with the file.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{file}: {message}")]
    Load { file: String, message: String },
    #[error("rendering {template}: {message}")]
    Render { template: String, message: String },
}

/// The loaded template set. Cheap to share behind an `Arc`.
pub struct Templates {
    registry: Handlebars<'static>,
    branding: Branding,
}

impl Templates {
    /// Built-ins, overridden file by file from `override_dir` when given.
    pub fn load(
        override_dir: Option<&Path>,
        branding: Branding,
    ) -> Result<Self, Vec<TemplateError>> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        let mut errors = Vec::new();
        for file in BuiltIn::iter() {
            let name = file.trim_end_matches(".hbs").to_string();
            let source = match override_dir.map(|d| d.join(file.as_ref())) {
                Some(path) if path.is_file() => {
                    std::fs::read_to_string(&path).map_err(|e| TemplateError::Load {
                        file: path.display().to_string(),
                        message: e.to_string(),
                    })
                }
                _ => BuiltIn::get(&file)
                    .map(|f| String::from_utf8_lossy(&f.data).into_owned())
                    .ok_or_else(|| TemplateError::Load {
                        file: file.to_string(),
                        message: "missing built-in".into(),
                    }),
            };
            match source.and_then(|s| {
                registry
                    .register_template_string(&name, s)
                    .map_err(|e| TemplateError::Load {
                        file: file.to_string(),
                        message: e.to_string(),
                    })
            }) {
                Ok(()) => {}
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(Self { registry, branding })
        } else {
            Err(errors)
        }
    }

    /// Subject, HTML and plain-text body of the code mail.
    pub fn render_mail(
        &self,
        locale: &str,
        ctx: &MailContext,
    ) -> Result<RenderedMail, TemplateError> {
        let data = self.data(locale, ctx);
        Ok(RenderedMail {
            subject: self.render("mail/code.subject", &data)?.trim().to_string(),
            html: self.render("mail/code.html", &data)?,
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
        self.render(page.template_name(), &self.data(locale, ctx))
    }

    fn data<T: serde::Serialize>(&self, locale: &str, ctx: &T) -> serde_json::Value {
        serde_json::json!({
            "schema": model::SCHEMA_VERSION,
            "locale": locale,
            "branding": &self.branding,
            "ctx": ctx,
        })
    }

    fn render(&self, name: &str, data: &serde_json::Value) -> Result<String, TemplateError> {
        self.registry
            .render(name, data)
            .map_err(|e| TemplateError::Render {
                template: name.to_string(),
                message: e.to_string(),
            })
    }
}
