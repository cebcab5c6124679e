//! Tend's rows as FHIR R4 resources. Pure functions of the rows (no I/O), so
//! the mapping is tested here and shared by reads, searches and `$export`.
//!
//! Codes: vital signs carry LOINC codes and UCUM units and claim the R4
//! vital-signs profiles; Tend's own vocabularies (facility, device and role
//! kinds, wandering alerts) are coded in `urn:tend:` systems with a display,
//! since no standard code system names them.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use tend_domain::records::{
    MedicationRoute, PrnAdministration, PrnEffectiveness, PrnFollowUp, VitalSigns, WanderingAlert,
    WanderingAlertType,
};
use uuid::Uuid;

/// FHIR `instant`/`dateTime` as the JSON schema wants it (seconds, `Z`).
pub fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn reference(kind: &str, id: impl std::fmt::Display) -> Value {
    json!({ "reference": format!("{kind}/{id}") })
}

fn meta(updated: DateTime<Utc>) -> Value {
    json!({ "lastUpdated": instant(updated) })
}

/// A `urn:tend:` coding for Tend's own vocabularies.
fn tend_coding(system: &str, code: &str, display: &str) -> Value {
    json!({ "system": format!("urn:tend:{system}"), "code": code, "display": display })
}

pub const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";
/// The US Employer Identification Number (tax id).
pub const EIN_SYSTEM: &str = "urn:oid:2.16.840.1.113883.4.4";
const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";
const SNOMED: &str = "http://snomed.info/sct";

/// The identifier system of medical record numbers: an MRN is unique within
/// its facility, so each facility is its own assigning authority.
pub fn mrn_system(facility_id: i64) -> String {
    format!("urn:tend:facility:{facility_id}:mrn")
}

/// The identifier system of employee ids (unique within the organization).
pub fn employee_id_system(organization_id: i64) -> String {
    format!("urn:tend:organization:{organization_id}:employee-id")
}

// ---------------------------------------------------------------------------
// Rows

/// An organization as FHIR needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrganizationRow {
    pub id: i64,
    pub name: String,
    pub organization_type: Option<String>,
    pub npi: Option<String>,
    pub tax_id: Option<String>,
    pub is_active: bool,
    pub updated_at: DateTime<Utc>,
}

/// A facility (a FHIR `Location`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FacilityRow {
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    pub facility_type: String,
    pub address: Option<String>,
    pub is_active: bool,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeviceRow {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    pub device_name: String,
    pub device_type: String,
    pub device_uuid: Uuid,
    pub status: String,
    pub app_version: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A staff member (a `Practitioner` and their `PractitionerRole`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffRow {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    pub employee_id: String,
    pub full_name: String,
    pub email: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PatientRow {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    pub mrn: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub status: String,
    pub discharged_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A clinical record, with the latest record amending it (a PRN dose's
/// effectiveness follow-up, the "found" that closes a wandering alert).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecordRow {
    pub id: Uuid,
    pub facility_id: i64,
    pub patient_id: i64,
    pub author_user_id: i64,
    pub device_id: Option<i64>,
    pub kind: String,
    pub body: Value,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub amends: Option<Uuid>,
    pub amended_by_body: Option<Value>,
    pub amended_by_at: Option<DateTime<Utc>>,
    pub amended_by_author: Option<i64>,
}

// ---------------------------------------------------------------------------
// Administrative resources

fn organization_type_display(code: &str) -> &'static str {
    match code {
        "HOME_HEALTH" => "Home health agency",
        "ASSISTED_LIVING" => "Assisted living",
        "MEMORY_CARE" => "Memory care",
        "SKILLED_NURSING" => "Skilled nursing",
        "HOSPICE" => "Hospice",
        "MULTI_SERVICE" => "Multi-service organization",
        _ => "Care organization",
    }
}

pub fn organization(o: &OrganizationRow) -> Value {
    let mut identifier = Vec::new();
    if let Some(npi) = &o.npi {
        identifier.push(json!({ "system": NPI_SYSTEM, "value": npi }));
    }
    if let Some(ein) = &o.tax_id {
        identifier.push(json!({ "system": EIN_SYSTEM, "value": ein }));
    }
    let mut coding = vec![json!({
        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
        "code": "prov", "display": "Healthcare Provider"
    })];
    if let Some(t) = &o.organization_type {
        coding.push(tend_coding(
            "organization-type",
            t,
            organization_type_display(t),
        ));
    }
    let mut r = json!({
        "resourceType": "Organization",
        "id": o.id.to_string(),
        "meta": meta(o.updated_at),
        "active": o.is_active,
        "type": [{ "coding": coding }],
        "name": o.name,
    });
    if !identifier.is_empty() {
        r["identifier"] = Value::Array(identifier);
    }
    r
}

fn facility_type_display(code: &str) -> &'static str {
    match code {
        "HOME_HEALTH" => "Home health office",
        "ALF" => "Assisted living facility",
        "MEMORY_CARE" => "Memory care unit",
        "SNF" => "Skilled nursing facility",
        "HOSPICE" => "Hospice",
        _ => "Care facility",
    }
}

pub fn location(f: &FacilityRow) -> Value {
    let mut r = json!({
        "resourceType": "Location",
        "id": f.id.to_string(),
        "meta": meta(f.updated_at),
        "status": if f.is_active { "active" } else { "inactive" },
        "name": f.name,
        "mode": "instance",
        "type": [{
            "coding": [tend_coding("facility-type", &f.facility_type, facility_type_display(&f.facility_type))],
            "text": facility_type_display(&f.facility_type),
        }],
        "physicalType": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/location-physical-type",
            "code": "bu", "display": "Building"
        }] },
        "managingOrganization": reference("Organization", f.organization_id),
    });
    if let Some(address) = f.address.as_deref().filter(|a| !a.trim().is_empty()) {
        r["address"] = json!({ "text": address });
    }
    r
}

