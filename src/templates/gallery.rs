//! Every sample of every template in every locale, rendered: what the
//! preview serves and `templates render --out DIR` writes.
use std::path::Path;

use super::samples::{self, Sample, SampleKind};
use super::{Branding, PageContext, Problem, TemplateError, Templates};

/// One rendered sample.
pub enum Rendered {
    Mail {
        subject: String,
        html: String,
        text: String,
    },
    Page(String),
}

pub struct Gallery {
    pub templates: Templates,
    pub samples: Vec<Sample>,
}

impl Gallery {
    /// Load (and check) the templates; the problems when they do not pass.
    pub fn load(dir: Option<&Path>, branding: Branding) -> Result<Self, Vec<Problem>> {
        let templates = Templates::load(dir, branding).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| match e {
                    TemplateError::Check(p) => p,
                    other => Problem::file("templates", other.to_string()),
                })
                .collect::<Vec<_>>()
        })?;
        Ok(Gallery {
            templates,
            samples: samples::all(super::unix_now()),
        })
    }

    pub fn locales(&self) -> Vec<String> {
        self.templates.locales()
    }

    /// The sample `id`, with its times relative to now (countdowns start full).
    pub fn sample(&self, id: &str) -> Option<Sample> {
        samples::all(super::unix_now())
            .into_iter()
            .find(|s| s.id == id)
    }

    /// Render a sample; pages link their assets under `static_base`.
    pub fn render(
        &self,
        locale: &str,
        sample: &Sample,
        static_base: &str,
    ) -> Result<Rendered, TemplateError> {
        match &sample.kind {
            SampleKind::Mail(ctx) => {
                let mail = self.templates.render_mail(locale, ctx)?;
                Ok(Rendered::Mail {
                    subject: mail.subject,
                    html: mail.html,
                    text: mail.text,
                })
            }
            SampleKind::Page(page, ctx) => {
                let ctx = PageContext {
                    static_base: Some(static_base.to_string()),
                    ..ctx.clone()
                };
                Ok(Rendered::Page(
                    self.templates.render_page(*page, locale, &ctx)?,
                ))
            }
        }
    }

    /// Write `<out>/<locale>/<sample>.html` (plus `.txt` and `.subject.txt`
    /// for mails), the static assets under `<out>/static/`, and an index.
    pub fn write_to(&self, out: &Path) -> std::io::Result<usize> {
        let mut count = 0;
        let io = |e: TemplateError| std::io::Error::other(e.to_string());
        std::fs::create_dir_all(out.join("static"))?;
        for name in self.templates.static_names() {
            if let Some((_, bytes)) = self.templates.static_asset(&name) {
                std::fs::write(out.join("static").join(&name), bytes)?;
                count += 1;
            }
        }
        let mut index = String::from(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Templates</title></head><body><main><h1>Templates</h1>\n",
        );
        for locale in self.locales() {
            let dir = out.join(&locale);
            std::fs::create_dir_all(&dir)?;
            index.push_str(&format!("<h2>{locale}</h2><ul>\n"));
            for sample in &self.samples {
                match self.render(&locale, sample, "../static").map_err(io)? {
                    Rendered::Mail {
                        subject,
                        html,
                        text,
                    } => {
                        std::fs::write(dir.join(format!("{}.html", sample.id)), html)?;
                        std::fs::write(dir.join(format!("{}.txt", sample.id)), text)?;
                        std::fs::write(dir.join(format!("{}.subject.txt", sample.id)), subject)?;
                        count += 3;
                    }
                    Rendered::Page(html) => {
                        std::fs::write(dir.join(format!("{}.html", sample.id)), html)?;
                        count += 1;
                    }
                }
                index.push_str(&format!(
                    "<li><a href=\"{locale}/{id}.html\">{title}</a></li>\n",
                    id = sample.id,
                    title = handlebars::html_escape(&sample.title)
                ));
            }
            index.push_str("</ul>\n");
        }
        index.push_str("</main></body></html>\n");
        std::fs::write(out.join("index.html"), index)?;
        Ok(count + 1)
    }
}
