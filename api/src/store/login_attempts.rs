//! Password attempts per typed account name and client address, counted before the
//! password is checked (see `auth::lockout` for the policy).

use std::sync::LazyLock;

use sqlx::Row;

use super::candidates::{self, CandidateRow};
use super::captchas::{Spent, USE_UP};
use super::local_writes::{LocalWriter, execute, query};
use super::operators::{self, OperatorRow};
use super::{AnyQuery, Db, renumbered};

/// What one reservation is held against.
pub struct Limits {
    /// Attempts per account and address; the one that reaches it starts the lock.
    pub per_address: i64,
    /// Attempts per account from all addresses since `window_start_ms`.
    pub per_account: i64,
    pub window_start_ms: i64,
    pub lock_until_ms: i64,
}

/// What a reservation came to.
pub enum Reservation {
    /// A slot taken, with the lock it started if it was the last one allowed.
    Taken { locked_until: Option<i64> },
    /// The address is locked for the account, or the account's attempts from all
    /// addresses reached the ceiling.
    Refused,
    /// The captcha the attempt was to spend had been spent: nothing was written.
    CaptchaSpent,
}

/// Takes one attempt (`$1`…`$7`), unless `gate` (a condition ending in `AND`, or
/// nothing) is false.
///
/// INSERT … SELECT … WHERE: the ceiling also holds for an address seen before,
/// since nothing is inserted, so nothing conflicts and nothing is updated.
fn reserve_sql(gate: &str) -> String {
    format!(
        "INSERT INTO login_attempts (account_key, address, attempts, locked_until, updated_at)
         SELECT $1, $2, 1, CASE WHEN 1 >= $4 THEN $5 ELSE NULL END, $3
         WHERE {gate} (SELECT COALESCE(SUM(attempts), 0) FROM login_attempts
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
         RETURNING attempts, locked_until"
    )
}

static RESERVE: LazyLock<String> = LazyLock::new(|| reserve_sql(""));

/// The account a login names: a candidate by ID number, an operator by username.
#[derive(Clone, Copy)]
pub enum Named<'a> {
    Candidate(&'a str),
    Operator(&'a str),
}

/// The account a login named, read with its slot.
pub enum AccountRow {
    Candidate(CandidateRow),
    Operator(OperatorRow),
}

impl Named<'_> {
    /// Reads the account on its own.
    async fn find(self, db: &Db) -> sqlx::Result<Option<AccountRow>> {
        Ok(match self {
            Named::Candidate(id_number) => candidates::find_by_id_number(db, id_number)
                .await?
                .map(AccountRow::Candidate),
            Named::Operator(username) => operators::find_by_username(db, username)
                .await?
                .map(AccountRow::Operator),
        })
    }
}

/// PostgreSQL: a login's captcha nonce used up (`$1`, `$2`), the slot taken only if
/// the nonce was fresh, and the account named by `$10` read with the `account` query,
/// in one statement; one row: whether the nonce was fresh, the slot, the account's
/// columns (NULL when there is none).
fn login_sql(account: &str) -> String {
    format!(
        "WITH used AS ({USE_UP} RETURNING 1), slot AS ({})
         SELECT (SELECT COUNT(*) FROM used) AS fresh, slot.attempts, slot.locked_until, account.*
         FROM (SELECT 1) AS one LEFT JOIN slot ON true LEFT JOIN ({account}) AS account ON true",
        renumbered(&reserve_sql("EXISTS (SELECT 1 FROM used) AND"), 2)
    )
}

static CANDIDATE_LOGIN: LazyLock<String> =
    LazyLock::new(|| login_sql(&candidates::by_id_number_index_sql(10)));
static OPERATOR_LOGIN: LazyLock<String> =
    LazyLock::new(|| login_sql(&operators::by_username_sql(10)));

/// Takes one attempt of a password check, or none when the address is locked for
/// the account or the account's attempts from all addresses reached the ceiling.
/// Concurrent callers serialise on the rows, so no more than `per_address` of them
/// get a slot. A lock that has run out starts the count again.
pub async fn reserve(
    db: &Db,
    account_key: &str,
    address: &str,
    now_ms: i64,
    limits: &Limits,
) -> sqlx::Result<Reservation> {
    if let Some(writer) = db.local_writer() {
        return reserve_locally(writer, None, account_key, address, now_ms, limits).await;
    }
    let row = bind_slot(sqlx::query(&RESERVE), account_key, address, now_ms, limits)
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(row) => Reservation::Taken {
            locked_until: row.try_get(1)?,
        },
        None => Reservation::Refused,
    })
}

