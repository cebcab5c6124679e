//! The admin console's directory: organizations, facilities, the staff of a
//! facility, and each staff member's badges and PIN, against the central API.
//!
//! Forms arrive as typed (strings, empty meaning "none"); each is checked here
//! with the domain's validators (NPI, EIN, badge UID, PIN rules) before any
//! call, every problem named on its field, so the console marks the same
//! fields whether the app or the server refused. Badge values and PINs travel
//! as [`Secret`]s and appear in no log line.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tend_badge::BadgeUid;
use tend_domain::wire::{
    AssignBadge, Badge, BadgePage, CreateFacility, CreateOrganization, CreateUser, Facility,
    Organization, OrganizationPage, PinSet, Secret, SetPin, UpdateFacility, UpdateOrganization,
    UpdateUser, User, UserPage,
};
use tend_domain::{
    Ein, ErrorCode, FacilityPolicy, FacilityType, Language, Npi, OrganizationType, Role,
};

use crate::admin::AdminSession;
use crate::api_call::send;
use crate::{CoreError, Result};

/// Field errors collected while checking a form.
#[derive(Default)]
struct Problems(BTreeMap<String, Vec<String>>);

impl Problems {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// A required text field, trimmed.
    fn required(&mut self, field: &str, value: &str, what: &str) -> String {
        let value = value.trim();
        if value.is_empty() {
            self.add(field, format!("enter {what}"));
        }
        value.to_owned()
    }

    fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        Err(CoreError::ApiFields {
            code: ErrorCode::ValidationFailed,
            message: "some fields are not valid; check the marked fields".to_owned(),
            fields: self.0,
        })
    }
}

/// Empty (after trimming) means "none".
fn optional(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// An organization as the console shows and edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OrganizationDetail {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    pub name: String,
    /// Not set for an organization created without one.
    pub organization_type: Option<OrganizationType>,
    pub npi: Option<String>,
    pub tax_id: Option<String>,
    pub state_license_number: Option<String>,
    pub license_state: Option<String>,
    pub is_active: bool,
    /// Present when read one by one (the facilities the caller can see).
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub facility_count: Option<i64>,
}

impl From<Organization> for OrganizationDetail {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
            organization_type: o.organization_type,
            npi: o.npi,
            tax_id: o.tax_id,
            state_license_number: o.state_license_number,
            license_state: o.license_state,
            is_active: o.is_active,
            facility_count: o.facility_count,
        }
    }
}

/// The organization form as typed: `id` absent creates one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OrganizationForm {
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub id: Option<i64>,
    pub name: String,
    pub organization_type: OrganizationType,
    /// Empty: no NPI.
    pub npi: String,
    /// Empty: no EIN.
    pub tax_id: String,
    pub state_license_number: String,
    pub license_state: String,
    /// Absent on create (new organizations are active).
    pub is_active: Option<bool>,
}

/// An organization form's checked values.
struct CheckedOrganization {
    name: String,
    npi: Option<Npi>,
    tax_id: Option<Ein>,
    state_license_number: Option<String>,
    license_state: Option<String>,
}

