//! Resolution of dangling intents: a mutating call announced in the state journal by an
//! earlier run that stopped (killed, crashed, lost its connection) before recording the
//! outcome. The plan was made from a fresh observation of the cloud, so it already says
//! what to do with each such resource; [`resolve_intents`] explains that in the plan (a
//! reason on the action, and one line per intent for the user) and says which intents the
//! observation alone has settled, so that apply can clear them before it starts. Intents of
//! resources the plan still acts on are cleared by the executor when it records the outcome.

use flinkform_core::{ResourceKind, kind_spec, markable};
use flinkform_plan::{Op, Plan};
use flinkform_state::{Intent, IntentOp};

/// What the next apply does about one dangling intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentResolution {
    /// The intent's id in the journal.
    pub intent_id: u64,
    /// One line for the user (also added to the action's reasons when there is an action).
    pub message: String,
    /// Whether the observation settled it: apply clears it without acting on the resource.
    pub settled: bool,
}

fn identity(intent: &Intent) -> String {
    let parts: Vec<String> = intent
        .identity
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if parts.is_empty() {
        "its identity".to_owned()
    } else {
        parts.join(", ")
    }
}

/// What creating the resource of `intent` again does to stay idempotent, per kind: a
/// `ClientToken` only where the create call takes one (the catalog's `client_token`), else
/// the lookup by name that runs before and after the call. An intent that records a token
/// for a kind whose API takes none (older state files have one for every create) is
/// explained by what the API does, not by the token.
fn create_again(intent: &Intent) -> String {
    let kind = intent.addr.kind();
    let token = &intent.client_token;
    if !kind_spec(kind).client_token {
        let mark = if markable(kind) {
            " and its ownership mark"
        } else {
            ""
        };
        return format!(
            "create it again; its create call takes no ClientToken, so it is looked up by name{mark} \
             first, and again after a conflict or a lost answer, and adopted if found"
        );
    }
    match (kind, token.is_empty()) {
        (ResourceKind::MarketOrder, false) => format!(
            "order it again, unless the account has an open instance of the product by then; \
             CreateOrder sends a ClientToken derived from {token}, which Marketplace deduplicates"
        ),
        (_, false) => format!(
            "create it again with the same ClientToken {token}, which the cloud deduplicates"
        ),
        (_, true) => "create it again with the ClientToken of its attributes, which the cloud \
             deduplicates"
            .to_owned(),
    }
}

/// Explains every intent of `journal` in `plan` (adding a reason to the action of its
/// address) and returns what apply does about each, in journal order.
pub fn resolve_intents(plan: &mut Plan, journal: &[Intent]) -> Vec<IntentResolution> {
    let mut out = Vec::with_capacity(journal.len());
    for intent in journal {
        let head = format!(
            "an earlier apply was interrupted during {} of `{}` (intent {}, {})",
            intent.op, intent.addr, intent.id, intent.started_at
        );
        // An address may have two actions (a replacement's deletion, then its creation):
        // the one doing the intent's kind of call, else the address's first.
        let wanted = |op: Op| match intent.op {
            IntentOp::Create => matches!(op, Op::Create | Op::Replace),
            IntentOp::Update => op == Op::Update,
            IntentOp::Delete => op == Op::Delete,
        };
        let at = plan
            .actions
            .iter()
            .position(|a| a.addr == intent.addr && wanted(a.op))
            .or_else(|| plan.actions.iter().position(|a| a.addr == intent.addr));
        let action = at.and_then(|i| plan.actions.get_mut(i));
        let (tail, settled) = match (action.as_ref().map(|a| a.op), intent.op) {
            (Some(Op::Adopt), _) => (
                format!(
                    "found it in the cloud by {} → adopt it into state",
                    identity(intent)
                ),
                false,
            ),
            (Some(Op::Create | Op::Replace), IntentOp::Create) => (
                format!(
                    "not found in the cloud by {} → {}",
                    identity(intent),
                    create_again(intent)
                ),
                false,
            ),
            (Some(op), _) if op.mutates() => (
                format!("the cloud differs from the specs → {op} it again"),
                false,
            ),
            (Some(_), IntentOp::Delete) => (
                "the cloud no longer matches the state's record → nothing to repeat; the intent is cleared".to_owned(),
                true,
            ),
            (Some(_), _) => (
                "the cloud shows the call took effect → nothing to repeat; the intent is cleared"
                    .to_owned(),
                true,
            ),
            (None, _) => (
                "the resource is no longer planned → the intent is cleared (anything that call made stays in the cloud)".to_owned(),
                true,
            ),
        };
        let message = format!("{head}: {tail}");
        if let Some(a) = action {
            let reason = format!("{head}; {tail}");
            if !a.reasons.contains(&reason) {
                a.reasons.push(reason);
            }
        }
        out.push(IntentResolution {
            intent_id: intent.id,
            message,
            settled,
        });
    }
    out
}
