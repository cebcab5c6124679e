//! Device authentication (challenge → signature → short-lived device token)
//! and heartbeats, which devices send with that token.

use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Utc;
use ed25519_dalek::{Signature, VerifyingKey};
use tend_domain::wire::{
    device_auth_message, DeviceChallenge, DeviceChallengeRequest, DeviceOrderKind, DeviceToken,
    DeviceTokenRequest, DeviceVaultSecret, EncryptionPosture, ErrorBody, Heartbeat, HeartbeatAck,
    ServerSigningKey,
};
use tend_domain::ErrorCode;

use crate::error::{ApiError, Result};
use crate::extract::{ApiJson, Id};
use crate::identity::heartbeat::PendingHeartbeat;
use crate::identity::limits::Bucket;
use crate::identity::tokens::{issue_nonce, new_device_token, take_nonce, DevicePrincipal};
use crate::identity::{refusal_for_closure, refusal_for_status, ClientAddress, DeviceAuth};
use crate::store;
use crate::validate::Validator;
use crate::AppState;

/// A nonce for the device to sign (single use, valid about a minute, answerable
/// at any API instance).
#[utoipa::path(post, path = "/api/devices/auth/challenge", tag = "device-auth",
    request_body = DeviceChallengeRequest,
    responses(
        (status = 200, description = "A nonce to sign", body = DeviceChallenge),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 429, description = "Too many challenges from this address", body = ErrorBody)))]
pub async fn challenge(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<DeviceChallengeRequest>,
) -> Result<Json<DeviceChallenge>> {
    // Every challenge is a row: bound how fast one address can ask for them.
    let address_key = address.as_deref().unwrap_or("-");
    if !state
        .identity
        .limits
        .take(
            &state.pool,
            Bucket::ChallengeAddress,
            address_key.as_bytes(),
        )
        .await?
    {
        return Err(ApiError::RateLimited);
    }
    let ttl = state.identity.config.nonce_ttl;
    let (nonce, expires_at) = issue_nonce(&state.pool, body.device_uuid.as_uuid(), ttl).await?;
    Ok(Json(DeviceChallenge { nonce, expires_at }))
}

fn verify(public_key: &str, message: &[u8], signature: &str) -> bool {
    let key = STANDARD
        .decode(public_key)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok());
    let sig = STANDARD
        .decode(signature.trim())
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok());
    match (key, sig) {
        (Some(k), Some(s)) => k.verify_strict(message, &s).is_ok(),
        _ => false,
    }
}