/// A facility as the `Group` of its residents, the unit of a per-facility `$export`.
pub fn group(f: &FacilityRow) -> Value {
    json!({
        "resourceType": "Group",
        "id": f.id.to_string(),
        "meta": meta(f.updated_at),
        "active": f.is_active,
        "type": "person",
        "actual": true,
        "name": format!("Residents of {}", f.name),
        "managingEntity": reference("Organization", f.organization_id),
        "characteristic": [{
            "code": { "text": "Resident of" },
            "valueReference": reference("Location", f.id),
            "exclude": false,
        }],
    })
}

fn device_type_display(code: &str) -> &'static str {
    match code {
        "RASPBERRY_PI" => "Wall-mounted kiosk",
        "TABLET" => "Tablet",
        "LAPTOP" => "Laptop",
        "WORKSTATION" => "Workstation",
        "BADGE_READER" => "Badge reader",
        _ => "Device",
    }
}

pub fn device(d: &DeviceRow) -> Value {
    let status = match d.status.as_str() {
        "ACTIVE" => "active",
        _ => "inactive",
    };
    let mut r = json!({
        "resourceType": "Device",
        "id": d.id.to_string(),
        "meta": meta(d.updated_at),
        "identifier": [{ "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", d.device_uuid) }],
        "status": status,
        "deviceName": [{ "name": d.device_name, "type": "user-friendly-name" }],
        "type": {
            "coding": [tend_coding("device-type", &d.device_type, device_type_display(&d.device_type))],
            "text": device_type_display(&d.device_type),
        },
        "owner": reference("Organization", d.organization_id),
        "location": reference("Location", d.facility_id),
    });
    if let Some(v) = d.app_version.as_deref().filter(|v| !v.is_empty()) {
        r["version"] = json!([{ "value": v }]);
    }
    r
}

fn role_display(code: &str) -> &'static str {
    match code {
        "RN" => "Registered nurse",
        "LPN" => "Licensed practical nurse",
        "CNA" => "Certified nursing assistant",
        "MED_TECH" => "Medication aide",
        "THERAPIST" => "Therapist",
        "SOCIAL_WORKER" => "Social worker",
        "FACILITY_ADMIN" => "Facility administrator",
        "ORG_ADMIN" => "Organization administrator",
        _ => "Staff",
    }
}

pub fn practitioner(s: &StaffRow) -> Value {
    let mut r = json!({
        "resourceType": "Practitioner",
        "id": s.id.to_string(),
        "meta": meta(s.updated_at),
        "identifier": [{
            "use": "official",
            "system": employee_id_system(s.organization_id),
            "value": s.employee_id,
        }],
        "active": s.is_active,
        "name": [{ "use": "official", "text": s.full_name }],
    });
    if let Some(email) = s.email.as_deref().filter(|e| !e.is_empty()) {
        r["telecom"] = json!([{ "system": "email", "value": email, "use": "work" }]);
    }
    r
}

