//! Storage: SQL for each resource, rows mapped to wire types. Every function
//! runs on the request's scoped transaction and adds the API-level tenant
//! filter; row-level security enforces the same rule underneath.

pub mod audit;
pub mod badges;
pub mod break_glass;
pub mod census_history;
pub mod device_sessions;
pub mod devices;
pub mod enrollment;
pub mod facilities;
pub mod family;
pub mod organizations;
pub mod patients;
pub mod sync;
pub mod users;
pub mod vault_secrets;

use crate::error::ApiError;

/// Parses a stored enum value; a mismatch means the schema and code disagree.
pub(crate) fn decode<T>(
    parse: impl Fn(&str) -> Result<T, tend_domain::ValidationError>,
    value: &str,
) -> Result<T, ApiError> {
    parse(value)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored value does not parse: {e}")))
}
