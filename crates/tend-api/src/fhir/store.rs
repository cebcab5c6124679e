//! The queries behind FHIR reads, searches and `$export`: each search
//! parameter Tend supports becomes a condition here, next to the caller's
//! scope (row-level security applies the same rule underneath). Every list
//! is keyset-paged on the resource's id.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::error::{FhirError, FhirResult};
use super::params::{self, any_of, DateParam, Params, Prefix, Token};
use super::resources::{
    body_keys, vital_code_by_loinc, DeviceRow, FacilityRow, OrganizationRow, PatientRow, RecordRow,
    StaffRow, VitalCode, EIN_SYSTEM, NPI_SYSTEM, VITAL_CODES,
};
use crate::context::{push_scope_filter, Scope};

/// What bounds a list besides its search parameters: `$export`'s facility
/// (a `Group`) and `_since`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bounds {
    pub facility_id: Option<i64>,
    pub since: Option<DateTime<Utc>>,
}

/// The search parameters each type takes (besides `_count`, `_cursor`).
pub fn known_params(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "Organization" => &["_id", "name", "identifier", "active"],
        "Location" => &["_id", "name", "organization", "type"],
        "Group" => &["_id"],
        "Device" => &["_id", "organization", "location", "identifier", "type"],
        "Practitioner" => &["_id", "identifier", "name", "active"],
        "PractitionerRole" => &[
            "_id",
            "practitioner",
            "organization",
            "location",
            "role",
            "active",
        ],
        "Patient" => &[
            "_id",
            "identifier",
            "name",
            "family",
            "given",
            "birthdate",
            "organization",
            "active",
        ],
        "Observation" => &["_id", "patient", "subject", "category", "code", "date"],
        "MedicationAdministration" => &["_id", "patient", "subject", "effective-time"],
        "Flag" => &["_id", "patient", "subject", "date"],
        _ => &[],
    }
}

/// The codes of a comma-separated token parameter (`a,sys|b` → `a`, `b`).
fn token_codes(value: &str) -> Vec<String> {
    any_of(value)
        .map(|v| Token::parse(v).code.unwrap_or_default().to_owned())
        .collect()
}

fn ids(name: &str, value: &str) -> FhirResult<Vec<i64>> {
    any_of(value)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| FhirError::invalid(name, "ids are whole numbers"))
        })
        .collect()
}

/// `AND column IN (...)` for `_id` (comma means OR; an id that cannot
/// exist matches nothing).
fn push_ids(qb: &mut QueryBuilder<'_, Postgres>, p: &Params, column: &str) -> FhirResult<()> {
    for value in p.all("_id") {
        let list = ids("_id", value)?;
        qb.push(format!(" AND {column} = ANY("))
            .push_bind(list)
            .push(")");
    }
    Ok(())
}

fn push_bool(
    qb: &mut QueryBuilder<'_, Postgres>,
    p: &Params,
    name: &str,
    column: &str,
) -> FhirResult<()> {
    for value in p.all(name) {
        let b = params::boolean(name, value)?;
        qb.push(format!(" AND {column} = ")).push_bind(b);
    }
    Ok(())
}

fn push_reference(
    qb: &mut QueryBuilder<'_, Postgres>,
    p: &Params,
    name: &str,
    kind: &str,
    column: &str,
) -> FhirResult<()> {
    for value in p.all(name) {
        let list = any_of(value)
            .map(|v| params::reference(name, v, kind))
            .collect::<FhirResult<Vec<i64>>>()?;
        qb.push(format!(" AND {column} = ANY("))
            .push_bind(list)
            .push(")");
    }
    Ok(())
}

/// Case-insensitive prefix (`name=ada`) or `:exact` match on any of `columns`.
fn push_string(
    qb: &mut QueryBuilder<'_, Postgres>,
    p: &Params,
    name: &str,
    columns: &[&str],
) -> FhirResult<()> {
    let exact_name = format!("{name}:exact");
    for (value, exact) in p
        .all(name)
        .map(|v| (v, false))
        .chain(p.all(&exact_name).map(|v| (v, true)))
    {
        if value.chars().count() > 100 {
            return Err(FhirError::invalid(name, "must be at most 100 characters"));
        }
        qb.push(" AND (false");
        for column in columns {
            if exact {
                qb.push(format!(" OR {column} = "))
                    .push_bind(value.to_owned());
            } else {
                qb.push(format!(" OR lower({column}) LIKE "))
                    .push_bind(crate::store::patients::like_prefix(value));
            }
        }
        qb.push(")");
    }
    Ok(())
}