impl OrganizationForm {
    fn check(&self) -> Result<CheckedOrganization> {
        let mut p = Problems::default();
        let name = p.required("name", &self.name, "the organization's name");
        let npi = optional(&self.npi)
            .and_then(|v| Npi::parse(&v).map_err(|e| p.add("npi", e.message)).ok());
        let tax_id = optional(&self.tax_id)
            .and_then(|v| Ein::parse(&v).map_err(|e| p.add("tax_id", e.message)).ok());
        let license_state = optional(&self.license_state).map(|s| s.to_ascii_uppercase());
        if let Some(s) = &license_state {
            if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
                p.add("license_state", "a two-letter state code, e.g. OR");
            }
        }
        p.finish()?;
        Ok(CheckedOrganization {
            name,
            npi,
            tax_id,
            state_license_number: optional(&self.state_license_number),
            license_state,
        })
    }

    /// Every field error of the form, whether it creates or updates.
    pub fn validate(&self) -> Result<()> {
        self.check().map(drop)
    }

    /// The API's create request, or every field error at once.
    pub fn to_create(&self) -> Result<CreateOrganization> {
        let c = self.check()?;
        Ok(CreateOrganization {
            name: c.name,
            organization_type: Some(self.organization_type),
            npi: c.npi,
            tax_id: c.tax_id,
            state_license_number: c.state_license_number,
            license_state: c.license_state,
            settings: None,
        })
    }

    /// The API's update request: every form field is sent, so an emptied
    /// field clears the stored value; settings are kept.
    pub fn to_update(&self) -> Result<UpdateOrganization> {
        let c = self.check()?;
        Ok(UpdateOrganization {
            name: Some(c.name),
            organization_type: Some(self.organization_type),
            npi: Some(c.npi),
            tax_id: Some(c.tax_id),
            state_license_number: Some(c.state_license_number),
            license_state: Some(c.license_state),
            settings: None,
            is_active: self.is_active,
        })
    }
}

/// A facility with everything the console edits and its capacity.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FacilityDetail {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub organization_id: i64,
    pub name: String,
    pub facility_type: FacilityType,
    pub medicaid_provider_number: Option<String>,
    pub medicare_provider_number: Option<String>,
    pub state_license_number: Option<String>,
    pub licensed_beds: Option<i32>,
    pub current_census: i32,
    pub occupancy_rate: Option<f64>,
    pub available_beds: Option<i32>,
    pub address: Option<String>,
    pub timezone: String,
    pub features: BTreeMap<String, bool>,
    pub device_protection_minimum: tend_domain::wire::DeviceProtectionMinimum,
    /// Timings and limits of the facility's devices.
    pub policy: tend_domain::FacilityPolicy,
    pub is_active: bool,
}

impl From<Facility> for FacilityDetail {
    fn from(f: Facility) -> Self {
        Self {
            id: f.id,
            organization_id: f.organization_id,
            name: f.name,
            facility_type: f.facility_type,
            medicaid_provider_number: f.medicaid_provider_number,
            medicare_provider_number: f.medicare_provider_number,
            state_license_number: f.state_license_number,
            licensed_beds: f.licensed_beds,
            current_census: f.current_census,
            occupancy_rate: f.occupancy_rate,
            available_beds: f.available_beds,
            address: f.address,
            timezone: f.timezone,
            features: f.features,
            device_protection_minimum: f.device_protection_minimum,
            policy: f.policy,
            is_active: f.is_active,
        }
    }
}

/// The facility form as typed: `id` absent creates one (in
/// `organization_id`, or the administrator's own organization).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FacilityForm {
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub id: Option<i64>,
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub organization_id: Option<i64>,
    pub name: String,
    pub facility_type: FacilityType,
    pub medicaid_provider_number: String,
    pub medicare_provider_number: String,
    pub state_license_number: String,
    /// As typed; empty: no beds (home health).
    pub licensed_beds: String,
    pub address: String,
    /// IANA name; empty keeps the server's default on create.
    pub timezone: String,
    /// The whole map: features not shown in the form are sent back unchanged.
    pub features: BTreeMap<String, bool>,
    /// The least protection a device of the facility may keep its vault
    /// key with (absent: the server's default, `encrypted`, on create; kept
    /// on update).
    #[serde(default)]
    pub device_protection_minimum: Option<tend_domain::wire::DeviceProtectionMinimum>,
    /// The policy's numbers as typed, by wire name (`idle_lock_kiosk_secs`);
    /// a number left out takes its default. Absent: the server's defaults
    /// on create, kept on update.
    #[serde(default)]
    pub policy: Option<BTreeMap<String, String>>,
    /// Absent on create (new facilities are active).
    pub is_active: Option<bool>,
}

/// A facility form's checked values.
struct CheckedFacility {
    name: String,
    licensed_beds: Option<i32>,
    policy: Option<FacilityPolicy>,
}

