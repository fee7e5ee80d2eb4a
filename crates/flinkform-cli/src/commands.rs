//! One function per command. Each takes resolved arguments, calls the libraries and hands
//! data to `view`; none of them prints directly except through `view`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use flinkform_apply::{ApplyReport, NodeStatus};
use flinkform_core::{AccountName, Address, Provider};
use flinkform_plan::{Desired, Op, Plan, PlanOptions};
use flinkform_state::Change;
use miette::{IntoDiagnostic as _, Result};

use crate::args::{
    ApplyArgs, Cli, Command, ConsoleCommand, DestroyArgs, DriftArgs, GlobalArgs, GraphArgs,
    PlanArgs, SafetyArgs, SimCommand, SpecArgs,
};
use crate::backend::{Locked, lock_state, open_backend};
use crate::cloud::{CloudSession, sim_world_path};
use crate::error::CliError;
use crate::{Exit, files, report, view};

/// Runs the command `cli` names.
pub(crate) async fn run(cli: Cli) -> Result<Exit> {
    let global = cli.global;
    match cli.command {
        Command::Validate(args) => validate(&args),
        Command::Plan(args) => plan(&global, args).await,
        Command::Apply(args) => apply(&global, args).await,
        Command::Destroy(args) => destroy(&global, args).await,
        Command::Import(args) => crate::import::import(&global, args).await,
        Command::Drift(args) => drift(&global, args).await,
        Command::Graph(args) => graph(&global, args).await,
        Command::Show(args) => crate::saved::show(&args),
        Command::Schema => {
            let schema = flinkform_spec::json_schema();
            view::out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).into_diagnostic()?
            ));
            Ok(Exit::Ok)
        }
        Command::State(cmd) => crate::state_cmds::run(&global, cmd).await,
        Command::ForceUnlock { id } => {
            let backend = open_backend(&global)?;
            backend.force_unlock(&id).await?;
            view::note(&format!("lock `{id}` released"));
            Ok(Exit::Ok)
        }
        Command::Sim(SimCommand::Serve { port, accounts }) => {
            crate::cloud::serve(&global, port, &accounts).await
        }
        Command::Sim(SimCommand::Console(cmd)) => console(&global, cmd).await,
        Command::Sim(SimCommand::Outbox { json }) => crate::gates::outbox(&global, json),
        Command::Completions { shell } => crate::everyday::completions(shell),
        Command::Man { dir } => crate::everyday::man(dir.as_deref()),
    }
}

/// Loads and validates spec files, printing warnings; errors become one report.
pub(crate) fn load_specs(args: &SpecArgs) -> Result<flinkform_spec::Stack> {
    let sources = files::read_specs(&args.paths)?;
    let loaded = flinkform_spec::load(&sources)?;
    for w in &loaded.warnings {
        view::error(&miette::Report::new(w.clone()));
    }
    Ok(loaded.stack)
}

fn validate(args: &SpecArgs) -> Result<Exit> {
    let stack = load_specs(args)?;
    let n = stack.documents.len();
    view::note(&format!("{n} document(s) valid"));
    Ok(Exit::Ok)
}

pub(crate) fn plan_options(safety: &SafetyArgs) -> Result<PlanOptions> {
    let parse = |v: &[String]| -> Result<BTreeSet<Address>> {
        v.iter()
            .map(|s| {
                s.parse::<Address>()
                    .map_err(|e| miette::Report::new(CliError::from(e)))
            })
            .collect()
    };
    // `--allow-destroy ADDRESS=N`: N confirms the object count of a bucket that holds
    // objects (its deletion deletes them).
    let mut destroy = Vec::new();
    let mut confirmed_objects = BTreeMap::new();
    for v in &safety.allow_destroy {
        match v.split_once('=') {
            Some((addr, n)) => {
                let count: u64 = n.trim().parse().map_err(|_| {
                    miette::miette!(
                        code = "cli::usage",
                        help = "write the object count the plan shows, e.g. `--allow-destroy oss_bucket.logs=4`",
                        "`--allow-destroy {v}`: `{n}` is not an object count"
                    )
                })?;
                let a = parse(&[addr.to_owned()])?;
                confirmed_objects.extend(a.iter().map(|a| (a.clone(), count)));
                destroy.push(addr.to_owned());
            }
            None => destroy.push(v.clone()),
        }
    }
    Ok(PlanOptions {
        allow_replace: parse(&safety.allow_replace)?,
        allow_destroy: parse(&destroy)?,
        confirmed_objects,
        ..PlanOptions::default()
    })
}

