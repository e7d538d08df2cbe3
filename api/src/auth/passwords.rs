//! argon2id hashing and verification on a pool of dedicated threads, one per core by
//! default. Each thread keeps its argon2 memory block (19 MiB) for the next job
//! instead of allocating it per hash, and the queue in front of the pool is bounded:
//! when the payment window opens and thousands log in at once, a full queue answers
//! "busy, retry shortly" at once rather than making every login (and, on a shared
//! blocking pool, every other request) wait longer and longer.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use thread_priority::{ThreadPriority, ThreadPriorityValue, set_current_thread_priority};
use tokio::sync::oneshot;
use tracing::Span;

/// What an account's password is checked against.
pub enum Credential {
    /// No such account: checked against a throwaway hash, so the answer takes as long.
    Unknown,
    /// The initial password, derived from the ID number and never stored.
    Initial(String),
    Hashed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Every hashing thread is busy and the queue is full.
    #[error("password hashing is at capacity")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

enum Work {
    Hash(SecretString),
    Verify(Credential, SecretString),
}

enum Outcome {
    Hashed(String),
    Verified(bool),
}

struct Job {
    work: Work,
    span: Span,
    reply: oneshot::Sender<anyhow::Result<Outcome>>,
}

pub struct Passwords {
    queue: SyncSender<Job>,
    /// Verifications taken into the queue since start: lets tests prove that a
    /// limit stopped guesses before any hashing.
    verifications: AtomicU64,
    load: Arc<HashLoad>,
}

/// How busy hashing is, kept on atomics as jobs come and go and read by the metrics
/// (`crate::metrics`) when Prometheus scrapes: a full queue is what makes logins
/// answer 503 `server_busy`, so its depth and refusals are worth watching.
#[derive(Debug)]
pub struct HashLoad {
    threads: usize,
    capacity: usize,
    /// Jobs taken into the queue that no thread has started.
    waiting: AtomicUsize,
    /// Jobs a thread is working on.
    working: AtomicUsize,
    /// Jobs refused because the queue was full, since start.
    refused: AtomicU64,
}

/// One reading of [`HashLoad`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLoadReading {
    pub threads: usize,
    pub capacity: usize,
    pub waiting: usize,
    pub working: usize,
    pub refused: u64,
}

