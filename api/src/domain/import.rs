//! Importing candidates with their fee items, from JSON or CSV. Every row is checked
//! on its own: valid rows are stored, each bad row is reported with its number and
//! reason. Stored in batches, one transaction each, so tens of thousands of rows take
//! seconds and a failure loses at most the batch it happened in.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use examfee_shared::dto::{CandidateImportRow, ImportReport, ImportRowError};
use examfee_shared::fields::check_name;
use examfee_shared::{Actor, AuditAction, AuditEntity, IdNumber, Phone, Rule};
use serde_json::json;

use crate::clock::to_ms;
use crate::store::audit::AuditEntry;
use crate::store::candidates::NewCandidate;
use crate::store::{self, Db};

pub const BATCH_ROWS: usize = 500;
const CSV_COLUMNS: [&str; 4] = ["id_number", "name", "phone", "fee_item_codes"];

/// A row as read: its 1-based number and its fields, or why it could not be read.
pub type ReadRow = (u64, Result<CandidateImportRow, ImportRowError>);

#[derive(Debug, thiserror::Error)]
pub enum ImportInputError {
    #[error("the CSV header must name the columns id_number, name, phone, fee_item_codes")]
    CsvHeader,
    /// Not an array of rows of the documented shape (the types and fields the API
    /// document states): a program's error, refused whole.
    #[error("the body is not a JSON array of rows: {0}")]
    JsonShape(String),
}

fn row_error(row: u64, code: &str, message: impl Into<String>) -> ImportRowError {
    ImportRowError {
        row,
        code: code.to_owned(),
        message: message.into(),
    }
}

fn rule_error(row: u64, rule: &impl Rule) -> ImportRowError {
    row_error(row, rule.code(), rule.message_zh())
}

/// Reads a JSON array of rows. The shape (fields and their types) is the API
/// document's, so a body that breaks it is refused whole, naming the first bad row;
/// the rules the document cannot state (check digits, phone numbers, known fee items)
/// are checked per row later and reported per row.
pub fn read_json(body: &[u8]) -> Result<Vec<ReadRow>, ImportInputError> {
    let values: Vec<serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| ImportInputError::JsonShape(e.to_string()))?;
    values
        .into_iter()
        .zip(1u64..)
        .map(|(value, row)| {
            serde_json::from_value::<CandidateImportRow>(value)
                .map(|parsed| (row, Ok(parsed)))
                .map_err(|e| ImportInputError::JsonShape(format!("row {row}: {e}")))
        })
        .collect()
}

/// Reads CSV with a header line naming the columns (any order); fee item codes are
/// `;`-separated. Row numbers count data lines, the first after the header being 1.
pub fn read_csv(body: &[u8]) -> Result<Vec<ReadRow>, ImportInputError> {
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|_| ImportInputError::CsvHeader)?
        .clone();
    let index: Vec<usize> = CSV_COLUMNS
        .iter()
        .map(|name| headers.iter().position(|h| h.eq_ignore_ascii_case(name)))
        .collect::<Option<_>>()
        .ok_or(ImportInputError::CsvHeader)?;
    Ok(reader
        .records()
        .zip(1u64..)
        .map(|(record, row)| {
            let parsed = record
                .map_err(|e| row_error(row, "row_malformed", format!("行格式错误：{e}")))
                .and_then(|r| {
                    let field = |i: usize| r.get(index[i]).map(str::to_owned);
                    match (field(0), field(1), field(2), field(3)) {
                        (Some(id_number), Some(name), Some(phone), Some(codes)) => {
                            Ok(CandidateImportRow {
                                id_number,
                                name,
                                phone,
                                fee_item_codes: codes
                                    .split(';')
                                    .map(|c| c.trim().to_owned())
                                    .filter(|c| !c.is_empty())
                                    .collect(),
                            })
                        }
                        _ => Err(row_error(row, "row_malformed", "行格式错误：列数不足")),
                    }
                });
            (row, parsed)
        })
        .collect())
}

struct ValidRow {
    id_number: IdNumber,
    name: String,
    phone: Phone,
    fee_item_codes: Vec<String>,
}

fn validate(
    row: u64,
    input: CandidateImportRow,
    known_fees: &HashSet<String>,
) -> Result<ValidRow, ImportRowError> {
    let id_number = IdNumber::parse(&input.id_number).map_err(|e| rule_error(row, &e))?;
    let name = check_name(&input.name)
        .map_err(|e| rule_error(row, &e))?
        .to_owned();
    let phone = Phone::parse(&input.phone).map_err(|e| rule_error(row, &e))?;
    if let Some(unknown) = input
        .fee_item_codes
        .iter()
        .find(|c| !known_fees.contains(*c))
    {
        return Err(row_error(
            row,
            "fee_item_unknown",
            format!("缴费项目不存在：{unknown}"),
        ));
    }
    let mut codes = input.fee_item_codes;
    codes.sort();
    codes.dedup();
    Ok(ValidRow {
        id_number,
        name,
        phone,
        fee_item_codes: codes,
    })
}

