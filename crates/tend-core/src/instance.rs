//! Single-instance guard: one Tend process per data directory. A second start
//! (a kiosk's autostart racing a manual launch) exits with a clear message
//! instead of fighting over the database and the badge reader.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

use crate::{CoreError, Result};

/// Held for the life of the process; the OS releases the lock on exit, even
/// after a crash, so a stale lock file never blocks the next start.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// Like [`InstanceLock::acquire`], but waits up to `patience` for another
    /// instance to exit (a restart into an update starts before the old
    /// process has gone).
    pub fn acquire_within(data_dir: &Path, patience: std::time::Duration) -> Result<Self> {
        let deadline = std::time::Instant::now() + patience;
        loop {
            match Self::acquire(data_dir) {
                Err(CoreError::AlreadyRunning { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                result => return result,
            }
        }
    }

    pub fn acquire(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join("tend.lock");
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .read(true)
            .open(&path)
            .map_err(|e| CoreError::storage(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(CoreError::AlreadyRunning {
                    data_dir: data_dir.display().to_string(),
                    pid: holder.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(CoreError::storage(&path, e)),
        }
        file.set_len(0).map_err(|e| CoreError::storage(&path, e))?;
        let _ = write!(file, "{}", std::process::id());
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_instance_is_refused_until_the_first_exits() {
        let tmp = tempfile::tempdir().unwrap();
        let first = InstanceLock::acquire(tmp.path()).unwrap();
        let err = InstanceLock::acquire(tmp.path()).unwrap_err();
        assert!(
            matches!(err, CoreError::AlreadyRunning { pid: Some(p), .. } if p == std::process::id())
        );
        assert!(err.to_string().contains("already running"));
        drop(first);
        InstanceLock::acquire(tmp.path()).unwrap();
    }

    #[test]
    fn a_restart_waits_for_the_old_instance_to_let_go() {
        let tmp = tempfile::tempdir().unwrap();
        let old = InstanceLock::acquire(tmp.path()).unwrap();
        let dir = tmp.path().to_owned();
        let new = std::thread::spawn(move || {
            InstanceLock::acquire_within(&dir, std::time::Duration::from_secs(5))
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(old);
        new.join().unwrap().unwrap();
    }
}
