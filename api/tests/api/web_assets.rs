//! The browser clients' hashed assets as scripts/build-web.sh leaves them: each beside
//! its brotli and gzip forms, of which the server sends the best the browser accepts,
//! with the asset's own type and caching, and never compressed a second time.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::helpers::*;

const WASM: &[u8] = b"\0asm plain module bytes, long enough to be worth compressing";
const BROTLI: &[u8] = b"brotli form";
const GZIP: &[u8] = b"gzip form";

/// A built client in a folder of its own: an index, `app-1.wasm` and `app-1.js` each
/// with its two compressed forms (marker bytes, so the test sees which was sent), and
/// `plain-1.css` without them.
fn built(index: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("examfee_pc_{}", uuid::Uuid::new_v4().simple()));
    let assets = dir.join("assets");
    std::fs::create_dir_all(&assets).unwrap();
    std::fs::write(dir.join("index.html"), index).unwrap();
    for name in ["app-1.wasm", "app-1.js"] {
        std::fs::write(assets.join(name), WASM).unwrap();
        std::fs::write(assets.join(format!("{name}.br")), BROTLI).unwrap();
        std::fs::write(assets.join(format!("{name}.gz")), GZIP).unwrap();
    }
    std::fs::write(
        assets.join("plain-1.css"),
        "body { color: black; }".repeat(40),
    )
    .unwrap();
    dir
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// GET `path` accepting `encodings` (no header when `None`): status, headers, body.
async fn fetch(
    app: &TestApp,
    path: &str,
    encodings: Option<&str>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = app.client.get(app.url(path));
    if let Some(encodings) = encodings {
        request = request.header("accept-encoding", encodings);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn hashed_assets_go_out_in_the_best_precompressed_form_the_browser_accepts() {
    let web = built("<!DOCTYPE html><title>candidate</title>");
    let console = built("<!DOCTYPE html><title>console</title>");
    let app = spawn_app_with(|c| {
        c.web_dir = web.clone();
        c.console_dir = console.clone();
    })
    .await;

    for prefix in ["", "/admin"] {
        let wasm = format!("{prefix}/assets/app-1.wasm");
        // (Accept-Encoding, the form sent and its Content-Encoding)
        let cases: [(Option<&str>, &[u8], Option<&str>); 7] = [
            (Some("gzip, deflate, br, zstd"), BROTLI, Some("br")),
            (Some("br"), BROTLI, Some("br")),
            (Some("gzip"), GZIP, Some("gzip")),
            (Some("br;q=0.5, gzip"), GZIP, Some("gzip")),
            (Some("br;q=0, gzip;q=0"), WASM, None),
            (Some("identity"), WASM, None),
            (None, WASM, None),
        ];
        for (accept, body, encoding) in cases {
            let what = format!("{wasm} accepting {accept:?}");
            let (status, headers, sent) = fetch(&app, &wasm, accept).await;
            assert_eq!(status, StatusCode::OK, "{what}");
            assert_eq!(sent, body, "{what}");
            // One encoding, the file's: the live compression left it alone.
            let encodings: Vec<_> = headers.get_all("content-encoding").iter().collect();
            assert_eq!(encodings.len(), usize::from(encoding.is_some()), "{what}");
            assert_eq!(header(&headers, "content-encoding"), encoding, "{what}");
            assert_eq!(
                header(&headers, "content-type"),
                Some("application/wasm"),
                "{what}"
            );
            assert_eq!(header(&headers, "vary"), Some("Accept-Encoding"), "{what}");
            assert_eq!(
                header(&headers, "cache-control"),
                Some("public, max-age=31536000, immutable"),
                "{what}"
            );
        }

        // A script keeps its type (and charset) in brotli.
        let js = format!("{prefix}/assets/app-1.js");
        let (_, plain, _) = fetch(&app, &js, None).await;
        let (_, headers, sent) = fetch(&app, &js, Some("gzip, br")).await;
        assert_eq!(sent, BROTLI, "{js}");
        assert_eq!(header(&headers, "content-encoding"), Some("br"), "{js}");
        assert!(
            header(&headers, "content-type").is_some_and(|t| t.contains("javascript")),
            "{js}: {headers:?}"
        );
        assert_eq!(
            header(&headers, "content-type"),
            header(&plain, "content-type"),
            "{js}"
        );

        // An asset without compressed forms is compressed live, as before.
        let css = format!("{prefix}/assets/plain-1.css");
        let (status, headers, _) = fetch(&app, &css, Some("gzip, br")).await;
        assert_eq!(status, StatusCode::OK, "{css}");
        assert_eq!(header(&headers, "content-encoding"), Some("gzip"), "{css}");

        // A missing asset is still a 404, whatever is accepted.
        let gone = format!("{prefix}/assets/gone-1.wasm");
        let (status, _, _) = fetch(&app, &gone, Some("br, gzip")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    }

    // Each client its own files: the same name differs between the two folders.
    std::fs::write(console.join("assets/app-1.wasm.br"), b"console brotli").unwrap();
    let (_, _, candidate) = fetch(&app, "/assets/app-1.wasm", Some("br")).await;
    let (_, _, operator) = fetch(&app, "/admin/assets/app-1.wasm", Some("br")).await;
    assert_eq!(candidate, BROTLI);
    assert_eq!(operator, b"console brotli");

    std::fs::remove_dir_all(web).unwrap();
    std::fs::remove_dir_all(console).unwrap();
}