fn push_date(
    qb: &mut QueryBuilder<'_, Postgres>,
    p: &Params,
    name: &str,
    column: &str,
) -> FhirResult<()> {
    for value in p.all(name) {
        let d = DateParam::parse(name, value)?;
        match d.prefix {
            Prefix::Eq => {
                qb.push(format!(" AND {column} >= "))
                    .push_bind(d.start)
                    .push(format!(" AND {column} < "))
                    .push_bind(d.end);
            }
            Prefix::Ne => {
                qb.push(format!(" AND ({column} < "))
                    .push_bind(d.start)
                    .push(format!(" OR {column} >= "))
                    .push_bind(d.end)
                    .push(")");
            }
            Prefix::Ge => {
                qb.push(format!(" AND {column} >= ")).push_bind(d.start);
            }
            Prefix::Gt => {
                qb.push(format!(" AND {column} >= ")).push_bind(d.end);
            }
            Prefix::Le => {
                qb.push(format!(" AND {column} < ")).push_bind(d.end);
            }
            Prefix::Lt => {
                qb.push(format!(" AND {column} < ")).push_bind(d.start);
            }
        }
    }
    Ok(())
}

fn push_page(qb: &mut QueryBuilder<'_, Postgres>, after: Option<i64>, limit: i64) {
    if let Some(after) = after {
        qb.push(" AND id > ").push_bind(after);
    }
    qb.push(" ORDER BY id LIMIT ").push_bind(limit + 1);
}

fn push_since(qb: &mut QueryBuilder<'_, Postgres>, since: Option<DateTime<Utc>>, column: &str) {
    if let Some(since) = since {
        qb.push(format!(" AND {column} >= ")).push_bind(since);
    }
}

fn push_facility(qb: &mut QueryBuilder<'_, Postgres>, bounds: Bounds, column: &str) {
    if let Some(f) = bounds.facility_id {
        qb.push(format!(" AND {column} = ")).push_bind(f);
    }
}

pub async fn organizations(
    conn: &mut PgConnection,
    scope: Scope,
    p: &Params,
    bounds: Bounds,
    after: Option<i64>,
    limit: i64,
) -> FhirResult<Vec<OrganizationRow>> {
    let mut qb = QueryBuilder::new(
        "SELECT id, name, organization_type, npi, tax_id, is_active, updated_at \
         FROM organizations WHERE true",
    );
    match scope {
        Scope::Platform => {}
        Scope::Organization(o)
        | Scope::Facility {
            organization_id: o, ..
        } => {
            qb.push(" AND id = ").push_bind(o);
        }
    }
    if let Some(f) = bounds.facility_id {
        qb.push(" AND id = (SELECT organization_id FROM facilities WHERE id = ")
            .push_bind(f)
            .push(")");
    }
    push_since(&mut qb, bounds.since, "updated_at");
    push_ids(&mut qb, p, "id")?;
    push_string(&mut qb, p, "name", &["name"])?;
    push_bool(&mut qb, p, "active", "is_active")?;
    for value in p.all("identifier") {
        let t = Token::parse(value);
        let column = match t.system {
            None => "coalesce(npi, tax_id)",
            Some(NPI_SYSTEM) => "npi",
            Some(EIN_SYSTEM) => "tax_id",
            Some(_) => "NULL",
        };
        match t.code {
            Some(code) => {
                if t.system.is_none() {
                    qb.push(" AND (npi = ")
                        .push_bind(code.to_owned())
                        .push(" OR tax_id = ")
                        .push_bind(code.to_owned())
                        .push(")");
                } else {
                    qb.push(format!(" AND {column} = "))
                        .push_bind(code.to_owned());
                }
            }
            None => {
                qb.push(format!(" AND {column} IS NOT NULL"));
            }
        }
    }
    push_page(&mut qb, after, limit);
    Ok(qb.build_query_as().fetch_all(conn).await?)
}

