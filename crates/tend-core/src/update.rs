//! Updates installed under a running app: apt replaces `/usr/bin/tend` while
//! the app runs (the package never restarts the kiosk), and the app moves to
//! the new version itself, without interrupting whoever is signed in.
//!
//! Once a minute [`UpdateWatch::check`] asks an [`InstalledProgram`] whether
//! the executable on disk is still the one running. When it was replaced, a
//! kiosk restarts ([`UpdateAction::Restart`]: exit with
//! [`RESTART_FOR_UPDATE_EXIT_CODE`], and systemd starts the new version) as
//! soon as nobody is signed in — at once on a locked or signed-out screen,
//! otherwise at the next lock; a desktop only tells its user once
//! ([`UpdateAction::TellUser`]: "Restart to update").

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Profile;
use crate::device::DeviceRuntime;
use crate::login::SessionPhase;

/// The exit status of a kiosk that stops to run its updated executable
/// (`EX_TEMPFAIL`: "try again"). The kiosk's unit restarts on it
/// (`RestartForceExitStatus=75`) whatever its `Restart=` says.
pub const RESTART_FOR_UPDATE_EXIT_CODE: u8 = 75;

/// How often the executable on disk is compared with the running one,
/// unless configured (`TEND_UPDATE_CHECK_SECS`).
pub const DEFAULT_UPDATE_CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// Whether a person is using the device right now: a restart would throw
/// them out of what they are doing.
pub trait SignedIn {
    fn someone_signed_in(&self) -> bool;
}

impl SignedIn for DeviceRuntime {
    /// An open session, or a badge or PIN being checked, counts as signed
    /// in, and so does a family visit under way; a locked screen does not
    /// (the nurse taps again after a restart, as after any lock), nor does
    /// an empty one. The admin console's own session is not counted: it
    /// runs on administrators' laptops, whose desktop profile never
    /// restarts by itself.
    fn someone_signed_in(&self) -> bool {
        let nurse = match self.session_state().phase {
            SessionPhase::Active { .. }
            | SessionPhase::Verifying
            | SessionPhase::PinRequired { .. } => true,
            SessionPhase::SignedOut | SessionPhase::Locked => false,
        };
        nurse || self.family().in_visit(std::time::Instant::now())
    }
}

/// The program file this process was started from, as it is on disk now.
pub trait InstalledProgram {
    /// True once the file was replaced (a package upgrade writes a new file
    /// and renames it over the old one) or removed.
    fn replaced(&self) -> bool;
}

/// What the app should do about an installed update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateAction {
    /// Nothing changed on disk, or someone is signed in, or the user was
    /// already told.
    Nothing,
    /// A kiosk with nobody signed in: exit with
    /// [`RESTART_FOR_UPDATE_EXIT_CODE`] so systemd starts the new version.
    Restart,
    /// A desktop: show "Restart to update"; the user chooses when.
    TellUser,
}

/// Watches for an update installed under the running app.
#[derive(Debug)]
pub struct UpdateWatch<P> {
    program: P,
    profile: Profile,
    told: bool,
}

impl<P: InstalledProgram> UpdateWatch<P> {
    pub fn new(program: P, profile: Profile) -> Self {
        Self {
            program,
            profile,
            told: false,
        }
    }

    /// One look (the app calls it every [`DEFAULT_UPDATE_CHECK_INTERVAL`]).
    pub fn check(&mut self, people: &impl SignedIn) -> UpdateAction {
        if !self.program.replaced() {
            return UpdateAction::Nothing;
        }
        match self.profile {
            Profile::Kiosk if people.someone_signed_in() => UpdateAction::Nothing,
            Profile::Kiosk => UpdateAction::Restart,
            Profile::Desktop if self.told => UpdateAction::Nothing,
            Profile::Desktop => {
                self.told = true;
                UpdateAction::TellUser
            }
        }
    }

    /// Looks every `every` until a restart is due, handing each action but
    /// [`UpdateAction::Nothing`] to `act`; returns after handing
    /// [`UpdateAction::Restart`] (the caller then exits).
    pub async fn run(
        mut self,
        people: impl SignedIn,
        every: Duration,
        mut act: impl FnMut(UpdateAction),
    ) {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match self.check(&people) {
                UpdateAction::Nothing => {}
                action => {
                    act(action);
                    if action == UpdateAction::Restart {
                        return;
                    }
                }
            }
        }
    }
}

