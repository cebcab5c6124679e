//! Clinical documentation written on Tend devices: care notes, vital signs,
//! behavior events (memory care), PRN medication administrations with their
//! effectiveness follow-up, and wandering alerts. Records are append-only: a
//! correction is a new record that `amends` an earlier one, never an edit, so
//! two devices can never write conflicting versions of the same record.
//! The device and the API validate with the same rules, here.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kinds::{truncate_for_message, wire_enum};
use crate::ValidationError;

/// Longest free text in a record (a care note, an antecedent…).
pub const MAX_RECORD_TEXT: usize = 4000;
/// Longest medication name of a PRN administration.
pub const MAX_MEDICATION_TEXT: usize = 200;
/// Longest dose of a PRN administration ("500 mg", "2 puffs").
pub const MAX_DOSE_TEXT: usize = 100;
/// Longest location of a wandering alert ("east exit").
pub const MAX_LOCATION_TEXT: usize = 200;

/// Length of a correction's stated reason, in characters.
pub const CORRECTION_REASON: std::ops::RangeInclusive<usize> = 3..=500;

/// How long after a PRN administration its effectiveness is due by default.
pub const DEFAULT_PRN_FOLLOW_UP_MINUTES: u16 = 60;
/// Earliest and latest the effectiveness follow-up may be due, in minutes.
pub const PRN_FOLLOW_UP_MINUTES: std::ops::RangeInclusive<u16> = 15..=240;

wire_enum! {
    /// One value of [`VitalSigns`], named as its field.
    VitalSign, field = "vital_sign" {
        TemperatureC => "temperature_c",
        PulseBpm => "pulse_bpm",
        RespirationRate => "respiration_rate",
        SystolicMmhg => "systolic_mmhg",
        DiastolicMmhg => "diastolic_mmhg",
        Spo2Percent => "spo2_percent",
        PainScore => "pain_score",
        BloodGlucoseMgDl => "blood_glucose_mg_dl",
    }
}

impl VitalSign {
    /// The field a validation error names: `body.<name>`.
    pub fn field(self) -> &'static str {
        match self {
            Self::TemperatureC => "body.temperature_c",
            Self::PulseBpm => "body.pulse_bpm",
            Self::RespirationRate => "body.respiration_rate",
            Self::SystolicMmhg => "body.systolic_mmhg",
            Self::DiastolicMmhg => "body.diastolic_mmhg",
            Self::Spo2Percent => "body.spo2_percent",
            Self::PainScore => "body.pain_score",
            Self::BloodGlucoseMgDl => "body.blood_glucose_mg_dl",
        }
    }
}

/// The plausible range of one vital sign: what validation accepts, and what
/// the UI checks as the nurse types (it gets this table through the bindings).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VitalSignRange {
    pub sign: VitalSign,
    pub low: f64,
    pub high: f64,
    /// Shown after the value; empty for the pain score.
    pub unit: &'static str,
    /// Whole numbers only (the field is an integer on the wire).
    pub whole_number: bool,
}

const fn vital(
    sign: VitalSign,
    low: f64,
    high: f64,
    unit: &'static str,
    whole_number: bool,
) -> VitalSignRange {
    VitalSignRange {
        sign,
        low,
        high,
        unit,
        whole_number,
    }
}

/// Every vital sign's plausible range, in the order of the form.
pub const VITAL_SIGN_RANGES: [VitalSignRange; 8] = [
    vital(VitalSign::TemperatureC, 30.0, 45.0, "°C", false),
    vital(VitalSign::PulseBpm, 20.0, 250.0, "bpm", true),
    vital(VitalSign::RespirationRate, 4.0, 60.0, "breaths/min", true),
    vital(VitalSign::SystolicMmhg, 50.0, 260.0, "mmHg", true),
    vital(VitalSign::DiastolicMmhg, 20.0, 160.0, "mmHg", true),
    vital(VitalSign::Spo2Percent, 50.0, 100.0, "%", true),
    vital(VitalSign::PainScore, 0.0, 10.0, "", true),
    vital(VitalSign::BloodGlucoseMgDl, 20.0, 800.0, "mg/dL", true),
];

