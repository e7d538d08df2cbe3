//! The audit log's vocabulary, defined once: who or what caused a change (`Actor`),
//! what changed (`AuditAction`) and of which entity (`AuditEntity`). The server
//! writes these names and filters by them, so a filter always matches what is stored.

use std::fmt;
use std::str::FromStr;

use crate::states::{UnknownState, named_enum};

named_enum! {
    /// The kind of a cause. Kinds that stand for many callers (`candidate`,
    /// `operator`, `platform:notify`) carry the caller's id after a colon when stored.
    ActorKind, "actor kind" {
        /// A candidate acting for themselves.
        Candidate = "candidate",
        /// An operator of the authority.
        Operator = "operator",
        /// A signed notification of the payment platform.
        Notification = "platform:notify",
        /// A viewer's look at a pending order asked the platform.
        ViewSync = "sync:view",
        /// A candidate's 重新查询 asked the platform.
        RequestSync = "sync:request",
        /// The background worker asked the platform about an open order.
        WorkerSync = "worker:sync",
        /// The background worker sent a refund again after an earlier try.
        RefundWorker = "worker:refund",
        /// A reconciliation run applied what the platform's statement showed.
        Reconciliation = "reconciliation",
        /// A command run on the server (`examfee reconcile`, …).
        Cli = "cli",
        /// ExamFee's own start-up (the bootstrap operator).
        System = "system",
    }
}

impl ActorKind {
    /// Whether a stored actor of this kind names one caller after the kind.
    pub fn has_id(self) -> bool {
        match self {
            ActorKind::Candidate | ActorKind::Operator | ActorKind::Notification => true,
            ActorKind::ViewSync
            | ActorKind::RequestSync
            | ActorKind::WorkerSync
            | ActorKind::RefundWorker
            | ActorKind::Reconciliation
            | ActorKind::Cli
            | ActorKind::System => false,
        }
    }
}

/// Who or what caused a change: stored as the kind, then `:` and the id for kinds
/// that have one (`operator:7d0e…`, `platform:notify:N2026…`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    Candidate(String),
    Operator(String),
    /// The notification's id, as the platform numbered it.
    Notification(String),
    ViewSync,
    RequestSync,
    WorkerSync,
    RefundWorker,
    Reconciliation,
    Cli,
    System,
}

impl Actor {
    pub fn kind(&self) -> ActorKind {
        match self {
            Actor::Candidate(_) => ActorKind::Candidate,
            Actor::Operator(_) => ActorKind::Operator,
            Actor::Notification(_) => ActorKind::Notification,
            Actor::ViewSync => ActorKind::ViewSync,
            Actor::RequestSync => ActorKind::RequestSync,
            Actor::WorkerSync => ActorKind::WorkerSync,
            Actor::RefundWorker => ActorKind::RefundWorker,
            Actor::Reconciliation => ActorKind::Reconciliation,
            Actor::Cli => ActorKind::Cli,
            Actor::System => ActorKind::System,
        }
    }

    fn id(&self) -> Option<&str> {
        match self {
            Actor::Candidate(id) | Actor::Operator(id) | Actor::Notification(id) => Some(id),
            Actor::ViewSync
            | Actor::RequestSync
            | Actor::WorkerSync
            | Actor::RefundWorker
            | Actor::Reconciliation
            | Actor::Cli
            | Actor::System => None,
        }
    }

    fn with_id(kind: ActorKind, id: String) -> Actor {
        match kind {
            ActorKind::Candidate => Actor::Candidate(id),
            ActorKind::Operator => Actor::Operator(id),
            ActorKind::Notification => Actor::Notification(id),
            ActorKind::ViewSync => Actor::ViewSync,
            ActorKind::RequestSync => Actor::RequestSync,
            ActorKind::WorkerSync => Actor::WorkerSync,
            ActorKind::RefundWorker => Actor::RefundWorker,
            ActorKind::Reconciliation => Actor::Reconciliation,
            ActorKind::Cli => Actor::Cli,
            ActorKind::System => Actor::System,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id() {
            Some(id) => write!(f, "{}:{id}", self.kind()),
            None => f.write_str(self.kind().as_str()),
        }
    }
}

impl FromStr for Actor {
    type Err = UnknownState;

    /// The longest kind that starts the text wins, so `platform:notify:N1` is a
    /// notification and not a kind `platform` with id `notify:N1`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownState {
            kind: "actor",
            value: s.to_owned(),
        };
        if let Ok(kind) = s.parse::<ActorKind>() {
            return match kind.has_id() {
                true => Err(unknown()),
                false => Ok(Actor::with_id(kind, String::new())),
            };
        }
        let (kind, id) = ActorKind::ALL
            .iter()
            .filter(|k| k.has_id())
            .find_map(|k| {
                s.strip_prefix(k.as_str())
                    .and_then(|rest| rest.strip_prefix(':'))
                    .map(|id| (*k, id))
            })
            .ok_or_else(unknown)?;
        if id.is_empty() {
            return Err(unknown());
        }
        Ok(Actor::with_id(kind, id.to_owned()))
    }
}

/// What the audit log is searched by: one actor exactly, or every actor of a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorFilter {
    Exact(Actor),
    Kind(ActorKind),
}

