//! Lockout after wrong passwords, for logins and password changes alike.
//!
//! Policy:
//! - Attempts are counted per typed account name **and** client address (an IPv6
//!   client by its /64). Five wrong passwords from one address lock that address out of
//!   that account for 15 minutes; the owner, from any other address, still logs in
//!   (after the captcha every login asks for). So a stranger who knows an account name
//!   (an operator's, or a candidate's ID number) cannot lock its owner out by guessing.
//! - Against guessing from many addresses, the account as a whole takes at most
//!   [`ACCOUNT_CEILING`] attempts in any 15 minutes, whatever their addresses; beyond
//!   that every address waits until 15 minutes after the latest attempt. Keeping an
//!   owner out that way costs the attacker 50 solved captchas from at least ten
//!   addresses every 15 minutes, and never lasts longer than the attack.
//! - An attempt takes its slot in the database **before** the argon2 work, in one
//!   conditional upsert: concurrent guesses get no more verifications than the limit,
//!   and replicas share the count. A right password (with a right TOTP code, for an
//!   operator who has enrolled one) clears its address's count; a wrong or missing
//!   code is a failed attempt like a wrong password; a slot whose password was never
//!   checked (hashing queue full) is given back.
//! - Unknown account names count and lock exactly like known ones, so the answers do
//!   not tell which accounts exist.

use chrono::{DateTime, Duration, Utc};
use examfee_shared::Role;

use secrecy::SecretString;

