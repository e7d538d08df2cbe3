//! Searches that page newest first by keyset: a page ends at a `(time, key)` pair and
//! the next one starts strictly before it, so rows written meanwhile never shift a
//! page (as `OFFSET` would) and every page costs one index range.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sqlx::FromRow;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::QueryAs;

use super::Db;

/// Where the last page ended: the last row's time (epoch ms) and unique key. Clients
/// see it as opaque base64url text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub time: i64,
    pub key: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.time, self.key))
    }

    /// `None` for text no `encode` made.
    pub fn decode(text: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (time, key) = text.split_once('|')?;
        Some(Cursor {
            time: time.parse().ok()?,
            key: key.to_owned(),
        })
    }
}

/// Which rows a page may hold: `[from_ms, until_ms)` of the search's time, before
/// the cursor, at most `limit`.
#[derive(Debug, Default)]
pub struct Window {
    pub from_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub before: Option<Cursor>,
    pub limit: i64,
}

/// Which end of the time column a search's pages start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Lists to browse: the latest matters most.
    NewestFirst,
    /// Queues: the longest waiting first.
    OldestFirst,
}

impl Order {
    fn sql(self) -> &'static str {
        match self {
            Order::NewestFirst => "DESC",
            Order::OldestFirst => "ASC",
        }
    }

    /// How a row past the cursor compares with it.
    fn beyond(self) -> &'static str {
        match self {
            Order::NewestFirst => "<",
            Order::OldestFirst => ">",
        }
    }
}

pub enum Value {
    Text(String),
    Int(i64),
}

/// The `WHERE` clause of a search, from the filters that were given, with its values
/// bound in order.
#[derive(Default)]
pub struct Filters {
    conditions: Vec<String>,
    values: Vec<Value>,
}

impl Filters {
    /// Adds a condition in which each `$?` stands for the next of `values`.
    #[allow(
        clippy::expect_used,
        reason = "conditions and their values are written side by side in the store's \
                  search functions: a miscount is a bug that their tests find"
    )]
    pub fn add(&mut self, condition: &str, values: impl IntoIterator<Item = Value>) {
        let mut values = values.into_iter();
        let mut parts = condition.split("$?");
        let mut numbered = parts.next().unwrap_or_default().to_owned();
        for part in parts {
            let value = values.next().expect("one value for each `$?`");
            self.values.push(value);
            numbered.push_str(&format!("${}{part}", self.values.len()));
        }
        self.conditions.push(numbered);
    }

    /// Binds a value that the `SELECT` itself refers to (not a condition) and
    /// returns its placeholder, `$n`: bind these before adding conditions.
    pub fn select_value(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    pub fn text(&mut self, condition: &str, value: Option<String>) {
        if let Some(value) = value {
            self.add(condition, [Value::Text(value)]);
        }
    }

    pub fn int(&mut self, condition: &str, value: Option<i64>) {
        if let Some(value) = value {
            self.add(condition, [Value::Int(value)]);
        }
    }

    /// Rows strictly past the cursor in the page order: older for
    /// [`Order::NewestFirst`], newer for [`Order::OldestFirst`].
    fn past(&mut self, time: &str, key: &str, cursor: Option<Cursor>, order: Order) {
        if let Some(c) = cursor {
            let op = order.beyond();
            let condition = format!("({time} {op} $? OR ({time} = $? AND {key} {op} $?))");
            self.add(
                &condition,
                [Value::Int(c.time), Value::Int(c.time), Value::Text(c.key)],
            );
        }
    }

    /// `WHERE …` (or nothing) and `LIMIT` one more row than the page, to learn
    /// whether another page follows.
    fn sql(&self, select: &str, order: &str, limit: i64) -> String {
        let mut sql = select.to_owned();
        if !self.conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.conditions.join(" AND "));
        }
        sql.push_str(&format!(
            " ORDER BY {order} LIMIT {}",
            limit.saturating_add(1)
        ));
        sql
    }

    /// One page of `select` under these filters and inside `window` of the column
    /// `time` (unique together with `key`), newest first, and the cursor of the next
    /// page when there is one.
    pub async fn fetch_page<O>(
        self,
        db: &Db,
        select: &str,
        columns: (&str, &str),
        window: Window,
        cursor_of: impl Fn(&O) -> Cursor,
    ) -> sqlx::Result<(Vec<O>, Option<String>)>
    where
        O: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        self.fetch_page_in(db, select, columns, window, Order::NewestFirst, cursor_of)
            .await
    }

    /// [`Filters::fetch_page`] in either order; the cursor (`window.before`) then
    /// marks where the previous page of that order ended.
    pub async fn fetch_page_in<O>(
        mut self,
        db: &Db,
        select: &str,
        (time, key): (&str, &str),
        window: Window,
        order: Order,
        cursor_of: impl Fn(&O) -> Cursor,
    ) -> sqlx::Result<(Vec<O>, Option<String>)>
    where
        O: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        self.int(&format!("{time} >= $?"), window.from_ms);
        self.int(&format!("{time} < $?"), window.until_ms);
        self.past(time, key, window.before, order);
        let dir = order.sql();
        let sql = self.sql(select, &format!("{time} {dir}, {key} {dir}"), window.limit);
        let rows = self.bind(sqlx::query_as(&sql)).fetch_all(&db.pool).await?;
        Ok(split_page(rows, window.limit, cursor_of))
    }

    fn bind<'q, O>(
        self,
        mut query: QueryAs<'q, sqlx::Any, O, AnyArguments<'q>>,
    ) -> QueryAs<'q, sqlx::Any, O, AnyArguments<'q>> {
        for value in self.values {
            query = match value {
                Value::Text(text) => query.bind(text),
                Value::Int(int) => query.bind(int),
            };
        }
        query
    }
}

/// Cuts the extra row fetched by [`Filters::sql`] and makes the next page's cursor.
fn split_page<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|last| cursor_of(last).encode());
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_foreign_text() {
        let cursor = Cursor {
            time: 1_764_495_012_000,
            key: "EF2026|x".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("not a cursor!"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("abc|x")), None);
    }

    #[test]
    fn conditions_number_their_placeholders_in_order() {
        let mut filters = Filters::default();
        filters.text("status = $?", Some("paid".into()));
        filters.text("actor = $?", None);
        filters.past(
            "at",
            "id",
            Some(Cursor {
                time: 5,
                key: "k".into(),
            }),
            Order::NewestFirst,
        );
        assert_eq!(
            filters.sql("SELECT x FROM t", "at DESC, id DESC", 10),
            "SELECT x FROM t WHERE status = $1 AND (at < $2 OR (at = $3 AND id < $4)) ORDER BY at DESC, id DESC LIMIT 11"
        );
    }

    #[test]
    fn an_oldest_first_page_continues_after_its_cursor() {
        let mut filters = Filters::default();
        let cursor = Cursor {
            time: 5,
            key: "k".into(),
        };
        filters.past("at", "id", Some(cursor), Order::OldestFirst);
        assert_eq!(
            filters.sql("SELECT x FROM t", "at ASC, id ASC", 10),
            "SELECT x FROM t WHERE (at > $1 OR (at = $2 AND id > $3)) ORDER BY at ASC, id ASC LIMIT 11"
        );
    }
}
