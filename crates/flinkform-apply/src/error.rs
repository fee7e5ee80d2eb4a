//! Why one action of an apply failed (the executor never returns these directly: each ends
//! up, rendered, in the [`crate::NodeStatus::Failed`] of its action and in a
//! [`crate::Event::Failed`]), or why preparing a plan did ([`crate::refresh_and_plan`]).

use flinkform_core::{AccountName, Address, CloudId, ProviderError};

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The failure of one action.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// The cloud refused or the call kept failing after every retry.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Provider(#[from] ProviderError),

    /// The plan is refused (every planning error at once).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(flinkform_plan::PlanErrors),

    /// A desired attribute refers to a resource that has no cloud id in state.
    #[error("`{addr}` refers to the id of `{reference}`, which the state does not have")]
    #[diagnostic(
        code(apply::unresolved_reference),
        help(
            "`{reference}` must be created before `{addr}`; run `flinkform plan` again to get a plan that creates it"
        )
    )]
    Unresolved {
        /// The resource being changed.
        addr: Address,
        /// The resource it refers to.
        reference: Address,
    },

    /// The pay-as-you-go balance is below the minimum.
    #[error(
        "account `{account}` has {available} {currency} available, less than the {minimum} {currency} required before a pay-as-you-go order"
    )]
    #[diagnostic(
        code(apply::balance_too_low),
        help("top up the account's balance, then apply again; no order was placed")
    )]
    BalanceTooLow {
        /// The account.
        account: AccountName,
        /// Available amount, decimal.
        available: String,
        /// Required amount, decimal.
        minimum: String,
        /// Currency.
        currency: String,
    },

    /// The balance could not be read, or is in a currency flinkform has no minimum for.
    #[error("could not check the balance of account `{account}`: {reason}")]
    #[diagnostic(
        code(apply::balance_unknown),
        help("no order was placed; check the account's billing settings")
    )]
    BalanceUnknown {
        /// The account.
        account: AccountName,
        /// What is missing.
        reason: String,
    },

    /// A resource a spec references by id does not exist.
    #[error("`{addr}` refers to `{cloud_id}`, which does not exist")]
    #[diagnostic(code(apply::not_found), help("check the id in the spec"))]
    NotFound {
        /// The data resource.
        addr: Address,
        /// The id looked up.
        cloud_id: CloudId,
    },

    /// The cloud reports the resource as failed.
    #[error("`{addr}` ({cloud_id}) failed in the cloud: {message}")]
    #[diagnostic(
        code(apply::resource_failed),
        help(
            "the resource is recorded in state; inspect it in the console, then `flinkform plan` to see what replaces it"
        )
    )]
    ResourceFailed {
        /// The resource.
        addr: Address,
        /// Its id.
        cloud_id: CloudId,
        /// What the cloud said.
        message: String,
    },

    /// The resource did not reach the awaited status in time.
    #[error("gave up waiting for `{addr}` ({cloud_id}) to become {wanted} after {waited_secs} s")]
    #[diagnostic(
        code(apply::wait_timeout),
        help(
            "the resource is recorded in state; a later `flinkform apply` continues from where it is"
        )
    )]
    WaitTimeout {
        /// The resource.
        addr: Address,
        /// Its id.
        cloud_id: CloudId,
        /// `ready` or `absent`.
        wanted: &'static str,
        /// How long it waited.
        waited_secs: u64,
    },

    /// The apply was interrupted while waiting for the resource.
    #[error("stopped waiting for `{addr}` ({cloud_id}): the apply was interrupted")]
    #[diagnostic(
        code(apply::interrupted),
        help("its creation is recorded in state; the next `flinkform apply` waits for it again")
    )]
    Interrupted {
        /// The resource.
        addr: Address,
        /// Its id.
        cloud_id: CloudId,
    },

    /// The plan is not something the executor can run.
    #[error("the plan cannot be executed at `{addr}`: {reason}")]
    #[diagnostic(code(apply::bad_plan), help("make a new plan with `flinkform plan`"))]
    BadPlan {
        /// The action's resource.
        addr: Address,
        /// What is wrong.
        reason: String,
    },

    /// The state could not be saved; nothing further is started.
    #[error("could not save state after `{addr}`: {source}")]
    #[diagnostic(code(apply::state))]
    State {
        /// The resource whose change was being recorded.
        addr: Address,
        /// What went wrong.
        #[source]
        source: std::sync::Arc<flinkform_state::Error>,
    },

    /// The task running the action panicked.
    #[error("internal error while applying `{addr}`: {message}")]
    #[diagnostic(code(apply::internal))]
    Internal {
        /// The resource.
        addr: Address,
        /// What happened.
        message: String,
    },
}