use super::captcha::Answered;
use super::passwords::Credential;
use crate::at_rest::DataKeys;
use crate::clock::{from_ms, to_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{
    self,
    login_attempts::{AccountRow, Limits, Named, Reservation},
};

/// Wrong passwords from one address before it is locked out of the account.
pub const MAX_FAILURES: i64 = 5;
pub const LOCK_DURATION: Duration = Duration::minutes(15);
/// Attempts on one account from all addresses within [`LOCK_DURATION`].
pub const ACCOUNT_CEILING: i64 = 50;

/// Counts by what was typed, not by account, so unknown names lock the same way. The
/// key is an HMAC under a subkey of the master key: an unkeyed hash of an ID number
/// would give the ID number back to anyone trying the few million of a year's births
/// in a region.
pub fn account_key(keys: &DataKeys, role: Role, name: &str) -> String {
    keys.account_key(role.as_str(), name)
}

/// One password check allowed by the lockout; say how it went.
#[must_use = "an attempt is settled by `check` or `settle`"]
pub struct Attempt {
    account_key: String,
    address: String,
    locked_until: Option<i64>,
}

/// The count a right attempt clears: account key and address.
#[must_use = "a right attempt's count is cleared by its caller"]
pub struct Cleared {
    account_key: String,
    address: String,
}

impl Cleared {
    pub fn row(&self) -> (&str, &str) {
        (&self.account_key, &self.address)
    }
}

/// Takes a slot for one password check of `name` from `address`, or answers
/// `account_locked` without any hashing.
pub async fn reserve(
    state: &AppState,
    role: Role,
    name: &str,
    address: &str,
) -> ApiResult<Attempt> {
    let now = state.clock.now();
    let account_key = account_key(state.db.keys()?, role, name);
    let reservation =
        store::login_attempts::reserve(&state.db, &account_key, address, to_ms(now), &limits(now))
            .await?;
    taken(state, reservation, account_key, address, now).await
}

/// A login's [`reserve`]: its captcha is spent with the slot, in the same commit (a
/// wrong answer, or a captcha spent before, takes no slot and answers
/// `captcha_invalid`), and the account `name` names is read with it.
pub async fn reserve_login(
    state: &AppState,
    role: Role,
    name: &str,
    address: &str,
    captcha: Answered,
) -> ApiResult<(Attempt, Option<AccountRow>)> {
    if !captcha.is_right() {
        return captcha
            .spend(&state.db)
            .await
            .and(Err(ApiError::CaptchaInvalid));
    }
    let now = state.clock.now();
    let account_key = account_key(state.db.keys()?, role, name);
    let named = match role {
        Role::Candidate => Named::Candidate(name),
        Role::Operator => Named::Operator(name),
    };
    let (reservation, account) = store::login_attempts::reserve_login(
        &state.db,
        &captcha.spent(),
        named,
        &account_key,
        address,
        to_ms(now),
        &limits(now),
    )
    .await?;
    let attempt = taken(state, reservation, account_key, address, now).await?;
    Ok((attempt, account))
}

fn limits(now: DateTime<Utc>) -> Limits {
    Limits {
        per_address: MAX_FAILURES,
        per_account: ACCOUNT_CEILING,
        window_start_ms: to_ms(now - LOCK_DURATION),
        lock_until_ms: to_ms(now + LOCK_DURATION),
    }
}

/// The slot taken, or why there is none.
async fn taken(
    state: &AppState,
    reservation: Reservation,
    account_key: String,
    address: &str,
    now: DateTime<Utc>,
) -> ApiResult<Attempt> {
    match reservation {
        Reservation::Taken { locked_until } => Ok(Attempt {
            account_key,
            address: address.to_owned(),
            locked_until,
        }),
        Reservation::CaptchaSpent => Err(ApiError::CaptchaInvalid),
        Reservation::Refused => {
            let window = LOCK_DURATION.num_milliseconds();
            let until = store::login_attempts::lock_end(
                &state.db,
                &account_key,
                address,
                to_ms(now),
                window,
            )
            .await?
            // Refused an instant ago: a lock that ran out meanwhile is past.
            .map_or(now, from_ms);
            Err(ApiError::AccountLocked(until))
        }
    }
}

impl Attempt {
    /// The one argon2 verification this slot allows: `Ok` when `password` is right,
    /// else `wrong` (or the lock when this was the last try allowed).
    pub async fn check(
        self,
        state: &AppState,
        role: Role,
        credential: Credential,
        password: SecretString,
        wrong: ApiError,
    ) -> ApiResult<()> {
        let right = self.password_is_right(state, credential, password).await?;
        let cleared = self.settle(role, right, wrong)?;
        let (account_key, address) = cleared.row();
        store::login_attempts::clear(&state.db, account_key, address).await?;
        Ok(())
    }

    /// The one argon2 verification this slot allows, without settling the slot: a
    /// login with a second factor settles it once the code is checked too, so that a
    /// right password alone neither clears the count nor tells it was right. A
    /// password that could not be checked (hashing queue full) gives the slot back.
    pub async fn password_is_right(
        &self,
        state: &AppState,
        credential: Credential,
        password: SecretString,
    ) -> ApiResult<bool> {
        match state.passwords.verify(credential, password).await {
            Ok(right) => Ok(right),
            Err(error) => {
                self.unchecked(state).await?;
                Err(error.into())
            }
        }
    }

    /// Settles the slot: anything wrong leaves this attempt counted and answers
    /// `wrong`, or the lock when this was the last try allowed; everything right
    /// returns the count to clear, which a login clears with the session it opens, in
    /// the same commit ([`store::sessions::open`]), and [`Attempt::check`] at once.
    pub fn settle(self, role: Role, right: bool, wrong: ApiError) -> ApiResult<Cleared> {
        if right {
            Ok(Cleared {
                account_key: self.account_key,
                address: self.address,
            })
        } else {
            Err(self.failed(role, wrong))
        }
    }

    /// Something was wrong: `wrong`, or the lock if this was the last try allowed.
    fn failed(self, role: Role, wrong: ApiError) -> ApiError {
        match self.locked_until {
            Some(until) => {
                tracing::warn!(role = %role, "account locked for an address after repeated wrong passwords");
                ApiError::AccountLocked(from_ms(until))
            }
            None => wrong,
        }
    }

    /// The password was never checked: the slot is given back.
    async fn unchecked(&self, state: &AppState) -> ApiResult<()> {
        store::login_attempts::give_back(&state.db, &self.account_key, &self.address, MAX_FAILURES)
            .await?;
        Ok(())
    }
}
