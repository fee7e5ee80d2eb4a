//! Command-line arguments (clap). This is the first stage of the CLI: parsed arguments are
//! turned into settings by `main`, then handed to one command function.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// flinkform: declarative Alibaba Cloud fully managed Flink workspaces.
#[derive(Debug, Parser)]
#[command(
    name = "flinkform",
    version,
    about = "Declarative Alibaba Cloud fully managed Flink workspaces: plan, apply, drift",
    propagate_version = true,
    after_help = crate::everyday::TOP_AFTER_HELP
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Which cloud to talk to. Default: `alibaba` when Alibaba Cloud credentials are
    /// configured (the credential chain: environment, OIDC, ~/.aliyun/config.json, ECS
    /// metadata); else, on an interactive terminal without `CI`, the bundled emulator `sim`;
    /// else an error
    #[arg(long, global = true, value_enum, env = "FLINKFORM_CLOUD")]
    pub(crate) cloud: Option<CloudArg>,
    /// More log output on stderr: -v info, -vv debug, -vvv trace (FLINKFORM_LOG or
    /// RUST_LOG, when set, decide instead)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors and warnings on stderr: no notes or progress
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Where the state is kept: a file (a directory means `<dir>/.flinkform/state.json`) or
    /// `postgres://USER@HOST/DB?stack=NAME` [default: .flinkform/state.json]
    // The value may hold a database password: `--help` never shows it.
    #[arg(long, global = true, env = "FLINKFORM_STATE", hide_env_values = true)]
    pub(crate) state: Option<String>,
    /// How long to wait for the state lock while another run holds it, e.g. `30s`, `5m`
    /// [default: 0s: fail at once, naming the holder]
    #[arg(long, global = true, env = "FLINKFORM_LOCK_TIMEOUT", value_parser = crate::backend::parse_duration)]
    pub(crate) lock_timeout: Option<std::time::Duration>,
    /// Emulator world file used with `--cloud sim` [default: .flinkform/sim-world.json]
    #[arg(long, global = true, hide = true, env = "FLINKFORM_SIM_WORLD")]
    pub(crate) sim_world: Option<PathBuf>,
    /// Emulator time scale: cloud seconds per wall-clock second (60 makes the 5-10 minutes
    /// of provisioning take 5-10 seconds)
    #[arg(long, global = true, hide = true, env = "FLINKFORM_SIM_TIME_SCALE")]
    pub(crate) sim_time_scale: Option<f64>,
    /// Fault plan (JSON, see specs/cloud-api.md) for the emulator this process starts
    /// (`--cloud sim` or `sim serve`)
    #[arg(long, global = true, hide = true, env = "FLINKFORM_SIM_FAULTS")]
    pub(crate) sim_faults: Option<PathBuf>,
    /// Use an emulator that is already running at this URL (e.g. one started by `sim serve`)
    /// instead of starting one; credentials and the world id are read from the world file
    #[arg(long, global = true, hide = true, env = "FLINKFORM_SIM_ENDPOINT")]
    pub(crate) sim_endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CloudArg {
    /// The bundled emulator, in-process on a loopback port
    Sim,
    /// The real Alibaba Cloud
    Alibaba,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check spec files without talking to any cloud
    Validate(SpecArgs),
    /// Show what apply would do
    Plan(PlanArgs),
    /// Make the cloud match the specs
    Apply(ApplyArgs),
    /// Delete everything the state records, except what is protected or cannot be undone
    Destroy(DestroyArgs),
    /// Bring an existing cloud resource the specs declare under this stack (records it; changes nothing in the cloud)
    #[command(
        after_help = "Reads the resource (never changes it), records it in the state under ADDRESS in one write, and prints the next plan: for a resource made outside flinkform, an in-place update of `tags` that puts this stack's ownership mark on it. `flinkform apply` then applies that plan.\n\nExample: flinkform import vpc.analytics-prod vpc-t4nq8w0hx2m3c5k1r9f6z specs/"
    )]
    Import(ImportArgs),
    /// Report what changed in the cloud outside flinkform (exit 2 when anything did)
    Drift(DriftArgs),
    /// Print the plan's dependency graph
    Graph(GraphArgs),
    /// Print a saved plan file (`plan -out FILE`)
    Show(crate::saved::ShowArgs),
    /// Print the JSON Schema of spec files
    Schema,
    /// Inspect the state
    #[command(subcommand)]
    State(StateCommand),
    /// Release a state lock left behind by a process that is gone
    ForceUnlock {
        /// The lock id printed in the "state is locked" error
        id: String,
    },
    /// The bundled emulator
    #[command(subcommand, after_help = crate::everyday::SIM_AFTER_HELP)]
    Sim(SimCommand),
    /// Print a shell completion script (e.g. `flinkform completions bash > /etc/bash_completion.d/flinkform`)
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, or write one page per command into a directory
    Man {
        /// Write `flinkform.1`, `flinkform-plan.1`, ... into this directory instead
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SpecArgs {
    /// Spec files or directories (every *.yaml / *.yml inside, sorted)
    #[arg(required = true)]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Debug, Args, Default)]
pub(crate) struct SafetyArgs {
    /// Allow replacing this protected resource (repeatable)
    #[arg(long = "allow-replace", value_name = "ADDRESS")]
    pub(crate) allow_replace: Vec<String>,
    /// Allow destroying this protected resource, or a bucket that holds objects with
    /// `ADDRESS=N`, N the object count the plan shows (repeatable)
    #[arg(long = "allow-destroy", value_name = "ADDRESS[=N]")]
    pub(crate) allow_destroy: Vec<String>,
}

/// How `apply` and `destroy` run a plan.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Do not ask for confirmation
    #[arg(long)]
    pub(crate) auto_approve: bool,
    /// Most API calls in flight at once
    #[arg(long, default_value_t = 10)]
    pub(crate) parallelism: usize,
    /// Calls per second of an API: `vpc=5`, `flink.write=2`, `oss.read=50`, `*=100` (`0`:
    /// unlimited); repeatable. Defaults: the documented quotas, halved on throttling
    #[arg(long = "rate-limit", value_name = "API=N", value_parser = parse_rate_limit)]
    pub(crate) rate_limit: Vec<String>,
}

impl RunArgs {
    /// The documented rate limits with every `--rate-limit` applied in order.
    pub(crate) fn rate_limits(&self) -> flinkform_apply::RateLimits {
        let mut limits = flinkform_apply::RateLimits::documented();
        for spec in &self.rate_limit {
            // Checked by the parser already.
            let _ = limits.set(spec);
        }
        limits
    }
}

/// Checks `API=N` of `--rate-limit`.
fn parse_rate_limit(s: &str) -> Result<String, String> {
    flinkform_apply::RateLimits::documented().set(s)?;
    Ok(s.to_owned())
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) specs: SpecArgs,
    #[command(flatten)]
    pub(crate) safety: SafetyArgs,
    /// Exit 2 when there are changes, 0 when there are none
    #[arg(long)]
    pub(crate) detailed_exitcode: bool,
    /// Print the plan as JSON (specs/plan-json.md) on stdout; the same as `--format json`
    #[arg(long, conflicts_with = "format")]
    pub(crate) json: bool,
    /// Output format: `text`, `json` (specs/plan-json.md), `md` (a pull-request comment),
    /// `html` (one self-contained page)
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub(crate) format: ReportFormat,
    /// Also save the plan to FILE (specs/plan-file.md), for `flinkform apply FILE` and
    /// `flinkform show FILE`; `-out FILE` works too
    #[arg(long = "out", value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

/// The formats of `plan` and `drift` (specs/cli.md, "Output formats").
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// Text for people
    Text,
    /// Versioned JSON (specs/plan-json.md)
    Json,
    /// GitHub-flavoured Markdown, for a pull-request comment
    Md,
    /// One self-contained HTML page (inline CSS, loads nothing)
    Html,
}

