//! `tend-api import`: a care organization's facilities, staff and residents
//! from CSV files. Every cell is checked with the rules the API applies and
//! every problem is reported (`FILE:LINE:COLUMN: message`) before anything is
//! written; a run writes one transaction per file and matches rows on their
//! natural keys, so running the same files again changes nothing.
//!
//! The command line reads files and runs as the schema owner; the API
//! (`POST /api/organizations/{id}/import`, the admin console's upload) sends
//! the same texts through [`run_sources`] as the administrator, each
//! transaction carrying the organization's row-level-security scope.
//!
//! Natural keys: a facility's name within the organization, a staff member's
//! `employee_id` within the organization (`users_organization_id_employee_id_key`),
//! a resident's `mrn` within the facility (`patients_facility_id_mrn_key`).
//! Badge values are turned into the organization's keyed hashes as the badge
//! API does; neither they nor any cell is logged or kept.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use sqlx::Transaction;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use tend_domain::{FacilityType, PatientStatus, Role};

use crate::validate::Validator;

pub mod legacy;

/// The password hash of imported staff: not a PHC string, so no password
/// matches it (as for demo accounts seeded without a password). They sign in
/// by badge, or once an administrator sets a password.
pub const NO_PASSWORD: &str = "!disabled";

/// Serializes imports (and rehearsals) into one organization.
const IMPORT_LOCK: i64 = 7_331_019;

/// The CSV files of one import; any may be left out.
#[derive(Debug, Default, Clone)]
pub struct Files {
    pub facilities: Option<PathBuf>,
    pub staff: Option<PathBuf>,
    pub residents: Option<PathBuf>,
}

/// One CSV text and the name its problems are reported under.
pub struct Source {
    pub name: String,
    /// The bytes, or why they could not be read (a problem at line 0).
    pub bytes: Result<Vec<u8>, String>,
}

impl Source {
    /// A text sent by a client (the admin console).
    pub fn text(name: impl Into<String>, text: String) -> Self {
        Self {
            name: name.into(),
            bytes: Ok(text.into_bytes()),
        }
    }

    /// A file named on the command line.
    pub fn read(path: &Path) -> Self {
        Self {
            name: path.display().to_string(),
            bytes: std::fs::read(path).map_err(|e| format!("cannot read the file: {e}")),
        }
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The texts of one import; any may be left out.
#[derive(Debug, Default)]
pub struct Sources {
    pub facilities: Option<Source>,
    pub staff: Option<Source>,
    pub residents: Option<Source>,
}

impl Sources {
    pub fn read(files: &Files) -> Self {
        Self {
            facilities: files.facilities.as_deref().map(Source::read),
            staff: files.staff.as_deref().map(Source::read),
            residents: files.residents.as_deref().map(Source::read),
        }
    }
}

/// Who runs an import.
#[derive(Debug, Clone)]
pub enum Actor {
    /// `tend-api import` as the schema owner.
    Owner,
    /// An administrator through the API: every transaction is scoped to the
    /// organization (row-level security) and audited in their name.
    Administrator {
        user_id: i64,
        client_address: Option<String>,
    },
}

impl Actor {
    /// A transaction for the import's reads or one file's writes.
    async fn begin(
        &self,
        pool: &PgPool,
        organization_id: i64,
    ) -> anyhow::Result<Transaction<'static, Postgres>> {
        Ok(match self {
            Self::Owner => pool.begin().await?,
            Self::Administrator { user_id, .. } => {
                crate::context::begin_scoped(
                    pool,
                    crate::context::Scope::Organization(organization_id),
                    Some(*user_id),
                )
                .await?
            }
        })
    }
}

/// One problem with one cell (or a header, or a whole line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file as it was named on the command line or in the request
    /// (`legacy users`, `legacy patients`: a legacy database's tables).
    pub file: String,
    /// The CSV line the record starts on; the header is line 1 (0: the
    /// whole file). For a legacy table, the row's id (0: the table).
    pub line: u64,
    /// The header name of the cell's column (`*` for the whole line).
    pub column: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// The three kinds of file, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Facilities,
    Staff,
    Residents,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Facilities => "facilities",
            Self::Staff => "staff",
            Self::Residents => "residents",
        }
    }

    fn required(self) -> &'static [&'static str] {
        match self {
            Self::Facilities => &["name", "facility_type", "licensed_beds"],
            Self::Staff => &[
                "facility",
                "role",
                "employee_id",
                "username",
                "first_name",
                "last_name",
                "email",
            ],
            Self::Residents => &[
                "facility",
                "mrn",
                "first_name",
                "last_name",
                "date_of_birth",
                "status",
            ],
        }
    }

    fn optional(self) -> &'static [&'static str] {
        match self {
            Self::Facilities => &[
                "timezone",
                "address",
                "medicaid_provider_number",
                "medicare_provider_number",
                "state_license_number",
            ],
            Self::Staff => &["badge_uid"],
            Self::Residents => &["room", "admission_date", "discharge_date"],
        }
    }

    fn audit(self) -> (&'static str, &'static str) {
        match self {
            Self::Facilities => ("import.facilities", "facility"),
            Self::Staff => ("import.staff", "user"),
            Self::Residents => ("import.residents", "patient"),
        }
    }
}

/// What a file did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Staff only: badges assigned that their holder did not have.
    pub badges_added: u64,
}

#[derive(Debug, Clone)]
pub struct FileSummary {
    pub kind: Kind,
    pub file: String,
    pub counts: Counts,
}

