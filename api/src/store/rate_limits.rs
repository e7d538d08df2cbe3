//! Per-address request quotas shared by every replica (generic cell rate algorithm).

use super::Db;

/// Takes one request from `bucket` in a single statement: each request pushes the
/// bucket's `ready_at` (when it is full again) `interval_ms` further, and is refused,
/// changing nothing, when that would go beyond `now + period_ms`. So `period_ms /
/// interval_ms` requests may come at once, then one per `interval_ms`.
pub async fn take(
    db: &Db,
    bucket: &str,
    now_ms: i64,
    interval_ms: i64,
    period_ms: i64,
) -> sqlx::Result<bool> {
    let row = sqlx::query(
        "INSERT INTO rate_limits (bucket, ready_at) VALUES ($1, $2 + $3)
         ON CONFLICT (bucket) DO UPDATE SET
           ready_at = (CASE WHEN rate_limits.ready_at > $2 THEN rate_limits.ready_at ELSE $2 END) + $3
         WHERE (CASE WHEN rate_limits.ready_at > $2 THEN rate_limits.ready_at ELSE $2 END) + $3 <= $2 + $4
         RETURNING ready_at",
    )
    .bind(bucket)
    .bind(now_ms)
    .bind(interval_ms)
    .bind(period_ms)
    .fetch_optional(&mut *db.writer().await?)
    .await?;
    Ok(row.is_some())
}

/// Forgets buckets that are full again: they would start afresh anyway.
pub async fn purge_full(db: &Db, now_ms: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM rate_limits WHERE ready_at <= $1")
        .bind(now_ms)
        .execute(&mut *db.writer().await?)
        .await?;
    Ok(done.rows_affected())
}