/// Everything a plan needs, with the state lock and the cloud session held.
pub(crate) struct Planned {
    pub(crate) plan: Plan,
    pub(crate) state: Locked,
    pub(crate) session: CloudSession,
    /// Intents of an interrupted run that the observation settled (apply clears them).
    pub(crate) settled: BTreeSet<u64>,
    /// What the refresh saw (a saved plan keeps its digests).
    pub(crate) observed: flinkform_core::Observed,
    /// The cloud and accounts planned against.
    pub(crate) target: flinkform_core::Target,
    /// What the specs want, with this stack's ownership marks (`None`: destroy).
    pub(crate) desired: Option<Desired>,
}

/// The resources `specs` declare (the parsed documents are dropped here: a fleet's are
/// megabytes, and the expansion is all a plan needs of them).
fn expanded(specs: &SpecArgs) -> Result<Desired> {
    let stack = load_specs(specs)?;
    Ok(flinkform_plan::expand(&stack)?)
}

/// Reads state and cloud, and plans (`flinkform_apply::refresh_and_plan`, the sequence the
/// tests share), printing the refresh's cost, the plan's warnings and how each interrupted
/// call is resolved. `desired` is `None` for destroy.
async fn prepare(
    global: &GlobalArgs,
    desired: Option<Desired>,
    safety: &SafetyArgs,
    operation: &str,
) -> Result<Planned> {
    let state = lock_state(global, operation).await?;
    let (session, accounts) = open_session(global, &state, desired.as_ref()).await?;
    // Everything this stack creates carries its mark (the state's lineage), and only what
    // carries it (or what the journal names) is adopted from the cloud.
    let desired = desired.map(|d| flinkform_apply::marked(d, state.state()));
    let opts = plan_options(safety)?;
    // Which accounts these are, and the refresh, at the same time (both only read; the
    // caller identity is asked once and shared). The plan is used only once the accounts
    // are checked to be the state's.
    let (target, prepared) = tokio::join!(
        session.target(&accounts),
        flinkform_apply::refresh_and_plan(
            session.provider.as_ref(),
            state.state(),
            desired.as_ref(),
            opts,
        )
    );
    let target = target?;
    state.state().check_target(&target)?;
    let prepared = prepared?;
    view::note(&format!(
        "refreshed {} resource(s) with {} API call(s)",
        prepared.refreshed, prepared.observed.api_calls
    ));
    if prepared.quotes > 0 {
        view::note(&format!(
            "read {} price(s) of what the plan orders, one API call each",
            prepared.quotes
        ));
    }
    for w in &prepared.plan.warnings {
        view::warn(w);
    }
    for r in &prepared.resolutions {
        view::warn(&r.message);
    }
    Ok(Planned {
        plan: prepared.plan,
        state,
        session,
        settled: prepared.settled,
        observed: prepared.observed,
        target,
        desired,
    })
}

/// Opens the cloud with credentials for every account of the state and of `desired`, and
/// checks that the state belongs to it; returns the session and the target it reaches.
pub(crate) async fn connect(
    global: &GlobalArgs,
    state: &Locked,
    desired: Option<&Desired>,
) -> Result<(CloudSession, flinkform_core::Target)> {
    let (session, accounts) = open_session(global, state, desired).await?;
    let target = session.target(&accounts).await?;
    state.state().check_target(&target)?;
    Ok((session, target))
}

/// Opens the cloud with credentials for every account of the state and of `desired`; the
/// accounts, for [`CloudSession::target`].
async fn open_session(
    global: &GlobalArgs,
    state: &Locked,
    desired: Option<&Desired>,
) -> Result<(CloudSession, BTreeSet<AccountName>)> {
    let mut accounts: BTreeSet<AccountName> = state
        .state()
        .resources
        .values()
        .map(|r| r.account.clone())
        .collect();
    if let Some(d) = desired {
        accounts.extend(d.accounts.keys().cloned());
    }
    let session = CloudSession::open(global, &accounts).await?;
    Ok((session, accounts))
}

