//! HTTP wire types of the central API: the request and response bodies the
//! API serves and the device app's sync client sends, with the seed's field names.
//! Requests reject unknown fields; validated identifiers parse while decoding.

mod alerts;
mod audit;
mod auth;
mod badges;
mod break_glass;
mod devices;
mod errors;
mod facilities;
mod family;
mod identity;
mod import;
mod organizations;
mod patients;
mod sync;
mod users;

pub use alerts::*;
pub use audit::*;
pub use auth::*;
pub use badges::*;
pub use break_glass::*;
pub use devices::*;
pub use errors::*;
pub use facilities::*;
pub use family::*;
pub use identity::*;
pub use import::*;
pub use organizations::*;
pub use patients::*;
pub use sync::*;
pub use users::*;

use serde::{Deserialize, Deserializer, Serialize};

/// A free-form JSON object (organization and facility `settings`).
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// A secret typed by a person (a password). Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "specta", derive(specta::Type), specta(transparent))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Password))]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is hashed or verified.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null`
/// (`Some(None)`) in partial updates. Use with `#[serde(default)]`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Declares a page of list results: `items` plus an opaque `next_cursor`
/// (absent on the last page) to pass back as `cursor`.
macro_rules! page {
    ($(#[$meta:meta])* $name:ident, $item:ty) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page; null on the last page.
            pub next_cursor: Option<String>,
        }
    };
}
pub(crate) use page;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn requests_reject_unknown_fields_and_validate_identifiers() {
        let err = serde_json::from_str::<CreateOrganization>(
            r#"{"name":"A","organization_type":"SNF_CHAIN","nope":1}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"));
        let err = serde_json::from_str::<CreateOrganization>(
            r#"{"name":"A","organization_type":"SNF_CHAIN","npi":"1234567890"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("check digit"));
    }

    #[test]
    fn update_distinguishes_null_from_absent() {
        let u: UpdateFacility = serde_json::from_str(r#"{"licensed_beds":null}"#).unwrap();
        assert_eq!(u.licensed_beds, Some(None));
        let u: UpdateFacility = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(u.licensed_beds, None);
    }
}
