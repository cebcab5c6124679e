//! The console's import: up to three CSV files read in the webview, checked
//! (a dry run) or written by the API in this administrator's name
//! (`POST /api/organizations/{id}/import`). The texts pass through memory
//! only: never written to disk, never logged.

use tend_domain::wire::{ErrorBody, ImportReport, ImportRequest, IMPORT_MAX_BYTES};
use tend_domain::ErrorCode;

use super::AdminSession;
use crate::api_call::send_rescuing;
use crate::{CoreError, Result};

/// An import may take longer than other calls (the server allows 30 s).
const IMPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl AdminSession {
    /// Checks (`dry_run`) or imports the files into the organization. Problems
    /// in the files are a report, not an error: by file, line and column, and
    /// then nothing was written.
    #[tracing::instrument(skip_all, fields(organization_id, dry_run))]
    pub async fn import_csv(
        &self,
        organization_id: i64,
        files: &ImportRequest,
        dry_run: bool,
    ) -> Result<ImportReport> {
        if files.facilities.is_none() && files.staff.is_none() && files.residents.is_none() {
            return Err(CoreError::Api {
                code: ErrorCode::ValidationFailed,
                message: "choose at least one CSV file".to_owned(),
            });
        }
        let body = serde_json::to_vec(files)
            .map_err(|e| CoreError::Config(format!("the files cannot be sent: {e}")))?;
        if body.len() > IMPORT_MAX_BYTES {
            return Err(CoreError::Api {
                code: ErrorCode::PayloadTooLarge,
                message: format!(
                    "the files are too large together (at most {} MiB); import them one at a time",
                    IMPORT_MAX_BYTES / (1024 * 1024)
                ),
            });
        }
        let request = self
            .post(&format!("/api/organizations/{organization_id}/import"))
            .query(&[("dry_run", dry_run)])
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let report = send_rescuing(request, IMPORT_TIMEOUT, |status, body| {
            let ErrorBody { error } = serde_json::from_slice(body).ok()?;
            (status == reqwest::StatusCode::UNPROCESSABLE_ENTITY)
                .then_some(error.import_problems?)
                .map(|problems| ImportReport {
                    dry_run,
                    files: Vec::new(),
                    problems,
                })
        })
        .await?;
        tracing::info!(
            files = report.files.len(),
            problems = report.problems.len(),
            "import answered"
        );
        Ok(report)
    }
}
