//! How SQLite stores are opened: the URL (creating the file and its folder) and the
//! pragmas of every connection, with the two synchronous modes.

use std::path::Path;

use anyhow::Context;

/// How SQLite connections commit. WAL lets readers run beside the writer; the busy
/// timeout makes writers of other processes queue instead of failing.
pub(super) fn pragmas(synchronous: &str) -> String {
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;"
    )
}

/// The synchronous mode of the connection of write transactions, which hold the money
/// (orders, payments, refunds, receipts, the audit log): each commit reaches the disk
/// before it returns, as on PostgreSQL, so what was answered survives a power cut. The
/// lone bookkeeping writes of the other connections (sessions, captchas, sync claims)
/// commit without a flush of their own (NORMAL): a power cut may lose the last of
/// them, which costs a login or a sync again, and the next transaction's flush
/// carries them to the disk.
pub(super) const FULL: &str = "FULL";
pub(super) const NORMAL: &str = "NORMAL";

/// The file named by an `sqlite:` URL and the URL's query (empty when none).
pub(super) fn file_of_url(url: &str) -> (&str, &str) {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    rest.split_once('?').unwrap_or((rest, ""))
}

/// Creates the folder of the file and asks SQLite to create the file (`mode=rwc`)
/// unless the URL names a mode of its own.
pub(super) fn prepare_url(url: &str) -> anyhow::Result<String> {
    let (file, _) = file_of_url(url);
    if file != ":memory:"
        && let Some(dir) = Path::new(file)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(
            prepare_url("sqlite::memory:").unwrap(),
            "sqlite::memory:?mode=rwc"
        );
        assert_eq!(
            prepare_url("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
    }

    #[tokio::test]
    async fn sqlite_transactions_flush_their_commits_and_lone_writes_do_not() {
        let path = std::env::temp_dir().join(format!(
            "examfee-synchronous-{}.db",
            uuid::Uuid::new_v4().simple()
        ));
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let synchronous = "PRAGMA synchronous";
        let mut tx = db.begin_write().await.unwrap();
        let in_tx: i64 = sqlx::query_scalar(synchronous)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        drop(tx);
        let mut writer = db.writer().await.unwrap();
        let alone: i64 = sqlx::query_scalar(synchronous)
            .fetch_one(&mut *writer)
            .await
            .unwrap();
        // SQLite numbers them NORMAL = 1, FULL = 2.
        assert_eq!((in_tx, alone), (2, 1));
        drop(writer);
        db.pool.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