impl FromStr for ActorFilter {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s.parse::<ActorKind>() {
            Ok(kind) => Ok(ActorFilter::Kind(kind)),
            Err(_) => s.parse().map(ActorFilter::Exact),
        }
    }
}

named_enum! {
    /// What the audit log records of an entity.
    AuditEntity, "audit entity" {
        Order = "order",
        Refund = "refund",
        Receipt = "receipt",
        /// An order's trade at one gateway (`{order_no}/{gateway}`).
        Trade = "trade",
        Reconciliation = "reconciliation",
        Exam = "exam",
        FeeItem = "fee_item",
        CandidateImport = "candidate_import",
        Candidate = "candidate",
        Operator = "operator",
        /// A third-party endpoint that receives webhook events.
        Webhook = "webhook",
    }
}

named_enum! {
    /// Every change the audit log records.
    AuditAction, "audit action" {
        OrderCreated = "order.created",
        OrderPaid = "order.paid",
        OrderClosed = "order.closed",
        /// The platform reported another amount than the order's: nothing changed.
        OrderAmountMismatch = "order.amount_mismatch",
        /// A gateway reported its trade of the order paid (once per trade).
        TradePaid = "trade.paid",
        TradeClosed = "trade.closed",
        /// A gateway refused or could not open a trade: the order stays open.
        TradeRefused = "trade.refused",
        ReceiptIssued = "receipt.issued",
        /// 红冲
        ReceiptReversed = "receipt.reversed",
        RefundRequested = "refund.requested",
        /// A duplicate payment's refund, opened approved without review.
        RefundOpenedForDuplicate = "refund.opened_for_duplicate",
        RefundApproved = "refund.approved",
        RefundRejected = "refund.rejected",
        RefundSent = "refund.sent",
        RefundSucceeded = "refund.succeeded",
        RefundFailed = "refund.failed",
        ReconciliationRun = "reconciliation.run",
        ExamCreated = "exam.created",
        /// An exam renamed; the detail has the old and new name.
        ExamUpdated = "exam.updated",
        FeeItemCreated = "fee_item.created",
        /// A fee item edited; the detail has each changed field's old and new value.
        FeeItemUpdated = "fee_item.updated",
        CandidatesImported = "candidates.imported",
        OperatorBootstrapped = "operator.bootstrapped",
        OperatorCreated = "operator.created",
        /// An admin changed an operator's role (`old_role`, `new_role` in the detail).
        OperatorRoleChanged = "operator.role_changed",
        /// An operator confirmed a TOTP authenticator with a first code.
        OperatorTotpEnrolled = "operator.totp_enrolled",
        /// An admin removed an operator's TOTP authenticator (a lost phone).
        OperatorTotpReset = "operator.totp_reset",
        PasswordChanged = "password.changed",
        /// A candidate's password set anew with a code sent by SMS (忘记密码).
        PasswordReset = "password.reset",
        /// A one-time code sent by SMS to a candidate's imported phone.
        SmsCodeSent = "sms_code.sent",
        /// A candidate or operator logged in (a session opened).
        SessionLogin = "session.login",
        /// A wrong password at login or as the old one of a password change; by the
        /// account, or by `system` when the typed name matches no account.
        SessionLoginFailed = "session.login_failed",
        /// The wrong password that locked an address out of an account.
        SessionLocked = "session.locked",
        /// A session ended by its owner (退出).
        SessionLogout = "session.logout",
        WebhookCreated = "webhook.created",
        WebhookDeactivated = "webhook.deactivated",
        /// Past events of a time range made due again for one endpoint.
        WebhookReplayed = "webhook.replayed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_round_trip_through_their_stored_names() {
        let actors = [
            Actor::Candidate("c1".into()),
            Actor::Operator("7d0e".into()),
            Actor::Notification("N2026:01".into()),
            Actor::ViewSync,
            Actor::RequestSync,
            Actor::WorkerSync,
            Actor::RefundWorker,
            Actor::Reconciliation,
            Actor::Cli,
            Actor::System,
        ];
        for actor in actors {
            assert_eq!(actor.to_string().parse::<Actor>().unwrap(), actor);
        }
        assert_eq!(
            Actor::Notification("N1".into()).to_string(),
            "platform:notify:N1"
        );
        assert_eq!(Actor::WorkerSync.to_string(), "worker:sync");
    }

    #[test]
    fn kinds_with_ids_need_one_and_others_take_none() {
        assert!("operator".parse::<Actor>().is_err());
        assert!("operator:".parse::<Actor>().is_err());
        assert!("platform:notify".parse::<Actor>().is_err());
        assert!("nobody:1".parse::<Actor>().is_err());
        assert_eq!("system".parse::<Actor>().unwrap(), Actor::System);
    }

    #[test]
    fn filters_are_a_kind_or_one_actor() {
        assert_eq!(
            "platform:notify".parse::<ActorFilter>().unwrap(),
            ActorFilter::Kind(ActorKind::Notification)
        );
        assert_eq!(
            "operator:7d0e".parse::<ActorFilter>().unwrap(),
            ActorFilter::Exact(Actor::Operator("7d0e".into()))
        );
        assert!("platform".parse::<ActorFilter>().is_err());
    }

    #[test]
    fn actions_round_trip() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>().unwrap(), *action);
        }
    }
}
