//! The two language choices (see [`crate::language`]): the device's, which
//! anyone may change (kiosks and the lock screen show it), and the signed-in
//! person's own, which follows them to every device.

use tend_domain::wire::{SetLanguage, User};
use tend_domain::Language;

use super::DeviceRuntime;
use crate::api_call::{send, BearerApi, Caller};
use crate::app_status::AppStatus;
use crate::login::{SessionPhase, SessionState};
use crate::{CoreError, Result};

/// What an offline choice of one's own language means for the person.
const SAVED_HERE_ONLY: &str = "Your language is saved on this device only: the server can't be \
     reached. Choose it again while online to keep it for your account on every device.";

impl DeviceRuntime {
    /// Sets the device's language; no session needed. The status bar's data
    /// (and the window, through the status event) follows at once.
    pub fn set_device_language(&self, language: Language) -> Result<AppStatus> {
        crate::language::save_device_language(&self.inner.data_dir, language)?;
        tracing::info!(language = %language, "device language set");
        if let Some(status) = self.inner.status.set_language(language) {
            self.tell(|e| e.status_changed(&status));
        }
        Ok(self.status())
    }

    /// The signed-in person chooses their own language (`None`: the
    /// device's). The session shows it at once (the window hears the new
    /// session), the device's copy of the staff keeps it for the next
    /// offline sign-in here, and the server keeps it for their account.
    ///
    /// Offline (an offline sign-in, or the server unreachable), the choice
    /// stays in force on this device and the answer is `OFFLINE`, saying it
    /// was not saved for the account; nothing is queued (the person's next
    /// online sign-in brings the account's language back).
    #[tracing::instrument(skip_all)]
    pub async fn set_my_language(&self, language: Option<Language>) -> Result<SessionState> {
        let state = self.inner.login.state();
        let user = match (&state.phase, &state.user) {
            (SessionPhase::Active { .. }, Some(user)) => user.clone(),
            _ => {
                return Err(CoreError::NotSignedIn(
                    "sign in with your badge to choose your language".to_owned(),
                ))
            }
        };
        let state = self
            .inner
            .login
            .set_language(user.id, language)
            .ok_or_else(|| CoreError::NotSignedIn("you were signed out".to_owned()))?;
        tracing::info!(user_id = user.id, "own language chosen");
        if let Some(engine) = self.sync_engine_if_running() {
            if let Err(e) = engine.set_staff_language(user.id, language).await {
                tracing::warn!(code = %e.code(), "language not kept in the staff copy");
            }
        }
        let offline = || CoreError::Offline(SAVED_HERE_ONLY.to_owned());
        let Some(token) = self.inner.login.user_token() else {
            return Err(offline());
        };
        let server = match self.link().server().await {
            Ok(server) => server,
            Err(e) if e.code() == tend_domain::ErrorCode::Offline => return Err(offline()),
            Err(e) => return Err(e),
        };
        let api = BearerApi::new(server.client.clone(), token.expose().to_owned());
        let saved: Result<User> = send(
            api.request(reqwest::Method::PUT, "/api/users/me/language")
                .json(&SetLanguage { language }),
        )
        .await;
        match saved {
            Ok(_) => Ok(state),
            Err(e) if e.code() == tend_domain::ErrorCode::Offline => Err(offline()),
            Err(e) => Err(e),
        }
    }
}
