//! `flinkform state …`: reading the state (`list`, `show`, `pull`, `history`) and state
//! surgery (`rm`, `mv`, `push`), each through the state backend and, for surgery, one
//! recorded commit with a new serial.

use std::fmt::Write as _;

use flinkform_core::{Address, STACK_TAG, markable};
use flinkform_state::{Change, State, format};
use miette::{IntoDiagnostic as _, Result};
use serde_json::json;

use crate::args::{GlobalArgs, StateCommand};
use crate::backend::{finish, lock_state, open_backend};
use crate::error::CliError;
use crate::{Exit, view};

/// Runs one `state` subcommand.
pub(crate) async fn run(global: &GlobalArgs, cmd: StateCommand) -> Result<Exit> {
    match cmd {
        StateCommand::List { json } => list(global, json).await,
        StateCommand::Show { address } => show(global, &address).await,
        StateCommand::Rm { addresses } => rm(global, &addresses).await,
        StateCommand::Mv {
            source,
            destination,
        } => mv(global, &source, &destination).await,
        StateCommand::Pull { serial } => pull(global, serial).await,
        StateCommand::Push { file, force } => push(global, &file, force).await,
        StateCommand::History { json } => history(global, json).await,
    }
    .map(|()| Exit::Ok)
}

fn parse(address: &str) -> Result<Address> {
    Ok(address.parse().map_err(CliError::from)?)
}

async fn list(global: &GlobalArgs, as_json: bool) -> Result<()> {
    let state = open_backend(global)?.read().await?;
    if as_json {
        let items: Vec<serde_json::Value> = state
            .resources
            .values()
            .map(|r| {
                json!({
                    "address": r.addr.to_string(),
                    "kind": r.addr.kind().as_str(),
                    "cloud_id": r.cloud_id.to_string(),
                    "account": r.account.to_string(),
                    "region": r.region.as_ref().map(ToString::to_string),
                    "protect": r.protect,
                })
            })
            .collect();
        let doc = json!({
            "lineage": state.lineage.to_string(),
            "serial": state.serial,
            "resources": items,
        });
        view::out(&serde_json::to_string_pretty(&doc).into_diagnostic()?);
    } else {
        let mut out = String::new();
        for (addr, r) in &state.resources {
            let _ = writeln!(out, "{addr}\t{}", r.cloud_id);
        }
        view::out(&out);
    }
    Ok(())
}

async fn show(global: &GlobalArgs, address: &str) -> Result<()> {
    let addr = parse(address)?;
    let state = open_backend(global)?.read().await?;
    let r = state
        .resources
        .get(&addr)
        .ok_or_else(|| CliError::NotInState {
            address: address.to_owned(),
        })?;
    view::out(&serde_json::to_string_pretty(r).into_diagnostic()?);
    Ok(())
}

/// Refuses surgery on an address an interrupted apply left a call unresolved for.
fn settled(state: &State, addr: &Address) -> Result<(), CliError> {
    match state.journal.iter().find(|i| i.addr == *addr) {
        Some(i) => Err(CliError::StateInterrupted {
            address: addr.to_string(),
            op: i.op.to_string(),
            intent: i.id,
        }),
        None => Ok(()),
    }
}

async fn rm(global: &GlobalArgs, addresses: &[String]) -> Result<()> {
    let addrs = addresses
        .iter()
        .map(|a| parse(a))
        .collect::<Result<Vec<_>>>()?;
    let mut session = lock_state(global, "state rm").await?;
    let mut changes = Vec::new();
    let mut removed = Vec::new();
    for (addr, text) in addrs.iter().zip(addresses) {
        let state = session.state();
        let r = state
            .resources
            .get(addr)
            .ok_or_else(|| CliError::NotInState {
                address: text.clone(),
            })?;
        settled(state, addr)?;
        removed.push(r.clone());
        changes.push(Change::Remove(addr.clone()));
        changes.push(Change::RemoveGatesOf(addr.clone()));
    }
    let lineage = session.state().lineage;
    session.commit(changes).await?;
    let serial = session.state().serial;
    finish(session).await;
    for r in removed {
        let addr = &r.addr;
        let mut msg = format!(
            "removed `{addr}` from the state (serial {serial}); the cloud resource {} is kept, unchanged",
            r.cloud_id
        );
        if markable(addr.kind()) {
            let _ = write!(
                msg,
                ", and it still carries this stack's ownership mark (tag `{STACK_TAG}` = {lineage}): a plan whose specs declare `{addr}` finds it and records it again. To take it back explicitly: `flinkform import {addr} {} SPEC...`; to hand it to another stack, remove its `{STACK_TAG}` tag first",
                r.cloud_id
            );
        } else {
            let _ = write!(
                msg,
                ". To take it back: `flinkform import {addr} {} SPEC...` where import supports the kind",
                r.cloud_id
            );
        }
        view::note(&msg);
    }
    Ok(())
}

