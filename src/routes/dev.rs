//! `GET /dev/outbox`: the mails of the embedded default, newest first.
//! Mounted only in the embedded default.
use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use handlebars::html_escape;

use crate::error::ApiError;

use super::AppState;

/// A minimal page shell for the developer pages (demo, outbox).
pub fn dev_page(state: &AppState, title: &str, body: &str) -> HttpResponse {
    let css = state
        .assets
        .get("page.css")
        .map(|_| {
            format!(
                r#"<link rel="stylesheet" href="{}">"#,
                html_escape(&state.paths.at("/static/page.css"))
            )
        })
        .unwrap_or_default();
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(format!(
            "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title>{css}</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
            title = html_escape(title),
        ))
}

pub async fn outbox(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let outbox = state.mailer.outbox().ok_or(ApiError::NotFound)?;
    let mails = outbox.list();
    let mut body = String::from("<h1>Outbox</h1>\n");
    body.push_str(&format!(
        "<p>Mails the embedded default would have sent, newest first (the last {}). \
         <a href=\"{}\">Start the demo again</a>.</p>\n",
        mails.len(),
        html_escape(&state.paths.at("/demo")),
    ));
    if mails.is_empty() {
        body.push_str("<p>No mail yet.</p>\n");
    }
    for mail in &mails {
        let sent = time::OffsetDateTime::from_unix_timestamp(mail.sent_at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        body.push_str(&format!(
            "<article>\n<h2>{subject}</h2>\n<p>To {to}, from {from}, {sent}</p>\n<pre>{text}</pre>\n</article>\n",
            subject = html_escape(&mail.subject),
            to = html_escape(&mail.to),
            from = html_escape(&mail.from),
            sent = html_escape(&sent),
            text = html_escape(&mail.text),
        ));
    }
    Ok(dev_page(&state, "Outbox", &body))
}
