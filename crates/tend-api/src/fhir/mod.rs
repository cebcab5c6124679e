//! The FHIR R4 API under `/fhir/R4`: the capability statement, read and
//! search of the resources Tend holds (organizations, facilities as
//! `Location` and `Group`, devices, staff as `Practitioner` and
//! `PractitionerRole`, residents as `Patient`, vital signs as `Observation`,
//! PRN doses as `MedicationAdministration`, wandering alerts as `Flag`), and
//! bulk data `$export`. Same bearer tokens, roles, scope (row-level security)
//! and audit as the rest of the API; every read or search that returns
//! resident data is audited, whoever the caller.

mod capability;
pub mod error;
pub mod export;
pub mod params;
pub mod resources;
pub mod store;

use axum::extract::{ConnectInfo, FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::api::facilities::list_audit;
use crate::context::{Audit, Ctx, Scope};
use crate::AppState;
use error::{fhir_response, FhirError, FhirResult};
use params::Params;
use store::Bounds;

/// The resource types Tend serves, in the capability statement's order.
pub const RESOURCE_TYPES: [&str; 10] = [
    "Organization",
    "Location",
    "Group",
    "Device",
    "Practitioner",
    "PractitionerRole",
    "Patient",
    "Observation",
    "MedicationAdministration",
    "Flag",
];

/// Types whose resources are about one resident (audited on every access).
fn about_residents(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "Patient" | "Observation" | "MedicationAdministration" | "Flag"
    )
}

/// Routes under `/fhir/R4`. Operations (`$export`, `_search`, `metadata`)
/// share their path shapes with read and search, so each shape has one
/// handler that looks at the segment.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/{first}",
            get(root_get).post(root_post).delete(root_delete),
        )
        .route(
            "/{first}/{second}",
            get(pair_get).post(pair_post).delete(pair_delete),
        )
        .route("/{first}/{second}/{third}", get(triple_get))
        .route(
            "/",
            get(|| async {
                FhirError::NotSupported("use /fhir/R4/metadata or a resource type".into())
            }),
        )
        .fallback(|| async { FhirError::NotSupported("no such FHIR interaction".into()) })
}

/// The server's base URL as the client reached it: `https` unless the
/// connection is plain HTTP (on loopback) and no trusted proxy says it
/// terminated TLS; the host from `X-Forwarded-Host` (trusted proxy only) or
/// `Host`.
pub struct Base(pub String);

impl FromRequestParts<AppState> for Base {
    type Rejection = FhirError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, FhirError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_canonical());
        let trusted =
            peer.is_some_and(|ip| state.http.trusted_proxies.iter().any(|n| n.contains(&ip)));
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let tls = parts
            .extensions
            .get::<crate::serve::ConnectionTls>()
            .is_some_and(|t| t.0);
        let scheme = match header("x-forwarded-proto").filter(|_| trusted).as_deref() {
            Some("https") => "https",
            Some("http") => "http",
            _ if tls => "https",
            _ => "http",
        };
        let host = header("x-forwarded-host")
            .filter(|_| trusted)
            .or_else(|| header("host"))
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .filter(|h| {
                h.len() <= 255
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
            })
            .unwrap_or_else(|| "localhost".to_owned());
        Ok(Base(format!("{scheme}://{host}/fhir/R4")))
    }
}

/// Refuses clients that accept only XML (or anything but JSON).
fn negotiate(headers: &HeaderMap, p: &Params) -> FhirResult<()> {
    if let Some(format) = p.one("_format")? {
        if !matches!(
            format,
            "json" | "application/json" | "application/fhir+json"
        ) {
            return Err(FhirError::NotAcceptable);
        }
    }
    if let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) {
        let ok = accept.split(',').any(|part| {
            let mime = part.split(';').next().unwrap_or("").trim();
            matches!(
                mime,
                "*/*" | "application/*" | "application/json" | "application/fhir+json" | ""
            )
        });
        if !ok {
            return Err(FhirError::NotAcceptable);
        }
    }
    Ok(())
}

