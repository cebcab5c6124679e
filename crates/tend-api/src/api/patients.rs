//! Patients. Clinical staff and facility admins see their own facility only;
//! the list filters by it automatically. A clinician may also read one
//! resident of another facility while a break-glass grant lasts
//! (`api::break_glass`).

use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use tend_domain::wire::{
    ClinicalRecordPage, CreatePatient, EmergencyContact, ErrorBody, Patient, PatientPage,
    UpdatePatient,
};
use tend_domain::{PatientStatus, Role};
use utoipa::IntoParams;
use uuid::Uuid;

use super::facilities::{facility_in_scope, list_audit};
use crate::context::{Audit, Ctx, Scope};
use crate::error::{ApiError, Result};
use crate::extract::{ApiQuery, Id, LaterJson};
use crate::store;
use crate::store::patients::{Care, Fields, Filter};
use crate::validate::{cursor, Validator};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientQuery {
    /// Only this facility (must be in your scope).
    pub facility_id: Option<i64>,
    pub status: Option<PatientStatus>,
    /// Case-insensitive prefix of the first or last name.
    pub name: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Patients visible to the caller, by facility, status and name.
#[utoipa::path(get, path = "/api/patients", tag = "patients", params(PatientQuery),
    responses(
        (status = 200, description = "A page of patients", body = PatientPage),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_patients(
    mut ctx: Ctx,
    ApiQuery(q): ApiQuery<PatientQuery>,
) -> Result<Json<PatientPage>> {
    let audit = list_audit(&mut ctx, "patient.list", "patient", q.facility_id).await?;
    let after = cursor::decode(q.cursor.as_deref())?;
    let limit = cursor::limit(q.limit)?;
    let name = q.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > 100) {
        return Err(ApiError::field("name", "must be at most 100 characters"));
    }
    let filter = Filter {
        facility_id: q.facility_id,
        status: q.status,
        name: name.map(str::to_owned),
    };
    let rows =
        store::patients::list(&mut ctx.tx, ctx.principal.scope(), &filter, after, limit).await?;
    let (items, next_cursor) = cursor::page(rows, limit, |p| p.id);
    ctx.audit_read(audit).await?;
    ctx.finish_read().await?;
    Ok(Json(PatientPage { items, next_cursor }))
}

/// Date rules shared by create, update and `tend-api import`.
pub(crate) fn check_dates(v: &mut Validator, f: &Fields) {
    let today = Utc::now().date_naive();
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    if f.date_of_birth > today || f.date_of_birth < earliest {
        v.add("date_of_birth", "must be between 1900-01-01 and today");
    }
    if let (Some(a), Some(d)) = (f.admitted_at, f.discharged_at) {
        if d < a {
            v.add("discharged_at", "must not be before admitted_at");
        }
    }
    if f.discharged_at.is_some()
        && !matches!(
            f.status,
            PatientStatus::Discharged | PatientStatus::Deceased
        )
    {
        v.add(
            "discharged_at",
            "only discharged or deceased patients have a discharge time",
        );
    }
}

/// The care details as sent, checked: blank text is none; a contact needs a
/// name and a telephone number.
fn check_care(v: &mut Validator, care: Care) -> Care {
    Care {
        allergies: v.opt_text("allergies", care.allergies.as_deref(), 1000),
        code_status: care.code_status,
        diet: v.opt_text("diet", care.diet.as_deref(), 200),
        fall_risk: care.fall_risk,
        emergency_contact: care.emergency_contact.map(|c| check_contact(v, &c)),
    }
}

fn check_contact(v: &mut Validator, c: &EmergencyContact) -> EmergencyContact {
    EmergencyContact {
        name: v.text("emergency_contact.name", &c.name, 100),
        relationship: v.opt_text(
            "emergency_contact.relationship",
            c.relationship.as_deref(),
            50,
        ),
        phone: v.phone("emergency_contact.phone", &c.phone),
    }
}

/// Admit a patient to a facility (defaults to your own). Nurses (RN, LPN) and
/// administrators only.
#[utoipa::path(post, path = "/api/patients", tag = "patients", request_body = CreatePatient,
    responses(
        (status = 201, description = "Created", body = Patient),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Your role may not admit residents", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody),
        (status = 409, description = "MRN already used in the facility", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_patient(
    mut ctx: Ctx,
    body: LaterJson<CreatePatient>,
) -> Result<(StatusCode, Json<Patient>)> {
    // Who may comes before what the body says: a role that may never admit
    // anyone gets 403 whatever it sent.
    ctx = ctx.require(Role::may_manage_residents).await?;
    let body = body.parse()?;
    let facility_id = body.facility_id.unwrap_or(ctx.principal.facility_id);
    let org = facility_in_scope(&mut ctx, facility_id).await?;
    let mut v = Validator::new();
    let status = body.status.unwrap_or(PatientStatus::Active);
    let care = check_care(
        &mut v,
        Care {
            allergies: body.allergies,
            code_status: body.code_status,
            diet: body.diet,
            fall_risk: body.fall_risk,
            emergency_contact: body.emergency_contact,
        },
    );
    let fields = Fields {
        organization_id: org,
        facility_id,
        mrn: v.text("mrn", &body.mrn, 64),
        first_name: v.text("first_name", &body.first_name, 100),
        last_name: v.text("last_name", &body.last_name, 100),
        date_of_birth: body.date_of_birth,
        status,
        room: v.opt_text("room", body.room.as_deref(), 32),
        admitted_at: body.admitted_at.or_else(|| Some(Utc::now())),
        discharged_at: matches!(status, PatientStatus::Discharged | PatientStatus::Deceased)
            .then(Utc::now),
        care,
    };
    check_dates(&mut v, &fields);
    v.finish()?;
    let patient = store::patients::insert(&mut ctx.tx, &fields).await?;
    ctx.audit_write(
        Audit::new("patient.create", "patient")
            .resource(patient.id)
            .facility(org, facility_id),
    )
    .await?;
    ctx.commit().await?;
    Ok((StatusCode::CREATED, Json(patient)))
}

/// One patient.
#[utoipa::path(get, path = "/api/patients/{id}", tag = "patients",
    params(("id" = i64, Path, description = "Patient id")),
    responses(
        (status = 200, description = "The patient", body = Patient),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_patient(mut ctx: Ctx, Id(id): Id) -> Result<Json<Patient>> {
    let (patient, break_glass) = readable_patient(&mut ctx, id).await?;
    let audit = Audit::new("patient.read", "patient")
        .resource(id)
        .facility(patient.organization_id, patient.facility_id);
    audit_patient_read(&mut ctx, audit, break_glass.as_deref()).await?;
    ctx.finish_read().await?;
    Ok(Json(patient))
}

/// A patient the caller may read: one in its scope, or one an unexpired
/// break-glass grant of its own opens (then with the grant's reason). Row-level
/// security checks the grant too; this keeps the API's filter explicit.
pub(crate) async fn readable_patient(ctx: &mut Ctx, id: i64) -> Result<(Patient, Option<String>)> {
    if let Some(patient) =
        store::patients::get(&mut ctx.tx, ctx.principal.scope(), id, false).await?
    {
        return Ok((patient, None));
    }
    let p = ctx.principal;
    if !p.role.is_clinical() {
        return Err(ApiError::NotFound);
    }
    let reason = store::break_glass::active_reason(&mut ctx.tx, p.user_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let patient = store::patients::get(
        &mut ctx.tx,
        Scope::Organization(p.organization_id),
        id,
        false,
    )
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok((patient, Some(reason)))
}

/// Audits a patient read: by policy ([`Ctx::audit_read`]), or always when it
/// goes through break-glass access.
async fn audit_patient_read(
    ctx: &mut Ctx,
    audit: Audit<'_>,
    break_glass_reason: Option<&str>,
) -> Result<()> {
    match break_glass_reason {
        Some(reason) => ctx.audit_break_glass_read(audit.reason(reason)).await,
        None => ctx.audit_read(audit).await,
    }
}

/// Update a patient; status changes set or clear the discharge time. Nurses
/// (RN, LPN) and administrators only; moving a patient to another facility
/// needs that facility in scope (an organization admin).
///
/// Send the `version` you loaded: if the patient changed since, nothing is
/// written and the 409 carries the patient as it is now (`error.current`).
#[utoipa::path(put, path = "/api/patients/{id}", tag = "patients", request_body = UpdatePatient,
    params(("id" = i64, Path, description = "Patient id")),
    responses(
        (status = 200, description = "Updated", body = Patient),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Your role may not edit residents", body = ErrorBody),
        (status = 404, description = "Patient or target facility not found in your scope", body = ErrorBody),
        (status = 409, description = "MRN already used in the facility, or `version` is stale (CONFLICT with `current`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_patient(
    mut ctx: Ctx,
    Id(id): Id,
    body: LaterJson<UpdatePatient>,
) -> Result<Json<Patient>> {
    let current = store::patients::get(&mut ctx.tx, ctx.principal.scope(), id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx = ctx.require(Role::may_manage_residents).await?;
    let body = body.parse()?;
    // The row is locked, so no other update can slip in between this check and ours.
    if body.version.is_some_and(|seen| seen != current.version) {
        return Err(ApiError::StaleVersion(Box::new(current)));
    }
    let mut v = Validator::new();
    let facility_id = match body.facility_id {
        Some(f) if f != current.facility_id => {
            let org = facility_in_scope(&mut ctx, f).await?;
            if org != current.organization_id {
                v.add(
                    "facility_id",
                    "a patient cannot move to another organization",
                );
            }
            f
        }
        _ => current.facility_id,
    };
    let status = body.status.unwrap_or(current.status);
    let leaving = matches!(status, PatientStatus::Discharged | PatientStatus::Deceased);
    let discharged_at = match body.discharged_at {
        Some(d) => d,
        None if leaving => current.discharged_at.or_else(|| Some(Utc::now())),
        None => None,
    };
    let fields = Fields {
        organization_id: current.organization_id,
        facility_id,
        mrn: match &body.mrn {
            Some(m) => v.text("mrn", m, 64),
            None => current.mrn,
        },
        first_name: match &body.first_name {
            Some(n) => v.text("first_name", n, 100),
            None => current.first_name,
        },
        last_name: match &body.last_name {
            Some(n) => v.text("last_name", n, 100),
            None => current.last_name,
        },
        date_of_birth: body.date_of_birth.unwrap_or(current.date_of_birth),
        status,
        room: match &body.room {
            Some(r) => v.opt_text("room", r.as_deref(), 32),
            None => current.room,
        },
        admitted_at: body.admitted_at.unwrap_or(current.admitted_at),
        discharged_at,
        care: check_care(
            &mut v,
            Care {
                allergies: body.allergies.unwrap_or(current.allergies),
                code_status: body.code_status.unwrap_or(current.code_status),
                diet: body.diet.unwrap_or(current.diet),
                fall_risk: body.fall_risk.unwrap_or(current.fall_risk),
                emergency_contact: body.emergency_contact.unwrap_or(current.emergency_contact),
            },
        ),
    };
    check_dates(&mut v, &fields);
    v.finish()?;
    let patient = store::patients::update(&mut ctx.tx, id, &fields).await?;
    ctx.audit_write(
        Audit::new("patient.update", "patient")
            .resource(id)
            .facility(patient.organization_id, patient.facility_id),
    )
    .await?;
    if patient.facility_id != current.facility_id {
        // A transfer: one row in each facility, so both audit trails show it.
        let reason = format!(
            "moved from facility {} to facility {}",
            current.facility_id, patient.facility_id
        );
        for facility in [current.facility_id, patient.facility_id] {
            ctx.audit_write(
                Audit::new("patient.transfer", "patient")
                    .resource(id)
                    .facility(patient.organization_id, facility)
                    .reason(&reason),
            )
            .await?;
        }
    }
    ctx.commit().await?;
    Ok(Json(patient))
}

/// Paging of a patient's records: `limit` as for every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordQuery {
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

/// A records cursor: the last record's `(occurred_at, id)`.
fn encode_record_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("r1:{}:{id}", at.timestamp_micros()))
}

fn decode_record_cursor(cursor: Option<&str>) -> Result<Option<(DateTime<Utc>, Uuid)>> {
    let Some(c) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (micros, id) = s.strip_prefix("r1:")?.split_once(':')?;
            let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
            Some((at, id.parse().ok()?))
        })
        .map(Some)
        .ok_or_else(|| ApiError::field("cursor", "not a cursor this API issued"))
}

/// A patient's clinical records (written on devices), newest first.
#[utoipa::path(get, path = "/api/patients/{id}/records", tag = "patients",
    params(("id" = i64, Path, description = "Patient id"), RecordQuery),
    responses(
        (status = 200, description = "A page of records, newest first", body = ClinicalRecordPage),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Patient not found in your scope", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_patient_records(
    mut ctx: Ctx,
    Id(id): Id,
    ApiQuery(q): ApiQuery<RecordQuery>,
) -> Result<Json<ClinicalRecordPage>> {
    let before = decode_record_cursor(q.cursor.as_deref())?;
    let limit = cursor::limit(q.limit)?;
    let (patient, break_glass) = readable_patient(&mut ctx, id).await?;
    let mut items = store::sync::patient_records(&mut ctx.tx, id, before, limit + 1).await?;
    let next_cursor = if items.len() > usize::try_from(limit).unwrap_or(0) {
        items.truncate(usize::try_from(limit).unwrap_or(0));
        items
            .last()
            .map(|r| encode_record_cursor(r.occurred_at, r.id))
    } else {
        None
    };
    let audit = Audit::new("patient.records.read", "patient")
        .resource(id)
        .facility(patient.organization_id, patient.facility_id);
    audit_patient_read(&mut ctx, audit, break_glass.as_deref()).await?;
    ctx.finish_read().await?;
    Ok(Json(ClinicalRecordPage { items, next_cursor }))
}
