//! Validated identifiers. Each can only be built through `parse()`, so a value
//! of the type is always well-formed; each serializes as its normalized string.

use serde::{Deserialize, Serialize};

use crate::kinds::truncate_for_message;
use crate::ValidationError;

/// Implements `Display`, `FromStr`, `AsRef<str>` and string serde for a
/// newtype around a normalized `String` with a `parse` constructor.
macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The normalized string form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::str::FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

/// National Provider Identifier: 10 digits whose last is the CMS Luhn check
/// digit computed over the `80840` prefix plus the first nine digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "specta", derive(specta::Type), specta(transparent))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "1234567893"))]
pub struct Npi(String);
string_newtype!(Npi);

impl Npi {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let value = input.trim();
        if value.len() != 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::new("npi", "an NPI is exactly 10 digits"));
        }
        let digits: Vec<u32> = value.bytes().map(|b| u32::from(b - b'0')).collect();
        if digits[0] != 1 && digits[0] != 2 {
            return Err(ValidationError::new("npi", "an NPI starts with 1 or 2"));
        }
        if Self::check_digit(&digits[..9]) != digits[9] {
            return Err(ValidationError::new(
                "npi",
                "the NPI's check digit does not match (mistyped digit?)",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// CMS check digit: Luhn over the nine base digits, doubling from the
    /// rightmost, plus the constant 24 that stands for the `80840` prefix.
    pub fn check_digit(base: &[u32]) -> u32 {
        debug_assert_eq!(base.len(), 9);
        let sum: u32 = base
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| {
                if i % 2 == 0 {
                    let doubled = d * 2;
                    doubled / 10 + doubled % 10
                } else {
                    d
                }
            })
            .sum::<u32>()
            + 24;
        (10 - sum % 10) % 10
    }
}

/// Employer Identification Number, normalized to `NN-NNNNNNN` with a prefix the
/// IRS actually assigns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "specta", derive(specta::Type), specta(transparent))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "12-3456789"))]
pub struct Ein(String);
string_newtype!(Ein);

impl Ein {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let value = input.trim();
        let bytes = value.as_bytes();
        let digits: String = match bytes.len() {
            10 if bytes[2] == b'-' => format!("{}{}", &value[..2], &value[3..]),
            9 => value.to_owned(),
            _ => {
                return Err(ValidationError::new(
                    "tax_id",
                    "an EIN is written NN-NNNNNNN (9 digits)",
                ))
            }
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::new(
                "tax_id",
                "an EIN is written NN-NNNNNNN (9 digits)",
            ));
        }
        let prefix: u32 = digits[..2].parse().unwrap_or(0);
        if !Self::is_assigned_prefix(prefix) {
            return Err(ValidationError::new(
                "tax_id",
                format!("{prefix:02} is not an EIN prefix the IRS assigns"),
            ));
        }
        Ok(Self(format!("{}-{}", &digits[..2], &digits[2..])))
    }

    /// The IRS campus prefixes in use (IRS "How EINs are assigned").
    fn is_assigned_prefix(p: u32) -> bool {
        matches!(p, 1..=6 | 10..=16 | 20..=27 | 30..=48 | 50..=68 | 71..=77 | 80..=88 | 90..=95 | 98 | 99)
    }
}

/// An IEEE 802 MAC address, normalized to lowercase `aa:bb:cc:dd:ee:ff`.
/// Accepts colon, hyphen or Cisco-dot notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "specta", derive(specta::Type), specta(transparent))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "b8:27:eb:12:34:56"))]
pub struct MacAddress([u8; 6]);