wire_enum! {
    /// What a record is; also the `kind` tag of [`RecordBody`].
    RecordKind, field = "kind" {
        CareNote => "care_note",
        VitalSigns => "vital_signs",
        BehaviorEvent => "behavior_event",
        PrnAdministration => "prn_administration",
        PrnFollowUp => "prn_follow_up",
        WanderingAlert => "wandering_alert",
    }
}

wire_enum! {
    /// The behavior observed (memory care behavior tracking).
    BehaviorType, field = "behavior" {
        Agitation => "agitation",
        VerbalAggression => "verbal_aggression",
        PhysicalAggression => "physical_aggression",
        ExitSeeking => "exit_seeking",
        RefusingCare => "refusing_care",
        Sundowning => "sundowning",
        RepetitiveVocalization => "repetitive_vocalization",
        Other => "other",
    }
}

wire_enum! {
    /// How a behavior event ended.
    BehaviorOutcome, field = "outcome" {
        Resolved => "resolved",
        Improved => "improved",
        Unchanged => "unchanged",
        Escalated => "escalated",
    }
}

wire_enum! {
    /// How a PRN medication was given.
    MedicationRoute, field = "route" {
        Oral => "oral",
        Sublingual => "sublingual",
        Topical => "topical",
        Inhaled => "inhaled",
        Injection => "injection",
        Rectal => "rectal",
        Transdermal => "transdermal",
        Other => "other",
    }
}

wire_enum! {
    /// Whether a PRN medication did what it was given for.
    PrnEffectiveness, field = "effectiveness" {
        Effective => "effective",
        PartiallyEffective => "partially_effective",
        NotEffective => "not_effective",
    }
}

wire_enum! {
    /// What raised a wandering alert.
    WanderingAlertType, field = "alert" {
        /// An exit door's badge reader or sensor saw the resident.
        ExitDoor => "exit_door",
        /// Staff cannot find the resident.
        Missing => "missing",
        /// The resident was found (closes an earlier alert via `amends`).
        Found => "found",
    }
}

/// A care note: what happened, in the nurse's words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CareNote {
    /// 1–4000 characters.
    pub text: String,
}

/// One set of vital signs; at least one value. Units are in the field names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VitalSigns {
    /// Body temperature, 30.0–45.0 °C.
    #[serde(default)]
    pub temperature_c: Option<f64>,
    /// 20–250 beats per minute.
    #[serde(default)]
    pub pulse_bpm: Option<u16>,
    /// 4–60 breaths per minute.
    #[serde(default)]
    pub respiration_rate: Option<u16>,
    /// 50–260 mmHg; given together with `diastolic_mmhg`, and higher than it.
    #[serde(default)]
    pub systolic_mmhg: Option<u16>,
    /// 20–160 mmHg.
    #[serde(default)]
    pub diastolic_mmhg: Option<u16>,
    /// Oxygen saturation, 50–100 %.
    #[serde(default)]
    pub spo2_percent: Option<u8>,
    /// 0–10.
    #[serde(default)]
    pub pain_score: Option<u8>,
    /// 20–800 mg/dL.
    #[serde(default)]
    pub blood_glucose_mg_dl: Option<u16>,
}

impl VitalSigns {
    /// One value as a number (`None` when not taken).
    pub fn value(&self, sign: VitalSign) -> Option<f64> {
        match sign {
            VitalSign::TemperatureC => self.temperature_c,
            VitalSign::PulseBpm => self.pulse_bpm.map(f64::from),
            VitalSign::RespirationRate => self.respiration_rate.map(f64::from),
            VitalSign::SystolicMmhg => self.systolic_mmhg.map(f64::from),
            VitalSign::DiastolicMmhg => self.diastolic_mmhg.map(f64::from),
            VitalSign::Spo2Percent => self.spo2_percent.map(f64::from),
            VitalSign::PainScore => self.pain_score.map(f64::from),
            VitalSign::BloodGlucoseMgDl => self.blood_glucose_mg_dl.map(f64::from),
        }
    }
}

