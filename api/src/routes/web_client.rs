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
//!
//! Compression: the build also writes each hashed asset brotli- and gzip-compressed
//! beside it (`NAME.br`, `NAME.gz`, at the best ratios, too slow to do per request).
//! A request for the asset gets the best of those its `Accept-Encoding` allows, with
//! the asset's own type; the server's live compression leaves an answer that already
//! has a `Content-Encoding` alone.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::http::header::{
    self, AcceptEncoding, CACHE_CONTROL, ContentEncoding, Encoding, Header, HeaderValue, VARY,
};
use actix_web::http::{Method, StatusCode};
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
    let assets = dir.join("assets");
    cfg.service(
        web::scope(prefix)
            // Inside the caching policy, which covers the compressed answers too.
            .wrap(from_fn(move |req, next| {
                precompressed(prefix, assets.clone(), req, next)
            }))
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

/// The compressed forms the build writes, best first: brotli, then gzip.
const PRECOMPRESSED: [(ContentEncoding, &str); 2] = [
    (ContentEncoding::Brotli, "br"),
    (ContentEncoding::Gzip, "gz"),
];

/// A hashed asset's precompressed form when the request accepts one, else the plain
/// file as before; for an asset that has such forms, `Vary: Accept-Encoding`, since
/// the answer depends on it.
async fn precompressed(
    prefix: &'static str,
    assets: PathBuf,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody, impl MessageBody>>, actix_web::Error> {
    let reading = req.method() == Method::GET || req.method() == Method::HEAD;
    let forms: Vec<(ContentEncoding, PathBuf)> = match asset_name(prefix, req.path()) {
        Some(name) if reading => PRECOMPRESSED
            .into_iter()
            .map(|(encoding, extension)| (encoding, assets.join(format!("{name}.{extension}"))))
            .filter(|(_, path)| path.is_file())
            .collect(),
        _ => Vec::new(),
    };
    if forms.is_empty() {
        return Ok(next.call(req).await?.map_into_right_body());
    }
    let accepted = AcceptEncoding::parse(req.request())
        .ok()
        .and_then(|accept| {
            let offered = [Encoding::brotli(), Encoding::gzip(), Encoding::identity()];
            accept.negotiate(offered.iter())
        });
    let chosen = forms
        .into_iter()
        .find(|(encoding, _)| accepted.as_ref() == Some(&Encoding::Known(*encoding)));
    let mut response = match chosen {
        Some((encoding, path)) => {
            // Named after the original, so type and disposition are the original's.
            let original = path.with_extension("");
            let file = web::block(move || std::fs::File::open(path)).await??;
            let file = NamedFile::from_file(file, original)?.set_content_encoding(encoding);
            let (req, _) = req.into_parts();
            let response = file.into_response(&req);
            ServiceResponse::new(req, response).map_into_left_body()
        }
        None => next.call(req).await?.map_into_right_body(),
    };
    response
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    Ok(response)
}

/// The file name of a hashed asset in `path`, when it is a plain one (the build's
/// names: letters, digits, `-`, `_` and dots, no folder); else `None`, and the file
/// server decides.
fn asset_name<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    let name = path.strip_prefix(prefix)?.strip_prefix("/assets/")?;
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    (plain && !name.starts_with('.')).then_some(name)
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
