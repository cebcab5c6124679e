//! The Tend device core: everything the app does that does not need a webview.
//! `src-tauri` is a thin adapter over this crate; tests and benchmarks drive it
//! directly.

pub mod admin;
pub mod admin_directory;
pub mod alerts;
pub mod api_call;
pub mod app_status;
pub mod break_glass;
pub mod client;
pub mod config;
pub mod connectivity;
pub mod device;
pub mod enrollment;
pub mod error;
pub mod family;
pub mod family_staff;
pub mod heartbeat;
pub mod identity;
pub mod instance;
pub mod language;
pub mod link;
pub mod logging;
pub mod login;
pub mod residents;
pub mod server_bound;
pub mod server_url;
pub mod session;
pub mod sync;
pub mod update;
pub mod vault;

pub use error::{CoreError, Result};
