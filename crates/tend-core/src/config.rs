//! Start-up configuration of the Tend app: command-line flags, `TEND_*`
//! environment variables and an optional TOML file, in that order of
//! precedence. Every failure names the problem and the fix.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{CoreError, Result};

/// How the window behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Profile {
    /// A normal, resizable window (laptops, tablets, workstations).
    #[default]
    Desktop,
    /// Fullscreen, undecorated, close blocked, single instance (wall kiosks).
    Kiosk,
}

impl Profile {
    pub fn parse(value: &str, source: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "desktop" => Ok(Profile::Desktop),
            "kiosk" => Ok(Profile::Kiosk),
            other => Err(CoreError::Config(format!(
                "{source}: unknown profile {other:?}; use \"desktop\" or \"kiosk\""
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Desktop => "desktop",
            Profile::Kiosk => "kiosk",
        }
    }
}

/// The config file's shape. Unknown keys are refused so a typo is not ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    profile: Option<String>,
    data_dir: Option<PathBuf>,
    server_url: Option<String>,
    log_level: Option<String>,
    /// Set `WEBKIT_DISABLE_DMABUF_RENDERER=1` before the webview starts (Linux).
    webkit_dmabuf_workaround: Option<bool>,
    /// Let WebKit's JavaScript engine compile to machine code (default off).
    webkit_jit: Option<bool>,
    /// Seconds between heartbeats once enrolled (default 60).
    heartbeat_interval_secs: Option<u64>,
    /// The keyboard-wedge badge reader's format (`[wedge]`).
    wedge: Option<FileWedge>,
}

/// `[wedge]` in the config file; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWedge {
    min_length: Option<u32>,
    max_length: Option<u32>,
    prefix: Option<String>,
    suffix: Option<String>,
    max_inter_key_ms: Option<u32>,
    max_gap_ms: Option<u32>,
    encoding: Option<WedgeEncoding>,
}

/// What a keyboard-wedge reader types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum WedgeEncoding {
    /// Decimal card numbers (125 kHz Prox readers, the usual case).
    #[default]
    Decimal,
    /// Hexadecimal card numbers.
    Hex,
    /// The NFC UID in hex, as a PC/SC reader reports it (the same badge then
    /// works on both kinds of reader).
    UidHex,
}

/// How this device's keyboard-wedge badge reader types a badge (`[wedge]` in
/// tend.toml). The window uses the timing to tell a reader's burst from a
/// person typing and strips the prefix and suffix; the core checks the value
/// against the length and encoding (see [`WedgeSettings::format`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WedgeSettings {
    /// Fewest characters between prefix and suffix.
    pub min_length: u32,
    /// Most characters between prefix and suffix.
    pub max_length: u32,
    /// What the reader types before the number (required when set).
    pub prefix: String,
    /// What the reader types after the number, before Enter.
    pub suffix: String,
    /// Largest mean time between the keys of a burst, in ms.
    pub max_inter_key_ms: u32,
    /// Largest single pause inside a burst, in ms; a longer one starts over.
    pub max_gap_ms: u32,
    pub encoding: WedgeEncoding,
}

impl Default for WedgeSettings {
    /// Matches the window's defaults: 4–20 characters, a burst averaging at
    /// most 30 ms a key (people manage about 100 ms), no pause over 80 ms.
    fn default() -> Self {
        Self {
            min_length: 4,
            max_length: 20,
            prefix: String::new(),
            suffix: String::new(),
            max_inter_key_ms: 30,
            max_gap_ms: 80,
            encoding: WedgeEncoding::Decimal,
        }
    }
}

impl WedgeSettings {
    /// What the core checks a recognized value against. The window has already
    /// stripped the prefix and suffix, so this format has none.
    pub fn format(&self) -> tend_badge::WedgeFormat {
        tend_badge::WedgeFormat {
            encoding: match self.encoding {
                WedgeEncoding::Decimal => tend_badge::WedgeEncoding::Decimal,
                WedgeEncoding::Hex => tend_badge::WedgeEncoding::Hex,
                WedgeEncoding::UidHex => tend_badge::WedgeEncoding::UidHex,
            },
            min_length: self.min_length as usize,
            max_length: self.max_length as usize,
            prefix: String::new(),
            suffix: String::new(),
        }
    }