impl fmt::Display for FileSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.counts;
        write!(
            f,
            "{} ({}): {} created, {} updated, {} unchanged",
            self.kind.as_str(),
            self.file,
            c.created,
            c.updated,
            c.unchanged
        )?;
        if self.kind == Kind::Staff {
            write!(f, ", {} badges added", c.badges_added)?;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub enum Outcome {
    /// Something is wrong: nothing was written.
    Problems(Vec<Problem>),
    /// Every file is valid; written, or in a dry run rehearsed and rolled back.
    Done {
        dry_run: bool,
        files: Vec<FileSummary>,
    },
}

/// The organization to import into is missing or is the platform's own.
#[derive(Debug, thiserror::Error)]
pub enum BadOrganization {
    #[error("no organization {0}")]
    Missing(i64),
    #[error("{0} is the platform's own organization; import into a care organization")]
    Platform(i64),
}

/// A file's header: where each known column is.
struct Table {
    file: String,
    columns: HashMap<&'static str, usize>,
    /// Column position by name, to order problems as the file does.
    order: HashMap<String, usize>,
    records: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    fn has(&self, column: &str) -> bool {
        self.columns.contains_key(column)
    }

    /// The cell of a column (empty when the column is absent).
    fn cell<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
        self.columns
            .get(column)
            .and_then(|i| record.get(*i))
            .unwrap_or("")
    }
}

/// Collects problems for one file.
struct Report<'a> {
    problems: &'a mut Vec<Problem>,
    file: String,
}

impl Report<'_> {
    fn add(&mut self, line: u64, column: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.clone(),
            line,
            column: column.to_owned(),
            message: message.into(),
        });
    }

    fn validator(&mut self, line: u64, v: Validator) {
        for (field, messages) in v.into_fields() {
            for message in messages {
                self.add(line, &field, message);
            }
        }
    }
}

/// Reads a CSV file: header names (case-insensitive, any order; unknown,
/// repeated and missing required columns are problems) and its records.
fn read_table(source: &Source, kind: Kind, problems: &mut Vec<Problem>) -> Option<Table> {
    let file = source.name.clone();
    let mut report = Report {
        problems,
        file: file.clone(),
    };
    let bytes = match &source.bytes {
        Ok(b) => b.as_slice(),
        Err(e) => {
            report.add(0, "*", e.clone());
            return None;
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            report.add(
                1,
                "*",
                format!("cannot read the header: {}", csv_message(&e)),
            );
            return None;
        }
    };
    let known: Vec<&'static str> = kind
        .required()
        .iter()
        .chain(kind.optional())
        .copied()
        .collect();
    let mut columns = HashMap::new();
    let mut order = HashMap::new();
    let mut header_ok = true;
    for (i, raw) in header.iter().enumerate() {
        let name = raw
            .trim_start_matches('\u{feff}')
            .trim()
            .to_ascii_lowercase();
        order.entry(name.clone()).or_insert(i);
        match known.iter().find(|k| **k == name) {
            Some(k) => {
                if columns.insert(*k, i).is_some() {
                    report.add(1, &name, "this column appears twice");
                    header_ok = false;
                }
            }
            None => {
                let shown = if name.is_empty() { "(blank)" } else { &name };
                report.add(
                    1,
                    shown,
                    format!("unknown column; expected: {}", known.join(", ")),
                );
                header_ok = false;
            }
        }
    }
    for required in kind.required() {
        if !columns.contains_key(required) {
            report.add(1, required, "required column is missing");
            header_ok = false;
        }
    }
    let mut records = Vec::new();
    for result in reader.records() {
        match result {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != header.len() {
                    report.add(
                        line,
                        "*",
                        format!(
                            "{} fields where the header has {}",
                            record.len(),
                            header.len()
                        ),
                    );
                    continue;
                }
                records.push((line, record));
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                report.add(line, "*", csv_message(&e));
            }
        }
    }
    header_ok.then_some(Table {
        file,
        columns,
        order,
        records,
    })
}

/// A CSV error without the position (the problem's line says where).
fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_owned(),
        csv::ErrorKind::Io(err) => format!("cannot read the file: {err}"),
        _ => e.to_string(),
    }
}

fn optional(value: &str) -> Option<&str> {
    let value = value.trim();
    (!value.is_empty()).then_some(value)
}

fn date(v: &mut Validator, column: &str, value: &str) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            v.add(column, "must be a date written YYYY-MM-DD");
            None
        }
    }
}

/// Parses one of the domain's closed vocabularies, forgiving letter case.
fn vocabulary<T>(
    v: &mut Validator,
    column: &str,
    value: &str,
    parse: fn(&str) -> Result<T, tend_domain::ValidationError>,
    upper: bool,
) -> Option<T> {
    let value = value.trim();
    let value = if upper {
        value.to_ascii_uppercase()
    } else {
        value.to_ascii_lowercase()
    };
    match parse(&value) {
        Ok(t) => Some(t),
        Err(e) => {
            v.add(column, e.message);
            None
        }
    }
}

/// Facility names of the organization and of the facilities file: what a
/// staff or resident row may name.
struct FacilityNames {
    /// Name → how many facilities of the organization have it.
    existing: HashMap<String, usize>,
    in_file: HashSet<String>,
    organization_id: i64,
}

impl FacilityNames {
    fn check(&self, v: &mut Validator, value: &str) -> String {
        let name = v.text("facility", value, 200);
        if name.is_empty() {
            return name;
        }
        match self.existing.get(&name) {
            Some(1) => {}
            Some(n) => v.add(
                "facility",
                format!(
                    "{n} facilities of the organization have this name; rename all but one first"
                ),
            ),
            None if self.in_file.contains(&name) => {}
            None => v.add(
                "facility",
                format!(
                    "no facility of organization {} has this name (nor does the facilities file)",
                    self.organization_id
                ),
            ),
        }
        name
    }
}