fn known_type(resource_type: &str) -> FhirResult<()> {
    if RESOURCE_TYPES.contains(&resource_type) {
        Ok(())
    } else {
        Err(FhirError::UnknownType(resource_type.to_owned()))
    }
}

fn params_of(query: Option<String>) -> FhirResult<Params> {
    Params::parse(query.as_deref().unwrap_or(""))
}

/// `GET /fhir/R4/{metadata | $export | Type}`.
async fn root_get(
    State(state): State<AppState>,
    Path(first): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    base: Base,
    ctx: Result<Ctx, crate::ApiError>,
) -> FhirResult<Response> {
    let p = params_of(query.clone())?;
    negotiate(&headers, &p)?;
    match first.as_str() {
        "metadata" => Ok(fhir_response(
            StatusCode::OK,
            &capability::statement(&base.0),
        )),
        "$export" => {
            export::kick_off(
                &state,
                ctx?,
                &base,
                &headers,
                &p,
                query.as_deref(),
                export::Level::System,
            )
            .await
        }
        resource_type => {
            known_type(resource_type)?;
            search(ctx?, &base, &headers, resource_type, p).await
        }
    }
}

/// `POST /fhir/R4/{Type}` is create, which Tend's FHIR API does not offer.
async fn root_post(Path(first): Path<String>) -> FhirError {
    match known_type(&first) {
        Err(e) => e,
        Ok(()) => FhirError::NotSupported(format!(
            "{first} is read-only through FHIR; Tend's own API (/api) writes"
        )),
    }
}

async fn root_delete(Path(first): Path<String>) -> FhirError {
    root_post(Path(first)).await
}

