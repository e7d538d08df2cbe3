//! argon2id hashing and verification, off the async workers and bounded in
//! concurrency: at the opening of a payment window thousands of logins arrive at once,
//! and each hash takes ~19 MiB and tens of milliseconds of one core.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::telemetry::spawn_blocking_in_span;

/// What an account's password is checked against.
pub enum Credential {
    /// No such account: checked against a throwaway hash, so the answer takes as long.
    Unknown,
    /// The initial password, derived from the ID number and never stored.
    Initial(String),
    Hashed(String),
}

#[derive(Clone)]
pub struct Passwords {
    dummy_hash: Arc<str>,
    permits: Arc<Semaphore>,
}

impl Passwords {
    pub fn new() -> anyhow::Result<Passwords> {
        let mut random = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut random);
        let dummy: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Passwords {
            dummy_hash: hash_now(&dummy)?.into(),
            permits: Arc::new(Semaphore::new(cores * 2)),
        })
    }

    pub async fn hash(&self, password: SecretString) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        spawn_blocking_in_span(move || hash_now(password.expose_secret())).await?
    }

    /// Every kind of credential costs exactly one argon2 verification, so response
    /// time does not tell unknown accounts, initial passwords and changed ones apart.
    pub async fn verify(
        &self,
        credential: Credential,
        password: SecretString,
    ) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let dummy = self.dummy_hash.clone();
        spawn_blocking_in_span(move || {
            let typed = password.expose_secret();
            match credential {
                Credential::Unknown => {
                    verify_now(&dummy, typed);
                    false
                }
                Credential::Initial(expected) => {
                    verify_now(&dummy, typed);
                    bool::from(expected.as_bytes().ct_eq(typed.as_bytes()))
                }
                Credential::Hashed(hash) => verify_now(&hash, typed),
            }
        })
        .await
    }
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

fn verify_now(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_each_kind_of_credential() {
        let passwords = Passwords::new().unwrap();
        let secret = |s: &str| SecretString::from(s.to_owned());
        let hash = passwords.hash(secret("Exam2026pay")).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            passwords
                .verify(Credential::Hashed(hash.clone()), secret("Exam2026pay"))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify(Credential::Hashed(hash), secret("exam2026pay"))
                .await
                .unwrap()
        );
        assert!(
            passwords
                .verify(Credential::Initial("31002X".into()), secret("31002X"))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify(Credential::Initial("31002X".into()), secret("31002x"))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify(Credential::Unknown, secret("31002X"))
                .await
                .unwrap()
        );
    }
}
