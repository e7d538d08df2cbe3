//! Defining exams and fee items.

use chrono::{DateTime, Utc};
use examfee_shared::console::{FeeItemDetail, UpdateExamRequest, UpdateFeeItemRequest};
use examfee_shared::dto::{CreateExamRequest, CreateFeeItemRequest, ExamView, FeeItemView};
use examfee_shared::fields::{check_code, check_name};
use serde_json::json;

use crate::clock::{from_ms, to_ms};
use crate::error::{ApiError, ApiResult};
use examfee_shared::{Actor, AuditAction, AuditEntity};

use crate::store::audit::AuditEntry;
use crate::store::catalog::{ExamRow, FeeItemRow};
use crate::store::{self, Db};

pub async fn create_exam(
    db: &Db,
    actor: &Actor,
    req: CreateExamRequest,
    now: DateTime<Utc>,
) -> ApiResult<ExamView> {
    check_code(&req.code).map_err(|e| ApiError::invalid("code", &e))?;
    let name = check_name(&req.name).map_err(|e| ApiError::invalid("name", &e))?;
    let exam = ExamRow {
        code: req.code,
        name: name.to_owned(),
    };
    let mut tx = db.begin_write().await?;
    if !store::catalog::insert_exam(&mut tx, &exam, to_ms(now)).await? {
        return Err(ApiError::Conflict {
            code: "exam_exists",
            zh: "考试代码已存在",
            en: "An exam with this code exists.",
        });
    }
    let entry = AuditEntry {
        actor,
        action: AuditAction::ExamCreated,
        entity: AuditEntity::Exam,
        entity_id: &exam.code,
        detail: json!({ "name": exam.name }),
    };
    store::audit::record(&mut tx, to_ms(now), entry).await?;
    tx.commit().await?;
    Ok(ExamView {
        code: exam.code,
        name: exam.name,
    })
}

/// 100,000 yuan: far above any exam fee, so a typo of a few zeros is refused and no
/// sum of an order's fees can come near overflowing.
pub const FEE_MAX_FEN: i64 = 10_000_000;

pub async fn create_fee_item(
    db: &Db,
    actor: &Actor,
    req: CreateFeeItemRequest,
    now: DateTime<Utc>,
) -> ApiResult<FeeItemView> {
    check_code(&req.code).map_err(|e| ApiError::invalid("code", &e))?;
    let title = check_name(&req.title)
        .map_err(|e| ApiError::invalid("title", &e))?
        .to_owned();
    let item = FeeItemRow {
        code: req.code,
        exam_code: req.exam_code,
        title,
        amount_fen: req.amount_fen.0,
        pay_from: to_ms(req.pay_from),
        pay_until: to_ms(req.pay_until),
        refundable_until: to_ms(req.refundable_until),
    };
    check_amount_and_windows(&item)?;
    let mut tx = db.begin_write().await?;
    if !store::catalog::exam_exists(&mut tx, &item.exam_code).await? {
        return Err(ApiError::Invalid {
            field: "exam_code",
            code: "exam_unknown",
            zh: "考试不存在",
            en: "There is no exam with this code.",
        });
    }
    if !store::catalog::insert_fee_item(&mut tx, &item, to_ms(now)).await? {
        return Err(ApiError::Conflict {
            code: "fee_item_exists",
            zh: "缴费项目代码已存在",
            en: "A fee item with this code exists.",
        });
    }
    let entry = AuditEntry {
        actor,
        action: AuditAction::FeeItemCreated,
        entity: AuditEntity::FeeItem,
        entity_id: &item.code,
        detail: json!({ "exam_code": item.exam_code, "amount_fen": item.amount_fen }),
    };
    store::audit::record(&mut tx, to_ms(now), entry).await?;
    tx.commit().await?;
    Ok(fee_item_view(item))
}

/// The rules of a fee item's amount and windows, on create and on every edit.
fn check_amount_and_windows(item: &FeeItemRow) -> ApiResult<()> {
    if !(1..=FEE_MAX_FEN).contains(&item.amount_fen) {
        return Err(ApiError::Invalid {
            field: "amount_fen",
            code: "amount_invalid",
            zh: "缴费金额须大于0且不超过100000元",
            en: "The amount must be more than zero and at most 100,000 yuan.",
        });
    }
    if item.pay_from >= item.pay_until {
        return Err(ApiError::Invalid {
            field: "pay_until",
            code: "pay_window_invalid",
            zh: "缴费截止时间须晚于开始时间",
            en: "The payment window must close after it opens.",
        });
    }
    if item.refundable_until < item.pay_from {
        return Err(ApiError::Invalid {
            field: "refundable_until",
            code: "refundable_until_invalid",
            zh: "退费截止时间不能早于缴费开始时间",
            en: "Refunds cannot end before the payment window opens.",
        });
    }
    Ok(())
}

