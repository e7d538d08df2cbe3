//! Secrets and personal data at rest (issue 18, item 7): one master key
//! (`EXAMFEE_MASTER_KEY`, 32 bytes as 64 hex characters) from which the keys that seal
//! values in the database and the keyed blind index of ID numbers are derived, so that
//! a copy of the database alone reveals neither the server's keys nor a candidate's ID
//! number or phone. See docs/security.md, "Data at rest".
//!
//! Every primitive is aws-lc-rs's: HKDF-SHA256 (RFC 5869) derives the subkeys once at
//! start, AES-256-GCM with a random 96-bit nonce seals each value, HMAC-SHA256 makes
//! the blind index.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::{hkdf, hmac};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;

use AtRestError::Unopenable;

/// The environment variable holding the master key.
pub const MASTER_KEY_VAR: &str = "EXAMFEE_MASTER_KEY";
/// The file beside an SQLite database (or in `./data/`) that keeps a generated master
/// key outside production.
pub const MASTER_KEY_FILE: &str = "master.key";
/// What every sealed value starts with: the format's version, so that a value can be
/// told from a plain one left by an earlier version (the conversion at start looks for
/// values without it) and so that a later format can be added beside this one.
pub const SEALED_PREFIX: &str = "v1:";

/// HKDF `info` labels: one per subkey, so that no key serves two purposes.
const SEAL_INFO: &[u8] = b"examfee v1 aes-256-gcm values at rest";
const INDEX_INFO: &[u8] = b"examfee v1 hmac-sha256 blind index of id numbers";
const LOCKOUT_INFO: &[u8] = b"examfee v1 hmac-sha256 lockout account names";

/// The 32 bytes every other key at rest is derived from.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// Exactly 64 hex characters; the error is one line naming the variable.
    pub fn parse_hex(text: &str) -> Result<MasterKey, String> {
        let text = text.trim();
        let refused = || format!("{MASTER_KEY_VAR} must be 32 bytes written as 64 hex characters");
        if text.len() != 64 {
            return Err(refused());
        }
        let bytes = hex_decode(text).ok_or_else(refused)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| refused())?;
        Ok(MasterKey(key))
    }

    pub fn generate() -> anyhow::Result<MasterKey> {
        let mut key = [0u8; 32];
        aws_lc_rs::rand::fill(&mut key).map_err(|_| anyhow::anyhow!("no random bytes"))?;
        Ok(MasterKey(key))
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(u8::try_from(digit(*hi)? * 16 + digit(*lo)?).ok()?),
            _ => None,
        })
        .collect()
}