impl MacAddress {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        const HELP: &str = "a MAC address is six hex bytes, e.g. b8:27:eb:12:34:56";
        let value = input.trim();
        let hex: String = if value.len() == 17 {
            let sep = value.as_bytes()[2];
            if sep != b':' && sep != b'-' {
                return Err(ValidationError::new("mac_address", HELP));
            }
            let parts: Vec<&str> = value.split(sep as char).collect();
            if parts.len() != 6 || parts.iter().any(|p| p.len() != 2) {
                return Err(ValidationError::new("mac_address", HELP));
            }
            parts.concat()
        } else if value.len() == 14 {
            let parts: Vec<&str> = value.split('.').collect();
            if parts.len() != 3 || parts.iter().any(|p| p.len() != 4) {
                return Err(ValidationError::new("mac_address", HELP));
            }
            parts.concat()
        } else {
            return Err(ValidationError::new("mac_address", HELP));
        };
        let mut bytes = [0u8; 6];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2).unwrap_or(""), 16)
                .map_err(|_| ValidationError::new("mac_address", HELP))?;
        }
        // from_str_radix accepts a leading '+'; reject anything not pure hex.
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ValidationError::new("mac_address", HELP));
        }
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: [u8; 6]) -> Self {
        Self(bytes)
    }

    pub fn bytes(&self) -> [u8; 6] {
        self.0
    }

    /// Set by software (VMs, randomized Wi-Fi MACs), not burned in by a vendor.
    pub fn is_locally_administered(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }
}

impl std::fmt::Display for MacAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl std::str::FromStr for MacAddress {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for MacAddress {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<MacAddress> for String {
    fn from(v: MacAddress) -> String {
        v.to_string()
    }
}

/// A device's hardware-derived UUID, normalized to lowercase hyphenated form.
/// The nil UUID is refused: it is what broken firmware reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "specta", derive(specta::Type), specta(transparent))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Uuid))]
pub struct DeviceUuid(uuid::Uuid);

impl DeviceUuid {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let value = input.trim();
        let parsed = uuid::Uuid::try_parse(value).map_err(|_| {
            ValidationError::new(
                "device_uuid",
                format!(
                    "{:?} is not a UUID (expected 550e8400-e29b-41d4-a716-446655440000)",
                    truncate_for_message(value)
                ),
            )
        })?;
        Self::from_uuid(parsed)
    }