/// `GET /fhir/R4/{Type}/{id}`, `/Patient/$export`, `/$export-status/{job}`.
async fn pair_get(
    State(state): State<AppState>,
    Path((first, second)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    base: Base,
    ctx: Result<Ctx, crate::ApiError>,
) -> FhirResult<Response> {
    let p = params_of(query.clone())?;
    match (first.as_str(), second.as_str()) {
        ("$export-status", job) => export::status(ctx?, &base, job).await,
        ("Patient", "$export") => {
            negotiate(&headers, &p)?;
            export::kick_off(
                &state,
                ctx?,
                &base,
                &headers,
                &p,
                query.as_deref(),
                export::Level::Patient,
            )
            .await
        }
        (resource_type, id) => {
            negotiate(&headers, &p)?;
            known_type(resource_type)?;
            read(ctx?, resource_type, id).await
        }
    }
}

/// `DELETE /fhir/R4/$export-status/{job}` cancels an export; deleting a
/// resource is not offered.
async fn pair_delete(
    Path((first, second)): Path<(String, String)>,
    ctx: Result<Ctx, crate::ApiError>,
) -> FhirResult<Response> {
    if first == "$export-status" {
        return export::cancel(ctx?, &second).await;
    }
    Err(root_post(Path(first)).await)
}

/// `POST /fhir/R4/{Type}/_search` (form-encoded parameters).
async fn pair_post(
    Path((first, second)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    base: Base,
    ctx: Result<Ctx, crate::ApiError>,
    body: String,
) -> FhirResult<Response> {
    if second != "_search" {
        return Err(root_post(Path(first)).await);
    }
    known_type(&first)?;
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form && !body.is_empty() {
        return Err(crate::ApiError::UnsupportedMediaType.into());
    }
    let p = params_of(query)?.merge(Params::parse(&body)?);
    negotiate(&headers, &p)?;
    search(ctx?, &base, &headers, &first, p).await
}

/// `GET /fhir/R4/Group/{id}/$export`, `/$export-file/{job}/{file}`.
async fn triple_get(
    State(state): State<AppState>,
    Path((first, second, third)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    base: Base,
    ctx: Result<Ctx, crate::ApiError>,
) -> FhirResult<Response> {
    match (first.as_str(), third.as_str()) {
        ("$export-file", file) => export::file(ctx?, &second, file).await,
        ("Group", "$export") => {
            let p = params_of(query.clone())?;
            negotiate(&headers, &p)?;
            let facility = second.parse::<i64>().map_err(|_| FhirError::not_found())?;
            export::kick_off(
                &state,
                ctx?,
                &base,
                &headers,
                &p,
                query.as_deref(),
                export::Level::Group(facility),
            )
            .await
        }
        _ => Err(FhirError::NotSupported("no such FHIR interaction".into())),
    }
}

/// Audits an access to resident data: always, for every role; the resident
/// named when the access is about one.
async fn audit_residents(
    ctx: &mut Ctx,
    action: &'static str,
    resource_type: &'static str,
    patient_id: Option<i64>,
) -> FhirResult<()> {
    let place = match patient_id {
        Some(id) => {
            let scope = ctx.scope();
            store::patient_place(&mut ctx.tx, scope, id).await?
        }
        None => None,
    };
    let audit = match (patient_id, place) {
        (Some(id), Some((org, facility))) => Audit::new(action, "patient")
            .resource(id)
            .facility(org, facility),
        _ => {
            let mut a = list_audit(ctx, action, "patient", None).await?;
            a.reason = None;
            a
        }
    };
    ctx.audit_write(audit.reason(resource_type)).await?;
    Ok(())
}

/// A `Bundle` of type `searchset`.
fn bundle(
    base: &str,
    resource_type: &str,
    self_query: &str,
    next: Option<String>,
    entries: Vec<(String, Value)>,
) -> Value {
    let mut links =
        vec![json!({ "relation": "self", "url": format!("{base}/{resource_type}{self_query}") })];
    if let Some(next) = next {
        links.push(json!({ "relation": "next", "url": next }));
    }
    json!({
        "resourceType": "Bundle",
        "id": Uuid::new_v4().to_string(),
        "meta": { "lastUpdated": resources::instant(chrono::Utc::now()) },
        "type": "searchset",
        "link": links,
        "entry": entries.into_iter().map(|(id, resource)| json!({
            "fullUrl": format!("{base}/{}/{id}", resource["resourceType"].as_str().unwrap_or(resource_type)),
            "resource": resource,
            "search": { "mode": "match" },
        })).collect::<Vec<_>>(),
    })
}

fn encode_query(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        String::new()
    } else {
        format!(
            "?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// Whether the request's `Prefer` headers include `preference`
/// (`handling=strict`, `respond-async`).
pub(crate) fn prefers(headers: &HeaderMap, preference: &str) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case(preference))
        })
}

fn int_cursor(p: &Params) -> FhirResult<Option<i64>> {
    match p.cursor()? {
        None => Ok(None),
        Some(c) => c
            .parse::<i64>()
            .map(Some)
            .map_err(|_| FhirError::invalid("_cursor", "not a cursor this server issued")),
    }
}

/// Rows of a type with numeric ids (every type but the clinical records'),
/// rendered: what search, read and `$export` share. At most `limit + 1`
/// (the extra one says there are more).
pub(crate) async fn id_resources(
    conn: &mut PgConnection,
    scope: Scope,
    resource_type: &str,
    p: &Params,
    bounds: Bounds,
    after: Option<i64>,
    limit: i64,
) -> FhirResult<Vec<(i64, Value)>> {
    fn render<R>(rows: Vec<R>, id: fn(&R) -> i64, to: fn(&R) -> Value) -> Vec<(i64, Value)> {
        rows.iter().map(|r| (id(r), to(r))).collect()
    }
    Ok(match resource_type {
        "Organization" => render(
            store::organizations(conn, scope, p, bounds, after, limit).await?,
            |r| r.id,
            resources::organization,
        ),
        "Location" | "Group" => render(
            store::facilities(conn, scope, p, bounds, after, limit).await?,
            |r| r.id,
            if resource_type == "Group" {
                resources::group
            } else {
                resources::location
            },
        ),
        "Device" => render(
            store::devices(conn, scope, p, bounds, after, limit).await?,
            |r| r.id,
            resources::device,
        ),
        "Practitioner" | "PractitionerRole" => render(
            store::staff(conn, scope, p, bounds, after, limit).await?,
            |r| r.id,
            if resource_type == "Practitioner" {
                resources::practitioner
            } else {
                resources::practitioner_role
            },
        ),
        "Patient" => render(
            store::patients(conn, scope, p, bounds, after, limit).await?,
            |r| r.id,
            resources::patient,
        ),
        other => return Err(FhirError::UnknownType(other.to_owned())),
    })
}

/// The resources one clinical record gives: its observations (those `only`
/// keeps), its PRN dose, or its wandering alert; each with its FHIR id.
pub(crate) fn record_resources(
    resource_type: &str,
    r: &resources::RecordRow,
    only: &dyn Fn(&resources::VitalCode) -> bool,
) -> Vec<(String, Value)> {
    match resource_type {
        "Observation" => resources::observations(r, only),
        "MedicationAdministration" => resources::medication_administration(r)
            .map(|m| vec![(r.id.to_string(), m)])
            .unwrap_or_default(),
        _ => resources::flag(r)
            .map(|f| vec![(r.id.to_string(), f)])
            .unwrap_or_default(),
    }
}

async fn search(
    mut ctx: Ctx,
    base: &Base,
    headers: &HeaderMap,
    resource_type: &str,
    p: Params,
) -> FhirResult<Response> {
    let known = store::known_params(resource_type);
    let unknown = p.unknown(known);
    if !unknown.is_empty() && prefers(headers, "handling=strict") {
        return Err(FhirError::invalid(
            &unknown[0],
            format!(
                "{resource_type} has no search parameter {} here",
                unknown.join(", ")
            ),
        ));
    }
    let count = p.count()?;
    let scope = ctx.scope();
    let none = Bounds::default();
    // Each arm: the entries (FHIR id, resource) and the next page's cursor.
    let (entries, next): (Vec<(String, Value)>, Option<String>) = match resource_type {
        "Organization" | "Location" | "Group" | "Device" | "Practitioner" | "PractitionerRole"
        | "Patient" => {
            let after = int_cursor(&p)?;
            let mut rows =
                id_resources(&mut ctx.tx, scope, resource_type, &p, none, after, count).await?;
            let more = rows.len() > usize::try_from(count).unwrap_or(0);
            rows.truncate(usize::try_from(count).unwrap_or(0));
            let next = more
                .then(|| rows.last().map(|(id, _)| id.to_string()))
                .flatten();
            (
                rows.into_iter()
                    .map(|(id, r)| (id.to_string(), r))
                    .collect(),
                next,
            )
        }
        _ => clinical_search(&mut ctx, resource_type, &p, count).await?,
    };
    let canonical = p.canonical(known);
    let next_url = next.map(|cursor| {
        let mut pairs = canonical.clone();
        pairs.push(("_cursor".into(), cursor));
        format!("{}/{resource_type}{}", base.0, encode_query(&pairs))
    });
    if about_residents(resource_type) {
        let patient = match p.one("patient")?.or(p.one("subject")?) {
            Some(v) => params::reference("patient", v, "Patient").ok(),
            None if resource_type == "Patient" => p.one("_id")?.and_then(|v| v.parse::<i64>().ok()),
            None => None,
        };
        audit_residents(&mut ctx, "fhir.search", static_type(resource_type), patient).await?;
    } else {
        let audit = list_audit(&mut ctx, "fhir.search", "fhir", None).await?;
        ctx.audit_read(audit.reason(static_type(resource_type)))
            .await?;
    }
    ctx.finish_read().await?;
    Ok(fhir_response(
        StatusCode::OK,
        &bundle(
            &base.0,
            resource_type,
            &encode_query(&canonical),
            next_url,
            entries,
        ),
    ))
}

/// The `&'static` name of a served type (audit rows borrow it).
fn static_type(resource_type: &str) -> &'static str {
    RESOURCE_TYPES
        .iter()
        .find(|t| **t == resource_type)
        .copied()
        .unwrap_or("FHIR")
}

