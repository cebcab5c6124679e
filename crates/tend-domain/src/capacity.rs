//! Facility capacity math from the seed: occupancy rate and available beds.
//! Both are absent when a facility has no licensed beds (home health).
//! Also the span of occupancy history a chart may ask for.

use crate::ValidationError;

/// Census as a percentage of licensed beds, rounded to one decimal
/// (32 beds, 28 census → 87.5). `None` without licensed beds.
pub fn occupancy_rate(licensed_beds: Option<i32>, current_census: i32) -> Option<f64> {
    let beds = licensed_beds.filter(|b| *b > 0)?;
    let census = current_census.max(0);
    // Integer arithmetic in tenths avoids binary-float rounding surprises
    // (e.g. 1/8 → 12.5 exactly, 2/3 → 66.7), rounding half away from zero.
    let tenths = (i64::from(census) * 1000 * 2 + i64::from(beds)) / (i64::from(beds) * 2);
    Some(tenths as f64 / 10.0)
}

/// Licensed beds minus census, never negative. `None` without licensed beds.
pub fn available_beds(licensed_beds: Option<i32>, current_census: i32) -> Option<i32> {
    let beds = licensed_beds.filter(|b| *b > 0)?;
    Some(beds.saturating_sub(current_census.max(0)).max(0))
}

/// How many days of census history to show, ending today: 1 to 365.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HistoryDays(u16);

impl HistoryDays {
    /// What a chart shows when it does not say.
    pub const DEFAULT: Self = Self(30);
    /// A year: the longest span one request may ask for.
    pub const MAX: u16 = 365;

    pub fn new(days: i64) -> Result<Self, ValidationError> {
        u16::try_from(days)
            .ok()
            .filter(|d| (1..=Self::MAX).contains(d))
            .map(Self)
            .ok_or_else(|| {
                ValidationError::new(
                    "days",
                    format!("must be a whole number of days from 1 to {}", Self::MAX),
                )
            })
    }

    /// A query-string value such as `"90"`.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        input
            .trim()
            .parse::<i64>()
            .map_err(|_| {
                ValidationError::new(
                    "days",
                    format!("must be a whole number of days from 1 to {}", Self::MAX),
                )
            })
            .and_then(Self::new)
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl Default for HistoryDays {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn history_days_are_one_to_a_year() {
        assert_eq!(HistoryDays::parse("90").unwrap().get(), 90);
        assert_eq!(HistoryDays::parse(" 1 ").unwrap().get(), 1);
        assert_eq!(HistoryDays::new(365).unwrap().get(), 365);
        assert_eq!(HistoryDays::default().get(), 30);
        for bad in ["0", "366", "-5", "ten", "", "1.5", "99999999999999999999"] {
            let err = HistoryDays::parse(bad).unwrap_err();
            assert_eq!(err.field, "days", "{bad}");
            assert!(err.message.contains("1 to 365"), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn seed_examples() {
        assert_eq!(occupancy_rate(Some(32), 28), Some(87.5));
        assert_eq!(available_beds(Some(32), 28), Some(4));
        assert_eq!(occupancy_rate(Some(48), 44), Some(91.7));
        assert_eq!(occupancy_rate(Some(16), 15), Some(93.8));
        assert_eq!(occupancy_rate(Some(3), 2), Some(66.7));
        assert_eq!(occupancy_rate(Some(3), 1), Some(33.3));
    }

    #[test]
    fn home_health_has_no_capacity() {
        assert_eq!(occupancy_rate(None, 45), None);
        assert_eq!(available_beds(None, 45), None);
        assert_eq!(occupancy_rate(Some(0), 0), None);
    }

    #[test]
    fn over_census_never_goes_negative() {
        assert_eq!(available_beds(Some(10), 12), Some(0));
        assert_eq!(occupancy_rate(Some(10), 12), Some(120.0));
    }

    proptest! {
        #[test]
        fn rate_matches_float_math_to_one_decimal(beds in 1i32..100_000, census in 0i32..200_000) {
            let rate = occupancy_rate(Some(beds), census).unwrap();
            let exact = f64::from(census) / f64::from(beds) * 100.0;
            prop_assert!((rate - exact).abs() <= 0.05 + 1e-9, "{rate} vs {exact}");
            prop_assert!(((rate * 10.0).round() - rate * 10.0).abs() < 1e-6);
        }

        #[test]
        fn available_is_bounded(beds in 1i32..100_000, census in -10i32..200_000) {
            let avail = available_beds(Some(beds), census).unwrap();
            prop_assert!(avail >= 0 && avail <= beds);
            if census >= 0 && census <= beds {
                prop_assert_eq!(avail, beds - census);
            }
        }

        #[test]
        fn extreme_inputs_do_not_panic(beds in any::<i32>(), census in any::<i32>()) {
            let _ = occupancy_rate(Some(beds), census);
            let _ = available_beds(Some(beds), census);
        }
    }
}
