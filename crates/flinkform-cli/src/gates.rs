//! Gates in the CLI: what `apply` prints when it stops at a step only a person can complete
//! (exit code 3), the prompt that resumes it on a terminal, and `flinkform sim outbox`, which
//! shows the e-mails the emulated vendor sent (the verification codes).

use flinkform_apply::ApplyReport;
use miette::{IntoDiagnostic as _, Result};

use crate::args::{ApplyArgs, GlobalArgs};
use crate::cloud::sim_world_path;
use crate::error::CliError;
use crate::{Exit, view};

/// Warns about `--input` names that no gate of `plan` waits for (a typo, or a gate that was
/// passed already).
pub(crate) fn warn_unknown_inputs(
    plan: &flinkform_plan::Plan,
    inputs: &std::collections::BTreeMap<String, String>,
) {
    for name in inputs.keys() {
        let waits = plan
            .actions
            .iter()
            .any(|a| a.op == flinkform_plan::Op::Gate && a.addr.name() == name);
        if !waits {
            let gates: Vec<&str> = plan
                .actions
                .iter()
                .filter(|a| a.op == flinkform_plan::Op::Gate)
                .map(|a| a.addr.name())
                .collect();
            let known = if gates.is_empty() {
                "no gate waits in this plan".to_owned()
            } else {
                format!("the waiting gates are: {}", gates.join(", "))
            };
            view::warn(&format!("`--input {name}=...` is not used: {known}"));
        }
    }
}

/// Prints every waiting gate with its instructions and the command that resumes.
pub(crate) fn explain(report: &ApplyReport) {
    let waiting = report.waiting();
    let mut text = format!(
        "\napply stopped at {} gate(s): steps only a person can complete. Everything that does not \
         depend on them is done.\n",
        waiting.len()
    );
    for (addr, instructions) in &waiting {
        text.push_str(&format!(
            "\n  gate `{}`:\n    {instructions}\n",
            addr.name()
        ));
    }
    let inputs: Vec<String> = waiting
        .iter()
        .map(|(a, _)| format!("--input {}=<value>", a.name()))
        .collect();
    text.push_str(&format!(
        "\nResume with: flinkform apply {} <the same specs>\n",
        inputs.join(" ")
    ));
    for (addr, _) in &waiting {
        if addr.name().starts_with("verify-email.") {
            text.push_str(
                "With the emulator (--cloud sim), the e-mail is in: flinkform sim outbox\n",
            );
            break;
        }
    }
    view::out(&text);
}

/// After an apply stopped at gates: on a terminal (and without `--auto-approve`), asks for
/// each gate's value and applies again with them; otherwise returns `exit` as it is.
pub(crate) async fn resume_on_tty(
    global: &GlobalArgs,
    mut args: ApplyArgs,
    exit: Exit,
) -> Result<Exit> {
    if exit != Exit::Gated || args.run.auto_approve || !view::interactive() {
        return Ok(exit);
    }
    let state = crate::backend::open_backend(global)?.read().await?;
    let mut given = false;
    for name in state.gates.keys() {
        let answer = view::ask(&format!(
            "Value for gate `{name}` (empty to stop here and resume later):"
        ))
        .into_diagnostic()?;
        if !answer.is_empty() {
            args.inputs.retain(|(n, _)| n != name);
            args.inputs.push((name.clone(), answer));
            given = true;
        }
    }
    if !given {
        return Ok(exit);
    }
    Box::pin(crate::commands::apply(global, args)).await
}

/// `flinkform sim outbox [--json]`.
pub(crate) fn outbox(global: &GlobalArgs, json: bool) -> Result<Exit> {
    let path = sim_world_path(global);
    if !path.exists() {
        return Err(CliError::Sim(format!(
            "no emulator world at `{}`: run `flinkform apply --cloud sim ...` first",
            path.display()
        ))
        .into());
    }
    let world = flinkform_cloudsim::World::load(&path).map_err(|e| CliError::Sim(e.to_string()))?;
    let messages = world.outbox();
    if json {
        view::out(&serde_json::to_string_pretty(messages).into_diagnostic()?);
        return Ok(Exit::Ok);
    }
    if messages.is_empty() {
        view::note("the outbox is empty: the emulated vendor has sent no e-mail");
        return Ok(Exit::Ok);
    }
    let mut text = String::new();
    for m in messages {
        text.push_str(&format!(
            "#{} to {} ({}): {}\n  code: {}\n",
            m.id, m.to, m.purpose, m.subject, m.code
        ));
    }
    view::out(&text);
    Ok(Exit::Ok)
}
