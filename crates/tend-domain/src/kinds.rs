//! The seed's closed vocabularies: organization, facility and device types,
//! device and patient status, and staff roles. Each serializes with the seed's
//! exact name and parses back from it (the API stores them as text).

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Declares a closed enum with its wire names, `as_str`, `parse` and `ALL`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, field = $field:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses a wire name exactly (case-sensitive, as the seed spells it).
            pub fn parse(value: &str) -> Result<Self, ValidationError> {
                match value {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(ValidationError::new(
                        $field,
                        format!(
                            "unknown value {:?}; expected one of: {}",
                            truncate_for_message(value),
                            [$($wire),+].join(", ")
                        ),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

pub(crate) use wire_enum;

/// Keeps error messages bounded when echoing hostile input.
pub(crate) fn truncate_for_message(value: &str) -> String {
    value.chars().take(40).collect()
}

wire_enum! {
    /// The kinds of care organization the seed names.
    OrganizationType, field = "organization_type" {
        /// Visiting nurse services with scattered patient locations.
        HomeHealthAgency => "HOME_HEALTH_AGENCY",
        /// Operator of assisted living facilities.
        AlfOperator => "ALF_OPERATOR",
        /// Memory care facility group.
        MemoryCareGroup => "MEMORY_CARE_GROUP",
        /// Skilled nursing facility chain.
        SnfChain => "SNF_CHAIN",
        /// Multi-site healthcare system.
        MultiSiteSystem => "MULTI_SITE_SYSTEM",
    }
}

wire_enum! {
    /// Care setting of one facility (the seed's `facility_type`).
    FacilityType, field = "facility_type" {
        HomeHealth => "HOME_HEALTH",
        Alf => "ALF",
        MemoryCare => "MEMORY_CARE",
        Snf => "SNF",
        Hospice => "HOSPICE",
    }
}

wire_enum! {
    /// Hardware class of an agency-owned device (the seed's `device_type`).
    DeviceType, field = "device_type" {
        RaspberryPi => "RASPBERRY_PI",
        Tablet => "TABLET",
        Laptop => "LAPTOP",
        Workstation => "WORKSTATION",
        BadgeReader => "BADGE_READER",
    }
}

wire_enum! {
    /// Enrollment lifecycle of a device.
    DeviceStatus, field = "status" {
        /// Registered without a code; waiting for an administrator.
        Pending => "PENDING",
        /// Enrolled and allowed to authenticate.
        Active => "ACTIVE",
        /// An administrator refused it.
        Rejected => "REJECTED",
        /// Deactivated; must enroll again.
        Deactivated => "DEACTIVATED",
    }
}

wire_enum! {
    /// Where a patient is in their stay.
    PatientStatus, field = "status" {
        Active => "active",
        OnLeave => "on_leave",
        Discharged => "discharged",
        Deceased => "deceased",
    }
}

wire_enum! {
    /// A resident's code status: what to do if their heart or breathing stops
    /// (unset until the admission paperwork says).
    CodeStatus, field = "code_status" {
        /// Full resuscitation.
        FullCode => "full_code",
        /// Do not resuscitate.
        Dnr => "dnr",
        /// Do not resuscitate, do not intubate.
        DnrDni => "dnr_dni",
        /// Comfort measures only (hospice).
        ComfortOnly => "comfort_only",
    }
}

wire_enum! {
    /// A resident's fall risk from the facility's assessment (e.g. the Morse
    /// Fall Scale's low / moderate / high bands).
    FallRisk, field = "fall_risk" {
        Low => "low",
        Moderate => "moderate",
        High => "high",
    }
}

wire_enum! {
    /// A user's role. Clinical roles work inside their facility; the admin roles
    /// widen the scope to the facility, the organization or the platform.
    Role, field = "role" {
        /// Registered nurse.
        Rn => "RN",
        /// Licensed practical nurse.
        Lpn => "LPN",
        /// Certified nursing assistant.
        Cna => "CNA",
        /// Medication aide / technician.
        MedTech => "MED_TECH",
        /// Therapist (PT/OT/speech).
        Therapist => "THERAPIST",
        /// Social worker or case manager.
        SocialWorker => "SOCIAL_WORKER",
        /// Manages one facility's census, devices and users.
        FacilityAdmin => "FACILITY_ADMIN",
        /// Acts on every facility of its organization (audited outside its own).
        OrgAdmin => "ORG_ADMIN",
        /// Creates organizations; every access inside one is audited.
        PlatformAdmin => "PLATFORM_ADMIN",
    }
}

wire_enum! {
    /// A language the staff screens are shown in: chosen per device (its
    /// display setting) and per user (their own preference, which wins
    /// while they are signed in). English unless someone chose otherwise.
    Language, field = "language" {
        /// English.
        En => "en",
        /// Spanish.
        Es => "es",
    }
}

impl Default for Language {
    /// English: what a device shows before anyone chose.
    fn default() -> Self {
        Language::En
    }
}

impl Role {
    /// Roles that document care and see patients of their own facility only.
    pub fn is_clinical(self) -> bool {
        matches!(
            self,
            Role::Rn | Role::Lpn | Role::Cna | Role::MedTech | Role::Therapist | Role::SocialWorker
        )
    }

    /// Roles that may admit, edit and discharge residents: the nurses who do
    /// admissions, and the administrators. Moving a resident to another
    /// facility also needs the organization in scope (an organization admin).
    pub fn may_manage_residents(self) -> bool {
        matches!(self, Role::Rn | Role::Lpn) || self.is_admin()
    }

    /// Roles allowed to manage facility resources (census, devices, users).
    pub fn is_admin(self) -> bool {
        matches!(
            self,
            Role::FacilityAdmin | Role::OrgAdmin | Role::PlatformAdmin
        )
    }

    /// Whether a user holding this role may import an organization's
    /// facilities, staff and residents from CSV files: the import spans the
    /// organization, so it is theirs who manage the whole organization.
    pub fn may_import(self) -> bool {
        matches!(self, Role::OrgAdmin | Role::PlatformAdmin)
    }

    /// Whether a user holding this role may create or change a user holding
    /// `target`: nobody grants a role above their own, and a facility
    /// administrator manages facility staff and other facility administrators.
    pub fn may_assign(self, target: Role) -> bool {
        match self {
            Role::PlatformAdmin => true,
            Role::OrgAdmin => target != Role::PlatformAdmin,
            Role::FacilityAdmin => !matches!(target, Role::OrgAdmin | Role::PlatformAdmin),
            _ => false,
        }
    }
}

impl FacilityType {
    /// Whether this care setting normally has licensed beds (home health does not).
    pub fn has_beds(self) -> bool {
        !matches!(self, FacilityType::HomeHealth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seed_names_round_trip_through_json() {
        for t in FacilityType::ALL {
            let json = serde_json::to_string(t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<FacilityType>(&json).unwrap(), *t);
        }
        assert_eq!(
            FacilityType::ALL
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>(),
            ["HOME_HEALTH", "ALF", "MEMORY_CARE", "SNF", "HOSPICE"]
        );
        assert_eq!(
            DeviceType::ALL
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>(),
            [
                "RASPBERRY_PI",
                "TABLET",
                "LAPTOP",
                "WORKSTATION",
                "BADGE_READER"
            ]
        );
        assert_eq!(Role::parse("RN").unwrap(), Role::Rn);
        assert_eq!(
            PatientStatus::parse("on_leave").unwrap(),
            PatientStatus::OnLeave
        );
    }

    #[test]
    fn parse_rejects_wrong_case_and_names_the_field() {
        let err = FacilityType::parse("alf").unwrap_err();
        assert_eq!(err.field, "facility_type");
        assert!(err.message.contains("HOME_HEALTH"), "{}", err.message);
        assert!(DeviceType::parse("").is_err());
        assert!(serde_json::from_str::<Role>("\"rn\"").is_err());
    }

    #[test]
    fn languages_are_lowercase_codes_and_others_are_refused_by_name() {
        assert_eq!(serde_json::to_string(&Language::Es).unwrap(), "\"es\"");
        assert_eq!("en".parse::<Language>().unwrap(), Language::En);
        assert_eq!(Language::default(), Language::En);
        let e = Language::parse("fr").unwrap_err();
        assert_eq!(e.field, "language");
        assert!(e.message.contains("en, es"), "{}", e.message);
        assert!(Language::parse("ES").is_err());
    }

    #[test]
    fn role_scopes() {
        assert!(Role::Rn.is_clinical() && !Role::Rn.is_admin());
        assert!(Role::Rn.may_manage_residents() && Role::FacilityAdmin.may_manage_residents());
        assert!(!Role::Cna.may_manage_residents() && !Role::MedTech.may_manage_residents());
        assert!(Role::OrgAdmin.is_admin() && !Role::OrgAdmin.is_clinical());
        assert!(!FacilityType::HomeHealth.has_beds());
        assert!(FacilityType::MemoryCare.has_beds());
        assert!(Role::PlatformAdmin.may_assign(Role::PlatformAdmin));
        assert!(Role::OrgAdmin.may_assign(Role::OrgAdmin));
        assert!(!Role::OrgAdmin.may_assign(Role::PlatformAdmin));
        assert!(Role::FacilityAdmin.may_assign(Role::FacilityAdmin));
        assert!(!Role::FacilityAdmin.may_assign(Role::OrgAdmin));
        assert!(Role::ALL.iter().all(|r| !Role::Rn.may_assign(*r)));
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_accepts_only_known_names(s in ".{0,64}") {
            let ok = FacilityType::parse(&s).is_ok();
            prop_assert_eq!(ok, FacilityType::ALL.iter().any(|t| t.as_str() == s));
            let _ = Role::parse(&s);
            let _ = DeviceType::parse(&s);
            let _ = OrganizationType::parse(&s);
        }
    }
}