    pub fn from_uuid(uuid: uuid::Uuid) -> Result<Self, ValidationError> {
        if uuid.is_nil() || uuid.is_max() {
            return Err(ValidationError::new(
                "device_uuid",
                "the all-zero or all-one UUID is not a device identity",
            ));
        }
        Ok(Self(uuid))
    }

    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

impl std::fmt::Display for DeviceUuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl std::str::FromStr for DeviceUuid {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for DeviceUuid {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DeviceUuid> for String {
    fn from(v: DeviceUuid) -> String {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn npi_known_values() {
        // CMS's worked example: 123456789 → check digit 3.
        assert_eq!(Npi::parse("1234567893").unwrap().as_str(), "1234567893");
        assert_eq!(Npi::parse(" 1234567893 ").unwrap().as_str(), "1234567893");
        let err = Npi::parse("1234567890").unwrap_err();
        assert_eq!(err.field, "npi");
        assert!(err.message.contains("check digit"));
        assert!(Npi::parse("123456789").is_err());
        assert!(Npi::parse("12345678931").is_err());
        assert!(Npi::parse("123456789a").is_err());
        assert!(Npi::parse("３234567893").is_err());
        assert!(Npi::parse("").is_err());
    }

    #[test]
    fn npi_serde_validates() {
        assert!(serde_json::from_str::<Npi>("\"1234567893\"").is_ok());
        assert!(serde_json::from_str::<Npi>("\"1234567890\"").is_err());
    }

    #[test]
    fn ein_formats() {
        assert_eq!(Ein::parse("12-3456789").unwrap().as_str(), "12-3456789");
        assert_eq!(Ein::parse("123456789").unwrap().as_str(), "12-3456789");
        assert!(Ein::parse("00-1234567").is_err());
        assert!(Ein::parse("07-1234567").is_err());
        assert!(Ein::parse("12-345678").is_err());
        assert!(Ein::parse("12_3456789").is_err());
        assert!(Ein::parse("1a-3456789").is_err());
        assert!(Ein::parse("12-34567é9").is_err());
    }

    #[test]
    fn mac_formats() {
        let mac = MacAddress::parse("B8-27-EB-12-34-56").unwrap();
        assert_eq!(mac.to_string(), "b8:27:eb:12:34:56");
        assert_eq!(MacAddress::parse("b827.eb12.3456").unwrap(), mac);
        assert!(!mac.is_locally_administered());
        assert!(MacAddress::parse("02:00:00:00:00:01")
            .unwrap()
            .is_locally_administered());
        assert!(MacAddress::parse("b8:27:eb:12:34").is_err());
        assert!(MacAddress::parse("b8:27:eb:12:34:5g").is_err());
        assert!(MacAddress::parse("b8:27-eb:12:34:56").is_err());
        assert!(MacAddress::parse("+8:27:eb:12:34:56").is_err());
    }

    #[test]
    fn device_uuid_formats() {
        let u = DeviceUuid::parse("550E8400-E29B-41D4-A716-446655440000").unwrap();
        assert_eq!(u.to_string(), "550e8400-e29b-41d4-a716-446655440000");
        assert!(DeviceUuid::parse("00000000-0000-0000-0000-000000000000").is_err());
        assert!(DeviceUuid::parse("not-a-uuid").is_err());
        let json = serde_json::to_string(&u).unwrap();
        assert_eq!(serde_json::from_str::<DeviceUuid>(&json).unwrap(), u);
    }

    proptest! {
        #[test]
        fn npi_accepts_exactly_the_valid_check_digit(base in proptest::collection::vec(0u32..10, 9)) {
            let mut base = base;
            base[0] = 1 + base[0] % 2;
            let check = Npi::check_digit(&base);
            let s: String = base.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
            for candidate in 0..10u32 {
                let full = format!("{s}{candidate}");
                prop_assert_eq!(Npi::parse(&full).is_ok(), candidate == check);
            }
        }

        #[test]
        fn npi_single_digit_typos_are_caught(base in proptest::collection::vec(0u32..10, 9), pos in 0usize..10, delta in 1u32..10) {
            let mut base = base;
            base[0] = 1;
            let mut digits = base.clone();
            digits.push(Npi::check_digit(&base));
            digits[pos] = (digits[pos] + delta) % 10;
            let s: String = digits.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
            // A changed digit either breaks the Luhn sum or the leading-digit rule.
            prop_assert!(Npi::parse(&s).is_err());
        }

        #[test]
        fn parsers_never_panic_on_garbage(s in "\\PC{0,40}") {
            let _ = Npi::parse(&s);
            let _ = Ein::parse(&s);
            let _ = MacAddress::parse(&s);
            let _ = DeviceUuid::parse(&s);
        }

        #[test]
        fn mac_round_trips(bytes in proptest::array::uniform6(any::<u8>())) {
            let mac = MacAddress::from_bytes(bytes);
            prop_assert_eq!(MacAddress::parse(&mac.to_string()).unwrap(), mac);
            prop_assert_eq!(MacAddress::parse(&mac.to_string().to_uppercase().replace(':', "-")).unwrap(), mac);
        }

        #[test]
        fn ein_round_trips(prefix in 10u32..17, rest in 0u32..10_000_000) {
            let s = format!("{prefix:02}-{rest:07}");
            let ein = Ein::parse(&s).unwrap();
            prop_assert_eq!(ein.as_str(), s.as_str());
            prop_assert_eq!(Ein::parse(&s.replace('-', "")).unwrap(), ein);
        }

        #[test]
        fn device_uuid_round_trips(bits in any::<u128>().prop_filter("not nil/max", |b| *b != 0 && *b != u128::MAX)) {
            let u = uuid::Uuid::from_u128(bits);
            let d = DeviceUuid::parse(&u.to_string().to_uppercase()).unwrap();
            prop_assert_eq!(d.as_uuid(), u);
        }
    }
}
