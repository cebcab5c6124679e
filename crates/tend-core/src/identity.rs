//! Who this device is: a stable `device_uuid` from the best hardware source
//! available, the primary MAC address, and (in [`key`]) the device's Ed25519
//! key pair kept in the vault's secret store.
//!
//! Every file is read below a configurable root (`/` in the app), so tests run
//! against fixture trees instead of this machine's real identity.

pub mod key;

pub use key::{DeviceKey, DEVICE_KEY_SECRET};

use std::path::PathBuf;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tend_domain::wire::{EnrollDevice, Secret};
use tend_domain::{DeviceType, DeviceUuid, MacAddress};

/// Tend's application id for app-specific machine ids (as in systemd's
/// `sd_id128_get_machine_app_specific`). Fixed forever: changing it changes
/// every device's `device_uuid`.
pub const APP_ID: [u8; 16] = [
    0x6e, 0x1d, 0x3a, 0x52, 0x8c, 0x4b, 0x47, 0x0e, 0x9f, 0x2a, 0x71, 0xd5, 0x0b, 0xc3, 0x8e, 0x14,
];

/// Where the `device_uuid` came from (shown to the admin at enrollment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum IdentitySource {
    /// Linux DMI/SMBIOS system UUID (`/sys/class/dmi/id/product_uuid`).
    DmiProductUuid,
    /// Raspberry Pi SoC serial (`/proc/device-tree/serial-number`), hashed.
    RaspberryPiSerial,
    /// macOS `IOPlatformUUID`.
    MacPlatformUuid,
    /// Windows `MachineGuid`, hashed.
    WindowsMachineGuid,
    /// `/etc/machine-id`, hashed (never sent raw: it is confidential).
    MachineId,
}

impl IdentitySource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DmiProductUuid => "dmi_product_uuid",
            Self::RaspberryPiSerial => "raspberry_pi_serial",
            Self::MacPlatformUuid => "mac_platform_uuid",
            Self::WindowsMachineGuid => "windows_machine_guid",
            Self::MachineId => "machine_id",
        }
    }
}

/// What the device reports about its hardware at enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardwareIdentity {
    pub device_uuid: DeviceUuid,
    pub source: IdentitySource,
    /// The primary interface's MAC, when one was found.
    pub mac_address: Option<MacAddress>,
}

/// No usable identity source was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no usable hardware identity: {0}")]
pub struct NoIdentity(pub String);

impl From<NoIdentity> for crate::CoreError {
    fn from(e: NoIdentity) -> Self {
        crate::CoreError::Config(e.to_string())
    }
}

/// Reads identity sources below `root` (`/` in production).
#[derive(Debug, Clone)]
pub struct IdentityProbe {
    root: PathBuf,
}

impl Default for IdentityProbe {
    fn default() -> Self {
        Self::new("/")
    }
}

impl IdentityProbe {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    fn read(&self, absolute: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.path(absolute)).ok()?;
        // Sources are tiny; anything large is not what we expect.
        (bytes.len() <= 4096).then_some(bytes)
    }

    /// The best available identity, in order: DMI, Raspberry Pi serial, the
    /// platform's own id (macOS/Windows), then `/etc/machine-id`.
    pub fn detect(&self) -> Result<HardwareIdentity, NoIdentity> {
        let (device_uuid, source) = self
            .dmi_product_uuid()
            .map(|u| (u, IdentitySource::DmiProductUuid))
            .or_else(|| {
                self.raspberry_pi_serial()
                    .map(|u| (u, IdentitySource::RaspberryPiSerial))
            })
            .or_else(platform_identity)
            .or_else(|| self.machine_id().map(|u| (u, IdentitySource::MachineId)))
            .ok_or_else(|| {
                NoIdentity(
                    "no DMI product_uuid, Raspberry Pi serial, platform id or /etc/machine-id"
                        .to_owned(),
                )
            })?;
        Ok(HardwareIdentity {
            device_uuid,
            source,
            mac_address: self.primary_mac(),
        })
    }

    /// DMI `product_uuid`, unless it is a well-known placeholder.
    pub fn dmi_product_uuid(&self) -> Option<DeviceUuid> {
        let raw = self.read("/sys/class/dmi/id/product_uuid")?;
        parse_dmi_uuid(std::str::from_utf8(&raw).ok()?)
    }

    /// The Pi's SoC serial, as an app-specific UUID.
    pub fn raspberry_pi_serial(&self) -> Option<DeviceUuid> {
        let raw = self.read("/proc/device-tree/serial-number")?;
        let serial = parse_pi_serial(&raw)?;
        app_specific_uuid(serial.as_bytes())
    }

    /// `/etc/machine-id` as an app-specific UUID (the raw id never leaves).
    pub fn machine_id(&self) -> Option<DeviceUuid> {
        let raw = self.read("/etc/machine-id")?;
        let id = parse_machine_id(std::str::from_utf8(&raw).ok()?)?;
        app_specific_uuid(&id)
    }

    /// The primary interface's MAC: physical before virtual, universally
    /// administered before locally administered (random/VM), then by name.
    pub fn primary_mac(&self) -> Option<MacAddress> {
        let dir = self.path("/sys/class/net");
        let mut candidates: Vec<(bool, bool, String, MacAddress)> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                if is_virtual_name(&name) {
                    return None;
                }
                let iface = dir.join(&name);
                let text = std::fs::read_to_string(iface.join("address")).ok()?;
                let mac = MacAddress::parse(text.trim()).ok()?;
                if mac.bytes() == [0; 6] || mac.is_multicast() {
                    return None;
                }
                // Real hardware has a `device` link; virtual interfaces do not.
                let physical = iface.join("device").exists();
                Some((!physical, mac.is_locally_administered(), name, mac))
            })
            .collect();
        candidates.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
        candidates.into_iter().next().map(|c| c.3)
    }
}

