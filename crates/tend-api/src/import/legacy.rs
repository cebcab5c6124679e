//! `tend-api import --legacy-database URL`: the design's migration path for
//! an existing, single-tenant installation. Its `users` and `patients` gained
//! a nullable `facility_id` (or none); Tend's tables have had it NOT NULL from
//! the start. So the legacy rows are read (never written: one read-only
//! transaction) and brought in through the same checks and writes as the CSV
//! files, each row with a facility: the organization's facility its
//! `facility_id` names, else the organization's default facility, created
//! once when needed and marked `settings.default_facility = true` so that a
//! second run finds it instead of creating another.
//!
//! Problems are reported as `legacy users:ID:COLUMN: message`, ID being the
//! legacy row's id (0 for the table itself).

use std::collections::{HashMap, HashSet};

use sqlx::{PgConnection, PgPool};
use tend_domain::FacilityType;

use super::{
    check_organization, check_staff_against_database, parse_residents, parse_staff, sort_problems,
    write_parsed, Actor, FacilityNames, FacilityRow, Outcome, Parsed, Problem, Report,
    ResidentColumns, Table,
};

/// The name the default facility gets unless told otherwise (the design's).
pub const DEFAULT_FACILITY_NAME: &str = "Main Campus";

/// The facility for legacy rows without one (or with one the organization
/// does not have), when it must be created.
#[derive(Debug, Clone)]
pub struct DefaultFacility {
    pub name: String,
    /// Absent: the type of the organization's first facility.
    pub facility_type: Option<FacilityType>,
}

impl Default for DefaultFacility {
    fn default() -> Self {
        Self {
            name: DEFAULT_FACILITY_NAME.to_owned(),
            facility_type: None,
        }
    }
}

/// A legacy table's columns: Tend's column, the legacy one, and whether it
/// must be there.
struct Mapping {
    table: &'static str,
    file: &'static str,
    columns: &'static [(&'static str, &'static str, bool)],
}

/// The legacy `users`: one staff row each (their password is not carried
/// over: they sign in by badge, or once an administrator sets a password).
const USERS: Mapping = Mapping {
    table: "users",
    file: "legacy users",
    columns: &[
        ("employee_id", "employee_id", true),
        ("username", "username", true),
        ("full_name", "full_name", true),
        ("role", "role", true),
        ("email", "email", false),
    ],
};

/// The legacy `patients`: one resident each.
const PATIENTS: Mapping = Mapping {
    table: "patients",
    file: "legacy patients",
    columns: &[
        ("mrn", "mrn", true),
        ("first_name", "first_name", true),
        ("last_name", "last_name", true),
        ("date_of_birth", "date_of_birth", true),
        ("status", "status", true),
        ("room", "room", false),
        ("admission_date", "admission_date", false),
        ("discharge_date", "discharge_date", false),
    ],
};

/// A legacy table read whole: its rows' ids, their legacy `facility_id`,
/// and the mapped cells (in `Mapping::columns` order; absent ones empty).
struct LegacyRows {
    present: HashSet<&'static str>,
    rows: Vec<(u64, Option<i64>, Vec<String>)>,
}

/// Reads one legacy table; `None` (with problems) when it cannot be mapped.
async fn read_legacy(
    conn: &mut PgConnection,
    mapping: &Mapping,
    problems: &mut Vec<Problem>,
) -> anyhow::Result<Option<LegacyRows>> {
    let mut report = Report {
        problems,
        file: mapping.file.to_owned(),
    };
    let types: HashMap<String, String> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .bind(mapping.table)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    if types.is_empty() {
        report.add(
            0,
            "*",
            format!("the legacy database has no table {}", mapping.table),
        );
        return Ok(None);
    }
    let mut ok = true;
    for required in ["id"]
        .iter()
        .chain(mapping.columns.iter().filter(|c| c.2).map(|c| &c.1))
    {
        if !types.contains_key(*required) {
            report.add(0, required, "required column is missing");
            ok = false;
        }
    }
    if !ok {
        return Ok(None);
    }
    // Every cell as text; dates as YYYY-MM-DD whatever their SQL type.
    let cell = |column: &str| -> String {
        match types.get(column).map(String::as_str) {
            None => "NULL::text".to_owned(),
            Some("date" | "timestamp without time zone" | "timestamp with time zone") => {
                format!("to_char(\"{column}\", 'YYYY-MM-DD')")
            }
            Some(_) => format!("\"{column}\"::text"),
        }
    };
    let facility = if types.contains_key("facility_id") {
        // A value that is not a number names no facility of Tend's.
        "CASE WHEN \"facility_id\"::text ~ '^[0-9]{1,18}$' THEN \"facility_id\"::text::bigint END"
    } else {
        "NULL::bigint"
    };
    let select = format!(
        "SELECT \"id\"::text, {facility}, ARRAY[{}]::text[] FROM \"{}\" ORDER BY \"id\"",
        mapping
            .columns
            .iter()
            .map(|c| cell(c.1))
            .collect::<Vec<_>>()
            .join(", "),
        mapping.table
    );
    let rows: Vec<(String, Option<i64>, Vec<Option<String>>)> =
        sqlx::query_as(&select).fetch_all(&mut *conn).await?;
    Ok(Some(LegacyRows {
        present: mapping
            .columns
            .iter()
            .filter(|c| types.contains_key(c.1))
            .map(|c| c.0)
            .collect(),
        rows: rows
            .into_iter()
            .enumerate()
            .map(|(i, (id, facility, cells))| {
                let line = id.parse::<u64>().unwrap_or(i as u64 + 1);
                let cells = cells.into_iter().map(Option::unwrap_or_default).collect();
                (line, facility, cells)
            })
            .collect(),
    }))
}