/// The policy as typed: each number whole, known and in its range; every
/// problem names `policy.<field>`, as the server's do.
fn check_policy(p: &mut Problems, typed: &BTreeMap<String, String>) -> Option<FacilityPolicy> {
    let known = FacilityPolicy::default().fields().map(|(name, _, _)| name);
    let mut numbers = serde_json::Map::new();
    for (key, value) in typed {
        let field = format!("policy.{key}");
        if !known.contains(&key.as_str()) {
            p.add(&field, "not a setting of the facility's policy");
            continue;
        }
        match value.trim().parse::<u32>() {
            Ok(n) => {
                numbers.insert(key.clone(), n.into());
            }
            Err(_) => p.add(&field, "enter a whole number"),
        }
    }
    let policy: FacilityPolicy = serde_json::from_value(numbers.into()).ok()?;
    for (field, message) in policy.problems() {
        p.add(&format!("policy.{field}"), message);
    }
    Some(policy)
}

impl FacilityForm {
    fn check(&self) -> Result<CheckedFacility> {
        let mut p = Problems::default();
        let name = p.required("name", &self.name, "the facility's name");
        let licensed_beds = match optional(&self.licensed_beds) {
            None => None,
            Some(v) => match v.parse::<i32>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    p.add(
                        "licensed_beds",
                        "enter the number of licensed beds as a whole number (1 or more), \
                         or leave it empty",
                    );
                    None
                }
            },
        };
        if licensed_beds.is_some() && !self.facility_type.has_beds() {
            p.add(
                "licensed_beds",
                "home health has no bed capacity; leave it empty",
            );
        }
        let policy = self.policy.as_ref().and_then(|t| check_policy(&mut p, t));
        p.finish()?;
        Ok(CheckedFacility {
            name,
            licensed_beds,
            policy,
        })
    }

    /// Every field error of the form, whether it creates or updates.
    pub fn validate(&self) -> Result<()> {
        self.check().map(drop)
    }

    /// The API's create request, or every field error at once.
    pub fn to_create(&self) -> Result<CreateFacility> {
        let c = self.check()?;
        Ok(CreateFacility {
            organization_id: self.organization_id,
            name: c.name,
            facility_type: self.facility_type,
            medicaid_provider_number: optional(&self.medicaid_provider_number),
            medicare_provider_number: optional(&self.medicare_provider_number),
            state_license_number: optional(&self.state_license_number),
            licensed_beds: c.licensed_beds,
            current_census: None,
            address: optional(&self.address),
            timezone: optional(&self.timezone),
            settings: None,
            features: Some(self.features.clone()),
            device_protection_minimum: self.device_protection_minimum,
            policy: c.policy,
        })
    }

    /// The API's update request: every form field is sent, so an emptied
    /// field clears the stored value; census and settings are kept.
    pub fn to_update(&self) -> Result<UpdateFacility> {
        let c = self.check()?;
        Ok(UpdateFacility {
            organization_id: None,
            name: Some(c.name),
            facility_type: Some(self.facility_type),
            medicaid_provider_number: Some(optional(&self.medicaid_provider_number)),
            medicare_provider_number: Some(optional(&self.medicare_provider_number)),
            state_license_number: Some(optional(&self.state_license_number)),
            licensed_beds: Some(c.licensed_beds),
            address: Some(optional(&self.address)),
            // An emptied time zone is refused by the server on its field.
            timezone: Some(self.timezone.trim().to_owned()),
            settings: None,
            features: Some(self.features.clone()),
            device_protection_minimum: self.device_protection_minimum,
            policy: c.policy,
            is_active: self.is_active,
        })
    }
}

/// The policy of one facility alone, as typed: the request body
/// `{"policy": {…}}` and nothing else, what a facility administrator may send
/// (`UpdateFacility::is_policy_only`; the struct itself would serialize its
/// absent fields as null, and a null provider number would clear it). The
/// numbers are checked as in [`FacilityForm`]'s policy part; numbers left
/// out take their defaults.
pub fn policy_only_update(policy: &BTreeMap<String, String>) -> Result<serde_json::Value> {
    let mut p = Problems::default();
    let checked = check_policy(&mut p, policy);
    if checked.is_none() {
        p.add("policy", "not a valid policy");
    }
    p.finish()?;
    Ok(serde_json::json!({ "policy": checked }))
}

