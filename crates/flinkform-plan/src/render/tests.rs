#![allow(clippy::unwrap_used)]

use flinkform_core::{Address, CloudId, Money, Price, PriceTerm, Value};

use super::*;
use crate::model::{ActionId, After, AttrDiff, Drift, DriftKind, Op, Plan, PlannedAction};

fn action(id: u32, addr: &str, op: Op) -> PlannedAction {
    PlannedAction {
        id: ActionId(id),
        addr: addr.parse::<Address>().unwrap(),
        mode: None,
        account: None,
        region: None,
        op,
        reasons: Vec::new(),
        diffs: Vec::new(),
        desired: None,
        prior: None,
        cloud_id: None,
        objects: None,
        price: None,
        wait_ready: false,
    }
}

fn usd(cents: i64) -> Money {
    Money {
        cents,
        currency: "USD".into(),
    }
}

/// A plan of `n` independent workspace creations.
fn fleet(n: u32) -> Plan {
    Plan {
        actions: (0..n)
            .map(|i| action(i, &format!("flink_workspace.ws-{i:05}"), Op::Create))
            .collect(),
        ..Plan::default()
    }
}

#[test]
fn a_fleet_plan_summarises_its_execution_waves() {
    let text = plan_text(&fleet(3000));
    let longest = text.lines().map(str::len).max().unwrap();
    assert!(longest < 600, "a line of {longest} characters");
    assert!(
        text.contains("  1. 3000 actions (flink_workspace: 3000): flink_workspace.ws-00000, "),
        "{}",
        &text[text.find("Execution order").unwrap()..]
    );
    assert!(text.contains(", … and 2990 more\n"));
    // A small wave is listed whole, as before.
    let small = plan_text(&fleet(3));
    assert!(small.contains(
        "  1. flink_workspace.ws-00000, flink_workspace.ws-00001, flink_workspace.ws-00002\n"
    ));
}

#[test]
fn waves_follow_edges_through_no_ops() {
    let mut plan = fleet(3);
    plan.actions[1].op = Op::NoOp;
    plan.edges.insert((ActionId(0), ActionId(1)));
    plan.edges.insert((ActionId(1), ActionId(2)));
    assert_eq!(waves(&plan), vec![vec![0], vec![2]]);
}

fn priced_plan() -> Plan {
    let mut plan = fleet(2);
    plan.actions[0].price = Some(Price::subscription(usd(80_000), usd(80_000), 1));
    plan.actions[1].op = Op::Update;
    plan.actions[1].diffs.push(AttrDiff {
        name: "cu".into(),
        before: Some(Value::Int(8)),
        after: After::Known(Value::Int(6)),
        forces_replacement: false,
    });
    plan.actions[1].price = Some(Price {
        amount: usd(-20_000),
        list: usd(-20_000),
        term: PriceTerm::QuotaChangePerMonth,
        monthly: Some(usd(-20_000)),
    });
    plan
}

#[test]
fn prices_and_the_monthly_change_show_in_every_format() {
    let plan = priced_plan();
    assert_eq!(plan.monthly_change(), vec![usd(60_000)]);
    let text = plan_text(&plan);
    assert!(
        text.contains("  #   price: USD 800.00 for 1 month\n"),
        "{text}"
    );
    assert!(
        text.contains("  #   price: USD -200.00 per month (quota change)\n"),
        "{text}"
    );
    assert!(
        text.contains("Monthly cost change: +USD 600.00.\n"),
        "{text}"
    );
    let md = plan_markdown(&plan);
    assert!(
        md.contains("**Plan:** 1 to create, 1 to update in place, 0 to replace, 0 to destroy · monthly cost +USD 600.00"),
        "{md}"
    );
    assert!(md.contains("| USD 800.00 for 1 month |"), "{md}");
    let json = plan_json(&plan);
    assert_eq!(
        json["monthly_change"],
        serde_json::json!([{ "currency": "USD", "amount": "600.00" }])
    );
    assert_eq!(
        json["actions"][0]["price"],
        serde_json::json!({
            "currency": "USD", "amount": "800.00", "list_amount": "800.00",
            "term": "subscription", "term_months": 1, "monthly": "800.00"
        })
    );
    assert_eq!(
        json["actions"][1]["price"]["term"],
        "quota_change_per_month"
    );
    let html = plan_html(&plan, &ReportMeta::default());
    assert!(html.contains("Monthly cost change: +USD 600.00."), "{html}");
    // Unpriced plans say nothing about money.
    assert!(!plan_text(&fleet(1)).contains("Monthly"));
    assert!(plan_json(&fleet(1)).get("monthly_change").is_none());
}

