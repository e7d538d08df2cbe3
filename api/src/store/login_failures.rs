//! Wrong-password counting per typed account name, for lockout.

use sqlx::Row;

use super::Db;

pub async fn locked_until(db: &Db, key: &str, now_ms: i64) -> sqlx::Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT locked_until FROM login_failures WHERE account_key = $1 AND locked_until > $2",
    )
    .bind(key)
    .bind(now_ms)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Counts one failure in a single statement (two concurrent failures both count) and
/// returns the lock end when this failure reached `max_failures`. A lock that has run
/// out starts the count again.
pub async fn record_failure(
    db: &Db,
    key: &str,
    now_ms: i64,
    max_failures: i64,
    lock_until_ms: i64,
) -> sqlx::Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO login_failures (account_key, failures, locked_until, updated_at)
         VALUES ($1, 1, CASE WHEN 1 >= $3 THEN $4 ELSE NULL END, $2)
         ON CONFLICT (account_key) DO UPDATE SET
           updated_at = $2,
           failures = CASE WHEN login_failures.locked_until <= $2 THEN 1
                           ELSE login_failures.failures + 1 END,
           locked_until = CASE
             WHEN login_failures.locked_until > $2 THEN login_failures.locked_until
             WHEN (CASE WHEN login_failures.locked_until <= $2 THEN 1
                        ELSE login_failures.failures + 1 END) >= $3 THEN $4
             ELSE NULL END
         RETURNING locked_until",
    )
    .bind(key)
    .bind(now_ms)
    .bind(max_failures)
    .bind(lock_until_ms)
    .fetch_one(&mut *db.writer().await?)
    .await?;
    Ok(row.get::<Option<i64>, _>(0))
}

pub async fn clear(db: &Db, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE account_key = $1")
        .bind(key)
        .execute(&mut *db.writer().await?)
        .await
        .map(drop)
}

/// Forgets counts that are not locking anything and saw no failure since `idle_before_ms`.
pub async fn purge_idle(db: &Db, now_ms: i64, idle_before_ms: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM login_failures WHERE (locked_until IS NULL OR locked_until <= $1) AND updated_at < $2",
    )
    .bind(now_ms)
    .bind(idle_before_ms)
    .execute(&mut *db.writer().await?)
    .await?;
    Ok(done.rows_affected())
}