impl HashLoad {
    pub fn read(&self) -> HashLoadReading {
        HashLoadReading {
            threads: self.threads,
            capacity: self.capacity,
            waiting: self.waiting.load(Ordering::Relaxed),
            working: self.working.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

impl Passwords {
    /// `threads` hashing threads behind a queue of `queue` waiting jobs.
    pub fn new(threads: usize, queue: usize) -> anyhow::Result<Passwords> {
        let mut random = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut random);
        let dummy: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let dummy_hash: Arc<str> = hash_with(&mut Vec::new(), &dummy)?.into();
        let (sender, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let load = Arc::new(HashLoad {
            threads: threads.max(1),
            capacity: queue,
            waiting: AtomicUsize::new(0),
            working: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
        });
        for n in 0..threads.max(1) {
            let receiver = receiver.clone();
            let dummy_hash = dummy_hash.clone();
            let load = load.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work(&receiver, &dummy_hash, &load))?;
        }
        Ok(Passwords {
            queue: sender,
            verifications: AtomicU64::new(0),
            load,
        })
    }

    /// One thread per core and 32 waiting jobs per thread: at ~25 ms a verification,
    /// a login waits well under a second before it starts.
    pub fn for_this_machine(
        threads: Option<usize>,
        queue: Option<usize>,
    ) -> anyhow::Result<Passwords> {
        let threads =
            threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
        Passwords::new(threads, queue.unwrap_or(threads * 32))
    }

    async fn submit(&self, work: Work) -> Result<Outcome, PasswordError> {
        let (reply, answer) = oneshot::channel();
        let verification = matches!(work, Work::Verify(..));
        let job = Job {
            work,
            span: Span::current(),
            reply,
        };
        // Counted before it is sent: a thread may take it (and count it out) at once.
        self.load.waiting.fetch_add(1, Ordering::Relaxed);
        let sent = self.queue.try_send(job);
        if sent.is_err() {
            self.load.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        match sent {
            Ok(()) if verification => {
                self.verifications.fetch_add(1, Ordering::Relaxed);
            }
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.load.refused.fetch_add(1, Ordering::Relaxed);
                return Err(PasswordError::Busy);
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(anyhow::anyhow!("hashing threads are gone").into());
            }
        }
        Ok(answer
            .await
            .map_err(|_| anyhow::anyhow!("a hashing thread died"))??)
    }

    /// How many verifications were taken into the queue since start.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// The queue's load, for the metrics to read when scraped.
    pub fn load(&self) -> Arc<HashLoad> {
        self.load.clone()
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, PasswordError> {
        match self.submit(Work::Hash(password)).await? {
            Outcome::Hashed(hash) => Ok(hash),
            Outcome::Verified(_) => Err(anyhow::anyhow!("hashing answered a verification").into()),
        }
    }

    /// Every kind of credential costs exactly one argon2 verification, so response
    /// time does not tell unknown accounts, initial passwords and changed ones apart.
    pub async fn verify(
        &self,
        credential: Credential,
        password: SecretString,
    ) -> Result<bool, PasswordError> {
        match self.submit(Work::Verify(credential, password)).await? {
            Outcome::Verified(valid) => Ok(valid),
            Outcome::Hashed(_) => Err(anyhow::anyhow!("verification answered a hash").into()),
        }
    }
}

/// On the thread priority scale of 0 (lowest) to 99 this is nice 10 on Linux: a
/// tenth of the CPU share of a request-handling thread while both want a core.
const HASHING_PRIORITY: u8 = 22;

/// Hashing yields the cores to everything else: during a login storm the fee list and
/// payments are answered first and hashing takes what is left, which on an idle
/// machine is all of it.
fn lower_priority() {
    let lowered = ThreadPriorityValue::try_from(HASHING_PRIORITY)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            set_current_thread_priority(ThreadPriority::Crossplatform(p)).map_err(|e| e.to_string())
        });
    if let Err(error) = lowered {
        tracing::warn!(%error, "could not lower the priority of a hashing thread");
    }
}

/// A hashing thread: takes jobs until the pool is dropped, reusing one memory block.
fn work(receiver: &Mutex<Receiver<Job>>, dummy_hash: &str, load: &HashLoad) {
    lower_priority();
    let mut blocks: Vec<Block> = Vec::new();
    loop {
        let next = receiver
            .lock()
            .map_err(drop)
            .and_then(|r| r.recv().map_err(drop));
        let Ok(job) = next else { return };
        load.waiting.fetch_sub(1, Ordering::Relaxed);
        load.working.fetch_add(1, Ordering::Relaxed);
        let _entered = job.span.enter();
        let outcome = match job.work {
            Work::Hash(password) => {
                hash_with(&mut blocks, password.expose_secret()).map(Outcome::Hashed)
            }
            Work::Verify(credential, password) => {
                let typed = password.expose_secret().as_bytes();
                Ok(Outcome::Verified(match credential {
                    Credential::Unknown => {
                        verify_with(&mut blocks, dummy_hash, typed);
                        false
                    }
                    Credential::Initial(expected) => {
                        verify_with(&mut blocks, dummy_hash, typed);
                        bool::from(expected.as_bytes().ct_eq(typed))
                    }
                    Credential::Hashed(hash) => verify_with(&mut blocks, &hash, typed),
                }))
            }
        };
        load.working.fetch_sub(1, Ordering::Relaxed);
        // The requester may have gone (its connection closed): nothing to tell.
        let _ = job.reply.send(outcome);
    }
}

/// A new PHC string with ExamFee's parameters, computed in `blocks` (grown to fit):
/// what `Argon2::default().hash_password` writes, without allocating and zeroing
/// 19 MiB per hash.
fn hash_with(blocks: &mut Vec<Block>, password: &str) -> anyhow::Result<String> {
    let failed = |e: &dyn std::fmt::Display| anyhow::anyhow!("argon2 hashing failed: {e}");
    let params = Params::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|e| failed(&e))?;
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt_bytes,
                out,
                &mut blocks[..needed],
            )
            .map_err(|_| password_hash::Error::Password)
    })
    .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Verifies against a PHC string with the hash's own parameters, in `blocks`.