/// A behavior event (memory care): what happened before, what staff did, how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BehaviorEvent {
    pub behavior: BehaviorType,
    /// What happened just before (1–4000 characters).
    pub antecedent: String,
    /// What staff did (1–4000 characters).
    pub intervention: String,
    pub outcome: BehaviorOutcome,
    #[serde(default)]
    pub note: Option<String>,
}

/// A PRN ("as needed") medication given; its effectiveness is due
/// `follow_up_minutes` later as a [`PrnFollowUp`] record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrnAdministration {
    /// 1–200 characters.
    pub medication: String,
    /// "500 mg", "2 puffs": 1–100 characters.
    pub dose: String,
    pub route: MedicationRoute,
    /// Why it was given (1–4000 characters).
    pub reason: String,
    /// 15–240 minutes (default 60).
    #[serde(default = "default_follow_up_minutes")]
    pub follow_up_minutes: u16,
}

fn default_follow_up_minutes() -> u16 {
    DEFAULT_PRN_FOLLOW_UP_MINUTES
}

impl PrnAdministration {
    /// When the effectiveness follow-up is due for a dose given at `given_at`.
    pub fn follow_up_due(&self, given_at: DateTime<Utc>) -> DateTime<Utc> {
        given_at + Duration::minutes(i64::from(self.follow_up_minutes))
    }
}

/// The effectiveness follow-up of a PRN administration (the record's `amends`
/// is the administration's id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrnFollowUp {
    pub effectiveness: PrnEffectiveness,
    #[serde(default)]
    pub note: Option<String>,
}

/// A wandering alert: an exit door, a missing resident, or found again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WanderingAlert {
    pub alert: WanderingAlertType,
    /// Where (1–200 characters): "east exit", "garden".
    pub location: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// What a record says; `kind` tags it on the wire (`{"kind":"care_note","text":…}`).
/// Its OpenAPI schema is written by hand (below) so that generated clients
/// can follow the tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum RecordBody {
    CareNote(CareNote),
    VitalSigns(VitalSigns),
    BehaviorEvent(BehaviorEvent),
    PrnAdministration(PrnAdministration),
    PrnFollowUp(PrnFollowUp),
    WanderingAlert(WanderingAlert),
}

/// The OpenAPI schema of [`RecordBody`]: a `oneOf` of one named schema per
/// kind, each the variant's fields plus the required `kind` tag, with a
/// `discriminator` on `kind` mapping every tag to its schema. utoipa's derive
/// would inline each variant as `allOf` of the variant and an anonymous tag
/// object, which generated clients cannot follow (and its discriminator
/// support is for untagged enums only); the JSON on the wire is the same.
#[cfg(feature = "openapi")]
mod record_body_schema {
    use std::borrow::Cow;

    use utoipa::openapi::schema::{Discriminator, ObjectBuilder, OneOfBuilder, Schema, Type};
    use utoipa::openapi::{Ref, RefOr};
    use utoipa::{PartialSchema, ToSchema};

    use super::*;

    /// Each kind: its tag, its schema's name, the variant's own schema, and
    /// the schemas that one refers to.
    type Variant = (
        RecordKind,
        &'static str,
        fn() -> RefOr<Schema>,
        fn(&mut Vec<(String, RefOr<Schema>)>),
    );

