//! Badge sources (being built).
