//! The two browser clients, each a built SPA: the candidates' at `/`, the operators'
//! console at `/admin/` (its own bundle, so candidates never download it). Paths of a
//! client that are not files get its `index.html`, so its own routes survive a reload.
//! `/admin` without the slash is redirected to `/admin/`; the API's `/api/v1/admin/…`
//! is a different path and never reaches the console.
//!
//! Caching: the build names every asset under a client's `assets/` after a hash of its
//! content (scripts/build-web.sh), so those never change and browsers keep them for a
//! year; `index.html`, under whatever route it is served, is revalidated on every load,
//! so a new build reaches users at once.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, CACHE_CONTROL, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpResponse, web};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Where the console lives.
pub const CONSOLE_PREFIX: &str = "/admin";

/// The candidate client at `/`; without a build, a page saying so answers every path
/// nothing else took.
pub fn configure(web_dir: PathBuf) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        if web_dir.join("index.html").is_file() {
            mount_spa(cfg, "", web_dir);
        } else {
            let notice = not_built_page("web client", &web_dir);
            cfg.default_service(web::to(move || not_built(notice.clone())));
        }
    }
}

/// The operator console at `/admin/`.
pub fn configure_console(console_dir: PathBuf) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.route(
            CONSOLE_PREFIX,
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header((header::LOCATION, "/admin/"))
                    .finish()
            }),
        );
        if console_dir.join("index.html").is_file() {
            mount_spa(cfg, CONSOLE_PREFIX, console_dir);
        } else {
            let notice = not_built_page("operator console", &console_dir);
            cfg.service(
                web::scope(CONSOLE_PREFIX)
                    .default_service(web::to(move || not_built(notice.clone()))),
            );
        }
    }
}

/// The SPA in `dir` at `prefix` (`""` for the root).
fn mount_spa(cfg: &mut web::ServiceConfig, prefix: &'static str, dir: PathBuf) {
    let index = dir.join("index.html");
    cfg.service(
        web::scope(prefix)
            .wrap(from_fn(move |req, next| cache_control(prefix, req, next)))
            .service(
                Files::new("/", &dir)
                    .index_file("index.html")
                    .default_handler(fn_service(move |req: ServiceRequest| {
                        let index = index.clone();
                        async move {
                            let (req, _) = req.into_parts();
                            // A missing asset is a 404, not the SPA: index.html under an
                            // asset's name would be cached as that asset.
                            if is_asset(prefix, req.path()) {
                                return Ok(ServiceResponse::new(
                                    req,
                                    HttpResponse::NotFound().finish(),
                                ));
                            }
                            let file = NamedFile::open_async(&index).await?;
                            Ok(ServiceResponse::new(req.clone(), file.into_response(&req)))
                        }
                    })),
            ),
    );
}

fn is_asset(prefix: &str, path: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.starts_with("/assets/"))
}

async fn cache_control(
    prefix: &'static str,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let hashed = is_asset(prefix, req.path());
    let mut response = next.call(req).await?;
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let policy = if hashed { IMMUTABLE } else { REVALIDATE };
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    Ok(response)
}

async fn not_built(notice: String) -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/html; charset=utf-8")
        .body(notice)
}

fn not_built_page(what: &str, dir: &Path) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>ExamFee</title>\
         <link rel=\"icon\" href=\"data:,\"><h1>ExamFee 在线收费系统</h1>\
         <p>The {what} is not built (looked for {}/index.html; scripts/build-web.sh builds it). \
         The API runs: see <a href=\"/swagger-ui/\">Swagger UI</a>.</p></html>",
        dir.display()
    )
}
