//! Applying a commit's changes in place with a way back: what a [`crate::Session`] needs to
//! keep its in-memory state equal to the stored one when a write fails, without cloning the
//! whole state per commit.

use std::collections::BTreeMap;

use flinkform_core::{Address, RecordedResource, Target};

use crate::backend::Change;
use crate::model::{Intent, State, WaitingGate};

/// What [`State::apply_tracked`] changed, to tell whether the content changed and to put it
/// back. Holds the previous value of each resource the changes touched, each intent the
/// changes added or removed (a fleet's apply has thousands of intents open while its
/// workspaces provision: copying the journal per commit made the apply quadratic), and the
/// gates and the target when they were touched (those are small).
#[derive(Debug, Default)]
#[must_use]
pub struct Undo {
    resources: BTreeMap<Address, Option<RecordedResource>>,
    /// The journal's edits, in the order made.
    journal: Vec<JournalEdit>,
    gates: Option<BTreeMap<String, WaitingGate>>,
    target: Option<Option<Target>>,
}

/// One edit of the intent journal, to be undone in reverse order.
#[derive(Debug)]
enum JournalEdit {
    /// An intent with this id was inserted.
    Added(u64),
    /// This intent was removed from this position.
    Removed(usize, Intent),
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
                Change::BeginIntent(i) => {
                    if self.journal.contains(i) {
                        continue;
                    }
                    self.remove_intents(|j| j.id == i.id, &mut undo.journal);
                    self.push_intent(i.clone());
                    undo.journal.push(JournalEdit::Added(i.id));
                    continue;
                }
                Change::EndIntent(id) => {
                    self.remove_intents(|j| j.id == *id, &mut undo.journal);
                    continue;
                }
                Change::EndIntentsOf(a) => {
                    self.remove_intents(|j| &j.addr == a, &mut undo.journal);
                    continue;
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

    /// Removes the intents `which` selects, logging each with its position (from the last
    /// one, so that each logged position is the one it had when removed).
    fn remove_intents(&mut self, which: impl Fn(&Intent) -> bool, log: &mut Vec<JournalEdit>) {
        for at in (0..self.journal.len()).rev() {
            if self.journal.get(at).is_some_and(&which) {
                let intent = self.journal.remove(at);
                log.push(JournalEdit::Removed(at, intent));
            }
        }
    }
}

impl Undo {
    /// Whether the content of `state` (after the changes) differs from before them.
    #[must_use]
    pub fn changed(&self, state: &State) -> bool {
        self.resources
            .iter()
            .any(|(a, prev)| state.resources.get(a) != prev.as_ref())
            || !self.journal.is_empty()
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
        for edit in self.journal.into_iter().rev() {
            match edit {
                JournalEdit::Added(id) => state.journal.retain(|i| i.id != id),
                JournalEdit::Removed(at, intent) => {
                    let at = at.min(state.journal.len());
                    state.journal.insert(at, intent);
                }
            }
        }
        if let Some(g) = self.gates {
            state.gates = g;
        }
        if let Some(t) = self.target {
            state.target = t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IntentOp;

    fn intent(id: u64, addr: &str) -> Intent {
        Intent {
            id,
            addr: addr.parse().unwrap(),
            op: IntentOp::Create,
            client_token: format!("t{id}"),
            identity: flinkform_core::Attrs::new(),
            started_at: "2026-12-02T00:00:00Z".to_owned(),
        }
    }

    #[test]
    fn restore_puts_the_intent_journal_back_exactly() {
        let mut state = State::new();
        for (id, addr) in [(1, "vpc.a"), (2, "vpc.b"), (3, "vpc.a"), (4, "vpc.c")] {
            state.push_intent(intent(id, addr));
        }
        let before = state.clone();
        let changes = [
            Change::EndIntent(2),
            Change::BeginIntent(intent(7, "vpc.d")),
            Change::EndIntentsOf("vpc.a".parse().unwrap()),
            // Begun and ended in one commit: not there before, not there after the undo.
            Change::BeginIntent(intent(8, "vpc.e")),
            Change::EndIntent(8),
            // A begin of what the journal holds already changes nothing.
            Change::BeginIntent(intent(4, "vpc.c")),
        ];
        let undo = state.apply_tracked(&changes);
        assert_eq!(
            state.journal.iter().map(|i| i.id).collect::<Vec<_>>(),
            [4, 7]
        );
        assert!(undo.changed(&state));
        undo.restore(&mut state);
        assert_eq!(state, before);
        // Nothing that changes nothing is a change.
        let undo = state.apply_tracked(&[
            Change::EndIntent(99),
            Change::BeginIntent(intent(4, "vpc.c")),
        ]);
        assert!(!undo.changed(&state));
        assert_eq!(state, before);
    }
}