/// One role per staff member, in their facility; the id is the user's.
pub fn practitioner_role(s: &StaffRow) -> Value {
    json!({
        "resourceType": "PractitionerRole",
        "id": s.id.to_string(),
        "meta": meta(s.updated_at),
        "active": s.is_active,
        "practitioner": reference("Practitioner", s.id),
        "organization": reference("Organization", s.organization_id),
        "location": [reference("Location", s.facility_id)],
        "code": [{
            "coding": [tend_coding("role", &s.role, role_display(&s.role))],
            "text": role_display(&s.role),
        }],
    })
}

pub fn patient(p: &PatientRow) -> Value {
    let mut r = json!({
        "resourceType": "Patient",
        "id": p.id.to_string(),
        "meta": { "versionId": p.version.to_string(), "lastUpdated": instant(p.updated_at) },
        "identifier": [{
            "use": "usual",
            "type": { "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                "code": "MR", "display": "Medical record number"
            }] },
            "system": mrn_system(p.facility_id),
            "value": p.mrn,
        }],
        "active": matches!(p.status.as_str(), "active" | "on_leave"),
        "name": [{ "use": "official", "family": p.last_name, "given": [p.first_name] }],
        "birthDate": p.date_of_birth.format("%Y-%m-%d").to_string(),
        "managingOrganization": reference("Organization", p.organization_id),
    });
    if p.status == "deceased" {
        match p.discharged_at {
            Some(at) => r["deceasedDateTime"] = json!(instant(at)),
            None => r["deceasedBoolean"] = json!(true),
        }
    }
    r
}

// ---------------------------------------------------------------------------
// Vital signs

/// One FHIR observation a vital-signs record can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VitalCode {
    /// The suffix of the Observation's id after the record's id (`<uuid>-hr`).
    pub suffix: &'static str,
    pub loinc: &'static str,
    pub display: &'static str,
    /// `vital-signs`, `survey` (pain) or `laboratory` (glucose).
    pub category: &'static str,
    /// The R4 profile it claims beyond the base vital-signs one.
    pub profile: Option<&'static str>,
}

pub const VITAL_CODES: [VitalCode; 7] = [
    VitalCode {
        suffix: "temp",
        loinc: "8310-5",
        display: "Body temperature",
        category: "vital-signs",
        profile: Some("bodytemp"),
    },
    VitalCode {
        suffix: "hr",
        loinc: "8867-4",
        display: "Heart rate",
        category: "vital-signs",
        profile: Some("heartrate"),
    },
    VitalCode {
        suffix: "rr",
        loinc: "9279-1",
        display: "Respiratory rate",
        category: "vital-signs",
        profile: Some("resprate"),
    },
    VitalCode {
        suffix: "bp",
        loinc: "85354-9",
        display: "Blood pressure panel with all children optional",
        category: "vital-signs",
        profile: Some("bp"),
    },
    VitalCode {
        suffix: "spo2",
        loinc: "2708-6",
        display: "Oxygen saturation in Arterial blood",
        category: "vital-signs",
        profile: Some("oxygensat"),
    },
    VitalCode {
        suffix: "pain",
        loinc: "72514-3",
        display: "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
        category: "survey",
        profile: None,
    },
    VitalCode {
        suffix: "glu",
        loinc: "41653-7",
        display: "Glucose [Mass/volume] in Capillary blood by Glucometer",
        category: "laboratory",
        profile: None,
    },
];

/// The JSON keys of a vital-signs body one observation is made of: a search
/// by code or category asks the database for records holding any of them.
pub fn body_keys(code: &VitalCode) -> &'static [&'static str] {
    match code.suffix {
        "temp" => &["temperature_c"],
        "hr" => &["pulse_bpm"],
        "rr" => &["respiration_rate"],
        "bp" => &["systolic_mmhg", "diastolic_mmhg"],
        "spo2" => &["spo2_percent"],
        "pain" => &["pain_score"],
        _ => &["blood_glucose_mg_dl"],
    }
}

pub fn vital_code_by_suffix(suffix: &str) -> Option<&'static VitalCode> {
    VITAL_CODES.iter().find(|c| c.suffix == suffix)
}

