//! An organization's facilities, staff and residents brought in from CSV
//! files through the API (the admin console's upload); the same checks and
//! writes as `tend-api import`.

use serde::{Deserialize, Serialize};

/// The largest import request the API takes (the three files as JSON).
pub const IMPORT_MAX_BYTES: usize = 16 * 1024 * 1024;

/// One CSV file: the name problems call it by, and its text. Neither is kept.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportFile {
    /// The file's name as the administrator picked it (at most 200 characters).
    pub name: String,
    /// RFC 4180 CSV, UTF-8, with a header row.
    pub csv: String,
}

impl std::fmt::Debug for ImportFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Residents' names and badge values: never in a log line.
        f.debug_struct("ImportFile")
            .field("name", &self.name)
            .field("csv", &format_args!("<{} bytes>", self.csv.len()))
            .finish()
    }
}

/// `POST /api/organizations/{id}/import`: any of the three files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportRequest {
    /// name, facility_type, licensed_beds; optional timezone, address,
    /// medicaid_provider_number, medicare_provider_number, state_license_number.
    #[serde(default)]
    pub facilities: Option<ImportFile>,
    /// facility, role, employee_id, username, first_name, last_name, email; optional badge_uid.
    #[serde(default)]
    pub staff: Option<ImportFile>,
    /// facility, mrn, first_name, last_name, date_of_birth, status; optional
    /// room, admission_date, discharge_date.
    #[serde(default)]
    pub residents: Option<ImportFile>,
}

/// One problem with one cell, a header, or a whole line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportProblem {
    /// The file's name as sent.
    pub file: String,
    /// The line the record starts on; the header is line 1 (0: the whole file).
    pub line: u32,
    /// The column's header name (`*` for the whole line).
    pub column: String,
    pub message: String,
}

/// Which of the three files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ImportKind {
    Facilities,
    Staff,
    Residents,
}

/// What one file did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportFileSummary {
    pub kind: ImportKind,
    pub file: String,
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
    /// Staff only: badges assigned that their holder did not have.
    pub badges_added: u32,
}

/// The answer to an import: per-file counts when every file is valid, or
/// every problem (and then nothing was written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// A check only: the writes were rehearsed and rolled back.
    pub dry_run: bool,
    /// Empty when there are problems.
    pub files: Vec<ImportFileSummary>,
    /// By file, line and column; empty when the files are valid.
    pub problems: Vec<ImportProblem>,
}
