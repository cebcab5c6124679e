//! `GET /fhir/R4/metadata`: the CapabilityStatement, built from the same
//! tables the searches use, so it names exactly what the server does.

use serde_json::{json, Value};

use super::store::known_params;
use super::RESOURCE_TYPES;

/// The type and meaning of each search parameter, for the statement.
fn param(name: &str) -> (&'static str, &'static str) {
    match name {
        "_id" => ("token", "Logical id (comma-separated ids: any of them)"),
        "name" | "family" | "given" => (
            "string",
            "Case-insensitive prefix; name:exact for an exact match",
        ),
        "identifier" => ("token", "system|value"),
        "active" => ("token", "true or false"),
        "organization" => ("reference", "Organization/id"),
        "location" => ("reference", "Location/id (a facility)"),
        "practitioner" => ("reference", "Practitioner/id"),
        "patient" | "subject" => ("reference", "Patient/id"),
        "birthdate" | "date" | "effective-time" => (
            "date",
            "eq, ne, gt, lt, ge or le followed by a date or dateTime",
        ),
        "type" | "role" | "category" => ("token", "A code (comma-separated: any of them)"),
        "code" => ("token", "A LOINC code, e.g. http://loinc.org|8867-4"),
        _ => ("string", ""),
    }
}

pub fn statement(base: &str) -> Value {
    let resources: Vec<Value> = RESOURCE_TYPES
        .iter()
        .map(|t| {
            let mut r = json!({
                "type": t,
                "interaction": [{ "code": "read" }, { "code": "search-type" }],
                "versioning": "no-version",
                "readHistory": false,
                "updateCreate": false,
                "searchParam": known_params(t).iter().map(|name| {
                    let (kind, documentation) = param(name);
                    json!({ "name": name, "type": kind, "documentation": documentation })
                }).collect::<Vec<_>>(),
            });
            if *t == "Observation" {
                r["supportedProfile"] = json!([
                    "http://hl7.org/fhir/StructureDefinition/vitalsigns",
                    "http://hl7.org/fhir/StructureDefinition/bodytemp",
                    "http://hl7.org/fhir/StructureDefinition/heartrate",
                    "http://hl7.org/fhir/StructureDefinition/resprate",
                    "http://hl7.org/fhir/StructureDefinition/bp",
                    "http://hl7.org/fhir/StructureDefinition/oxygensat",
                ]);
            }
            if *t == "Patient" || *t == "Group" {
                r["operation"] = json!([{
                    "name": "export",
                    "definition": if *t == "Patient" {
                        "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"
                    } else {
                        "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"
                    },
                }]);
            }
            r
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": super::resources::instant(chrono::Utc::now()),
        "publisher": "Tend",
        "kind": "instance",
        "software": { "name": "Tend central API", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Tend FHIR R4 API", "url": base },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "Read-only. Search results are Bundles paged with _count (1-200, default 50) and a next link; unknown search parameters are ignored and left out of the self link unless the request says Prefer: handling=strict. Bulk data: $export at the system, Patient and Group (a facility) level, NDJSON, asynchronous (Prefer: respond-async), for administrators.",
            "security": {
                "cors": false,
                "description": "A bearer token from POST /api/auth/login (Authorization: Bearer ...). Each caller sees its own facility, an organization administrator its organization; every access to resident data is audited.",
            },
            "resource": resources,
            "operation": [{
                "name": "export",
                "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
            }],
        }],
    })
}