    fn from_file(file: Option<FileWedge>) -> Result<Self> {
        let defaults = Self::default();
        let Some(file) = file else {
            return Ok(defaults);
        };
        let settings = Self {
            min_length: file.min_length.unwrap_or(defaults.min_length),
            max_length: file.max_length.unwrap_or(defaults.max_length),
            prefix: file.prefix.unwrap_or_default(),
            suffix: file.suffix.unwrap_or_default(),
            max_inter_key_ms: file.max_inter_key_ms.unwrap_or(defaults.max_inter_key_ms),
            max_gap_ms: file.max_gap_ms.unwrap_or(defaults.max_gap_ms),
            encoding: file.encoding.unwrap_or(defaults.encoding),
        };
        let problem = if !(1..=64).contains(&settings.min_length) {
            Some("`min_length` must be from 1 to 64")
        } else if !(settings.min_length..=64).contains(&settings.max_length) {
            Some("`max_length` must be from `min_length` to 64")
        } else if !(1..=1000).contains(&settings.max_inter_key_ms) {
            Some("`max_inter_key_ms` must be from 1 to 1000")
        } else if !(settings.max_inter_key_ms..=1000).contains(&settings.max_gap_ms) {
            Some("`max_gap_ms` must be from `max_inter_key_ms` to 1000")
        } else if [&settings.prefix, &settings.suffix]
            .iter()
            .any(|s| s.chars().count() > 8 || s.chars().any(char::is_control))
        {
            Some("`prefix` and `suffix` must be at most 8 printable characters")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(CoreError::Config(format!(
                "config file [wedge]: {problem}; fix it or remove the key to use the default"
            ))),
            None => Ok(settings),
        }
    }
}

/// Parsed command line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CliArgs {
    pub profile: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub help: bool,
    pub version: bool,
}

pub const USAGE: &str = "\
Usage: tend [OPTIONS]

Options:
  --profile <desktop|kiosk>  Window profile (env TEND_PROFILE; default desktop)
  --kiosk                    Shorthand for --profile kiosk
  --data-dir <PATH>          Where the encrypted database and logs live (env TEND_DATA_DIR)
  --config <PATH>            TOML config file (env TEND_CONFIG; default <config dir>/tend/tend.toml)
  -h, --help                 Show this help
  -V, --version              Show the version

