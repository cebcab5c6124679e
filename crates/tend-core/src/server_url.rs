//! The central API's address as typed by an administrator during setup.
//! HTTPS is required; plain HTTP is accepted only for loopback, where a
//! developer or the demo runs the API on the same machine.

use serde::Serialize;
use tend_domain::ValidationError;

/// A validated API base URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ServerUrlCheck {
    /// The URL without trailing slash, query or fragment: what the app stores.
    pub normalized: String,
    pub is_loopback: bool,
}

/// Validates and normalizes an API address.
pub fn check_server_url(input: &str) -> Result<ServerUrlCheck, ValidationError> {
    const FIELD: &str = "server_url";
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::new(
            FIELD,
            "enter the server address, e.g. https://tend.example.org",
        ));
    }
    if trimmed.len() > 2048 {
        return Err(ValidationError::new(FIELD, "the address is too long"));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| {
        ValidationError::new(
            FIELD,
            format!("this is not a web address ({e}); e.g. https://tend.example.org"),
        )
    })?;
    let host = url
        .host()
        .ok_or_else(|| ValidationError::new(FIELD, "the address has no host name"))?;
    let is_loopback = match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback => {}
        "http" => {
            return Err(ValidationError::new(
                FIELD,
                "the server must use https:// (plain http is allowed only for this computer, e.g. http://localhost:8080)",
            ))
        }
        other => {
            return Err(ValidationError::new(
                FIELD,
                format!("{other}:// is not supported; use https://"),
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ValidationError::new(
            FIELD,
            "do not put a user name or password in the address",
        ));
    }
    let mut normalized = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        normalized.push_str(&format!(":{port}"));
    }
    normalized.push_str(url.path().trim_end_matches('/'));
    Ok(ServerUrlCheck {
        normalized,
        is_loopback,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_https_and_loopback_http() {
        let c = check_server_url(" https://Tend.Example.org/ ").unwrap();
        assert_eq!(c.normalized, "https://tend.example.org");
        assert!(!c.is_loopback);
        assert_eq!(
            check_server_url("tend.example.org").unwrap().normalized,
            "https://tend.example.org"
        );
        let c = check_server_url("http://localhost:8080").unwrap();
        assert_eq!(c.normalized, "http://localhost:8080");
        assert!(c.is_loopback);
        assert!(
            check_server_url("http://127.0.0.1:9/api/")
                .unwrap()
                .is_loopback
        );
        assert_eq!(
            check_server_url("http://[::1]:8080").unwrap().normalized,
            "http://[::1]:8080"
        );
    }

    #[test]
    fn refuses_plain_http_elsewhere_and_junk() {
        let err = check_server_url("http://tend.example.org").unwrap_err();
        assert!(err.message.contains("https"), "{}", err.message);
        assert_eq!(err.field, "server_url");
        assert!(check_server_url("").is_err());
        assert!(check_server_url("ftp://x.org").is_err());
        assert!(check_server_url("https://user:pw@x.org").is_err());
        assert!(check_server_url("https://").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = check_server_url(&s);
        }
    }
}
