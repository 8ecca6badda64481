//! `otp-sidecar templates preview`: a local gallery of every mail and page in
//! every locale with sample data, reloaded when a file in the override
//! directory changes. Loopback only.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::http::header;
use actix_web::{web, App, HttpResponse, HttpServer};
use notify::Watcher;

use super::gallery::{Gallery, Rendered};
use super::{Branding, Problem};

/// The CSP the sidecar serves its pages with; the preview uses it for page
/// views so a template that breaks it shows up here, not in production.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     img-src 'self' https: data:; form-action 'self' https:; base-uri 'none'; \
     frame-ancestors 'self'; connect-src 'self'";

struct State {
    dir: Option<PathBuf>,
    branding: Branding,
    gallery: Result<Gallery, Vec<Problem>>,
    version: u64,
}

struct Shared {
    state: Mutex<State>,
    dirty: Arc<AtomicBool>,
}

impl Shared {
    /// Reload when a file changed since the last request.
    fn refresh(&self) {
        if self.dirty.swap(false, Ordering::SeqCst) {
            if let Ok(mut s) = self.state.lock() {
                s.gallery = Gallery::load(s.dir.as_deref(), s.branding.clone());
                s.version += 1;
                match &s.gallery {
                    Ok(_) => eprintln!("preview: reloaded (version {})", s.version),
                    Err(p) => eprintln!("preview: reloaded with {} problem(s)", p.len()),
                }
            }
        }
    }
}

pub fn serve(dir: Option<PathBuf>, branding: Branding, bind: SocketAddr) -> std::io::Result<()> {
    if !bind.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("--bind {bind}: the preview only listens on loopback (127.0.0.1 or ::1)"),
        ));
    }
    let dirty = Arc::new(AtomicBool::new(false));
    // Held for the life of the server: dropping it stops watching.
    let _watcher = match &dir {
        Some(d) => {
            let flag = dirty.clone();
            let mut watcher =
                notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                    // Reading the files to reload raises access and atime
                    // events: only changes count.
                    if let Ok(event) = event {
                        if !matches!(
                            event.kind,
                            notify::EventKind::Access(_)
                                | notify::EventKind::Modify(notify::event::ModifyKind::Metadata(_))
                        ) {
                            flag.store(true, Ordering::SeqCst);
                        }
                    }
                })
                .map_err(std::io::Error::other)?;
            watcher
                .watch(d, notify::RecursiveMode::Recursive)
                .map_err(|e| std::io::Error::other(format!("watching {}: {e}", d.display())))?;
            Some(watcher)
        }
        None => None,
    };
    let gallery = Gallery::load(dir.as_deref(), branding.clone());
    if let Err(problems) = &gallery {
        for p in problems {
            eprintln!("{p}");
        }
    }
    let shared = web::Data::new(Shared {
        state: Mutex::new(State {
            dir,
            branding,
            gallery,
            version: 0,
        }),
        dirty,
    });
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .route("/", web::get().to(index))
                .route("/__version", web::get().to(version))
                .route("/__reload.js", web::get().to(reload_js))
                .route("/__index.json", web::get().to(index_json))
                .route("/favicon.ico", web::get().to(HttpResponse::NoContent))
                .route("/static/{name}", web::get().to(asset))
                .route("/view/{locale}/{file}", web::get().to(view))
        })
        .workers(1)
        .bind(bind)?;
        for addr in server.addrs() {
            // Scripts read this line to find the port when --bind uses port 0.
            println!("preview: http://{addr}/");
        }
        server.run().await
    })
}

fn no_store(mut b: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    b.insert_header((header::CACHE_CONTROL, "no-store"));
    b
}

async fn version(shared: web::Data<Shared>) -> HttpResponse {
    shared.refresh();
    let v = shared.state.lock().map(|s| s.version).unwrap_or(0);
    no_store(HttpResponse::Ok())
        .content_type("text/plain")
        .body(v.to_string())
}