pub fn vital_code_by_loinc(loinc: &str) -> Option<&'static VitalCode> {
    VITAL_CODES
        .iter()
        .find(|c| c.loinc == loinc || (c.suffix == "spo2" && loinc == "59408-5"))
}

fn quantity(value: f64, unit: &str, code: &str) -> Value {
    json!({ "value": value, "unit": unit, "system": UCUM, "code": code })
}

fn category(code: &str) -> Value {
    let display = match code {
        "vital-signs" => "Vital Signs",
        "survey" => "Survey",
        "laboratory" => "Laboratory",
        "activity" => "Activity",
        _ => "Social History",
    };
    json!([{ "coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
        "code": code, "display": display
    }] }])
}

/// Whether a record is a correction of an earlier one (status `amended`).
fn record_status(r: &RecordRow) -> &'static str {
    if r.amends.is_some() {
        "amended"
    } else {
        "final"
    }
}

/// The observations of one vital-signs record, in the order of
/// [`VITAL_CODES`]; `only` keeps the ones a search asked for.
pub fn observations(r: &RecordRow, only: &dyn Fn(&VitalCode) -> bool) -> Vec<(String, Value)> {
    let Ok(v) = serde_json::from_value::<VitalSigns>(strip_kind(&r.body)) else {
        return Vec::new();
    };
    VITAL_CODES
        .iter()
        .filter(|c| only(c))
        .filter_map(|c| observation(r, &v, c).map(|o| (format!("{}-{}", r.id, c.suffix), o)))
        .collect()
}

fn strip_kind(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(o) = body.as_object_mut() {
        o.remove("kind");
    }
    body
}

/// One observation of a vital-signs record, if the record holds that value.
pub fn observation(r: &RecordRow, v: &VitalSigns, code: &VitalCode) -> Option<Value> {
    let value = match code.suffix {
        "temp" => Some(quantity(v.temperature_c?, "C", "Cel")),
        "hr" => Some(quantity(f64::from(v.pulse_bpm?), "beats/minute", "/min")),
        "rr" => Some(quantity(
            f64::from(v.respiration_rate?),
            "breaths/minute",
            "/min",
        )),
        "spo2" => Some(quantity(f64::from(v.spo2_percent?), "%", "%")),
        "pain" => Some(quantity(f64::from(v.pain_score?), "score", "{score}")),
        "glu" => Some(quantity(
            f64::from(v.blood_glucose_mg_dl?),
            "mg/dL",
            "mg/dL",
        )),
        "bp" => None,
        _ => return None,
    };
    let mut coding = vec![json!({ "system": LOINC, "code": code.loinc, "display": code.display })];
    if code.suffix == "spo2" {
        coding.push(json!({
            "system": LOINC, "code": "59408-5",
            "display": "Oxygen saturation in Arterial blood by Pulse oximetry"
        }));
    }
    let mut profiles = Vec::new();
    if code.category == "vital-signs" {
        profiles.push("http://hl7.org/fhir/StructureDefinition/vitalsigns".to_owned());
    }
    if let Some(p) = code.profile {
        profiles.push(format!("http://hl7.org/fhir/StructureDefinition/{p}"));
    }
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("Observation"));
    o.insert("id".into(), json!(format!("{}-{}", r.id, code.suffix)));
    let mut m = json!({ "lastUpdated": instant(r.received_at) });
    if !profiles.is_empty() {
        m["profile"] = json!(profiles);
    }
    o.insert("meta".into(), m);
    o.insert(
        "identifier".into(),
        json!([{ "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", r.id) }]),
    );
    o.insert("status".into(), json!(record_status(r)));
    o.insert("category".into(), category(code.category));
    o.insert(
        "code".into(),
        json!({ "coding": coding, "text": code.display }),
    );
    o.insert("subject".into(), reference("Patient", r.patient_id));
    o.insert("effectiveDateTime".into(), json!(instant(r.occurred_at)));
    o.insert("issued".into(), json!(instant(r.received_at)));
    o.insert(
        "performer".into(),
        json!([reference("Practitioner", r.author_user_id)]),
    );
    match value {
        Some(q) => {
            o.insert("valueQuantity".into(), q);
        }
        None => {
            // Blood pressure: a panel with the two pressures as components.
            let (systolic, diastolic) = (v.systolic_mmhg?, v.diastolic_mmhg?);
            let component = |loinc: &str, display: &str, value: u16| {
                json!({
                    "code": { "coding": [{ "system": LOINC, "code": loinc, "display": display }], "text": display },
                    "valueQuantity": quantity(f64::from(value), "mmHg", "mm[Hg]"),
                })
            };
            o.insert(
                "component".into(),
                json!([
                    component("8480-6", "Systolic blood pressure", systolic),
                    component("8462-4", "Diastolic blood pressure", diastolic),
                ]),
            );
        }
    }
    if let Some(device) = r.device_id {
        o.insert("device".into(), reference("Device", device));
    }
    if let Some(amends) = r.amends {
        o.insert(
            "note".into(),
            json!([{ "text": format!("Corrects record urn:uuid:{amends}") }]),
        );
    }
    Some(Value::Object(o))
}

