//! Data retention, `examfee purge --before DATE` (docs/operations.md, "Data
//! retention"): candidates of exams finished before DATE lose their personal data;
//! what finance must keep (orders, receipts, refunds, the audit log) stays, naming
//! them only in masked form.
//!
//! An exam is finished before DATE when every one of its fee items' payment and
//! refund windows ended before DATE (00:00 Beijing time). A candidate is purged when
//! every fee item they were given or ordered is of such exams and no money of theirs
//! is still moving (a pending order, a refund not final): those are held back and
//! named, and a later run takes them once settled. A candidate is purged once; a
//! second run finds nothing.

use chrono::{DateTime, Utc};
use examfee_shared::fields::masked_name;
use examfee_shared::time::beijing_day_start;
use examfee_shared::webhooks::WebhookEvent;
use examfee_shared::{Actor, AuditAction, AuditEntity, IdNumber};
use serde_json::json;

use crate::clock::to_ms;
use crate::error::ApiError;
use crate::payments::reconcile;
use crate::store::Db;
use crate::store::audit::{self, AuditEntry};
use crate::store::retention::{self, OpenMoney, Removed};

/// Candidates purged in one transaction: short enough that payments of other exams
/// wait little for the write lock (SQLite), long enough to be quick.
const BATCH: i64 = 200;
/// Webhook events read at a time when masking their ID numbers.
const EVENT_PAGE: i64 = 500;

/// What a run did, or (dry run) would do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    /// The run's id, as its audit entry names it (none for a dry run).
    pub run_id: Option<String>,
    pub before: String,
    pub candidates: u64,
    pub removed: Removed,
    pub webhook_events_masked: u64,
    /// Candidates of finished exams whose money still moves, and what moves.
    pub held_back: Vec<OpenMoney>,
}

impl PurgeReport {
    /// How many candidates are held back.
    pub fn held_back_candidates(&self) -> usize {
        let mut ids: Vec<&str> = self
            .held_back
            .iter()
            .map(|m| m.candidate_id.as_str())
            .collect();
        ids.dedup();
        ids.len()
    }
}

/// Purges (or with `dry_run` counts) the candidates of exams finished before the
/// Beijing day `before` (`YYYY-MM-DD`, not after today). Each batch is one
/// transaction; the run's audit entry, with the counts, follows the last.
pub async fn purge(
    db: &Db,
    before: &str,
    dry_run: bool,
    actor: &Actor,
    now: DateTime<Utc>,
) -> anyhow::Result<PurgeReport> {
    let day = reconcile::parse_date(before, now).map_err(|e| match e {
        ApiError::Invalid { en, .. } => anyhow::anyhow!("--before: {en}"),
        other => other.into(),
    })?;
    let cutoff = to_ms(beijing_day_start(day));
    let mut report = PurgeReport {
        before: day.to_string(),
        held_back: retention::open_money_of_finished(db, cutoff).await?,
        ..PurgeReport::default()
    };
    if dry_run {
        report.candidates = u64::try_from(retention::count_purgeable(db, cutoff).await?)?;
        return Ok(report);
    }
    let now_ms = to_ms(now);
    loop {
        let mut tx = db.begin_write().await?;
        let batch = retention::take_purgeable(&mut tx, cutoff, BATCH).await?;
        for candidate in &batch {
            let masked_id = IdNumber::masked_of_stored(&candidate.id_number)
                .unwrap_or_else(|| "*".repeat(candidate.id_number.chars().count()));
            report.removed += retention::make_tombstone(
                &mut tx,
                &candidate.id,
                &masked_id,
                &masked_name(&candidate.name),
                now_ms,
            )
            .await?;
        }
        tx.commit().await?;
        report.candidates += batch.len() as u64;
        if (batch.len() as i64) < BATCH {
            break;
        }
    }
    // Every run looks, so that one cut short after its batches is completed by the next.
    report.webhook_events_masked = mask_webhook_events(db).await?;
    let run_id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    let entry = AuditEntry {
        actor,
        action: AuditAction::CandidatesPurged,
        entity: AuditEntity::CandidatePurge,
        entity_id: &run_id,
        detail: json!({
            "before": report.before,
            "candidates": report.candidates,
            "sessions": report.removed.sessions,
            "sms_codes": report.removed.sms_codes,
            "receipts_masked": report.removed.receipts_masked,
            "webhook_events_masked": report.webhook_events_masked,
            "held_back": report.held_back_candidates(),
        }),
    };
    audit::record(&mut tx, now_ms, entry).await?;
    tx.commit().await?;
    report.run_id = Some(run_id);
    Ok(report)
}

/// Webhook events keep the candidate's whole ID number (sealed) for trusted
/// endpoints and replays: those of purged candidates' orders get the masked form.
async fn mask_webhook_events(db: &Db) -> anyhow::Result<u64> {
    let mut masked = 0;
    let mut after = String::new();
    loop {
        let page = retention::webhook_events_after(db, &after, EVENT_PAGE).await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = last.clone();
        let mut whole = Vec::new();
        for (id, payload) in &page {
            let event: WebhookEvent = serde_json::from_str(payload)?;
            if IdNumber::parse(&event.data.id_number).is_ok() {
                whole.push((id, event));
            }
        }
        let order_nos: Vec<&str> = whole
            .iter()
            .map(|(_, e)| e.data.order_no.as_str())
            .collect();
        let purged = retention::orders_of_purged(db, &order_nos).await?;
        let mut tx = db.begin_write().await?;
        for (id, mut event) in whole {
            if !purged.contains(&event.data.order_no) {
                continue;
            }
            if let Some(m) = IdNumber::masked_of_stored(&event.data.id_number) {
                event.data.id_number = m;
            }
            retention::replace_webhook_payload(&mut tx, id, &serde_json::to_string(&event)?)
                .await?;
            masked += 1;
        }
        tx.commit().await?;
    }
    Ok(masked)
}
