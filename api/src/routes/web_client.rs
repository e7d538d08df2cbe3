//! The candidate web client (the built SPA) at `/`. Paths that are not files get
//! `index.html`, so the SPA's own routes survive a reload.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::{HttpResponse, web};

pub fn configure(web_dir: PathBuf) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let index = web_dir.join("index.html");
        if index.is_file() {
            cfg.service(
                Files::new("/", &web_dir)
                    .index_file("index.html")
                    .default_handler(fn_service(move |req: ServiceRequest| {
                        let index = index.clone();
                        async move {
                            let (req, _) = req.into_parts();
                            let file = NamedFile::open_async(&index).await?;
                            Ok(ServiceResponse::new(req.clone(), file.into_response(&req)))
                        }
                    })),
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

fn not_built_page(web_dir: &Path) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>ExamFee</title>\
         <link rel=\"icon\" href=\"data:,\"><h1>ExamFee 在线收费系统</h1>\
         <p>The web client is not built (looked for {}/index.html). The API runs: \
         see <a href=\"/swagger-ui/\">Swagger UI</a>.</p></html>",
        web_dir.display()
    )
}