pub async fn facilities(
    conn: &mut PgConnection,
    scope: Scope,
    p: &Params,
    bounds: Bounds,
    after: Option<i64>,
    limit: i64,
) -> FhirResult<Vec<FacilityRow>> {
    let mut qb = QueryBuilder::new(
        "SELECT id, organization_id, name, facility_type, address, is_active, updated_at \
         FROM facilities WHERE true",
    );
    push_scope_filter(&mut qb, scope, "id");
    push_facility(&mut qb, bounds, "id");
    push_since(&mut qb, bounds.since, "updated_at");
    push_ids(&mut qb, p, "id")?;
    push_string(&mut qb, p, "name", &["name"])?;
    push_reference(
        &mut qb,
        p,
        "organization",
        "Organization",
        "organization_id",
    )?;
    for value in p.all("type") {
        let codes = token_codes(value);
        qb.push(" AND facility_type = ANY(")
            .push_bind(codes)
            .push(")");
    }
    push_page(&mut qb, after, limit);
    Ok(qb.build_query_as().fetch_all(conn).await?)
}

pub async fn devices(
    conn: &mut PgConnection,
    scope: Scope,
    p: &Params,
    bounds: Bounds,
    after: Option<i64>,
    limit: i64,
) -> FhirResult<Vec<DeviceRow>> {
    let mut qb = QueryBuilder::new(
        "SELECT id, organization_id, facility_id, device_name, device_type, device_uuid, status, \
         app_version, updated_at FROM devices WHERE true",
    );
    push_scope_filter(&mut qb, scope, "facility_id");
    push_facility(&mut qb, bounds, "facility_id");
    push_since(&mut qb, bounds.since, "updated_at");
    push_ids(&mut qb, p, "id")?;
    push_reference(
        &mut qb,
        p,
        "organization",
        "Organization",
        "organization_id",
    )?;
    push_reference(&mut qb, p, "location", "Location", "facility_id")?;
    for value in p.all("identifier") {
        let code = Token::parse(value).code.unwrap_or_default();
        let uuid = code
            .strip_prefix("urn:uuid:")
            .unwrap_or(code)
            .parse::<Uuid>()
            .ok();
        qb.push(" AND device_uuid = ").push_bind(uuid);
    }
    for value in p.all("type") {
        let codes = token_codes(value);
        qb.push(" AND device_type = ANY(")
            .push_bind(codes)
            .push(")");
    }
    push_page(&mut qb, after, limit);
    Ok(qb.build_query_as().fetch_all(conn).await?)
}

/// Staff: every user but platform administrators (who work for no facility).
pub async fn staff(
    conn: &mut PgConnection,
    scope: Scope,
    p: &Params,
    bounds: Bounds,
    after: Option<i64>,
    limit: i64,
) -> FhirResult<Vec<StaffRow>> {
    let mut qb = QueryBuilder::new(
        "SELECT id, organization_id, facility_id, employee_id, full_name, email, role, is_active, \
         updated_at FROM users WHERE role <> 'PLATFORM_ADMIN'",
    );
    push_scope_filter(&mut qb, scope, "facility_id");
    push_facility(&mut qb, bounds, "facility_id");
    push_since(&mut qb, bounds.since, "updated_at");
    push_ids(&mut qb, p, "id")?;
    push_string(&mut qb, p, "name", &["full_name"])?;
    push_bool(&mut qb, p, "active", "is_active")?;
    push_reference(&mut qb, p, "practitioner", "Practitioner", "id")?;
    push_reference(
        &mut qb,
        p,
        "organization",
        "Organization",
        "organization_id",
    )?;
    push_reference(&mut qb, p, "location", "Location", "facility_id")?;
    for value in p.all("role") {
        let codes = token_codes(value);
        qb.push(" AND role = ANY(").push_bind(codes).push(")");
    }
    for value in p.all("identifier") {
        let t = Token::parse(value);
        if let Some(system) = t.system {
            // urn:tend:organization:<id>:employee-id
            let org = system
                .strip_prefix("urn:tend:organization:")
                .and_then(|s| s.strip_suffix(":employee-id"))
                .and_then(|s| s.parse::<i64>().ok());
            qb.push(" AND organization_id = ").push_bind(org);
        }
        if let Some(code) = t.code {
            qb.push(" AND employee_id = ").push_bind(code.to_owned());
        }
    }
    push_page(&mut qb, after, limit);
    Ok(qb.build_query_as().fetch_all(conn).await?)
}

