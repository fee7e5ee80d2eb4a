//! End-to-end tests: the real `flinkform` binary against the bundled emulator, each test in
//! its own temporary working directory (its own state and emulator world).

mod china;
mod ci_examples;
mod cli;
mod cli_contract;
mod conformance;
mod crash;
mod crash_paths;
mod credentials;
mod exactly_once;
mod fleet_output;
mod harness;
mod import;
mod interrupt;
mod lifecycle;
mod marketplace;
mod matrix;
mod ownership;
mod postgres;
mod reports;
mod safety;
mod saved_plans;
mod secrets;
mod simworld;
mod state_cmds;
mod tags;
