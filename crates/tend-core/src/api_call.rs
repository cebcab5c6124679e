//! One way to call the central API, shared by the device client
//! (`enrollment`) and the administrator's client (`admin`): transport
//! failures become `Offline`, error bodies keep the API's own code and field
//! errors, and an answer this app cannot read says the versions differ.

use serde::de::DeserializeOwned;
use tend_domain::wire::ErrorBody;
use tend_domain::ErrorCode;

use crate::{CoreError, Result};

/// Someone who calls the API with their own credentials: the console's
/// administrator or the signed-in user ([`BearerApi`]).
pub trait Caller: Sync {
    /// A request to `path`, with the caller's credentials.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder;
}

/// A server and a user's bearer token.
pub struct BearerApi {
    client: crate::client::DeviceClient,
    token: String,
}

impl BearerApi {
    pub fn new(client: crate::client::DeviceClient, token: String) -> Self {
        Self { client, token }
    }
}

impl Caller for BearerApi {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, path).bearer_auth(&self.token)
    }
}

/// How long one API call may take before the server counts as unreachable.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends `request` (with [`REQUEST_TIMEOUT`]) and decodes a 2xx answer as `T`.
pub(crate) async fn send<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T> {
    decode(&fetch(request).await?)
}

/// A 2xx answer's body as `T`; anything else says the versions differ.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        tracing::warn!(error = %e, "unexpected answer from the server");
        CoreError::Api {
            code: ErrorCode::UnsupportedVersion,
            message: "the server's answer is not what this app understands; \
                      check that the app and the server versions match"
                .to_owned(),
        }
    })
}

/// Sends `request` for its effect only (a 204 answer has no body).
pub(crate) async fn send_for_effect(request: reqwest::RequestBuilder) -> Result<()> {
    fetch(request).await.map(drop)
}

/// The body of a 2xx answer; any other answer is the API's error.
async fn fetch(request: reqwest::RequestBuilder) -> Result<Vec<u8>> {
    fetch_with_headers(request).await.map(|(_, body)| body)
}

/// [`fetch`] with the answer's headers (a download's continuation header).
pub(crate) async fn fetch_with_headers(
    request: reqwest::RequestBuilder,
) -> Result<(reqwest::header::HeaderMap, Vec<u8>)> {
    let (status, headers, bytes) = exchange(request, REQUEST_TIMEOUT).await?;
    if status.is_success() {
        return Ok((headers, bytes));
    }
    Err(api_error(status, &bytes))
}

/// [`send`] with a longer `timeout`, where an error answer may still be a
/// result: `rescue` reads it first (an import's 422 lists the files' problems).
pub(crate) async fn send_rescuing<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    timeout: std::time::Duration,
    rescue: impl FnOnce(reqwest::StatusCode, &[u8]) -> Option<T>,
) -> Result<T> {
    let (status, _, bytes) = exchange(request, timeout).await?;
    if status.is_success() {
        return decode(&bytes);
    }
    match rescue(status, &bytes) {
        Some(t) => Ok(t),
        None => Err(api_error(status, &bytes)),
    }
}

/// One request and its whole answer, whatever the status; only a transport
/// failure is an error here.
async fn exchange(
    request: reqwest::RequestBuilder,
    timeout: std::time::Duration,
) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>)> {
    let response = request.timeout(timeout).send().await.map_err(|e| {
        tracing::debug!(
            timeout = e.is_timeout(),
            connect = e.is_connect(),
            "server unreachable"
        );
        CoreError::Offline(if e.is_timeout() {
            "the server did not answer in time".to_owned()
        } else {
            "the server cannot be reached".to_owned()
        })
    })?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(|_| CoreError::Offline("the server's answer was cut off".to_owned()))?;
    Ok((status, headers, bytes.to_vec()))
}

/// Maps an HTTP failure to the API's own code (or one derived from the status
/// when the body is not the API's error shape, e.g. a proxy's page). Field
/// errors (a 422, or a 409 naming the taken value) are kept.
pub(crate) fn api_error(status: reqwest::StatusCode, body: &[u8]) -> CoreError {
    if let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body) {
        if let (ErrorCode::BadgePinWrong, Some(attempts_left)) = (error.code, error.attempts_left) {
            return CoreError::BadgePinWrong {
                message: error.message,
                attempts_left,
            };
        }
        if let Some(order) = error.order {
            return CoreError::DeviceOrdered {
                code: error.code,
                message: error.message,
                order,
            };
        }
        if !error.fields.is_empty() {
            return CoreError::ApiFields {
                code: error.code,
                message: error.message,
                fields: error.fields,
            };
        }
        return CoreError::Api {
            code: error.code,
            message: error.message,
        };
    }
    tracing::debug!(status = status.as_u16(), "error without an API error body");
    let code = match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        429 => ErrorCode::RateLimited,
        502..=504 => ErrorCode::Offline,
        s if s >= 500 => ErrorCode::Unavailable,
        _ => ErrorCode::Internal,
    };
    CoreError::Api {
        code,
        message: format!("the server answered {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_keep_the_api_code() {
        let body =
            br#"{"error":{"code":"ENROLLMENT_CODE_EXPIRED","message":"expired","fields":{}}}"#;
        let e = api_error(reqwest::StatusCode::UNPROCESSABLE_ENTITY, body);
        assert_eq!(e.code(), ErrorCode::EnrollmentCodeExpired);
        assert_eq!(e.to_string(), "expired");
        assert!(e.fields().is_empty());
        let e = api_error(reqwest::StatusCode::BAD_GATEWAY, b"<html>");
        assert_eq!(e.code(), ErrorCode::Offline);
        let e = api_error(reqwest::StatusCode::INTERNAL_SERVER_ERROR, b"");
        assert_eq!(e.code(), ErrorCode::Unavailable);
        let e = api_error(reqwest::StatusCode::UNAUTHORIZED, b"");
        assert_eq!(e.code(), ErrorCode::Unauthorized);
    }

    #[test]
    fn a_wrong_pin_keeps_the_attempts_left() {
        let body = br#"{"error":{"code":"BADGE_PIN_WRONG","message":"wrong PIN","fields":{},"attempts_left":3}}"#;
        let e = api_error(reqwest::StatusCode::UNAUTHORIZED, body);
        assert_eq!(e.code(), ErrorCode::BadgePinWrong);
        assert!(matches!(
            e,
            CoreError::BadgePinWrong {
                attempts_left: 3,
                ..
            }
        ));
    }

    #[test]
    fn field_errors_are_kept() {
        let body = br#"{"error":{"code":"CONFLICT","message":"taken","fields":{"device_uuid":["a device with this UUID is already registered"]}}}"#;
        let e = api_error(reqwest::StatusCode::CONFLICT, body);
        assert_eq!(e.code(), ErrorCode::Conflict);
        assert_eq!(e.to_string(), "taken");
        assert_eq!(
            e.fields()["device_uuid"],
            vec!["a device with this UUID is already registered".to_owned()]
        );
    }
}