impl IdentityProbe {
    /// A name for the operating system: `PRETTY_NAME` from os-release, else
    /// the platform (`linux`, `macos`, `windows`).
    pub fn os_name(&self) -> String {
        ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .filter_map(|p| self.read(p))
            .filter_map(|b| String::from_utf8(b).ok())
            .find_map(|text| {
                text.lines().find_map(|l| {
                    let v = l
                        .strip_prefix("PRETTY_NAME=")?
                        .trim()
                        .trim_matches('"')
                        .trim();
                    (!v.is_empty() && v.len() <= 100 && !v.chars().any(char::is_control))
                        .then(|| v.to_owned())
                })
            })
            .unwrap_or_else(|| std::env::consts::OS.to_owned())
    }
}

/// The body of `POST /api/devices/enroll` for this device: its identity, its
/// public key, and the code an administrator gave (none for a device an
/// administrator pre-registered, which then waits for approval).
pub fn enrollment_request(
    identity: &HardwareIdentity,
    key: &DeviceKey,
    enrollment_code: Option<&str>,
    device_name: &str,
    device_type: DeviceType,
    os: &str,
    app_version: &str,
) -> EnrollDevice {
    EnrollDevice {
        enrollment_code: enrollment_code.map(Secret::new),
        device_uuid: identity.device_uuid,
        mac_address: identity.mac_address,
        device_type,
        device_name: device_name.to_owned(),
        public_key: key.public_key_base64(),
        os: Some(os.to_owned()),
        app_version: Some(app_version.to_owned()),
        identity_source: Some(identity.source.as_str().to_owned()),
    }
}