/// The server's order-signing key (Ed25519). A device pins it when it
/// enrolls and wipes itself only on a deactivation or rejection signed with
/// it (the `order` of a `DEVICE_DEACTIVATED` / `DEVICE_REJECTED` refusal).
#[utoipa::path(get, path = "/api/server-key", tag = "device-auth",
    responses(
        (status = 200, description = "The public key device orders are signed with", body = ServerSigningKey),
        (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn server_key(State(state): State<AppState>) -> Result<Json<ServerSigningKey>> {
    Ok(Json(state.identity.orders.public_key(&state.pool).await?))
}

/// Exchange a signed nonce for a device token.
///
/// `signature` is the Ed25519 signature over
/// `tend-device-auth-v1\n<device_uuid>\n<nonce>` (see the wire types).
#[utoipa::path(post, path = "/api/devices/auth/token", tag = "device-auth",
    request_body = DeviceTokenRequest,
    responses(
        (status = 200, description = "A short-lived device token", body = DeviceToken),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Bad, expired or replayed nonce or signature (UNAUTHORIZED); DEVICE_UNKNOWN, DEVICE_PENDING; DEVICE_REJECTED and DEVICE_DEACTIVATED carry the signed `order` a device verifies before it wipes itself", body = ErrorBody),
        (status = 403, description = "FACILITY_CLOSED or ORGANIZATION_CLOSED: the device's facility or organization is closed in Tend; the device keeps its enrollment and data and asks again later", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn token(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<DeviceTokenRequest>,
) -> Result<Json<DeviceToken>> {
    let uuid = body.device_uuid.as_uuid();
    // The nonce is spent whatever happens next: a signature is tried once.
    if !take_nonce(&state.pool, &body.nonce, uuid).await? {
        return Err(ApiError::Unauthorized);
    }
    let mut tx = state.pool.begin().await?;
    let device = store::enrollment::lookup_device(&mut tx, uuid)
        .await?
        .ok_or(ApiError::Device(ErrorCode::DeviceUnknown))?;
    let key = device
        .identity_public_key
        .as_deref()
        .ok_or(ApiError::Device(ErrorCode::DeviceUnknown))?;
    if !verify(
        key,
        &device_auth_message(&body.device_uuid, &body.nonce),
        &body.signature,
    ) {
        return Err(ApiError::Unauthorized);
    }
    if device.status != "ACTIVE" || !device.is_active {
        // An administrator ended this enrollment: say so in an order the
        // device can verify (and only then wipe itself), bound to this nonce.
        let kind = match device.status.as_str() {
            "DEACTIVATED" => Some(DeviceOrderKind::Deactivate),
            "REJECTED" => Some(DeviceOrderKind::Reject),
            _ => None,
        };
        if let Some(kind) = kind {
            let order = state
                .identity
                .orders
                .order(&state.pool, kind, body.device_uuid, &body.nonce)
                .await?;
            return Err(ApiError::DeviceOrdered {
                order: Box::new(order),
            });
        }
        return Err(refusal_for_status(&device.status));
    }
    // A closed facility or organization refuses its devices without ending
    // their enrollment: nothing to wipe, only to wait for.
    if let Some(refusal) = refusal_for_closure(device.facility_active, device.organization_active) {
        return Err(refusal);
    }
    let ttl = state.identity.config.device_token_ttl;
    let (token, hash) = new_device_token();
    let expires_at = store::enrollment::issue_token(&mut tx, &hash, device.id, ttl).await?;
    tx.commit().await?;
    state.identity.tokens.insert(
        hash,
        DevicePrincipal {
            device_id: device.id,
            organization_id: device.organization_id,
            facility_id: device.facility_id,
            encryption_required: device.encryption_required,
            expires_at,
        },
    );
    tracing::debug!(device_id = device.id, "device token issued");
    Ok(Json(DeviceToken {
        token,
        device_id: device.id,
        expires_at,
        facility_id: Some(device.facility_id),
        facility_name: Some(device.facility_name),
    }))
}

/// A device's heartbeat (device token; its own id only). Coalesced in memory
/// and written within about a second; `last_seen` is the arrival time.
#[utoipa::path(post, path = "/api/devices/{id}/heartbeat", tag = "device-auth",
    request_body = Heartbeat,
    params(("id" = i64, Path, description = "Device id (the token's own)")),
    responses(
        (status = 200, description = "Recorded", body = HeartbeatAck),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid device token, or the device is no longer active (DEVICE_DEACTIVATED: authenticate again for the signed order)", body = ErrorBody),
        (status = 403, description = "Another device's id (FORBIDDEN), or the device's facility or organization is closed (FACILITY_CLOSED, ORGANIZATION_CLOSED)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)),
    security(("device" = [])))]
pub async fn heartbeat(
    State(state): State<AppState>,
    auth: DeviceAuth,
    Id(id): Id,
    ApiJson(body): ApiJson<Heartbeat>,
) -> Result<Json<HeartbeatAck>> {
    let device = auth.own(id)?;
    let mut v = Validator::new();
    let app_version = v.opt_text("app_version", body.app_version.as_deref(), 64);
    v.finish()?;
    let now = Utc::now();
    let clock_offset_ms = body
        .device_time
        .signed_duration_since(now)
        .num_milliseconds();
    // Device clocks drift: shift what it reports into server time (a time
    // that cannot be shifted, or lies in the future, becomes now).
    let offset = chrono::Duration::milliseconds(clock_offset_ms);
    let to_server = |t: Option<chrono::DateTime<Utc>>| {
        t.map(|t| {
            t.checked_sub_signed(offset)
                .map_or(now, |server| server.min(now))
        })
    };
    state.identity.heartbeats.record(
        device.device_id,
        PendingHeartbeat {
            seen: now,
            app_version,
            posture: body.encryption_posture.as_str(),
            pending_outbox: i32::try_from(body.pending_outbox).unwrap_or(i32::MAX),
            last_sync: to_server(body.last_sync),
            oldest_pending_since: to_server(body.oldest_pending_since),
            sync_errors: body.sync_errors,
            clock_offset_ms,
        },
    );
    // Below the facility's minimum protection (or unencrypted where this
    // device must encrypt): nothing stays open on its screen.
    let minimum = state
        .identity
        .protection
        .get(&state.pool, device.facility_id)
        .await?;
    let lock = !minimum.allows(body.encryption_posture)
        || (device.encryption_required && body.encryption_posture == EncryptionPosture::None);
    Ok(Json(HeartbeatAck {
        server_time: now,
        clock_offset_ms,
        lock,
    }))
}

/// The server's part of this device's server-bound vault key (its own
/// device token only; created on first use). A deactivated device has no
/// token, and its secret was destroyed when it was deactivated.
#[utoipa::path(get, path = "/api/devices/{id}/vault-secret", tag = "device-auth",
    params(("id" = i64, Path, description = "Device id (the token's own)")),
    responses(
        (status = 200, description = "The secret (and the one before a rotation, until the device re-keyed); `Cache-Control: no-store`", body = DeviceVaultSecret),
        (status = 401, description = "No valid device token, or the device is no longer active", body = ErrorBody),
        (status = 403, description = "Another device's id", body = ErrorBody)),
    security(("device" = [])))]
pub async fn vault_secret(
    State(state): State<AppState>,
    auth: DeviceAuth,
    Id(id): Id,
) -> Result<impl axum::response::IntoResponse> {
    auth.own(id)?;
    let secrets = store::vault_secrets::get_or_create(&state.pool, id).await?;
    Ok(no_store(secrets))
}

/// A new server part for this device's vault key. The current one stays
/// `previous` until the device re-keyed its vault and confirms with
/// `DELETE /api/devices/{id}/vault-secret/previous`.
#[utoipa::path(post, path = "/api/devices/{id}/vault-secret/rotate", tag = "device-auth",
    params(("id" = i64, Path, description = "Device id (the token's own)")),
    responses(
        (status = 200, description = "The new secret and the previous one; `Cache-Control: no-store`", body = DeviceVaultSecret),
        (status = 401, description = "No valid device token, or the device is no longer active", body = ErrorBody),
        (status = 403, description = "Another device's id", body = ErrorBody),
        (status = 409, description = "A rotation is already waiting for the device to re-key", body = ErrorBody)),
    security(("device" = [])))]
pub async fn rotate_vault_secret(
    State(state): State<AppState>,
    auth: DeviceAuth,
    Id(id): Id,
) -> Result<impl axum::response::IntoResponse> {
    auth.own(id)?;
    let secrets = store::vault_secrets::rotate(&state.pool, id).await?;
    tracing::info!(device_id = id, "vault secret rotated");
    Ok(no_store(secrets))
}

/// The device re-keyed its vault: the secret before the rotation is gone.
#[utoipa::path(delete, path = "/api/devices/{id}/vault-secret/previous", tag = "device-auth",
    params(("id" = i64, Path, description = "Device id (the token's own)")),
    responses(
        (status = 204, description = "Forgotten"),
        (status = 401, description = "No valid device token, or the device is no longer active", body = ErrorBody),
        (status = 403, description = "Another device's id", body = ErrorBody)),
    security(("device" = [])))]
pub async fn forget_previous_vault_secret(
    State(state): State<AppState>,
    auth: DeviceAuth,
    Id(id): Id,
) -> Result<axum::http::StatusCode> {
    auth.own(id)?;
    store::vault_secrets::forget_previous(&state.pool, id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Secrets are never cached by a proxy or client.
fn no_store(secrets: DeviceVaultSecret) -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(secrets),
    )
}
