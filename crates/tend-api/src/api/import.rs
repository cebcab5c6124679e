//! The admin console's import: an organization's facilities, staff and
//! residents from CSV texts, checked and written by the same code as
//! `tend-api import` (see `crate::import`), as the administrator and in the
//! organization's scope. The texts are neither stored nor logged.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use tend_domain::wire::{
    ErrorBody, ImportFile, ImportFileSummary, ImportKind, ImportProblem, ImportReport,
    ImportRequest,
};
use utoipa::IntoParams;

use tend_domain::Role;

use crate::context::Ctx;
use crate::error::{ApiError, Result};
use crate::extract::{ApiJson, ApiQuery, Id};
use crate::import::{Actor, BadOrganization, Kind, Outcome, Problem, Source, Sources};
use crate::store::organizations as store;
use crate::validate::Validator;
use crate::AppState;

/// Largest import request: three CSV files of a large organization.
pub const IMPORT_BODY_LIMIT: usize = tend_domain::wire::IMPORT_MAX_BYTES;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Check every file and rehearse the writes, then roll them back.
    #[serde(default)]
    pub dry_run: bool,
}

/// Import facilities, staff and residents from CSV (ORG_ADMIN for their own
/// organization, PLATFORM_ADMIN for any care organization).
///
/// Columns are found by header name. Rows match on natural keys (a
/// facility's name, `employee_id` in the organization, `mrn` in the
/// facility), so sending the same files again changes nothing. Every problem
/// is listed by file, line and column and then nothing is written: a dry run
/// answers 200 with them, a real run 422 (`error.import_problems`). A real
/// run writes one transaction per file, each audited.
#[utoipa::path(post, path = "/api/organizations/{id}/import", tag = "organizations",
    request_body = ImportRequest,
    params(("id" = i64, Path, description = "Organization id"), ImportQuery),
    responses(
        (status = 200, description = "Written (or, with dry_run, checked: counts or problems)", body = ImportReport),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an organization or platform admin", body = ErrorBody),
        (status = 404, description = "Organization not found in your scope", body = ErrorBody),
        (status = 413, description = "Body too large (16 MiB)", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "No file, a bad file name, the platform's organization, \
            or problems in the files (`error.import_problems`; nothing written)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn import_organization(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Id(id): Id,
    ApiQuery(q): ApiQuery<ImportQuery>,
    ApiJson(body): ApiJson<ImportRequest>,
) -> Result<Json<ImportReport>> {
    // The scope hides other organizations from everyone but a platform admin.
    store::get(&mut ctx.tx, ctx.principal.scope(), id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    let ctx = ctx.require(Role::may_import).await?;
    let mut v = Validator::new();
    let sources = Sources {
        facilities: body.facilities.map(|f| source(&mut v, "facilities", f)),
        staff: body.staff.map(|f| source(&mut v, "staff", f)),
        residents: body.residents.map(|f| source(&mut v, "residents", f)),
    };
    if sources.facilities.is_none() && sources.staff.is_none() && sources.residents.is_none() {
        v.add("body", "send at least one of facilities, staff, residents");
    }
    v.finish()?;
    let actor = Actor::Administrator {
        user_id: ctx.principal.user_id,
        client_address: ctx.client_address.clone(),
    };
    // Nothing to keep from the request's own transaction: each file gets its own.
    drop(ctx);
    let outcome = crate::import::run_sources(&state.pool, id, &sources, q.dry_run, &actor)
        .await
        .map_err(|e| match e.downcast::<BadOrganization>() {
            Ok(BadOrganization::Missing(_)) => ApiError::NotFound,
            Ok(bad @ BadOrganization::Platform(_)) => ApiError::field("id", bad.to_string()),
            Err(e) => match e.downcast::<ApiError>() {
                Ok(api) => api,
                Err(e) => match e.downcast::<sqlx::Error>() {
                    Ok(db) => db.into(),
                    Err(e) => ApiError::Internal(e),
                },
            },
        })?;
    match outcome {
        Outcome::Problems(problems) => {
            let problems = problems.into_iter().map(wire_problem).collect();
            if q.dry_run {
                Ok(Json(ImportReport {
                    dry_run: true,
                    files: Vec::new(),
                    problems,
                }))
            } else {
                Err(ApiError::ImportProblems(problems))
            }
        }
        Outcome::Done { dry_run, files } => Ok(Json(ImportReport {
            dry_run,
            files: files
                .into_iter()
                .map(|f| ImportFileSummary {
                    kind: match f.kind {
                        Kind::Facilities => ImportKind::Facilities,
                        Kind::Staff => ImportKind::Staff,
                        Kind::Residents => ImportKind::Residents,
                    },
                    file: f.file,
                    created: count(f.counts.created),
                    updated: count(f.counts.updated),
                    unchanged: count(f.counts.unchanged),
                    badges_added: count(f.counts.badges_added),
                })
                .collect(),
            problems: Vec::new(),
        })),
    }
}

/// A file of the request; its name (shown back in problems) is checked.
fn source(v: &mut Validator, field: &str, file: ImportFile) -> Source {
    let name = v.text(&format!("{field}.name"), &file.name, 200);
    Source::text(name, file.csv)
}

fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn wire_problem(p: Problem) -> ImportProblem {
    ImportProblem {
        file: p.file,
        line: count(p.line),
        column: p.column,
        message: p.message,
    }
}
