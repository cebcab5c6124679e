//! Audit export for an auditor (admins): the events in the caller's scope,
//! filtered by resident, person, facility and time, as CSV or as FHIR R4
//! `AuditEvent` resources in a `collection` Bundle. Each event carries its
//! place in its audit chain and its hash, so an export can be checked against
//! the signed checkpoints. Every export is itself audited.

use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use tend_domain::wire::{AuditEvent, ErrorBody};
use utoipa::IntoParams;

use super::facilities::list_audit;
use crate::context::{admin, Ctx};
use crate::error::{ApiError, Result};
use crate::extract::ApiQuery;
use crate::store;
use crate::store::audit::ExportRow;

/// Most events in one export; `X-Tend-Next-After-Id` continues.
pub const MAX_EXPORT: i64 = 10_000;

/// Names the `after_id` that continues an export cut at its limit.
pub const NEXT_AFTER_ID: HeaderName = HeaderName::from_static("x-tend-next-after-id");

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Only events in this facility (must be in your scope).
    pub facility_id: Option<i64>,
    /// Only events about this resident (patient id, in your scope): views,
    /// changes and documentation.
    pub patient_id: Option<i64>,
    /// Only events by this person or about their account (user id, in your scope).
    pub user_id: Option<i64>,
    /// Every action starting with this, e.g. `auth.` or `patient.`.
    pub action_prefix: Option<String>,
    /// Only access outside (true) or inside (false) the actor's own facility.
    pub cross_facility: Option<bool>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub until: Option<DateTime<Utc>>,
    /// Continue after this event id (`X-Tend-Next-After-Id` of the previous export).
    pub after_id: Option<i64>,
    /// Most events, 1–10000 (default 10000).
    pub limit: Option<i64>,
}

/// Which rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Fhir,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Fhir => "fhir",
        }
    }
}

/// Audit events as CSV (admins), oldest first.
#[utoipa::path(get, path = "/api/audit-events/export/csv", tag = "audit", params(ExportQuery),
    responses(
        (status = 200, description = "RFC 4180 CSV with a header row, oldest first", content_type = "text/csv", body = String,
            headers(("x-tend-next-after-id" = i64, description = "Present when the limit cut the export: pass it as after_id"))),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "Facility, resident or person not found in your scope", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_csv(ctx: Ctx, ApiQuery(q): ApiQuery<ExportQuery>) -> Result<Response> {
    export(ctx, q, Format::Csv).await
}

/// Audit events as FHIR R4 `AuditEvent` resources in a `collection` Bundle (admins), oldest first.
#[utoipa::path(get, path = "/api/audit-events/export/fhir", tag = "audit", params(ExportQuery),
    responses(
        (status = 200, description = "A FHIR R4 Bundle (type collection) of AuditEvent resources", content_type = "application/fhir+json", body = Object,
            headers(("x-tend-next-after-id" = i64, description = "Present when the limit cut the export: pass it as after_id"))),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "Facility, resident or person not found in your scope", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_fhir(ctx: Ctx, ApiQuery(q): ApiQuery<ExportQuery>) -> Result<Response> {
    export(ctx, q, Format::Fhir).await
}

async fn export(mut ctx: Ctx, q: ExportQuery, format: Format) -> Result<Response> {
    let audit = list_audit(&mut ctx, "audit_event.export", "audit_event", q.facility_id).await?;
    ctx = ctx.require(admin).await?;
    let limit = match q.limit {
        None => MAX_EXPORT,
        Some(n) if (1..=MAX_EXPORT).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::field(
                "limit",
                format!("must be between 1 and {MAX_EXPORT}"),
            ))
        }
    };
    if let (Some(since), Some(until)) = (q.since, q.until) {
        if since > until {
            return Err(ApiError::field("until", "must not be before since"));
        }
    }
    if q.after_id.is_some_and(|id| id < 0) {
        return Err(ApiError::field("after_id", "must not be negative"));
    }
    if let Some(id) = q.patient_id {
        store::audit::patient_place(&mut ctx.tx, id)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    if let Some(id) = q.user_id {
        if !store::audit::user_visible(&mut ctx.tx, id).await? {
            return Err(ApiError::NotFound);
        }
    }
    let filter = store::audit::ExportFilter {
        facility_id: q.facility_id,
        patient_id: q.patient_id,
        user_id: q.user_id,
        action_prefix: q.action_prefix,
        cross_facility: q.cross_facility,
        since: q.since,
        until: q.until,
        after_id: q.after_id,
    };
    let scope = ctx.scope();
    let mut rows = store::audit::export(&mut ctx.tx, scope, &filter, limit).await?;
    let next_after_id = if rows.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        rows.last().map(|r| r.event.id)
    } else {
        None
    };
    // Ids only: what was asked for, never names.
    let mut reason = format!("{} export of {} events", format.name(), rows.len());
    for (name, value) in [
        ("patient", q.patient_id),
        ("user", q.user_id),
        ("after", q.after_id),
    ] {
        if let Some(v) = value {
            reason.push_str(&format!(", {name} {v}"));
        }
    }
    ctx.audit_write(audit.reason(&reason)).await?;
    ctx.commit().await?;
    let mut response = match format {
        Format::Csv => (
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    CONTENT_DISPOSITION,
                    "attachment; filename=\"tend-audit-events.csv\"",
                ),
            ],
            csv(&rows),
        )
            .into_response(),
        Format::Fhir => (
            [(CONTENT_TYPE, "application/fhir+json")],
            bundle(&rows, Utc::now()).to_string(),
        )
            .into_response(),
    };
    if let Some(id) = next_after_id {
        response
            .headers_mut()
            .insert(NEXT_AFTER_ID, axum::http::HeaderValue::from(id));
    }
    Ok(response)
}