/// One staff account of a facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StaffMember {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    pub employee_id: String,
    pub username: String,
    pub full_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    /// The person's own language; null: none (each device's applies).
    pub preferred_language: Option<Language>,
}

impl From<User> for StaffMember {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            facility_id: u.facility_id,
            employee_id: u.employee_id,
            username: u.username,
            full_name: u.full_name,
            email: u.email,
            role: u.role,
            is_active: u.is_active,
            created_at: u.created_at,
            preferred_language: u.preferred_language,
        }
    }
}

/// The staff form as typed: `id` absent creates an account (then the
/// password is required); the username cannot change afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StaffForm {
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub id: Option<i64>,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    pub employee_id: String,
    pub username: String,
    pub full_name: String,
    /// Empty: no email.
    pub email: String,
    pub role: Role,
    /// The person's own language: `null` for none (the device's applies).
    /// Absent: an update leaves the account's as it is (a form that does
    /// not show the field changes nothing), a new account has none.
    #[serde(default, deserialize_with = "tend_domain::wire::double_option")]
    #[cfg_attr(feature = "specta", specta(type = Option<Language>))]
    pub preferred_language: Option<Option<Language>>,
}

impl StaffForm {
    fn check_common(&self, p: &mut Problems) -> (String, String) {
        (
            p.required("employee_id", &self.employee_id, "the employee ID"),
            p.required("full_name", &self.full_name, "the person's full name"),
        )
    }

    fn check_password(p: &mut Problems, password: &Secret) {
        if let Err(e) = tend_domain::credentials::check_password(password.expose()) {
            p.add(e.field, e.message);
        }
    }

    /// Every field error of the form, whether it creates or updates.
    pub fn validate(&self, password: Option<&Secret>) -> Result<()> {
        match self.id {
            None => self.to_create(password).map(drop),
            Some(_) => self.to_update(password).map(drop),
        }
    }

    /// The API's create request, or every field error at once.
    pub fn to_create(&self, password: Option<&Secret>) -> Result<CreateUser> {
        let mut p = Problems::default();
        let (employee_id, full_name) = self.check_common(&mut p);
        let username = p.required("username", &self.username, "a username");
        match password {
            Some(pw) => Self::check_password(&mut p, pw),
            None => p.add("password", "enter a first password for the account"),
        }
        p.finish()?;
        Ok(CreateUser {
            facility_id: self.facility_id,
            employee_id,
            username,
            full_name,
            email: optional(&self.email),
            role: self.role,
            password: password.cloned().unwrap_or_else(|| Secret::new("")),
            preferred_language: self.preferred_language.flatten(),
        })
    }

    /// The API's update request; a password, when given, replaces the old one.
    pub fn to_update(&self, password: Option<&Secret>) -> Result<UpdateUser> {
        let mut p = Problems::default();
        let (employee_id, full_name) = self.check_common(&mut p);
        if let Some(pw) = password {
            Self::check_password(&mut p, pw);
        }
        p.finish()?;
        Ok(UpdateUser {
            facility_id: Some(self.facility_id),
            employee_id: Some(employee_id),
            full_name: Some(full_name),
            email: Some(optional(&self.email)),
            role: Some(self.role),
            is_active: None,
            password: password.cloned(),
            preferred_language: self.preferred_language,
        })
    }
}

/// A badge as the console lists it: never the badge number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BadgeSummary {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub user_id: i64,
    pub label: Option<String>,
    /// False once revoked.
    pub is_active: bool,
    /// Set while locked after too many wrong PINs.
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<Badge> for BadgeSummary {
    fn from(b: Badge) -> Self {
        Self {
            id: b.id,
            user_id: b.user_id,
            label: b.label,
            is_active: b.is_active,
            locked_until: b.locked_until,
            created_at: b.created_at,
            revoked_at: b.revoked_at,
            last_used_at: b.last_used_at,
        }
    }
}

