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

/// The UI's `DOMAIN_RULES` constant holds exactly the rules the domain
/// enforces (`tend_domain::rules::DomainRules::current`).
#[test]
fn committed_bindings_carry_the_domain_rules() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ui/src/lib/bindings.ts"
    ))
    .unwrap();
    let prefix = format!("export const {} = ", tend_app::DOMAIN_RULES);
    let line = committed
        .lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .expect("bindings export DOMAIN_RULES");
    let json = line.strip_suffix(" as const;").expect("a constant object");
    let exported: serde_json::Value = serde_json::from_str(json).unwrap();
    let enforced = serde_json::to_value(tend_domain::rules::DomainRules::current()).unwrap();
    assert_eq!(exported, enforced);
    assert_eq!(exported["pin"]["min_digits"], 4);
}
