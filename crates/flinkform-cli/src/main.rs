//! The `flinkform` binary.
fn main() {}