async fn mv(global: &GlobalArgs, source: &str, destination: &str) -> Result<()> {
    let from = parse(source)?;
    let to = parse(destination)?;
    if from.kind() != to.kind() {
        return Err(CliError::StateMvKind {
            from: source.to_owned(),
            to: destination.to_owned(),
        }
        .into());
    }
    let mut session = lock_state(global, "state mv").await?;
    let state = session.state();
    let rec = state
        .resources
        .get(&from)
        .ok_or_else(|| CliError::NotInState {
            address: source.to_owned(),
        })?;
    if state.resources.contains_key(&to) {
        return Err(CliError::StateMvExists {
            from: source.to_owned(),
            to: destination.to_owned(),
        }
        .into());
    }
    settled(state, &from)?;
    let mut moved = rec.clone();
    moved.addr = to.clone();
    let mut changes = vec![Change::Remove(from.clone()), Change::Record(moved)];
    // What was created after it and depends on it now depends on the new address.
    for r in state.resources.values() {
        if r.depends_on.contains(&from) {
            let mut r = r.clone();
            r.depends_on.remove(&from);
            r.depends_on.insert(to.clone());
            changes.push(Change::Record(r));
        }
    }
    session.commit(changes).await?;
    let serial = session.state().serial;
    finish(session).await;
    let mut msg =
        format!("moved `{from}` to `{to}` (serial {serial}); nothing was changed in the cloud");
    if markable(to.kind()) {
        msg.push_str(&format!(
            "; the next apply updates the resource's `flinkform:address` tag to `{to}`"
        ));
    }
    view::note(&msg);
    Ok(())
}

async fn pull(global: &GlobalArgs, serial: Option<u64>) -> Result<()> {
    let backend = open_backend(global)?;
    let state = match serial {
        Some(n) => backend.read_serial(n).await?,
        None => backend.read().await?,
    };
    view::out(&format::encode(&state)?);
    Ok(())
}

async fn push(global: &GlobalArgs, file: &std::path::Path, force: bool) -> Result<()> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).into_diagnostic()?
    } else {
        std::fs::read_to_string(file).map_err(|e| CliError::Io {
            path: file.display().to_string(),
            message: e.to_string(),
        })?
    };
    let state = format::decode(&text, file)?;
    let mut session = lock_state(global, "state push").await?;
    let before = session.state().serial;
    session.replace(state, force).await?;
    let serial = session.state().serial;
    finish(session).await;
    view::note(&format!(
        "pushed `{}`: the state is now serial {serial} (was {before})",
        file.display()
    ));
    Ok(())
}

async fn history(global: &GlobalArgs, as_json: bool) -> Result<()> {
    let backend = open_backend(global)?;
    let entries = backend.history().await?;
    if as_json {
        let items: Vec<serde_json::Value> = entries
            .iter()
            .map(|h| {
                json!({
                    "serial": h.serial,
                    "written_at": h.written_at,
                    "operation": h.operation,
                    "who": h.who,
                    "changed": h.changed.iter().map(ToString::to_string).collect::<Vec<_>>(),
                })
            })
            .collect();
        view::out(
            &serde_json::to_string_pretty(
                &json!({ "backend": backend.describe(), "versions": items }),
            )
            .into_diagnostic()?,
        );
        return Ok(());
    }
    let mut out = String::new();
    for h in &entries {
        let changed: Vec<String> = h.changed.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            h.serial,
            h.written_at,
            h.operation,
            if h.who.is_empty() { "-" } else { &h.who },
            changed.join(",")
        );
    }
    view::out(&out);
    Ok(())
}