/// Interfaces that are never the device's identity.
fn is_virtual_name(name: &str) -> bool {
    name == "lo"
        || [
            "docker",
            "veth",
            "br-",
            "virbr",
            "vnet",
            "tun",
            "tap",
            "wg",
            "zt",
            "tailscale",
            "dummy",
            "bond",
            "vmnet",
            "lxc",
            "cni",
            "flannel",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Firmware placeholders that many boards ship instead of a real UUID.
const DMI_PLACEHOLDERS: [&str; 3] = [
    "03000200-0400-0500-0006-000700080009",
    "00020003-0004-0005-0006-000700080009",
    "12345678-1234-5678-90ab-cddeefaabbcc",
];

pub fn parse_dmi_uuid(text: &str) -> Option<DeviceUuid> {
    let value = text.trim().to_ascii_lowercase();
    if DMI_PLACEHOLDERS.contains(&value.as_str()) {
        return None;
    }
    let uuid = uuid::Uuid::try_parse(&value).ok()?;
    // Only the hyphenated 36-character form is what firmware writes.
    (value.len() == 36).then_some(())?;
    DeviceUuid::from_uuid(uuid).ok()
}

/// The serial is hex, NUL-terminated in the device tree.
pub fn parse_pi_serial(raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?;
    let serial = text.trim_end_matches('\0').trim().to_ascii_lowercase();
    let valid = (8..=32).contains(&serial.len())
        && serial.bytes().all(|b| b.is_ascii_hexdigit())
        && serial.bytes().any(|b| b != b'0');
    valid.then_some(serial)
}

/// 32 lowercase hex digits, not all zero (`uninitialized` and empty are refused).
pub fn parse_machine_id(text: &str) -> Option<[u8; 16]> {
    let value = text.trim();
    if value.len() != 32 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let id = u128::from_str_radix(value, 16).ok()?;
    (id != 0).then(|| id.to_be_bytes())
}

/// HMAC-SHA256 keyed by `key` over [`APP_ID`], truncated to 128 bits and
/// marked as a version-4 UUID: systemd's app-specific id construction.
pub fn app_specific_uuid(key: &[u8]) -> Option<DeviceUuid> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    mac.update(&APP_ID);
    let digest = mac.finalize().into_bytes();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    DeviceUuid::from_uuid(uuid::Uuid::from_bytes(bytes)).ok()
}

/// `IOPlatformUUID` from `ioreg -rd1 -c IOPlatformExpertDevice` output.
pub fn parse_ioreg_platform_uuid(output: &str) -> Option<DeviceUuid> {
    let line = output.lines().find(|l| l.contains("\"IOPlatformUUID\""))?;
    let value = line.split('=').nth(1)?.trim().trim_matches('"');
    parse_dmi_uuid(value)
}

/// `MachineGuid` from `reg query HKLM\SOFTWARE\Microsoft\Cryptography /v MachineGuid`.
pub fn parse_reg_machine_guid(output: &str) -> Option<uuid::Uuid> {
    let line = output.lines().find(|l| l.contains("MachineGuid"))?;
    let value = line.split_whitespace().last()?;
    uuid::Uuid::try_parse(value).ok().filter(|u| !u.is_nil())
}

#[cfg(target_os = "macos")]
fn platform_identity() -> Option<(DeviceUuid, IdentitySource)> {
    let out = std::process::Command::new("ioreg")
        .args(["-rd1", "-c", "IOPlatformExpertDevice"])
        .output()
        .ok()?;
    let uuid = parse_ioreg_platform_uuid(&String::from_utf8_lossy(&out.stdout))?;
    Some((uuid, IdentitySource::MacPlatformUuid))
}

#[cfg(windows)]
fn platform_identity() -> Option<(DeviceUuid, IdentitySource)> {
    let out = std::process::Command::new("reg")
        .args([
            "query",
            r"HKLM\SOFTWARE\Microsoft\Cryptography",
            "/v",
            "MachineGuid",
        ])
        .output()
        .ok()?;
    let guid = parse_reg_machine_guid(&String::from_utf8_lossy(&out.stdout))?;
    let uuid = app_specific_uuid(guid.as_bytes())?;
    Some((uuid, IdentitySource::WindowsMachineGuid))
}

/// Linux and others: DMI, Pi serial and machine-id cover them.
#[cfg(not(any(target_os = "macos", windows)))]
fn platform_identity() -> Option<(DeviceUuid, IdentitySource)> {
    None
}

/// Reads this machine's identity (root `/`).
pub fn detect() -> Result<HardwareIdentity, NoIdentity> {
    IdentityProbe::default().detect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    struct Tree(tempfile::TempDir);

    impl Tree {
        fn new() -> Self {
            Self(tempfile::tempdir().unwrap())
        }
        fn file(&self, path: &str, contents: impl AsRef<[u8]>) -> &Self {
            let p = self.0.path().join(path.trim_start_matches('/'));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, contents).unwrap();
            self
        }
        fn iface(&self, name: &str, mac: &str, physical: bool) -> &Self {
            self.file(
                &format!("/sys/class/net/{name}/address"),
                format!("{mac}\n"),
            );
            if physical {
                fs::create_dir_all(self.0.path().join(format!("sys/class/net/{name}/device")))
                    .unwrap();
            }
            self
        }
        fn probe(&self) -> IdentityProbe {
            IdentityProbe::new(self.0.path())
        }
    }

    const MACHINE_ID: &str = "4f3c2a1b0e9d8c7b6a5f4e3d2c1b0a99\n";

    #[test]
    fn dmi_wins_and_is_reported_as_is() {
        let t = Tree::new();
        t.file(
            "/sys/class/dmi/id/product_uuid",
            "4C4C4544-0042-3510-8052-B4C04F4E4D32\n",
        )
        .file("/proc/device-tree/serial-number", "10000000abcdef01\0")
        .file("/etc/machine-id", MACHINE_ID);
        let id = t.probe().detect().unwrap();
        assert_eq!(id.source, IdentitySource::DmiProductUuid);
        assert_eq!(
            id.device_uuid.to_string(),
            "4c4c4544-0042-3510-8052-b4c04f4e4d32"
        );
    }

    #[test]
    fn dmi_placeholders_and_garbage_fall_through() {
        for bad in [
            "03000200-0400-0500-0006-000700080009",
            "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "not a uuid",
            "",
            "4c4c45440042351080 52b4c04f4e4d32",
            "4c4c454400423510 8052b4c04f4e4d32",
        ] {
            let t = Tree::new();
            t.file("/sys/class/dmi/id/product_uuid", bad)
                .file("/etc/machine-id", MACHINE_ID);
            let id = t.probe().detect().unwrap();
            assert_eq!(id.source, IdentitySource::MachineId, "{bad:?}");
        }
        // Non-UTF-8 and oversized files are ignored too.
        let t = Tree::new();
        t.file("/sys/class/dmi/id/product_uuid", [0xff, 0xfe, 0x00])
            .file("/proc/device-tree/serial-number", vec![b'a'; 5000])
            .file("/etc/machine-id", MACHINE_ID);
        assert_eq!(
            t.probe().detect().unwrap().source,
            IdentitySource::MachineId
        );
    }

    #[test]
    fn raspberry_pi_serial_is_hashed_and_stable() {
        let t = Tree::new();
        t.file("/proc/device-tree/serial-number", "10000000abcdef01\0")
            .file("/etc/machine-id", MACHINE_ID);
        let a = t.probe().detect().unwrap();
        assert_eq!(a.source, IdentitySource::RaspberryPiSerial);
        assert!(!a.device_uuid.to_string().contains("abcdef01"));
        assert_eq!(a.device_uuid.as_uuid().get_version_num(), 4);
        // Same serial, different case or padding: same UUID.
        let t2 = Tree::new();
        t2.file("/proc/device-tree/serial-number", "10000000ABCDEF01");
        assert_eq!(t2.probe().detect().unwrap().device_uuid, a.device_uuid);
        for bad in [&b"0000000000000000\0"[..], b"", b"xyz", b"\0\0"] {
            assert_eq!(parse_pi_serial(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn machine_id_is_never_sent_raw() {
        let t = Tree::new();
        t.file("/etc/machine-id", MACHINE_ID);
        let id = t.probe().detect().unwrap();
        assert_eq!(id.source, IdentitySource::MachineId);
        let shown = id.device_uuid.to_string().replace('-', "");
        assert_ne!(shown, MACHINE_ID.trim());
        let uuid = id.device_uuid.as_uuid();
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
        // Deterministic, and different for a different machine.
        assert_eq!(t.probe().machine_id(), Some(id.device_uuid));
        let other = Tree::new();
        other.file("/etc/machine-id", "5f3c2a1b0e9d8c7b6a5f4e3d2c1b0a99");
        assert_ne!(other.probe().machine_id(), Some(id.device_uuid));
    }

    #[test]
    fn app_specific_uuid_matches_the_systemd_construction() {
        // HMAC-SHA256(key = machine id bytes, data = app id), first 16 bytes,
        // version nibble 4 and RFC 4122 variant: checked by hand here.
        let key = parse_machine_id(MACHINE_ID).unwrap();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        mac.update(&APP_ID);
        let d = mac.finalize().into_bytes();
        let got = app_specific_uuid(&key).unwrap().as_uuid().into_bytes();
        assert_eq!(got[..6], d[..6]);
        assert_eq!(got[6] & 0x0f, d[6] & 0x0f);
        assert_eq!(got[6] >> 4, 4);
        assert_eq!(got[8] & 0x3f, d[8] & 0x3f);
        assert_eq!(got[9..], d[9..16]);
    }

    #[test]
    fn machine_id_garbage_is_refused() {
        for bad in [
            "uninitialized",
            "",
            "00000000000000000000000000000000",
            "4f3c2a1b0e9d8c7b6a5f4e3d2c1b0a9",
            "4f3c2a1b0e9d8c7b6a5f4e3d2c1b0a9z",
            "+f3c2a1b0e9d8c7b6a5f4e3d2c1b0a99",
        ] {
            assert_eq!(parse_machine_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn nothing_readable_is_a_clear_error() {
        let t = Tree::new();
        t.file("/etc/machine-id", "uninitialized\n");
        let err = t.probe().detect().unwrap_err();
        assert!(err.to_string().contains("machine-id"), "{err}");
    }

    #[test]
    fn mac_selection_prefers_physical_universal_addresses() {
        let t = Tree::new();
        t.iface("lo", "00:00:00:00:00:00", false)
            .iface("docker0", "02:42:ac:11:00:02", false)
            .iface("veth1234", "0a:11:22:33:44:55", false)
            .iface("wlan0", "da:a1:19:00:00:01", true) // randomized (locally administered)
            .iface("eth0", "b8:27:eb:12:34:56", true);
        assert_eq!(
            t.probe().primary_mac().unwrap().to_string(),
            "b8:27:eb:12:34:56"
        );
    }

    #[test]
    fn mac_selection_falls_back_to_local_then_virtual() {
        let t = Tree::new();
        t.iface("wlan0", "da:a1:19:00:00:01", true)
            .iface("ens3", "52:54:00:12:34:56", false);
        // A physical interface with a random MAC beats a virtual one.
        assert_eq!(
            t.probe().primary_mac().unwrap().to_string(),
            "da:a1:19:00:00:01"
        );
        let t = Tree::new();
        t.iface("ens3", "52:54:00:12:34:56", false)
            .iface("ens4", "06:54:00:12:34:56", false);
        assert_eq!(
            t.probe().primary_mac().unwrap().to_string(),
            "52:54:00:12:34:56"
        );
    }

    #[test]
    fn mac_garbage_and_absence() {
        let t = Tree::new();
        t.iface("eth0", "not-a-mac", true)
            .iface("eth1", "01:00:5e:00:00:01", true) // multicast
            .iface("eth2", "00:00:00:00:00:00", true);
        assert_eq!(t.probe().primary_mac(), None);
        assert_eq!(Tree::new().probe().primary_mac(), None);
        // Ties between equal candidates break by name, deterministically.
        let t = Tree::new();
        t.iface("eth1", "b8:27:eb:00:00:02", true)
            .iface("eth0", "b8:27:eb:00:00:01", true);
        assert_eq!(
            t.probe().primary_mac().unwrap().to_string(),
            "b8:27:eb:00:00:01"
        );
    }

    #[test]
    fn platform_outputs_parse() {
        let ioreg = r#"+-o J314sAP  <class IOPlatformExpertDevice>
    {
      "IOPlatformSerialNumber" = "C02XXXXX"
      "IOPlatformUUID" = "564D1B2C-3A4E-5F60-7182-93A4B5C6D7E8"
    }"#;
        assert_eq!(
            parse_ioreg_platform_uuid(ioreg).unwrap().to_string(),
            "564d1b2c-3a4e-5f60-7182-93a4b5c6d7e8"
        );
        assert_eq!(parse_ioreg_platform_uuid("nothing here"), None);
        let reg = "\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\r\n    MachineGuid    REG_SZ    1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809\r\n";
        assert_eq!(
            parse_reg_machine_guid(reg).unwrap().to_string(),
            "1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809"
        );
        assert_eq!(parse_reg_machine_guid("ERROR: not found"), None);
    }

    #[test]
    fn os_name_and_enrollment_request() {
        let t = Tree::new();
        t.file(
            "/etc/os-release",
            "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        )
        .file("/etc/machine-id", MACHINE_ID)
        .iface("eth0", "b8:27:eb:12:34:56", true);
        let probe = t.probe();
        assert_eq!(probe.os_name(), "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(Tree::new().probe().os_name(), std::env::consts::OS);
        let id = probe.detect().unwrap();
        let (key, _) = DeviceKey::load_or_create(&crate::vault::MemoryStore::new()).unwrap();
        let body = enrollment_request(
            &id,
            &key,
            Some("ABCD-EFGH"),
            "Hall Kiosk",
            DeviceType::RaspberryPi,
            &probe.os_name(),
            "0.1.0",
        );
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["identity_source"], "machine_id");
        assert_eq!(json["mac_address"], "b8:27:eb:12:34:56");
        assert_eq!(json["public_key"], key.public_key_base64());
        assert_eq!(json["enrollment_code"], "ABCD-EFGH");
        // The code never shows in Debug output.
        assert!(!format!("{body:?}").contains("ABCD-EFGH"));
    }

    #[test]
    fn source_names_are_stable() {
        assert_eq!(
            serde_json::to_string(&IdentitySource::MachineId).unwrap(),
            "\"machine_id\""
        );
        for s in [
            IdentitySource::DmiProductUuid,
            IdentitySource::RaspberryPiSerial,
            IdentitySource::MacPlatformUuid,
            IdentitySource::WindowsMachineGuid,
            IdentitySource::MachineId,
        ] {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
    }
}