/// Remembers the line of each natural key, to report repeats.
struct Seen<K>(HashMap<K, u64>);

impl<K: std::hash::Hash + Eq> Seen<K> {
    fn new() -> Self {
        Self(HashMap::new())
    }

    /// The earlier line of `key`, if any.
    fn first(&mut self, key: K, line: u64) -> Option<u64> {
        match self.0.get(&key) {
            Some(first) => Some(*first),
            None => {
                self.0.insert(key, line);
                None
            }
        }
    }
}

struct FacilityRow {
    name: String,
    facility_type: FacilityType,
    licensed_beds: Option<i32>,
    /// Optional columns present in the header: (column, value).
    extra: Vec<(&'static str, Option<String>)>,
    /// The organization's default facility (for rows that name none),
    /// marked `settings.default_facility` when created.
    default_facility: bool,
}

fn parse_facilities(table: &Table, report: &mut Report<'_>) -> Vec<FacilityRow> {
    let mut rows = Vec::new();
    let mut names = Seen::new();
    for (line, record) in &table.records {
        let line = *line;
        let mut v = Validator::new();
        let name = v.text("name", table.cell(record, "name"), 200);
        if !name.is_empty() {
            if let Some(first) = names.first(name.clone(), line) {
                v.add("name", format!("the same facility as line {first}"));
            }
        }
        let facility_type = vocabulary(
            &mut v,
            "facility_type",
            table.cell(record, "facility_type"),
            FacilityType::parse,
            true,
        );
        let licensed_beds = match optional(table.cell(record, "licensed_beds")) {
            None => None,
            Some(b) => match b.parse::<i32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    v.add("licensed_beds", "must be a whole number, or empty");
                    None
                }
            },
        };
        if let Some(t) = facility_type {
            crate::api::facilities::check_capacity(&mut v, t, licensed_beds, 0);
        }
        let mut extra = Vec::new();
        for (column, max) in [
            ("address", 500),
            ("medicaid_provider_number", 32),
            ("medicare_provider_number", 32),
            ("state_license_number", 64),
        ] {
            if table.has(column) {
                extra.push((
                    column,
                    v.opt_text(column, Some(table.cell(record, column)), max),
                ));
            }
        }
        if table.has("timezone") {
            let tz = optional(table.cell(record, "timezone")).unwrap_or("America/New_York");
            extra.push(("timezone", Some(v.timezone("timezone", tz))));
        }
        let valid = v.is_empty();
        report.validator(line, v);
        if let (true, Some(facility_type)) = (valid, facility_type) {
            rows.push(FacilityRow {
                name,
                facility_type,
                licensed_beds,
                extra,
                default_facility: false,
            });
        }
    }
    rows
}

struct StaffRow {
    line: u64,
    facility: String,
    role: Role,
    employee_id: String,
    username: String,
    full_name: String,
    email: Option<String>,
    badge: Option<tend_badge::BadgeUid>,
}

fn parse_staff(table: &Table, names: &FacilityNames, report: &mut Report<'_>) -> Vec<StaffRow> {
    let mut rows = Vec::new();
    let (mut employees, mut usernames, mut badges) = (Seen::new(), Seen::new(), Seen::new());
    for (line, record) in &table.records {
        let line = *line;
        let mut v = Validator::new();
        let facility = names.check(&mut v, table.cell(record, "facility"));
        let role = vocabulary(
            &mut v,
            "role",
            table.cell(record, "role"),
            Role::parse,
            true,
        );
        if role == Some(Role::PlatformAdmin) {
            v.add(
                "role",
                "platform administrators are not imported (use `tend-api create-admin`)",
            );
        }
        let employee_id = v.text("employee_id", table.cell(record, "employee_id"), 64);
        if !employee_id.is_empty() {
            if let Some(first) = employees.first(employee_id.clone(), line) {
                v.add(
                    "employee_id",
                    format!("the same employee_id as line {first}"),
                );
            }
        }
        let username = v.username("username", table.cell(record, "username"));
        if let Some(first) = usernames.first(username.clone(), line) {
            v.add("username", format!("the same username as line {first}"));
        }
        // A legacy database has one name column (see `legacy`), a file two.
        let full_name = if table.has("full_name") {
            v.text("full_name", table.cell(record, "full_name"), 200)
        } else {
            let first_name = v.text("first_name", table.cell(record, "first_name"), 100);
            let last_name = v.text("last_name", table.cell(record, "last_name"), 100);
            format!("{first_name} {last_name}")
        };
        let email = v.email("email", Some(table.cell(record, "email")));
        let badge = match optional(table.cell(record, "badge_uid")) {
            None => None,
            Some(value) => {
                let uid = crate::api::badges::parse_badge_uid(&mut v, "badge_uid", value);
                if let Some(uid) = &uid {
                    // The value itself is never repeated in a message.
                    if let Some(first) = badges.first(uid.expose_canonical().to_owned(), line) {
                        v.add("badge_uid", format!("the same badge as line {first}"));
                    }
                }
                uid
            }
        };
        let valid = v.is_empty();
        report.validator(line, v);
        if let (true, Some(role)) = (valid, role) {
            rows.push(StaffRow {
                line,
                facility,
                role,
                employee_id,
                username,
                full_name,
                email,
                badge,
            });
        }
    }
    rows
}

struct ResidentRow {
    facility: String,
    mrn: String,
    first_name: String,
    last_name: String,
    date_of_birth: NaiveDate,
    status: PatientStatus,
    room: Option<String>,
    admission_date: Option<NaiveDate>,
    discharge_date: Option<NaiveDate>,
}

