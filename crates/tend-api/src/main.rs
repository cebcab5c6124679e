//! The central API (being built).
fn main() {}