/// The legacy rows as a table of the CSV shape, each with its facility's name.
fn table(mapping: &Mapping, legacy: LegacyRows, facility: impl Fn(Option<i64>) -> String) -> Table {
    let mut columns = HashMap::from([("facility", 0)]);
    let mut order = HashMap::from([("facility".to_owned(), 0)]);
    for (i, (tend, _, _)) in mapping.columns.iter().enumerate() {
        if legacy.present.contains(tend) {
            columns.insert(*tend, i + 1);
        }
        order.insert((*tend).to_owned(), i + 1);
    }
    let records = legacy
        .rows
        .into_iter()
        .map(|(line, facility_id, cells)| {
            let mut record = csv::StringRecord::new();
            record.push_field(&facility(facility_id));
            for cell in &cells {
                record.push_field(cell);
            }
            (line, record)
        })
        .collect();
    Table {
        file: mapping.file.to_owned(),
        columns,
        order,
        records,
    }
}

/// Brings the legacy database's users and patients into the organization.
/// With problems nothing is written; otherwise the default facility (when
/// needed), the staff and the residents are written in one transaction each
/// (or rehearsed and rolled back in a dry run).
pub async fn run_legacy(
    pool: &PgPool,
    organization_id: i64,
    legacy: &PgPool,
    default: &DefaultFacility,
    dry_run: bool,
) -> anyhow::Result<Outcome> {
    let mut conn = pool.begin().await?;
    check_organization(&mut conn, organization_id).await?;
    let mut problems = Vec::new();
    // One snapshot of both tables, and nothing written there.
    let mut source = legacy
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let users = read_legacy(&mut source, &USERS, &mut problems).await?;
    let patients = read_legacy(&mut source, &PATIENTS, &mut problems).await?;
    source.rollback().await?;

    let facilities: Vec<(i64, String, String, bool, String)> = sqlx::query_as(
        "SELECT id, name, facility_type, settings->>'default_facility' IS NOT DISTINCT FROM 'true', \
         timezone FROM facilities WHERE organization_id = $1 ORDER BY id",
    )
    .bind(organization_id)
    .fetch_all(&mut *conn)
    .await?;
    let by_id: HashMap<i64, String> = facilities
        .iter()
        .map(|(id, name, ..)| (*id, name.clone()))
        .collect();
    let known = |f: Option<i64>| f.is_some_and(|f| by_id.contains_key(&f));
    let needs_default = users
        .iter()
        .chain(patients.iter())
        .flat_map(|t| t.rows.iter())
        .any(|(_, f, _)| !known(*f));
    let existing_default = facilities.iter().find(|f| f.3).map(|f| f.1.clone());
    // Rows name the default facility even when it cannot be created: that
    // is one problem of its own, not one per row.
    let creating = needs_default && existing_default.is_none();
    let mut create = None;
    let default_name = match existing_default {
        Some(name) => name,
        None => {
            if creating {
                let mut report = Report {
                    problems: &mut problems,
                    file: "default facility".to_owned(),
                };
                if facilities.iter().any(|f| f.1 == default.name) {
                    report.add(
                        0,
                        "name",
                        format!(
                            "a facility of the organization is named {:?} but is not its default \
                             facility; give another --default-facility-name",
                            default.name
                        ),
                    );
                }
                let facility_type = default.facility_type.or_else(|| {
                    facilities
                        .first()
                        .and_then(|f| FacilityType::parse(&f.2).ok())
                });
                match facility_type {
                    Some(facility_type) => {
                        create = Some(FacilityRow {
                            name: default.name.clone(),
                            facility_type,
                            licensed_beds: None,
                            // Dates are midnight in the facility's zone: the
                            // organization's own, where it has one.
                            extra: facilities
                                .first()
                                .map(|f| vec![("timezone", Some(f.4.clone()))])
                                .unwrap_or_default(),
                            default_facility: true,
                        })
                    }
                    None => report.add(
                        0,
                        "facility_type",
                        "the organization has no facility to take the type from; give --default-facility-type",
                    ),
                }
            }
            default.name.clone()
        }
    };
    let facility = |f: Option<i64>| match f.and_then(|f| by_id.get(&f)) {
        Some(name) => name.clone(),
        None => default_name.clone(),
    };
    let existing = {
        let mut counts = HashMap::new();
        for (_, name, ..) in &facilities {
            *counts.entry(name.clone()).or_insert(0) += 1;
        }
        counts
    };
    let names = FacilityNames {
        existing,
        in_file: if creating {
            HashSet::from([default.name.clone()])
        } else {
            HashSet::new()
        },
        organization_id,
    };
    let mut parsed = Parsed {
        facilities: create.map(|f| ("default facility".to_owned(), vec![f])),
        staff: None,
        residents: None,
    };
    if let Some(users) = users {
        let table = table(&USERS, users, facility);
        let start = problems.len();
        let mut report = Report {
            problems: &mut problems,
            file: table.file.clone(),
        };
        let rows = parse_staff(&table, &names, &mut report);
        check_staff_against_database(&mut conn, organization_id, &rows, &mut report).await?;
        sort_problems(&mut problems[start..], &table.order);
        parsed.staff = Some((table.file, rows));
    }
    if let Some(patients) = patients {
        let table = table(&PATIENTS, patients, facility);
        let start = problems.len();
        let mut report = Report {
            problems: &mut problems,
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
    drop(conn);
    if !problems.is_empty() {
        return Ok(Outcome::Problems(problems));
    }
    write_parsed(pool, organization_id, parsed, dry_run, &Actor::Owner).await
}
