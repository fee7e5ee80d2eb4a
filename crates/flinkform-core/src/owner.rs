//! Ownership: the mark flinkform puts on everything it creates, and who a resource found in
//! the cloud belongs to.
//!
//! flinkform changes only what it owns. A resource is owned when the state records it
//! (created, imported, or adopted earlier). A resource found in the cloud by its identity
//! but missing from state is adopted only when its mark names this state's lineage, or when
//! this state's intent journal names its address (an apply died between the call and the
//! state write); anything else is a plan error (see `flinkform-plan`).
//!
//! The mark is two resource tags, kept by the cloud itself: [`STACK_TAG`] = the state's
//! lineage, [`ADDRESS_TAG`] = the resource's address in that state. They are part of the
//! `tags` attribute of every kind that takes tags ([`markable`]), so setting, drifting and
//! repairing them is the same in-place path as user labels.

use std::collections::BTreeMap;
use std::fmt;

use crate::addr::{Address, ResourceKind};
use crate::value::{Attrs, Value};

/// Tag key naming the stack (the state's lineage) that owns a resource.
pub const STACK_TAG: &str = "flinkform:stack";
/// Tag key naming the resource's address in the owning stack.
pub const ADDRESS_TAG: &str = "flinkform:address";
/// Prefix of tag keys flinkform reserves for itself (labels may not use it).
pub const RESERVED_TAG_PREFIX: &str = "flinkform:";

/// Whether resources of `kind` carry an ownership mark (the APIs take tags for them).
///
/// Projects belong to their workspace; the OSS activation and the service role are
/// account-level singletons meant to be shared, adopted and never deleted; Marketplace and
/// vendor resources are found by their order or account, not by a name anyone may take.
#[must_use]
pub fn markable(kind: ResourceKind) -> bool {
    matches!(
        kind,
        ResourceKind::Vpc
            | ResourceKind::Vswitch
            | ResourceKind::OssBucket
            | ResourceKind::FlinkWorkspace
    )
}

/// The ownership mark of one resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mark {
    /// The owning state's lineage.
    pub stack: String,
    /// The resource's address in that state.
    pub address: String,
}

impl Mark {
    /// The mark of `addr` in the stack with lineage `stack`.
    #[must_use]
    pub fn new(stack: impl Into<String>, addr: &Address) -> Self {
        Self {
            stack: stack.into(),
            address: addr.to_string(),
        }
    }

    /// The two tags of the mark.
    #[must_use]
    pub fn tags(&self) -> [(&'static str, &str); 2] {
        [(STACK_TAG, &self.stack), (ADDRESS_TAG, &self.address)]
    }

    /// The mark in `tags`, when the stack tag is there.
    #[must_use]
    pub fn from_tags(tags: &BTreeMap<String, Value>) -> Option<Self> {
        let stack = tags.get(STACK_TAG)?.as_str()?.to_owned();
        let address = tags
            .get(ADDRESS_TAG)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Some(Self { stack, address })
    }

    /// The mark in the `tags` attribute of `attrs`.
    #[must_use]
    pub fn from_attrs(attrs: &Attrs) -> Option<Self> {
        attrs
            .get("tags")
            .and_then(Value::as_map)
            .and_then(Self::from_tags)
    }
}

/// Who a resource the cloud has belongs to, as far as a read can tell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Owner {
    /// Marked by a flinkform stack.
    Marked(Mark),
    /// It carries no ownership mark: made in the console, by another tool, or by a
    /// flinkform older than marks.
    Unmarked,
    /// Another Alibaba Cloud account owns it (OSS bucket names are global).
    OtherAccount,
    /// The kind carries no mark ([`markable`] is false): ownership follows the parent or the
    /// account.
    #[default]
    NotMarkable,
}

impl Owner {
    /// The owner of a resource of `kind` observed with `attrs` (its `tags` attribute).
    #[must_use]
    pub fn of(kind: ResourceKind, attrs: &Attrs) -> Self {
        if !markable(kind) {
            return Self::NotMarkable;
        }
        Mark::from_attrs(attrs).map_or(Self::Unmarked, Self::Marked)
    }

    /// Whether the mark names the stack with lineage `stack`.
    #[must_use]
    pub fn is_stack(&self, stack: &str) -> bool {
        matches!(self, Self::Marked(m) if m.stack == stack)
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Marked(m) => write!(
                f,
                "another flinkform stack (lineage {}, address `{}`)",
                m.stack, m.address
            ),
            Self::Unmarked => f.write_str(
                "no flinkform stack (it carries no ownership mark: made in the console, by another tool, or by an older flinkform)",
            ),
            Self::OtherAccount => f.write_str("another Alibaba Cloud account"),
            Self::NotMarkable => f.write_str("not markable"),
        }
    }
}

/// Desired `tags`: the user's labels plus the ownership mark of `addr` in `stack`.
#[must_use]
pub fn desired_tags(labels: &BTreeMap<String, String>, mark: &Mark) -> Value {
    let mut tags: BTreeMap<String, Value> = labels
        .iter()
        .map(|(k, v)| (k.clone(), Value::str(v.clone())))
        .collect();
    for (k, v) in mark.tags() {
        tags.insert(k.to_owned(), Value::str(v));
    }
    Value::Map(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_round_trips_through_tags() {
        let addr: Address = "vpc.a".parse().unwrap();
        let mark = Mark::new("lin-1", &addr);
        let labels: BTreeMap<String, String> = [("team".to_owned(), "data".to_owned())].into();
        let tags = desired_tags(&labels, &mark);
        let mut attrs = Attrs::new();
        attrs.insert("tags".into(), tags);
        assert_eq!(Mark::from_attrs(&attrs), Some(mark.clone()));
        assert_eq!(
            Owner::of(ResourceKind::Vpc, &attrs),
            Owner::Marked(mark.clone())
        );
        assert!(Owner::of(ResourceKind::Vpc, &attrs).is_stack("lin-1"));
        assert!(!Owner::of(ResourceKind::Vpc, &attrs).is_stack("lin-2"));
        assert_eq!(
            Owner::of(ResourceKind::FlinkProject, &attrs),
            Owner::NotMarkable
        );
        assert_eq!(Owner::of(ResourceKind::Vpc, &Attrs::new()), Owner::Unmarked);
    }
}
