//! What the machine can do with no server around the work: the ceilings that the
//! server's figures are divided by; and the platform's part of every order alone.

use std::cell::RefCell;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use examfee::store::Db;
use examfee_sandbox::client::PlatformClient;
use examfee_sandbox::protocol::CreateTrade;
use examfee_sandbox::signing::{Message, MessageKind};
use examfee_shared::Fen;

use crate::load::{self, Sample};

thread_local! {
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2id verifications a second on `threads` threads, each reusing its memory
/// block, with the parameters ExamFee hashes with.
#[allow(
    clippy::expect_used,
    reason = "a fixed password and salt, hashed here: a failure is a bug of the bench, and \
              the threads that measure have nowhere to return an error to"
)]
pub fn argon2_verify(threads: usize, total: usize) -> f64 {
    let salt = SaltString::from_b64("c2FsdHNhbHRzYWx0c2FsdA").expect("a salt");
    let hash = Argon2::default()
        .hash_password(b"Bench2026pay", &salt)
        .expect("hashing works")
        .to_string();
    load::on_threads(threads, total, move || {
        let parsed = PasswordHash::new(&hash).expect("a hash");
        let params = Params::try_from(&parsed).expect("params");
        let mut salt_buf = [0u8; 64];
        let salt = parsed
            .salt
            .expect("salt")
            .decode_b64(&mut salt_buf)
            .expect("salt bytes");
        let mut out = vec![0u8; parsed.hash.expect("output").len()];
        BLOCKS.with_borrow_mut(|blocks| {
            blocks.resize(params.block_count(), Block::default());
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into_with_memory(b"Bench2026pay", salt, &mut out, &mut blocks[..])
                .expect("verification runs");
        });
    })
}

/// HMAC-SHA256 verifications of a notification-sized body a second.
pub fn hmac_verify(threads: usize, total: usize, body: Vec<u8>) -> f64 {
    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    let message = |body: &[u8]| -> String {
        let m = Message {
            kind: MessageKind::Notification,
            method: "POST",
            path_and_query: "",
            timestamp: 1,
            nonce: "n",
            body,
        };
        m.sign(KEY)
    };
    let signature = message(&body);
    load::on_threads(threads, total, move || {
        let m = Message {
            kind: MessageKind::Notification,
            method: "POST",
            path_and_query: "",
            timestamp: 1,
            nonce: "n",
            body: &body,
        };
        assert!(m.verify(KEY, &signature));
    })
}

/// A connection pool to the same database (the bench reads through it too) with a
/// table for [`commits`] to fill.
pub async fn commit_table(database_url: &str) -> anyhow::Result<Db> {
    let db = Db::connect(database_url).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_commits (id TEXT PRIMARY KEY, at BIGINT NOT NULL)",
    )
    .execute(&db.pool)
    .await?;
    Ok(db)
}

/// Single-row write transactions a second on the same database, `concurrency` at a
/// time: what any state change costs at the least.
pub async fn commits(db: &Db, concurrency: usize, total: usize) -> Sample {
    let db = db.clone();
    load::drive(concurrency, total, move |i| {
        let db = db.clone();
        async move {
            let Ok(mut tx) = db.begin_write().await else {
                return false;
            };
            let inserted = sqlx::query("INSERT INTO bench_commits (id, at) VALUES ($1, $2)")
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(i as i64)
                .execute(&mut *tx)
                .await
                .is_ok();
            inserted && tx.commit().await.is_ok()
        }
    })
    .await
}

/// Trades created at the platform a second, `concurrency` at a time, each a signed
/// call over loopback as ExamFee makes inside every order, with a number of its own.
pub async fn platform_trades(
    platform: &Arc<PlatformClient>,
    round: usize,
    concurrency: usize,
    total: usize,
) -> Sample {
    let platform = platform.clone();
    load::drive(concurrency, total, move |i| {
        let platform = platform.clone();
        async move {
            let request = CreateTrade {
                out_trade_no: format!("BENCH{round}T{i:08}"),
                amount_fen: Fen(15_000),
                subject: "报名费、考试费".to_owned(),
                notify_url: "http://127.0.0.1:9/notify".to_owned(),
                return_url: "http://127.0.0.1:9/return".to_owned(),
                expires_at: None,
            };
            platform.create_trade(&request).await.is_ok()
        }
    })
    .await
}
