//! Emulator of the Alibaba Cloud APIs flinkform uses, speaking the real wire protocol
//! (contract: `specs/cloud-api.md`). A [`World`] holds the emulated cloud (accounts, keys,
//! balances, activations, roles, networks, buckets, Flink workspaces and namespaces) and is
//! persisted as JSON; [`serve`] answers signed RPC (V3 and legacy) and OSS REST requests
//! for it on one loopback listener; the `console_*` methods of [`World`] change resources
//! the way a person in the web console would, for drift tests.

mod api;
mod auth;
pub mod error;
mod params;
mod regions;
mod server;
mod world;

pub use error::{Error, Result};
pub use regions::Site;
pub use server::{SimHandle, SimOptions, serve, serve_with, spawn, spawn_shared};
pub use world::{
    AccountKeys, AccountSummary, DEFAULT_REGION, DEFAULT_TIME_SCALE, EXISTING_VPC_ID,
    EXISTING_VSWITCH_ID, Fault, FaultKind, InstanceInfo, World,
};