    fn variants() -> [Variant; 6] {
        [
            (
                RecordKind::CareNote,
                "CareNoteBody",
                CareNote::schema,
                CareNote::schemas,
            ),
            (
                RecordKind::VitalSigns,
                "VitalSignsBody",
                VitalSigns::schema,
                VitalSigns::schemas,
            ),
            (
                RecordKind::BehaviorEvent,
                "BehaviorEventBody",
                BehaviorEvent::schema,
                BehaviorEvent::schemas,
            ),
            (
                RecordKind::PrnAdministration,
                "PrnAdministrationBody",
                PrnAdministration::schema,
                PrnAdministration::schemas,
            ),
            (
                RecordKind::PrnFollowUp,
                "PrnFollowUpBody",
                PrnFollowUp::schema,
                PrnFollowUp::schemas,
            ),
            (
                RecordKind::WanderingAlert,
                "WanderingAlertBody",
                WanderingAlert::schema,
                WanderingAlert::schemas,
            ),
        ]
    }

    /// The variant's object with `kind` (this one tag only) added and required.
    fn tagged(kind: RecordKind, schema: RefOr<Schema>) -> RefOr<Schema> {
        let tag = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([kind.as_str()]))
            .description(Some("The record's kind (the tag)."));
        match schema {
            RefOr::T(Schema::Object(mut object)) => {
                let fields = std::mem::take(&mut object.properties);
                object
                    .properties
                    .insert("kind".to_owned(), tag.build().into());
                object.properties.extend(fields);
                object.required.insert(0, "kind".to_owned());
                RefOr::T(Schema::Object(object))
            }
            // Every variant is a plain struct, so this is not reached; the
            // API's OpenAPI test checks each one.
            other => other,
        }
    }

    impl PartialSchema for RecordBody {
        fn schema() -> RefOr<Schema> {
            let mut one_of = OneOfBuilder::new();
            let mut mapping = Vec::new();
            for (kind, name, _, _) in variants() {
                one_of = one_of.item(Ref::from_schema_name(name));
                mapping.push((kind.as_str(), format!("#/components/schemas/{name}")));
            }
            one_of
                .description(Some(
                    "What a record says, tagged by `kind` (one schema per kind).",
                ))
                .discriminator(Some(Discriminator::with_mapping("kind", mapping)))
                .into()
        }
    }

    impl ToSchema for RecordBody {
        fn name() -> Cow<'static, str> {
            Cow::Borrowed("RecordBody")
        }

        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            for (kind, name, schema, dependencies) in variants() {
                schemas.push((name.to_owned(), tagged(kind, schema())));
                dependencies(schemas);
            }
        }
    }
}

impl RecordBody {
    pub fn kind(&self) -> RecordKind {
        match self {
            Self::CareNote(_) => RecordKind::CareNote,
            Self::VitalSigns(_) => RecordKind::VitalSigns,
            Self::BehaviorEvent(_) => RecordKind::BehaviorEvent,
            Self::PrnAdministration(_) => RecordKind::PrnAdministration,
            Self::PrnFollowUp(_) => RecordKind::PrnFollowUp,
            Self::WanderingAlert(_) => RecordKind::WanderingAlert,
        }
    }