fn parse_residents(
    table: &Table,
    names: &FacilityNames,
    report: &mut Report<'_>,
) -> Vec<ResidentRow> {
    let mut rows = Vec::new();
    let mut keys = Seen::new();
    let today = Utc::now().date_naive();
    for (line, record) in &table.records {
        let line = *line;
        let mut v = Validator::new();
        let facility = names.check(&mut v, table.cell(record, "facility"));
        let mrn = v.text("mrn", table.cell(record, "mrn"), 64);
        if !mrn.is_empty() && !facility.is_empty() {
            if let Some(first) = keys.first((facility.clone(), mrn.clone()), line) {
                v.add(
                    "mrn",
                    format!("the same resident (facility and MRN) as line {first}"),
                );
            }
        }
        let first_name = v.text("first_name", table.cell(record, "first_name"), 100);
        let last_name = v.text("last_name", table.cell(record, "last_name"), 100);
        let date_of_birth = date(&mut v, "date_of_birth", table.cell(record, "date_of_birth"));
        let status = vocabulary(
            &mut v,
            "status",
            table.cell(record, "status"),
            PatientStatus::parse,
            false,
        );
        let room = v.opt_text("room", Some(table.cell(record, "room")), 32);
        let admission_date = optional(table.cell(record, "admission_date"))
            .and_then(|d| date(&mut v, "admission_date", d));
        let discharge_date = optional(table.cell(record, "discharge_date"))
            .and_then(|d| date(&mut v, "discharge_date", d));
        if let (Some(dob), Some(status)) = (date_of_birth, status) {
            let leaving = matches!(status, PatientStatus::Discharged | PatientStatus::Deceased);
            if leaving
                && table.has("discharge_date")
                && optional(table.cell(record, "discharge_date")).is_none()
            {
                v.add(
                    "discharge_date",
                    "required when the status is discharged or deceased",
                );
            }
            // The API's own date rules (birth between 1900 and today, a
            // discharge only when discharged or deceased and not before the
            // admission), under the file's column names.
            let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
            let mut rules = Validator::new();
            crate::api::patients::check_dates(
                &mut rules,
                &crate::store::patients::Fields {
                    organization_id: names.organization_id,
                    facility_id: 0,
                    mrn: mrn.clone(),
                    first_name: first_name.clone(),
                    last_name: last_name.clone(),
                    date_of_birth: dob,
                    status,
                    room: room.clone(),
                    admitted_at: admission_date.and_then(midnight),
                    discharged_at: discharge_date.and_then(midnight),
                    care: Default::default(),
                },
            );
            for (field, messages) in rules.into_fields() {
                let column = match field.as_str() {
                    "discharged_at" => "discharge_date",
                    "admitted_at" => "admission_date",
                    other => other,
                };
                for message in messages {
                    v.add(column, message.replace("admitted_at", "admission_date"));
                }
            }
            if let Some(admitted) = admission_date {
                if admitted > today {
                    v.add("admission_date", "must not be in the future");
                } else if admitted < dob {
                    v.add("admission_date", "must not be before date_of_birth");
                }
            }
            if let Some(discharged) = discharge_date {
                if discharged > today {
                    v.add("discharge_date", "must not be in the future");
                } else if discharged < dob {
                    v.add("discharge_date", "must not be before date_of_birth");
                }
            }
        }
        let valid = v.is_empty();
        report.validator(line, v);
        if let (true, Some(date_of_birth), Some(status)) = (valid, date_of_birth, status) {
            rows.push(ResidentRow {
                facility,
                mrn,
                first_name,
                last_name,
                date_of_birth,
                status,
                room,
                admission_date,
                discharge_date,
            });
        }
    }
    rows
}

/// Problems only the database can show: a username or a badge that belongs
/// to someone else than the row's employee.
async fn check_staff_against_database(
    conn: &mut PgConnection,
    organization_id: i64,
    rows: &[StaffRow],
    report: &mut Report<'_>,
) -> anyhow::Result<()> {
    // Usernames are unique across organizations, which the API's scope
    // cannot see: a SECURITY DEFINER function answers only "taken or not".
    let taken: HashSet<String> =
        sqlx::query_scalar("SELECT username FROM tend_usernames_taken($1, $2::text[], $3::text[])")
            .bind(organization_id)
            .bind(rows.iter().map(|r| r.username.as_str()).collect::<Vec<_>>())
            .bind(
                rows.iter()
                    .map(|r| r.employee_id.as_str())
                    .collect::<Vec<_>>(),
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    for row in rows {
        if taken.contains(&row.username) {
            report.add(
                row.line,
                "username",
                "this username belongs to another account; choose another",
            );
        }
    }
    if !rows.iter().any(|r| r.badge.is_some()) {
        return Ok(());
    }
    // No key yet: the organization has no badges, so none can be taken.
    let key: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT badge_key FROM organization_badge_keys WHERE organization_id = $1",
    )
    .bind(organization_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(key) = key else {
        return Ok(());
    };
    let hashes: Vec<Vec<u8>> = rows
        .iter()
        .filter_map(|r| r.badge.as_ref())
        .map(|b| b.keyed_hash(&key).as_bytes().to_vec())
        .collect();
    let held: Vec<(Vec<u8>, String)> = sqlx::query_as(
        "SELECT b.badge_hash, u.employee_id FROM badges b JOIN users u ON u.id = b.user_id \
         WHERE b.organization_id = $1 AND b.revoked_at IS NULL AND b.badge_hash = ANY($2)",
    )
    .bind(organization_id)
    .bind(&hashes)
    .fetch_all(&mut *conn)
    .await?;
    let held: HashMap<Vec<u8>, String> = held.into_iter().collect();
    for row in rows {
        let Some(badge) = &row.badge else { continue };
        let hash = badge.keyed_hash(&key).as_bytes().to_vec();
        if let Some(holder) = held.get(&hash) {
            if *holder != row.employee_id {
                report.add(
                    row.line,
                    "badge_uid",
                    "this badge is active for another staff member of the organization; revoke it there first",
                );
            }
        }
    }
    Ok(())
}

/// The organization's facilities by name, as they are in this transaction.
async fn facility_ids(
    conn: &mut PgConnection,
    organization_id: i64,
) -> anyhow::Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, id FROM facilities WHERE organization_id = $1")
            .bind(organization_id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().collect())
}

