//! The daily statement (对账单): every payment and refund of one Beijing-time day, as
//! CSV with a closing summary line. The platform writes it and the client reads it
//! with the same code.
//!
//! ```text
//! kind,time,trade_no,out_trade_no,refund_no,out_refund_no,channel,amount_fen
//! payment,2026-03-05T02:00:00.000Z,T…,EF…,,,wechat,12000
//! refund,2026-03-05T03:00:00.000Z,T…,EF…,R…,RF…,,5000
//! # summary payments=1 payment_fen=12000 refunds=1 refund_fen=5000 net_fen=7000
//! ```

use chrono::{DateTime, NaiveDate, Utc};
use examfee_shared::time::beijing_day_start;
use examfee_shared::{Fen, PayChannel};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Payment,
    Refund,
}

/// One row; amounts are positive for both kinds, the kind says which way money went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EntryKind,
    #[serde(with = "csv_time")]
    pub time: DateTime<Utc>,
    pub trade_no: String,
    pub out_trade_no: String,
    pub refund_no: Option<String>,
    pub out_refund_no: Option<String>,
    pub channel: Option<PayChannel>,
    pub amount_fen: Fen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub payments: u64,
    pub payment_fen: Fen,
    pub refunds: u64,
    pub refund_fen: Fen,
    pub net_fen: Fen,
}

impl Summary {
    pub fn of(entries: &[Entry]) -> Summary {
        let mut summary = Summary::default();
        for entry in entries {
            match entry.kind {
                EntryKind::Payment => {
                    summary.payments += 1;
                    summary.payment_fen.0 += entry.amount_fen.0;
                }
                EntryKind::Refund => {
                    summary.refunds += 1;
                    summary.refund_fen.0 += entry.amount_fen.0;
                }
            }
        }
        summary.net_fen = Fen(summary.payment_fen.0 - summary.refund_fen.0);
        summary
    }

    fn line(&self) -> String {
        format!(
            "# summary payments={} payment_fen={} refunds={} refund_fen={} net_fen={}\n",
            self.payments, self.payment_fen.0, self.refunds, self.refund_fen.0, self.net_fen.0
        )
    }

    fn parse_line(line: &str) -> Option<Summary> {
        let fields = line.strip_prefix("# summary ")?;
        let mut summary = Summary::default();
        for pair in fields.split_whitespace() {
            let (key, value) = pair.split_once('=')?;
            let value: i64 = value.parse().ok()?;
            match key {
                "payments" => summary.payments = u64::try_from(value).ok()?,
                "payment_fen" => summary.payment_fen = Fen(value),
                "refunds" => summary.refunds = u64::try_from(value).ok()?,
                "refund_fen" => summary.refund_fen = Fen(value),
                "net_fen" => summary.net_fen = Fen(value),
                _ => return None,
            }
        }
        Some(summary)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub entries: Vec<Entry>,
    pub summary: Summary,
}

#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("statement row unreadable: {0}")]
    Row(#[from] csv::Error),
    #[error("statement has no summary line")]
    NoSummary,
    #[error("statement summary does not match its rows")]
    SummaryMismatch,
}

/// Statements are by day in Beijing time, as Chinese platforms issue them.
pub fn day_bounds(date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        beijing_day_start(date),
        beijing_day_start(date + chrono::Days::new(1)),
    )
}

impl Statement {
    pub fn new(mut entries: Vec<Entry>) -> Statement {
        entries.sort_by_key(|e| e.time);
        let summary = Summary::of(&entries);
        Statement { entries, summary }
    }

    #[allow(
        clippy::expect_used,
        reason = "flat rows written to a Vec: CSV's failures are I/O and nested fields, \
                  neither possible here"
    )]
    pub fn to_csv(&self) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        for entry in &self.entries {
            writer
                .serialize(entry)
                .expect("writing CSV to memory cannot fail");
        }
        if self.entries.is_empty() {
            writer
                .write_record([
                    "kind",
                    "time",
                    "trade_no",
                    "out_trade_no",
                    "refund_no",
                    "out_refund_no",
                    "channel",
                    "amount_fen",
                ])
                .expect("writing CSV to memory cannot fail");
        }
        let mut bytes = writer.into_inner().expect("flushing to memory cannot fail");
        bytes.extend_from_slice(self.summary.line().as_bytes());
        bytes
    }

    /// Reads a statement and checks that its summary adds up.
    pub fn parse_csv(bytes: &[u8]) -> Result<Statement, StatementError> {
        let text = String::from_utf8_lossy(bytes);
        let summary = text
            .lines()
            .find_map(Summary::parse_line)
            .ok_or(StatementError::NoSummary)?;
        let entries = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_reader(bytes)
            .deserialize()
            .collect::<Result<Vec<Entry>, _>>()?;
        if Summary::of(&entries) != summary {
            return Err(StatementError::SummaryMismatch);
        }
        Ok(Statement { entries, summary })
    }
}

