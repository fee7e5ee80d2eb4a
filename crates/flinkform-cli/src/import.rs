//! `flinkform import ADDRESS ID SPECS...`: brings a resource that exists in the cloud under
//! this stack, the way `terraform import` does, and shows what the next apply does with it.
//!
//! The address must be a managed resource the specs declare, of a kind that has an id of its
//! own (`vpc`, `vswitch`, `oss_bucket`, `flink_workspace`, `flink_project`). Under the state
//! lock, the resource is read once (`Provider::read`, in the account and region the specs
//! give it) and refused when it is absent, being deleted, another account's bucket, or marked
//! by another stack (unless `--force`). Then the next plan is computed exactly as `plan`
//! would with the resource recorded (refresh, then plan), the resource is recorded in one
//! atomic state write (its observed attributes; of its tags only those the specs manage),
//! and the plan is printed. Import never calls a mutating API: the next `apply` puts this
//! stack's ownership mark on it (an in-place update of `tags`) and makes any other change
//! the plan shows.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use flinkform_core::{
    ADDRESS_TAG, Address, Attrs, CloudId, DesiredResource, Mode, Observation, ObservedResource,
    Owner, Provider as _, Readiness, RecordedResource, ResourceKind, STACK_TAG, Value, attr,
};
use flinkform_plan::{After, Desired, Op, Plan, PlanOptions};
use flinkform_state::Change;
use miette::Result;

use crate::args::{GlobalArgs, ImportArgs};
use crate::backend::{Locked, lock_state};
use crate::cloud::CloudSession;
use crate::commands::{connect, load_specs, merge_target};
use crate::error::CliError;
use crate::{Exit, view};

/// Runs `flinkform import`.
pub(crate) async fn import(global: &GlobalArgs, args: ImportArgs) -> Result<Exit> {
    let addr: Address = args.address.parse().map_err(CliError::from)?;
    importable(&addr)?;
    let stack = load_specs(&args.specs)?;
    let desired = flinkform_plan::expand(&stack)?;
    declared(&desired, &addr)?;
    let id = cloud_id(&addr, &args.id)?;
    let mut state = lock_state(global, "import").await?;
    recordable(&state, &addr, &id)?;
    let (session, target) = connect(global, &state, Some(&desired)).await?;
    let desired = flinkform_apply::marked(desired, state.state());
    let outcome = run(
        &session, &mut state, &desired, &addr, &id, args.force, target,
    )
    .await;
    // The session is closed whatever happened, so that the emulator's world keeps the calls
    // this import made (reads only).
    let closed = session.close().await;
    let (record, planned, immutable) = outcome?;
    closed?;
    report(&args, &state, &record, planned, &immutable);
    crate::backend::finish(state).await;
    Ok(Exit::Ok)
}

/// What can be imported, and why the rest cannot.
fn importable(addr: &Address) -> Result<(), CliError> {
    let reason = match addr.kind() {
        ResourceKind::Vpc
        | ResourceKind::Vswitch
        | ResourceKind::OssBucket
        | ResourceKind::FlinkWorkspace
        | ResourceKind::FlinkProject => return Ok(()),
        ResourceKind::AccountBalance => {
            "the balance of an account is a check made on every run, not a resource"
        }
        ResourceKind::OssService | ResourceKind::RamRole => {
            "it is an account-level singleton shared by every workspace of the account; apply adopts it as it finds it, without importing"
        }
        ResourceKind::Gate => "a gate is a step only a person can complete, not a cloud resource",
        ResourceKind::MarketOrder
        | ResourceKind::BillingAccount
        | ResourceKind::SettlementBinding
        | ResourceKind::SaasWorkspace => {
            "Marketplace and SaaS vendor resources are found through the subscription's own order and Billing Center account, not imported by id"
        }
    };
    Err(CliError::ImportKind {
        address: addr.to_string(),
        reason: reason.to_owned(),
    })
}