/// The CSV header row.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "recorded_at",
    "organization_id",
    "facility_id",
    "facility_name",
    "actor_user_id",
    "actor_name",
    "actor_device_id",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "cross_facility",
    "reason",
    "client_address",
    "chain_seq",
    "hash",
];

/// RFC 4180: quoted when a cell holds a comma, quote or line break, quotes
/// doubled, CRLF between rows. A text cell a spreadsheet would read as a
/// formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`: names and
/// reasons are typed by people.
fn cell(out: &mut String, value: &str, text: bool) {
    let guarded;
    let value = if text && value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{value}");
        guarded.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

pub fn csv(rows: &[ExportRow]) -> String {
    let mut out = String::with_capacity(200 * (rows.len() + 1));
    out.push_str(&CSV_COLUMNS.join(","));
    out.push_str("\r\n");
    let num = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in rows {
        let e = &r.event;
        let cells: [(String, bool); 17] = [
            (e.id.to_string(), false),
            (e.at.to_rfc3339_opts(SecondsFormat::Micros, true), false),
            (num(e.organization_id), false),
            (num(e.facility_id), false),
            (e.facility_name.clone().unwrap_or_default(), true),
            (num(e.actor_user_id), false),
            (e.actor_name.clone().unwrap_or_default(), true),
            (num(e.actor_device_id), false),
            (e.action.clone(), true),
            (e.resource_type.clone(), true),
            (num(e.resource_id), false),
            (e.outcome.clone(), true),
            (e.cross_facility.to_string(), false),
            (e.reason.clone().unwrap_or_default(), true),
            (e.client_address.clone().unwrap_or_default(), true),
            (num(r.chain_seq), false),
            (
                r.hash
                    .as_deref()
                    .map(crate::audit_chain::hex)
                    .unwrap_or_default(),
                false,
            ),
        ];
        for (i, (value, text)) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            cell(&mut out, value, *text);
        }
        out.push_str("\r\n");
    }
    out
}

/// The FHIR `AuditEvent.action` code for one of Tend's actions.
fn fhir_action(action: &str) -> &'static str {
    let last = action.rsplit('.').next().unwrap_or(action);
    match last {
        "create" | "assign" | "enroll" | "enroll_pending" | "check_in" => "C",
        "read" | "list" | "dashboard" | "census_history" | "pull" | "export" => "R",
        "update" | "pin_set" | "move" | "approve" | "verify" => "U",
        "revoke" | "deactivate" | "reject" => "D",
        _ => "E",
    }
}

/// `urn:tend:<kind>` identifiers: Tend's own ids, not FHIR resources it serves.
fn tend_identifier(kind: &str, id: i64) -> Value {
    json!({"system": format!("urn:tend:{kind}"), "value": id.to_string()})
}