async fn plan(global: &GlobalArgs, args: PlanArgs) -> Result<Exit> {
    let desired = expanded(&args.specs)?;
    let planned = prepare(global, Some(desired), &args.safety, "plan").await?;
    let meta = report::meta(
        global,
        &args.specs,
        &planned.state.state().lineage.to_string(),
    );
    let format = report::format(args.json, args.format);
    view::out(&report::plan(&planned.plan, format, &meta)?);
    if let Some(out) = &args.out {
        crate::saved::write(out, &args.specs, &args.safety, &planned)?;
    }
    let changes = planned.plan.has_changes();
    planned.session.close().await?;
    Ok(if args.detailed_exitcode && changes {
        Exit::Changes
    } else {
        Exit::Ok
    })
}

pub(crate) async fn apply(global: &GlobalArgs, args: ApplyArgs) -> Result<Exit> {
    if let Some((path, text)) = crate::saved::plan_file_arg(&args.specs) {
        return crate::saved::apply_saved(global, args, &path, &text).await;
    }
    let desired = expanded(&args.specs)?;
    let planned = prepare(global, Some(desired), &args.safety, "apply").await?;
    let inputs: BTreeMap<String, String> = args.inputs.iter().cloned().collect();
    let exit = execute(planned, args.run.auto_approve, &args.run, "apply", &inputs).await?;
    crate::gates::resume_on_tty(global, args, exit).await
}

async fn destroy(global: &GlobalArgs, args: DestroyArgs) -> Result<Exit> {
    if !args.paths.is_empty() {
        // The specs are only checked here, so that a typo in a path is not silently ignored.
        let _ = load_specs(&SpecArgs {
            paths: args.paths.clone(),
        })?;
    }
    let planned = prepare(global, None, &args.safety, "destroy").await?;
    for (addr, why) in &planned.plan.kept {
        view::note(&format!("keeping `{addr}`: {why}"));
    }
    execute(
        planned,
        args.run.auto_approve,
        &args.run,
        "destroy",
        &BTreeMap::new(),
    )
    .await
}

/// Shows the plan, asks for confirmation, runs it and reports.
pub(crate) async fn execute(
    planned: Planned,
    auto_approve: bool,
    run: &crate::args::RunArgs,
    command: &'static str,
    inputs: &BTreeMap<String, String>,
) -> Result<Exit> {
    let Planned {
        plan,
        mut state,
        session,
        settled,
        ..
    } = planned;
    view::out(&flinkform_plan::render::render_text(&plan));
    if !settled.is_empty() {
        // The observation showed what those interrupted calls did; nothing is left to do
        // for them, with or without confirmation.
        state
            .commit(settled.iter().map(|id| Change::EndIntent(*id)).collect())
            .await?;
    }
    if !plan.has_changes() {
        // Nothing to do: the state is not rewritten, so its serial does not move.
        session.close().await?;
        return Ok(Exit::Ok);
    }
    if let Err(e) = check_secret_references(&plan) {
        session.close().await?;
        return Err(e.into());
    }
    if !auto_approve {
        if !view::interactive() {
            session.close().await?;
            return Err(CliError::NeedsApproval { command }.into());
        }
        let answer = view::ask(&format!(
            "Do you want to {command} these changes? Only `yes` is accepted:"
        ))
        .into_diagnostic()?;
        if answer != "yes" {
            session.close().await?;
            return Err(CliError::Cancelled.into());
        }
    }
    let accounts = state
        .state()
        .resources
        .values()
        .map(|r| r.account.clone())
        .chain(plan.actions.iter().filter_map(|a| a.account.clone()))
        .collect();
    let target = session.target(&accounts).await?;
    let merged = merge_target(state.state().target.clone(), target);
    state.commit(vec![Change::SetTarget(merged)]).await?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let total = plan
        .actions
        .iter()
        .filter(|a| a.op != flinkform_plan::Op::NoOp)
        .count();
    let progress = tokio::spawn(view::progress(rx, total, apply_counters(&session)));
    let mut opts = session.apply_options(run.parallelism);
    opts.rate_limits = run.rate_limits();
    crate::gates::warn_unknown_inputs(&plan, inputs);
    opts.inputs = inputs.clone();
    // Ctrl-C (or SIGTERM) from here on stops cleanly: see `crate::interrupt`.
    opts.cancel = crate::interrupt::on_signal(session.sim_world());
    let provider: Arc<dyn Provider> = session.provider.clone();
    let report = flinkform_apply::apply(&plan, provider, &mut state, &opts, tx).await;
    let _ = progress.await;
    crate::backend::finish(state).await;
    session.close().await?;
    if report.interrupted {
        return Ok(crate::interrupt::report(&report));
    }
    summarize(&report, command)
}

