//! The pure planner: expands specs into resources and diffs desired, recorded and observed
//! into a [`Plan`], a DAG of actions. No IO, no async, no wire types.

pub mod model;

pub use model::{ActionId, After, AttrDiff, Drift, DriftKind, Op, Plan, PlannedAction, Summary};
