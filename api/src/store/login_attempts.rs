//! Password attempts per typed account name and client address, counted before the
//! password is checked (see `auth::lockout` for the policy).

use sqlx::Row;

use super::Db;

/// What one reservation is held against.
pub struct Limits {
    /// Attempts per account and address; the one that reaches it starts the lock.
    pub per_address: i64,
    /// Attempts per account from all addresses since `window_start_ms`.
    pub per_account: i64,
    pub window_start_ms: i64,
    pub lock_until_ms: i64,
}

/// A slot taken: the attempt's number at its address, and the lock it started if it
/// was the last one allowed.
pub struct Reserved {
    pub attempts: i64,
    pub locked_until: Option<i64>,
}

/// Takes one attempt in a single statement, or none (`None`) when the address is
/// locked for the account or the account's attempts from all addresses reached the
/// ceiling. Concurrent callers serialise on the row, so no more than `per_address`
/// of them get a slot. A lock that has run out starts the count again.
pub async fn reserve(
    db: &Db,
    account_key: &str,
    address: &str,
    now_ms: i64,
    limits: &Limits,
) -> sqlx::Result<Option<Reserved>> {
    // INSERT … SELECT … WHERE: the ceiling also holds for an address seen before,
    // since nothing is inserted, so nothing conflicts and nothing is updated.
    let row = sqlx::query(
        "INSERT INTO login_attempts (account_key, address, attempts, locked_until, updated_at)
         SELECT $1, $2, 1, CASE WHEN 1 >= $4 THEN $5 ELSE NULL END, $3
         WHERE (SELECT COALESCE(SUM(attempts), 0) FROM login_attempts
                WHERE account_key = $1 AND updated_at > $7) < $6
         ON CONFLICT (account_key, address) DO UPDATE SET
           updated_at = $3,
           attempts = CASE WHEN login_attempts.locked_until <= $3 THEN 1
                           ELSE login_attempts.attempts + 1 END,
           locked_until = CASE
             WHEN (CASE WHEN login_attempts.locked_until <= $3 THEN 1
                        ELSE login_attempts.attempts + 1 END) >= $4 THEN $5
             ELSE NULL END
         WHERE login_attempts.locked_until IS NULL OR login_attempts.locked_until <= $3
         RETURNING attempts, locked_until",
    )
    .bind(account_key)
    .bind(address)
    .bind(now_ms)
    .bind(limits.per_address)
    .bind(limits.lock_until_ms)
    .bind(limits.per_account)
    .bind(limits.window_start_ms)
    .fetch_optional(&mut *db.writer().await?)
    .await?;
    Ok(row.map(|r| Reserved {
        attempts: r.get(0),
        locked_until: r.get(1),
    }))
}

/// Until when a refused reservation stays refused: the address's own lock, else the
/// end of the window of the account's latest attempt (the ceiling).
pub async fn lock_end(
    db: &Db,
    account_key: &str,
    address: &str,
    now_ms: i64,
    window_ms: i64,
) -> sqlx::Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT MAX(CASE WHEN address = $2 AND locked_until > $3 THEN locked_until END),
                MAX(updated_at)
         FROM login_attempts WHERE account_key = $1 AND updated_at > $4",
    )
    .bind(account_key)
    .bind(address)
    .bind(now_ms)
    .bind(now_ms - window_ms)
    .fetch_one(&db.pool)
    .await?;
    let own: Option<i64> = row.get(0);
    let latest: Option<i64> = row.get(1);
    Ok(own.or(latest.map(|at| at + window_ms)))
}

pub(super) const CLEAR: &str = "DELETE FROM login_attempts WHERE account_key = $1 AND address = $2";

/// The password was right: the address starts again from nothing. A login clears
/// its count with the session it opens ([`super::sessions::open`]).
pub async fn clear(db: &Db, account_key: &str, address: &str) -> sqlx::Result<()> {
    sqlx::query(CLEAR)
        .bind(account_key)
        .bind(address)
        .execute(&mut *db.writer().await?)
        .await
        .map(drop)
}

/// Gives back one slot whose password was never checked (the hashing queue was full),
/// with the lock it started, if any. Only that one: a full queue must not wipe the
/// count of earlier wrong guesses.
pub async fn give_back(
    db: &Db,
    account_key: &str,
    address: &str,
    per_address: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE login_attempts SET attempts = attempts - 1,
           locked_until = CASE WHEN attempts - 1 >= $3 THEN locked_until ELSE NULL END
         WHERE account_key = $1 AND address = $2 AND attempts > 0",
    )
    .bind(account_key)
    .bind(address)
    .bind(per_address)
    .execute(&mut *db.writer().await?)
    .await
    .map(drop)
}

/// Forgets counts that are not locking anything and saw no attempt since `idle_before_ms`.
pub async fn purge_idle(db: &Db, now_ms: i64, idle_before_ms: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM login_attempts WHERE (locked_until IS NULL OR locked_until <= $1) AND updated_at < $2",
    )
    .bind(now_ms)
    .bind(idle_before_ms)
    .execute(&mut *db.writer().await?)
    .await?;
    Ok(done.rows_affected())
}