/// A badge number as typed or read, checked (4, 7 or 10 bytes of hex); the
/// error names the field, never the value.
pub fn check_badge_uid(badge_uid: &Secret) -> Result<()> {
    let mut p = Problems::default();
    if badge_uid.expose().trim().is_empty() {
        p.add("badge_uid", "enter the badge number");
    } else if let Err(e) = BadgeUid::parse(badge_uid.expose()) {
        p.add("badge_uid", e.message);
    }
    p.finish()
}

/// A new PIN checked with the domain's one PIN check (`Pin::parse_new`, the
/// same the server applies), its problem named on the `pin` field.
pub fn check_pin(pin: &Secret) -> Result<()> {
    let mut p = Problems::default();
    if let Err(e) = tend_domain::Pin::parse_new(pin.expose()) {
        p.add(e.field, e.message);
    }
    p.finish()
}

/// When a PIN was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PinChanged {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub user_id: i64,
    pub pin_set_at: DateTime<Utc>,
}

impl AdminSession {
    /// Organizations the administrator can see (every one for a platform
    /// administrator; their own otherwise).
    pub async fn organizations(&self) -> Result<Vec<OrganizationDetail>> {
        self.all_pages("/api/organizations", |p: OrganizationPage| {
            (
                p.items.into_iter().map(OrganizationDetail::from).collect(),
                p.next_cursor,
            )
        })
        .await
    }

    /// One organization, with its facility count.
    pub async fn organization(&self, id: i64) -> Result<OrganizationDetail> {
        let org: Organization = send(self.get(&format!("/api/organizations/{id}"))).await?;
        Ok(org.into())
    }

    /// Creates (no `id`) or updates an organization. The server lets
    /// platform administrators create and change any; organization
    /// administrators change their own one's details (not `is_active`).
    #[tracing::instrument(skip_all, fields(organization_id = form.id))]
    pub async fn save_organization(&self, form: &OrganizationForm) -> Result<OrganizationDetail> {
        let org: Organization = match form.id {
            None => send(self.post("/api/organizations").json(&form.to_create()?)).await?,
            Some(id) => {
                send(
                    self.put(&format!("/api/organizations/{id}"))
                        .json(&form.to_update()?),
                )
                .await?
            }
        };
        tracing::info!(organization_id = org.id, "organization saved");
        Ok(org.into())
    }

    /// One facility with every editable field.
    pub async fn facility(&self, id: i64) -> Result<FacilityDetail> {
        let facility: Facility = send(self.get(&format!("/api/facilities/{id}"))).await?;
        Ok(facility.into())
    }

    /// Creates (no `id`) or updates a facility (organization administrators
    /// and above).
    #[tracing::instrument(skip_all, fields(facility_id = form.id))]
    pub async fn save_facility(&self, form: &FacilityForm) -> Result<FacilityDetail> {
        let facility: Facility = match form.id {
            None => send(self.post("/api/facilities").json(&form.to_create()?)).await?,
            Some(id) => {
                send(
                    self.put(&format!("/api/facilities/{id}"))
                        .json(&form.to_update()?),
                )
                .await?
            }
        };
        tracing::info!(facility_id = facility.id, "facility saved");
        Ok(facility.into())
    }

    /// Saves the policy of facility `facility_id` and nothing else (the body
    /// holds only `policy`): what its facility administrator may do, as well
    /// as organization administrators and above.
    #[tracing::instrument(skip_all, fields(facility_id))]
    pub async fn save_facility_policy(
        &self,
        facility_id: i64,
        policy: &BTreeMap<String, String>,
    ) -> Result<FacilityDetail> {
        let body = policy_only_update(policy)?;
        let facility: Facility = send(
            self.put(&format!("/api/facilities/{facility_id}"))
                .json(&body),
        )
        .await?;
        tracing::info!(facility_id, "facility policy saved");
        Ok(facility.into())
    }