// ---------------------------------------------------------------------------
// PRN medication administrations

fn route(route: MedicationRoute) -> Value {
    let (snomed, display) = match route {
        MedicationRoute::Oral => (Some("26643006"), "Oral route"),
        MedicationRoute::Sublingual => (Some("37839007"), "Sublingual route"),
        MedicationRoute::Topical => (Some("6064005"), "Topical route"),
        MedicationRoute::Inhaled => (Some("447694001"), "Respiratory tract route"),
        MedicationRoute::Rectal => (Some("37161004"), "Rectal route"),
        MedicationRoute::Transdermal => (Some("45890007"), "Transdermal route"),
        MedicationRoute::Injection => (None, "Injection"),
        MedicationRoute::Other => (None, "Other route"),
    };
    match snomed {
        Some(code) => {
            json!({ "coding": [{ "system": SNOMED, "code": code, "display": display }], "text": display })
        }
        None => json!({ "text": display }),
    }
}

/// A dose written as "500 mg" or "2 puffs" as a FHIR quantity: the leading
/// number and the rest as its unit, coded in UCUM when the unit is one the
/// nurse is likely to write. `None` when it does not start with a number
/// ("one tablet"): the text alone is then kept.
pub fn dose_quantity(dose: &str) -> Option<Value> {
    let dose = dose.trim();
    let split = dose
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(dose.len());
    let value: f64 = dose[..split].parse().ok().filter(|v: &f64| v.is_finite())?;
    let unit = dose[split..].trim();
    let ucum = match unit.to_lowercase().as_str() {
        "mg" => Some("mg"),
        "g" => Some("g"),
        "mcg" | "µg" | "ug" => Some("ug"),
        "ml" => Some("mL"),
        "l" => Some("L"),
        "tablet" | "tablets" | "tab" | "tabs" => Some("{tbl}"),
        "capsule" | "capsules" | "cap" | "caps" => Some("{cap}"),
        "puff" | "puffs" => Some("{puff}"),
        "drop" | "drops" => Some("[drp]"),
        "unit" | "units" => Some("[iU]"),
        _ => None,
    };
    let mut q = json!({ "value": value });
    if !unit.is_empty() {
        q["unit"] = json!(unit);
    }
    if let Some(code) = ucum {
        q["system"] = json!(UCUM);
        q["code"] = json!(code);
    }
    Some(q)
}

fn effectiveness_text(e: PrnEffectiveness) -> &'static str {
    match e {
        PrnEffectiveness::Effective => "effective",
        PrnEffectiveness::PartiallyEffective => "partially effective",
        PrnEffectiveness::NotEffective => "not effective",
    }
}