/// Observation, MedicationAdministration and Flag searches: records in id
/// order, one record giving several observations. The cursor is the FHIR id
/// of the last entry returned.
async fn clinical_search(
    ctx: &mut Ctx,
    resource_type: &str,
    p: &Params,
    count: i64,
) -> FhirResult<(Vec<(String, Value)>, Option<String>)> {
    let vitals = store::vital_filter(p)?;
    let cursor = p.cursor()?;
    let (from, skip_through) = match cursor {
        None => (None, None),
        Some(c) => {
            let id = c
                .get(..36)
                .and_then(|u| u.parse::<Uuid>().ok())
                .ok_or_else(|| FhirError::invalid("_cursor", "not a cursor this server issued"))?;
            (Some(id), Some(c.to_owned()))
        }
    };
    if resource_type == "Observation" && vitals.is_empty() {
        return Ok((Vec::new(), None));
    }
    let wanted_ids: Option<Vec<String>> = p
        .one("_id")?
        .map(|v| params::any_of(v).map(str::to_owned).collect());
    // Enough records for a full page and one more entry, whatever the cursor skips.
    let rows = store::records(
        &mut ctx.tx,
        ctx.principal.scope(),
        resource_type,
        p,
        &vitals,
        Bounds::default(),
        from,
        count + 2,
    )
    .await?;
    let mut entries = Vec::new();
    for r in &rows {
        entries.extend(record_resources(resource_type, r, &|c| vitals.contains(&c)));
    }
    if let Some(ids) = &wanted_ids {
        entries
            .retain(|(id, _)| ids.contains(id) || ids.contains(&id[..36.min(id.len())].to_owned()));
    }
    if let Some(after) = skip_through {
        // Entries are in (record id, code order); drop through the cursor.
        if let Some(pos) = entries.iter().position(|(id, _)| *id == after) {
            entries.drain(..=pos);
        }
    }
    let limit = usize::try_from(count).unwrap_or(0);
    let more = entries.len() > limit;
    entries.truncate(limit);
    let next = more
        .then(|| entries.last().map(|(id, _)| id.clone()))
        .flatten();
    Ok((entries, next))
}

