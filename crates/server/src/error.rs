//! API errors: every 4xx/5xx answer is `{"error": "...", "field": ...}` JSON.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answer of the API: status, a message naming the problem, and the field it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Human message: names the field or key, the value and what is allowed.
    pub error: String,
    /// The request field or scenario key the error is about (`paths`, `price.vol`), if any.
    pub field: Option<String>,
    /// Every problem when several values are invalid (`{"key","value","allowed"}` objects).
    pub errors: Vec<serde_json::Value>,
    /// Seconds for the `Retry-After` header (queue full, overload, timeout).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status and a message.
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            field: None,
            errors: Vec::new(),
            retry_after: None,
        }
    }
    /// 400 Bad Request.
    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error)
    }
    /// 422 Unprocessable Content (well-formed but invalid values).
    pub fn invalid(error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, error)
    }
    /// 404 Not Found.
    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error)
    }
    /// 500 Internal Server Error.
    pub fn internal(error: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, error)
    }
    /// Adds `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
    /// Names the field.
    pub fn field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into());
        self
    }
}

pub use hashpivot_data::text::{clip, CLIP_CHARS};

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Last guard: no quoted value longer than `CLIP_CHARS` leaves the server.
        let error = hashpivot_data::text::clip_quoted(&self.error);
        let field = self.field.as_deref().map(clip);
        let mut body = json!({ "error": error, "field": field });
        if !self.errors.is_empty() {
            body["errors"] = serde_json::Value::Array(self.errors);
        }
        if let Some(s) = self.retry_after {
            body["retry_after_s"] = s.into();
        }
        let mut r = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        r
    }
}

impl From<hashpivot_store::runs::RunStoreError> for ApiError {
    fn from(e: hashpivot_store::runs::RunStoreError) -> Self {
        ApiError::internal(e.to_string())
    }
}
