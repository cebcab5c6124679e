//! The main window, shaped by the profile: a normal window on desktops; on
//! kiosks fullscreen, undecorated, always on top, and impossible to close
//! from the UI (an IT person stops the service instead).

use tauri::{Manager, Runtime, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use tend_core::config::Profile;

pub const MAIN_WINDOW: &str = "main";

pub fn create_main_window<R: Runtime, M: Manager<R>>(
    manager: &M,
    profile: Profile,
) -> tauri::Result<()> {
    let kiosk = profile == Profile::Kiosk;
    let window =
        WebviewWindowBuilder::new(manager, MAIN_WINDOW, WebviewUrl::App("index.html".into()))
            .title("Tend")
            .inner_size(1280.0, 800.0)
            .min_inner_size(360.0, 480.0)
            .fullscreen(kiosk)
            .decorations(!kiosk)
            .always_on_top(kiosk)
            // Kiosks stay resizable: GTK pins a non-resizable window to its
            // size (min = max), so a window manager cannot make it fill a
            // screen other than 1280x800 and "fullscreen" stays 1280x800.
            .closable(!kiosk)
            .build()?;
    if kiosk {
        window.on_window_event(|event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                tracing::info!("close blocked in kiosk profile");
                api.prevent_close();
            }
        });
    }
    Ok(())
}