/// The API calls and throttled answers of `session`'s provider, for the progress line.
fn apply_counters(session: &crate::cloud::CloudSession) -> view::Counters {
    let calls = Arc::clone(&session.provider);
    let throttles = flinkform_core::Provider::throttles(session.provider.as_ref());
    view::Counters {
        calls: Box::new(move || calls.api_calls()),
        throttled: Box::new(move || throttles.as_ref().map_or(0, |t| t.total())),
    }
}

/// Every secret reference an action of `plan` will read (`env:NAME`, `file:PATH`) must be
/// readable now, before anything is ordered: a missing password discovered halfway through
/// would leave an order placed and the account unregistered.
fn check_secret_references(plan: &Plan) -> Result<(), CliError> {
    for action in &plan.actions {
        if !matches!(action.op, Op::Create | Op::Replace) {
            continue;
        }
        let Some(reference) = action
            .desired
            .as_ref()
            .and_then(|d| d.attrs.get("password"))
            .and_then(|v| v.as_str())
        else {
            continue;
        };
        let readable = match reference.split_once(':') {
            Some(("env", name)) => std::env::var_os(name).is_some_and(|v| !v.is_empty()),
            Some(("file", path)) => std::path::Path::new(path).is_file(),
            _ => false,
        };
        if !readable {
            return Err(CliError::SecretUnavailable {
                address: action.addr.to_string(),
                reference: reference.to_owned(),
            });
        }
    }
    Ok(())
}

pub(crate) fn merge_target(
    old: Option<flinkform_core::Target>,
    new: flinkform_core::Target,
) -> flinkform_core::Target {
    match old {
        Some(mut t) if t.cloud == new.cloud && t.world == new.world => {
            t.accounts.extend(new.accounts);
            t
        }
        _ => new,
    }
}

fn summarize(report: &ApplyReport, command: &str) -> Result<Exit> {
    let mut failed = 0;
    let mut skipped = 0;
    let mut done = BTreeMap::<&'static str, usize>::new();
    for r in report.results.values() {
        match &r.status {
            NodeStatus::Done => *done.entry(r.op.as_str()).or_default() += 1,
            NodeStatus::Failed(_) => failed += 1,
            NodeStatus::Skipped { .. } => skipped += 1,
            NodeStatus::Waiting { .. } | NodeStatus::Interrupted => {}
        }
    }
    let waiting = report.waiting();
    let count = |k: &str| done.get(k).copied().unwrap_or(0);
    let forgotten = count("forget");
    let forgotten = if forgotten > 0 {
        format!(", {forgotten} forgotten (left in the cloud)")
    } else {
        String::new()
    };
    view::out(&format!(
        "{} complete: {} added, {} changed, {} replaced, {} destroyed{forgotten}. API calls: {}, retries: {}, throttled: {}.",
        if failed == 0 && !waiting.is_empty() {
            "Apply paused at a gate, partially"
        } else if failed == 0 {
            if command == "apply" {
                "Apply"
            } else {
                "Destroy"
            }
        } else {
            "Partially"
        },
        count("create") + count("adopt") + count("read"),
        count("update"),
        count("replace"),
        count("delete"),
        report.api_calls,
        report.retries,
        report.throttled,
    ));
    if failed > 0 {
        for (addr, r) in &report.results {
            match &r.status {
                NodeStatus::Failed(e) => view::note(&format!("failed: `{addr}`: {e}")),
                NodeStatus::Skipped { because } => {
                    view::note(&format!("skipped: `{addr}` because `{because}` failed"))
                }
                NodeStatus::Done | NodeStatus::Waiting { .. } | NodeStatus::Interrupted => {}
            }
        }
        return Err(CliError::ApplyFailed { failed, skipped }.into());
    }
    if !waiting.is_empty() {
        crate::gates::explain(report);
        return Ok(Exit::Gated);
    }
    Ok(Exit::Ok)
}

async fn drift(global: &GlobalArgs, args: DriftArgs) -> Result<Exit> {
    let desired = expanded(&args.specs)?;
    let planned = prepare(global, Some(desired), &SafetyArgs::default(), "drift").await?;
    let meta = report::meta(
        global,
        &args.specs,
        &planned.state.state().lineage.to_string(),
    );
    let format = report::format(args.json, args.format);
    view::out(&report::drift(&planned.plan, format, &meta)?);
    let drifted = !planned.plan.drift.is_empty();
    planned.session.close().await?;
    Ok(if drifted { Exit::Changes } else { Exit::Ok })
}

