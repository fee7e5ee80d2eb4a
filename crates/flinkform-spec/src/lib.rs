//! YAML specs → a validated desired model ([`Stack`]), with source spans, miette diagnostics
//! and the JSON Schema. This crate does no IO: callers pass file names and contents.

pub mod model;

pub use model::{
    Billing, Document, Duration, FlinkWorkspace, Network, Project, SpecResource, Stack, Storage, Upstream,
    VSwitchRef, VpcRef,
};
