//! Request extractors that admit a caller: the token comes from `Authorization:
//! Bearer` (API clients) or the session cookie (the browser), and its session must be
//! live in the database, checked on every request.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use examfee_shared::{Actor, OperatorRole, Role};

use super::SESSION_COOKIE;
use crate::clock::to_ms;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;

#[derive(Debug, Clone)]
pub struct Principal {
    pub role: Role,
    pub subject_id: String,
    pub session_id: String,
    pub must_change_password: bool,
    /// An operator's role, as the database has it now; `None` for candidates.
    pub operator_role: Option<OperatorRole>,
    /// The session was opened with a TOTP code as well as the password.
    pub second_factor: bool,
}

impl Principal {
    /// How the audit log names this caller.
    pub fn actor(&self) -> Actor {
        match self.role {
            Role::Candidate => Actor::Candidate(self.subject_id.clone()),
            Role::Operator => Actor::Operator(self.subject_id.clone()),
        }
    }
}

/// Where a request's token came from.
enum Token {
    /// `Authorization: Bearer`: a script had to set it, so no other site can make a
    /// browser send it.
    Bearer(String),
    /// The session cookie, which the browser attaches by itself.
    Cookie(String),
}

fn token_of(req: &HttpRequest) -> Option<Token> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| Token::Bearer(t.trim().to_owned()));
    bearer.or_else(|| {
        req.cookie(SESSION_COOKIE)
            .map(|c| Token::Cookie(c.value().to_owned()))
    })
}

/// The content types a cookie-authenticated change may come with. None of them is one
/// an HTML form can send (`application/x-www-form-urlencoded`, `multipart/form-data`,
/// `text/plain`), nor one another origin's script may send without a CORS preflight
/// that this server does not grant, so such a request was made by the web client's own
/// script. SameSite=Strict already keeps other *sites* out; this keeps out the pages of
/// other origins on the same site (a sibling subdomain) and a browser that ignores
/// SameSite. Body-less changes (logout, sync) send the JSON type with an empty body.
const CSRF_SAFE_TYPES: [&str; 2] = ["application/json", "text/csv"];

/// Refuses a state-changing request authenticated by the cookie alone unless its
/// content type proves it came from script.
fn check_csrf(req: &HttpRequest) -> Result<(), ApiError> {
    if req.method().is_safe() {
        return Ok(());
    }
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match essence {
        Some(essence) if CSRF_SAFE_TYPES.contains(&essence.as_str()) => Ok(()),
        _ => Err(ApiError::CsrfRejected),
    }
}

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// Admits the caller of a request: token, CSRF rule, live session (and an operator's
/// role now).
async fn authenticate(
    state: Option<web::Data<AppState>>,
    token: Result<Option<String>, ApiError>,
) -> Result<Principal, ApiError> {
    let state = state.ok_or_else(|| anyhow::anyhow!("AppState missing"))?;
    let token = token?.ok_or(ApiError::Unauthenticated)?;
    let now = state.clock.now();
    let claims = state
        .tokens
        .verify(&token, now)
        .ok_or(ApiError::Unauthenticated)?;
    let now_ms = to_ms(now);
    let operator_role = match claims.role {
        // Operators are few and act on every candidate's money: their session and
        // role are read on every request, never from the cache, so that a revocation
        // or a demotion made on any replica applies at once.
        Role::Operator => Some(
            store::sessions::live_operator_role(&state.db, &claims.sid, &claims.sub, now_ms)
                .await?
                .ok_or(ApiError::Unauthenticated)?,
        ),
        Role::Candidate => {
            if !state.sessions.is_live(&claims.sid, &claims.sub, now_ms) {
                if !store::sessions::is_live(&state.db, &claims.sid, &claims.sub, now_ms).await? {
                    return Err(ApiError::Unauthenticated);
                }
                state.sessions.remember(
                    &claims.sid,
                    &claims.sub,
                    now_ms,
                    claims.exp.saturating_mul(1000),
                );
            }
            None
        }
    };
    Ok(Principal {
        role: claims.role,
        subject_id: claims.sub,
        session_id: claims.sid,
        must_change_password: claims.pwc,
        operator_role,
        second_factor: claims.tfa,
    })
}

fn request_token(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    match token_of(req) {
        Some(Token::Cookie(token)) => check_csrf(req).map(|()| Some(token)),
        Some(Token::Bearer(token)) => Ok(Some(token)),
        None => Ok(None),
    }
}

/// The caller of an operator endpoint, admitted before the handler's extractors run.
struct AdmittedAhead(Result<Principal, ApiError>);

