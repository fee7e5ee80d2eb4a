//! Saved plans: `plan -out FILE` writes one, `apply FILE` applies exactly it (or refuses
//! when the state, the specs or the cloud changed since), `show FILE` prints it. The file
//! format is `flinkform_plan::saved` (specs/plan-file.md).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use flinkform_plan::saved::{
    FORMAT, FORMAT_VERSION, SavedOptions, Scope, SpecDigest, StateRef, observed_digests, sha256_hex,
};
use flinkform_plan::{Desired, PlanFile};
use miette::{IntoDiagnostic as _, Result};

use crate::args::{ApplyArgs, GlobalArgs, SafetyArgs, SpecArgs};
use crate::backend::lock_state;
use crate::commands::{Planned, connect, execute};
use crate::error::{CliError, StalePlan};
use crate::{Exit, files, view};

/// `-out FILE` / `-out=FILE` (Terraform's spelling) is `--out`.
pub(crate) fn normalize_args(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    args.map(|a| match a.to_str() {
        Some("-out") => OsString::from("--out"),
        Some(s) if s.starts_with("-out=") => OsString::from(format!("-{s}")),
        _ => a,
    })
    .collect()
}

/// `flinkform show FILE`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// A plan file written by `flinkform plan -out FILE`
    pub(crate) file: PathBuf,
    /// Print the plan as JSON (same as `--format json`)
    #[arg(long, conflicts_with = "format")]
    pub(crate) json: bool,
    /// Output format
    #[arg(long, value_enum)]
    pub(crate) format: Option<ShowFormat>,
}

/// What `show` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ShowFormat {
    /// The plan as `flinkform plan` prints it
    Text,
    /// The plan JSON of specs/plan-json.md, with the file's metadata
    Json,
    /// Markdown for a pull-request comment
    Md,
}

/// The spec paths of `args` name a single plan file: its path and text.
pub(crate) fn plan_file_arg(args: &SpecArgs) -> Option<(PathBuf, String)> {
    let [path] = args.paths.as_slice() else {
        return None;
    };
    if !path.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    PlanFile::sniff(&text).then(|| (path.clone(), text))
}

/// `path` as recorded in a plan file: relative to the working directory when it is inside
/// it, `/`-separated.
fn relative(path: &str) -> String {
    let p = Path::new(path);
    let rel = std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf());
    let s = rel.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map_or(s.clone(), str::to_owned)
}

/// Writes the plan file of `planned` to `out` (atomically: a temporary file renamed).
pub(crate) fn write(
    out: &Path,
    specs: &SpecArgs,
    safety: &SafetyArgs,
    planned: &Planned,
) -> Result<()> {
    let sources = files::read_specs(&specs.paths)?;
    let specs = sources
        .iter()
        .map(|s| SpecDigest {
            path: relative(&s.name),
            sha256: sha256_hex(s.text.as_bytes()),
        })
        .collect();
    let state = planned.state.state();
    let empty = Desired::default();
    let marked = planned.desired.as_ref().unwrap_or(&empty);
    let req = flinkform_plan::observe_request(marked, &state.resources);
    let (observed, facts) = observed_digests(&planned.observed);
    let opts = crate::commands::plan_options(safety)?;
    let file = PlanFile {
        format: FORMAT.to_owned(),
        format_version: FORMAT_VERSION,
        flinkform_version: env!("CARGO_PKG_VERSION").to_owned(),
        created: flinkform_state::now_rfc3339(),
        state: StateRef {
            lineage: state.lineage.to_string(),
            serial: state.serial,
        },
        target: planned.target.clone(),
        specs,
        options: SavedOptions {
            allow_replace: opts.allow_replace,
            allow_destroy: opts.allow_destroy,
            confirmed_objects: opts.confirmed_objects,
        },
        scope: Scope {
            desired: req.desired.into_iter().cloned().collect(),
            accounts: req.accounts,
        },
        observed,
        facts,
        settled_intents: planned.settled.clone(),
        plan: planned.plan.clone(),
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, &e))?;
    }
    let tmp = out.with_extension("tmp-flinkform");
    std::fs::write(&tmp, file.to_json()).map_err(|e| CliError::io(&tmp, &e))?;
    std::fs::rename(&tmp, out).map_err(|e| CliError::io(out, &e))?;
    view::note(&format!(
        "saved the plan to `{}`; `flinkform apply {}` applies exactly it",
        out.display(),
        out.display()
    ));
    Ok(())
}