fn resolve(ids: &HashMap<String, i64>, name: &str) -> anyhow::Result<i64> {
    ids.get(name)
        .copied()
        .with_context(|| format!("facility {name:?} disappeared during the import"))
}

/// Facilities are few: one statement per row, new ones inserted, changed
/// ones updated (only the columns the file has), the others left alone.
async fn write_facilities(
    conn: &mut PgConnection,
    organization_id: i64,
    rows: &[FacilityRow],
) -> anyhow::Result<Counts> {
    let existing = facility_ids(conn, organization_id).await?;
    let mut counts = Counts::default();
    for row in rows {
        match existing.get(&row.name) {
            None => {
                let mut qb = QueryBuilder::<Postgres>::new(
                    "INSERT INTO facilities (organization_id, name, facility_type, licensed_beds",
                );
                for (column, _) in &row.extra {
                    qb.push(", ").push(*column);
                }
                if row.default_facility {
                    qb.push(", settings");
                }
                qb.push(") VALUES (")
                    .push_bind(organization_id)
                    .push(", ")
                    .push_bind(&row.name)
                    .push(", ")
                    .push_bind(row.facility_type.as_str())
                    .push(", ")
                    .push_bind(row.licensed_beds);
                for (_, value) in &row.extra {
                    qb.push(", ").push_bind(value.as_deref());
                }
                if row.default_facility {
                    qb.push(", '{\"default_facility\": true}'::jsonb");
                }
                qb.push(")");
                qb.build().execute(&mut *conn).await?;
                counts.created += 1;
            }
            Some(id) => {
                let mut qb = QueryBuilder::<Postgres>::new(
                    "UPDATE facilities SET updated_at = now(), facility_type = ",
                );
                qb.push_bind(row.facility_type.as_str())
                    .push(", licensed_beds = ")
                    .push_bind(row.licensed_beds);
                for (column, value) in &row.extra {
                    qb.push(format!(", {column} = "))
                        .push_bind(value.as_deref());
                }
                qb.push(" WHERE id = ")
                    .push_bind(*id)
                    .push(" AND (facility_type, licensed_beds");
                for (column, _) in &row.extra {
                    qb.push(", ").push(*column);
                }
                qb.push(") IS DISTINCT FROM (")
                    .push_bind(row.facility_type.as_str())
                    .push("::text, ")
                    .push_bind(row.licensed_beds)
                    .push("::integer");
                for (_, value) in &row.extra {
                    qb.push(", ").push_bind(value.as_deref()).push("::text");
                }
                qb.push(")");
                let changed = qb.build().execute(&mut *conn).await?.rows_affected();
                if changed == 0 {
                    counts.unchanged += 1;
                } else {
                    counts.updated += 1;
                }
            }
        }
    }
    Ok(counts)
}

/// Created and updated from `RETURNING xmax = 0` (true for an insert);
/// rows the statement skipped were unchanged.
fn tally(created: &[bool], total: usize) -> Counts {
    let new = created.iter().filter(|c| **c).count() as u64;
    let changed = created.len() as u64 - new;
    Counts {
        created: new,
        updated: changed,
        unchanged: total as u64 - new - changed,
        badges_added: 0,
    }
}

