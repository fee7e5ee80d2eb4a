//! The plan's DAG as a graph: Graphviz DOT and a Mermaid flowchart. One node per action
//! (labelled with its symbol, address and op; no-ops dashed), one edge per dependency, in
//! plan order.

use std::fmt::Write as _;

use crate::model::{Op, Plan};

/// The plan's DAG in Graphviz DOT.
#[must_use]
pub fn graph_dot(plan: &Plan) -> String {
    let mut out = String::from(
        "digraph flinkform {\n  rankdir = LR;\n  node [shape = box, fontname = \"monospace\"];\n",
    );
    for a in &plan.actions {
        let style = if a.op == Op::NoOp {
            ", style = dashed"
        } else {
            ""
        };
        let label = format!("{} {}\\n{}", a.op.symbol().trim(), a.addr, a.op);
        let _ = writeln!(
            out,
            "  n{} [label = \"{}\"{style}];",
            a.id.0,
            label.replace('"', "\\\"")
        );
    }
    for (from, to) in &plan.edges {
        let _ = writeln!(out, "  n{} -> n{};", from.0, to.0);
    }
    out.push_str("}\n");
    out
}

/// A Mermaid label: the text between `["` and `"]`, with `"`, `#`, `<`, `>` and `&` as
/// Mermaid entity codes (`#quot;`, `#35;`, `#lt;`, `#gt;`, `#amp;`), so that no
/// character of an address can end the label or be read as markup.
#[must_use]
pub fn mermaid_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The plan's DAG as a Mermaid flowchart (`flowchart TD`): node ids `n<action id>` (never
/// derived from an address, so always valid), labels quoted and escaped
/// ([`mermaid_label`]), no-ops in the dashed class `noop`.
#[must_use]
pub fn graph_mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart TD\n");
    for a in &plan.actions {
        let symbol = a.op.symbol().trim();
        let label = if symbol.is_empty() {
            format!("{} ({})", a.addr, a.op)
        } else {
            format!("{symbol} {} ({})", a.addr, a.op)
        };
        let _ = writeln!(out, "  n{}[\"{}\"]", a.id.0, mermaid_label(&label));
    }
    for (from, to) in &plan.edges {
        let _ = writeln!(out, "  n{} --> n{}", from.0, to.0);
    }
    let noops: Vec<String> = plan
        .actions
        .iter()
        .filter(|a| a.op == Op::NoOp)
        .map(|a| format!("n{}", a.id.0))
        .collect();
    if !noops.is_empty() {
        out.push_str("  classDef noop stroke-dasharray: 5 5\n");
        let _ = writeln!(out, "  class {} noop", noops.join(","));
    }
    out
}
