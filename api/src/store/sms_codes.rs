//! One-time SMS codes (`sms_codes`): at most one live code per candidate, stored as a
//! keyed hash. Every change is one conditional statement, so that concurrent requests
//! cannot both send past the throttle, both count as the same try, or both use a code.

use sqlx::Row;

use super::{Db, Exec, Tx};

/// A new code to store, with the limits its sending must respect.
pub struct NewCode<'a> {
    pub candidate_id: &'a str,
    pub purpose: &'a str,
    pub code_hash: &'a str,
    pub now_ms: i64,
    pub expires_at_ms: i64,
    /// The previous code must have been sent at or before this time.
    pub resend_after_ms: i64,
    /// The hourly count restarts when its hour began at or before this time.
    pub hour_ago_ms: i64,
    pub per_hour: i64,
}

/// Stores the code unless the throttle forbids a new one now; true when stored. A new
/// code replaces the candidate's previous one (whatever its purpose, used or not).
pub async fn replace(tx: &mut Tx, code: &NewCode<'_>) -> sqlx::Result<bool> {
    let stored = sqlx::query(
        "INSERT INTO sms_codes (candidate_id, purpose, code_hash, sent_at, expires_at, attempts,
                                used_at, hour_started_at, sent_this_hour)
         VALUES ($1, $2, $3, $4, $5, 0, NULL, $4, 1)
         ON CONFLICT (candidate_id) DO UPDATE SET
             purpose = excluded.purpose, code_hash = excluded.code_hash,
             sent_at = excluded.sent_at, expires_at = excluded.expires_at,
             attempts = 0, used_at = NULL,
             hour_started_at = CASE WHEN sms_codes.hour_started_at <= $7
                                    THEN excluded.sent_at ELSE sms_codes.hour_started_at END,
             sent_this_hour = CASE WHEN sms_codes.hour_started_at <= $7
                                   THEN 1 ELSE sms_codes.sent_this_hour + 1 END
         WHERE sms_codes.sent_at <= $6
           AND (sms_codes.hour_started_at <= $7 OR sms_codes.sent_this_hour < $8)
         RETURNING candidate_id",
    )
    .bind(code.candidate_id)
    .bind(code.purpose)
    .bind(code.code_hash)
    .bind(code.now_ms)
    .bind(code.expires_at_ms)
    .bind(code.resend_after_ms)
    .bind(code.hour_ago_ms)
    .bind(code.per_hour)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(stored.is_some())
}

/// When the candidate's latest code was sent, and when their hour of sends began and
/// how many it holds: what a refused resend waits for.
pub async fn last_sent(db: &Db, candidate_id: &str) -> sqlx::Result<Option<(i64, i64, i64)>> {
    let row = sqlx::query(
        "SELECT sent_at, hour_started_at, sent_this_hour FROM sms_codes WHERE candidate_id = $1",
    )
    .bind(candidate_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
}

/// Forgets a code that could not be sent, so that asking again is not throttled by it.
pub async fn withdraw(db: &Db, candidate_id: &str, code_hash: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE sms_codes SET expires_at = 0, sent_at = 0 WHERE candidate_id = $1 AND code_hash = $2",
    )
    .bind(candidate_id)
    .bind(code_hash)
    .execute(&mut *db.writer().await?)
    .await
    .map(drop)
}

/// Counts a try at the candidate's live code of this purpose and returns its hash;
/// `None` when there is none (never sent, expired, used, or out of tries). The try
/// is counted whether or not the caller then finds the code right.
pub async fn take_try(
    db: &Db,
    candidate_id: &str,
    purpose: &str,
    now_ms: i64,
    max_tries: i64,
) -> sqlx::Result<Option<String>> {
    let row = sqlx::query(
        "UPDATE sms_codes SET attempts = attempts + 1
         WHERE candidate_id = $1 AND purpose = $2 AND used_at IS NULL
           AND expires_at > $3 AND attempts < $4
         RETURNING code_hash",
    )
    .bind(candidate_id)
    .bind(purpose)
    .bind(now_ms)
    .bind(max_tries)
    .fetch_optional(&mut *db.writer().await?)
    .await?;
    Ok(row.map(|r| r.get(0)))
}

const USE_UP: &str = "UPDATE sms_codes SET used_at = $4
     WHERE candidate_id = $1 AND purpose = $2 AND code_hash = $3
       AND used_at IS NULL AND expires_at > $4";

/// Uses the code up in the caller's transaction: true for exactly one caller.
pub async fn use_up(
    tx: &mut impl Exec,
    candidate_id: &str,
    purpose: &str,
    code_hash: &str,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let values = [
        candidate_id.into(),
        purpose.into(),
        code_hash.into(),
        now_ms.into(),
    ];
    Ok(tx.execute(USE_UP, &values).await? == 1)
}

/// Removes codes that expired before `before_ms` (their throttle is over too).
pub async fn purge_expired(db: &Db, before_ms: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM sms_codes WHERE expires_at < $1")
        .bind(before_ms)
        .execute(&mut *db.writer().await?)
        .await?;
    Ok(done.rows_affected())
}