/// Locales and samples, for scripts that walk the gallery.
async fn index_json(shared: web::Data<Shared>) -> HttpResponse {
    shared.refresh();
    let Ok(state) = shared.state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    match &state.gallery {
        Ok(g) => {
            let samples: Vec<serde_json::Value> = g
                .samples
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "id": s.id,
                        "title": s.title,
                        "kind": match s.kind {
                            super::samples::SampleKind::Mail(_) => "mail",
                            super::samples::SampleKind::Page(..) => "page",
                        },
                    })
                })
                .collect();
            no_store(HttpResponse::Ok()).json(serde_json::json!({
                "version": state.version,
                "locales": g.locales(),
                "samples": samples,
            }))
        }
        Err(problems) => no_store(HttpResponse::InternalServerError()).json(serde_json::json!({
            "problems": problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        })),
    }
}

const RELOAD_JS: &str = r#"(function () {
  var current = null;
  function poll() {
    fetch("/__version", { cache: "no-store" }).then(function (r) { return r.text(); })
      .then(function (v) {
        if (current !== null && v !== current) { window.location.reload(); return; }
        current = v;
        setTimeout(poll, 800);
      }).catch(function () { setTimeout(poll, 2000); });
  }
  if (window.top === window) { poll(); }
})();
"#;

async fn reload_js() -> HttpResponse {
    no_store(HttpResponse::Ok())
        .content_type("text/javascript; charset=utf-8")
        .body(RELOAD_JS)
}

fn with_reload(html: &str) -> String {
    let tag = "<script src=\"/__reload.js\"></script>";
    match html.rfind("</body>") {
        Some(i) => format!("{}{tag}\n{}", &html[..i], &html[i..]),
        None => format!("{html}{tag}"),
    }
}

fn problems_page(problems: &[Problem]) -> String {
    let items: String = problems
        .iter()
        .map(|p| {
            format!(
                "<li><code>{}</code></li>\n",
                handlebars::html_escape(&p.to_string())
            )
        })
        .collect();
    with_reload(&format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Template problems</title></head><body><main>\
         <h1>{} problem(s) in the templates</h1><p>Fix them and save: this page reloads.</p>\
         <ul>{items}</ul></main></body></html>",
        problems.len()
    ))
}

async fn index(shared: web::Data<Shared>, query: web::Query<IndexQuery>) -> HttpResponse {
    shared.refresh();
    let Ok(state) = shared.state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let gallery = match &state.gallery {
        Ok(g) => g,
        Err(problems) => {
            return no_store(HttpResponse::Ok())
                .content_type("text/html; charset=utf-8")
                .body(problems_page(problems))
        }
    };
    let locales = gallery.locales();
    let locale = query
        .locale
        .clone()
        .filter(|l| locales.contains(l))
        .unwrap_or_else(|| super::locale::DEFAULT_LOCALE.to_string());
    let e = |s: &str| handlebars::html_escape(s);
    let mut body = String::new();
    body.push_str("<nav aria-label=\"Locales\"><ul class=\"locales\">");
    for l in &locales {
        let current = if *l == locale {
            " aria-current=\"page\""
        } else {
            ""
        };
        body.push_str(&format!(
            "<li><a href=\"/?locale={l}\"{current}>{l}</a></li>"
        ));
    }
    body.push_str("</ul></nav>\n");
    for sample in &gallery.samples {
        body.push_str(&format!(
            "<section><h2>{}</h2>\n<p><a href=\"/view/{locale}/{id}.html\">open</a>",
            e(&sample.title),
            id = sample.id
        ));
        match gallery.render(&locale, sample, "/static") {
            Ok(Rendered::Mail { subject, text, .. }) => {
                body.push_str(&format!(
                    " · <a href=\"/view/{locale}/{id}.txt\">plain text</a></p>\
                     <p><strong>Subject:</strong> {}</p>\
                     <iframe title=\"{} (HTML)\" src=\"/view/{locale}/{id}.html\"></iframe>\
                     <pre>{}</pre>",
                    e(&subject),
                    e(&sample.title),
                    e(&text),
                    id = sample.id
                ));
            }
            Ok(Rendered::Page(_)) => {
                body.push_str(&format!(
                    "</p><iframe title=\"{}\" src=\"/view/{locale}/{id}.html\"></iframe>",
                    e(&sample.title),
                    id = sample.id
                ));
            }
            Err(err) => body.push_str(&format!("</p><pre>{}</pre>", e(&err.to_string()))),
        }
        body.push_str("</section>\n");
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Template preview ({locale})</title><style>{GALLERY_CSS}</style></head>\
         <body><main><h1>Template preview</h1>\
         <p>Every mail and page with sample data. Pages are shown with the production \
         Content-Security-Policy. Save a file in the override directory and this page reloads.</p>\
         {body}</main></body></html>"
    );
    no_store(HttpResponse::Ok())
        .content_type("text/html; charset=utf-8")
        .body(with_reload(&html))
}

