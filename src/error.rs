//! One error vocabulary for the two surfaces: JSON (`{"error", "message"}`)
//! for the API, the generic error page for browsers. Codes are stable.
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// A JSON API error. Extra fields (`attempts_left`, `retry_after`) ride along.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request JWT failed a check (which one is in the log only).
    InvalidRequest,
    /// A realm's JWKS could not be fetched.
    RealmUnavailable,
    SendFailed,
    NotFound,
    MethodNotAllowed,
    BadJson(String),
    /// What was submitted cannot be a code (wrong length, not digits).
    MalformedCode(String),
    InvalidCode {
        attempts_left: u32,
    },
    Expired,
    Locked,
    Cooldown {
        retry_after: u64,
    },
    ResendLimit,
    /// A send limit (this address, or all mail) is reached.
    SendLimited {
        retry_after: u64,
    },
    Unavailable,
    Internal,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::RealmUnavailable => "realm_unavailable",
            Self::SendFailed => "send_failed",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::BadJson(_) => "bad_json",
            Self::MalformedCode(_) => "malformed_code",
            Self::InvalidCode { .. } => "invalid_code",
            Self::Expired => "expired",
            Self::Locked => "locked",
            Self::Cooldown { .. } => "cooldown",
            Self::ResendLimit => "resend_limit",
            Self::SendLimited { .. } => "send_limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::InvalidRequest => "The request was refused.".into(),
            Self::RealmUnavailable => "The realm's keys could not be fetched; try again.".into(),
            Self::SendFailed => "The code could not be sent; try again.".into(),
            Self::NotFound => "No such resource.".into(),
            Self::MethodNotAllowed => "Method not allowed on this resource.".into(),
            Self::BadJson(detail) => format!("The body is not the expected JSON: {detail}"),
            Self::MalformedCode(detail) => format!("Not a code: {detail}."),
            Self::InvalidCode { attempts_left } => {
                format!("Wrong code; {attempts_left} attempt(s) left.")
            }
            Self::Expired => "The challenge expired or does not exist.".into(),
            Self::Locked => "Too many wrong codes; the challenge is closed.".into(),
            Self::Cooldown { retry_after } => {
                format!("A new code can be sent in {retry_after} s.")
            }
            Self::ResendLimit => "No more codes can be sent for this challenge.".into(),
            Self::SendLimited { retry_after } => {
                format!("Too many code mails for this address or overall; try again in {retry_after} s.")
            }
            Self::Unavailable => "The service is temporarily unavailable.".into(),
            Self::Internal => "Internal error.".into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidRequest
            | Self::BadJson(_)
            | Self::MalformedCode(_)
            | Self::InvalidCode { .. } => StatusCode::BAD_REQUEST,
            Self::RealmUnavailable | Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::SendFailed => StatusCode::BAD_GATEWAY,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Expired => StatusCode::GONE,
            Self::Locked | Self::Cooldown { .. } | Self::ResendLimit | Self::SendLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({ "error": self.code(), "message": self.message() });
        match self {
            Self::InvalidCode { attempts_left } => body["attempts_left"] = json!(attempts_left),
            Self::Cooldown { retry_after } | Self::SendLimited { retry_after } => {
                body["retry_after"] = json!(retry_after)
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        if let Self::Cooldown { retry_after } | Self::SendLimited { retry_after } = self {
            response.insert_header(("Retry-After", retry_after.to_string()));
        }
        response.json(body)
    }
}

/// Why a browser page stops the flow. `reason()` is the error page's `ctx.error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    InvalidRequest,
    Csrf,
    NoChallenge,
    /// A send limit is reached; no mail was sent.
    SendLimited,
    Unavailable,
    Internal,
    /// No such page (404), or a page opened with the wrong method (405), e.g.
    /// a form's address typed or reloaded as a GET.
    NotFound,
    MethodNotAllowed,
}

impl PageError {
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest | Self::NoChallenge => StatusCode::BAD_REQUEST,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::SendLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The error page's reason (see templates/README.md).
    pub fn reason(self) -> &'static str {
        match self {
            Self::InvalidRequest | Self::Csrf => "invalid_request",
            Self::NoChallenge => "no_challenge",
            Self::SendLimited => "send_limited",
            Self::Unavailable | Self::Internal => "internal",
            Self::NotFound | Self::MethodNotAllowed => "not_found",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn json_errors_carry_code_message_and_extras() {
        let response = ApiError::InvalidCode { attempts_left: 2 }.error_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let bytes = response.into_body().try_into_bytes().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"], "invalid_code");
        assert_eq!(body["attempts_left"], 2);
        assert!(body["message"].as_str().unwrap().contains("2 attempt"));
    }

    #[test]
    fn statuses_follow_the_protocol() {
        assert_eq!(ApiError::Expired.status_code(), StatusCode::GONE);
        assert_eq!(
            ApiError::Locked.status_code(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            ApiError::Cooldown { retry_after: 3 }.status_code(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            PageError::SendLimited.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}
