//! Integration tests: the real server on port 0, a fresh PostgreSQL database
//! per test (migrated as owner), the API connected as a separate role that
//! neither owns the tables nor bypasses row-level security.
//!
//! Needs TEND_TEST_PG_URL (a superuser URL); `scripts/test-api.sh` starts a
//! throwaway cluster and sets it.

mod admin_audit_client;
mod admin_client;
mod admin_dashboard_client;
mod admin_directory_client;
mod alerts;
mod audit_chain;
mod auth;
mod authorship;
mod badges;
mod break_glass;
mod census_history;
mod cli;
mod device_client;
mod device_sync;
mod facility_move;
mod facility_policy;
mod family;
mod family_staff_client;
mod fault_proxy;
mod fhir;
mod helpers;
mod identity;
mod import;
mod import_console;
mod isolation;
mod language;
mod login_abuse;
mod login_client;
mod openapi;
mod residents;
mod resources;
mod rls;
mod serving;
mod sync;
mod telemetry;
mod validation;
