//! Collects every field problem of a request so one 422 lists them all.

use crate::error::{ApiError, FieldErrors};

#[derive(Debug, Default)]
pub struct Validator {
    fields: FieldErrors,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.fields
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Trims and checks a required text field; returns the trimmed value.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            self.add(field, "must not be empty");
        } else if trimmed.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if trimmed.chars().any(|c| c.is_control()) {
            self.add(field, "must not contain control characters");
        }
        trimmed.to_owned()
    }

    /// An optional text field: blank becomes `None`.
    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let value = value?.trim();
        if value.is_empty() {
            return None;
        }
        Some(self.text(field, value, max))
    }

    /// A telephone number as people write it: digits with an optional
    /// leading `+`, spaces, dots, dashes and parentheses; 7–15 digits (E.164's
    /// maximum). Kept as written, trimmed.
    pub fn phone(&mut self, field: &str, value: &str) -> String {
        let trimmed = value.trim();
        let digits = trimmed.chars().filter(char::is_ascii_digit).count();
        let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let allowed = body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '.' | '-'));
        if !allowed || !(7..=15).contains(&digits) || trimmed.chars().count() > 25 {
            self.add(
                field,
                "must be a telephone number: 7 to 15 digits, e.g. +1 503 555 0142",
            );
        }
        trimmed.to_owned()
    }

    pub fn state_code(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        let v = self.opt_text(field, value, 2)?;
        let upper = v.to_ascii_uppercase();
        if upper.len() != 2 || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
            self.add(field, "must be a two-letter state code, e.g. OR");
        }
        Some(upper)
    }

    /// A zone of the IANA time zone database (`America/Chicago`, `UTC`), as
    /// the facility's dates and times are shown in it: a name that only looks
    /// like one ("America/Atlantis") is refused, not quietly read as UTC.
    pub fn timezone(&mut self, field: &str, value: &str) -> String {
        let v = value.trim();
        if v.len() > 64 || v.parse::<chrono_tz::Tz>().is_err() {
            self.add(field, "must be an IANA time zone such as America/Chicago");
        }
        v.to_owned()
    }

    pub fn email(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        let v = self.opt_text(field, value, 254)?;
        let valid = match v.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !v.contains(char::is_whitespace)
            }
            None => false,
        };
        if !valid {
            self.add(field, "must be an email address");
        }
        Some(v)
    }

    pub fn username(&mut self, field: &str, value: &str) -> String {
        let v = value.trim().to_ascii_lowercase();
        let ok = (3..=64).contains(&v.len())
            && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            self.add(field, "3 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        v
    }

    /// Free-form JSON (settings) stored in a jsonb column: every number
    /// within ±10^15. PostgreSQL keeps numbers as exact decimals and prints
    /// f64::MAX back as 309 digits, which the JSON reader then refuses as out
    /// of range: a setting the server could store but never read again (a 500
    /// on every later read of the row, found by schemathesis).
    pub fn json_numbers(&mut self, field: &str, value: &serde_json::Value) {
        const LIMIT: f64 = 1e15;
        fn within(value: &serde_json::Value) -> bool {
            match value {
                serde_json::Value::Number(n) => n.as_f64().is_some_and(|x| x.abs() <= LIMIT),
                serde_json::Value::Array(items) => items.iter().all(within),
                serde_json::Value::Object(map) => map.values().all(within),
                _ => true,
            }
        }
        if !within(value) {
            self.add(
                field,
                "numbers in it must be between -1000000000000000 and 1000000000000000",
            );
        }
    }

    pub fn positive_id(&mut self, field: &str, value: i64) {
        if value <= 0 {
            self.add(field, "must be a positive id");
        }
    }

    /// Nothing failed so far.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The problems collected, by field (for reports that are not a 422).
    pub fn into_fields(self) -> FieldErrors {
        self.fields
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.fields.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.fields))
        }
    }
}

/// Keyset pagination: `cursor` is the last id seen, encoded opaquely.
pub mod cursor {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use crate::error::ApiError;

    pub const DEFAULT_LIMIT: i64 = 50;
    pub const MAX_LIMIT: i64 = 200;

    pub fn encode(last_id: i64) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{last_id}"))
    }

    pub fn decode(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
        let Some(c) = cursor.filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("v1:").and_then(|n| n.parse::<i64>().ok()))
            .map(Some)
            .ok_or_else(|| ApiError::field("cursor", "not a cursor this API issued"))
    }

    pub fn limit(limit: Option<i64>) -> Result<i64, ApiError> {
        match limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::field(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }

    /// Given `limit + 1` rows, trims to `limit` and returns the next cursor.
    pub fn page<T>(
        mut rows: Vec<T>,
        limit: i64,
        id: impl Fn(&T) -> i64,
    ) -> (Vec<T>, Option<String>) {
        let limit = usize::try_from(limit).unwrap_or(0);
        if rows.len() > limit {
            rows.truncate(limit);
            let next = rows.last().map(|r| encode(id(r)));
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_all_problems() {
        let mut v = Validator::new();
        v.text("name", "  ", 10);
        v.timezone("timezone", "chicago");
        v.email("email", Some("nope"));
        v.username("username", "A");
        let Err(ApiError::Validation(f)) = v.finish() else {
            panic!()
        };
        assert_eq!(f.len(), 4);
    }

    #[test]
    fn timezones_and_cursors() {
        let mut v = Validator::new();
        v.timezone("tz", "America/Indiana/Indianapolis");
        v.timezone("tz", "UTC");
        v.timezone("tz", "Etc/GMT+5");
        assert!(v.finish().is_ok());
        for made_up in [
            "America/Atlantis",
            "Europe/Gotham",
            "Mars/Olympus_Mons",
            "utc/",
            "",
        ] {
            let mut v = Validator::new();
            v.timezone("timezone", made_up);
            assert!(v.finish().is_err(), "{made_up} is not in the IANA database");
        }
        assert_eq!(cursor::decode(Some(&cursor::encode(42))).unwrap(), Some(42));
        assert!(cursor::decode(Some("garbage")).is_err());
        assert_eq!(cursor::decode(None).unwrap(), None);
        let (rows, next) = cursor::page(vec![1, 2, 3], 2, |r| *r);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(cursor::decode(next.as_deref()).unwrap(), Some(2));
    }
}
