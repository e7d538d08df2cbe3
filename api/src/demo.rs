//! Demo data (`EXAMFEE_DEMO=1`): one exam, two fee items open for payment now, and a
//! few candidates with valid ID numbers. Loading it again changes nothing.

use chrono::{DateTime, Duration, Utc};
use examfee_shared::Actor;
use examfee_shared::dto::{CandidateImportRow, CreateExamRequest, CreateFeeItemRequest};
use examfee_shared::{Fen, IdNumber};

use crate::domain::{catalog, import};
use crate::error::ApiError;
use crate::store::Db;

pub const EXAM_CODE: &str = "GK2026";

/// `(first 17 digits of the ID number, name, phone)`.
const CANDIDATES: [(&str, &str, &str); 3] = [
    ("31010420080315123", "张三", "13812345678"),
    ("31011520071122456", "李四", "13987654321"),
    ("31010120080630789", "王五", "15012341234"),
];

pub struct DemoLogin {
    pub id_number: String,
    pub name: &'static str,
    pub initial_password: String,
}

pub async fn load(db: &Db, now: DateTime<Utc>) -> anyhow::Result<Vec<DemoLogin>> {
    let exam = CreateExamRequest {
        code: EXAM_CODE.into(),
        name: "2026年普通高等学校招生统一考试（演示）".into(),
    };
    tolerate_existing(catalog::create_exam(db, &Actor::System, exam, now).await)?;
    for (code, title, amount) in [
        ("GK2026-REG", "报名费", 3_000),
        ("GK2026-EXAM", "考试费", 12_000),
    ] {
        let item = CreateFeeItemRequest {
            exam_code: EXAM_CODE.into(),
            code: code.into(),
            title: title.into(),
            amount_fen: Fen(amount),
            pay_from: now - Duration::days(1),
            pay_until: now + Duration::days(30),
            refundable_until: now + Duration::days(20),
        };
        tolerate_existing(catalog::create_fee_item(db, &Actor::System, item, now).await)?;
    }
    let mut logins = Vec::new();
    let mut rows = Vec::new();
    for (row, (first17, name, phone)) in (1u64..).zip(CANDIDATES) {
        let id = IdNumber::with_check_char(first17)?;
        logins.push(DemoLogin {
            id_number: id.as_str().to_owned(),
            name,
            initial_password: id.initial_password().to_owned(),
        });
        let input = CandidateImportRow {
            id_number: id.as_str().to_owned(),
            name: name.to_owned(),
            phone: phone.to_owned(),
            fee_item_codes: vec!["GK2026-REG".into(), "GK2026-EXAM".into()],
        };
        rows.push((row, Ok(input)));
    }
    let report = import::import_candidates(db, &Actor::System, rows, now, |_| {}).await?;
    anyhow::ensure!(
        report.errors.is_empty(),
        "demo candidates refused: {:?}",
        report.errors
    );
    Ok(logins)
}

fn tolerate_existing<T>(result: Result<T, ApiError>) -> anyhow::Result<()> {
    match result {
        Ok(_) | Err(ApiError::Conflict { .. }) => Ok(()),
        Err(other) => Err(anyhow::anyhow!("loading demo data: {other}")),
    }
}
