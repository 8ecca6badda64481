//! Static assets (CSS, the auto-submit script) from `templates/static/`:
//! built into the binary, each replaceable by a file of the same name in
//! `<templates dir>/static/`. Only names that exist built-in are served.
use std::borrow::Cow;
use std::path::PathBuf;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use rust_embed::RustEmbed;

use crate::error::ApiError;

use super::AppState;

#[derive(RustEmbed)]
#[folder = "templates/static/"]
struct BuiltIn;

pub struct Assets {
    override_dir: Option<PathBuf>,
}

impl Assets {
    pub fn new(templates_dir: Option<&std::path::Path>) -> Self {
        Self {
            override_dir: templates_dir.map(|d| d.join("static")),
        }
    }

    /// Contents of asset `name`, the override first.
    pub fn get(&self, name: &str) -> Option<Cow<'static, [u8]>> {
        let built_in = BuiltIn::get(name)?;
        if let Some(dir) = &self.override_dir {
            if let Ok(bytes) = std::fs::read(dir.join(name)) {
                return Some(Cow::Owned(bytes));
            }
        }
        Some(built_in.data)
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

pub async fn serve(
    state: web::Data<AppState>,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let bytes = state.assets.get(&file).ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type(&file))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(bytes.into_owned()))
}