/// The unescaped `|` of a Markdown table row (its cell borders).
fn cell_borders(row: &str) -> usize {
    let b = row.as_bytes();
    (0..b.len())
        .filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\'))
        .count()
}

#[test]
fn markdown_escapes_values_so_tables_and_markup_hold() {
    let mut plan = priced_plan();
    let nasty = "a|b <script>alert(1)</script> `x` *y* [z](http://e)";
    plan.actions[1].diffs[0].after = After::Known(Value::Str(nasty.into()));
    plan.actions[1].reasons.push(format!("because {nasty}"));
    plan.warnings.push(format!("warn {nasty}"));
    let md = plan_markdown(&plan);
    assert!(!md.contains("<script"), "{md}");
    assert!(!md.contains("[z](http"), "{md}");
    assert!(md.contains("a\\|b &lt;script&gt;"), "{md}");
    for table in md.split("\n\n").filter(|b| b.starts_with('|')) {
        let rows: Vec<&str> = table.lines().collect();
        let n = cell_borders(rows[0]);
        for r in &rows {
            assert_eq!(cell_borders(r), n, "row {r:?} of\n{table}");
        }
    }
    // `<details>` blocks are closed, and their summary line is HTML-escaped.
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    let html = plan_html(&plan, &ReportMeta::default());
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("a|b &lt;script&gt;alert(1)&lt;/script&gt;"));
}

fn drifted() -> Plan {
    let mut plan = fleet(1);
    plan.actions[0].op = Op::Update;
    plan.actions[0].cloud_id = Some(CloudId::new("f-1").unwrap());
    plan.drift = vec![
        Drift {
            addr: "flink_workspace.ws".parse().unwrap(),
            kind: DriftKind::Changed(vec![(
                "cu".into(),
                Value::Int(16),
                Some(Value::Str("<b>24</b>".into())),
            )]),
        },
        Drift {
            addr: "flink_project.ws/etl".parse().unwrap(),
            kind: DriftKind::Deleted,
        },
    ];
    plan
}

#[test]
fn the_html_drift_report_stands_alone_and_escapes_everything() {
    let meta = ReportMeta {
        generated_at: "2026-12-01T00:00:00Z".into(),
        facts: vec![("Specs".into(), "<i>prod</i>.yaml".into())],
    };
    let html = drift_html(&drifted(), &meta);
    for external in [
        "<script", "<link", "<img", "<iframe", "url(", "http://", "https://",
    ] {
        assert!(!html.contains(external), "{external} in\n{html}");
    }
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("<code>&quot;&lt;b&gt;24&lt;/b&gt;&quot;</code>"),
        "{html}"
    );
    assert!(html.contains("&lt;i&gt;prod&lt;/i&gt;.yaml"));
    assert!(html.contains("1 changed, 1 deleted"));
    assert!(html.contains("<code>flink_project.ws/etl</code> was deleted outside flinkform"));
    let clean = drift_html(&Plan::default(), &meta);
    assert!(clean.contains("No drift."));
    let md = drift_markdown(&drifted());
    assert!(
        md.contains("**Drift:** 2 resource(s) changed outside flinkform."),
        "{md}"
    );
    assert!(
        md.contains(
            "| <code>cu</code> | <code>16</code> | <code>&quot;&lt;b&gt;24&lt;/b&gt;&quot;</code> |"
        ),
        "{md}"
    );
    assert!(drift_markdown(&Plan::default()).contains("**No drift.**"));
}

#[test]
fn mermaid_ids_are_plain_and_labels_cannot_end_early() {
    let mut plan = fleet(2);
    plan.actions[0].op = Op::NoOp;
    plan.edges.insert((ActionId(0), ActionId(1)));
    let m = graph_mermaid(&plan);
    assert_eq!(
        m,
        "flowchart TD\n  n0[\"flink_workspace.ws-00000 (no-op)\"]\n  n1[\"+ flink_workspace.ws-00001 (create)\"]\n  n0 --> n1\n  classDef noop stroke-dasharray: 5 5\n  class n0 noop\n"
    );
    assert_eq!(
        graph::mermaid_label("a\"b#c<d>&"),
        "a#quot;b#35;c#lt;d#gt;#amp;"
    );
    assert!(graph_dot(&plan).contains("n0 -> n1;"));
}