fn verify_with(blocks: &mut Vec<Block>, hash: &str, password: &[u8]) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&parsed),
        Algorithm::try_from(parsed.algorithm),
    ) else {
        return false;
    };
    let version = parsed.version.map_or(Ok(Version::V0x13), Version::try_from);
    let Ok(version) = version else { return false };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..needed])
        .is_ok()
        && bool::from(out.ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    /// The nice value of the calling thread, field 19 of its stat line.
    #[cfg(target_os = "linux")]
    fn own_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn hashing_threads_run_at_nice_10() {
        let nice = std::thread::spawn(|| {
            lower_priority();
            own_nice()
        })
        .join()
        .unwrap();
        assert_eq!(nice, 10);
    }

    #[test]
    fn hashes_are_standard_phc_strings() {
        use argon2::password_hash::PasswordVerifier;
        let mut blocks = Vec::new();
        let first = hash_with(&mut blocks, "Exam2026pay").unwrap();
        // The second hash reuses the first one's memory and must not depend on it.
        let second = hash_with(&mut blocks, "Exam2026pay").unwrap();
        assert_ne!(first, second, "each hash has its own salt");
        for hash in [&first, &second] {
            assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
            let parsed = PasswordHash::new(hash).unwrap();
            assert!(
                Argon2::default()
                    .verify_password(b"Exam2026pay", &parsed)
                    .is_ok()
            );
            assert!(
                Argon2::default()
                    .verify_password(b"exam2026pay", &parsed)
                    .is_err()
            );
        }
    }

    #[tokio::test]
    async fn verifies_each_kind_of_credential() {
        let passwords = Passwords::new(1, 4).unwrap();
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
                .verify(Credential::Hashed(hash.clone()), secret("exam2026pay"))
                .await
                .unwrap()
        );
        // The reused memory block does not leak one verification into the next.
        assert!(
            passwords
                .verify(Credential::Hashed(hash), secret("Exam2026pay"))
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
        assert!(
            !passwords
                .verify(Credential::Hashed("not a hash".into()), secret("x"))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let passwords = Arc::new(Passwords::new(1, 1).unwrap());
        // On the test's single-threaded runtime the tasks all submit in one pass,
        // before the one hashing thread can finish anything.
        let attempts: Vec<_> = (0..8)
            .map(|_| {
                let passwords = passwords.clone();
                tokio::spawn(async move {
                    passwords
                        .verify(Credential::Unknown, secret("Exam2026pay"))
                        .await
                })
            })
            .collect();
        let mut busy = 0;
        let mut done = 0;
        for attempt in attempts {
            match attempt.await.unwrap() {
                Err(PasswordError::Busy) => busy += 1,
                Ok(false) => done += 1,
                other => panic!("unexpected {:?}", other.map_err(|e| e.to_string())),
            }
        }
        // One job running and one waiting at most: the rest are refused, not queued.
        assert!(
            busy >= 6 && done >= 1 && busy + done == 8,
            "busy {busy}, done {done}"
        );
        // Every refusal is counted for the metrics, and nothing is left counted in.
        let load = passwords.load().read();
        assert_eq!(load.refused, busy);
        assert_eq!((load.waiting, load.working), (0, 0));
        assert_eq!((load.threads, load.capacity), (1, 1));
    }
}