const GALLERY_CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#eceef2;color:#1a1c20}\
main{max-width:1100px;margin:0 auto;padding:1rem}\
.locales{display:flex;gap:.5rem;list-style:none;padding:0}\
.locales a{display:inline-block;padding:.3rem .8rem;border:1px solid #888;border-radius:6px;color:#1a1c20}\
.locales a[aria-current]{background:#1a1c20;color:#fff}\
section{background:#fff;border-radius:8px;padding:1rem;margin:1rem 0}\
iframe{width:100%;height:640px;border:1px solid #ccc;border-radius:6px;background:#fff}\
pre{white-space:pre-wrap;background:#f6f7f9;padding:1rem;border-radius:6px}";

#[derive(serde::Deserialize)]
struct IndexQuery {
    locale: Option<String>,
}

async fn view(shared: web::Data<Shared>, path: web::Path<(String, String)>) -> HttpResponse {
    shared.refresh();
    let (locale, file) = path.into_inner();
    let Ok(state) = shared.state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let gallery = match &state.gallery {
        Ok(g) => g,
        Err(problems) => {
            return no_store(HttpResponse::InternalServerError())
                .content_type("text/html; charset=utf-8")
                .body(problems_page(problems))
        }
    };
    let (id, text) = match (file.strip_suffix(".html"), file.strip_suffix(".txt")) {
        (Some(id), _) => (id, false),
        (_, Some(id)) => (id, true),
        _ => return HttpResponse::NotFound().finish(),
    };
    let Some(sample) = gallery.sample(id) else {
        return HttpResponse::NotFound().finish();
    };
    if !gallery.locales().contains(&locale) {
        return HttpResponse::NotFound().finish();
    }
    match gallery.render(&locale, &sample, "/static") {
        Ok(Rendered::Mail { text: body, .. }) if text => no_store(HttpResponse::Ok())
            .content_type("text/plain; charset=utf-8")
            .body(body),
        Ok(Rendered::Mail { html, .. }) => no_store(HttpResponse::Ok())
            .content_type("text/html; charset=utf-8")
            .body(with_reload(&html)),
        Ok(Rendered::Page(html)) if !text => no_store(HttpResponse::Ok())
            .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_CSP))
            .content_type("text/html; charset=utf-8")
            .body(with_reload(&html)),
        Ok(Rendered::Page(_)) => HttpResponse::NotFound().finish(),
        Err(e) => no_store(HttpResponse::InternalServerError())
            .content_type("text/plain; charset=utf-8")
            .body(e.to_string()),
    }
}

async fn asset(shared: web::Data<Shared>, name: web::Path<String>) -> HttpResponse {
    shared.refresh();
    let Ok(state) = shared.state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    match state
        .gallery
        .as_ref()
        .ok()
        .and_then(|g| g.templates.static_asset(&name))
    {
        Some((content_type, bytes)) => no_store(HttpResponse::Ok())
            .content_type(content_type)
            .body(bytes),
        None => HttpResponse::NotFound().finish(),
    }
}
