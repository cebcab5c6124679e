//! Tend's shared domain: the seed's enums, validated identifiers and the small
//! pieces of math (capacity, online state, sync status) that the device app and
//! the central API must agree on exactly. No I/O lives here.

pub mod badge_login;
pub mod break_glass;
pub mod capacity;
pub mod credentials;
pub mod enrollment_code;
pub mod error;
pub mod identifiers;
pub mod kinds;
pub mod policy;
pub mod records;
pub mod rules;
pub mod status;

pub use capacity::{available_beds, occupancy_rate, HistoryDays};
pub use credentials::{parse_visitor_code, Pin};
pub use enrollment_code::EnrollmentCode;
pub use error::{ErrorCode, ValidationError};
pub use identifiers::{DeviceUuid, Ein, MacAddress, Npi};
pub use kinds::{
    CodeStatus, DeviceStatus, DeviceType, FacilityType, FallRisk, Language, OrganizationType,
    PatientStatus, Role,
};
pub use policy::FacilityPolicy;
pub use status::{is_online, sync_status, SyncInputs, SyncStatus, SyncThresholds, ONLINE_WINDOW};
pub mod wire;
