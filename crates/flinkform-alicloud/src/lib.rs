//! Alibaba Cloud OpenAPI client and the flinkform resource provider.
//!
//! - [`sign`]: V3, legacy RPC and OSS V1 request signatures, the `flinkform-sign` crate
//!   (shared with the emulator), re-exported.
//! - [`credentials`]: AccessKey credentials from the environment or aliyun CLI profiles.
//! - [`endpoint`]: real hosts per product and region, or one override URL (the emulator).
//! - [`client`]: signed RPC and OSS calls, typed errors, a call counter.
//! - [`provider`]: [`AliProvider`], the `flinkform_core::Provider` for Alibaba Cloud;
//!   Marketplace orders and the vendor steps of subscriptions (through a [`connector`]).

pub mod client;
pub mod connector;
pub mod credentials;
pub mod endpoint;
mod error;
mod market;
mod objects;
pub mod provider;
mod rm;
mod tags;
mod wire;

/// Request signatures: the `flinkform-sign` crate, which the emulator shares.
pub use flinkform_sign as sign;

pub use client::{ApiError, Client, ClientOptions, OssMethod, RpcMethod, classify};
pub use connector::{Connector, ConnectorMethod};
pub use credentials::{Credentials, Secret, default_aliyun_config_path, resolve, resolve_all};
pub use endpoint::{Endpoints, Product};
pub use error::{Error, Result, StsRefusal};
pub use provider::AliProvider;
