//! FHIR search parameters: the query string (or a `_search` form body) as
//! name/value pairs, and the value types Tend's searches use — token
//! (`system|code`), reference (`Patient/7` or `7`), string (case-insensitive
//! prefix), date with its comparison prefix (`ge2026-03-01`), and paging.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::error::FhirError;

/// Largest page (`_count`).
pub const MAX_COUNT: i64 = 200;
pub const DEFAULT_COUNT: i64 = 50;

/// The parameters of one search, in the order given.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` text (a query string or a
    /// `_search` body).
    pub fn parse(text: &str) -> Result<Self, FhirError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text)
            .map_err(|_| FhirError::invalid("", "the search parameters are not URL-encoded"))?;
        Ok(Self { pairs })
    }

    pub fn merge(mut self, other: Params) -> Self {
        self.pairs.extend(other.pairs);
        self
    }

    /// Every value of `name` (a parameter given twice means AND).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The one value of `name`; given twice is an error.
    pub fn one(&self, name: &str) -> Result<Option<&str>, FhirError> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(FhirError::invalid(name, "may be given only once"));
        }
        Ok(first)
    }

    /// The names given that are not in `known` (nor the result parameters
    /// every search takes): a lenient search ignores them and leaves them out
    /// of its `self` link; `Prefer: handling=strict` refuses them.
    pub fn unknown(&self, known: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = self
            .pairs
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| !known.contains(&n.as_str()) && !RESULT_PARAMS.contains(&n.as_str()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The pairs a `self` link repeats: the known ones, without the cursor.
    pub fn canonical(&self, known: &[&str]) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|(n, _)| known.contains(&n.as_str()) || n == "_count")
            .cloned()
            .collect()
    }

    /// `_count`: 1–200, default 50.
    pub fn count(&self) -> Result<i64, FhirError> {
        match self.one("_count")? {
            None => Ok(DEFAULT_COUNT),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(n),
                _ => Err(FhirError::invalid(
                    "_count",
                    format!("must be a whole number from 1 to {MAX_COUNT}"),
                )),
            },
        }
    }

    pub fn cursor(&self) -> Result<Option<&str>, FhirError> {
        self.one("_cursor")
    }
}

/// Parameters every search accepts besides its own.
const RESULT_PARAMS: [&str; 3] = ["_count", "_cursor", "_format"];

/// A token: `system|code`, `|code` (no system), `system|` or `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    /// `None`: any system; `Some("")`: no system.
    pub system: Option<&'a str>,
    pub code: Option<&'a str>,
}

impl<'a> Token<'a> {
    pub fn parse(value: &'a str) -> Self {
        match value.split_once('|') {
            Some((system, code)) => Token {
                system: Some(system),
                code: Some(code).filter(|c| !c.is_empty()),
            },
            None => Token {
                system: None,
                code: Some(value),
            },
        }
    }
}

/// The values of a comma-separated parameter (comma means OR).
pub fn any_of(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty())
}

/// A reference to a resource of type `kind`: `Kind/7`, or a bare `7`.
pub fn reference(name: &str, value: &str, kind: &str) -> Result<i64, FhirError> {
    let id = match value.split_once('/') {
        Some((k, id)) if k == kind => id,
        Some(_) => {
            return Err(FhirError::invalid(
                name,
                format!("must reference a {kind} (\"{kind}/id\")"),
            ))
        }
        None => value,
    };
    id.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| FhirError::invalid(name, format!("\"{kind}/id\" with a numeric id")))
}

/// `true` or `false`.
pub fn boolean(name: &str, value: &str) -> Result<bool, FhirError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(FhirError::invalid(name, "must be true or false")),
    }
}

/// The comparison of a date parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

/// A date search value: the instant range its precision covers
/// (`2026-03` is the whole month), and how to compare with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateParam {
    pub prefix: Prefix,
    pub start: DateTime<Utc>,
    /// Exclusive.
    pub end: DateTime<Utc>,
}

