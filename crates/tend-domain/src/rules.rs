//! The rules the UI checks while people type — plausible vital signs, the PRN
//! follow-up window, text limits, PIN and password rules, the visitor code's
//! length, which roles an administrator may assign — gathered from the
//! constants the domain enforces. The app exports [`DomainRules::current`]
//! into the generated TypeScript bindings (`DOMAIN_RULES`), so the UI keeps no
//! copy of its own and the bindings' drift check covers every value.

use serde::Serialize;

use crate::badge_login::{MAX_FAILED_PIN_ATTEMPTS, PIN_LOCKOUT_MINUTES};
use crate::break_glass;
use crate::credentials::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, PIN_MAX_DIGITS, PIN_MIN_DIGITS};
use crate::records::{
    VitalSignRange, CORRECTION_REASON, DEFAULT_PRN_FOLLOW_UP_MINUTES, MAX_DOSE_TEXT,
    MAX_LOCATION_TEXT, MAX_MEDICATION_TEXT, MAX_RECORD_TEXT, PRN_FOLLOW_UP_MINUTES,
    VITAL_SIGN_RANGES,
};
use crate::wire::{FAMILY_TEXT_MAX, VISITOR_CODE_DIGITS};
use crate::Role;

/// Everything the UI needs to check a form the way Rust will.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DomainRules {
    /// Plausible vital signs, in the order of the form.
    pub vital_signs: Vec<VitalSignRange>,
    pub prn_follow_up: PrnFollowUpRule,
    pub text_limits: TextLimits,
    pub pin: PinRules,
    pub password: PasswordRules,
    /// Digits of a visitor code typed on the family kiosk.
    pub visitor_code_digits: u32,
    /// For each role, the roles its holder may give (empty for clinical roles).
    pub assignable_roles: Vec<RoleGrant>,
    pub break_glass: BreakGlassRules,
    /// Roles that may import an organization's CSV files (the console's Import).
    pub importing_roles: Vec<Role>,
    /// Roles that admit, edit and discharge residents.
    pub resident_managing_roles: Vec<Role>,
    /// The ranges and defaults of a facility's policy (the console's Policy).
    pub facility_policy: crate::policy::PolicyRanges,
}

/// Break-glass access: the stated reason and the facility's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BreakGlassRules {
    /// A stated reason's length, in characters.
    pub reason_min: u32,
    pub reason_max: u32,
    /// A facility's window, in minutes.
    pub min_minutes: u32,
    pub max_minutes: u32,
    pub default_minutes: u32,
    /// A review note's length, in characters.
    pub review_note_max: u32,
}

/// When a PRN dose's effectiveness follow-up may be due, in minutes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PrnFollowUpRule {
    pub min_minutes: u32,
    pub max_minutes: u32,
    pub default_minutes: u32,
}

/// Longest texts, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TextLimits {
    /// A care note, an antecedent, an intervention, a reason, a note.
    pub record_text: u32,
    pub medication: u32,
    pub dose: u32,
    /// A wandering alert's location.
    pub location: u32,
    /// A family member's message to the care team.
    pub family_message: u32,
    /// Shortest and longest reason for correcting a record.
    pub correction_reason_min: u32,
    pub correction_reason_max: u32,
}

/// What a PIN looks like and what wrong ones cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PinRules {
    pub min_digits: u32,
    pub max_digits: u32,
    /// Wrong PINs in a row that lock the badge.
    pub max_failed_attempts: u32,
    /// How long the badge stays locked then.
    pub lockout_minutes: u32,
}

/// A password's length, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PasswordRules {
    pub min_length: u32,
    pub max_length: u32,
}

/// The roles a holder of `role` may assign to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RoleGrant {
    pub role: Role,
    pub assigns: Vec<Role>,
}

