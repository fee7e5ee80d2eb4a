//! The pure planner: expands specs into resources and diffs desired, recorded and observed
//! into a [`Plan`], a DAG of actions. No IO, no async, no wire types.
//!
//! - [`expand()`] turns a validated stack into [`Desired`] resources;
//! - [`observe_request()`] says what refresh must read;
//! - [`plan()`] and [`plan_destroy()`] build the [`Plan`];
//! - [`client_token()`] gives the executor its idempotency tokens;
//! - [`render`] turns a plan into text, versioned JSON, Markdown, HTML and graphs (strings
//!   only; no printing);
//! - [`saved`] is the saved plan file (`plan -out`) and its staleness digests.

pub mod error;
pub mod expand;
pub mod market;
pub mod model;
pub mod planner;
pub mod render;
pub mod saved;

pub use error::{Error, PlanError, PlanErrors};
pub use expand::{Desired, expand, mark, observe_request};
pub use model::{ActionId, After, AttrDiff, Drift, DriftKind, Op, Plan, PlannedAction, Summary};
pub use planner::{PlanOptions, attr_settled, client_token, plan, plan_destroy};
pub use render::{ReportMeta, drift_json, plan_json, render_drift_text, render_text};
pub use saved::PlanFile;
