//! Copies of an SQLite store and putting one back (`examfee backup` / `examfee
//! restore`, docs/operations.md "Backup and restore"). PostgreSQL has `pg_dump` and
//! `pg_restore` for this; these work on the file.
//!
//! The copy is SQLite's `VACUUM INTO`: it reads the database in one read transaction,
//! so it is the state of one moment, and in WAL mode that read never stops the
//! server's writers (nor do they stop it). Each value sealed at rest stays sealed in
//! the copy: it is no use without the master key it was sealed with.
//!
//! A restore must never happen under a running server: the server would keep pages of
//! the old file in its cache and its WAL would be applied to the new one. Every
//! process that opens the store ([`hold`]) takes a shared lock on a file beside the
//! database (`<file>.lock`); a restore takes it exclusively or refuses.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags};

use super::MIGRATOR;
use crate::at_rest::DataKeys;

/// How long the copy waits when SQLite is busy (recovering a WAL after a crash).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite file a `DATABASE_URL` names; `None` for PostgreSQL and for an in-memory
/// store, which have no file to copy.
pub fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    if !database_url.starts_with("sqlite:") {
        return None;
    }
    let (file, query) = super::sqlite::file_of_url(database_url);
    (!file.is_empty() && file != ":memory:" && !query.contains("mode=memory"))
        .then(|| PathBuf::from(file))
}

/// The lock file beside a database file.
fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// A process's hold on an SQLite store: while any clone lives, a restore refuses.
#[derive(Clone, Debug)]
pub struct InUse {
    _lock: Arc<File>,
}

fn open_lock(database: &Path) -> anyhow::Result<File> {
    let path = lock_path(database);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Takes the shared hold on the store of `database_url` (nothing for PostgreSQL or
/// memory). Refuses while a restore holds it.
pub fn hold(database_url: &str) -> anyhow::Result<Option<InUse>> {
    let Some(database) = sqlite_file(database_url) else {
        return Ok(None);
    };
    let file = open_lock(&database)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(InUse {
            _lock: Arc::new(file),
        })),
        Err(TryLockError::WouldBlock) => bail!(
            "{} is being restored (`examfee restore`); start again once it is done",
            database.display()
        ),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", lock_path(&database).display()))
        }
    }
}

/// What a copy holds, as checked: its size, migrations and money rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySummary {
    pub bytes: u64,
    /// The newest migration applied to the copy.
    pub migration: i64,
    /// Migrations this build has that the copy lacks: the next start applies them.
    pub migrations_to_apply: usize,
    pub orders: i64,
    pub receipts: i64,
    pub refunds: i64,
    pub audit_entries: i64,
}

/// Writes a consistent copy of the SQLite file `database` to `out`, which must not
/// exist (it is never overwritten), readable by its owner only; then checks the copy.
/// A copy that fails is removed.
pub fn copy_sqlite(database: &Path, out: &Path) -> anyhow::Result<CopySummary> {
    if !database.is_file() {
        bail!("{} does not exist", database.display());
    }
    // Made empty first, exclusively: an existing file is refused rather than
    // replaced, and the copy gets the owner-only mode before any byte is written.
    // `VACUUM INTO` writes into an empty file.
    create_private(out).with_context(|| match out.exists() {
        true => format!("{} exists; a backup never overwrites a file", out.display()),
        false => format!("cannot create {}", out.display()),
    })?;
    let written = vacuum_into(database, out).and_then(|()| check_copy(out));
    if written.is_err() {
        let _ = std::fs::remove_file(out);
    }
    written
}

fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn vacuum_into(database: &Path, out: &Path) -> anyhow::Result<()> {
    let conn = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", database.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let target = out
        .to_str()
        .context("the backup's path is not UTF-8, which SQLite needs")?;
    conn.execute("VACUUM INTO ?1", [target])
        .with_context(|| format!("copying {} to {}", database.display(), out.display()))?;
    drop(conn);
    // VACUUM INTO does not flush its output when it returns in every configuration.
    File::open(out)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot flush {}", out.display()))
}

