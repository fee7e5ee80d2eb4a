//! Applying a commit's changes in place with a way back: what a [`crate::Session`] needs to
//! keep its in-memory state equal to the stored one when a write fails, without cloning the
//! whole state per commit.

use std::collections::BTreeMap;

use flinkform_core::{Address, RecordedResource, Target};

use crate::backend::Change;
use crate::model::{Intent, State, WaitingGate};

/// What [`State::apply_tracked`] changed, to tell whether the content changed and to put it
/// back. Holds the previous value of each resource the changes touched, and of the journal,
/// the gates and the target when they were touched (those are small: calls in flight, gates
/// waiting).
#[derive(Debug, Default)]
#[must_use]
pub struct Undo {
    resources: BTreeMap<Address, Option<RecordedResource>>,
    journal: Option<Vec<Intent>>,
    gates: Option<BTreeMap<String, WaitingGate>>,
    target: Option<Option<Target>>,
}

impl State {
    /// Applies `changes` in order and returns how to undo them. Costs O(changes × log n)
    /// plus the size of the intent journal and the gates when they are touched.
    pub fn apply_tracked(&mut self, changes: &[Change]) -> Undo {
        let mut undo = Undo::default();
        for change in changes {
            match change {
                Change::Record(r) => {
                    let prev = self.resources.get(&r.addr).cloned();
                    undo.resources.entry(r.addr.clone()).or_insert(prev);
                }
                Change::Remove(a) => {
                    let prev = self.resources.get(a).cloned();
                    undo.resources.entry(a.clone()).or_insert(prev);
                }
                Change::BeginIntent(_) | Change::EndIntent(_) | Change::EndIntentsOf(_) => {
                    if undo.journal.is_none() {
                        undo.journal = Some(self.journal.clone());
                    }
                }
                Change::SetGate { .. } | Change::RemoveGate(_) | Change::RemoveGatesOf(_) => {
                    if undo.gates.is_none() {
                        undo.gates = Some(self.gates.clone());
                    }
                }
                Change::SetTarget(_) => {
                    if undo.target.is_none() {
                        undo.target = Some(self.target.clone());
                    }
                }
            }
            self.apply(change);
        }
        undo
    }
}

impl Undo {
    /// Whether the content of `state` (after the changes) differs from before them.
    #[must_use]
    pub fn changed(&self, state: &State) -> bool {
        self.resources
            .iter()
            .any(|(a, prev)| state.resources.get(a) != prev.as_ref())
            || self.journal.as_ref().is_some_and(|j| *j != state.journal)
            || self.gates.as_ref().is_some_and(|g| *g != state.gates)
            || self.target.as_ref().is_some_and(|t| *t != state.target)
    }

    /// Puts `state` back as it was before the changes.
    pub fn restore(self, state: &mut State) {
        for (a, prev) in self.resources {
            match prev {
                Some(r) => {
                    state.resources.insert(a, r);
                }
                None => {
                    state.resources.remove(&a);
                }
            }
        }
        if let Some(j) = self.journal {
            state.journal = j;
        }
        if let Some(g) = self.gates {
            state.gates = g;
        }
        if let Some(t) = self.target {
            state.target = t;
        }
    }
}
