//! The output formats of `plan`, `drift` and `graph` (specs/cli.md, "Output formats"): which
//! renderer of `flinkform_plan::render` makes the document, and what the standalone HTML
//! page says about where it comes from. Printing stays in `view`.

use flinkform_plan::Plan;
use flinkform_plan::render::{self, ReportMeta};
use miette::{IntoDiagnostic as _, Result};

use crate::args::{GlobalArgs, GraphFormat, ReportFormat, SpecArgs};

/// `--json` is `--format json`.
pub(crate) fn format(json: bool, format: ReportFormat) -> ReportFormat {
    if json { ReportFormat::Json } else { format }
}

/// When and for what a standalone report was made: the time (UTC), the spec paths, the
/// cloud, the state file and its lineage.
pub(crate) fn meta(global: &GlobalArgs, specs: &SpecArgs, lineage: &str) -> ReportMeta {
    let paths = specs
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let cloud = match global.cloud {
        Some(crate::args::CloudArg::Alibaba) => "Alibaba Cloud",
        Some(crate::args::CloudArg::Sim) => "the bundled emulator (sim)",
        None => "default (see specs/cli.md)",
    };
    ReportMeta {
        generated_at: chrono::Utc::now()
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        facts: vec![
            ("Specs".to_owned(), paths),
            ("Cloud".to_owned(), cloud.to_owned()),
            ("State".to_owned(), crate::backend::display_state(global)),
            ("Stack lineage".to_owned(), lineage.to_owned()),
        ],
    }
}

/// The plan in `format`.
pub(crate) fn plan(plan: &Plan, format: ReportFormat, meta: &ReportMeta) -> Result<String> {
    Ok(match format {
        ReportFormat::Text => render::plan_text(plan),
        ReportFormat::Json => {
            serde_json::to_string_pretty(&render::plan_json(plan)).into_diagnostic()?
        }
        ReportFormat::Md => render::plan_markdown(plan),
        ReportFormat::Html => render::plan_html(plan, meta),
    })
}

/// The drift report in `format`; the text form ends with what apply would do about it.
pub(crate) fn drift(plan: &Plan, format: ReportFormat, meta: &ReportMeta) -> Result<String> {
    Ok(match format {
        ReportFormat::Text => {
            let mut text = render::drift_text(plan);
            if plan.has_changes() {
                text.push_str(&format!(
                    "\nTo make the cloud match the specs again, apply would: {}\n",
                    plan.summary()
                ));
                if let Some(m) = render::monthly_change_text(plan) {
                    text.push_str(&format!("Monthly cost change: {m}.\n"));
                }
            }
            text
        }
        ReportFormat::Json => {
            serde_json::to_string_pretty(&render::drift_json(plan)).into_diagnostic()?
        }
        ReportFormat::Md => render::drift_markdown(plan),
        ReportFormat::Html => render::drift_html(plan, meta),
    })
}

/// The plan's graph in `format`.
pub(crate) fn graph(plan: &Plan, format: GraphFormat) -> String {
    match format {
        GraphFormat::Dot => render::graph_dot(plan),
        GraphFormat::Mermaid => render::graph_mermaid(plan),
    }
}