/// Checks a copy without changing it: SQLite's `integrity_check`, and that every
/// migration applied to it is one of this build's, unchanged and complete.
pub fn check_copy(path: &Path) -> anyhow::Result<CopySummary> {
    let bytes = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let conn = open_read_only(path)?;
    let verdict: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()
        .with_context(|| format!("{} is not an SQLite database", path.display()))?;
    if verdict != ["ok"] {
        bail!(
            "{} is damaged (integrity_check: {})",
            path.display(),
            verdict.join("; ")
        );
    }
    let applied: Vec<(i64, Vec<u8>, bool)> = conn
        .prepare("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
        .with_context(|| format!("{} is not an ExamFee database", path.display()))?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (version, checksum, success) in &applied {
        match MIGRATOR.iter().find(|m| m.version == *version) {
            None => bail!(
                "{} has migration {version}, which this build of ExamFee does not know (made by a newer version?)",
                path.display()
            ),
            Some(known) if *known.checksum != checksum[..] => bail!(
                "{}: migration {version} differs from this build's",
                path.display()
            ),
            Some(_) if !success => {
                bail!("{}: migration {version} did not complete", path.display())
            }
            Some(_) => {}
        }
    }
    let Some(migration) = applied.last().map(|(v, _, _)| *v) else {
        bail!("{} has no migrations applied", path.display());
    };
    let count = |table: &str| -> anyhow::Result<i64> {
        Ok(conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
    };
    Ok(CopySummary {
        bytes,
        migration,
        migrations_to_apply: MIGRATOR.iter().count() - applied.len(),
        orders: count("orders")?,
        receipts: count("receipts")?,
        refunds: count("refunds")?,
        audit_entries: count("audit_log")?,
    })
}

fn open_read_only(path: &Path) -> anyhow::Result<Connection> {
    if !path.is_file() {
        bail!("{} does not exist", path.display());
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Whether `keys` open the copy's server key `name` (a copy without it was never
/// started, and has nothing sealed to open).
pub fn keys_open(path: &Path, keys: &DataKeys, name: &str) -> anyhow::Result<bool> {
    let conn = open_read_only(path)?;
    let sealed: Option<String> = conn
        .query_row(
            "SELECT secret FROM server_keys WHERE name = ?1",
            [name],
            |row| row.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    Ok(sealed.is_none_or(|s| keys.open(super::server_keys::SECRET, name, &s).is_ok()))
}

/// Where a restore left things.
#[derive(Debug)]
pub struct Restored {
    /// The database that was replaced, moved aside (with its WAL), if there was one.
    pub previous: Option<PathBuf>,
}

/// Holds the store of `database` exclusively, or refuses naming why: no server or
/// command may have it open while it is replaced.
pub fn hold_exclusively(database: &Path) -> anyhow::Result<File> {
    let lock = open_lock(database)?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(TryLockError::WouldBlock) => bail!(
            "{} is in use by a running `examfee serve` (or another examfee command): stop every process on it, then restore",
            database.display()
        ),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", lock_path(database).display()))
        }
    }
}

/// Puts the checked copy `copy` in place of `database`, which the caller holds
/// exclusively ([`hold_exclusively`]). The file replaced is kept beside it as
/// `<file>.before-restore-<stamp>` with its WAL, so a mistaken restore can be undone;
/// a leftover WAL of the old file is never left to be applied to the new one.
pub fn put_in_place(copy: &Path, database: &Path, stamp: &str) -> anyhow::Result<Restored> {
    let with_suffix = |path: &Path, suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let incoming = with_suffix(database, ".restoring");
    let _ = std::fs::remove_file(&incoming);
    std::fs::copy(copy, &incoming)
        .and_then(|_| File::open(&incoming)?.sync_all())
        .with_context(|| format!("cannot copy {} to {}", copy.display(), incoming.display()))?;
    let previous = if database.exists() {
        let aside = with_suffix(database, &format!(".before-restore-{stamp}"));
        std::fs::rename(database, &aside)
            .with_context(|| format!("cannot move {} aside", database.display()))?;
        for suffix in ["-wal", "-shm"] {
            let file = with_suffix(database, suffix);
            if file.exists() {
                std::fs::rename(&file, with_suffix(&aside, suffix))
                    .with_context(|| format!("cannot move {} aside", file.display()))?;
            }
        }
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&incoming, database)
        .with_context(|| format!("cannot move the copy to {}", database.display()))?;
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The renames reach the disk with the folder's entry.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot flush {}", dir.display()))?;
    }
    Ok(Restored { previous })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sqlite_files_have_a_file() {
        assert_eq!(
            sqlite_file("sqlite://data/examfee.db?mode=rwc"),
            Some(PathBuf::from("data/examfee.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://db/examfee"), None);
    }

    #[test]
    fn a_held_store_cannot_be_restored_and_a_restore_holds_off_servers() {
        let dir = std::env::temp_dir().join(format!("examfee-hold-{}", uuid::Uuid::new_v4()));
        let database = dir.join("e.db");
        let url = format!("sqlite://{}", database.display());
        let server = hold(&url).unwrap();
        let second = hold(&url).unwrap();
        assert!(hold_exclusively(&database).is_err());
        drop((server, second));
        let restore = hold_exclusively(&database).unwrap();
        assert!(hold(&url).is_err());
        drop(restore);
        assert!(hold(&url).unwrap().is_some());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