pub fn audit_event(r: &ExportRow) -> Value {
    let e: &AuditEvent = &r.event;
    let event_type = if e.action.starts_with("auth.") {
        json!({"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110114",
               "display": "User Authentication"})
    } else {
        json!({"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest",
               "display": "RESTful Operation"})
    };
    let network = e
        .client_address
        .as_ref()
        .map(|a| json!({"address": a, "type": "2"}));
    let mut agents = Vec::new();
    if let Some(user) = e.actor_user_id {
        let mut who = json!({"type": "Practitioner", "identifier": tend_identifier("user", user)});
        if let Some(name) = &e.actor_name {
            who["display"] = json!(name);
        }
        let mut agent = json!({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                                 "code": "humanuser", "display": "human user"}]},
            "who": who,
            "requestor": true,
        });
        if let Some(n) = &network {
            agent["network"] = n.clone();
        }
        agents.push(agent);
    }
    if let Some(device) = e.actor_device_id {
        let mut agent = json!({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                                 "code": "dataprocessor", "display": "data processor"}]},
            "who": {"type": "Device", "identifier": tend_identifier("device", device)},
            "requestor": e.actor_user_id.is_none(),
        });
        if e.actor_user_id.is_none() {
            if let Some(n) = &network {
                agent["network"] = n.clone();
            }
        }
        agents.push(agent);
    }
    if agents.is_empty() {
        let mut agent = json!({"who": {"display": "unauthenticated or system"}, "requestor": true});
        if let Some(n) = &network {
            agent["network"] = n.clone();
        }
        agents.push(agent);
    }
    let site = e
        .facility_name
        .clone()
        .or_else(|| e.facility_id.map(|f| format!("facility {f}")))
        .or_else(|| e.organization_id.map(|o| format!("organization {o}")))
        .unwrap_or_else(|| "platform".to_owned());
    let mut entity = match (e.resource_type.as_str(), e.resource_id) {
        ("patient", Some(id)) => json!({
            "what": {"reference": format!("Patient/{id}")},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"},
        }),
        ("user", Some(id)) => json!({
            "what": {"identifier": tend_identifier("user", id)},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "6", "display": "User"},
        }),
        (kind, Some(id)) => json!({
            "what": {"identifier": tend_identifier(kind, id)},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
        }),
        (kind, None) => json!({
            "what": {"display": kind},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
        }),
    };
    // The event's place in its audit chain: check it against the checkpoints.
    if let (Some(seq), Some(hash)) = (r.chain_seq, &r.hash) {
        entity["detail"] = json!([
            {"type": "tend-chain-seq", "valueString": seq.to_string()},
            {"type": "tend-hash", "valueBase64Binary": STANDARD.encode(hash)},
        ]);
    }
    let mut resource = json!({
        "resourceType": "AuditEvent",
        "id": e.id.to_string(),
        "type": event_type,
        "subtype": [{"system": "urn:tend:audit-action", "code": e.action}],
        "action": fhir_action(&e.action),
        "recorded": e.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        // 0 success; 4 minor failure (refused).
        "outcome": if e.outcome == "success" { "0" } else { "4" },
        "agent": agents,
        "source": {
            "site": site,
            "observer": {"display": "Tend central API"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                      "code": "4", "display": "Application Server"}],
        },
        "entity": [entity],
    });
    if let Some(reason) = &e.reason {
        resource["outcomeDesc"] = json!(reason);
    }
    resource
}

pub fn bundle(rows: &[ExportRow], now: DateTime<Utc>) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "entry": rows.iter().map(|r| json!({"resource": audit_event(r)})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(reason: Option<&str>, name: Option<&str>) -> ExportRow {
        ExportRow {
            event: AuditEvent {
                id: 7,
                at: DateTime::parse_from_rfc3339("2026-12-05T01:02:03.456789Z")
                    .unwrap()
                    .with_timezone(&Utc),
                actor_user_id: Some(3),
                actor_device_id: None,
                organization_id: Some(1),
                facility_id: Some(2),
                action: "patient.read".to_owned(),
                resource_type: "patient".to_owned(),
                resource_id: Some(9),
                outcome: "success".to_owned(),
                cross_facility: false,
                reason: reason.map(str::to_owned),
                client_address: Some("10.0.0.1".to_owned()),
                actor_name: name.map(str::to_owned),
                facility_name: Some("North".to_owned()),
            },
            chain_seq: Some(4),
            hash: Some(vec![0xab; 32]),
        }
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_defuses_formulas() {
        let out = csv(&[row(Some("said \"hi\", then\nleft"), Some("=HYPERLINK(1)"))]);
        let mut lines = out.split("\r\n");
        assert_eq!(lines.next().unwrap(), CSV_COLUMNS.join(","));
        let data = out.split_once("\r\n").unwrap().1;
        assert!(data.starts_with("7,2026-12-05T01:02:03.456789Z,1,2,North,3,'=HYPERLINK(1),,patient.read,patient,9,success,false,"));
        assert!(data.contains(",\"said \"\"hi\"\", then\nleft\",10.0.0.1,4,abab"));
        assert!(data.ends_with("\r\n"));
    }

    #[test]
    fn an_audit_event_names_agent_source_entity_and_action() {
        let r = audit_event(&row(None, Some("Ana Ruiz")));
        assert_eq!(r["resourceType"], "AuditEvent");
        assert_eq!(r["action"], "R");
        assert_eq!(r["outcome"], "0");
        assert_eq!(r["recorded"], "2026-12-05T01:02:03.456789Z");
        assert_eq!(r["agent"][0]["who"]["display"], "Ana Ruiz");
        assert_eq!(r["agent"][0]["requestor"], true);
        assert_eq!(r["agent"][0]["network"]["address"], "10.0.0.1");
        assert_eq!(r["entity"][0]["what"]["reference"], "Patient/9");
        assert_eq!(r["source"]["site"], "North");
        assert_eq!(r["subtype"][0]["code"], "patient.read");
        assert_eq!(r["entity"][0]["detail"][0]["valueString"], "4");
        assert_eq!(fhir_action("badge.revoke"), "D");
        assert_eq!(fhir_action("auth.login"), "E");
    }
}
