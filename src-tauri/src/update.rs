//! Wiring of `tend_core::update`: a kiosk exits for systemd to start the
//! updated executable; a desktop tells its window, whose "Restart to
//! update" starts the new executable and closes this one.

use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_specta::Event;
use tend_core::config::Profile;
use tend_core::device::DeviceRuntime;
use tend_core::update::{ExecutableFile, UpdateAction, UpdateWatch, RESTART_FOR_UPDATE_EXIT_CODE};

use crate::error::AppError;

fn not_restarted(e: std::io::Error) -> AppError {
    tracing::warn!(error = %e, "the updated app could not be started");
    AppError {
        code: tend_domain::ErrorCode::Internal,
        message: "the updated app could not be started; close Tend and open it again".into(),
        fields: Default::default(),
    }
}

/// An update replaced the app's executable; the window offers a restart.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct UpdateInstalled;

/// Set on the process a "Restart to update" starts, so it waits for this
/// one to let go of the data directory instead of refusing to start.
pub const RESTARTED_FOR_UPDATE: &str = "TEND_RESTARTED_FOR_UPDATE";

/// What "Restart to update" does in this app (managed by [`watch`]).
pub struct Restarter(Box<dyn Fn() -> Result<(), AppError> + Send + Sync>);

/// Starts watching for an installed update (see `tend_core::update`).
pub fn watch<R: Runtime>(
    app: AppHandle<R>,
    runtime: DeviceRuntime,
    profile: Profile,
    every: std::time::Duration,
) {
    let handle = app.clone();
    app.manage(Restarter(Box::new(move || restart(&handle))));
    let Some(program) = ExecutableFile::current() else {
        tracing::warn!("the executable's path is unknown; installed updates are not noticed");
        return;
    };
    let watch = UpdateWatch::new(program, profile);
    tauri::async_runtime::spawn(watch.run(runtime, every, move |action| match action {
        UpdateAction::Restart => {
            tracing::info!("an update was installed and nobody is signed in: restarting into it");
            app.exit(i32::from(RESTART_FOR_UPDATE_EXIT_CODE));
        }
        UpdateAction::TellUser => {
            tracing::info!("an update was installed: the window offers a restart");
            if let Err(e) = UpdateInstalled.emit(&app) {
                tracing::warn!(error = %e, "update notice not delivered");
            }
        }
        UpdateAction::Nothing => {}
    }));
}

/// "Restart to update", when the user chose to: starts the installed
/// executable with this process's arguments, then closes this one.
#[tauri::command]
#[specta::specta]
pub fn restart_to_update(restarter: State<'_, Restarter>) -> Result<(), AppError> {
    (restarter.0)()
}

fn restart<R: Runtime>(app: &AppHandle<R>) -> Result<(), AppError> {
    let env = app.env();
    let program = tauri::process::current_binary(&env).map_err(not_restarted)?;
    std::process::Command::new(program)
        .args(env.args_os.iter().skip(1))
        .env(RESTARTED_FOR_UPDATE, "1")
        .spawn()
        .map_err(not_restarted)?;
    tracing::info!("restarting into the installed update");
    app.exit(0);
    Ok(())
}