/// Staff in one statement (matched on employee_id), then their badges.
async fn write_staff(
    conn: &mut PgConnection,
    organization_id: i64,
    rows: &[StaffRow],
) -> anyhow::Result<Counts> {
    let ids = facility_ids(conn, organization_id).await?;
    let mut facility = Vec::with_capacity(rows.len());
    for row in rows {
        facility.push(resolve(&ids, &row.facility)?);
    }
    // Created or updated from the rows the statement's snapshot held before
    // it: the API's role may not read `xmax` of users (column privileges).
    let created: Vec<bool> = sqlx::query_scalar(
        "WITH earlier AS (SELECT employee_id FROM users WHERE organization_id = $1 AND employee_id = ANY($3)), \
         written AS ( \
         INSERT INTO users AS u (organization_id, facility_id, employee_id, username, full_name, email, role, \
         password_hash) \
         SELECT $1, t.facility_id, t.employee_id, t.username, t.full_name, t.email, t.role, $8 \
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) \
              AS t (facility_id, employee_id, username, full_name, email, role) \
         ON CONFLICT (organization_id, employee_id) DO UPDATE \
         SET facility_id = excluded.facility_id, username = excluded.username, full_name = excluded.full_name, \
             email = excluded.email, role = excluded.role, updated_at = now() \
         WHERE (u.facility_id, u.username, u.full_name, u.email, u.role) IS DISTINCT FROM \
               (excluded.facility_id, excluded.username, excluded.full_name, excluded.email, excluded.role) \
         RETURNING u.employee_id) \
         SELECT NOT EXISTS (SELECT 1 FROM earlier e WHERE e.employee_id = w.employee_id) FROM written w",
    )
    .bind(organization_id)
    .bind(&facility)
    .bind(rows.iter().map(|r| r.employee_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.username.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.full_name.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.email.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.role.as_str()).collect::<Vec<_>>())
    .bind(NO_PASSWORD)
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = tally(&created, rows.len());
    let with_badge: Vec<&StaffRow> = rows.iter().filter(|r| r.badge.is_some()).collect();
    if !with_badge.is_empty() {
        let key = crate::store::badges::key_or_create(&mut *conn, organization_id)
            .await
            .map_err(|e| anyhow::anyhow!("the organization's badge key: {e}"))?;
        let hashes: Vec<Vec<u8>> = with_badge
            .iter()
            .filter_map(|r| r.badge.as_ref())
            .map(|b| b.keyed_hash(&key).as_bytes().to_vec())
            .collect();
        // A badge active for someone else fails on badges_active_hash_key
        // (checked before writing; this is the race's backstop).
        counts.badges_added = sqlx::query(
            "INSERT INTO badges (organization_id, facility_id, user_id, badge_hash, label) \
             SELECT $1, u.facility_id, u.id, t.badge_hash, 'Imported' \
             FROM unnest($2::text[], $3::bytea[]) AS t (employee_id, badge_hash) \
             JOIN users u ON u.organization_id = $1 AND u.employee_id = t.employee_id \
             WHERE NOT EXISTS (SELECT 1 FROM badges b WHERE b.organization_id = $1 \
                   AND b.badge_hash = t.badge_hash AND b.user_id = u.id AND b.revoked_at IS NULL)",
        )
        .bind(organization_id)
        .bind(
            with_badge
                .iter()
                .map(|r| r.employee_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(&hashes)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(counts)
}

/// Which optional columns of the residents file are there: one the file
/// does not have keeps its stored value.
#[derive(Debug, Clone, Copy)]
struct ResidentColumns {
    room: bool,
    admission: bool,
    discharge: bool,
}

/// Residents in one statement (matched on facility and MRN). Without a
/// discharge_date column, a discharged or deceased resident keeps the stored
/// discharge time, or gets the time of the import.
async fn write_residents(
    conn: &mut PgConnection,
    organization_id: i64,
    rows: &[ResidentRow],
    columns: ResidentColumns,
) -> anyhow::Result<Counts> {
    let ids = facility_ids(conn, organization_id).await?;
    let mut facility = Vec::with_capacity(rows.len());
    for row in rows {
        facility.push(resolve(&ids, &row.facility)?);
    }
    let created: Vec<bool> = sqlx::query_scalar(
        "INSERT INTO patients AS p (organization_id, facility_id, mrn, first_name, last_name, date_of_birth, \
         status, room, admitted_at, discharged_at) \
         SELECT $1, t.facility_id, t.mrn, t.first_name, t.last_name, t.date_of_birth, t.status, t.room, \
                t.admission_date::timestamp AT TIME ZONE tend_zone_or_utc(f.timezone), \
                CASE WHEN t.status IN ('discharged', 'deceased') \
                     THEN coalesce(t.discharge_date::timestamp AT TIME ZONE tend_zone_or_utc(f.timezone), now()) END \
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::date[], $7::text[], $8::text[], \
                     $9::date[], $13::date[]) \
              AS t (facility_id, mrn, first_name, last_name, date_of_birth, status, room, admission_date, \
                    discharge_date) \
         JOIN facilities f ON f.id = t.facility_id AND f.organization_id = $1 \
         ON CONFLICT (facility_id, mrn) DO UPDATE \
         SET first_name = excluded.first_name, last_name = excluded.last_name, \
             date_of_birth = excluded.date_of_birth, status = excluded.status, \
             room = CASE WHEN $10 THEN excluded.room ELSE p.room END, \
             admitted_at = CASE WHEN $11 THEN excluded.admitted_at ELSE p.admitted_at END, \
             discharged_at = CASE WHEN excluded.status IN ('discharged', 'deceased') \
                                  THEN CASE WHEN $12 THEN excluded.discharged_at \
                                            ELSE coalesce(p.discharged_at, now()) END END, \
             updated_at = now() \
         WHERE (p.first_name, p.last_name, p.date_of_birth, p.status) IS DISTINCT FROM \
               (excluded.first_name, excluded.last_name, excluded.date_of_birth, excluded.status) \
            OR ($10 AND p.room IS DISTINCT FROM excluded.room) \
            OR ($11 AND p.admitted_at IS DISTINCT FROM excluded.admitted_at) \
            OR ($12 AND p.discharged_at IS DISTINCT FROM excluded.discharged_at) \
         RETURNING xmax = 0",
    )
    .bind(organization_id)
    .bind(&facility)
    .bind(rows.iter().map(|r| r.mrn.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.first_name.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.last_name.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.date_of_birth).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.room.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.admission_date).collect::<Vec<_>>())
    .bind(columns.room)
    .bind(columns.admission)
    .bind(columns.discharge)
    .bind(rows.iter().map(|r| r.discharge_date).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    Ok(tally(&created, rows.len()))
}

/// One audit event per file: counts only, no names or values.
async fn audit(
    conn: &mut PgConnection,
    actor: &Actor,
    organization_id: i64,
    kind: Kind,
    counts: Counts,
) -> anyhow::Result<()> {
    let (action, resource_type) = kind.audit();
    let by = match actor {
        Actor::Owner => "tend-api import",
        Actor::Administrator { .. } => "admin console import",
    };
    let mut reason = format!(
        "{by}: {} created, {} updated, {} unchanged",
        counts.created, counts.updated, counts.unchanged
    );
    if kind == Kind::Staff {
        reason.push_str(&format!(", {} badges added", counts.badges_added));
    }
    match actor {
        Actor::Owner => {
            sqlx::query(
                "INSERT INTO audit_events (organization_id, action, resource_type, outcome, reason) \
                 VALUES ($1, $2, $3, 'success', $4)",
            )
            .bind(organization_id)
            .bind(action)
            .bind(resource_type)
            .bind(reason)
            .execute(&mut *conn)
            .await?;
        }
        Actor::Administrator {
            user_id,
            client_address,
        } => {
            // Organization-wide, so cross-facility as the API marks such writes.
            crate::context::insert_audit(
                conn,
                Some(*user_id),
                &crate::context::Audit::new(action, resource_type)
                    .org(organization_id)
                    .reason(&reason),
                "success",
                true,
                client_address.as_deref(),
            )
            .await?;
        }
    }
    Ok(())
}

/// Orders one file's problems as the file reads: by line, then column.
fn sort_problems(problems: &mut [Problem], order: &HashMap<String, usize>) {
    problems.sort_by_key(|p| (p.line, order.get(&p.column).copied().unwrap_or(usize::MAX)));
}

/// The valid rows of every file, ready to write.
struct Parsed {
    facilities: Option<(String, Vec<FacilityRow>)>,
    staff: Option<(String, Vec<StaffRow>)>,
    residents: Option<(String, Vec<ResidentRow>, ResidentColumns)>,
}

/// Reads and checks every file (reads from the database, writes nothing).
async fn parse_all(
    conn: &mut PgConnection,
    organization_id: i64,
    sources: &Sources,
    problems: &mut Vec<Problem>,
) -> anyhow::Result<Parsed> {
    let existing: Vec<(String, i64)> = sqlx::query_as(
        "SELECT name, count(*) FROM facilities WHERE organization_id = $1 GROUP BY name",
    )
    .bind(organization_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut names = FacilityNames {
        existing: existing
            .into_iter()
            .map(|(n, c)| (n, usize::try_from(c).unwrap_or(usize::MAX)))
            .collect(),
        in_file: HashSet::new(),
        organization_id,
    };
    let mut parsed = Parsed {
        facilities: None,
        staff: None,
        residents: None,
    };
    if let Some(source) = &sources.facilities {
        let start = problems.len();
        if let Some(table) = read_table(source, Kind::Facilities, problems) {
            let mut report = Report {
                problems,
                file: table.file.clone(),
            };
            let rows = parse_facilities(&table, &mut report);
            for row in &rows {
                if names.existing.get(&row.name).is_some_and(|n| *n > 1) {
                    // Which of the namesakes to update is not the file's to say.
                    let line = table
                        .records
                        .iter()
                        .find(|(_, r)| table.cell(r, "name").trim() == row.name)
                        .map_or(0, |(l, _)| *l);
                    report.add(
                        line,
                        "name",
                        "several facilities of the organization have this name; rename all but one first",
                    );
                }
            }
            names.in_file = rows.iter().map(|r| r.name.clone()).collect();
            sort_problems(&mut problems[start..], &table.order);
            parsed.facilities = Some((table.file, rows));
        }
    }
    if let Some(source) = &sources.staff {
        let start = problems.len();
        if let Some(table) = read_table(source, Kind::Staff, problems) {
            let mut report = Report {
                problems,
                file: table.file.clone(),
            };
            let rows = parse_staff(&table, &names, &mut report);
            check_staff_against_database(conn, organization_id, &rows, &mut report).await?;
            sort_problems(&mut problems[start..], &table.order);
            parsed.staff = Some((table.file, rows));
        }
    }
    if let Some(source) = &sources.residents {
        let start = problems.len();
        if let Some(table) = read_table(source, Kind::Residents, problems) {
            let mut report = Report {
                problems,
                file: table.file.clone(),
            };
            let rows = parse_residents(&table, &names, &mut report);
            sort_problems(&mut problems[start..], &table.order);
            let columns = ResidentColumns {
                room: table.has("room"),
                admission: table.has("admission_date"),
                discharge: table.has("discharge_date"),
            };
            parsed.residents = Some((table.file, rows, columns));
        }
    }
    Ok(parsed)
}

/// Imports `files` into the organization. With problems, nothing is written
/// and they are returned, all of them. Otherwise each file is written in its
/// own transaction (facilities, staff, residents) with an audit event; a dry
/// run rehearses the same statements in one transaction and rolls it back,
/// so its counts are what a real run would do.
pub async fn run(
    pool: &PgPool,
    organization_id: i64,
    files: &Files,
    dry_run: bool,
) -> anyhow::Result<Outcome> {
    run_sources(
        pool,
        organization_id,
        &Sources::read(files),
        dry_run,
        &Actor::Owner,
    )
    .await
}

/// [`run`] on texts already in memory, as `actor`.
pub async fn run_sources(
    pool: &PgPool,
    organization_id: i64,
    sources: &Sources,
    dry_run: bool,
    actor: &Actor,
) -> anyhow::Result<Outcome> {
    let mut conn = actor.begin(pool, organization_id).await?;
    check_organization(&mut conn, organization_id).await?;
    let mut problems = Vec::new();
    let parsed = parse_all(&mut conn, organization_id, sources, &mut problems).await?;
    // Read only: rolled back.
    drop(conn);
    if !problems.is_empty() {
        return Ok(Outcome::Problems(problems));
    }
    write_parsed(pool, organization_id, parsed, dry_run, actor).await
}

/// The organization exists (in the caller's scope) and is a care organization.
async fn check_organization(conn: &mut PgConnection, organization_id: i64) -> anyhow::Result<()> {
    let platform: Option<Option<String>> =
        sqlx::query_scalar("SELECT settings->>'platform' FROM organizations WHERE id = $1")
            .bind(organization_id)
            .fetch_optional(&mut *conn)
            .await?;
    match platform {
        None => Err(BadOrganization::Missing(organization_id).into()),
        Some(Some(p)) if p == "true" => Err(BadOrganization::Platform(organization_id).into()),
        Some(_) => Ok(()),
    }
}

/// Writes every file's valid rows, one transaction each (or rehearses them
/// in one rolled-back transaction).
async fn write_parsed(
    pool: &PgPool,
    organization_id: i64,
    parsed: Parsed,
    dry_run: bool,
    actor: &Actor,
) -> anyhow::Result<Outcome> {
    let mut summaries = Vec::new();
    let mut rehearsal = if dry_run {
        Some(actor.begin(pool, organization_id).await?)
    } else {
        None
    };
    // A macro rather than a function: each write borrows the transaction.
    macro_rules! step {
        ($kind:expr, $file:expr, $conn:ident => $write:expr) => {{
            let kind: Kind = $kind;
            let written: anyhow::Result<Counts> = match rehearsal.as_mut() {
                Some(tx) => {
                    let $conn: &mut PgConnection = tx;
                    async {
                        lock($conn, organization_id).await?;
                        $write.await
                    }
                    .await
                }
                None => {
                    let mut tx = actor.begin(pool, organization_id).await?;
                    let $conn: &mut PgConnection = &mut tx;
                    let counts = async {
                        lock($conn, organization_id).await?;
                        let counts = $write.await?;
                        audit($conn, actor, organization_id, kind, counts).await?;
                        anyhow::Ok(counts)
                    }
                    .await;
                    match counts {
                        Ok(counts) => tx.commit().await.map(|()| counts).map_err(Into::into),
                        Err(e) => Err(e),
                    }
                }
            };
            let counts = written.with_context(|| {
                format!(
                    "{}: nothing of this file was written{}",
                    $file,
                    if summaries.is_empty() || dry_run {
                        String::new()
                    } else {
                        format!(" (written before it: {})", summary_names(&summaries))
                    }
                )
            })?;
            if !dry_run {
                tracing::info!(
                    organization_id,
                    file = kind.as_str(),
                    created = counts.created,
                    updated = counts.updated,
                    unchanged = counts.unchanged,
                    badges_added = counts.badges_added,
                    "imported"
                );
            }
            summaries.push(FileSummary {
                kind,
                file: $file.clone(),
                counts,
            });
        }};
    }
    if let Some((file, rows)) = &parsed.facilities {
        step!(Kind::Facilities, file, c => write_facilities(c, organization_id, rows));
    }
    if let Some((file, rows)) = &parsed.staff {
        step!(Kind::Staff, file, c => write_staff(c, organization_id, rows));
    }
    if let Some((file, rows, columns)) = &parsed.residents {
        step!(Kind::Residents, file, c => write_residents(c, organization_id, rows, *columns));
    }
    if let Some(tx) = rehearsal {
        tx.rollback().await?;
    }
    Ok(Outcome::Done {
        dry_run,
        files: summaries,
    })
}

fn summary_names(summaries: &[FileSummary]) -> String {
    summaries
        .iter()
        .map(|s| s.file.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn lock(conn: &mut PgConnection, organization_id: i64) -> anyhow::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(i32::try_from(IMPORT_LOCK % i64::from(i32::MAX)).unwrap_or(0))
        .bind(i32::try_from(organization_id % i64::from(i32::MAX)).unwrap_or(0))
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(kind: Kind, text: &str) -> (Option<Table>, Vec<String>) {
        let mut problems = Vec::new();
        let table = read_table(&Source::text("f.csv", text.to_owned()), kind, &mut problems);
        let shown = problems.iter().map(ToString::to_string).collect();
        (table, shown)
    }

    #[test]
    fn headers_are_found_by_name_in_any_case_and_order() {
        let (t, problems) = table(
            Kind::Residents,
            "\u{feff}STATUS, Mrn ,facility,first_name,last_name,date_of_birth\n\
             active,M-1,Maple,Ada,Byron,1931-04-02\n\
             active,\"M-2\nwith a line break\",Maple,Ada,Byron,1931-04-02\n\
             active,M-3,Maple,Ada,Byron,1931-04-02\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let t = t.unwrap();
        assert_eq!(t.columns["status"], 0);
        assert_eq!(t.columns["mrn"], 1);
        assert!(!t.has("room"));
        assert_eq!(t.cell(&t.records[0].1, "room"), "");
        // Lines count the header as 1 and follow quoted line breaks.
        let lines: Vec<u64> = t.records.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![2, 3, 5]);
    }

    #[test]
    fn unknown_repeated_and_missing_columns_are_named() {
        let (t, problems) = table(
            Kind::Facilities,
            "name,facility_type,Name,beds\nMaple,ALF,Maple,3\n",
        );
        assert!(t.is_none());
        assert_eq!(
            problems,
            vec![
                "f.csv:1:name: this column appears twice",
                "f.csv:1:beds: unknown column; expected: name, facility_type, licensed_beds, \
                 timezone, address, medicaid_provider_number, medicare_provider_number, \
                 state_license_number",
                "f.csv:1:licensed_beds: required column is missing",
            ]
        );
    }

    #[test]
    fn a_short_line_is_a_problem_of_its_own() {
        let (t, problems) = table(
            Kind::Facilities,
            "name,facility_type,licensed_beds\nMaple,ALF\n",
        );
        assert_eq!(problems, vec!["f.csv:2:*: 2 fields where the header has 3"]);
        assert!(t.unwrap().records.is_empty());
    }
}
