//! `GET /dev/outbox`: the mails of the embedded default, newest first.
//! Mounted only in the embedded default.
use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpResponse};
use handlebars::html_escape;

use crate::error::ApiError;

use super::AppState;

/// The demo pages' frame: the product's own look (`static/page.css` and
/// `brand.css`), a header and a card; `wide` for the outbox.
pub fn dev_page(state: &AppState, title: &str, body: &str, wide: bool) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(dev_html(state, title, body, wide))
}

fn dev_html(state: &AppState, title: &str, body: &str, wide: bool) -> String {
    let css: String = ["page.css", "brand.css"]
        .iter()
        .filter(|name| state.templates.static_asset(name).is_some())
        .map(|name| {
            format!(
                r#"<link rel="stylesheet" href="{}">"#,
                html_escape(&state.paths.at(&format!("/static/{name}")))
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{title}</title>{css}</head>\n<body>\n<div class=\"shell{wide}\">\n\
         <header class=\"brand\"><span class=\"brand-name\">otp-sidecar</span>\
         <span class=\"dev-tag\">demo</span></header>\n\
         <main class=\"card\">\n{body}\n</main>\n</div>\n</body>\n</html>\n",
        title = html_escape(title),
        wide = if wide { " wide" } else { "" },
    )
}

/// The outbox page's policy: the page's own, plus the inline styles of the
/// mails it shows in sandboxed frames (a `srcdoc` frame inherits the page's
/// policy, and mails carry their CSS inline). Scripts stay `'self'`, and the
/// frames' `sandbox` runs none.
const OUTBOX_CSP: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' https: data:; script-src 'self'; connect-src 'self'; frame-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn outbox(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let outbox = state.mailer.outbox().ok_or(ApiError::NotFound)?;
    let mails = outbox.list();
    let mut body = String::from("<h1>Outbox</h1>\n");
    body.push_str(&format!(
        "<p>Mails the embedded default would have sent, newest first (the last {}).</p>\n\
         <p class=\"actions\"><a class=\"button\" href=\"{}\">Start the demo again</a></p>\n",
        mails.len(),
        html_escape(&state.paths.at("/demo")),
    ));
    if mails.is_empty() {
        body.push_str("<p class=\"notice notice-info\">No mail yet.</p>\n");
    }
    for (i, mail) in mails.iter().enumerate() {
        let sent = time::OffsetDateTime::from_unix_timestamp(mail.sent_at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        let html_part = if mail.html.is_empty() {
            String::new()
        } else {
            format!(
                "<iframe class=\"mail-frame\" sandbox=\"\" referrerpolicy=\"no-referrer\" \
                 title=\"HTML part: {subject}\" srcdoc=\"{html}\"></iframe>\n",
                subject = html_escape(&mail.subject),
                html = html_escape(&mail.html),
            )
        };
        body.push_str(&format!(
            "<article class=\"mail\" aria-labelledby=\"mail-{i}\">\n<h2 id=\"mail-{i}\">{subject}</h2>\n\
             <dl class=\"mail-meta\"><dt>To</dt><dd>{to}</dd><dt>From</dt><dd>{from}</dd>\
             <dt>Sent</dt><dd>{sent}</dd></dl>\n{html_part}\
             <details open><summary>Text part</summary>\n<pre class=\"mail-text\">{text}</pre>\n</details>\n</article>\n",
            subject = html_escape(&mail.subject),
            to = html_escape(&mail.to),
            from = html_escape(&mail.from),
            sent = html_escape(&sent),
            text = html_escape(&mail.text),
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CONTENT_SECURITY_POLICY, OUTBOX_CSP))
        .body(dev_html(&state, "Outbox", &body, true)))
}