impl DateParam {
    pub fn parse(name: &str, value: &str) -> Result<Self, FhirError> {
        let (prefix, rest) = match value.get(..2) {
            Some("eq") => (Prefix::Eq, &value[2..]),
            Some("ne") => (Prefix::Ne, &value[2..]),
            Some("gt") => (Prefix::Gt, &value[2..]),
            Some("lt") => (Prefix::Lt, &value[2..]),
            Some("ge") => (Prefix::Ge, &value[2..]),
            Some("le") => (Prefix::Le, &value[2..]),
            _ => (Prefix::Eq, value),
        };
        let bad = || {
            FhirError::invalid(
                name,
                "must be a FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz), optionally after eq, ne, gt, lt, ge or le",
            )
        };
        let (start, end) = if rest.len() > 10 {
            let at = DateTime::parse_from_rfc3339(rest)
                .map_err(|_| bad())?
                .with_timezone(&Utc);
            (at, at + Duration::seconds(1))
        } else {
            let parts: Vec<&str> = rest.split('-').collect();
            let number = |s: &str, len: usize| {
                (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| s.parse::<u32>().ok())
                    .flatten()
            };
            let day = |y: u32, m: u32, d: u32| {
                NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| Utc.from_utc_datetime(&d))
            };
            match parts.as_slice() {
                [y] => {
                    let y = number(y, 4).ok_or_else(bad)?;
                    (
                        day(y, 1, 1).ok_or_else(bad)?,
                        day(y + 1, 1, 1).ok_or_else(bad)?,
                    )
                }
                [y, m] => {
                    let (y, m) = (number(y, 4).ok_or_else(bad)?, number(m, 2).ok_or_else(bad)?);
                    let start = day(y, m, 1).ok_or_else(bad)?;
                    let next = if m == 12 {
                        day(y + 1, 1, 1)
                    } else {
                        day(y, m + 1, 1)
                    };
                    (start, next.ok_or_else(bad)?)
                }
                [y, m, d] => {
                    let start = day(
                        number(y, 4).ok_or_else(bad)?,
                        number(m, 2).ok_or_else(bad)?,
                        number(d, 2).ok_or_else(bad)?,
                    )
                    .ok_or_else(bad)?;
                    (start, start + Duration::days(1))
                }
                _ => return Err(bad()),
            }
        };
        Ok(Self { prefix, start, end })
    }

    /// The same comparison against a `date` column (a birth date).
    pub fn dates(&self) -> (NaiveDate, NaiveDate) {
        let end = self.end - Duration::nanoseconds(1);
        (
            self.start.date_naive(),
            NaiveDate::from_ymd_opt(end.year(), end.month(), end.day()).unwrap_or(NaiveDate::MAX),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_system_and_code() {
        assert_eq!(
            Token::parse("http://loinc.org|8867-4"),
            Token {
                system: Some("http://loinc.org"),
                code: Some("8867-4")
            }
        );
        assert_eq!(
            Token::parse("8867-4"),
            Token {
                system: None,
                code: Some("8867-4")
            }
        );
        assert_eq!(Token::parse("urn:x|").code, None);
    }

    #[test]
    fn references_take_the_type_or_a_bare_id() {
        assert_eq!(reference("patient", "Patient/7", "Patient").unwrap(), 7);
        assert_eq!(reference("patient", "7", "Patient").unwrap(), 7);
        assert!(reference("patient", "Group/7", "Patient").is_err());
        assert!(reference("patient", "Patient/x", "Patient").is_err());
    }

    #[test]
    fn a_date_covers_its_precision() {
        let d = DateParam::parse("date", "ge2026-03").unwrap();
        assert_eq!(d.prefix, Prefix::Ge);
        assert_eq!(d.start.to_rfc3339(), "2026-03-01T00:00:00+00:00");
        assert_eq!(d.end.to_rfc3339(), "2026-04-01T00:00:00+00:00");
        let y = DateParam::parse("date", "2025").unwrap();
        assert_eq!(y.end.to_rfc3339(), "2026-01-01T00:00:00+00:00");
        let t = DateParam::parse("date", "lt2026-03-01T10:00:00+02:00").unwrap();
        assert_eq!(t.start.to_rfc3339(), "2026-03-01T08:00:00+00:00");
        assert_eq!(
            DateParam::parse("birthdate", "1940-02-03").unwrap().dates(),
            (
                NaiveDate::from_ymd_opt(1940, 2, 3).unwrap(),
                NaiveDate::from_ymd_opt(1940, 2, 3).unwrap()
            )
        );
        for bad in ["yesterday", "2026-13", "2026-02-30", "20260301", "ge"] {
            assert!(DateParam::parse("date", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_parameters_are_named_once() {
        let p = Params::parse("name=ada&_count=5&foo=1&foo=2&_sort=x").unwrap();
        assert_eq!(p.unknown(&["name"]), ["_sort", "foo"]);
        assert_eq!(p.count().unwrap(), 5);
        assert!(Params::parse("_count=0").unwrap().count().is_err());
        assert!(Params::parse("_count=5&_count=6").unwrap().count().is_err());
    }
}