/// The address must be a managed resource of the specs (as in Terraform, an import needs a
/// resource in the configuration to import into).
fn declared(desired: &Desired, addr: &Address) -> Result<(), CliError> {
    match desired.resources.get(addr) {
        Some(d) if d.mode == Mode::Managed => Ok(()),
        Some(d) => Err(CliError::ImportDataSource {
            address: addr.to_string(),
            id: d
                .attrs
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        }),
        None => {
            let kind = addr.kind();
            let same: Vec<String> = desired
                .resources
                .values()
                .filter(|d| d.addr.kind() == kind && d.mode == Mode::Managed)
                .map(|d| format!("`{}`", d.addr))
                .collect();
            let help = if same.is_empty() {
                format!(
                    "the specs declare no `{kind}` that flinkform creates: declare it in the specs first, then import it; {}",
                    declared_as(kind)
                )
            } else {
                format!(
                    "the specs declare {}: {}; {}",
                    if same.len() == 1 {
                        format!("one `{kind}`")
                    } else {
                        format!("these `{kind}` addresses")
                    },
                    same.join(", "),
                    declared_as(kind)
                )
            };
            Err(CliError::ImportNotDeclared {
                address: addr.to_string(),
                help,
            })
        }
    }
}

/// How the address of `kind` is made from a spec.
fn declared_as(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Vpc => {
            "a VPC's address is `vpc.<workspace>`, from `spec.network.vpc: { create: … }`"
        }
        ResourceKind::Vswitch => {
            "a vSwitch's address is `vswitch.<workspace>[<i>]`, from `spec.network.vSwitches[i]: { create: … }`"
        }
        ResourceKind::OssBucket => {
            "a bucket's address is `oss_bucket.<bucket>`, from `spec.storage.ossBucket.name`"
        }
        ResourceKind::FlinkWorkspace => {
            "a workspace's address is `flink_workspace.<workspace>`, from `metadata.name`"
        }
        ResourceKind::FlinkProject => {
            "a project's address is `flink_project.<workspace>/<project>`, from `spec.projects[i].name` (and `<workspace>-default`)"
        }
        _ => "`flinkform plan` lists every address",
    }
}

/// What a resource of `kind` is called in messages, with its id.
fn what(kind: ResourceKind, id: &str) -> String {
    match kind {
        ResourceKind::Vpc => format!("VPC {id}"),
        ResourceKind::Vswitch => format!("vSwitch {id}"),
        ResourceKind::OssBucket => format!("bucket `{id}`"),
        ResourceKind::FlinkWorkspace => format!("workspace {id}"),
        ResourceKind::FlinkProject => format!("project {id}"),
        kind => format!("{kind} {id}"),
    }
}

/// The id, checked against the shape the kind's ids have.
fn cloud_id(addr: &Address, id: &str) -> Result<CloudId, CliError> {
    let kind = addr.kind();
    let bad = |what: &str, expected: &str, example: String| CliError::ImportBadId {
        address: addr.to_string(),
        id: id.to_owned(),
        what: what.to_owned(),
        expected: expected.to_owned(),
        example,
    };
    match kind {
        ResourceKind::Vpc if !id.starts_with("vpc-") => {
            return Err(bad("VPC", "VPC ids start with `vpc-`", "vpc-…".to_owned()));
        }
        ResourceKind::Vswitch if !id.starts_with("vsw-") => {
            return Err(bad(
                "vSwitch",
                "vSwitch ids start with `vsw-`",
                "vsw-…".to_owned(),
            ));
        }
        ResourceKind::FlinkProject
            if !id
                .split_once('/')
                .is_some_and(|(i, n)| !i.is_empty() && !n.is_empty() && !n.contains('/')) =>
        {
            let project = addr.name().rsplit('/').next().unwrap_or("etl");
            return Err(bad(
                "project",
                "a project's id is `<instanceId>/<namespace>` (the workspace's instance id, a slash, the project name)",
                format!("<instanceId>/{project}"),
            ));
        }
        _ => {}
    }
    CloudId::new(id).map_err(|e| bad(kind.as_str(), &e.to_string(), "…".to_owned()))
}