/// `GET /fhir/R4/{Type}/{id}`.
async fn read(mut ctx: Ctx, resource_type: &str, id: &str) -> FhirResult<Response> {
    let scope = ctx.scope();
    let int_id = id.parse::<i64>().ok().filter(|i| *i > 0);
    let (resource, patient): (Option<Value>, Option<i64>) = match resource_type {
        "Observation" | "MedicationAdministration" | "Flag" => {
            let record_id = id.get(..36).and_then(|u| u.parse::<Uuid>().ok());
            let kind = store::record_kind(resource_type).unwrap_or("");
            let row = match record_id {
                Some(rid) => store::record(&mut ctx.tx, scope, kind, rid).await?,
                None => None,
            };
            // The whole id must match: `<record>-<code>` for an observation,
            // the record's own for the others.
            let resource = row.as_ref().and_then(|r| {
                let suffix = id.get(37..).unwrap_or("");
                record_resources(resource_type, r, &|c| c.suffix == suffix)
                    .into_iter()
                    .find(|(fhir_id, _)| fhir_id == id)
                    .map(|(_, resource)| resource)
            });
            (resource, row.map(|r| r.patient_id))
        }
        _ => {
            let Some(n) = int_id else {
                return Err(FhirError::not_found());
            };
            let single = Params::parse(&format!("_id={n}"))?;
            let resource = id_resources(
                &mut ctx.tx,
                scope,
                resource_type,
                &single,
                Bounds::default(),
                None,
                1,
            )
            .await?
            .into_iter()
            .next()
            .map(|(_, r)| r);
            (resource, (resource_type == "Patient").then_some(n))
        }
    };
    let Some(resource) = resource else {
        return Err(FhirError::not_found());
    };
    if about_residents(resource_type) {
        audit_residents(&mut ctx, "fhir.read", static_type(resource_type), patient).await?;
    } else {
        let audit = list_audit(&mut ctx, "fhir.read", "fhir", None).await?;
        ctx.audit_read(audit.reason(static_type(resource_type)))
            .await?;
    }
    ctx.finish_read().await?;
    let mut response = fhir_response(StatusCode::OK, &resource);
    if let Some(version) = resource["meta"]["versionId"].as_str() {
        if let Ok(v) = format!("W/\"{version}\"").parse() {
            response.headers_mut().insert(header::ETAG, v);
        }
    }
    Ok(response)
}