    /// A facility's staff accounts, deactivated ones included.
    pub async fn staff(&self, facility_id: i64) -> Result<Vec<StaffMember>> {
        self.all_pages(
            &format!("/api/users?facility_id={facility_id}"),
            |p: UserPage| {
                (
                    p.items.into_iter().map(StaffMember::from).collect(),
                    p.next_cursor,
                )
            },
        )
        .await
    }

    /// Creates (no `id`) or updates a staff account; `password` is the first
    /// password of a new account, or a replacement.
    #[tracing::instrument(skip_all, fields(user_id = form.id, facility_id = form.facility_id))]
    pub async fn save_staff(
        &self,
        form: &StaffForm,
        password: Option<&Secret>,
    ) -> Result<StaffMember> {
        let user: User = match form.id {
            None => send(self.post("/api/users").json(&form.to_create(password)?)).await?,
            Some(id) => {
                send(
                    self.put(&format!("/api/users/{id}"))
                        .json(&form.to_update(password)?),
                )
                .await?
            }
        };
        tracing::info!(user_id = user.id, "staff account saved");
        Ok(user.into())
    }

    /// Deactivates (the account can no longer sign in) or reactivates a user.
    #[tracing::instrument(skip_all, fields(user_id, active))]
    pub async fn set_staff_active(&self, user_id: i64, active: bool) -> Result<StaffMember> {
        // Only the flag: `UpdateUser` serializes its absent fields as null,
        // and a null email would clear it.
        let body = serde_json::json!({ "is_active": active });
        let user: User = send(self.put(&format!("/api/users/{user_id}")).json(&body)).await?;
        tracing::info!(user_id, active, "staff account activation changed");
        Ok(user.into())
    }

    /// A user's badges, revoked ones included (never the badge numbers).
    pub async fn badges(&self, user_id: i64) -> Result<Vec<BadgeSummary>> {
        self.all_pages(&format!("/api/users/{user_id}/badges"), |p: BadgePage| {
            (
                p.items.into_iter().map(BadgeSummary::from).collect(),
                p.next_cursor,
            )
        })
        .await
    }

    /// Assigns a badge by its number (as printed or read by a reader).
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn assign_badge(
        &self,
        user_id: i64,
        badge_uid: &Secret,
        label: Option<&str>,
    ) -> Result<BadgeSummary> {
        check_badge_uid(badge_uid)?;
        let body = AssignBadge {
            badge_uid: badge_uid.clone(),
            label: label.and_then(optional),
        };
        let badge: Badge = send(
            self.post(&format!("/api/users/{user_id}/badges"))
                .json(&body),
        )
        .await?;
        tracing::info!(user_id, badge_id = badge.id, "badge assigned");
        Ok(badge.into())
    }

    /// Revokes a badge: it stops working at the next badge login.
    #[tracing::instrument(skip_all, fields(user_id, badge_id))]
    pub async fn revoke_badge(&self, user_id: i64, badge_id: i64) -> Result<BadgeSummary> {
        let badge: Badge =
            send(self.post(&format!("/api/users/{user_id}/badges/{badge_id}/revoke"))).await?;
        tracing::info!(user_id, badge_id, "badge revoked");
        Ok(badge.into())
    }