/// Refuses an address the state records already, an id it records under another address,
/// and an address an interrupted apply's call is unresolved for.
fn recordable(state: &Locked, addr: &Address, id: &CloudId) -> Result<(), CliError> {
    let s = state.state();
    if let Some(r) = s.resources.get(addr) {
        return Err(CliError::ImportInState {
            address: addr.to_string(),
            id: r.cloud_id.to_string(),
        });
    }
    if let Some(other) = s
        .resources
        .values()
        .find(|r| r.addr.kind() == addr.kind() && r.cloud_id == *id)
    {
        return Err(CliError::ImportDuplicate {
            address: addr.to_string(),
            id: id.to_string(),
            other: other.addr.to_string(),
        });
    }
    if let Some(i) = s.journal.iter().find(|i| i.addr == *addr) {
        return Err(CliError::ImportInterrupted {
            address: addr.to_string(),
            op: i.op.to_string(),
            intent: i.id,
            started: i.started_at.clone(),
        });
    }
    Ok(())
}

/// The next plan, or why it fails.
type Planned = std::result::Result<Plan, flinkform_plan::PlanErrors>;

/// What `run` found: the record written, the next plan, and the immutable attributes the
/// resource has otherwise than the specs want (what the plan shows when it succeeds).
type Imported = (RecordedResource, Planned, Vec<String>);

/// Reads the resource, checks whose it is, plans with it recorded and records it.
async fn run(
    session: &CloudSession,
    state: &mut Locked,
    desired: &Desired,
    addr: &Address,
    id: &CloudId,
    force: bool,
    target: flinkform_core::Target,
) -> Result<Imported> {
    let d = desired
        .resources
        .get(addr)
        .ok_or_else(|| CliError::ImportNotDeclared {
            address: addr.to_string(),
            help: String::new(),
        })?;
    let found = read(session, d, id).await?;
    owned(&found, d, id, &state.state().lineage.to_string(), force)?;
    let record = RecordedResource {
        addr: addr.clone(),
        mode: Mode::Managed,
        account: d.account.clone(),
        region: d.region.clone(),
        cloud_id: found.cloud_id.clone(),
        attrs: recorded_attrs(&found.attrs, &d.attrs),
        depends_on: d.depends_on.clone(),
        protect: d.protect,
    };
    // The plan shown is the next plan: the same refresh and planning as `plan`, against the
    // state as it is about to be written. It is computed before the write, so that a cloud
    // that cannot be read leaves nothing recorded.
    let mut next = state.state().clone();
    next.record(record.clone());
    let planned = match flinkform_apply::refresh_and_plan(
        session.provider.as_ref(),
        &next,
        Some(desired),
        PlanOptions::default(),
    )
    .await
    {
        Ok(p) => Ok(p.plan),
        Err(flinkform_apply::Error::Plan(e)) => Err(e),
        Err(e) => return Err(miette::Report::new(e)),
    };
    let immutable = immutable_differences(d, &found.attrs, &next.resources);
    let merged = merge_target(state.state().target.clone(), target);
    state
        .commit(vec![
            Change::Record(record.clone()),
            Change::SetTarget(merged),
        ])
        .await?;
    Ok((record, planned, immutable))
}

/// The immutable attributes `found` has otherwise than `d` wants, as far as they can be
/// told without a plan (a reference to a resource that is not recorded yet will be a new id).
fn immutable_differences(
    d: &DesiredResource,
    found: &Attrs,
    recorded: &BTreeMap<Address, RecordedResource>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, want) in &d.attrs {
        let Some(spec) = attr(d.addr.kind(), name) else {
            continue;
        };
        if !spec.immutable || spec.create_only {
            continue;
        }
        let Some(have) = found.get(name) else {
            continue;
        };
        match want.resolve(&|a| recorded.get(a).map(|r| r.cloud_id.to_string())) {
            Some(want) if !same(&want, have) => out.push(format!(
                "`{name}` differs (the cloud has {have}, the specs want {want})"
            )),
            Some(_) => {}
            None => {
                let refs: Vec<String> = want.refs().iter().map(|a| format!("`{a}`")).collect();
                out.push(format!(
                    "`{name}` refers to {}, which the next apply creates",
                    refs.join(", ")
                ));
            }
        }
    }
    out
}