pub async fn patients(
    conn: &mut PgConnection,
    scope: Scope,
    p: &Params,
    bounds: Bounds,
    after: Option<i64>,
    limit: i64,
) -> FhirResult<Vec<PatientRow>> {
    let mut qb = QueryBuilder::new(
        "SELECT id, organization_id, facility_id, mrn, first_name, last_name, date_of_birth, status, \
         discharged_at, updated_at, version FROM patients WHERE true",
    );
    push_scope_filter(&mut qb, scope, "facility_id");
    push_facility(&mut qb, bounds, "facility_id");
    push_since(&mut qb, bounds.since, "updated_at");
    push_ids(&mut qb, p, "id")?;
    push_reference(
        &mut qb,
        p,
        "organization",
        "Organization",
        "organization_id",
    )?;
    push_string(&mut qb, p, "name", &["first_name", "last_name"])?;
    push_string(&mut qb, p, "family", &["last_name"])?;
    push_string(&mut qb, p, "given", &["first_name"])?;
    for value in p.all("active") {
        let active = params::boolean("active", value)?;
        qb.push(if active {
            " AND status IN ('active', 'on_leave')"
        } else {
            " AND status IN ('discharged', 'deceased')"
        });
    }
    for value in p.all("birthdate") {
        let d = DateParam::parse("birthdate", value)?;
        let (first, last) = d.dates();
        match d.prefix {
            Prefix::Eq => {
                qb.push(" AND date_of_birth BETWEEN ")
                    .push_bind(first)
                    .push(" AND ")
                    .push_bind(last);
            }
            Prefix::Ne => {
                qb.push(" AND date_of_birth NOT BETWEEN ")
                    .push_bind(first)
                    .push(" AND ")
                    .push_bind(last);
            }
            Prefix::Ge => {
                qb.push(" AND date_of_birth >= ").push_bind(first);
            }
            Prefix::Gt => {
                qb.push(" AND date_of_birth > ").push_bind(last);
            }
            Prefix::Le => {
                qb.push(" AND date_of_birth <= ").push_bind(last);
            }
            Prefix::Lt => {
                qb.push(" AND date_of_birth < ").push_bind(first);
            }
        }
    }
    for value in p.all("identifier") {
        let t = Token::parse(value);
        if let Some(system) = t.system.filter(|s| !s.is_empty()) {
            // urn:tend:facility:<id>:mrn
            let facility = system
                .strip_prefix("urn:tend:facility:")
                .and_then(|s| s.strip_suffix(":mrn"))
                .and_then(|s| s.parse::<i64>().ok());
            qb.push(" AND facility_id = ").push_bind(facility);
        }
        if let Some(code) = t.code {
            qb.push(" AND mrn = ").push_bind(code.to_owned());
        }
    }
    push_page(&mut qb, after, limit);
    Ok(qb.build_query_as().fetch_all(conn).await?)
}

/// The record kinds behind each clinical resource type.
pub fn record_kind(resource_type: &str) -> Option<&'static str> {
    match resource_type {
        "Observation" => Some("vital_signs"),
        "MedicationAdministration" => Some("prn_administration"),
        "Flag" => Some("wandering_alert"),
        _ => None,
    }
}

/// Which vital-signs observations a search asks for (`code`, `category`).
pub fn vital_filter(p: &Params) -> FhirResult<Vec<&'static VitalCode>> {
    let mut wanted: Vec<&'static VitalCode> = VITAL_CODES.iter().collect();
    for value in p.all("code") {
        let mut these = Vec::new();
        for v in any_of(value) {
            let t = Token::parse(v);
            if t.system.is_some_and(|s| s != "http://loinc.org") {
                continue;
            }
            if let Some(c) = t.code.and_then(vital_code_by_loinc) {
                these.push(c);
            }
        }
        wanted.retain(|c| these.contains(c));
    }
    for value in p.all("category") {
        let these: Vec<&str> = any_of(value).filter_map(|v| Token::parse(v).code).collect();
        wanted.retain(|c| these.contains(&c.category));
    }
    Ok(wanted)
}