    /// Sets or replaces a user's PIN; their next badge login asks for it.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn set_pin(&self, user_id: i64, pin: &Secret) -> Result<PinChanged> {
        check_pin(pin)?;
        let body = SetPin { pin: pin.clone() };
        let set: PinSet = send(self.put(&format!("/api/users/{user_id}/pin")).json(&body)).await?;
        tracing::info!(user_id, "PIN set");
        Ok(PinChanged {
            user_id: set.user_id,
            pin_set_at: set.pin_set_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(npi: &str, tax_id: &str, state: &str) -> OrganizationForm {
        OrganizationForm {
            id: None,
            name: " Sunrise Senior Living ".to_owned(),
            organization_type: OrganizationType::AlfOperator,
            npi: npi.to_owned(),
            tax_id: tax_id.to_owned(),
            state_license_number: "".to_owned(),
            license_state: state.to_owned(),
            is_active: None,
        }
    }

    fn facility(beds: &str, facility_type: FacilityType) -> FacilityForm {
        FacilityForm {
            id: None,
            organization_id: None,
            name: "North Campus".to_owned(),
            facility_type,
            medicaid_provider_number: "".to_owned(),
            medicare_provider_number: " 123456 ".to_owned(),
            state_license_number: "".to_owned(),
            licensed_beds: beds.to_owned(),
            address: "".to_owned(),
            timezone: "America/Chicago".to_owned(),
            features: BTreeMap::from([("family_portal".to_owned(), true)]),
            device_protection_minimum: None,
            policy: None,
            is_active: None,
        }
    }

    #[test]
    fn an_organization_form_uses_the_domain_validators() {
        let request = org("1234567893", "12-3456789", "or").to_create().unwrap();
        assert_eq!(request.name, "Sunrise Senior Living");
        assert_eq!(request.npi.unwrap().as_str(), "1234567893");
        assert_eq!(request.license_state.as_deref(), Some("OR"));
        let err = org("1234567890", "00-0000000", "Oregon")
            .to_create()
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        let fields = err.fields();
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            ["license_state", "npi", "tax_id"]
        );
        assert!(fields["npi"][0].contains("check digit"), "{fields:?}");
    }

    #[test]
    fn an_emptied_organization_field_is_cleared_on_update() {
        let mut form = org("", "", "");
        form.id = Some(4);
        let update = form.to_update().unwrap();
        assert_eq!(update.npi, Some(None));
        let json = serde_json::to_value(&update).unwrap();
        assert_eq!(json["npi"], serde_json::Value::Null);
        assert!(json.get("settings").is_some_and(|s| s.is_null()));
    }

    #[test]
    fn a_facility_form_checks_the_policy_numbers_naming_each_field() {
        let mut form = facility("32", FacilityType::Alf);
        form.policy = Some(BTreeMap::from([
            ("idle_lock_kiosk_secs".to_owned(), " 60 ".to_owned()),
            ("handoff_hours".to_owned(), "8".to_owned()),
        ]));
        let policy = form.to_update().unwrap().policy.unwrap();
        assert_eq!(policy.idle_lock_kiosk_secs, 60);
        assert_eq!(policy.handoff_hours, 8);
        assert_eq!(policy.idle_lock_desktop_secs, 600, "left out: the default");
        form.policy = Some(BTreeMap::from([
            ("idle_lock_kiosk_secs".to_owned(), "5".to_owned()),
            ("badge_grace_hours".to_owned(), "eight".to_owned()),
            ("idle_lock".to_owned(), "60".to_owned()),
        ]));
        let fields = form.to_update().unwrap_err().fields();
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            [
                "policy.badge_grace_hours",
                "policy.idle_lock",
                "policy.idle_lock_kiosk_secs"
            ]
        );
        assert_eq!(
            fields["policy.idle_lock_kiosk_secs"],
            ["must be from 60 to 3600"]
        );
        assert_eq!(fields["policy.badge_grace_hours"], ["enter a whole number"]);
    }

