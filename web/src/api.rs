//! The ExamFee API, one function per endpoint, with the request and response types of
//! `shared`. Requests go to the same origin, so the browser sends the HttpOnly session
//! cookie by itself; no token is ever held in script. The operators' console builds
//! its own endpoints' requests on `json`, `empty` and `bodyless_post`.

use examfee_shared::dto::{
    CaptchaResponse, ChangePasswordRequest, CreateOrderRequest, FeeView, LoginRequest, MeResponse,
    OrderView, PasswordResetRequest, PayRequest, PayView, Problem, ReceiptVerification,
    ReceiptView, RefundRequest, RefundView, SmsCodeRequest, TokenResponse,
};
use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;

use crate::i18n::Text;
use crate::session;

/// Why a request failed, for the candidate.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// The API's answer: a problem+json with a stable code and messages in both languages.
    Problem(Box<Problem>),
    /// No answer, or one that was not the API's (a proxy's error page, say).
    Unreachable,
}

impl ApiError {
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Problem(p) => Some(&p.code),
            ApiError::Unreachable => None,
        }
    }

    /// The input field the API blamed, with `validation_failed`-style answers.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Problem(p) => p.field.as_deref(),
            ApiError::Unreachable => None,
        }
    }

    pub fn text(&self) -> Text {
        match self {
            ApiError::Problem(p) => Text::of_problem(p),
            ApiError::Unreachable => Text::new(
                "网络连接失败，请检查网络后重试",
                "The server cannot be reached; check the connection and try again.",
            ),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

pub fn url(path: &str) -> String {
    format!("/api/v1{path}")
}

/// Path segments come from the API or the address bar; encoding keeps them one segment.
pub fn segment(value: &str) -> String {
    String::from(js_sys::encode_uri_component(value))
}

pub async fn send(request: Result<Request, gloo_net::Error>) -> ApiResult<Response> {
    let response = request
        .map_err(|_| ApiError::Unreachable)?
        .send()
        .await
        .map_err(|_| ApiError::Unreachable)?;
    if response.ok() {
        return Ok(response);
    }
    let problem: Problem = response.json().await.map_err(|_| ApiError::Unreachable)?;
    // Every screen behind the login reacts to these two alike, so it happens here.
    match problem.code.as_str() {
        "unauthenticated" => session::ended(),
        "password_change_required" => session::password_change_required(),
        _ => {}
    }
    Err(ApiError::Problem(Box::new(problem)))
}

pub async fn json<T: DeserializeOwned>(request: Result<Request, gloo_net::Error>) -> ApiResult<T> {
    send(request)
        .await?
        .json()
        .await
        .map_err(|_| ApiError::Unreachable)
}

pub async fn empty(request: Result<Request, gloo_net::Error>) -> ApiResult<()> {
    send(request).await.map(drop)
}

pub async fn captcha() -> ApiResult<CaptchaResponse> {
    json(Request::post(&url("/auth/captcha")).build()).await
}

pub async fn login(body: &LoginRequest) -> ApiResult<TokenResponse> {
    json(Request::post(&url("/auth/login")).json(body)).await
}

pub async fn change_password(body: &ChangePasswordRequest) -> ApiResult<()> {
    empty(Request::post(&url("/auth/password")).json(body)).await
}

/// 获取验证码: `{}` with the session of a first login, or the ID number and a solved
/// captcha for 忘记密码.
pub async fn send_sms_code(body: &SmsCodeRequest) -> ApiResult<()> {
    empty(Request::post(&url("/auth/sms-code")).json(body)).await
}

pub async fn reset_password(body: &PasswordResetRequest) -> ApiResult<()> {
    empty(Request::post(&url("/auth/password-reset")).json(body)).await
}

/// A POST without a body. It still says it is JSON: the API refuses a change
/// authenticated by the cookie that a plain HTML form could have sent (CSRF).
pub fn bodyless_post(path: &str) -> Result<Request, gloo_net::Error> {
    Request::post(&url(path))
        .header("Content-Type", "application/json")
        .build()
}

pub async fn logout() -> ApiResult<()> {
    empty(bodyless_post("/auth/logout")).await
}

pub async fn me() -> ApiResult<MeResponse> {
    json(Request::get(&url("/me")).build()).await
}

pub async fn my_fees() -> ApiResult<Vec<FeeView>> {
    json(Request::get(&url("/me/fees")).build()).await
}

pub async fn create_order(body: &CreateOrderRequest) -> ApiResult<OrderView> {
    json(Request::post(&url("/orders")).json(body)).await
}

/// The API asks the platform first when its last look is a few seconds old.
pub async fn order(order_no: &str) -> ApiResult<OrderView> {
    json(Request::get(&url(&format!("/orders/{}", segment(order_no)))).build()).await
}

/// 确认支付 at ExamFee's cashier: the channel's QR code for the order (the same one
/// again while the order stays open).
pub async fn pay(order_no: &str, body: &PayRequest) -> ApiResult<PayView> {
    json(Request::post(&url(&format!("/orders/{}/pay", segment(order_no)))).json(body)).await
}

/// 重新查询: the API asks the platform now.
pub async fn sync_order(order_no: &str) -> ApiResult<OrderView> {
    json(bodyless_post(&format!(
        "/orders/{}/sync",
        segment(order_no)
    )))
    .await
}

pub async fn receipt(order_no: &str) -> ApiResult<ReceiptView> {
    json(Request::get(&url(&format!("/orders/{}/receipt", segment(order_no)))).build()).await
}

pub async fn request_refund(order_no: &str, body: &RefundRequest) -> ApiResult<RefundView> {
    json(Request::post(&url(&format!("/orders/{}/refund", segment(order_no)))).json(body)).await
}

pub async fn verify_receipt(receipt_no: &str, check_code: &str) -> ApiResult<ReceiptVerification> {
    let request = Request::get(&url("/receipts/verify"))
        .query([("receipt_no", receipt_no), ("check_code", check_code)])
        .build();
    json(request).await
}