/// A PRN dose, with its effectiveness follow-up as a note when one was charted.
pub fn medication_administration(r: &RecordRow) -> Option<Value> {
    let dose: PrnAdministration = serde_json::from_value(strip_kind(&r.body)).ok()?;
    let mut notes = vec![json!({
        "time": instant(r.occurred_at),
        "text": format!(
            "PRN (as needed). Effectiveness due at {}.",
            instant(dose.follow_up_due(r.occurred_at))
        ),
    })];
    if let (Some(body), Some(at), Some(author)) =
        (&r.amended_by_body, r.amended_by_at, r.amended_by_author)
    {
        if let Ok(follow_up) = serde_json::from_value::<PrnFollowUp>(strip_kind(body)) {
            let mut text = format!(
                "Effectiveness: {}.",
                effectiveness_text(follow_up.effectiveness)
            );
            if let Some(note) = follow_up.note.as_deref().filter(|n| !n.trim().is_empty()) {
                text.push(' ');
                text.push_str(note);
            }
            notes.push(json!({
                "authorReference": reference("Practitioner", author),
                "time": instant(at),
                "text": text,
            }));
        }
    }
    let mut m = json!({
        "resourceType": "MedicationAdministration",
        "id": r.id.to_string(),
        "meta": meta(r.received_at),
        "identifier": [{ "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", r.id) }],
        "status": "completed",
        "medicationCodeableConcept": { "text": dose.medication },
        "subject": reference("Patient", r.patient_id),
        "effectiveDateTime": instant(r.occurred_at),
        "performer": [{ "actor": reference("Practitioner", r.author_user_id) }],
        "reasonCode": [{ "text": dose.reason }],
        "note": notes,
    });
    // FHIR wants a dose quantity in a dosage (mad-1); a dose written
    // without a number stays in the notes with its route.
    match dose_quantity(&dose.dose) {
        Some(q) => {
            m["dosage"] = json!({ "text": dose.dose, "route": route(dose.route), "dose": q });
        }
        None => {
            let route_text = route(dose.route)["text"].as_str().unwrap_or("").to_owned();
            if let Some(notes) = m["note"].as_array_mut() {
                notes.push(json!({ "text": format!("Dose: {} ({route_text})", dose.dose) }));
            }
        }
    }
    if let Some(device) = r.device_id {
        m["device"] = json!([reference("Device", device)]);
    }
    Some(m)
}

// ---------------------------------------------------------------------------
// Wandering alerts

