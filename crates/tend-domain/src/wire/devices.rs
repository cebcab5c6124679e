//! Agency-owned devices registered to a facility.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::page;
use crate::{DeviceStatus, DeviceType, DeviceUuid, MacAddress, SyncStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    /// The facility's name (a device shows it on its lock screen); absent
    /// from servers that predate it.
    #[serde(default)]
    pub facility_name: Option<String>,
    pub device_name: String,
    pub device_type: DeviceType,
    pub device_uuid: String,
    pub mac_address: Option<String>,
    pub encryption_enabled: bool,
    pub encryption_required: bool,
    pub app_version: Option<String>,
    pub status: DeviceStatus,
    pub is_active: bool,
    /// Derived: heartbeat within the last five minutes (server time).
    pub is_online: bool,
    /// Derived from the last sync and what the device reported.
    pub sync_status: SyncStatus,
    pub last_seen: Option<DateTime<Utc>>,
    pub last_sync: Option<DateTime<Utc>>,
    pub last_security_audit: Option<DateTime<Utc>>,
    /// Where the vault key lives, from the last heartbeat.
    pub encryption_posture: Option<super::EncryptionPosture>,
    /// Operating system reported at enrollment.
    pub os: Option<String>,
    /// Where the device_uuid came from, as reported at enrollment.
    pub identity_source: Option<String>,
    /// Whether the device enrolled a key (it can authenticate).
    pub has_identity_key: bool,
    /// Set when another machine presented this device_uuid with a different
    /// key (a cloned image?): an administrator must check it.
    pub clone_suspected_at: Option<DateTime<Utc>>,
    /// The device's clock minus server time at its last heartbeat.
    pub clock_offset_ms: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

page!(
    /// A page of devices.
    DevicePage,
    Device
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateDevice {
    pub facility_id: i64,
    pub device_name: String,
    pub device_type: DeviceType,
    pub device_uuid: DeviceUuid,
    #[serde(default)]
    pub mac_address: Option<MacAddress>,
    #[serde(default)]
    pub encryption_enabled: Option<bool>,
    #[serde(default)]
    pub encryption_required: Option<bool>,
    #[serde(default)]
    pub app_version: Option<String>,
}

/// Partial update. A device may move between facilities of its organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateDevice {
    #[serde(default)]
    pub facility_id: Option<i64>,
    #[serde(default)]
    pub device_name: Option<String>,
    #[serde(default)]
    pub device_type: Option<DeviceType>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub mac_address: Option<Option<MacAddress>>,
    #[serde(default)]
    pub encryption_enabled: Option<bool>,
    #[serde(default)]
    pub encryption_required: Option<bool>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub app_version: Option<Option<String>>,
    #[serde(default)]
    pub last_security_audit: Option<DateTime<Utc>>,
}