Environment:
  TEND_LOG                   Log filter, e.g. info or tend_core=debug
  TEND_WEBKIT_DMABUF_WORKAROUND=0  Keep WebKitGTK's DMA-BUF renderer (Linux)
  TEND_WEBKIT_JIT=1                Let WebKit's JavaScript engine JIT-compile (default off)
  TEND_HEARTBEAT_INTERVAL_SECS     Seconds between heartbeats (1-3600; default 60)
  TEND_IDLE_LOCK_SECS              Idle seconds before the screen locks (default: the facility's
                                   policy, kiosk 120, desktop 600; when set, wins over the policy)
  TEND_FAMILY_IDLE_SECS            Seconds before the family kiosk forgets a visit (default: the
                                   facility's policy, 60; when set, wins over the policy)
  TEND_ENROLLMENT_CODE             Enroll with this code at start when never enrolled (needs server_url)
  TEND_BADGE_DEBOUNCE_MS           Same-badge taps closer than this count once (default 3000)
  TEND_UPDATE_CHECK_SECS           Seconds between looks for an installed update (default 60)
";

impl CliArgs {
    /// Parses arguments (without the program name). Unknown flags are errors.
    pub fn parse<I, S>(args: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out = CliArgs::default();
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| -> Result<String> {
                inline.clone().or_else(|| args.next()).ok_or_else(|| {
                    CoreError::Config(format!("{name} needs a value; run `tend --help`"))
                })
            };
            match flag.as_str() {
                "--profile" => out.profile = Some(value("--profile")?),
                "--kiosk" => out.profile = Some("kiosk".into()),
                "--data-dir" => out.data_dir = Some(PathBuf::from(value("--data-dir")?)),
                "--config" => out.config = Some(PathBuf::from(value("--config")?)),
                "-h" | "--help" => out.help = true,
                "-V" | "--version" => out.version = true,
                other => {
                    let shown: String = other.chars().take(60).collect();
                    return Err(CoreError::Config(format!(
                        "unknown option {shown:?}; run `tend --help` for the options"
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// How often an enrolled device sends its heartbeat, unless configured.
pub const DEFAULT_HEARTBEAT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// How long the family kiosk waits, untouched, before it returns to the
/// welcome screen and forgets the visit, until the facility's policy arrives
/// (its default `family_session_secs`).
pub const DEFAULT_FAMILY_IDLE_RESET: std::time::Duration = std::time::Duration::from_secs(
    tend_domain::policy::POLICY_RANGES
        .family_session_secs
        .default as u64,
);

/// The idle time after which the screen locks, by profile (a wall kiosk is
/// shared and walked away from; a desktop is one nurse's workstation).
/// These are the facility policy's defaults, in force until it arrives.
pub fn default_idle_lock(profile: Profile) -> std::time::Duration {
    tend_domain::FacilityPolicy::default().idle_lock(profile == Profile::Kiosk)
}

/// The resolved configuration the app runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    pub profile: Profile,
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
    pub config_file: Option<PathBuf>,
    pub server_url: Option<String>,
    pub log_level: String,
    pub webkit_dmabuf_workaround: bool,
    /// Whether WebKit's JavaScript engine may JIT-compile. Off by default:
    /// the UI is small and quick interpreted, and without the JIT the web
    /// process holds no writable-and-executable memory (hardening, as in
    /// browsers' lockdown modes) and about 9 MB less of it.
    pub webkit_jit: bool,
    /// How often an enrolled device sends its heartbeat (±10 % jitter).
    pub heartbeat_interval: std::time::Duration,
    /// Idle time after which a signed-in session locks until the facility's
    /// policy arrives by sync (kiosk 2 min, desktop 10 min; the policy's
    /// defaults). `TEND_IDLE_LOCK_SECS` overrides, e.g. for tests, and then
    /// keeps precedence over the policy.
    pub idle_lock: std::time::Duration,
    /// `TEND_IDLE_LOCK_SECS` was set: the facility's policy does not change
    /// the idle lock.
    pub idle_lock_from_env: bool,
    /// Same-badge taps closer than this count once (default 3 s;
    /// `TEND_BADGE_DEBOUNCE_MS`, e.g. for the tap benchmark).
    pub badge_debounce: std::time::Duration,
    /// The keyboard-wedge badge reader's format and timing (`[wedge]`).
    pub wedge: WedgeSettings,
    /// Idle time after which the family kiosk returns to its welcome screen
    /// and forgets the family session, until the facility's policy
    /// (`family_session_secs`) arrives by sync (default 60 s).
    /// `TEND_FAMILY_IDLE_SECS` overrides, e.g. for tests, and then keeps
    /// precedence over the policy.
    pub family_idle_reset: std::time::Duration,
    /// `TEND_FAMILY_IDLE_SECS` was set: the policy does not change it.
    pub family_idle_from_env: bool,
    /// Where hardware identity is read from instead of `/`. Debug builds only
    /// (`TEND_DEBUG_IDENTITY_ROOT`), so end-to-end tests can give each journey
    /// its own machine: a release build always reads the real hardware, and an
    /// environment variable can never make a production device pose as another.
    pub identity_root: Option<PathBuf>,
    /// An enrollment code for unattended set-up (`TEND_ENROLLMENT_CODE`, for
    /// provisioning scripts and `scripts/run.sh`): with `server_url` set, a
    /// device that was never enrolled enrolls itself at start. Environment
    /// only, never the config file, and never printed.
    pub enrollment_code: Option<tend_domain::wire::Secret>,
    /// How often the app looks whether an update replaced its executable
    /// (default 60 s; `TEND_UPDATE_CHECK_SECS`, e.g. for the package test).
    pub update_check_interval: std::time::Duration,
}

/// Where the process looks for its defaults; injected so tests never touch
/// the real home directory.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub vars: Vec<(String, String)>,
    pub default_data_dir: PathBuf,
    pub default_config_file: PathBuf,
}

impl Environment {
    /// Reads this process's environment and XDG-style default locations.
    pub fn from_process() -> Self {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let xdg = |var: &str, fallback: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .unwrap_or_else(|| home.join(fallback))
        };
        Self {
            vars,
            default_data_dir: xdg("XDG_DATA_HOME", ".local/share").join("tend"),
            default_config_file: xdg("XDG_CONFIG_HOME", ".config")
                .join("tend")
                .join("tend.toml"),
        }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

impl AppConfig {
    /// Resolves flags > environment > config file > defaults. Does not touch
    /// the disk beyond reading the config file; see [`AppConfig::prepare_dirs`].
    pub fn resolve(cli: &CliArgs, env: &Environment) -> Result<Self> {
        let explicit_config = cli
            .config
            .clone()
            .or_else(|| env.var("TEND_CONFIG").map(PathBuf::from));
        let (file, config_file) = match &explicit_config {
            Some(path) => (read_config_file(path, true)?, Some(path.clone())),
            None => {
                let path = env.default_config_file.clone();
                let file = read_config_file(&path, false)?;
                let found = path.exists().then_some(path);
                (file, found)
            }
        };

        let profile = match (&cli.profile, env.var("TEND_PROFILE"), &file.profile) {
            (Some(p), _, _) => Profile::parse(p, "--profile")?,
            (None, Some(p), _) => Profile::parse(p, "TEND_PROFILE")?,
            (None, None, Some(p)) => Profile::parse(p, "config file `profile`")?,
            _ => Profile::Desktop,
        };
        let data_dir = cli
            .data_dir
            .clone()
            .or_else(|| env.var("TEND_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| env.default_data_dir.clone());
        let webkit_dmabuf_workaround = match env.var("TEND_WEBKIT_DMABUF_WORKAROUND") {
            Some("0") | Some("false") | Some("no") => false,
            Some(_) => true,
            None => file.webkit_dmabuf_workaround.unwrap_or(true),
        };
        let webkit_jit = match env.var("TEND_WEBKIT_JIT") {
            Some("1") | Some("true") | Some("yes") => true,
            Some(_) => false,
            None => file.webkit_jit.unwrap_or(false),
        };
        let heartbeat_interval = match env.var("TEND_HEARTBEAT_INTERVAL_SECS") {
            Some(text) => parse_heartbeat_interval(text, "TEND_HEARTBEAT_INTERVAL_SECS")?,
            None => match file.heartbeat_interval_secs {
                Some(secs) => parse_heartbeat_interval(
                    &secs.to_string(),
                    "config file `heartbeat_interval_secs`",
                )?,
                None => DEFAULT_HEARTBEAT_INTERVAL,
            },
        };
        let idle_lock = match env.var("TEND_IDLE_LOCK_SECS") {
            Some(text) => parse_seconds(text, "TEND_IDLE_LOCK_SECS", 1..=86_400)?,
            None => default_idle_lock(profile),
        };
        let badge_debounce = match env.var("TEND_BADGE_DEBOUNCE_MS") {
            Some(text) => match text.trim().parse::<u64>() {
                Ok(ms @ 0..=60_000) => std::time::Duration::from_millis(ms),
                _ => {
                    return Err(CoreError::Config(format!(
                        "TEND_BADGE_DEBOUNCE_MS must be a whole number of milliseconds from 0 to 60000, not {text:?}"
                    )))
                }
            },
            None => tend_badge::DEFAULT_DEBOUNCE,
        };
        let family_idle_reset = match env.var("TEND_FAMILY_IDLE_SECS") {
            Some(text) => parse_seconds(text, "TEND_FAMILY_IDLE_SECS", 1..=3_600)?,
            None => DEFAULT_FAMILY_IDLE_RESET,
        };
        let update_check_interval = match env.var("TEND_UPDATE_CHECK_SECS") {
            Some(text) => parse_seconds(text, "TEND_UPDATE_CHECK_SECS", 1..=86_400)?,
            None => crate::update::DEFAULT_UPDATE_CHECK_INTERVAL,
        };
        let identity_root = if cfg!(debug_assertions) {
            env.var("TEND_DEBUG_IDENTITY_ROOT").map(PathBuf::from)
        } else {
            None
        };
        if let Some(url) = &file.server_url {
            if url.trim().is_empty() {
                return Err(CoreError::Config(
                    "config file `server_url` is empty; remove the line or set the API address"
                        .into(),
                ));
            }
        }
        Ok(Self {
            profile,
            log_dir: data_dir.join("logs"),
            data_dir,
            config_file,
            server_url: file.server_url,
            log_level: env
                .var("TEND_LOG")
                .map(str::to_owned)
                .or(file.log_level)
                .unwrap_or_else(|| "info".into()),
            webkit_dmabuf_workaround,
            webkit_jit,
            heartbeat_interval,
            idle_lock,
            idle_lock_from_env: env.var("TEND_IDLE_LOCK_SECS").is_some(),
            badge_debounce,
            wedge: WedgeSettings::from_file(file.wedge)?,
            family_idle_reset,
            family_idle_from_env: env.var("TEND_FAMILY_IDLE_SECS").is_some(),
            identity_root,
            enrollment_code: env
                .var("TEND_ENROLLMENT_CODE")
                .map(|code| tend_domain::wire::Secret::new(code.trim())),
            update_check_interval,
        })
    }

    /// Creates the data and log directories (0700 on Unix) and proves they are
    /// writable, so a read-only disk is reported at start-up, not mid-shift.
    pub fn prepare_dirs(&self) -> Result<()> {
        for dir in [&self.data_dir, &self.log_dir] {
            create_private_dir(dir)?;
            let probe = dir.join(".tend-write-probe");
            std::fs::write(&probe, b"ok").map_err(|e| {
                CoreError::storage(
                    dir,
                    format!(
                        "{e}; make it writable for this user or choose another with --data-dir"
                    ),
                )
            })?;
            let _ = std::fs::remove_file(&probe);
        }
        Ok(())
    }
}

fn parse_heartbeat_interval(text: &str, source: &str) -> Result<std::time::Duration> {
    parse_seconds(text, source, 1..=3600)
}

fn parse_seconds(
    text: &str,
    source: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<std::time::Duration> {
    match text.trim().parse::<u64>() {
        Ok(secs) if range.contains(&secs) => Ok(std::time::Duration::from_secs(secs)),
        _ => Err(CoreError::Config(format!(
            "{source} must be a whole number of seconds from {} to {}, not {text:?}",
            range.start(),
            range.end()
        ))),
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let fix = "make it writable for this user or choose another with --data-dir";
    if dir.exists() && !dir.is_dir() {
        return Err(CoreError::storage(
            dir,
            format!("it is a file, not a directory; {fix}"),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| CoreError::storage(dir, format!("{e}; {fix}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

fn read_config_file(path: &Path, must_exist: bool) -> Result<FileConfig> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
            return Ok(FileConfig::default())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CoreError::Config(format!(
                "config file {} does not exist; create it or drop --config / TEND_CONFIG",
                path.display()
            )))
        }
        Err(e) => {
            return Err(CoreError::Config(format!(
                "cannot read config file {}: {e}",
                path.display()
            )))
        }
    };
    toml::from_str(&text).map_err(|e| {
        CoreError::Config(format!(
            "config file {} is not valid: {}; fix the file or move it away to use the defaults",
            path.display(),
            e.message()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(dir: &Path, vars: &[(&str, &str)]) -> Environment {
        Environment {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            default_data_dir: dir.join("data"),
            default_config_file: dir.join("config/tend.toml"),
        }
    }

    #[test]
    fn an_enrollment_code_comes_from_the_environment_only_and_never_prints() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = AppConfig::resolve(
            &CliArgs::default(),
            &env(tmp.path(), &[("TEND_ENROLLMENT_CODE", " 5QMY-MB3F-TWF2 ")]),
        )
        .unwrap();
        assert_eq!(
            cfg.enrollment_code.as_ref().map(|c| c.expose()),
            Some("5QMY-MB3F-TWF2")
        );
        assert!(
            !format!("{cfg:?}").contains("5QMY"),
            "the code must not reach a log"
        );
    }

    #[test]
    fn defaults_without_anything() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = AppConfig::resolve(&CliArgs::default(), &env(tmp.path(), &[])).unwrap();
        assert_eq!(cfg.profile, Profile::Desktop);
        assert_eq!(cfg.data_dir, tmp.path().join("data"));
        assert_eq!(cfg.log_dir, tmp.path().join("data/logs"));
        assert!(cfg.webkit_dmabuf_workaround);
        assert!(!cfg.webkit_jit);
        assert_eq!(cfg.config_file, None);
        assert_eq!(cfg.heartbeat_interval, std::time::Duration::from_secs(60));
        assert_eq!(cfg.identity_root, None);
        assert_eq!(cfg.enrollment_code, None);
    }

    #[test]
    fn idle_lock_by_profile_unless_the_environment_says_otherwise() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = AppConfig::resolve(&CliArgs::default(), &env(tmp.path(), &[])).unwrap();
        assert_eq!(cfg.idle_lock, std::time::Duration::from_secs(600));
        assert_eq!(cfg.badge_debounce, std::time::Duration::from_secs(3));
        let kiosk = CliArgs::parse(["--kiosk"]).unwrap();
        let cfg = AppConfig::resolve(&kiosk, &env(tmp.path(), &[])).unwrap();
        assert_eq!(cfg.idle_lock, std::time::Duration::from_secs(120));
        assert!(
            !cfg.idle_lock_from_env,
            "the facility's policy may change it"
        );
        let cfg = AppConfig::resolve(
            &kiosk,
            &env(
                tmp.path(),
                &[
                    ("TEND_IDLE_LOCK_SECS", "5"),
                    ("TEND_BADGE_DEBOUNCE_MS", "0"),
                ],
            ),
        )
        .unwrap();
        assert_eq!(cfg.idle_lock, std::time::Duration::from_secs(5));
        assert!(
            cfg.idle_lock_from_env,
            "the environment wins over the policy"
        );
        assert_eq!(cfg.badge_debounce, std::time::Duration::ZERO);
        for (name, bad) in [
            ("TEND_IDLE_LOCK_SECS", "0"),
            ("TEND_IDLE_LOCK_SECS", "soon"),
            ("TEND_BADGE_DEBOUNCE_MS", "-5"),
        ] {
            let err = AppConfig::resolve(&kiosk, &env(tmp.path(), &[(name, bad)])).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn family_idle_reset_is_a_minute_unless_the_environment_says_otherwise() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = AppConfig::resolve(&CliArgs::default(), &env(tmp.path(), &[])).unwrap();
        assert_eq!(cfg.family_idle_reset, std::time::Duration::from_secs(60));
        assert!(!cfg.family_idle_from_env);
        let cfg = AppConfig::resolve(
            &CliArgs::default(),
            &env(tmp.path(), &[("TEND_FAMILY_IDLE_SECS", "4")]),
        )
        .unwrap();
        assert_eq!(cfg.family_idle_reset, std::time::Duration::from_secs(4));
        assert!(cfg.family_idle_from_env);
        for bad in ["0", "-1", "soon", "3601"] {
            let err = AppConfig::resolve(
                &CliArgs::default(),
                &env(tmp.path(), &[("TEND_FAMILY_IDLE_SECS", bad)]),
            )
            .unwrap_err();
            assert!(err.to_string().contains("TEND_FAMILY_IDLE_SECS"), "{err}");
        }
    }

    #[test]
    fn heartbeat_interval_from_env_over_file_and_checked() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("config")).unwrap();
        std::fs::write(
            tmp.path().join("config/tend.toml"),
            "heartbeat_interval_secs = 30\n",
        )
        .unwrap();
        let cfg = AppConfig::resolve(&CliArgs::default(), &env(tmp.path(), &[])).unwrap();
        assert_eq!(cfg.heartbeat_interval, std::time::Duration::from_secs(30));
        let cfg = AppConfig::resolve(
            &CliArgs::default(),
            &env(tmp.path(), &[("TEND_HEARTBEAT_INTERVAL_SECS", "2")]),
        )
        .unwrap();
        assert_eq!(cfg.heartbeat_interval, std::time::Duration::from_secs(2));
        for bad in ["0", "soon", "-1", "3601"] {
            let err = AppConfig::resolve(
                &CliArgs::default(),
                &env(tmp.path(), &[("TEND_HEARTBEAT_INTERVAL_SECS", bad)]),
            )
            .unwrap_err();
            assert!(
                err.to_string().contains("TEND_HEARTBEAT_INTERVAL_SECS"),
                "{err}"
            );
        }
    }

    #[test]
    fn identity_root_is_a_debug_build_override_only() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = AppConfig::resolve(
            &CliArgs::default(),
            &env(
                tmp.path(),
                &[("TEND_DEBUG_IDENTITY_ROOT", "/tmp/fake-machine")],
            ),
        )
        .unwrap();
        let expected = cfg!(debug_assertions).then(|| PathBuf::from("/tmp/fake-machine"));
        assert_eq!(cfg.identity_root, expected);
    }

    #[test]
    fn precedence_flag_over_env_over_file() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("config")).unwrap();
        std::fs::write(
            tmp.path().join("config/tend.toml"),
            "profile = \"kiosk\"\nserver_url = \"https://api.example.org\"\nwebkit_dmabuf_workaround = false\nwebkit_jit = true\n",
        )
        .unwrap();
        let e = env(tmp.path(), &[]);
        let cfg = AppConfig::resolve(&CliArgs::default(), &e).unwrap();
        assert_eq!(cfg.profile, Profile::Kiosk);
        assert_eq!(cfg.server_url.as_deref(), Some("https://api.example.org"));
        assert!(!cfg.webkit_dmabuf_workaround);
        assert!(cfg.webkit_jit);

        let e = env(
            tmp.path(),
            &[
                ("TEND_PROFILE", "desktop"),
                ("TEND_WEBKIT_DMABUF_WORKAROUND", "1"),
                ("TEND_WEBKIT_JIT", "0"),
            ],
        );
        let cfg = AppConfig::resolve(&CliArgs::default(), &e).unwrap();
        assert_eq!(cfg.profile, Profile::Desktop);
        assert!(cfg.webkit_dmabuf_workaround);
        assert!(!cfg.webkit_jit);

        let cli = CliArgs::parse(["--kiosk"]).unwrap();
        assert_eq!(
            AppConfig::resolve(&cli, &e).unwrap().profile,
            Profile::Kiosk
        );
    }

    #[test]
    fn wedge_format_from_the_config_file_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("tend.toml");
        let cli = CliArgs::parse(["--config", path.to_str().unwrap()]).unwrap();
        let resolve = |text: &str| {
            std::fs::write(&path, text).unwrap();
            AppConfig::resolve(&cli, &env(tmp.path(), &[])).map(|c| c.wedge)
        };

        assert_eq!(resolve("").unwrap(), WedgeSettings::default());
        let wedge = resolve(
            "[wedge]\nmin_length = 8\nmax_length = 10\nprefix = \";\"\nsuffix = \"?\"\n\
             max_inter_key_ms = 50\nmax_gap_ms = 120\nencoding = \"uid_hex\"\n",
        )
        .unwrap();
        assert_eq!(
            wedge,
            WedgeSettings {
                min_length: 8,
                max_length: 10,
                prefix: ";".into(),
                suffix: "?".into(),
                max_inter_key_ms: 50,
                max_gap_ms: 120,
                encoding: WedgeEncoding::UidHex,
            }
        );
        // The core checks what the window already stripped of prefix and suffix.
        let format = wedge.format();
        assert_eq!(format.encoding, tend_badge::WedgeEncoding::UidHex);
        assert_eq!((format.min_length, format.max_length), (8, 10));
        assert!(format.prefix.is_empty() && format.suffix.is_empty());
        // Keys left out keep their defaults.
        let partial = resolve("[wedge]\nmax_length = 12\n").unwrap();
        assert_eq!(partial.max_length, 12);
        assert_eq!(partial.max_inter_key_ms, 30);

        for (bad, names) in [
            ("min_length = 0", "min_length"),
            ("min_length = 10\nmax_length = 5", "max_length"),
            ("max_length = 65", "max_length"),
            ("max_inter_key_ms = 0", "max_inter_key_ms"),
            ("max_inter_key_ms = 50\nmax_gap_ms = 20", "max_gap_ms"),
            ("prefix = \"123456789\"", "prefix"),
            ("suffix = \"\\t\"", "suffix"),
            ("encoding = \"octal\"", "octal"),
            ("max_gap = 100", "max_gap"),
        ] {
            let err = resolve(&format!("[wedge]\n{bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(names), "{bad}: {err}");
        }
    }

    #[test]
    fn cli_parsing() {
        let cli = CliArgs::parse(["--profile=kiosk", "--data-dir", "/x"]).unwrap();
        assert_eq!(cli.profile.as_deref(), Some("kiosk"));
        assert_eq!(cli.data_dir, Some(PathBuf::from("/x")));
        let err = CliArgs::parse(["--frobnicate"]).unwrap_err();
        assert!(err.to_string().contains("--frobnicate") && err.to_string().contains("--help"));
        assert!(CliArgs::parse(["--data-dir"])
            .unwrap_err()
            .to_string()
            .contains("needs a value"));
        let err = AppConfig::resolve(
            &CliArgs::parse(["--profile", "tv"]).unwrap(),
            &env(Path::new("/nonexistent"), &[]),
        )
        .unwrap_err();
        assert_eq!(err.code(), tend_domain::ErrorCode::ConfigInvalid);
        assert!(err.to_string().contains("\"tv\""));
    }

    #[test]
    fn missing_explicit_config_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let cli =
            CliArgs::parse(["--config", tmp.path().join("nope.toml").to_str().unwrap()]).unwrap();
        let err = AppConfig::resolve(&cli, &env(tmp.path(), &[])).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn corrupt_config_names_the_file_and_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("bad.toml");
        std::fs::write(&path, "profile = [[[").unwrap();
        let cli = CliArgs::parse(["--config", path.to_str().unwrap()]).unwrap();
        let err = AppConfig::resolve(&cli, &env(tmp.path(), &[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.toml") && err.contains("not valid"),
            "{err}"
        );

        std::fs::write(&path, "profil = \"kiosk\"").unwrap();
        let err = AppConfig::resolve(&cli, &env(tmp.path(), &[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("profil"), "{err}");
    }

    #[test]
    fn unwritable_data_dir_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let cli = CliArgs::parse(["--data-dir", file.to_str().unwrap()]).unwrap();
        let cfg = AppConfig::resolve(&cli, &env(tmp.path(), &[])).unwrap();
        let err = cfg.prepare_dirs().unwrap_err();
        assert_eq!(err.code(), tend_domain::ErrorCode::StorageUnavailable);
        assert!(err.to_string().contains("--data-dir"), "{err}");
    }

    #[test]
    fn prepare_creates_private_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let cli = CliArgs::parse(["--data-dir", tmp.path().join("d").to_str().unwrap()]).unwrap();
        let cfg = AppConfig::resolve(&cli, &env(tmp.path(), &[])).unwrap();
        cfg.prepare_dirs().unwrap();
        assert!(cfg.log_dir.is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&cfg.data_dir)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }
}