/// The master key outside production when none is set: kept in `master.key` in the
/// data folder (beside the SQLite file, or `./data/` for PostgreSQL), made on the
/// first start with mode 0600. An in-memory SQLite store gets a key of its own that
/// dies with it.
pub fn demo_master_key(database_url: &str) -> anyhow::Result<MasterKey> {
    let Some(path) = demo_key_path(database_url) else {
        return MasterKey::generate();
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let fresh = MasterKey::generate()?;
    match create_private(&path) {
        Ok(mut file) => {
            file.write_all(fresh.to_hex().as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::warn!(file = %path.display(), "{MASTER_KEY_VAR} is not set: a master key was made and kept in this file (set the variable in production)");
            Ok(fresh)
        }
        // Made by an earlier start (or by another process starting now).
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            MasterKey::parse_hex(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Where the demo's key file is: `None` for an in-memory store.
fn demo_key_path(database_url: &str) -> Option<PathBuf> {
    if !database_url.starts_with("sqlite:") {
        return Some(Path::new("data").join(MASTER_KEY_FILE));
    }
    let rest = database_url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let file = rest.split_once('?').map_or(rest, |(file, _)| file);
    if file.is_empty() || file == ":memory:" || database_url.contains("mode=memory") {
        return None;
    }
    let dir = Path::new(file).parent().unwrap_or(Path::new(""));
    Some(dir.join(MASTER_KEY_FILE))
}

/// The master key a database was sealed with, as far as this machine knows it: the
/// configured one, or else the `master.key` an earlier start made beside the SQLite
/// file. Never makes one (a restore must not seal nothing with a new key).
pub fn known_master_key(
    configured: Option<&MasterKey>,
    database_url: &str,
) -> anyhow::Result<Option<MasterKey>> {
    if let Some(key) = configured {
        return Ok(Some(key.clone()));
    }
    let Some(path) = demo_key_path(database_url).filter(|p| p.exists()) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    MasterKey::parse_hex(&text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// What can go wrong with a value at rest; never says anything of the value.
#[derive(Debug, thiserror::Error)]
pub enum AtRestError {
    /// The wrong master key, a ciphertext moved to another column or row, or damage.
    #[error("a value at rest could not be opened (wrong EXAMFEE_MASTER_KEY, or moved or damaged)")]
    Unopenable,
    /// aws-lc refuses to seal only inputs beyond 64 GiB or without a random source.
    #[error("a value could not be sealed")]
    Unsealable,
}

/// The subkeys, derived once at start: nothing is derived per value.
pub struct DataKeys {
    seal: RandomizedNonceKey,
    index: hmac::Key,
    lockout: hmac::Key,
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKeys(…)")
    }
}

/// A 32-byte HKDF output.
struct Len32;

impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

impl DataKeys {
    pub fn derive(master: &MasterKey) -> anyhow::Result<DataKeys> {
        // RFC 5869: a fixed, public salt is allowed; the master key is already uniform.
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"examfee").extract(&master.0);
        let subkey = |info: &[u8]| -> anyhow::Result<[u8; 32]> {
            let mut out = [0u8; 32];
            let labels = [info];
            prk.expand(&labels, Len32)
                .and_then(|okm| okm.fill(&mut out))
                .map_err(|_| anyhow::anyhow!("HKDF expansion failed"))?;
            Ok(out)
        };
        let seal = RandomizedNonceKey::new(&AES_256_GCM, &subkey(SEAL_INFO)?)
            .map_err(|_| anyhow::anyhow!("AES-256-GCM key refused"))?;
        Ok(DataKeys {
            seal,
            index: hmac::Key::new(hmac::HMAC_SHA256, &subkey(INDEX_INFO)?),
            lockout: hmac::Key::new(hmac::HMAC_SHA256, &subkey(LOCKOUT_INFO)?),
        })
    }

    /// `v1:` + base64(nonce ‖ ciphertext ‖ tag). `purpose` names the column and
    /// `bound_to` the row (its key), both authenticated: the value opens only where
    /// it was sealed.
    pub fn seal(&self, purpose: &str, bound_to: &str, plain: &[u8]) -> Result<String, AtRestError> {
        let mut in_out = plain.to_vec();
        in_out.reserve(AES_256_GCM.tag_len());
        let nonce = self
            .seal
            .seal_in_place_append_tag(Aad::from(aad(purpose, bound_to)), &mut in_out)
            .map_err(|_| AtRestError::Unsealable)?;
        let mut raw = Vec::with_capacity(NONCE_LEN + in_out.len());
        raw.extend_from_slice(nonce.as_ref());
        raw.extend_from_slice(&in_out);
        Ok(format!("{SEALED_PREFIX}{}", BASE64.encode(raw)))
    }

    pub fn seal_text(
        &self,
        purpose: &str,
        bound_to: &str,
        plain: &str,
    ) -> Result<String, AtRestError> {
        self.seal(purpose, bound_to, plain.as_bytes())
    }

    pub fn open(
        &self,
        purpose: &str,
        bound_to: &str,
        sealed: &str,
    ) -> Result<Vec<u8>, AtRestError> {
        let encoded = sealed.strip_prefix(SEALED_PREFIX).ok_or(Unopenable)?;
        let mut raw = BASE64.decode(encoded).map_err(|_| Unopenable)?;
        if raw.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(Unopenable);
        }
        let mut in_out = raw.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&raw).map_err(|_| Unopenable)?;
        let plain = self
            .seal
            .open_in_place(nonce, Aad::from(aad(purpose, bound_to)), &mut in_out)
            .map_err(|_| Unopenable)?;
        let len = plain.len();
        in_out.truncate(len);
        Ok(in_out)
    }

    pub fn open_text(
        &self,
        purpose: &str,
        bound_to: &str,
        sealed: &str,
    ) -> Result<String, AtRestError> {
        String::from_utf8(self.open(purpose, bound_to, sealed)?).map_err(|_| Unopenable)
    }

    /// The keyed blind index of an ID number (hex HMAC-SHA256 of its upper-case form):
    /// equal ID numbers give equal indexes, so lookups and the unique key work, and
    /// without the key the index cannot be computed from guessed ID numbers (an ID
    /// number has too little entropy for an unkeyed hash).
    pub fn id_number_index(&self, id_number: &str) -> String {
        let normal = id_number.trim().to_ascii_uppercase();
        hex(hmac::sign(&self.index, normal.as_bytes()).as_ref())
    }

    /// The lockout's key of a typed account name (an ID number or an operator's
    /// username, known or not), keyed for the same reason as the blind index.
    pub fn account_key(&self, role: &str, name: &str) -> String {
        let mut context = hmac::Context::with_key(&self.lockout);
        context.update(role.as_bytes());
        context.update(b":");
        context.update(name.as_bytes());
        hex(context.sign().as_ref())
    }
}

/// The associated data: the purpose (a column) and the row it belongs to; a NUL
/// keeps ("a", "bc") apart from ("ab", "c").
fn aad(purpose: &str, bound_to: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(purpose.len() + 1 + bound_to.len());
    aad.extend_from_slice(purpose.as_bytes());
    aad.push(0);
    aad.extend_from_slice(bound_to.as_bytes());
    aad
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a stored value is in the sealed format (and not plain, from before).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED_PREFIX)
}

/// Refuses a master key that is neither set nor allowed to be made here.
pub fn master_key_for(
    configured: Option<&MasterKey>,
    production: bool,
    database_url: &str,
) -> anyhow::Result<MasterKey> {
    match configured {
        Some(key) => Ok(key.clone()),
        None if production => {
            bail!("{MASTER_KEY_VAR} is required when EXAMFEE_ENV=production")
        }
        None => demo_master_key(database_url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> DataKeys {
        DataKeys::derive(&MasterKey([byte; 32])).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_where_it_was_sealed_and_nowhere_else() {
        let keys = keys(7);
        let sealed = keys
            .seal_text("candidates.phone", "row-1", "13812345678")
            .unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("13812345678"));
        assert_eq!(
            keys.open_text("candidates.phone", "row-1", &sealed)
                .unwrap(),
            "13812345678"
        );
        // Another column, another row, another master key: refused, not garbage.
        assert!(keys.open("candidates.id_number", "row-1", &sealed).is_err());
        assert!(keys.open("candidates.phone", "row-2", &sealed).is_err());
        assert!(
            self::keys(8)
                .open("candidates.phone", "row-1", &sealed)
                .is_err()
        );
        // Damage anywhere is refused too.
        let mut damaged = sealed.clone().into_bytes();
        let last = damaged.len() - 2;
        damaged[last] = if damaged[last] == b'A' { b'B' } else { b'A' };
        let damaged = String::from_utf8(damaged).unwrap();
        assert!(keys.open("candidates.phone", "row-1", &damaged).is_err());
        assert!(
            keys.open("candidates.phone", "row-1", "13812345678")
                .is_err()
        );
        assert!(keys.open("candidates.phone", "row-1", "v1:").is_err());
    }

    #[test]
    fn each_sealing_takes_a_fresh_nonce() {
        let keys = keys(7);
        let a = keys.seal_text("p", "r", "same").unwrap();
        let b = keys.seal_text("p", "r", "same").unwrap();
        assert_ne!(a, b);
        assert_eq!(keys.open_text("p", "r", &b).unwrap(), "same");
    }

    #[test]
    fn the_blind_index_is_stable_keyed_and_case_blind() {
        let keys = keys(7);
        let index = keys.id_number_index("11010519491231002X");
        assert_eq!(index, keys.id_number_index("11010519491231002x"));
        assert_eq!(index, self::keys(7).id_number_index("11010519491231002X"));
        assert_ne!(index, self::keys(8).id_number_index("11010519491231002X"));
        assert_ne!(index, keys.id_number_index("110105194912310029"));
        assert_eq!(index.len(), 64);
        // The lockout's key is another subkey: the same name gives another value.
        assert_ne!(keys.account_key("candidate", "11010519491231002X"), index);
    }

    #[test]
    fn subkeys_follow_rfc_5869() {
        // RFC 5869, appendix A.1 (test case 1), through the same calls.
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        struct Len42;
        impl hkdf::KeyType for Len42 {
            fn len(&self) -> usize {
                42
            }
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(&ikm);
        let mut okm = [0u8; 42];
        let labels = [info.as_slice()];
        prk.expand(&labels, Len42).unwrap().fill(&mut okm).unwrap();
        assert_eq!(
            hex(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    #[test]
    fn the_master_key_is_exactly_64_hex_characters() {
        let good = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        assert!(MasterKey::parse_hex(good).is_ok());
        for bad in [&good[..62], "zz".repeat(32).as_str(), &format!("{good}00")] {
            let error = MasterKey::parse_hex(bad).unwrap_err();
            assert!(error.contains("EXAMFEE_MASTER_KEY"), "{error}");
            assert!(!error.contains('\n'));
        }
        assert_eq!(
            MasterKey::parse_hex(good).unwrap().to_hex(),
            good.to_lowercase()
        );
    }

    #[test]
    fn the_demo_key_lives_beside_the_sqlite_file() {
        assert_eq!(
            demo_key_path("sqlite://data/examfee.db"),
            Some(PathBuf::from("data/master.key"))
        );
        assert_eq!(
            demo_key_path("sqlite:///tmp/x/e.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x/master.key"))
        );
        assert_eq!(demo_key_path("sqlite::memory:"), None);
        assert_eq!(
            demo_key_path("postgres://db/examfee"),
            Some(PathBuf::from("data/master.key"))
        );
    }

    #[test]
    fn a_made_key_is_kept_private_and_read_again() {
        let dir = std::env::temp_dir().join(format!("examfee-key-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}/e.db", dir.display());
        let first = demo_master_key(&url).unwrap();
        let again = demo_master_key(&url).unwrap();
        assert_eq!(first.to_hex(), again.to_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(MASTER_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
