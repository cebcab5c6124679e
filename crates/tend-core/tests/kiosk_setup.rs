//! The Raspberry Pi kiosk installer (deploy/kiosk/setup-kiosk.sh), run as a
//! dry run into a scratch root: the configuration it writes is one the app
//! accepts (kiosk profile, the server, a data dir of the kiosk account), the
//! systemd unit passes `systemd-analyze verify` against the real cage binary,
//! screen blanking is turned off, bad input is refused with a message, and
//! shellcheck finds nothing in the script.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tend_core::config::{AppConfig, CliArgs, Environment, Profile};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn setup(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo().join("deploy/kiosk/setup-kiosk.sh"))
        .args(args)
        .output()
        .expect("bash runs")
}

/// A scratch root that looks like a Pi (kernel command line in /boot/firmware)
/// and a stand-in app binary.
fn scratch() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("boot/firmware")).unwrap();
    std::fs::write(
        root.join("boot/firmware/cmdline.txt"),
        "console=tty1 root=/dev/mmcblk0p2 rootwait\n",
    )
    .unwrap();
    let binary = dir.path().join("tend");
    std::fs::write(&binary, "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, root, binary)
}

#[test]
fn dry_run_writes_a_config_the_app_accepts_and_a_unit_systemd_verifies() {
    let (_dir, root, binary) = scratch();
    let out = setup(&[
        "--server",
        "https://tend.example.org",
        "--binary",
        binary.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The app reads the written configuration as a kiosk of that server.
    let config_file = root.join("etc/tend/tend.toml");
    let cli = CliArgs::parse(["--config", config_file.to_str().unwrap()]).unwrap();
    let env = Environment {
        vars: vec![],
        default_data_dir: root.join("unused"),
        default_config_file: root.join("unused.toml"),
    };
    let config = AppConfig::resolve(&cli, &env).unwrap();
    assert_eq!(config.profile, Profile::Kiosk);
    assert_eq!(
        config.server_url.as_deref(),
        Some("https://tend.example.org")
    );
    assert_eq!(config.data_dir, Path::new("/var/lib/tend-kiosk/data"));
    assert!(config.webkit_dmabuf_workaround);
    assert!(root.join("usr/local/bin/tend").exists());

    // Console blanking off, once, however often the script runs.
    let again = setup(&[
        "--server",
        "https://tend.example.org",
        "--binary",
        binary.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
    ]);
    assert!(again.status.success());
    let cmdline = std::fs::read_to_string(root.join("boot/firmware/cmdline.txt")).unwrap();
    assert_eq!(cmdline.matches("consoleblank=0").count(), 1, "{cmdline}");
    assert_eq!(
        cmdline.lines().count(),
        1,
        "the kernel command line must stay one line"
    );

    // The unit: cage without VT switching, the kiosk user, the config; no
    // software rendering unless asked.
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/tend-kiosk.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/bin/cage -d -- /usr/local/bin/tend --kiosk"),
        "{unit}"
    );
    assert!(unit.contains("User=tend-kiosk"));
    assert!(unit.contains("Environment=TEND_CONFIG=/etc/tend/tend.toml"));
    assert!(!unit.contains("LIBGL_ALWAYS_SOFTWARE"));
    for placeholder in [
        "@KIOSK_USER@",
        "@CONFIG_FILE@",
        "@TEND_BIN@",
        "@SOFTWARE_RENDERING@",
    ] {
        assert!(
            !unit.contains(placeholder),
            "{placeholder} left unfilled: {unit}"
        );
    }

    // systemd itself accepts the unit (it checks that /usr/bin/cage exists).
    let unit_copy = root.join("tend-kiosk.service");
    std::fs::copy(
        root.join("etc/systemd/system/tend-kiosk.service"),
        &unit_copy,
    )
    .unwrap();
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit_copy)
        .output()
        .expect("systemd-analyze is installed by scripts/install-deps.sh");
    let complaints = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && complaints.trim().is_empty(),
        "{complaints}"
    );
}