/// An exit-door or missing-resident alert as a `Flag`: active until a
/// "found" record amends it.
pub fn flag(r: &RecordRow) -> Option<Value> {
    let alert: WanderingAlert = serde_json::from_value(strip_kind(&r.body)).ok()?;
    let (code, display) = match alert.alert {
        WanderingAlertType::ExitDoor => ("exit_door", "Exit door alert"),
        WanderingAlertType::Missing => ("missing", "Resident missing"),
        WanderingAlertType::Found => return None,
    };
    let mut period = json!({ "start": instant(r.occurred_at) });
    let closed = r.amended_by_at.filter(|_| {
        r.amended_by_body
            .as_ref()
            .and_then(|b| b.get("alert"))
            .and_then(Value::as_str)
            == Some("found")
    });
    if let Some(end) = closed {
        period["end"] = json!(instant(end));
    }
    Some(json!({
        "resourceType": "Flag",
        "id": r.id.to_string(),
        "meta": meta(r.received_at),
        "identifier": [{ "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", r.id) }],
        "status": if closed.is_some() { "inactive" } else { "active" },
        "category": [{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/flag-category",
            "code": "behavioral", "display": "Behavioral"
        }] }],
        "code": {
            "coding": [tend_coding("wandering-alert", code, display)],
            "text": format!("{display}: {}", alert.location),
        },
        "subject": reference("Patient", r.patient_id),
        "period": period,
        "author": reference("Practitioner", r.author_user_id),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &str, body: Value) -> RecordRow {
        let at = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        RecordRow {
            id: Uuid::nil(),
            facility_id: 3,
            patient_id: 7,
            author_user_id: 11,
            device_id: Some(5),
            kind: kind.into(),
            body,
            occurred_at: at,
            received_at: at,
            amends: None,
            amended_by_body: None,
            amended_by_at: None,
            amended_by_author: None,
        }
    }

    #[test]
    fn vitals_become_one_loinc_coded_observation_per_value() {
        let r = record(
            "vital_signs",
            json!({"kind": "vital_signs", "temperature_c": 37.2, "pulse_bpm": 72,
                   "systolic_mmhg": 128, "diastolic_mmhg": 82, "spo2_percent": 97}),
        );
        let obs = observations(&r, &|_| true);
        let codes: Vec<&str> = obs
            .iter()
            .map(|(_, o)| o["code"]["coding"][0]["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["8310-5", "8867-4", "85354-9", "2708-6"]);
        let temp = &obs[0].1;
        assert_eq!(temp["valueQuantity"]["code"], "Cel");
        assert_eq!(temp["valueQuantity"]["system"], UCUM);
        assert_eq!(temp["subject"]["reference"], "Patient/7");
        assert_eq!(temp["category"][0]["coding"][0]["code"], "vital-signs");
        let bp = &obs[2].1;
        assert_eq!(bp["component"][0]["code"]["coding"][0]["code"], "8480-6");
        assert_eq!(bp["component"][1]["valueQuantity"]["value"], 82.0);
        assert_eq!(bp["component"][1]["valueQuantity"]["code"], "mm[Hg]");
        assert!(bp.get("valueQuantity").is_none());
        assert_eq!(
            obs[0].0, "00000000-0000-0000-0000-000000000000-temp",
            "ids name the record and the value"
        );
    }

    #[test]
    fn a_search_by_code_keeps_only_that_observation() {
        let r = record(
            "vital_signs",
            json!({"kind": "vital_signs", "pulse_bpm": 72, "pain_score": 3}),
        );
        let only_pain = observations(&r, &|c| c.loinc == "72514-3");
        assert_eq!(only_pain.len(), 1);
        assert_eq!(only_pain[0].1["category"][0]["coding"][0]["code"], "survey");
        assert!(only_pain[0].1["meta"].get("profile").is_none());
    }

    #[test]
    fn a_prn_dose_carries_its_effectiveness() {
        let mut r = record(
            "prn_administration",
            json!({"kind": "prn_administration", "medication": "Acetaminophen", "dose": "500 mg",
                   "route": "oral", "reason": "Headache", "follow_up_minutes": 60}),
        );
        r.amended_by_body = Some(json!({"kind": "prn_follow_up", "effectiveness": "effective"}));
        r.amended_by_at = r.occurred_at.checked_add_signed(chrono::Duration::hours(1));
        r.amended_by_author = Some(12);
        let m = medication_administration(&r).unwrap();
        assert_eq!(m["dosage"]["route"]["coding"][0]["code"], "26643006");
        assert_eq!(
            m["dosage"]["dose"],
            json!({"value": 500.0, "unit": "mg", "system": UCUM, "code": "mg"})
        );
        assert_eq!(m["note"][1]["text"], "Effectiveness: effective.");
        assert_eq!(
            m["note"][1]["authorReference"]["reference"],
            "Practitioner/12"
        );
    }

    #[test]
    fn doses_become_quantities_when_they_start_with_a_number() {
        assert_eq!(dose_quantity("2 puffs").unwrap()["code"], "{puff}");
        assert_eq!(dose_quantity("0.5 mL").unwrap()["value"], 0.5);
        let odd = dose_quantity("10 drams").unwrap();
        assert_eq!(odd["unit"], "drams");
        assert!(
            odd.get("system").is_none(),
            "no UCUM code for an unknown unit"
        );
        assert!(dose_quantity("one tablet").is_none());
        assert!(dose_quantity("..").is_none());
    }

    #[test]
    fn a_found_resident_closes_the_flag() {
        let mut r = record(
            "wandering_alert",
            json!({"kind": "wandering_alert", "alert": "exit_door", "location": "east exit"}),
        );
        assert_eq!(flag(&r).unwrap()["status"], "active");
        r.amended_by_body =
            Some(json!({"kind": "wandering_alert", "alert": "found", "location": "garden"}));
        r.amended_by_at = Some(r.occurred_at);
        let closed = flag(&r).unwrap();
        assert_eq!(closed["status"], "inactive");
        assert!(closed["period"].get("end").is_some());
        let found = record(
            "wandering_alert",
            json!({"kind": "wandering_alert", "alert": "found", "location": "garden"}),
        );
        assert!(
            flag(&found).is_none(),
            "a found record is not a flag of its own"
        );
    }

    #[test]
    fn a_deceased_patient_is_inactive_with_the_date() {
        let p = PatientRow {
            id: 1,
            organization_id: 2,
            facility_id: 3,
            mrn: "M1".into(),
            first_name: "Ada".into(),
            last_name: "King".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1940, 2, 3).unwrap(),
            status: "deceased".into(),
            discharged_at: None,
            updated_at: Utc::now(),
            version: 2,
        };
        let r = patient(&p);
        assert_eq!(r["active"], false);
        assert_eq!(r["deceasedBoolean"], true);
        assert_eq!(r["identifier"][0]["system"], "urn:tend:facility:3:mrn");
        assert_eq!(r["birthDate"], "1940-02-03");
    }
}