/// Renames an exam (audited `exam.updated` with the old and new name).
pub async fn rename_exam(
    db: &Db,
    actor: &Actor,
    code: &str,
    req: UpdateExamRequest,
    now: DateTime<Utc>,
) -> ApiResult<ExamView> {
    let name = check_name(&req.name).map_err(|e| ApiError::invalid("name", &e))?;
    let mut tx = db.begin_write().await?;
    let old = store::catalog::rename_exam(&mut tx, code, name)
        .await?
        .ok_or(ApiError::NotFound("exam"))?;
    let entry = AuditEntry {
        actor,
        action: AuditAction::ExamUpdated,
        entity: AuditEntity::Exam,
        entity_id: code,
        detail: json!({ "name": { "old": old, "new": name } }),
    };
    store::audit::record(&mut tx, to_ms(now), entry).await?;
    tx.commit().await?;
    Ok(ExamView {
        code: code.to_owned(),
        name: name.to_owned(),
    })
}

/// The amount of a fee item some order includes: what was asked for and paid stays.
const AMOUNT_LOCKED: ApiError = ApiError::Conflict {
    code: "fee_item_amount_locked",
    zh: "已有订单包含该缴费项目，金额不能再修改",
    en: "An order includes this fee item: its amount can no longer change.",
};

/// Edits a fee item: the fields given change, the others stay, and the result obeys
/// the rules of create. Audited `fee_item.updated` with each changed field's old and
/// new value; an edit that changes nothing writes nothing.
pub async fn update_fee_item(
    db: &Db,
    actor: &Actor,
    code: &str,
    req: UpdateFeeItemRequest,
    now: DateTime<Utc>,
) -> ApiResult<FeeItemView> {
    let title = req
        .title
        .as_deref()
        .map(|t| check_name(t).map_err(|e| ApiError::invalid("title", &e)))
        .transpose()?;
    let mut tx = db.begin_write().await?;
    let old = store::catalog::get_fee_item_in(&mut tx, code)
        .await?
        .ok_or(ApiError::NotFound("fee item"))?;
    let new = FeeItemRow {
        code: old.code.clone(),
        exam_code: old.exam_code.clone(),
        title: title.map_or_else(|| old.title.clone(), str::to_owned),
        amount_fen: req.amount_fen.map_or(old.amount_fen, |a| a.0),
        pay_from: req.pay_from.map_or(old.pay_from, to_ms),
        pay_until: req.pay_until.map_or(old.pay_until, to_ms),
        refundable_until: req.refundable_until.map_or(old.refundable_until, to_ms),
    };
    check_amount_and_windows(&new)?;
    let changes = changed_fields(&old, &new);
    if changes.is_empty() {
        return Ok(fee_item_view(new));
    }
    if !store::catalog::update_fee_item(&mut tx, &new).await? {
        return Err(AMOUNT_LOCKED);
    }
    let entry = AuditEntry {
        actor,
        action: AuditAction::FeeItemUpdated,
        entity: AuditEntity::FeeItem,
        entity_id: code,
        detail: serde_json::Value::Object(changes),
    };
    store::audit::record(&mut tx, to_ms(now), entry).await?;
    tx.commit().await?;
    Ok(fee_item_view(new))
}

/// `{field: {old, new}}` of every field that differs (times as RFC 3339).
fn changed_fields(
    old: &FeeItemRow,
    new: &FeeItemRow,
) -> serde_json::Map<String, serde_json::Value> {
    let mut changes = serde_json::Map::new();
    let mut note = |field: &str, old: serde_json::Value, new: serde_json::Value| {
        if old != new {
            changes.insert(field.to_owned(), json!({ "old": old, "new": new }));
        }
    };
    note("title", json!(old.title), json!(new.title));
    note("amount_fen", json!(old.amount_fen), json!(new.amount_fen));
    for (field, old, new) in [
        ("pay_from", old.pay_from, new.pay_from),
        ("pay_until", old.pay_until, new.pay_until),
        (
            "refundable_until",
            old.refundable_until,
            new.refundable_until,
        ),
    ] {
        note(field, json!(from_ms(old)), json!(from_ms(new)));
    }
    changes
}

/// One fee item with what its edit form needs.
pub async fn fee_item_detail(db: &Db, code: &str) -> ApiResult<FeeItemDetail> {
    let item = store::catalog::get_fee_item(db, code)
        .await?
        .ok_or(ApiError::NotFound("fee item"))?;
    let candidates = store::catalog::fee_item_candidates(db, code).await?;
    let ordered = store::catalog::fee_item_ordered(db, code).await?;
    Ok(FeeItemDetail {
        item: fee_item_view(item),
        candidates: u64::try_from(candidates).unwrap_or(0),
        amount_editable: !ordered,
    })
}

pub fn fee_item_view(item: FeeItemRow) -> FeeItemView {
    FeeItemView {
        exam_code: item.exam_code,
        code: item.code,
        title: item.title,
        amount_fen: examfee_shared::Fen(item.amount_fen),
        pay_from: from_ms(item.pay_from),
        pay_until: from_ms(item.pay_until),
        refundable_until: from_ms(item.refundable_until),
    }
}