/// A login's [`reserve`]: its `captcha` is spent in the same commit (a spent one takes
/// no slot, and of two logins with the same captcha only one gets one), and the account
/// it names is read, when it got a slot. One statement on PostgreSQL; on SQLite one
/// job of the writer thread, then the read on the calling thread.
pub async fn reserve_login(
    db: &Db,
    captcha: &Spent<'_>,
    named: Named<'_>,
    account_key: &str,
    address: &str,
    now_ms: i64,
    limits: &Limits,
) -> sqlx::Result<(Reservation, Option<AccountRow>)> {
    if let Some(writer) = db.local_writer() {
        let reservation =
            reserve_locally(writer, Some(captcha), account_key, address, now_ms, limits).await?;
        let account = match reservation {
            Reservation::Taken { .. } => named.find(db).await?,
            Reservation::Refused | Reservation::CaptchaSpent => None,
        };
        return Ok((reservation, account));
    }
    let keys = db.keys()?;
    let (sql, name) = match named {
        Named::Candidate(id_number) => (&*CANDIDATE_LOGIN, keys.id_number_index(id_number)),
        Named::Operator(username) => (&*OPERATOR_LOGIN, username.to_owned()),
    };
    let query = sqlx::query(sql)
        .bind(captcha.nonce)
        .bind(captcha.expires_at_ms);
    let row = bind_slot(query, account_key, address, now_ms, limits)
        .bind(name)
        .fetch_one(&db.pool)
        .await?;
    let fresh: i64 = row.try_get("fresh")?;
    let attempts: Option<i64> = row.try_get("attempts")?;
    Ok(match (fresh, attempts) {
        (0, _) => (Reservation::CaptchaSpent, None),
        (_, None) => (Reservation::Refused, None),
        (_, Some(_)) => {
            let locked_until = row.try_get("locked_until")?;
            let account = match named {
                Named::Candidate(_) => {
                    candidates::read_found(keys, &row)?.map(AccountRow::Candidate)
                }
                Named::Operator(_) => operators::read_found(db, &row)?.map(AccountRow::Operator),
            };
            (Reservation::Taken { locked_until }, account)
        }
    })
}

/// The slot's values, `$1`…`$7` of [`reserve_sql`] after whatever `query` has bound.
fn bind_slot<'q>(
    query: AnyQuery<'q>,
    account_key: &str,
    address: &str,
    now_ms: i64,
    limits: &Limits,
) -> AnyQuery<'q> {
    query
        .bind(account_key.to_owned())
        .bind(address.to_owned())
        .bind(now_ms)
        .bind(limits.per_address)
        .bind(limits.lock_until_ms)
        .bind(limits.per_account)
        .bind(limits.window_start_ms)
}

/// SQLite: the captcha spent, if any, and the slot taken, in one job of the writer.
async fn reserve_locally(
    writer: &LocalWriter,
    captcha: Option<&Spent<'_>>,
    account_key: &str,
    address: &str,
    now_ms: i64,
    limits: &Limits,
) -> sqlx::Result<Reservation> {
    let captcha = captcha.map(|c| (c.nonce.to_owned(), c.expires_at_ms));
    let (account_key, address) = (account_key.to_owned(), address.to_owned());
    let &Limits {
        per_address,
        per_account,
        window_start_ms,
        lock_until_ms,
    } = limits;
    writer
        .run(move |conn| {
            if let Some((nonce, expires_at_ms)) = &captcha
                && execute(conn, USE_UP, &[nonce, expires_at_ms])? == 0
            {
                return Ok(Reservation::CaptchaSpent);
            }
            let values: [&dyn rusqlite::ToSql; 7] = [
                &account_key,
                &address,
                &now_ms,
                &per_address,
                &lock_until_ms,
                &per_account,
                &window_start_ms,
            ];
            let taken = query(conn, &RESERVE, &values, |row| row.get(1))?;
            Ok(taken
                .into_iter()
                .next()
                .map_or(Reservation::Refused, |locked_until| Reservation::Taken {
                    locked_until,
                }))
        })
        .await
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
