//! Rows read by column name through either driver ([`Columns`]), and states as rows
//! carry them: decoded into the shared enums where they are read, so a name this
//! version does not know is an error that names the row it came from, never a default
//! such as 未缴费.

use std::str::FromStr;

use examfee_shared::states::UnknownState;
use rusqlite::types::FromSql;
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

/// Parses a stored state; logs the row's key with the unknown name.
pub fn decode<T>(text: &str, column: &str, key: Option<&str>) -> Result<T, UnknownState>
where
    T: FromStr<Err = UnknownState>,
{
    text.parse().inspect_err(|error| {
        tracing::error!(column, row = key.unwrap_or("?"), %error, "a stored state is unknown to this version");
    })
}

/// A row of either driver, read by column name: sqlx's `Any` rows, and rusqlite's on
/// the SQLite threads ([`super::local_reads`], [`super::local_writes`]), so that a row
/// type read both ways has one reader.
pub trait Columns {
    type Error;
    fn read<T: Value>(&self, column: &str) -> Result<T, Self::Error>;
    /// The error of a column whose text is no state this version knows.
    fn unknown(&self, column: &str, error: UnknownState) -> Self::Error;
}

/// A column value both drivers decode.
pub trait Value: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> + FromSql {}

impl<T> Value for T where T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> + FromSql {}

impl Columns for AnyRow {
    type Error = sqlx::Error;

    fn read<T: Value>(&self, column: &str) -> sqlx::Result<T> {
        self.try_get(column)
    }

    fn unknown(&self, column: &str, error: UnknownState) -> sqlx::Error {
        sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: Box::new(error),
        }
    }
}

impl Columns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn read<T: Value>(&self, column: &str) -> rusqlite::Result<T> {
        self.get(column)
    }

    fn unknown(&self, column: &str, error: UnknownState) -> rusqlite::Error {
        let index = self.as_ref().column_index(column).unwrap_or_default();
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            Box::new(error),
        )
    }
}

/// The state in `column` of a row whose key is in `key_column`.
pub fn state<T, R>(row: &R, column: &str, key_column: &str) -> Result<T, R::Error>
where
    T: FromStr<Err = UnknownState>,
    R: Columns + ?Sized,
{
    let text: String = row.read(column)?;
    let key: Option<String> = row.read(key_column).ok();
    decode(&text, column, key.as_deref()).map_err(|e| row.unknown(column, e))
}

/// Like [`state`], for a column that may be NULL.
pub fn optional_state<T, R>(row: &R, column: &str, key_column: &str) -> Result<Option<T>, R::Error>
where
    T: FromStr<Err = UnknownState>,
    R: Columns + ?Sized,
{
    let text: Option<String> = row.read(column)?;
    let key: Option<String> = row.read(key_column).ok();
    text.map(|t| decode(&t, column, key.as_deref()).map_err(|e| row.unknown(column, e)))
        .transpose()
}
