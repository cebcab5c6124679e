//! The committed TypeScript bindings match the Rust commands, events and
//! types. Runs inside the normal test build, so CI needs no second build of
//! the app just to regenerate them.

#[test]
fn committed_bindings_are_current() {
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/lib/bindings.ts");
    let dir = tempfile::tempdir().unwrap();
    let fresh_path = dir.path().join("bindings.ts");
    tend_app::export_bindings(&fresh_path).expect("bindings export");
    let fresh = std::fs::read_to_string(&fresh_path).unwrap();
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    assert!(
        fresh == committed,
        "ui/src/lib/bindings.ts is stale: run `cargo run -p tend-app --bin export-bindings` and commit it"
    );
}