fn stale(file: &Path, reasons: &[String]) -> miette::Report {
    miette::Report::new(StalePlan {
        file: file.display().to_string(),
        reasons: reasons.join("; "),
    })
}

/// `apply FILE`: checks the specs, the state and the cloud against the plan file, then
/// executes its plan unchanged (no confirmation: the plan was reviewed when it was made).
pub(crate) async fn apply_saved(
    global: &GlobalArgs,
    args: ApplyArgs,
    path: &Path,
    text: &str,
) -> Result<Exit> {
    let file = PlanFile::from_json(&path.display().to_string(), text)?;
    if !args.safety.allow_replace.is_empty() || !args.safety.allow_destroy.is_empty() {
        return Err(miette::miette!(
            code = "cli::usage",
            help = "give them to `flinkform plan -out`; the plan file holds the decision",
            "`--allow-replace` and `--allow-destroy` are decided when the plan is made, not when a saved plan is applied"
        ));
    }
    let edited: Vec<String> = file
        .spec_changes(&|p| std::fs::read(p).ok())
        .into_iter()
        .map(|(p, why)| format!("spec file `{p}` {why} since the plan was made"))
        .collect();
    if !edited.is_empty() {
        return Err(stale(path, &edited));
    }
    let mut state = lock_state(global, "apply").await?;
    let fresh = file.state.serial == 0 && state.state().serial == 0;
    if fresh {
        // Planned before the first apply, when no state file existed: the plan's lineage
        // (which marks every resource it creates) becomes this state's.
        if let Ok(lineage) = file.state.lineage.parse::<flinkform_state::Lineage>() {
            // A stack never written takes any lineage (the only whole-state write here).
            let mut next = state.state().clone();
            next.lineage = lineage;
            state.replace(next, false).await?;
        }
    }
    let (lineage, serial) = (state.state().lineage.to_string(), state.state().serial);
    let serial = if fresh { 0 } else { serial };
    if lineage != file.state.lineage && file.state.serial == 0 {
        return Err(stale(
            path,
            &["the state was created since the plan was made: another apply ran".to_owned()],
        ));
    }
    if lineage != file.state.lineage {
        return Err(stale(
            path,
            &[format!(
                "it was made against the state of lineage {}, and this state is lineage {lineage}",
                file.state.lineage
            )],
        ));
    }
    if serial != file.state.serial {
        return Err(stale(
            path,
            &[format!(
                "the state changed since the plan was made (serial {} then, {serial} now): another apply ran",
                file.state.serial
            )],
        ));
    }
    let desired = Desired {
        resources: file
            .scope
            .desired
            .iter()
            .map(|d| (d.addr.clone(), d.clone()))
            .collect(),
        accounts: file.scope.accounts.clone(),
        ..Desired::default()
    };
    let (session, target) = connect(global, &state, Some(&desired)).await?;
    let mut reasons = Vec::new();
    if target.cloud != file.target.cloud || target.world != file.target.world {
        reasons.push(format!(
            "it was made against the {} cloud{}, and this is the {} cloud{}",
            file.target.cloud,
            file.target
                .world
                .as_ref()
                .map(|w| format!(" (world {w})"))
                .unwrap_or_default(),
            target.cloud,
            target
                .world
                .as_ref()
                .map(|w| format!(" (world {w})"))
                .unwrap_or_default(),
        ));
    }
    for (account, uid) in &file.target.accounts {
        if target.accounts.get(account).is_some_and(|now| now != uid) {
            reasons.push(format!(
                "account `{account}` is another Alibaba Cloud account than when the plan was made"
            ));
        }
    }
    if reasons.is_empty() {
        let observed =
            flinkform_apply::reobserve(session.provider.as_ref(), &file, state.state()).await?;
        reasons = file.cloud_changes(&observed, &state.state().resources);
    }
    if !reasons.is_empty() {
        session.close().await?;
        return Err(stale(path, &reasons));
    }
    view::note(&format!(
        "applying the saved plan `{}` made {} (state serial {serial}); the cloud is as it was then",
        path.display(),
        file.created
    ));
    let planned = Planned {
        plan: file.plan,
        state,
        session,
        settled: file.settled_intents,
        observed: flinkform_core::Observed::default(),
        target,
        desired: Some(desired),
    };
    let inputs: BTreeMap<String, String> = args.inputs.iter().cloned().collect();
    execute(planned, true, &args.run, "apply", &inputs).await
}