    /// The facility feature a record of this kind needs, if any (the seed's
    /// facility-specific features).
    pub fn required_feature(&self) -> Option<&'static str> {
        match self {
            Self::BehaviorEvent(_) => Some("behavior_tracking"),
            Self::WanderingAlert(_) => Some("wandering_alerts"),
            _ => None,
        }
    }

    /// Checks every value; the errors name fields as `body.<field>`.
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut errors = Vec::new();
        match self {
            Self::CareNote(n) => text(&mut errors, "body.text", &n.text, MAX_RECORD_TEXT),
            Self::VitalSigns(v) => validate_vitals(&mut errors, v),
            Self::BehaviorEvent(b) => {
                text(
                    &mut errors,
                    "body.antecedent",
                    &b.antecedent,
                    MAX_RECORD_TEXT,
                );
                text(
                    &mut errors,
                    "body.intervention",
                    &b.intervention,
                    MAX_RECORD_TEXT,
                );
                optional_text(&mut errors, "body.note", b.note.as_deref());
            }
            Self::PrnAdministration(p) => {
                text(
                    &mut errors,
                    "body.medication",
                    &p.medication,
                    MAX_MEDICATION_TEXT,
                );
                text(&mut errors, "body.dose", &p.dose, MAX_DOSE_TEXT);
                text(&mut errors, "body.reason", &p.reason, MAX_RECORD_TEXT);
                if !PRN_FOLLOW_UP_MINUTES.contains(&p.follow_up_minutes) {
                    errors.push(ValidationError::new(
                        "body.follow_up_minutes",
                        format!(
                            "the effectiveness follow-up is due {} to {} minutes after the dose",
                            PRN_FOLLOW_UP_MINUTES.start(),
                            PRN_FOLLOW_UP_MINUTES.end()
                        ),
                    ));
                }
            }
            Self::PrnFollowUp(f) => optional_text(&mut errors, "body.note", f.note.as_deref()),
            Self::WanderingAlert(w) => {
                text(&mut errors, "body.location", &w.location, MAX_LOCATION_TEXT);
                optional_text(&mut errors, "body.note", w.note.as_deref());
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn text(errors: &mut Vec<ValidationError>, field: &'static str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.push(ValidationError::new(field, "required"));
    } else if value.chars().count() > max {
        errors.push(ValidationError::new(
            field,
            format!("at most {max} characters"),
        ));
    }
}

fn optional_text(errors: &mut Vec<ValidationError>, field: &'static str, value: Option<&str>) {
    if let Some(value) = value {
        text(errors, field, value, MAX_RECORD_TEXT);
    }
}

fn validate_vitals(errors: &mut Vec<ValidationError>, v: &VitalSigns) {
    if *v == VitalSigns::default() {
        errors.push(ValidationError::new(
            "body",
            "enter at least one vital sign",
        ));
        return;
    }
    if let Some(t) = v.temperature_c {
        if !t.is_finite() {
            errors.push(ValidationError::new("body.temperature_c", "not a number"));
        }
    }
    for range in &VITAL_SIGN_RANGES {
        let Some(value) = v.value(range.sign) else {
            continue;
        };
        if !(value >= range.low && value <= range.high) {
            let (low, high, unit) = (range.low, range.high, range.unit);
            errors.push(ValidationError::new(
                range.sign.field(),
                format!("{value} {unit} is not plausible; expected {low}–{high} {unit}"),
            ));
        }
    }
    match (v.systolic_mmhg, v.diastolic_mmhg) {
        (Some(s), Some(d)) if s <= d => errors.push(ValidationError::new(
            "body.diastolic_mmhg",
            "the diastolic pressure must be lower than the systolic",
        )),
        (Some(_), None) => errors.push(ValidationError::new(
            "body.diastolic_mmhg",
            "blood pressure needs both numbers",
        )),
        (None, Some(_)) => errors.push(ValidationError::new(
            "body.systolic_mmhg",
            "blood pressure needs both numbers",
        )),
        _ => {}
    }
}

/// A record as a device writes it. Its id is the sync operation's id (a
/// UUIDv7 made on the device), see [`crate::wire::SyncOperation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordDraft {
    pub patient_id: i64,
    /// The signed-in user who wrote it.
    pub author_user_id: i64,
    /// When it was written, by the device's clock (the server corrects for
    /// the device's clock offset, see [`ClinicalRecord::occurred_at`]).
    pub recorded_at: DateTime<Utc>,
    /// The record this one corrects or follows up (a PRN follow-up amends its
    /// administration).
    #[serde(default)]
    pub amends: Option<Uuid>,
    /// Why this record corrects the one it `amends` (a correction is a record
    /// of the same kind with the right values; the original stays as it was).
    #[serde(default)]
    pub correction_reason: Option<String>,
    pub body: RecordBody,
}