/// Checks and stores the rows; `progress` hears how many rows are done after each batch.
pub async fn import_candidates(
    db: &Db,
    actor: &Actor,
    rows: Vec<ReadRow>,
    now: DateTime<Utc>,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<ImportReport> {
    let known_fees: HashSet<String> = store::catalog::fee_item_codes(db)
        .await?
        .into_iter()
        .collect();
    let mut report = ImportReport::default();
    let mut first_row_of: HashMap<String, u64> = HashMap::new();
    let mut valid = Vec::with_capacity(rows.len());
    for (row, read) in rows {
        match read.and_then(|input| validate(row, input, &known_fees)) {
            Ok(candidate) => match first_row_of.get(candidate.id_number.as_str()) {
                Some(first) => report.errors.push(row_error(
                    row,
                    "duplicate_row",
                    format!("证件号与第{first}行重复"),
                )),
                None => {
                    first_row_of.insert(candidate.id_number.as_str().to_owned(), row);
                    valid.push(candidate);
                }
            },
            Err(error) => report.errors.push(error),
        }
    }
    progress(report.errors.len() as u64);
    for batch in valid.chunks(BATCH_ROWS) {
        let updated = store_batch(db, actor, batch, to_ms(now)).await?;
        report.updated += updated;
        report.imported += batch.len() as u64 - updated;
        progress(batch.len() as u64);
    }
    report.errors.sort_by_key(|e| e.row);
    Ok(report)
}

/// Stores one batch in one transaction; returns how many rows updated a candidate
/// that existed before.
async fn store_batch(
    db: &Db,
    actor: &Actor,
    batch: &[ValidRow],
    now_ms: i64,
) -> anyhow::Result<u64> {
    let id_numbers: Vec<&str> = batch.iter().map(|r| r.id_number.as_str()).collect();
    let mut tx = db.begin_write().await?;
    let existing = store::candidates::existing_id_numbers(&mut tx, &id_numbers)
        .await?
        .len() as u64;
    let new_rows: Vec<NewCandidate> = batch
        .iter()
        .map(|r| NewCandidate {
            id_number: r.id_number.as_str(),
            name: &r.name,
            phone: r.phone.as_str(),
        })
        .collect();
    let ids: HashMap<String, String> = store::candidates::upsert_many(&mut tx, &new_rows, now_ms)
        .await?
        .into_iter()
        .collect();
    let mut assignments = Vec::new();
    for row in batch {
        let candidate_id = ids
            .get(row.id_number.as_str())
            .ok_or_else(|| anyhow::anyhow!("upsert returned no id for a row"))?;
        assignments.extend(
            row.fee_item_codes
                .iter()
                .map(|code| (candidate_id.as_str(), code.as_str())),
        );
    }
    store::candidates::assign_fees(&mut tx, &assignments, now_ms).await?;
    let entry = AuditEntry {
        actor,
        action: AuditAction::CandidatesImported,
        entity: AuditEntity::CandidateImport,
        entity_id: &uuid::Uuid::new_v4().to_string(),
        detail: json!({ "rows": batch.len(), "updated": existing, "fee_assignments": assignments.len() }),
    };
    store::audit::record(&mut tx, now_ms, entry).await?;
    tx.commit().await?;
    Ok(existing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_columns_in_any_order_with_bom_and_semicolon_codes() {
        let body = "\u{feff}name,id_number,phone,fee_item_codes\n张三,11010519491231002X,13812345678,A; B\n";
        let rows = read_csv(body.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        let (row, parsed) = &rows[0];
        let parsed = parsed.as_ref().unwrap();
        assert_eq!(*row, 1);
        assert_eq!(parsed.name, "张三");
        assert_eq!(parsed.fee_item_codes, vec!["A", "B"]);
    }

    #[test]
    fn csv_short_row_is_a_row_error_and_bad_header_a_body_error() {
        let rows =
            read_csv(b"id_number,name,phone,fee_item_codes\n11010519491231002X,x\n").unwrap();
        assert_eq!(rows[0].1.as_ref().unwrap_err().code, "row_malformed");
        assert!(matches!(
            read_csv(b"id,name\n1,2\n"),
            Err(ImportInputError::CsvHeader)
        ));
    }

    #[test]
    fn a_json_element_of_the_wrong_shape_refuses_the_body_naming_its_row() {
        let good = r#"{"id_number":"x","name":"a","phone":"1","fee_item_codes":[]}"#;
        assert!(
            read_json(format!("[{good}]").as_bytes()).unwrap()[0]
                .1
                .is_ok()
        );
        for bad in [
            r#"{"id_number":"x"}"#,
            r#"{"id_number":"x","name":"a","phone":"1","fee_item_codes":[7]}"#,
        ] {
            let body = format!("[{good},{bad}]");
            match read_json(body.as_bytes()) {
                Err(ImportInputError::JsonShape(reason)) => assert!(reason.starts_with("row 2:")),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(
            read_json(b"{}"),
            Err(ImportInputError::JsonShape(_))
        ));
    }
}