const RECORD_COLUMNS: &str = "r.id, r.facility_id, r.patient_id, r.author_user_id, r.device_id, r.kind, \
     r.body, r.occurred_at, r.received_at, r.amends, \
     a.body AS amended_by_body, a.occurred_at AS amended_by_at, a.author_user_id AS amended_by_author";

/// The latest record amending each one (follow-up, found, correction).
const AMENDED_BY: &str = " LEFT JOIN LATERAL (SELECT x.body, x.occurred_at, x.author_user_id \
     FROM clinical_records x WHERE x.amends = r.id ORDER BY x.occurred_at DESC, x.id DESC LIMIT 1) a ON true";

/// Records of `kind` matching a clinical search, from `from` (inclusive) on,
/// in id order; at most `limit` records.
#[allow(clippy::too_many_arguments)]
pub async fn records(
    conn: &mut PgConnection,
    scope: Scope,
    resource_type: &str,
    p: &Params,
    vitals: &[&'static VitalCode],
    bounds: Bounds,
    from: Option<Uuid>,
    limit: i64,
) -> FhirResult<Vec<RecordRow>> {
    let kind = record_kind(resource_type).ok_or_else(FhirError::not_found)?;
    let mut qb = QueryBuilder::new(format!(
        "SELECT {RECORD_COLUMNS} FROM clinical_records r{AMENDED_BY} WHERE r.kind = "
    ));
    qb.push_bind(kind);
    push_scope_filter(&mut qb, scope, "r.facility_id");
    push_facility(&mut qb, bounds, "r.facility_id");
    push_since(&mut qb, bounds.since, "r.received_at");
    for name in ["patient", "subject"] {
        push_reference(&mut qb, p, name, "Patient", "r.patient_id")?;
    }
    let date_param = if resource_type == "MedicationAdministration" {
        "effective-time"
    } else {
        "date"
    };
    push_date(&mut qb, p, date_param, "r.occurred_at")?;
    for value in p.all("_id") {
        let list: Vec<Uuid> = any_of(value)
            .filter_map(|v| v.get(..36).and_then(|u| u.parse::<Uuid>().ok()))
            .collect();
        qb.push(" AND r.id = ANY(").push_bind(list).push(")");
    }
    if resource_type == "Observation" {
        let keys: Vec<String> = vitals
            .iter()
            .flat_map(|c| body_keys(c).iter().map(|k| (*k).to_owned()))
            .collect();
        qb.push(" AND r.body ?| ").push_bind(keys);
    }
    if resource_type == "Flag" {
        qb.push(" AND r.body->>'alert' <> 'found'");
    }
    if let Some(from) = from {
        qb.push(" AND r.id >= ").push_bind(from);
    }
    qb.push(" ORDER BY r.id LIMIT ").push_bind(limit);
    Ok(qb.build_query_as().fetch_all(conn).await?)
}

/// One record by id, in scope.
pub async fn record(
    conn: &mut PgConnection,
    scope: Scope,
    kind: &str,
    id: Uuid,
) -> FhirResult<Option<RecordRow>> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {RECORD_COLUMNS} FROM clinical_records r{AMENDED_BY} WHERE r.id = "
    ));
    qb.push_bind(id)
        .push(" AND r.kind = ")
        .push_bind(kind.to_owned());
    push_scope_filter(&mut qb, scope, "r.facility_id");
    Ok(qb.build_query_as().fetch_optional(conn).await?)
}

/// The organization and facility of a patient in scope (for audit rows).
pub async fn patient_place(
    conn: &mut PgConnection,
    scope: Scope,
    patient_id: i64,
) -> FhirResult<Option<(i64, i64)>> {
    let mut qb = QueryBuilder::new("SELECT organization_id, facility_id FROM patients WHERE id = ");
    qb.push_bind(patient_id);
    push_scope_filter(&mut qb, scope, "facility_id");
    Ok(qb.build_query_as().fetch_optional(conn).await?)
}
