//! Extractors that turn every bad input into the API's JSON error shape:
//! JSON bodies (malformed → 400, wrong shape → 422 with the failing field,
//! too large → 413), path ids and query strings.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldErrors};

/// A JSON request body.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_json_bytes(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body's bytes: 415 unless sent as JSON, 413 when too large.
async fn read_json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(ref e)
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::PayloadTooLarge
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            _ => ApiError::Malformed("the request body could not be read".to_owned()),
        })?;
    Ok(bytes)
}

/// A JSON request body read but not yet judged: for endpoints where who may
/// call comes first, so a caller without the role gets 403 whatever the body
/// holds (a 415 or 422 would tell it how to shape a request it may not make).
#[derive(Debug)]
pub struct LaterJson<T> {
    body: Result<Bytes, ApiError>,
    _shape: std::marker::PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> LaterJson<T> {
    /// The body as `T`, with [`ApiJson`]'s errors.
    pub fn parse(self) -> Result<T, ApiError> {
        parse_json(&self.body?)
    }
}

impl<T, S> FromRequest<S> for LaterJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = read_json_bytes(req, state).await;
        Ok(Self {
            body,
            _shape: std::marker::PhantomData,
        })
    }
}

/// Parses a body, naming the failing field when the JSON is well-formed but wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    // Trailing garbage after the value is malformed JSON too.
    if result.is_ok() {
        if let Err(e) = de.end() {
            return Err(ApiError::Malformed(format!(
                "the request body is not valid JSON: {}",
                strip_position(&e.to_string())
            )));
        }
    }
    match result {
        Ok(v) => Ok(v),
        Err(err) => {
            let inner = err.inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let msg = strip_position(&inner.to_string());
                    let path = err.path().to_string();
                    // The path names the failing field, except for a missing
                    // field (reported at its parent) and an unknown one at the root.
                    let field = if path != "." {
                        path
                    } else {
                        unknown_field_name(&msg)
                            .or_else(|| missing_field_name(&msg))
                            .unwrap_or_else(|| "body".to_owned())
                    };
                    let field = match missing_field_name(&msg) {
                        Some(name) if field != name && !field.ends_with(&format!(".{name}")) => {
                            format!("{field}.{name}")
                        }
                        _ => field,
                    };
                    let mut fields = FieldErrors::new();
                    fields.entry(field).or_default().push(msg);
                    Err(ApiError::Validation(fields))
                }
                _ => Err(ApiError::Malformed(format!(
                    "the request body is not valid JSON: {}",
                    strip_position(&inner.to_string())
                ))),
            }
        }
    }
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn between_backticks(msg: &str, prefix: &str) -> Option<String> {
    let rest = msg.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('`')?;
    let end = rest.find('`')?;
    Some(rest[..end].to_owned())
}

fn unknown_field_name(msg: &str) -> Option<String> {
    between_backticks(msg, "unknown field ")
}

fn missing_field_name(msg: &str) -> Option<String> {
    between_backticks(msg, "missing field ")
}

/// A path parameter (an id); a non-number answers 404, as no such resource exists.
#[derive(Debug)]
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::NotFound)?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Id)
            .ok_or(ApiError::NotFound)
    }
}

/// A query string; a bad parameter answers 422 naming it.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| {
                use std::error::Error;
                let msg = e
                    .source()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| e.body_text());
                ApiError::field("query", msg)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tend_domain::wire::{CreateFacility, CreateOrganization, UpdateOrganization};

    fn fields(err: ApiError) -> FieldErrors {
        match err {
            ApiError::Validation(f) => f,
            other => panic!("expected validation, got {other:?}"),
        }
    }

    #[test]
    fn malformed_json_is_400_and_shape_errors_name_the_field() {
        assert!(matches!(
            parse_json::<CreateOrganization>(b"{"),
            Err(ApiError::Malformed(_))
        ));
        assert!(matches!(
            parse_json::<UpdateOrganization>(b"{} x"),
            Err(ApiError::Malformed(_))
        ));
        assert!(parse_json::<UpdateOrganization>(b" {} ").is_ok());
        let f = fields(
            parse_json::<CreateOrganization>(
                br#"{"name":"A","organization_type":"SNF_CHAIN","npi":"1234567890"}"#,
            )
            .unwrap_err(),
        );
        assert!(f["npi"][0].contains("check digit"), "{f:?}");
        let f = fields(
            parse_json::<CreateOrganization>(
                br#"{"name":"A","organization_type":"SNF_CHAIN","extra":1}"#,
            )
            .unwrap_err(),
        );
        assert!(f.contains_key("extra"), "{f:?}");
        let f = fields(
            parse_json::<CreateFacility>(
                br#"{"name":"A","facility_type":"ALF","licensed_beds":"x"}"#,
            )
            .unwrap_err(),
        );
        assert!(f.contains_key("licensed_beds"), "{f:?}");
        let f = fields(parse_json::<CreateFacility>(br#"{"name":"A"}"#).unwrap_err());
        assert!(f.contains_key("facility_type"), "{f:?}");
    }
}
