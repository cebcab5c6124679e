//! Writes ui/src/lib/bindings.ts (or the path given) from the Rust commands.
//! CI runs it and fails if the committed file changed.

fn main() -> std::process::ExitCode {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/lib/bindings.ts");
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| default.to_owned());
    match tend_app::export_bindings(std::path::Path::new(&path)) {
        Ok(()) => {
            println!("wrote {path}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("export-bindings: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
