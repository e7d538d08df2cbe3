//! The operator console at `/admin/`: its own bundle beside the candidate client,
//! with the client's SPA fallback and security headers, and the API's
//! `/api/v1/admin/…` left alone.

use examfee::security_headers::WEB_CLIENT_POLICY;
use reqwest::StatusCode;

use crate::helpers::*;

const CANDIDATE_INDEX: &str = "<!DOCTYPE html><title>candidate</title><script type=\"module\" src=\"/assets/boot-1.js\"></script>";
const CONSOLE_INDEX: &str = "<!DOCTYPE html><title>console</title>\
     <script type=\"module\" src=\"/admin/assets/boot-c.js\"></script>";

/// A built client in a folder of its own: `index` and one hashed asset.
fn built(index: &str, asset: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("examfee_spa_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), index).unwrap();
    std::fs::write(dir.join("assets").join(asset), "// loader").unwrap();
    dir
}

async fn body(app: &TestApp, path: &str) -> (StatusCode, Option<String>, String) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let status = response.status();
    let policy = response
        .headers()
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, policy, response.text().await.unwrap())
}

#[tokio::test]
async fn the_console_is_served_at_admin_with_its_own_fallback_and_the_clients_policy() {
    let web = built(CANDIDATE_INDEX, "boot-1.js");
    let console = built(CONSOLE_INDEX, "boot-c.js");
    let app = spawn_app_with(|c| {
        c.web_dir = web.clone();
        c.console_dir = console.clone();
    })
    .await;

    // The console's index, and its deep links falling back to it.
    for path in ["/admin/", "/admin/refunds", "/admin/orders?status=paid"] {
        let (status, policy, text) = body(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(text, CONSOLE_INDEX, "{path}");
        assert_eq!(policy.as_deref(), Some(WEB_CLIENT_POLICY), "{path}");
    }
    // Without the slash: redirected, so that the console's relative world is /admin/.
    let bare = app.client.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(bare.headers()["location"], "/admin/");
    // Its hashed assets are cached for good; a missing one is a 404, not the index.
    let asset = app
        .client
        .get(app.url("/admin/assets/boot-c.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let (missing, _, _) = body(&app, "/admin/assets/gone.js").await;
    assert_eq!(missing, StatusCode::NOT_FOUND);

    // The candidates' client stays the candidates': its index at / and its routes,
    // none of it naming the console.
    for path in ["/", "/fees", "/administration"] {
        let (status, _, text) = body(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(text, CANDIDATE_INDEX, "{path}");
        assert!(!text.contains("/admin/"), "{path}");
    }
    let (status, _, _) = body(&app, "/assets/boot-c.js").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the console's asset is not the client's"
    );

    // The operator API is untouched: JSON problems, never the console's page.
    let (status, _, text) = body(&app, "/api/v1/admin/exams").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(text.contains("\"code\""), "{text}");
    let admin = app.admin_token().await;
    let exams = app.get("/api/v1/admin/exams", &admin).await;
    assert_eq!(exams.status(), StatusCode::OK);
    assert!(
        exams.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );

    std::fs::remove_dir_all(web).unwrap();
    std::fs::remove_dir_all(console).unwrap();
}

/// The real builds of scripts/build-web.sh, when both are there: the candidate bundle
/// names none of the console's files.
#[test]
fn the_built_candidate_client_does_not_reference_the_console() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (web, console) = (root.join("web/dist"), root.join("console/dist"));
    let (Ok(web_assets), Ok(console_assets)) = (
        std::fs::read_dir(web.join("assets")),
        std::fs::read_dir(console.join("assets")),
    ) else {
        return;
    };
    let console_names: Vec<String> = console_assets
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut candidate_texts = vec![std::fs::read_to_string(web.join("index.html")).unwrap()];
    for entry in web_assets {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "js" || e == "css") {
            candidate_texts.push(std::fs::read_to_string(path).unwrap());
        }
    }
    for text in &candidate_texts {
        assert!(!text.contains("/admin/"));
        for name in &console_names {
            assert!(!text.contains(name.as_str()), "{name}");
        }
    }
}