/// `flinkform show FILE`.
pub(crate) fn show(args: &ShowArgs) -> Result<Exit> {
    let text = std::fs::read_to_string(&args.file).map_err(|e| CliError::io(&args.file, &e))?;
    let file = PlanFile::from_json(&args.file.display().to_string(), &text)?;
    let format = if args.json {
        ShowFormat::Json
    } else {
        args.format.unwrap_or(ShowFormat::Text)
    };
    view::out(&render(&file, format)?);
    Ok(Exit::Ok)
}

/// The one place a saved plan is rendered per format.
fn render(file: &PlanFile, format: ShowFormat) -> Result<String> {
    Ok(match format {
        ShowFormat::Text => {
            let mut s = format!(
                "Saved plan made {} by flinkform {} against state {} serial {} ({} cloud).\n\n",
                file.created,
                file.flinkform_version,
                file.state.lineage,
                file.state.serial,
                file.target.cloud
            );
            s.push_str(&flinkform_plan::render::render_text(&file.plan));
            s
        }
        ShowFormat::Json => {
            let mut json = flinkform_plan::render::plan_json(&file.plan);
            if let Some(obj) = json.as_object_mut() {
                obj.insert("plan_file".to_owned(), metadata(file));
            }
            let mut s = serde_json::to_string_pretty(&json).into_diagnostic()?;
            s.push('\n');
            s
        }
        ShowFormat::Md => markdown(file),
    })
}

/// The file's metadata in `show --json` (`plan_file`).
fn metadata(file: &PlanFile) -> serde_json::Value {
    serde_json::json!({
        "format_version": file.format_version,
        "flinkform_version": file.flinkform_version,
        "created": file.created,
        "state": { "lineage": file.state.lineage, "serial": file.state.serial },
        "cloud": file.target.cloud.to_string(),
        "specs": file.specs.iter().map(|s| serde_json::json!({"path": s.path, "sha256": s.sha256})).collect::<Vec<_>>(),
        "options": {
            "allow_replace": file.options.allow_replace.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "allow_destroy": file.options.allow_destroy.iter().map(ToString::to_string).collect::<Vec<_>>(),
        },
    })
}

/// The plan's Markdown (`flinkform_plan::render::plan_markdown`, what `plan --format md`
/// prints) with a line saying which state it was made against, and when.
fn markdown(file: &PlanFile) -> String {
    let mut s = flinkform_plan::render::plan_markdown(&file.plan);
    s.push_str(&format!(
        "\nSaved plan: state serial {}, made {}.\n",
        file.state.serial, file.created
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_out_spelling_is_accepted() {
        let args = [
            "flinkform",
            "plan",
            "-out",
            "p.json",
            "-out=q.json",
            "specs/",
        ]
        .into_iter()
        .map(OsString::from);
        let got: Vec<OsString> = normalize_args(args);
        assert_eq!(
            got,
            [
                "flinkform",
                "plan",
                "--out",
                "p.json",
                "--out=q.json",
                "specs/"
            ]
            .map(OsString::from)
            .to_vec()
        );
    }
}