async fn graph(global: &GlobalArgs, args: GraphArgs) -> Result<Exit> {
    let desired = expanded(&args.specs)?;
    let planned = prepare(global, Some(desired), &SafetyArgs::default(), "graph").await?;
    view::out(&report::graph(&planned.plan, args.format));
    planned.session.close().await?;
    Ok(Exit::Ok)
}

/// `flinkform sim console`: one change as a person makes it in the web console, applied
/// through the emulator serving the world if one does, else to the world file.
async fn console(global: &GlobalArgs, cmd: ConsoleCommand) -> Result<Exit> {
    use flinkform_cloudsim::ConsoleOp;
    let path = sim_world_path(global);
    let creates_world = matches!(
        cmd,
        ConsoleCommand::SetBalance { .. } | ConsoleCommand::CreateAccount { .. }
    );
    let op = match cmd {
        ConsoleCommand::ExpireMarketInstance { id } => ConsoleOp::ExpireMarketInstance { id },
        ConsoleCommand::ReleaseMarketInstance { id } => ConsoleOp::ReleaseMarketInstance { id },
        ConsoleCommand::RemoveSettlementBinding { instance } => {
            ConsoleOp::RemoveSettlementBinding { instance }
        }
        ConsoleCommand::RenameVendorWorkspace { name, to } => {
            ConsoleOp::RenameVendorWorkspace { name, to }
        }
        ConsoleCommand::SetQuota {
            workspace,
            cu,
            account,
        } => ConsoleOp::SetQuota {
            account,
            workspace,
            cu,
        },
        ConsoleCommand::SetAutoRenew {
            workspace,
            enabled,
            account,
        } => ConsoleOp::SetAutoRenew {
            account,
            workspace,
            enabled,
        },
        ConsoleCommand::DeleteProject {
            workspace,
            project,
            account,
        } => ConsoleOp::DeleteProject {
            account,
            workspace,
            project,
        },
        ConsoleCommand::DeleteVswitch { id, account } => ConsoleOp::DeleteVswitch { account, id },
        ConsoleCommand::CreateAccount { name, site } => ConsoleOp::CreateAccount {
            name,
            site: site.site(),
        },
        ConsoleCommand::SetSite { name, site } => ConsoleOp::SetSite {
            name,
            site: site.site(),
        },
        ConsoleCommand::PutObject {
            bucket,
            key,
            size,
            account,
        } => ConsoleOp::PutObject {
            account,
            bucket,
            key,
            size,
        },
        ConsoleCommand::CreateResourceGroup { name, account } => {
            ConsoleOp::CreateResourceGroup { account, name }
        }
        ConsoleCommand::Tag {
            resource,
            tags,
            account,
        } => ConsoleOp::Tag {
            account,
            resource,
            tags,
        },
        ConsoleCommand::Untag {
            resource,
            keys,
            account,
        } => ConsoleOp::Untag {
            account,
            resource,
            keys,
        },
        ConsoleCommand::CreateBucket {
            name,
            region,
            account,
        } => ConsoleOp::CreateBucket {
            account,
            name,
            region,
        },
        ConsoleCommand::CreateVpc {
            region,
            cidr,
            name,
            account,
        } => ConsoleOp::CreateVpc {
            account,
            region,
            cidr,
            name,
        },
        ConsoleCommand::CreateVswitch {
            vpc,
            zone,
            cidr,
            account,
        } => ConsoleOp::CreateVswitch {
            account,
            vpc,
            zone,
            cidr,
        },
        ConsoleCommand::SetBalance { amount, account } => ConsoleOp::SetBalance {
            account,
            cents: amount,
        },
        ConsoleCommand::CreateRole {
            name,
            trust_policy,
            trust_oidc,
            account,
        } => crate::cloud::create_role_op(&path, account, name, trust_policy, trust_oidc)?,
        ConsoleCommand::CreateOidcProvider {
            name,
            issuer_url,
            client_ids,
            account,
        } => ConsoleOp::CreateOidcProvider {
            account,
            name,
            issuer_url,
            client_ids,
        },
        ConsoleCommand::AttachInstanceRole { role, account } => {
            ConsoleOp::AttachInstanceRole { account, role }
        }
    };
    let outcome = crate::cloud::console(&path, &op, creates_world).await?;
    view::note(&format!("console: {}", outcome.message));
    if let Some(id) = outcome.printed {
        view::out(&id);
    }
    Ok(Exit::Ok)
}
