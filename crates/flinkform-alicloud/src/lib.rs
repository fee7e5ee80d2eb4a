//! Alibaba Cloud OpenAPI client and the flinkform resource provider.

pub mod sign;
