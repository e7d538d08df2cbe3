//! The candidate web client (the built SPA) at `/`. Paths that are not files get
//! `index.html`, so the SPA's own routes survive a reload.
//!
//! Caching: the build names every asset under `/assets/` after a hash of its content
//! (scripts/build-web.sh), so those never change and browsers keep them for a year;
//! `index.html`, under whatever route it is served, is revalidated on every load, so a
//! new build reaches candidates at once.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpResponse, web};

const ASSETS: &str = "/assets/";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

pub fn configure(web_dir: PathBuf) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let index = web_dir.join("index.html");
        if index.is_file() {
            cfg.service(
                web::scope("").wrap(from_fn(cache_control)).service(
                    Files::new("/", &web_dir)
                        .index_file("index.html")
                        .default_handler(fn_service(move |req: ServiceRequest| {
                            let index = index.clone();
                            async move {
                                let (req, _) = req.into_parts();
                                // A missing asset is a 404, not the SPA: index.html under
                                // an asset's name would be cached as that asset.
                                if req.path().starts_with(ASSETS) {
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
        } else {
            let notice = not_built_page(&web_dir);
            cfg.default_service(web::to(move || {
                let notice = notice.clone();
                async move {
                    HttpResponse::NotFound()
                        .content_type("text/html; charset=utf-8")
                        .body(notice)
                }
            }));
        }
    }
}

async fn cache_control(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let hashed = req.path().starts_with(ASSETS);
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

fn not_built_page(web_dir: &Path) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>ExamFee</title>\
         <link rel=\"icon\" href=\"data:,\"><h1>ExamFee 在线收费系统</h1>\
         <p>The web client is not built (looked for {}/index.html). The API runs: \
         see <a href=\"/swagger-ui/\">Swagger UI</a>.</p></html>",
        web_dir.display()
    )
}
