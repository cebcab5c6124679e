//! FHIR bulk data `$export` (Bulk Data Access IG, asynchronous request
//! pattern): the kick-off answers 202 with a status URL; the job reads one
//! consistent snapshot (a repeatable-read transaction in the requester's
//! scope) and writes NDJSON files of at most [`FILE_RESOURCES`] resources into
//! PostgreSQL, so any instance can answer the status and file requests. Only
//! the requester sees a job and its files; kick-off and each download are
//! audited. Administrators only.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::error::{fhir_response, FhirError, FhirResult};
use super::params::Params;
use super::resources;
use super::store::{self, Bounds};
use super::Base;
use crate::api::facilities::{facility_in_scope, list_audit};
use crate::context::{admin, begin_scoped, begin_scoped_with, Ctx, Scope};
use crate::AppState;

/// Resources per NDJSON file.
pub const FILE_RESOURCES: usize = 50_000;
/// Rows read per query while exporting.
const PAGE: i64 = 5_000;
/// How long a finished export stays downloadable.
const KEEP_HOURS: i64 = 24;
/// A running job its instance has not touched for this long was interrupted.
const STALE_SECONDS: i64 = 120;

/// The types a system or Group export writes, in order.
const ALL_TYPES: [&str; 9] = [
    "Organization",
    "Location",
    "Device",
    "Practitioner",
    "PractitionerRole",
    "Patient",
    "Observation",
    "MedicationAdministration",
    "Flag",
];
/// The Patient compartment: what `Patient/$export` writes.
const PATIENT_TYPES: [&str; 4] = ["Patient", "Observation", "MedicationAdministration", "Flag"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    System,
    Patient,
    /// A facility's residents (and its staff, devices, the facility itself).
    Group(i64),
}

/// What a job needs to run.
#[derive(Debug, Clone)]
struct Job {
    id: Uuid,
    scope: Scope,
    user_id: i64,
    types: Vec<String>,
    bounds: Bounds,
}

/// `_since`: an instant with a time zone.
fn since(p: &Params) -> FhirResult<Option<DateTime<Utc>>> {
    p.one("_since")?
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| {
                    FhirError::invalid("_since", "must be an instant, e.g. 2026-03-01T00:00:00Z")
                })
        })
        .transpose()
}

