//! Emulator of the Alibaba Cloud APIs flinkform uses, speaking the real wire protocol
//! (contract: `specs/cloud-api.md`). A [`World`] holds the emulated cloud (accounts, keys,
//! balances, activations, roles, networks, buckets, Flink workspaces and namespaces) and is
//! persisted as JSON; [`serve`] answers signed RPC (V3 and legacy) and OSS REST requests
//! for it on one loopback listener; the `console_*` methods of [`World`] change resources
//! the way a person in the web console would, for drift tests.
//!
//! Choices where the contract leaves room (all deliberate, all tested):
//! - Routing: a known version with an unknown action → 404 `InvalidAction.NotFound`; an
//!   unknown version → 400 `NoSuchVersion`; a request with no signature at all → 400
//!   `IncompleteSignature`. Authentication happens before routing. A request without a
//!   parameter the action requires → 400 `MissingParameter` before the action runs (no
//!   default region); every RPC error carries the gateway's `Recommend` link.
//! - Subscriptions end after calendar months and years (day clamped at a month's end);
//!   `Duration` is 1–9 months or 1–3 years.
//! - Signatures: bad date format → 400 `InvalidTimeStamp.Format`, outside 15 minutes → 400
//!   `InvalidTimeStamp.Expired`; a body that does not match `x-acs-content-sha256` → 400
//!   `SignatureDoesNotMatch`. A nonce is only recorded once the signature is valid. Answers
//!   are always JSON (a legacy `Format=XML` is ignored). OSS accepts V1 signatures only
//!   (`OSS4-HMAC-SHA256` → 400 `InvalidArgument`).
//! - Time: cloud time runs `time_scale` times faster than the wall clock (default 60); `0`
//!   freezes it except for [`World::advance`]. Signature windows use the wall clock.
//! - Lifecycle: a workspace's `OrderState` is `NOT_INIT` for its first cloud minute;
//!   `CREATING` lasts 5–10 cloud minutes (from a hash of its id); a namespace is `DELETING`
//!   for 20 cloud seconds, then gone. The default namespace is `<name>-default`.
//!   Pay-as-you-go workspaces and namespaces without a spec report
//!   `ResourceSpec {Cpu: 0, MemoryGB: 0}`. `DeleteInstance` of a workspace that is already
//!   `DELETING` succeeds again. No money is charged.
//! - A bucket is "not empty" (409 `BucketNotEmpty`) while it holds an object or a workspace
//!   that is not gone uses it; a workspace that has become `RUNNING` has written its four
//!   directories into its bucket (once; they outlive it). A vSwitch is in use (400
//!   `DependencyViolation`) while a workspace uses it.
//! - Tags and resource groups: VPCs, vSwitches, workspaces and buckets carry tags (at most
//!   20) and a resource group (the account's default one unless given); ResourceManager
//!   `MoveResources` changes the group of any of them. Objects keep their size and MD5, and
//!   their bytes only up to 1 KiB.
//! - BSS `SetRenewal` for an unknown or pay-as-you-go instance → 400 `InvalidParameter`.
//! - RAM knows a handful of system policies (`AliyunStreamAsiDefaultRolePolicy`,
//!   `AliyunDLFFullAccess`, `AliyunOSSFullAccess`, `AliyunVPCFullAccess`,
//!   `AliyunSTSAssumeRoleAccess`, `AdministratorAccess`); custom policies do not exist.
//! - Resource ids are per account (every account has its own `vpc-sim-existing`); bucket
//!   names are global.
//! - Faults can be injected per action ([`World::inject_fault`]): throttling (400
//!   `Throttling.User` + `x-acs-retry-after: 1000`), 500 `InternalError`, or a lost response
//! - Marketplace and SaaS vendor (specs/connector.md): `CreateOrder` provisions through
//!   the vendor's SPI (`GET /_vendor/spi`, MD5-signed), the vendor's Billing Center
//!   connector is served under `/_vendor/connector/v1/`, and verification e-mails land in
//!   [`World::outbox`].
//!   (the change is made, the client sees 503 `ServiceUnavailable`); a seeded
//!   [`FaultPlan`] (QPS limits, 5xx, latency, lost responses by k-th committed call, stuck
//!   workspaces, failed orders) comes with [`SimOptions::faults`] or the loopback admin
//!   endpoint `POST /_sim/faults`, and [`SimOptions::on_commit`] observes every committed
//!   mutating call before its response is written.
//! - Console commands ([`ConsoleOp`]) apply to a world file, or through the admin endpoint
//!   `POST /_sim/console` to the world a running emulator serves; [`WorldLock`] keeps two
//!   processes from changing one world file at once.

mod api;
mod auth;
mod connector;
mod console;
pub mod error;
pub mod faults;
mod keys;
mod lock;
mod market;
mod params;
mod regions;
mod server;
mod tags;
mod vendor;
mod world;

pub use console::{ConsoleOp, ConsoleOutcome, send_console};
pub use error::{Error, Result};
pub use faults::FaultPlan;
pub use keys::WorldKeys;
pub use lock::{Holder, ServeInfo, WorldLock};
pub use market::{MarketInstanceInfo, OutboxMessage, VendorSummary};
pub use regions::Site;
pub use server::{
    CommitFn, CommitHook, SimHandle, SimOptions, serve, serve_with, spawn, spawn_shared,
};
pub use world::{
    AccountKeys, AccountSummary, DEFAULT_REGION, DEFAULT_TIME_SCALE, EXISTING_VPC_ID,
    EXISTING_VSWITCH_ID, Fault, FaultKind, InstanceInfo, World, add_months,
};
