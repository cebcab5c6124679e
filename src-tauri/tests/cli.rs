//! The `tend` binary's bad-input paths: each exits 2 with a message naming
//! the problem and the fix, and leaves nothing behind. None of these reach
//! the window, so no display is needed (one test removes it on purpose).

use std::path::Path;
use std::process::{Command, Output};

fn tend(args: &[&str], display: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tend"));
    cmd.args(args)
        .env_remove("TEND_CONFIG")
        .env_remove("TEND_PROFILE")
        .env_remove("TEND_DATA_DIR");
    if display {
        cmd.env("DISPLAY", ":999");
    } else {
        cmd.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
    }
    cmd.output().expect("tend runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_refused(out: &Output, needles: &[&str]) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(out));
    let err = stderr(out);
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

#[test]
fn help_and_version_exit_zero() {
    let help = tend(&["--help"], true);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--profile", "--data-dir", "--config"] {
        assert!(text.contains(flag), "{flag} missing from --help");
    }
    let version = tend(&["--version"], true);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn unknown_flag_is_named_and_points_to_help() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = tend(
        &["--data-dir", data.to_str().unwrap(), "--fullscreen"],
        true,
    );
    assert_refused(&out, &["--fullscreen", "--help"]);
    assert!(!data.exists(), "nothing is created for a bad command line");
}

#[test]
fn unknown_profile_lists_the_valid_ones() {
    let out = tend(&["--profile", "tv"], true);
    assert_refused(&out, &["tv", "desktop", "kiosk"]);
}

#[test]
fn missing_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let data = dir.path().join("data");
    let out = tend(
        &[
            "--config",
            missing.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        true,
    );
    assert_refused(&out, &["nope.toml", "does not exist"]);
    assert!(!data.exists());
}

#[test]
fn corrupt_config_file_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tend.toml");
    std::fs::write(&file, "profile = [\n").unwrap();
    let data = dir.path().join("data");
    let out = tend(
        &[
            "--config",
            file.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        true,
    );
    assert_refused(&out, &["tend.toml", "not valid", "fix the file"]);
    assert!(!data.exists());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "profile = [\n");
}

#[test]
fn misspelled_config_key_is_refused_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tend.toml");
    std::fs::write(&file, "profil = \"kiosk\"\n").unwrap();
    let out = tend(&["--config", file.to_str().unwrap()], true);
    assert_refused(&out, &["profil", "profile"]);
}

#[test]
fn unusable_data_dir_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where a directory is needed fails even for root, which
    // ignores permission bits.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"").unwrap();
    let data = blocker.join("data");
    let out = tend(&["--data-dir", data.to_str().unwrap()], true);
    assert_refused(&out, &["blocker", "--data-dir"]);
    assert_eq!(std::fs::read(&blocker).unwrap(), b"");
}

#[test]
fn no_display_is_explained_instead_of_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let out = tend(&["--data-dir", data.to_str().unwrap()], false);
    assert_refused(&out, &["DISPLAY", "WAYLAND_DISPLAY"]);
    assert!(
        is_empty_dir(&data),
        "nothing written before the display check"
    );
}