/// Equal values, lists compared as sets (as the planner does).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::List(x), Value::List(y)) => {
            let mut x: Vec<&Value> = x.iter().collect();
            let mut y: Vec<&Value> = y.iter().collect();
            x.sort();
            y.sort();
            x == y
        }
        _ => a == b,
    }
}

/// Reads `id` where the specs put `d`.
async fn read(
    session: &CloudSession,
    d: &DesiredResource,
    id: &CloudId,
) -> Result<ObservedResource> {
    let kind = d.addr.kind();
    let observation = session
        .provider
        .read(&d.addr, Mode::Managed, &d.account, d.region.as_ref(), id)
        .await;
    match observation {
        Ok(Observation::Found(o)) if o.readiness == Readiness::Deleting => {
            Err(CliError::ImportDeleting {
                address: d.addr.to_string(),
                what: what(kind, id.as_str()),
            }
            .into())
        }
        Ok(Observation::Found(o)) => Ok(o),
        Ok(Observation::Absent | Observation::Unknown) => Err(CliError::ImportNotFound {
            address: d.addr.to_string(),
            what: what(kind, id.as_str()),
            account: d.account.to_string(),
            region: d
                .region
                .as_ref()
                .map(|r| format!(", region {r}"))
                .unwrap_or_default(),
        }
        .into()),
        Err(e) if kind == ResourceKind::OssBucket && e.code.as_deref() == Some("AccessDenied") => {
            Err(CliError::ImportOtherAccount {
                address: d.addr.to_string(),
                id: id.to_string(),
            }
            .into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Refuses what this stack may not take: another account's bucket, and (unless `force`)
/// what another stack's mark names. Says what the mark tells about the resource.
fn owned(
    found: &ObservedResource,
    d: &DesiredResource,
    id: &CloudId,
    lineage: &str,
    force: bool,
) -> Result<(), CliError> {
    let named = what(d.addr.kind(), id.as_str());
    match &found.owner {
        Owner::OtherAccount => Err(CliError::ImportOtherAccount {
            address: d.addr.to_string(),
            id: id.to_string(),
        }),
        Owner::Marked(m) if m.stack == lineage => {
            view::note(&format!(
                "{named} carries this stack's ownership mark (as `{}`): this stack made it, and its state entry was lost",
                m.address
            ));
            Ok(())
        }
        Owner::Marked(m) if force => {
            view::warn(&format!(
                "{named} belongs to another flinkform stack (lineage {}, address `{}`); --force takes it over: the next apply replaces that stack's mark with this one's, and that stack must no longer apply it",
                m.stack, m.address
            ));
            Ok(())
        }
        Owner::Marked(m) => Err(CliError::ImportOtherStack {
            address: d.addr.to_string(),
            what: named,
            id: id.to_string(),
            stack: m.stack.clone(),
            owner_address: m.address.clone(),
        }),
        Owner::Unmarked => {
            view::note(&format!(
                "{named} carries no ownership mark (made in the console, by another tool, or by an older flinkform)"
            ));
            Ok(())
        }
        Owner::NotMarkable => Ok(()),
    }
}

/// The observed attributes, with only the tags the specs manage (their labels and the
/// ownership mark): tags someone else put on the resource stay out of state, so that no
/// apply removes them.
fn recorded_attrs(observed: &Attrs, desired: &Attrs) -> Attrs {
    let mut attrs = observed.clone();
    let managed = desired.get("tags").and_then(Value::as_map);
    if let Some(Value::Map(tags)) = attrs.get_mut("tags") {
        tags.retain(|k, _| managed.is_some_and(|m| m.contains_key(k)));
    }
    attrs
}

/// Prints the next plan and what it does with the imported resource.
fn report(
    args: &ImportArgs,
    state: &Locked,
    record: &RecordedResource,
    planned: Planned,
    immutable: &[String],
) {
    let specs: Vec<String> = args
        .specs
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let specs = specs.join(" ");
    let where_ = match &record.region {
        Some(r) => format!("account {}, region {r}", record.account),
        None => format!("account {}", record.account),
    };
    let mut out = String::new();
    let plan = match planned {
        Ok(plan) => {
            out.push_str(&flinkform_plan::render::render_text(&plan));
            out.push('\n');
            Some(plan)
        }
        Err(errors) => {
            view::error(&miette::Report::new(errors));
            None
        }
    };
    let _ = writeln!(
        out,
        "Import successful: `{}` is {} ({where_}), recorded in the state (serial {}). Nothing was changed in the cloud.",
        record.addr,
        record.cloud_id,
        state.state().serial
    );
    let Some(plan) = plan else {
        if !immutable.is_empty() {
            view::warn(&format!(
                "once the plan succeeds, the next apply would REPLACE `{}`: delete {} (the resource just imported) and create a new one, because {}. If that is not what you want, change the specs to match it",
                record.addr,
                record.cloud_id,
                immutable.join("; ")
            ));
        }
        let _ = writeln!(
            out,
            "The next plan fails with the errors above: fix them (another resource to import is named with its `flinkform import` command), then run `flinkform plan {specs}`."
        );
        view::out(&out);
        return;
    };
    let lineage = state.state().lineage.to_string();
    match next(&plan, &record.addr, &lineage) {
        Next::Nothing => {
            let _ = writeln!(
                out,
                "The next apply leaves it as it is: it matches the specs and carries this stack's ownership mark."
            );
        }
        Next::Update(what) => {
            let _ = writeln!(
                out,
                "The next apply updates it in place: {what}. No other change to it."
            );
        }
        Next::Replace(why) => {
            view::warn(&format!(
                "the next apply would REPLACE `{}`: delete {} (the resource just imported) and create a new one, because {}. If that is not what you want, change the specs to match it and run `flinkform plan {specs}` before any apply (with `protect: true` in the spec, apply refuses to replace it)",
                record.addr,
                record.cloud_id,
                why.join("; ")
            ));
            let _ = writeln!(
                out,
                "WARNING: the next apply REPLACES it (deletes {} and creates a new one): see the warning above.",
                record.cloud_id
            );
        }
        Next::Other(op) => {
            let _ = writeln!(out, "The next apply: {op} it.");
        }
    }
    if plan.has_changes() {
        let _ = writeln!(out, "Next: flinkform apply {specs}");
    } else {
        let _ = writeln!(
            out,
            "The cloud matches the specs: there is nothing to apply."
        );
    }
    view::out(&out);
}

/// What the next apply does with the imported resource.
enum Next {
    Nothing,
    /// In-place changes, described.
    Update(String),
    /// Replacement, with the reasons.
    Replace(Vec<String>),
    Other(Op),
}

fn next(plan: &Plan, addr: &Address, lineage: &str) -> Next {
    let actions: Vec<_> = plan.actions.iter().filter(|a| a.addr == *addr).collect();
    // A replacement may be one action or a delete and a create of the same address.
    if actions.iter().any(|a| {
        matches!(a.op, Op::Replace | Op::Delete | Op::Create)
            || a.diffs.iter().any(|d| d.forces_replacement)
    }) {
        let why: Vec<String> = actions
            .iter()
            .flat_map(|a| a.diffs.iter())
            .filter(|d| d.forces_replacement)
            .map(|d| {
                let before = d.before.as_ref().map(ToString::to_string);
                format!(
                    "`{}` differs (the cloud has {}, the specs want {})",
                    d.name,
                    before.as_deref().unwrap_or("nothing"),
                    d.after
                )
            })
            .collect();
        let why = if why.is_empty() {
            actions
                .iter()
                .flat_map(|a| a.reasons.iter().cloned())
                .collect()
        } else {
            why
        };
        return Next::Replace(why);
    }
    let Some(action) = actions.iter().find(|a| a.op != Op::NoOp) else {
        return Next::Nothing;
    };
    if action.op != Op::Update {
        return Next::Other(action.op);
    }
    let parts: Vec<String> = action
        .diffs
        .iter()
        .map(|d| {
            if d.name == "tags" {
                tags_change(d.before.as_ref(), &d.after, lineage)
            } else {
                format!(
                    "`{}` from {} to {}",
                    d.name,
                    d.before
                        .as_ref()
                        .map_or_else(|| "nothing".to_owned(), ToString::to_string),
                    d.after
                )
            }
        })
        .collect();
    Next::Update(parts.join(", "))
}

/// Describes a change of `tags`: the ownership mark, and labels.
fn tags_change(before: Option<&Value>, after: &After, lineage: &str) -> String {
    let empty = BTreeMap::new();
    let before = before.and_then(Value::as_map).unwrap_or(&empty);
    let after = match after {
        After::Known(v) => v.as_map().unwrap_or(&empty),
        After::KnownAfterApply | After::Removed => &empty,
    };
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    let mark_changes = changed
        .iter()
        .any(|k| k.as_str() == STACK_TAG || k.as_str() == ADDRESS_TAG);
    let labels = changed
        .iter()
        .any(|k| k.as_str() != STACK_TAG && k.as_str() != ADDRESS_TAG);
    let mark = match before.get(STACK_TAG).and_then(Value::as_str) {
        Some(other) if other != lineage => {
            format!("replace the ownership mark of stack {other} with this stack's")
        }
        Some(_) => "correct this stack's ownership mark".to_owned(),
        None => "add this stack's ownership mark".to_owned(),
    };
    match (mark_changes, labels) {
        (true, false) => format!("`tags`: {mark}"),
        (true, true) => format!("`tags`: {mark}, and set the labels the specs declare"),
        (false, _) => "`tags`: set the labels the specs declare".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::str(*v)))
                .collect(),
        )
    }

    #[test]
    fn only_the_tags_the_specs_manage_are_recorded() {
        let mut observed = Attrs::new();
        observed.insert("name".into(), Value::str("legacy"));
        observed.insert(
            "tags".into(),
            tags(&[
                ("team", "data"),
                ("cost-center", "42"),
                (STACK_TAG, "other"),
            ]),
        );
        let mut desired = Attrs::new();
        desired.insert(
            "tags".into(),
            tags(&[("team", "ml"), (STACK_TAG, "mine"), (ADDRESS_TAG, "vpc.a")]),
        );
        let recorded = recorded_attrs(&observed, &desired);
        assert_eq!(
            recorded.get("tags"),
            Some(&tags(&[("team", "data"), (STACK_TAG, "other")]))
        );
        assert_eq!(recorded.get("name"), Some(&Value::str("legacy")));
    }

    #[test]
    fn ids_have_the_shape_of_their_kind() {
        let addr = |s: &str| s.parse::<Address>().expect("address");
        assert!(cloud_id(&addr("vpc.a"), "vpc-123").is_ok());
        assert!(cloud_id(&addr("vpc.a"), "vsw-123").is_err());
        assert!(cloud_id(&addr("vswitch.a[0]"), "vsw-123").is_ok());
        assert!(cloud_id(&addr("flink_project.a/etl"), "f-1/etl").is_ok());
        for bad in ["f-1", "f-1/", "/etl", "f-1/etl/x"] {
            assert!(
                cloud_id(&addr("flink_project.a/etl"), bad).is_err(),
                "{bad}"
            );
        }
        assert!(cloud_id(&addr("oss_bucket.b"), "b").is_ok());
    }

    #[test]
    fn a_tags_change_says_what_happens_to_the_mark() {
        let after = After::Known(tags(&[(STACK_TAG, "mine"), (ADDRESS_TAG, "vpc.a")]));
        assert_eq!(
            tags_change(Some(&tags(&[])), &after, "mine"),
            "`tags`: add this stack's ownership mark"
        );
        assert_eq!(
            tags_change(
                Some(&tags(&[(STACK_TAG, "other"), (ADDRESS_TAG, "vpc.b")])),
                &after,
                "mine"
            ),
            "`tags`: replace the ownership mark of stack other with this stack's"
        );
        let labelled = After::Known(tags(&[
            ("team", "data"),
            (STACK_TAG, "mine"),
            (ADDRESS_TAG, "vpc.a"),
        ]));
        assert_eq!(
            tags_change(Some(&tags(&[])), &labelled, "mine"),
            "`tags`: add this stack's ownership mark, and set the labels the specs declare"
        );
    }
}