/// The formats of `graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    /// Graphviz DOT
    Dot,
    /// A Mermaid flowchart
    Mermaid,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    pub(crate) specs: SpecArgs,
    #[command(flatten)]
    pub(crate) safety: SafetyArgs,
    #[command(flatten)]
    pub(crate) run: RunArgs,
    /// Pass a gate apply stopped at: `NAME=VALUE`, e.g. `verify-email.observability=123456`
    /// (an e-mail code) or `settlement.observability=done` (a manual step); repeatable
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_input)]
    pub(crate) inputs: Vec<(String, String)>,
}

/// Parses `NAME=VALUE`.
fn parse_input(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!(
            "`{s}` is not NAME=VALUE (e.g. verify-email.observability=123456)"
        )),
    }
}

#[derive(Debug, Args)]
pub(crate) struct DestroyArgs {
    /// Spec files or directories (used to find the accounts; may be omitted)
    pub(crate) paths: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) safety: SafetyArgs,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Import it even though another flinkform stack's ownership mark names it (that stack must
    /// no longer apply it, or the two stacks will fight over it)
    #[arg(long)]
    pub(crate) force: bool,
    /// The address the specs declare for it, e.g. `vpc.analytics-prod`, `vswitch.analytics-prod[0]`,
    /// `oss_bucket.analytics-prod-flink`, `flink_workspace.analytics-prod`,
    /// `flink_project.analytics-prod/etl`
    pub(crate) address: String,
    /// Its id in the cloud: `vpc-…`, `vsw-…`, the bucket name, the workspace's instance id, or
    /// `<instanceId>/<namespace>` for a project
    pub(crate) id: String,
    #[command(flatten)]
    pub(crate) specs: SpecArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DriftArgs {
    #[command(flatten)]
    pub(crate) specs: SpecArgs,
    /// Print the report as JSON on stdout; the same as `--format json`
    #[arg(long, conflicts_with = "format")]
    pub(crate) json: bool,
    /// Output format: `text`, `json` (specs/plan-json.md), `md` (a pull-request comment),
    /// `html` (one self-contained page to keep as a CI artifact)
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub(crate) format: ReportFormat,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    pub(crate) specs: SpecArgs,
    /// Output format: Graphviz `dot` or a `mermaid` flowchart
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub(crate) format: GraphFormat,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StateCommand {
    /// List recorded resources
    List {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Show one recorded resource
    Show {
        /// Resource address, e.g. `flink_workspace.analytics-prod`
        address: String,
    },
    /// Forget resources: drop them from the state only (the cloud resources are kept)
    Rm {
        /// Resource addresses
        #[arg(required = true)]
        addresses: Vec<String>,
    },
    /// Record a resource under another address of the same kind
    Mv {
        /// The address recorded now
        source: String,
        /// The new address (not recorded yet)
        destination: String,
    },
    /// Print the state as a version-1 state document
    Pull {
        /// A kept earlier version (see `state history`) instead of the current one
        #[arg(long)]
        serial: Option<u64>,
    },
    /// Replace the state with a state document (refuses another lineage or a serial not
    /// newer than the stored one unless forced)
    Push {
        /// The state document (`-` for standard input)
        file: PathBuf,
        /// Replace even a state of another lineage or a newer serial
        #[arg(long)]
        force: bool,
    },
    /// List the kept versions: serial, time, operation, who, changed addresses
    History {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// Run the emulator standalone on a loopback port
    #[command(after_help = crate::everyday::SIM_AFTER_HELP)]
    Serve {
        /// Port (0 picks a free one)
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Accounts to create if missing; their credentials are printed (repeatable)
        #[arg(long = "account", default_value = "main")]
        accounts: Vec<String>,
    },
    /// Change the emulated cloud the way a person in the console would
    #[command(subcommand)]
    Console(ConsoleCommand),
    /// Print the e-mails the emulated SaaS vendor sent (verification codes), oldest first
    Outbox {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConsoleCommand {
    /// Let a Marketplace product instance expire
    ExpireMarketInstance {
        /// Product Instance ID
        id: String,
    },
    /// Release (unsubscribe) a Marketplace product instance
    ReleaseMarketInstance {
        /// Product Instance ID
        id: String,
    },
    /// Remove the vendor's settlement binding of a product instance
    RemoveSettlementBinding {
        /// Product Instance ID
        instance: String,
    },
    /// Rename a workspace at the vendor
    RenameVendorWorkspace {
        /// Current name
        name: String,
        /// New name
        to: String,
    },
    /// Change a subscription workspace's compute quota
    SetQuota {
        /// Workspace name
        workspace: String,
        /// New quota in CU
        cu: u32,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Turn a subscription workspace's auto-renewal on or off
    SetAutoRenew {
        /// Workspace name
        workspace: String,
        /// `true` or `false`
        #[arg(action = clap::ArgAction::Set)]
        enabled: bool,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Delete a project (namespace) of a workspace
    DeleteProject {
        /// Workspace name
        workspace: String,
        /// Project name
        project: String,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Delete a vSwitch
    DeleteVswitch {
        /// vSwitch id (`vsw-…`)
        id: String,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Create an account (creating the world if missing); prints its credentials
    CreateAccount {
        /// Account (profile) name
        name: String,
        /// The site it is registered on
        #[arg(long, value_enum, default_value_t = SiteArg::Intl)]
        site: SiteArg,
    },
    /// Move an existing account to another site (regions and currency follow)
    SetSite {
        /// Account (profile) name
        name: String,
        /// The site
        #[arg(value_enum)]
        site: SiteArg,
    },
    /// Write an object into a bucket, as a job writing its data would
    PutObject {
        /// Bucket name
        bucket: String,
        /// Object key
        key: String,
        /// Size in bytes (the content reads as zeros)
        #[arg(long, default_value_t = 0)]
        size: u64,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Create a resource group; prints its id
    CreateResourceGroup {
        /// Resource group name
        name: String,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Set tags on a resource (`vpc-…`, `vsw-…`, workspace `f-…`, or a bucket name)
    Tag {
        /// Resource id or bucket name
        resource: String,
        /// Tags to set
        #[arg(required = true, value_parser = parse_tag, value_name = "KEY=VALUE")]
        tags: Vec<(String, String)>,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Remove tags from a resource
    Untag {
        /// Resource id or bucket name
        resource: String,
        /// Tag keys to remove
        #[arg(required = true, value_name = "KEY")]
        keys: Vec<String>,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Create a bucket (outside flinkform)
    CreateBucket {
        /// Bucket name
        name: String,
        /// Region
        #[arg(long)]
        region: String,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Create a VPC (outside flinkform); prints its id
    CreateVpc {
        /// Region
        #[arg(long)]
        region: String,
        /// CIDR block, e.g. 10.0.0.0/16
        #[arg(long)]
        cidr: String,
        /// VPC name
        #[arg(long)]
        name: Option<String>,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Create a vSwitch (outside flinkform); prints its id
    CreateVswitch {
        /// VPC id (`vpc-…`)
        #[arg(long)]
        vpc: String,
        /// Zone, e.g. ap-southeast-1a
        #[arg(long)]
        zone: String,
        /// CIDR block inside the VPC's
        #[arg(long)]
        cidr: String,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Create a RAM role with a trust policy; prints its ARN (for STS AssumeRole and
    /// AssumeRoleWithOIDC, see specs/cloud-api.md)
    CreateRole {
        /// Role name
        name: String,
        /// The trust policy (JSON); default: trusts the account itself (`Principal.RAM`)
        #[arg(long)]
        trust_policy: Option<String>,
        /// Also trust this OIDC provider (`Principal.Federated`, its name in the account)
        #[arg(long, value_name = "PROVIDER")]
        trust_oidc: Option<String>,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Register an OIDC identity provider; prints its ARN
    CreateOidcProvider {
        /// Provider name
        name: String,
        /// Issuer URL (the tokens' `iss`), e.g. https://token.actions.githubusercontent.com
        #[arg(long)]
        issuer_url: String,
        /// Accepted client id (the tokens' `aud`; repeatable)
        #[arg(long = "client-id", required = true)]
        client_ids: Vec<String>,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Attach a RAM role to the emulated ECS instance (its metadata service hands out the
    /// role's credentials)
    AttachInstanceRole {
        /// Role name
        role: String,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
    /// Set an account's available balance (creating the world and the account if missing)
    SetBalance {
        /// Amount in the account's currency, e.g. `50` or `12.34` (may be negative)
        #[arg(value_parser = parse_cents, allow_hyphen_values = true)]
        amount: i64,
        /// Account (profile) name
        #[arg(long, default_value = "main")]
        account: String,
    },
}

/// The site an emulated account is registered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SiteArg {
    /// International site (alibabacloud.com): international regions, USD
    Intl,
    /// China site (aliyun.com): mainland China regions, CNY
    China,
}

impl SiteArg {
    pub(crate) fn site(self) -> flinkform_cloudsim::Site {
        match self {
            Self::Intl => flinkform_cloudsim::Site::Intl,
            Self::China => flinkform_cloudsim::Site::China,
        }
    }
}

/// Parses `KEY=VALUE` (the value may be empty).
fn parse_tag(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{s}` is not a tag like KEY=VALUE"))
}

/// Parses a money amount with at most two decimals (`12.3`, `-5`) into cents
/// (`flinkform_core::money::parse_cents`, the one parser of amounts).
fn parse_cents(s: &str) -> Result<i64, String> {
    flinkform_core::money::parse_cents(s)
        .ok_or_else(|| format!("`{s}` is not an amount like 50 or 12.34"))
}