pub async fn kick_off(
    state: &AppState,
    mut ctx: Ctx,
    base: &Base,
    headers: &HeaderMap,
    p: &Params,
    query: Option<&str>,
    level: Level,
) -> FhirResult<Response> {
    // A facility outside the caller's scope is not found, before any role check.
    let facility_id = match level {
        Level::Group(id) => {
            facility_in_scope(&mut ctx, id).await?;
            Some(id)
        }
        _ => None,
    };
    let mut ctx = ctx.require(admin).await?;
    if !super::prefers(headers, "respond-async") {
        return Err(FhirError::Export(
            "$export is asynchronous: send Prefer: respond-async".into(),
        ));
    }
    if let Some(format) = p.one("_outputFormat")? {
        if !matches!(
            format,
            "application/fhir+ndjson" | "application/ndjson" | "ndjson"
        ) {
            return Err(FhirError::invalid(
                "_outputFormat",
                "only application/fhir+ndjson is produced",
            ));
        }
    }
    for unsupported in [
        "_typeFilter",
        "_elements",
        "patient",
        "includeAssociatedData",
    ] {
        if p.one(unsupported)?.is_some() {
            return Err(FhirError::invalid(
                unsupported,
                "is not supported by this server",
            ));
        }
    }
    let allowed: &[&str] = match level {
        Level::Patient => &PATIENT_TYPES,
        _ => &ALL_TYPES,
    };
    let types: Vec<String> = match p.one("_type")? {
        None => allowed.iter().map(|t| (*t).to_owned()).collect(),
        Some(list) => {
            let mut types = Vec::new();
            for t in super::params::any_of(list) {
                if !allowed.contains(&t) {
                    return Err(FhirError::invalid(
                        "_type",
                        format!(
                            "{t} cannot be exported here; choose from {}",
                            allowed.join(", ")
                        ),
                    ));
                }
                if !types.iter().any(|x: &String| x == t) {
                    types.push(t.to_owned());
                }
            }
            types
        }
    };
    let since = since(p)?;
    let job = Job {
        id: Uuid::now_v7(),
        scope: ctx.scope(),
        user_id: ctx.principal.user_id,
        types,
        bounds: Bounds { facility_id, since },
    };
    let (scope_name, organization_id, scope_facility) = crate::context::scope_parts(job.scope);
    let request = format!(
        "{}/{}{}",
        base.0,
        match level {
            Level::System => "$export".to_owned(),
            Level::Patient => "Patient/$export".to_owned(),
            Level::Group(id) => format!("Group/{id}/$export"),
        },
        query.map(|q| format!("?{q}")).unwrap_or_default()
    );
    sqlx::query("SELECT tend_fhir_export_sweep()")
        .execute(&mut *ctx.tx)
        .await?;
    sqlx::query(
        "INSERT INTO fhir_export_jobs (id, scope, organization_id, facility_id, requested_by, request, \
         types, since, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(hours => $9))",
    )
    .bind(job.id)
    .bind(scope_name)
    .bind(organization_id)
    .bind(facility_id.or(scope_facility))
    .bind(job.user_id)
    .bind(&request)
    .bind(&job.types)
    .bind(since)
    .bind(i32::try_from(KEEP_HOURS).unwrap_or(24))
    .execute(&mut *ctx.tx)
    .await?;
    let reason = format!("$export {}", job.types.join(","));
    let audit = list_audit(&mut ctx, "fhir.export", "patient", facility_id).await?;
    ctx.audit_write(audit.reason(&reason)).await?;
    ctx.commit().await?;
    tokio::spawn(run(state.pool.clone(), job.clone()));
    let mut response = StatusCode::ACCEPTED.into_response();
    let location = format!("{}/$export-status/{}", base.0, job.id);
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::CONTENT_LOCATION, v);
    }
    Ok(response)
}

/// Runs a job to the end and records how it ended.
async fn run(pool: PgPool, job: Job) {
    let outcome = write_all(&pool, &job).await;
    let (status, error) = match &outcome {
        Ok(true) => ("done", None),
        Ok(false) => return, // cancelled: the DELETE already removed it
        Err(e) => {
            tracing::error!(job = %job.id, error = %e, "FHIR export failed");
            (
                "failed",
                Some("the export failed on the server; start a new one"),
            )
        }
    };
    let finish = async {
        let mut tx = begin_scoped(&pool, job.scope, Some(job.user_id)).await?;
        sqlx::query(
            "UPDATE fhir_export_jobs SET status = $2, error = $3, completed_at = now(), updated_at = now() \
             WHERE id = $1 AND status = 'running'",
        )
        .bind(job.id)
        .bind(status)
        .bind(error)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, crate::ApiError>(())
    };
    if let Err(e) = finish.await {
        tracing::error!(job = %job.id, error = %e, "could not record the end of a FHIR export");
    }
}

/// Collects NDJSON lines and writes a file every [`FILE_RESOURCES`].
struct Files<'a> {
    pool: &'a PgPool,
    job: &'a Job,
    resource_type: &'a str,
    body: Vec<u8>,
    count: usize,
    written: usize,
    number: usize,
}

impl<'a> Files<'a> {
    fn new(pool: &'a PgPool, job: &'a Job, resource_type: &'a str) -> Self {
        Self {
            pool,
            job,
            resource_type,
            body: Vec::new(),
            count: 0,
            written: 0,
            number: 0,
        }
    }

    /// Adds one resource; `Ok(false)` when the job was cancelled meanwhile.
    async fn push(&mut self, resource: &Value) -> crate::Result<bool> {
        serde_json::to_writer(&mut self.body, resource)
            .map_err(|e| crate::ApiError::Internal(e.into()))?;
        self.body.push(b'\n');
        self.count += 1;
        if self.count >= FILE_RESOURCES {
            return self.flush().await;
        }
        Ok(true)
    }