impl RecordDraft {
    /// Checks the draft on its own (the API also checks the patient, the
    /// author, the facility's features and the amended record).
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut errors = self.body.validate().err().unwrap_or_default();
        if matches!(self.body, RecordBody::PrnFollowUp(_)) && self.amends.is_none() {
            errors.push(ValidationError::new(
                "amends",
                "a PRN follow-up names the administration it follows up",
            ));
        }
        if let Some(reason) = &self.correction_reason {
            if let Err(e) = check_correction_reason(reason) {
                errors.push(e);
            }
            if self.amends.is_none() {
                errors.push(ValidationError::new(
                    "amends",
                    "a correction names the record it corrects",
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A correction's reason as typed: trimmed, 3–500 characters, one line.
pub fn check_correction_reason(reason: &str) -> Result<String, ValidationError> {
    let trimmed = reason.trim();
    let chars = trimmed.chars().count();
    if !CORRECTION_REASON.contains(&chars) {
        return Err(ValidationError::new(
            "correction_reason",
            format!(
                "say why in {} to {} characters",
                CORRECTION_REASON.start(),
                CORRECTION_REASON.end()
            ),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "correction_reason",
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Whether a record of kind `correction` may correct one of kind `original`:
/// only with the same kind (a vital sign by a vital sign).
pub fn check_corrects(original: RecordKind, correction: RecordKind) -> Result<(), ValidationError> {
    if original == correction {
        Ok(())
    } else {
        Err(ValidationError::new(
            "body.kind",
            format!(
                "a correction of a {} is a {} too",
                original.as_str(),
                original.as_str()
            ),
        ))
    }
}

/// A record as stored by the API and delivered to the devices of its facility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClinicalRecord {
    pub id: Uuid,
    pub organization_id: i64,
    pub facility_id: i64,
    pub patient_id: i64,
    pub author_user_id: i64,
    /// The device that wrote it (null for records entered through the API).
    pub device_id: Option<i64>,
    /// The writing device's own clock.
    pub recorded_at: DateTime<Utc>,
    /// When it happened on the server's clock: `recorded_at` corrected by the
    /// device's clock offset measured at upload. Timelines sort by this.
    pub occurred_at: DateTime<Utc>,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
    pub amends: Option<Uuid>,
    /// Set when this record corrects the one it `amends`: why.
    #[serde(default)]
    pub correction_reason: Option<String>,
    pub body: RecordBody,
}

/// Checks that `id` is a UUIDv7 (time-ordered, made on the device).
pub fn check_record_id(id: &Uuid) -> Result<(), ValidationError> {
    if id.get_version_num() == 7 {
        Ok(())
    } else {
        Err(ValidationError::new(
            "id",
            "must be a UUIDv7 made on the device",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(r: Result<(), Vec<ValidationError>>) -> Vec<&'static str> {
        r.err()
            .unwrap_or_default()
            .iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn bodies_are_tagged_by_kind_and_reject_unknown_fields() {
        let body: RecordBody =
            serde_json::from_str(r#"{"kind":"care_note","text":"Ate well"}"#).unwrap();
        assert_eq!(body.kind(), RecordKind::CareNote);
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"kind": "care_note", "text": "Ate well"})
        );
        let err =
            serde_json::from_str::<RecordBody>(r#"{"kind":"care_note","text":"x","mood":"ok"}"#)
                .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let prn: RecordBody = serde_json::from_str(
            r#"{"kind":"prn_administration","medication":"Acetaminophen","dose":"500 mg","route":"oral","reason":"pain"}"#,
        )
        .unwrap();
        let RecordBody::PrnAdministration(prn) = prn else {
            panic!()
        };
        assert_eq!(prn.follow_up_minutes, 60);
    }

    #[test]
    fn vital_signs_need_plausible_values_and_both_pressures() {
        assert_eq!(
            fields(RecordBody::VitalSigns(VitalSigns::default()).validate()),
            ["body"]
        );
        let ok = VitalSigns {
            temperature_c: Some(37.2),
            pulse_bpm: Some(72),
            systolic_mmhg: Some(128),
            diastolic_mmhg: Some(82),
            spo2_percent: Some(97),
            ..Default::default()
        };
        assert!(RecordBody::VitalSigns(ok.clone()).validate().is_ok());
        let bad = VitalSigns {
            temperature_c: Some(98.6), // Fahrenheit typed into Celsius
            pulse_bpm: Some(300),
            systolic_mmhg: Some(80),
            diastolic_mmhg: Some(90),
            ..ok
        };
        assert_eq!(
            fields(RecordBody::VitalSigns(bad).validate()),
            [
                "body.temperature_c",
                "body.pulse_bpm",
                "body.diastolic_mmhg"
            ]
        );
        let half = VitalSigns {
            systolic_mmhg: Some(120),
            ..Default::default()
        };
        assert_eq!(
            fields(RecordBody::VitalSigns(half).validate()),
            ["body.diastolic_mmhg"]
        );
    }

    #[test]
    fn text_is_required_and_bounded_and_follow_ups_name_their_dose() {
        let blank = RecordBody::CareNote(CareNote { text: "  ".into() });
        assert_eq!(fields(blank.validate()), ["body.text"]);
        let long = RecordBody::CareNote(CareNote {
            text: "a".repeat(MAX_RECORD_TEXT + 1),
        });
        assert_eq!(fields(long.validate()), ["body.text"]);
        let draft = RecordDraft {
            patient_id: 1,
            author_user_id: 2,
            recorded_at: Utc::now(),
            amends: None,
            correction_reason: None,
            body: RecordBody::PrnFollowUp(PrnFollowUp {
                effectiveness: PrnEffectiveness::Effective,
                note: None,
            }),
        };
        assert_eq!(fields(draft.validate()), ["amends"]);
    }

    #[test]
    fn record_ids_must_be_uuid_v7_and_features_gate_kinds() {
        assert!(check_record_id(&Uuid::now_v7()).is_ok());
        assert_eq!(check_record_id(&Uuid::new_v4()).unwrap_err().field, "id");
        let alert = RecordBody::WanderingAlert(WanderingAlert {
            alert: WanderingAlertType::ExitDoor,
            location: "east exit".into(),
            note: None,
        });
        assert_eq!(alert.required_feature(), Some("wandering_alerts"));
        assert_eq!(
            RecordBody::CareNote(CareNote { text: "x".into() }).required_feature(),
            None
        );
    }

    #[test]
    fn a_correction_says_why_names_what_it_corrects_and_keeps_the_kind() {
        let mut draft = RecordDraft {
            patient_id: 1,
            author_user_id: 2,
            recorded_at: Utc::now(),
            amends: None,
            correction_reason: Some("  Wrong pulse  ".into()),
            body: RecordBody::CareNote(CareNote { text: "x".into() }),
        };
        assert_eq!(fields(draft.validate()), ["amends"]);
        draft.amends = Some(Uuid::now_v7());
        assert!(draft.validate().is_ok());
        draft.correction_reason = Some("no".into());
        assert_eq!(fields(draft.validate()), ["correction_reason"]);
        assert_eq!(
            check_correction_reason("  Wrong pulse ").unwrap(),
            "Wrong pulse"
        );
        assert!(check_correction_reason("line\nbreak").is_err());
        assert!(check_correction_reason(&"x".repeat(501)).is_err());
        assert!(check_corrects(RecordKind::VitalSigns, RecordKind::VitalSigns).is_ok());
        assert_eq!(
            check_corrects(RecordKind::VitalSigns, RecordKind::CareNote)
                .unwrap_err()
                .field,
            "body.kind"
        );
    }
}