/// The constants are small; a failed conversion is a bug caught by the tests.
fn small(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl DomainRules {
    /// The rules as the domain enforces them now.
    pub fn current() -> Self {
        Self {
            vital_signs: VITAL_SIGN_RANGES.to_vec(),
            prn_follow_up: PrnFollowUpRule {
                min_minutes: u32::from(*PRN_FOLLOW_UP_MINUTES.start()),
                max_minutes: u32::from(*PRN_FOLLOW_UP_MINUTES.end()),
                default_minutes: u32::from(DEFAULT_PRN_FOLLOW_UP_MINUTES),
            },
            text_limits: TextLimits {
                record_text: small(MAX_RECORD_TEXT),
                medication: small(MAX_MEDICATION_TEXT),
                dose: small(MAX_DOSE_TEXT),
                location: small(MAX_LOCATION_TEXT),
                family_message: small(FAMILY_TEXT_MAX),
                correction_reason_min: small(*CORRECTION_REASON.start()),
                correction_reason_max: small(*CORRECTION_REASON.end()),
            },
            pin: PinRules {
                min_digits: small(PIN_MIN_DIGITS),
                max_digits: small(PIN_MAX_DIGITS),
                max_failed_attempts: MAX_FAILED_PIN_ATTEMPTS,
                lockout_minutes: u32::try_from(PIN_LOCKOUT_MINUTES).unwrap_or(u32::MAX),
            },
            password: PasswordRules {
                min_length: small(MIN_PASSWORD_LEN),
                max_length: small(MAX_PASSWORD_LEN),
            },
            visitor_code_digits: small(VISITOR_CODE_DIGITS),
            assignable_roles: Role::ALL
                .iter()
                .map(|&role| RoleGrant {
                    role,
                    assigns: Role::ALL
                        .iter()
                        .copied()
                        .filter(|&target| role.may_assign(target))
                        .collect(),
                })
                .collect(),
            break_glass: BreakGlassRules {
                reason_min: small(*break_glass::REASON_CHARS.start()),
                reason_max: small(*break_glass::REASON_CHARS.end()),
                min_minutes: u32::from(*break_glass::WINDOW_MINUTES.start()),
                max_minutes: u32::from(*break_glass::WINDOW_MINUTES.end()),
                default_minutes: u32::from(break_glass::DEFAULT_WINDOW_MINUTES),
                review_note_max: small(break_glass::REVIEW_NOTE_MAX),
            },
            importing_roles: Role::ALL
                .iter()
                .copied()
                .filter(|r| r.may_import())
                .collect(),
            resident_managing_roles: Role::ALL
                .iter()
                .copied()
                .filter(|r| r.may_manage_residents())
                .collect(),
            facility_policy: crate::policy::POLICY_RANGES,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The values handed to the UI are checked against the validators
    //! themselves, not against the constants: if a validator stops using its
    //! constant, these fail.
    use super::*;
    use crate::credentials::{check_password, Pin};
    use crate::records::{
        CareNote, MedicationRoute, PrnAdministration, RecordBody, VitalSign, VitalSigns,
        WanderingAlert, WanderingAlertType,
    };

    fn vitals(values: serde_json::Value) -> Result<VitalSigns, serde_json::Error> {
        serde_json::from_value(values)
    }

    /// A set with `sign` at `value`, and its blood-pressure partner when it needs one.
    fn with(sign: VitalSign, value: f64) -> serde_json::Value {
        let mut set = serde_json::Map::new();
        let number = if value.fract() == 0.0 {
            serde_json::json!(value as i64)
        } else {
            serde_json::json!(value)
        };
        set.insert(sign.as_str().to_owned(), number);
        match sign {
            VitalSign::SystolicMmhg => {
                set.insert("diastolic_mmhg".into(), serde_json::json!(20));
            }
            VitalSign::DiastolicMmhg => {
                set.insert("systolic_mmhg".into(), serde_json::json!(260));
            }
            _ => {}
        }
        serde_json::Value::Object(set)
    }

    fn fields(body: RecordBody) -> Vec<&'static str> {
        body.validate()
            .err()
            .unwrap_or_default()
            .iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn exported_vital_ranges_are_the_ones_validation_applies() {
        let rules = DomainRules::current();
        assert_eq!(
            rules.vital_signs.iter().map(|r| r.sign).collect::<Vec<_>>(),
            VitalSign::ALL,
            "one range per vital sign, in form order"
        );
        let mut names: Vec<String> = serde_json::to_value(VitalSigns::default())
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        names.sort();
        let mut signs: Vec<String> = VitalSign::ALL.iter().map(|s| s.to_string()).collect();
        signs.sort();
        assert_eq!(names, signs, "every field of VitalSigns has a range");
        for range in &rules.vital_signs {
            let step = if range.whole_number { 1.0 } else { 0.1 };
            for ok in [range.low, range.high] {
                let set = vitals(with(range.sign, ok)).unwrap();
                assert!(
                    RecordBody::VitalSigns(set).validate().is_ok(),
                    "{} {ok}",
                    range.sign
                );
            }
            for bad in [range.low - step, range.high + step] {
                if bad < 0.0 {
                    continue; // an unsigned field cannot even hold it
                }
                let set = vitals(with(range.sign, bad)).unwrap();
                assert!(
                    fields(RecordBody::VitalSigns(set)).contains(&range.sign.field()),
                    "{} {bad}",
                    range.sign
                );
            }
            // Whole numbers are what the wire type takes.
            let fraction = vitals(with(range.sign, range.low + 0.5));
            assert_eq!(fraction.is_err(), range.whole_number, "{}", range.sign);
        }
    }

    #[test]
    fn exported_follow_up_window_and_text_limits_are_enforced() {
        let rules = DomainRules::current();
        let prn = |minutes: u32, medication: usize, dose: usize| {
            RecordBody::PrnAdministration(PrnAdministration {
                medication: "m".repeat(medication),
                dose: "d".repeat(dose),
                route: MedicationRoute::Oral,
                reason: "pain".into(),
                follow_up_minutes: u16::try_from(minutes).unwrap(),
            })
        };
        let limits = rules.text_limits;
        let (medication, dose) = (limits.medication as usize, limits.dose as usize);
        let window = rules.prn_follow_up;
        for ok in [
            window.min_minutes,
            window.max_minutes,
            window.default_minutes,
        ] {
            assert!(prn(ok, medication, dose).validate().is_ok(), "{ok}");
        }
        for bad in [window.min_minutes - 1, window.max_minutes + 1] {
            assert_eq!(fields(prn(bad, 1, 1)), ["body.follow_up_minutes"], "{bad}");
        }
        let typed: PrnAdministration = serde_json::from_value(serde_json::json!({
            "medication": "Acetaminophen", "dose": "500 mg", "route": "oral", "reason": "pain"
        }))
        .unwrap();
        assert_eq!(u32::from(typed.follow_up_minutes), window.default_minutes);
        assert_eq!(
            fields(prn(window.default_minutes, medication + 1, dose + 1)),
            ["body.medication", "body.dose"]
        );
        let note = |n: usize| {
            RecordBody::CareNote(CareNote {
                text: "a".repeat(n),
            })
        };
        assert!(note(limits.record_text as usize).validate().is_ok());
        assert_eq!(fields(note(limits.record_text as usize + 1)), ["body.text"]);
        let alert = |n: usize| {
            RecordBody::WanderingAlert(WanderingAlert {
                alert: WanderingAlertType::Missing,
                location: "x".repeat(n),
                note: None,
            })
        };
        assert!(alert(limits.location as usize).validate().is_ok());
        assert_eq!(
            fields(alert(limits.location as usize + 1)),
            ["body.location"]
        );
        assert_eq!(limits.family_message as usize, FAMILY_TEXT_MAX);
    }

    #[test]
    fn exported_pin_and_password_rules_are_the_checks() {
        let rules = DomainRules::current();
        let digits = |n: u32| "4".repeat(n as usize);
        assert!(Pin::parse(&digits(rules.pin.min_digits)).is_ok());
        assert!(Pin::parse(&digits(rules.pin.max_digits)).is_ok());
        assert!(Pin::parse(&digits(rules.pin.min_digits - 1)).is_err());
        assert!(Pin::parse(&digits(rules.pin.max_digits + 1)).is_err());
        assert_eq!(rules.pin.max_failed_attempts, MAX_FAILED_PIN_ATTEMPTS);
        assert_eq!(
            i64::from(rules.pin.lockout_minutes),
            crate::badge_login::PIN_LOCKOUT.num_minutes()
        );
        let chars = |n: u32| "p".repeat(n as usize);
        assert!(check_password(&chars(rules.password.min_length)).is_ok());
        assert!(check_password(&chars(rules.password.max_length)).is_ok());
        assert!(check_password(&chars(rules.password.min_length - 1)).is_err());
        assert!(check_password(&chars(rules.password.max_length + 1)).is_err());
        assert_eq!(rules.visitor_code_digits, 8);
    }

    #[test]
    fn exported_role_grants_follow_may_assign() {
        let rules = DomainRules::current();
        assert_eq!(rules.assignable_roles.len(), Role::ALL.len());
        for grant in &rules.assignable_roles {
            for &target in Role::ALL {
                assert_eq!(
                    grant.assigns.contains(&target),
                    grant.role.may_assign(target),
                    "{} → {target}",
                    grant.role
                );
            }
        }
        let count = |role: Role| {
            rules
                .assignable_roles
                .iter()
                .find(|g| g.role == role)
                .map(|g| g.assigns.len())
        };
        assert_eq!(count(Role::PlatformAdmin), Some(9));
        assert_eq!(count(Role::OrgAdmin), Some(8));
        assert_eq!(count(Role::FacilityAdmin), Some(7));
        assert_eq!(count(Role::Rn), Some(0));
    }

    #[test]
    fn rules_serialize_with_wire_names() {
        let json = serde_json::to_value(DomainRules::current()).unwrap();
        assert_eq!(
            json["vital_signs"][0],
            serde_json::json!({"sign": "temperature_c", "low": 30.0, "high": 45.0, "unit": "°C", "whole_number": false})
        );
        assert_eq!(
            json["assignable_roles"][6]["role"],
            serde_json::json!("FACILITY_ADMIN")
        );
        assert_eq!(json["pin"]["max_digits"], serde_json::json!(8));
    }
}