/// Middleware: admits the caller of every `/api/v1/admin/` request before its
/// handler's extractors run. Actix polls those extractors together and answers the
/// first error any of them finds; an operator's admission waits for the database
/// (their session and role are read on every request), so without this a caller
/// without the right could be told 400 about the body or the query rather than 403,
/// depending on which finished first.
pub async fn admit_operators_first(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.path().starts_with("/api/v1/admin/") {
        let admitted = authenticate(
            req.app_data::<web::Data<AppState>>().cloned(),
            request_token(req.request()),
        )
        .await;
        req.extensions_mut().insert(AdmittedAhead(admitted));
    }
    next.call(req).await
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Boxed<Principal>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(AdmittedAhead(admitted)) = req.extensions_mut().remove::<AdmittedAhead>() {
            return Box::pin(std::future::ready(admitted));
        }
        Box::pin(authenticate(
            req.app_data::<web::Data<AppState>>().cloned(),
            request_token(req),
        ))
    }
}

/// A candidate who has set their own password.
pub struct CandidateAuth(pub Principal);

impl FromRequest for CandidateAuth {
    type Error = ApiError;
    type Future = Boxed<CandidateAuth>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload);
        Box::pin(async move {
            let principal = principal.await?;
            match principal.role {
                Role::Candidate if principal.must_change_password => {
                    Err(ApiError::PasswordChangeRequired)
                }
                Role::Candidate => Ok(CandidateAuth(principal)),
                Role::Operator => Err(ApiError::Forbidden),
            }
        })
    }
}

/// An operator of the exam authority, of any role: what every role may do (read).
/// Where a second factor is required (`AppState::operator_totp_required`), an
/// `admin` or `finance` session opened without a TOTP code is refused 403
/// `totp_enrolment_required`: it may only enrol one ([`OperatorEnrolling`]).
pub struct OperatorAuth(pub Principal);

/// An operator of any role, whether or not the session may do more than enrol a TOTP
/// authenticator: for the enrolment endpoints alone.
pub struct OperatorEnrolling(pub Principal);

impl Principal {
    /// Whether this operator's session may only enrol a TOTP authenticator (see
    /// `totp::may_only_enrol`), with the role as it is now.
    pub fn may_only_enrol(&self, totp_required: bool) -> bool {
        crate::auth::totp::may_only_enrol(totp_required, self.operator_role, self.second_factor)
    }
}

/// A kind of change, and the operator roles that may make it.
pub trait Right {
    const ROLES: &'static [OperatorRole];
}

/// Operators, webhooks, settings.
pub struct Manage;
impl Right for Manage {
    const ROLES: &'static [OperatorRole] = &[OperatorRole::Admin];
}

/// Refund review and reconciliation.
pub struct Money;
impl Right for Money {
    const ROLES: &'static [OperatorRole] = &[OperatorRole::Admin, OperatorRole::Finance];
}

/// Exams, fee items, candidate import.
pub struct Catalog;
impl Right for Catalog {
    const ROLES: &'static [OperatorRole] = &[OperatorRole::Admin, OperatorRole::Clerk];
}

/// An operator whose role may make the changes of `R`; any other operator gets 403
/// `forbidden`.
pub struct Operator<R: Right>(pub Principal, PhantomData<R>);

impl<R: Right + 'static> FromRequest for Operator<R> {
    type Error = ApiError;
    type Future = Boxed<Operator<R>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let operator = OperatorAuth::from_request(req, payload);
        Box::pin(async move {
            let OperatorAuth(principal) = operator.await?;
            match principal.operator_role {
                Some(role) if R::ROLES.contains(&role) => Ok(Operator(principal, PhantomData)),
                _ => Err(ApiError::Forbidden),
            }
        })
    }
}

impl FromRequest for OperatorEnrolling {
    type Error = ApiError;
    type Future = Boxed<OperatorEnrolling>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload);
        Box::pin(async move {
            let principal = principal.await?;
            match principal.role {
                Role::Operator => Ok(OperatorEnrolling(principal)),
                Role::Candidate => Err(ApiError::Forbidden),
            }
        })
    }
}

impl FromRequest for OperatorAuth {
    type Error = ApiError;
    type Future = Boxed<OperatorAuth>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let operator = OperatorEnrolling::from_request(req, payload);
        Box::pin(async move {
            let OperatorEnrolling(principal) = operator.await?;
            let state = state.ok_or_else(|| anyhow::anyhow!("AppState missing"))?;
            if principal.may_only_enrol(state.operator_totp_required) {
                return Err(ApiError::TotpEnrolmentRequired);
            }
            Ok(OperatorAuth(principal))
        })
    }
}