#[test]
fn a_repository_is_added_signed_by_its_key_and_updates_only_tend_unattended() {
    let (dir, root, _binary) = scratch();
    let key = dir.path().join("tend-archive-keyring.gpg");
    std::fs::write(&key, b"a public key").unwrap();
    let out = setup(&[
        "--server",
        "https://tend.example.org",
        "--repo",
        "https://apt.tend.example.org",
        "--repo-key",
        key.to_str().unwrap(),
        "--auto-update",
        "--root",
        root.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sources =
        std::fs::read_to_string(root.join("etc/apt/sources.list.d/tend.sources")).unwrap();
    for line in [
        "Types: deb",
        "URIs: https://apt.tend.example.org",
        "Suites: stable",
        "Components: main",
        "Signed-By: /usr/share/keyrings/tend-archive-keyring.gpg",
    ] {
        assert!(sources.lines().any(|l| l == line), "{line} in {sources}");
    }
    assert_eq!(
        std::fs::read(root.join("usr/share/keyrings/tend-archive-keyring.gpg")).unwrap(),
        b"a public key"
    );
    let unattended =
        std::fs::read_to_string(root.join("etc/apt/apt.conf.d/51tend-unattended-upgrades"))
            .unwrap();
    assert!(
        unattended.contains(r#"Unattended-Upgrade::Origins-Pattern:: "origin=Tend,label=Tend";"#)
    );
    // The unit restarts the app when it exits to run an installed update.
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/tend-kiosk.service")).unwrap();
    assert!(unit.contains("RestartForceExitStatus=75"), "{unit}");
    assert!(unit.contains("ExecStart=/usr/bin/cage -d -- /usr/bin/tend --kiosk"));

    // A key over plain http is trusted only with its fingerprint.
    let refused = setup(&[
        "--server",
        "https://tend.example.org",
        "--repo",
        "http://apt.tend.example.org",
        "--root",
        root.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--repo-fingerprint"));
}

#[test]
fn software_rendering_is_an_opt_in_fallback() {
    let (_dir, root, binary) = scratch();
    let out = setup(&[
        "--server",
        "https://tend.example.org",
        "--binary",
        binary.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
        "--software-rendering",
    ]);
    assert!(out.status.success());
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/tend-kiosk.service")).unwrap();
    assert!(unit.contains("Environment=LIBGL_ALWAYS_SOFTWARE=1 WEBKIT_DISABLE_COMPOSITING_MODE=1"));
}

#[test]
fn bad_input_is_refused_with_a_message_and_writes_nothing() {
    let (_dir, root, binary) = scratch();
    let bin = binary.to_str().unwrap();
    let r = root.to_str().unwrap();
    for (args, expected) in [
        (vec!["--binary", bin, "--root", r], "--server is required"),
        (
            vec![
                "--server",
                "http://tend.example.org",
                "--binary",
                bin,
                "--root",
                r,
            ],
            "must be an https:// address",
        ),
        (
            vec!["--server", "https://t.example", "--root", r],
            "--deb PATH or --binary PATH",
        ),
        (
            vec![
                "--server",
                "https://t.example",
                "--deb",
                "/nonexistent.deb",
                "--root",
                r,
            ],
            "no such file",
        ),
        (
            vec![
                "--server",
                "https://t.example",
                "--binary",
                bin,
                "--user",
                "Bad User",
                "--root",
                r,
            ],
            "not a valid account name",
        ),
        (vec!["--frobnicate"], "unknown option"),
    ] {
        let out = setup(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert!(!root.join("etc").exists(), "a refused run wrote files");
}

#[test]
fn shellcheck_finds_nothing() {
    let out = Command::new("shellcheck")
        .arg(repo().join("deploy/kiosk/setup-kiosk.sh"))
        .output()
        .expect("shellcheck is installed by scripts/install-deps.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