    #[test]
    fn a_policy_alone_is_checked_like_the_form_and_sent_without_other_fields() {
        let body = policy_only_update(&BTreeMap::from([
            ("idle_lock_desktop_secs".to_owned(), " 60 ".to_owned()),
            ("pin_min_digits".to_owned(), "6".to_owned()),
        ]))
        .unwrap();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["policy"], "{body}");
        let update: UpdateFacility = serde_json::from_value(body).unwrap();
        assert!(update.is_policy_only());
        let policy = update.policy.unwrap();
        assert_eq!(policy.idle_lock_desktop_secs, 60);
        assert_eq!(policy.pin_min_digits, 6);
        assert_eq!(
            policy.handoff_hours,
            FacilityPolicy::default().handoff_hours
        );
        let err = policy_only_update(&BTreeMap::from([
            ("idle_lock_desktop_secs".to_owned(), "5".to_owned()),
            ("handoff_hours".to_owned(), "".to_owned()),
            ("name".to_owned(), "North".to_owned()),
        ]))
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        assert_eq!(
            err.fields().keys().collect::<Vec<_>>(),
            [
                "policy.handoff_hours",
                "policy.idle_lock_desktop_secs",
                "policy.name"
            ]
        );
    }

    #[test]
    fn a_facility_form_checks_beds_and_keeps_features() {
        let request = facility("32", FacilityType::Alf).to_create().unwrap();
        assert_eq!(request.licensed_beds, Some(32));
        assert_eq!(request.medicare_provider_number.as_deref(), Some("123456"));
        assert!(request.features.unwrap()["family_portal"]);
        assert_eq!(
            facility("", FacilityType::HomeHealth)
                .to_create()
                .unwrap()
                .licensed_beds,
            None
        );
        for (beds, kind) in [
            ("thirty", FacilityType::Alf),
            ("0", FacilityType::Snf),
            ("12", FacilityType::HomeHealth),
        ] {
            let err = facility(beds, kind).to_update().unwrap_err();
            assert!(
                err.fields().contains_key("licensed_beds"),
                "{beds}: {err:?}"
            );
        }
        let mut nameless = facility("", FacilityType::Hospice);
        nameless.name = "  ".to_owned();
        assert!(nameless
            .to_create()
            .unwrap_err()
            .fields()
            .contains_key("name"));
    }

    #[test]
    fn a_new_account_needs_a_long_enough_password() {
        let form = StaffForm {
            id: None,
            facility_id: 1,
            employee_id: "E-100".to_owned(),
            username: "jdoe".to_owned(),
            full_name: "".to_owned(),
            email: "".to_owned(),
            role: Role::Rn,
            preferred_language: None,
        };
        let err = form.to_create(None).unwrap_err();
        assert_eq!(
            err.fields().keys().collect::<Vec<_>>(),
            ["full_name", "password"]
        );
        let short = Secret::new("short");
        let err = form.to_create(Some(&short)).unwrap_err();
        assert!(err.fields()["password"][0].contains("12 characters"));
        let mut named = form.clone();
        named.full_name = "Jane Doe".to_owned();
        let good = Secret::new("a long enough password");
        let request = named.to_create(Some(&good)).unwrap();
        assert_eq!(request.email, None);
        // An edit without a password keeps the old one.
        assert_eq!(named.to_update(None).unwrap().password, None);
        assert_eq!(request.preferred_language, None);
        // The language: absent leaves the account's, null clears it.
        let update = serde_json::to_value(named.to_update(None).unwrap()).unwrap();
        assert!(update.get("preferred_language").is_none(), "{update}");
        named.preferred_language = Some(None);
        let update = serde_json::to_value(named.to_update(None).unwrap()).unwrap();
        assert!(update["preferred_language"].is_null());
        let typed: StaffForm = serde_json::from_value(serde_json::json!({
            "id": 4, "facility_id": 1, "employee_id": "E-100", "username": "jdoe",
            "full_name": "Jane Doe", "email": "", "role": "RN", "preferred_language": "es"
        }))
        .unwrap();
        assert_eq!(typed.preferred_language, Some(Some(Language::Es)));
        let request = typed.to_create(Some(&good)).unwrap();
        assert_eq!(request.preferred_language, Some(Language::Es));
    }

    #[test]
    fn badge_numbers_and_pins_are_checked_without_echoing_them() {
        check_badge_uid(&Secret::new("04:A2:5B:1C")).unwrap();
        let err = check_badge_uid(&Secret::new("04:A2:ZZ")).unwrap_err();
        assert!(err.fields().contains_key("badge_uid"));
        assert!(!format!("{err:?} {err}").contains("A2"));
        let err = check_badge_uid(&Secret::new("  ")).unwrap_err();
        assert_eq!(err.fields()["badge_uid"], ["enter the badge number"]);
        check_pin(&Secret::new("4826")).unwrap();
        for bad in ["12", "1234", "7777", "12a4", "123456789"] {
            let err = check_pin(&Secret::new(bad)).unwrap_err();
            assert!(err.fields().contains_key("pin"), "{bad}");
            assert!(!format!("{err:?}").contains(bad), "{bad}");
        }
    }
}
