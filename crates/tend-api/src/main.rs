//! `tend-api`: serve, migrate, create-admin, seed-demo, import, audit verify; logs
//! and optional trace export set up first ([`tend_api::telemetry`]).

use clap::Parser;

// Per-thread free lists: a server allocating many small, short-lived buffers
// on every worker thread spends less time in the allocator than with glibc's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = tend_api::cli::Cli::parse();
    // Traces are exported only when the standard OTEL_* variables name a
    // collector; a setting that cannot work stops the start like a bad flag.
    let telemetry = tend_api::telemetry::TraceExport::from_env(|name| std::env::var(name).ok())
        .and_then(|export| {
            tend_api::telemetry::init(&cli.log_level, cli.log_json, export.as_ref())
        });
    let _telemetry = match telemetry {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("tend-api: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    match tend_api::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("tend-api: {err:#}");
            // A setting that cannot work exits 2, like a bad flag.
            if err.downcast_ref::<tend_api::cli::UsageError>().is_some() {
                std::process::ExitCode::from(2)
            } else if err.downcast_ref::<tend_api::cli::ChainBroken>().is_some() {
                // `audit verify` found tampering: distinct from "could not run".
                std::process::ExitCode::from(3)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}
