//! Gates: steps only a person can complete. Their instructions as shown to that person
//! (with references resolved and the account's UID filled in), and the attributes recorded
//! once a gate is passed (never the value that passed it).

use flinkform_core::{AccountName, Attrs, Value};
use flinkform_plan::market::ACCOUNT_UID_PLACEHOLDER;
use flinkform_state::State;

/// The attribute that carries the person's input to the provider (never recorded).
pub(crate) const INPUT_ATTR: &str = "input";

/// Puts the UID of `account` (from the state's target) where a gate's attributes hold the
/// placeholder.
pub(crate) fn fill_account_uid(attrs: &mut Attrs, account: &AccountName, state: &State) {
    let Some(v) = attrs.get_mut("account_uid") else {
        return;
    };
    if v.as_str() != Some(ACCOUNT_UID_PLACEHOLDER) {
        return;
    }
    if let Some(uid) = state.target.as_ref().and_then(|t| t.accounts.get(account)) {
        *v = Value::str(uid.as_str());
    }
}

/// The instructions of a gate with the values to enter, one per line.
pub(crate) fn instructions(resolved: &Attrs) -> String {
    let mut out = resolved
        .get("instructions")
        .and_then(Value::as_str)
        .unwrap_or("complete this step")
        .to_owned();
    for (key, label) in [
        ("account_uid", "Alibaba Cloud account ID"),
        ("instance_id", "Product Instance ID"),
        ("workspace", "Workspace name"),
        ("language", "Workspace language"),
    ] {
        if let Some(v) = resolved.get(key).and_then(Value::as_str) {
            out.push_str(&format!("\n    {label}: {v}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_list_the_values_to_enter() {
        let attrs: Attrs = [
            ("instructions", Value::str("Bind it.")),
            ("instance_id", Value::str("5604018")),
            ("account_uid", Value::str("1234")),
            ("step", Value::str("settlement")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(
            instructions(&attrs),
            "Bind it.\n    Alibaba Cloud account ID: 1234\n    Product Instance ID: 5604018"
        );
    }
}
