//! `examfee backup` and `examfee restore` (docs/operations.md, "Backup and restore"):
//! what each checks and refuses; the file work is `store::backup`'s.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};

use crate::at_rest::{self, DataKeys};
use crate::config::Config;
use crate::startup::MASTER_KEY_CHECK;
use crate::store::backup::{self, CopySummary};

/// What PostgreSQL's operators run instead: its own tools make a consistent copy of
/// a running database and put one back.
pub const POSTGRES_COMMANDS: &str = "on PostgreSQL use its own tools (docs/operations.md, \"Backup and restore\"):
  pg_dump --format=custom --file=PATH \"$DATABASE_URL\"                      # a consistent copy while ExamFee runs
  pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" PATH   # with every ExamFee replica stopped";

/// The SQLite file of the configured store, or the refusal naming PostgreSQL's tools.
fn sqlite_file(config: &Config, command: &str) -> anyhow::Result<PathBuf> {
    match backup::sqlite_file(&config.database_url) {
        Some(file) => Ok(file),
        None if config.database_url.starts_with("sqlite:") => {
            bail!("`examfee {command}` needs an SQLite file, not an in-memory database")
        }
        None => bail!("`examfee {command}` copies SQLite files; {POSTGRES_COMMANDS}"),
    }
}

/// A consistent copy of the running (or stopped) SQLite store at `out`.
pub fn backup(config: &Config, out: &Path) -> anyhow::Result<CopySummary> {
    let database = sqlite_file(config, "backup")?;
    backup::copy_sqlite(&database, out)
}

/// What a restore did.
#[derive(Debug)]
pub struct RestoreReport {
    pub database: PathBuf,
    pub copy: CopySummary,
    /// The database replaced, kept aside.
    pub previous: Option<PathBuf>,
}

/// Puts the copy `copy` in place of the configured SQLite store, once no process has
/// the store open; the copy must pass its checks and open with the master key this
/// machine has for the store.
pub fn restore(config: &Config, copy: &Path, now: DateTime<Utc>) -> anyhow::Result<RestoreReport> {
    let database = sqlite_file(config, "restore")?;
    // Held until the copy is in place: no server starts on a half-restored store.
    let _exclusive = backup::hold_exclusively(&database)?;
    let summary = backup::check_copy(copy)?;
    let master = at_rest::known_master_key(config.master_key.as_ref(), &config.database_url)?
        .with_context(|| {
            format!(
                "set {} to the master key the backup was sealed with: without it the copy's keys and personal data cannot be opened",
                at_rest::MASTER_KEY_VAR
            )
        })?;
    let keys = DataKeys::derive(&master)?;
    if !backup::keys_open(copy, &keys, MASTER_KEY_CHECK)? {
        bail!(
            "{} is not the master key {} was sealed with; nothing was changed",
            at_rest::MASTER_KEY_VAR,
            copy.display()
        );
    }
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let restored = backup::put_in_place(copy, &database, &stamp)?;
    Ok(RestoreReport {
        database,
        copy: summary,
        previous: restored.previous,
    })
}
