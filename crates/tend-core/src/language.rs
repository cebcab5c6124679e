//! Which language the staff screens are shown in. Two choices, and the UI
//! shows the first that is set: the signed-in person's own (their account's
//! preference, carried by the session — see [`crate::login::SessionUser`]),
//! else this device's, else English.
//!
//! The device's language is a display setting of the device, kept in
//! `language.json` in the data directory next to the enrollment record: no
//! vault is needed, so the setup screen, a locked vault and the lock screen
//! show it too. It names nobody, so a remote wipe leaves it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tend_domain::Language;

use crate::{CoreError, Result};

/// The file in the data directory that keeps the device's language.
pub const LANGUAGE_FILE: &str = "language.json";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    language: Language,
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(LANGUAGE_FILE)
}

/// The device's language; English when none was chosen, or when the file
/// cannot be read (a display setting never keeps the app from starting).
pub fn device_language(data_dir: &Path) -> Language {
    let path = path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Language::default(),
        Err(e) => {
            tracing::warn!(error = %e, "device language not readable; English");
            return Language::default();
        }
    };
    match serde_json::from_str::<Stored>(&text) {
        Ok(stored) => stored.language,
        Err(e) => {
            tracing::warn!(error = %e, "device language file not understood; English");
            Language::default()
        }
    }
}

/// Keeps the device's language (temp file, fsync, rename).
pub fn save_device_language(data_dir: &Path, language: Language) -> Result<()> {
    use std::io::Write;
    let path = path(data_dir);
    std::fs::create_dir_all(data_dir).map_err(|e| CoreError::storage(data_dir, e))?;
    let tmp = data_dir.join(format!("{LANGUAGE_FILE}.tmp"));
    let json =
        serde_json::to_vec(&Stored { language }).map_err(|e| CoreError::storage(&path, e))?;
    let mut file = std::fs::File::create(&tmp).map_err(|e| CoreError::storage(&tmp, e))?;
    file.write_all(&json)
        .and_then(|()| file.sync_all())
        .map_err(|e| CoreError::storage(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| CoreError::storage(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_until_chosen_then_the_choice_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(device_language(dir.path()), Language::En);
        save_device_language(dir.path(), Language::Es).unwrap();
        assert_eq!(device_language(dir.path()), Language::Es);
        save_device_language(dir.path(), Language::En).unwrap();
        assert_eq!(device_language(dir.path()), Language::En);
    }

    #[test]
    fn an_unreadable_file_means_english_not_a_failed_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LANGUAGE_FILE), r#"{"language":"fr"}"#).unwrap();
        assert_eq!(device_language(dir.path()), Language::En);
        std::fs::write(dir.path().join(LANGUAGE_FILE), "not json").unwrap();
        assert_eq!(device_language(dir.path()), Language::En);
    }
}
