//! End-to-end tests: the real `flinkform` binary against the bundled emulator, each test in
//! its own temporary working directory (its own state and emulator world).

mod china;
mod cli;
mod conformance;
mod crash;
mod crash_paths;
mod exactly_once;
mod fleet_output;
mod harness;
mod import;
mod lifecycle;
mod marketplace;
mod matrix;
mod ownership;
mod safety;
mod secrets;
mod simworld;
mod tags;
