//! Entry point of the Tend app: resolve configuration, prepare the data
//! directory, start logging, then open the window for the chosen profile.
#![cfg_attr(
    all(not(debug_assertions), target_os = "windows"),
    windows_subsystem = "windows"
)]

use std::process::ExitCode;
use std::time::Instant;

use tend_core::config::{AppConfig, CliArgs, Environment, USAGE};
use tend_core::instance::InstanceLock;

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = match CliArgs::parse(std::env::args().skip(1)) {
        Ok(cli) => cli,
        Err(e) => return fail(&e.to_string()),
    };
    if cli.help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if cli.version {
        println!("tend {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let mut config = match AppConfig::resolve(&cli, &Environment::from_process()) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    if let Err(message) = check_display() {
        return fail(&message);
    }
    if let Err(e) = config.prepare_dirs() {
        return fail(&e.to_string());
    }
    // A "Restart to update" starts this process before the old one exits.
    let restarted = std::env::var_os(tend_app::update::RESTARTED_FOR_UPDATE).is_some();
    let wait = std::time::Duration::from_secs(if restarted { 10 } else { 0 });
    let _instance = match InstanceLock::acquire_within(&config.data_dir, wait) {
        Ok(lock) => lock,
        Err(e) => return fail(&e.to_string()),
    };
    apply_webkit_settings(&config);
    let log = match tend_core::logging::init(&config.log_dir, &config.log_level) {
        Ok(guard) => guard,
        Err(e) => return fail(&e.to_string()),
    };
    tracing::info!(
        profile = config.profile.as_str(),
        version = env!("CARGO_PKG_VERSION"),
        "starting Tend"
    );

    // A device that enrolled comes back to the server it enrolled with.
    if config.server_url.is_none() {
        match tend_core::enrollment::load_state(&config.data_dir) {
            Ok(Some(enrolled)) => config.server_url = Some(enrolled.server_url),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "enrollment record unreadable; setup again"),
        }
    }
    let profile = config.profile;
    let runtime =
        tend_core::device::DeviceRuntime::new(&config, env!("CARGO_PKG_VERSION"), started);
    let result = tend_app::build_app(tauri::Builder::default(), runtime.clone(), Some(profile))
        .build(tauri::generate_context!());
    match result {
        Ok(app) => {
            // An update installed by apt takes effect when nobody is signed in.
            tend_app::update::watch(
                app.handle().clone(),
                runtime,
                profile,
                config.update_check_interval,
            );
            // `run` ends with `process::exit` (with the code given to
            // `exit`), which runs no destructors: flush the log files first.
            let mut log = Some(log);
            app.run(move |_, event| {
                if let tauri::RunEvent::Exit = event {
                    drop(log.take());
                }
            });
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "the window could not start");
            fail(&format!(
                "the window could not start: {e}. On Linux this needs a graphical session (DISPLAY or WAYLAND_DISPLAY)."
            ))
        }
    }
}

/// GTK panics without a display; say what is missing instead.
fn check_display() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        if !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
            return Err(
                "no display: neither DISPLAY nor WAYLAND_DISPLAY is set; run Tend in a \
                 graphical session (a kiosk runs it under the cage compositor, tests under Xvfb)"
                    .into(),
            );
        }
    }
    Ok(())
}

/// WebKitGTK's DMA-BUF renderer shows blank windows on many GPUs and VMs;
/// disable it unless the user already chose, or opted out in config. And
/// JavaScriptCore's JIT off unless configured on (`webkit_jit`).
fn apply_webkit_settings(config: &AppConfig) {
    #[cfg(target_os = "linux")]
    if config.webkit_dmabuf_workaround
        && std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none()
    {
        // SAFETY-free: `set_var` is called before any thread is spawned.
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
    // JavaScriptCore reads its options from `JSC_*` in each web process,
    // which inherits this environment. Interpreted, the UI stays quick (it is
    // small) and the web process maps no writable-and-executable memory.
    #[cfg(target_os = "linux")]
    if !config.webkit_jit && std::env::var_os("JSC_useJIT").is_none() {
        std::env::set_var("JSC_useJIT", "0");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = config;
}

fn fail(message: &str) -> ExitCode {
    eprintln!("tend: {message}");
    ExitCode::from(2)
}
