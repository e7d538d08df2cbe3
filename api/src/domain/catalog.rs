//! Defining exams and fee items.

use chrono::{DateTime, Utc};
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
    if !(1..=FEE_MAX_FEN).contains(&req.amount_fen.0) {
        return Err(ApiError::Invalid {
            field: "amount_fen",
            code: "amount_invalid",
            zh: "缴费金额须大于0且不超过100000元",
            en: "The amount must be more than zero and at most 100,000 yuan.",
        });
    }
    if req.pay_from >= req.pay_until {
        return Err(ApiError::Invalid {
            field: "pay_until",
            code: "pay_window_invalid",
            zh: "缴费截止时间须晚于开始时间",
            en: "The payment window must close after it opens.",
        });
    }
    if req.refundable_until < req.pay_from {
        return Err(ApiError::Invalid {
            field: "refundable_until",
            code: "refundable_until_invalid",
            zh: "退费截止时间不能早于缴费开始时间",
            en: "Refunds cannot end before the payment window opens.",
        });
    }
    let item = FeeItemRow {
        code: req.code,
        exam_code: req.exam_code,
        title,
        amount_fen: req.amount_fen.0,
        pay_from: to_ms(req.pay_from),
        pay_until: to_ms(req.pay_until),
        refundable_until: to_ms(req.refundable_until),
    };
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