    async fn flush(&mut self) -> crate::Result<bool> {
        if self.count == 0 {
            return Ok(true);
        }
        self.number += 1;
        self.written += self.count;
        let name = format!("{}-{}.ndjson", self.resource_type, self.number);
        let mut tx = begin_scoped(self.pool, self.job.scope, Some(self.job.user_id)).await?;
        let running: Option<String> = sqlx::query_scalar(
            "UPDATE fhir_export_jobs SET updated_at = now(), progress = $2 WHERE id = $1 \
             AND status = 'running' RETURNING status",
        )
        .bind(self.job.id)
        .bind(format!("{}: {} written", self.resource_type, self.written))
        .fetch_optional(&mut *tx)
        .await?;
        if running.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO fhir_export_files (job_id, name, resource_type, count, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(self.job.id)
        .bind(&name)
        .bind(self.resource_type)
        .bind(i32::try_from(self.count).unwrap_or(i32::MAX))
        .bind(std::mem::take(&mut self.body))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.count = 0;
        Ok(true)
    }
}

/// Writes every type of the job; `Ok(false)` if it was cancelled.
async fn write_all(pool: &PgPool, job: &Job) -> crate::Result<bool> {
    let mut reader = begin_scoped_with(
        pool,
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        job.scope,
        Some(job.user_id),
    )
    .await?;
    // The snapshot's time: what the manifest calls transactionTime.
    let snapshot: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *reader)
        .await?;
    let none = Params::default();
    let all_vitals = store::vital_filter(&none).map_err(|_| crate::ApiError::NotFound)?;
    let fail = |e: FhirError| match e {
        FhirError::Api(e) => e,
        other => crate::ApiError::Internal(anyhow::anyhow!("{other}")),
    };
    for resource_type in &job.types {
        let mut files = Files::new(pool, job, resource_type);
        let scope = job.scope;
        let b = job.bounds;
        if store::record_kind(resource_type).is_some() {
            let mut last: Option<Uuid> = None;
            loop {
                let rows = store::records(
                    &mut reader,
                    scope,
                    resource_type,
                    &none,
                    &all_vitals,
                    b,
                    last,
                    PAGE,
                )
                .await
                .map_err(fail)?;
                let fetched = rows.len();
                for r in rows.iter().filter(|r| Some(r.id) != last) {
                    let out = super::record_resources(resource_type, r, &|_| true);
                    for (_, resource) in &out {
                        if !files.push(resource).await? {
                            return Ok(false);
                        }
                    }
                }
                let new_last = rows.last().map(|r| r.id);
                if fetched < usize::try_from(PAGE).unwrap_or(0) || new_last == last {
                    break;
                }
                last = new_last;
            }
        } else {
            let mut after: Option<i64> = None;
            loop {
                let page =
                    super::id_resources(&mut reader, scope, resource_type, &none, b, after, PAGE)
                        .await
                        .map_err(fail)?;
                // Each query returns up to PAGE + 1 rows (the +1 says there are more).
                let more = page.len() > usize::try_from(PAGE).unwrap_or(0);
                for (_, resource) in page.iter().take(usize::try_from(PAGE).unwrap_or(0)) {
                    if !files.push(resource).await? {
                        return Ok(false);
                    }
                }
                if !more {
                    break;
                }
                after = page
                    .get(usize::try_from(PAGE - 1).unwrap_or(0))
                    .map(|(id, _)| *id);
            }
        }
        if !files.flush().await? {
            return Ok(false);
        }
    }
    drop(reader);
    let mut tx = begin_scoped(pool, job.scope, Some(job.user_id)).await?;
    sqlx::query("UPDATE fhir_export_jobs SET transaction_time = $2 WHERE id = $1")
        .bind(job.id)
        .bind(snapshot)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

#[derive(sqlx::FromRow)]
struct JobRow {
    request: String,
    status: String,
    progress: Option<String>,
    error: Option<String>,
    transaction_time: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

fn job_id(job: &str) -> FhirResult<Uuid> {
    job.parse::<Uuid>().map_err(|_| FhirError::ExportGone)
}

/// `GET /fhir/R4/$export-status/{job}`: 202 while running (with
/// `X-Progress`), the manifest when done, an OperationOutcome if it failed.
pub async fn status(mut ctx: Ctx, base: &Base, job: &str) -> FhirResult<Response> {
    let id = job_id(job)?;
    let row: Option<JobRow> = sqlx::query_as(
        "SELECT request, status, progress, error, transaction_time, updated_at, expires_at \
         FROM fhir_export_jobs WHERE id = $1 AND expires_at > now()",
    )
    .bind(id)
    .fetch_optional(&mut *ctx.tx)
    .await?;
    let Some(row) = row.filter(|r| r.status != "cancelled") else {
        return Err(FhirError::ExportGone);
    };
    let interrupted =
        row.status == "running" && Utc::now() - row.updated_at > Duration::seconds(STALE_SECONDS);
    if row.status == "failed" || interrupted {
        let text = row.error.as_deref().unwrap_or(
            "the server running this export stopped before it finished; start a new export",
        );
        let outcome = json!({ "resourceType": "OperationOutcome", "issue": [{
            "severity": "error", "code": "exception", "details": { "text": text }
        }] });
        return Ok(fhir_response(StatusCode::INTERNAL_SERVER_ERROR, &outcome));
    }
    if row.status == "running" {
        let mut response = StatusCode::ACCEPTED.into_response();
        let h = response.headers_mut();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        let progress = row.progress.unwrap_or_else(|| "started".into());
        if let Ok(v) = HeaderValue::from_str(&progress) {
            h.insert("x-progress", v);
        }
        return Ok(response);
    }
    #[derive(sqlx::FromRow)]
    struct FileRow {
        name: String,
        resource_type: String,
        count: i32,
    }
    let files: Vec<FileRow> = sqlx::query_as(
        "SELECT name, resource_type, count FROM fhir_export_files WHERE job_id = $1 \
         ORDER BY array_position((SELECT types FROM fhir_export_jobs WHERE id = $1), resource_type), \
         length(name), name",
    )
    .bind(id)
    .fetch_all(&mut *ctx.tx)
    .await?;
    ctx.finish_read().await?;
    let manifest = json!({
        "transactionTime": row.transaction_time.map(resources::instant),
        "request": row.request,
        "requiresAccessToken": true,
        "output": files.iter().map(|f| json!({
            "type": f.resource_type,
            "url": format!("{}/$export-file/{id}/{}", base.0, f.name),
            "count": f.count,
        })).collect::<Vec<_>>(),
        "error": [],
    });
    let mut response = (StatusCode::OK, manifest.to_string()).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&row.expires_at.to_rfc2822().replace("+0000", "GMT")) {
        h.insert(header::EXPIRES, v);
    }
    Ok(response)
}

/// `DELETE /fhir/R4/$export-status/{job}`: cancels a running job or deletes
/// a finished one's files (202).
pub async fn cancel(mut ctx: Ctx, job: &str) -> FhirResult<Response> {
    let id = job_id(job)?;
    let deleted = sqlx::query("DELETE FROM fhir_export_jobs WHERE id = $1")
        .bind(id)
        .execute(&mut *ctx.tx)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(FhirError::ExportGone);
    }
    ctx.commit().await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `GET /fhir/R4/$export-file/{job}/{file}`: one NDJSON file (audited).
pub async fn file(mut ctx: Ctx, job: &str, name: &str) -> FhirResult<Response> {
    let id = job_id(job)?;
    let body: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT f.body FROM fhir_export_files f JOIN fhir_export_jobs j ON j.id = f.job_id \
         WHERE f.job_id = $1 AND f.name = $2 AND j.expires_at > now()",
    )
    .bind(id)
    .bind(name)
    .fetch_optional(&mut *ctx.tx)
    .await?;
    let Some(body) = body else {
        return Err(FhirError::ExportGone);
    };
    let reason = format!("$export-file {name}");
    let audit = list_audit(&mut ctx, "fhir.export.download", "patient", None).await?;
    ctx.audit_write(audit.reason(&reason)).await?;
    ctx.commit().await?;
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+ndjson"),
    );
    Ok(response)
}