/// The merchant's statement of one day, from the store.
pub(crate) async fn of_day(
    sandbox: &crate::state::Sandbox,
    merchant_id: &str,
    date: NaiveDate,
) -> crate::error::SandboxResult<Statement> {
    use crate::clock::{from_ms, to_ms};
    use crate::store::{refunds, trades};

    let (from, until) = day_bounds(date);
    let pool = &sandbox.db.pool;
    let paid = trades::paid_between(pool, merchant_id, to_ms(from), to_ms(until)).await?;
    let refunded = refunds::created_between(pool, merchant_id, to_ms(from), to_ms(until)).await?;
    let mut entries = Vec::with_capacity(paid.len() + refunded.len());
    for trade in paid {
        entries.push(Entry {
            kind: EntryKind::Payment,
            time: from_ms(trade.paid_at.unwrap_or(trade.created_at)),
            channel: trade.channel()?,
            trade_no: trade.trade_no,
            out_trade_no: trade.out_trade_no,
            refund_no: None,
            out_refund_no: None,
            amount_fen: Fen(trade.amount_fen),
        });
    }
    entries.extend(refunded.into_iter().map(|refund| Entry {
        kind: EntryKind::Refund,
        time: from_ms(refund.created_at),
        trade_no: refund.trade_no,
        out_trade_no: refund.out_trade_no,
        refund_no: Some(refund.refund_no),
        out_refund_no: Some(refund.out_refund_no),
        channel: None,
        amount_fen: Fen(refund.amount_fen),
    }));
    Ok(Statement::new(entries))
}

/// Times in statements carry milliseconds, like every stored time of the platform.
mod csv_time {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn entry(kind: EntryKind, amount: i64) -> Entry {
        Entry {
            kind,
            time: Utc.with_ymd_and_hms(2026, 3, 5, 2, 0, 0).unwrap(),
            trade_no: "T1".into(),
            out_trade_no: "EF1".into(),
            refund_no: (kind == EntryKind::Refund).then(|| "R1".into()),
            out_refund_no: (kind == EntryKind::Refund).then(|| "RF1".into()),
            channel: (kind == EntryKind::Payment).then_some(PayChannel::Wechat),
            amount_fen: Fen(amount),
        }
    }

    #[test]
    fn round_trips_and_checks_its_summary() {
        let statement = Statement::new(vec![
            entry(EntryKind::Payment, 12_000),
            entry(EntryKind::Refund, 5_000),
        ]);
        let csv = statement.to_csv();
        let text = String::from_utf8(csv.clone()).unwrap();
        assert!(text.ends_with(
            "# summary payments=1 payment_fen=12000 refunds=1 refund_fen=5000 net_fen=7000\n"
        ));
        assert_eq!(Statement::parse_csv(&csv).unwrap(), statement);
        let forged = text.replace("net_fen=7000", "net_fen=7001");
        assert!(matches!(
            Statement::parse_csv(forged.as_bytes()),
            Err(StatementError::SummaryMismatch)
        ));
        let empty = Statement::new(Vec::new()).to_csv();
        assert_eq!(Statement::parse_csv(&empty).unwrap().entries, vec![]);
    }

    #[test]
    fn days_are_beijing_days() {
        let (from, until) = day_bounds(NaiveDate::from_ymd_opt(2026, 3, 5).unwrap());
        assert_eq!(from, Utc.with_ymd_and_hms(2026, 3, 4, 16, 0, 0).unwrap());
        assert_eq!(until, Utc.with_ymd_and_hms(2026, 3, 5, 16, 0, 0).unwrap());
    }
}
