//! `tend-api`: serve, migrate, create-admin, seed-demo, audit verify.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = tend_api::cli::Cli::parse();
    tend_api::cli::init_tracing(&cli.log_level, cli.log_json);
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
