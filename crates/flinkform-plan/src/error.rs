//! Errors of the planner: conflicts found while expanding specs into resources, failed
//! preconditions (region, zone, balance, resources referenced by id, what the vendor must
//! have before a Marketplace order), refusals to destroy protected resources, and
//! dependency cycles.
//!
//! The planner has no source text, so every error that comes from a spec value starts its
//! message with the value's origin (`file:line:column: `); `at` holds that prefix (empty
//! when the origin is unknown).

use flinkform_core::Origin;

/// One planning error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// Two documents produce the same resource address with different meanings.
    #[error("{at}`{addr}` is declared twice: {detail}")]
    #[diagnostic(
        code(plan::conflict),
        help(
            "every workspace needs its own name, VPC, vSwitches and projects; rename one of the documents"
        )
    )]
    Conflict {
        /// Origin prefix of the second declaration.
        at: String,
        /// The address both produce.
        addr: String,
        /// What differs, and where the first one is.
        detail: String,
    },
    /// Two workspaces use one bucket from different accounts or regions.
    #[error(
        "{at}bucket `{bucket}` is also used by workspace `{other}` ({other_place}); a bucket lives in one account and region"
    )]
    #[diagnostic(
        code(plan::bucket_conflict),
        help(
            "give each workspace its own bucket, or put both workspaces in the same account and region"
        )
    )]
    BucketConflict {
        /// Origin prefix of the second use.
        at: String,
        /// The bucket name.
        bucket: String,
        /// The workspace that declared it first.
        other: String,
        /// `account main, region ap-southeast-1` of the first use.
        other_place: String,
    },
    /// A name from the specs does not fit into a resource address.
    #[error("{at}`{input}` cannot be used in a resource address")]
    #[diagnostic(
        code(plan::bad_address),
        help("names may hold letters, digits, `-`, `_` and `.`")
    )]
    BadAddress {
        /// Origin prefix.
        at: String,
        /// The address text.
        input: String,
    },
    /// The projects' CU leave nothing for the generated default project.
    #[error(
        "{at}the projects of `{workspace}` claim {claimed} CU of a quota of {quota} CU; the default project needs at least 1"
    )]
    #[diagnostic(
        code(plan::quota),
        help("raise `spec.quota.cu` or lower the projects' `cu`")
    )]
    QuotaExhausted {
        /// Origin prefix.
        at: String,
        /// The workspace name.
        workspace: String,
        /// Sum of the projects' CU.
        claimed: u64,
        /// `spec.quota.cu`.
        quota: u64,
    },
    /// A resource depends on an address that nothing declares.
    #[error("`{addr}` depends on `{missing}`, which no spec declares")]
    #[diagnostic(
        code(plan::unknown_dependency),
        help("this is a bug in flinkform's expansion of the specs; please report it")
    )]
    UnknownDependency {
        /// The dependent.
        addr: String,
        /// The missing dependency.
        missing: String,
    },
    /// A resource the specs want to create exists already, and this stack does not own it.
    #[error(
        "{at}`{addr}` would take over {what}, which exists already ({place}) and belongs to {owner}",
        place = .found.place,
        owner = .found.owner
    )]
    #[diagnostic(code(plan::not_owned), help("{help}"))]
    NotOwned {
        /// Origin prefix of the name (or id) that collides.
        at: String,
        /// The address the specs declare.
        addr: String,
        /// What exists (`VPC vpc-123 named "x"`).
        what: String,
        /// Where it is and whose it is (boxed, so that the error enum stays small).
        found: Box<Found>,
        /// The ways out.
        help: String,
    },
    /// A replacement whose old resource is still used by something that stays.
    #[error(
        "{at}`{addr}` must be replaced (deleted, then created again), but `{user}` still uses it and is neither deleted nor replaced in this plan"
    )]
    #[diagnostic(
        code(plan::replace_blocked),
        help(
            "the cloud refuses to delete a resource in use: change `{user}` too so that it is replaced with it, or remove it from the specs in the same change"
        )
    )]
    ReplaceBlocked {
        /// Origin prefix.
        at: String,
        /// The resource to replace.
        addr: String,
        /// What still uses it.
        user: String,
    },
    /// A subscription workspace cannot be replaced under its name.
    #[error(
        "{at}`{addr}` is a subscription workspace and would have to be replaced because {because}; its name stays taken until the old one's term ends, so the new one could not be ordered"
    )]
    #[diagnostic(
        code(plan::subscription_replace),
        help(
            "keep the immutable settings; or give the workspace a new `metadata.name` (a new workspace) and remove the old one from the specs: flinkform then turns its auto-renewal off and it ends with its term"
        )
    )]
    SubscriptionReplace {
        /// Origin prefix of the attribute that forces it.
        at: String,
        /// The workspace.
        addr: String,
        /// What forces the replacement.
        because: String,
    },
    /// A bucket to delete holds objects and the user has not confirmed how many.
    #[error(
        "`{addr}` holds {objects} object(s) (the workspace's artifacts/, flink-jobs/, flink-savepoints/, logs/ and job data), which its deletion deletes too{given}"
    )]
    #[diagnostic(
        code(plan::bucket_objects),
        help(
            "confirm the count with `--allow-destroy {addr}={objects}`, or keep the bucket (leave out `--allow-destroy {addr}`); copy what you need first"
        )
    )]
    ObjectsUnconfirmed {
        /// The bucket's address.
        addr: String,
        /// How many objects it holds now.
        objects: u64,
        /// `; you confirmed N` when a smaller count was given.
        given: String,
    },
    /// The cloud reports a status flinkform does not know for something that costs money.
    #[error(
        "{at}`{addr}`: {why}; flinkform plans nothing for it on a guess (an unknown status is never taken for absent, which would order again, or for failed, which would replace it)"
    )]
    #[diagnostic(
        code(plan::status_unknown),
        help(
            "look at it in the Alibaba Cloud console (or ask support what the status means) and plan again once it reports a known status; if it is gone for good, remove it from the state"
        )
    )]
    StatusUnknown {
        /// Origin prefix.
        at: String,
        /// The resource.
        addr: String,
        /// What the cloud said.
        why: String,
    },
    /// An existing vSwitch is not in the workspace's zone.
    #[error(
        "{at}vSwitch `{vswitch}` is in zone {actual}, but the workspace is in zone {zone}; every vSwitch of a workspace is in its zone"
    )]
    #[diagnostic(
        code(plan::vswitch_zone),
        help(
            "use a vSwitch of zone {zone} (`aliyun vpc DescribeVSwitches --ZoneId {zone}`), or set `spec.zone: {actual}`"
        )
    )]
    VswitchZone {
        /// Origin prefix of the vSwitch reference.
        at: String,
        /// Its id.
        vswitch: String,
        /// Its zone.
        actual: String,
        /// The workspace's zone.
        zone: String,
    },
    /// A vSwitch to create does not fit into its existing VPC.
    #[error("{at}vSwitch CIDR {cidr} {problem}")]
    #[diagnostic(
        code(plan::vswitch_cidr),
        help("pick a CIDR block inside the VPC's {vpc_cidr} that no vSwitch of the VPC uses")
    )]
    VswitchCidr {
        /// Origin prefix of the CIDR.
        at: String,
        /// The CIDR.
        cidr: String,
        /// What is wrong (`is not inside VPC vpc-1's 10.0.0.0/16`).
        problem: String,
        /// The VPC's CIDR.
        vpc_cidr: String,
    },
    /// A resource the spec references by id does not exist.
    #[error("{at}`{what}` does not exist in {region}")]
    #[diagnostic(
        code(plan::data_source_missing),
        help(
            "check the id and the region, or let flinkform create one with `create: {{ cidr: ... }}`"
        )
    )]
    DataSourceMissing {
        /// Origin prefix.
        at: String,
        /// How the spec says it (`vpc: { id: vpc-x }`).
        what: String,
        /// The region it was looked up in.
        region: String,
    },
    /// A pay-as-you-go order needs a larger balance.
    #[error(
        "{at}account `{account}` has {currency} {available} available; a pay-as-you-go workspace needs at least {currency} {minimum}"
    )]
    #[diagnostic(
        code(plan::insufficient_balance),
        help("top up the account, or use billing.method: subscription")
    )]
    InsufficientBalance {
        /// Origin prefix.
        at: String,
        /// The account name.
        account: String,
        /// Currency of the amounts.
        currency: String,
        /// Available amount (`42.00`).
        available: String,
        /// Required amount (`100.00`).
        minimum: String,
    },
    /// The account's site does not offer fully managed Flink in the region.
    #[error(
        "{at}region `{region}` is not offered to account `{account}`; its site offers: {offered}"
    )]
    #[diagnostic(
        code(plan::region_not_offered),
        help("pick an offered region; the international and China sites offer different regions")
    )]
    RegionNotOffered {
        /// Origin prefix.
        at: String,
        /// The region asked for.
        region: String,
        /// The account name.
        account: String,
        /// Comma-separated offered regions.
        offered: String,
    },
    /// Fully managed Flink is not offered in the zone.
    #[error(
        "{at}zone `{zone}` does not offer fully managed Flink in {region}; offered zones: {offered}"
    )]
    #[diagnostic(
        code(plan::zone_not_offered),
        help("pick an offered zone, and create the vSwitches in it")
    )]
    ZoneNotOffered {
        /// Origin prefix.
        at: String,
        /// The zone asked for.
        zone: String,
        /// Its region.
        region: String,
        /// Comma-separated offered zones.
        offered: String,
    },
    /// A workspace names a resource group the account does not have (checked before the
    /// workspace is ordered or moved).
    #[error(
        "{at}resource group `{group}` does not exist in account `{account}`; its groups: {groups}"
    )]
    #[diagnostic(
        code(plan::resource_group_missing),
        help(
            "set spec.resourceGroup to one of the account's group ids (create the group in the Resource Management console first), or leave it out for the account's default group"
        )
    )]
    ResourceGroupMissing {
        /// Origin prefix (`spec.resourceGroup`).
        at: String,
        /// The group id the spec names.
        group: String,
        /// The account name.
        account: String,
        /// Comma-separated ids of the account's groups.
        groups: String,
    },
    /// A protected resource would be replaced.
    #[error("{at}`{addr}` is protected: replacing it because {because} would destroy it")]
    #[diagnostic(
        code(plan::protected),
        help("set `protect: false` in the spec and apply, or pass `--allow-replace {addr}`")
    )]
    ProtectedReplace {
        /// Origin prefix.
        at: String,
        /// The resource.
        addr: String,
        /// `` `bucket` is immutable ``.
        because: String,
    },
    /// A protected resource would be deleted.
    #[error(
        "`{addr}` is protected: deleting it because it is no longer in the specs would destroy it"
    )]
    #[diagnostic(
        code(plan::protected),
        help(
            "put it back into the specs, or pass `--allow-destroy {addr}` (or first apply it with `protect: false`, then remove it)"
        )
    )]
    ProtectedDelete {
        /// The resource.
        addr: String,
    },
    /// A subscription binds a Billing Center account the vendor does not have (checked
    /// before the Marketplace order, which cannot be undone).
    #[error(
        "{at}Billing Center account `{username}` does not exist on the {site} site; binding it would fail after `{order}` is ordered"
    )]
    #[diagnostic(
        code(plan::billing_account_missing),
        help(
            "check the username and `billingCenter.site`, or register a new account with `mode: register` (with `password` and `company`)"
        )
    )]
    BillingAccountMissing {
        /// Origin prefix (the username).
        at: String,
        /// The username.
        username: String,
        /// `intl` or `china`.
        site: String,
        /// The order that was not placed.
        order: String,
    },
    /// A subscription binds a Billing Center account with an e-mail address that is not the
    /// account's.
    #[error(
        "{at}`{email}` is not the e-mail address of Billing Center account `{username}`; binding it would fail after `{order}` is ordered"
    )]
    #[diagnostic(
        code(plan::billing_account_email),
        help(
            "give the address the account was registered with: the verification code is sent there"
        )
    )]
    BillingAccountEmail {
        /// Origin prefix (the e-mail address).
        at: String,
        /// The address the spec gives.
        email: String,
        /// The username.
        username: String,
        /// The order that was not placed.
        order: String,
    },
    /// A subscription registers a username that is taken on the site.
    #[error(
        "{at}username `{username}` is taken on the {site} site; registering it would fail after `{order}` is ordered"
    )]
    #[diagnostic(
        code(plan::username_taken),
        help(
            "pick another username, or bind the existing account with `mode: bind` (its e-mail address receives a verification code)"
        )
    )]
    UsernameTaken {
        /// Origin prefix (the username).
        at: String,
        /// The username.
        username: String,
        /// `intl` or `china`.
        site: String,
        /// The order that was not placed.
        order: String,
    },
    /// A subscription binds a vendor workspace its Billing Center account does not have.
    #[error(
        "{at}Billing Center account `{username}` has no workspace `{name}`{why}; binding it would fail after `{order}` is ordered"
    )]
    #[diagnostic(
        code(plan::vendor_workspace_missing),
        help(
            "check `workspace.name`, or let the vendor create the workspace with `workspace.mode: create`"
        )
    )]
    VendorWorkspaceMissing {
        /// Origin prefix (the workspace name).
        at: String,
        /// The workspace name.
        name: String,
        /// The username.
        username: String,
        /// Why, when it is not simply missing (` (the account is registered by this
        /// subscription, and a new account has no workspaces)`).
        why: String,
        /// The order that was not placed.
        order: String,
    },
    /// The actions depend on each other in a circle.
    #[error("these resources depend on each other in a cycle: {addresses}")]
    #[diagnostic(
        code(plan::cycle),
        help("this is a bug in flinkform's expansion of the specs; please report it")
    )]
    Cycle {
        /// Comma-separated addresses of one strongly connected component.
        addresses: String,
    },
    /// A saved plan file (`plan -out`) that cannot be read back.
    #[error("{path} is not a usable flinkform plan file: {message}")]
    #[diagnostic(
        code(plan::plan_file),
        help("make it again with `flinkform plan -out FILE SPECS...` (specs/plan-file.md)")
    )]
    BadPlanFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Alias used in signatures: one planning error.
pub type PlanError = Error;

/// Every error one planning run found, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("planning failed with {} error(s)", errors.len())]
#[diagnostic(code(plan::failed))]
pub struct PlanErrors {
    /// The errors, in the order they were found (resources in address order).
    #[related]
    pub errors: Vec<Error>,
}

impl From<Error> for PlanErrors {
    fn from(e: Error) -> Self {
        Self { errors: vec![e] }
    }
}

/// The `file:line:column: ` prefix for messages, or nothing when the origin is unknown.
pub(crate) fn at(origin: Option<&Origin>) -> String {
    origin.map(|o| format!("{o}: ")).unwrap_or_default()
}

/// Where a resource the specs would take over is, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// `account main, region ap-southeast-1`.
    pub place: String,
    /// Who owns it ([`flinkform_core::Owner`]'s words).
    pub owner: String,
}