/// The executable file of this process, remembered by identity at start
/// (device and inode on Unix; size and modification time elsewhere).
#[derive(Debug, Clone)]
pub struct ExecutableFile {
    path: PathBuf,
    identity: Option<FileIdentity>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileIdentity {
    #[cfg(unix)]
    device_inode: (u64, u64),
    #[cfg(not(unix))]
    size_modified: (u64, Option<std::time::SystemTime>),
}

impl FileIdentity {
    fn of(path: &Path) -> Option<Self> {
        let metadata = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(Self {
                device_inode: (metadata.dev(), metadata.ino()),
            })
        }
        #[cfg(not(unix))]
        {
            Some(Self {
                size_modified: (metadata.len(), metadata.modified().ok()),
            })
        }
    }
}

impl ExecutableFile {
    /// The file at `path` as it is now.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let identity = FileIdentity::of(&path);
        Self { path, identity }
    }

    /// This process's executable. Called at start, before any update could
    /// have replaced it; `None` when the platform cannot say where it is.
    pub fn current() -> Option<Self> {
        std::env::current_exe().ok().map(Self::at)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl InstalledProgram for ExecutableFile {
    fn replaced(&self) -> bool {
        // Unknown at start (unreadable): never claim an update.
        self.identity.is_some() && FileIdentity::of(&self.path) != self.identity
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A program file the test replaces at will.
    #[derive(Default)]
    struct Program(Cell<bool>);

    impl InstalledProgram for &Program {
        fn replaced(&self) -> bool {
            self.0.get()
        }
    }

    /// Whether the test's nurse is signed in.
    #[derive(Default)]
    struct Ward(Cell<bool>);

    impl SignedIn for Ward {
        fn someone_signed_in(&self) -> bool {
            self.0.get()
        }
    }

    #[test]
    fn a_kiosk_waits_for_the_nurse_to_lock_before_it_restarts_into_the_update() {
        let program = Program::default();
        let ward = Ward::default();
        let mut watch = UpdateWatch::new(&program, Profile::Kiosk);

        // A nurse documents; nothing is installed yet.
        ward.0.set(true);
        assert_eq!(watch.check(&ward), UpdateAction::Nothing);

        // apt installs a new version while she is signed in: she keeps working.
        program.0.set(true);
        assert_eq!(watch.check(&ward), UpdateAction::Nothing);
        assert_eq!(watch.check(&ward), UpdateAction::Nothing);

        // She taps out (or the screen locks): the next look restarts the kiosk.
        ward.0.set(false);
        assert_eq!(watch.check(&ward), UpdateAction::Restart);
    }

    #[test]
    fn an_idle_kiosk_restarts_at_the_first_look_after_the_update() {
        let program = Program::default();
        let mut watch = UpdateWatch::new(&program, Profile::Kiosk);
        let empty = Ward::default();
        assert_eq!(watch.check(&empty), UpdateAction::Nothing);
        program.0.set(true);
        assert_eq!(watch.check(&empty), UpdateAction::Restart);
    }

    #[test]
    fn a_laptop_tells_its_user_once_and_never_restarts_by_itself() {
        let program = Program::default();
        let mut watch = UpdateWatch::new(&program, Profile::Desktop);
        let ward = Ward(Cell::new(true));
        program.0.set(true);
        assert_eq!(watch.check(&ward), UpdateAction::TellUser);
        assert_eq!(watch.check(&ward), UpdateAction::Nothing);
        ward.0.set(false);
        assert_eq!(watch.check(&ward), UpdateAction::Nothing);
    }

    #[test]
    fn a_file_renamed_over_the_executable_counts_as_an_update() {
        // What dpkg does: unpack to a new file, rename it over the old one.
        let dir = tempfile::tempdir().unwrap();
        let installed = dir.path().join("tend");
        std::fs::write(&installed, b"version 1").unwrap();
        let running = ExecutableFile::at(&installed);
        assert!(!running.replaced());

        let unpacked = dir.path().join("tend.dpkg-new");
        std::fs::write(&unpacked, b"version 1").unwrap(); // even the same bytes
        std::fs::rename(&unpacked, &installed).unwrap();
        assert!(running.replaced());
    }

    #[test]
    fn a_removed_executable_counts_as_replaced_and_an_unknown_one_never_does() {
        let dir = tempfile::tempdir().unwrap();
        let installed = dir.path().join("tend");
        std::fs::write(&installed, b"version 1").unwrap();
        let running = ExecutableFile::at(&installed);
        std::fs::remove_file(&installed).unwrap();
        assert!(running.replaced());

        let never_there = ExecutableFile::at(dir.path().join("absent"));
        assert!(!never_there.replaced());
    }
}
