//! States as rows carry them: decoded into the shared enums where they are read, so
//! a name this version does not know is an error that names the row it came from,
//! never a default such as 未缴费.

use std::str::FromStr;

use examfee_shared::states::UnknownState;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Parses a stored state; logs the row's key with the unknown name.
pub fn decode<T>(text: &str, column: &str, key: Option<&str>) -> Result<T, UnknownState>
where
    T: FromStr<Err = UnknownState>,
{
    text.parse().inspect_err(|error| {
        tracing::error!(column, row = key.unwrap_or("?"), %error, "a stored state is unknown to this version");
    })
}

fn column_error(column: &str, error: UnknownState) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(error),
    }
}

/// The state in `column` of a row whose key is in `key_column`.
pub fn state<T>(row: &AnyRow, column: &str, key_column: &str) -> sqlx::Result<T>
where
    T: FromStr<Err = UnknownState>,
{
    let text: String = row.try_get(column)?;
    let key: Option<String> = row.try_get(key_column).ok();
    decode(&text, column, key.as_deref()).map_err(|e| column_error(column, e))
}

/// Like [`state`], for a column that may be NULL.
pub fn optional_state<T>(row: &AnyRow, column: &str, key_column: &str) -> sqlx::Result<Option<T>>
where
    T: FromStr<Err = UnknownState>,
{
    let text: Option<String> = row.try_get(column)?;
    let key: Option<String> = row.try_get(key_column).ok();
    text.map(|t| decode(&t, column, key.as_deref()).map_err(|e| column_error(column, e)))
        .transpose()
}
