//! Reports: the Markdown and HTML renderings of a plan with every kind of action (create,
//! read, check, update in place, replace, delete, no-op) and of a drift made in the
//! console, as insta snapshots; the HTML rendered in headless Chromium and checked for what
//! a reader sees; the Mermaid graph checked against the flowchart grammar; prices from the
//! emulator's price model in the plan.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::Sandbox;

/// Ids the emulator draws at random, the stack's lineage and the report's time.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[UUID]",
        ),
        (r"\bvpc-[a-z0-9]{12,}\b", "vpc-[ID]"),
        (r"\bvsw-[a-z0-9]{12,}\b", "vsw-[ID]"),
        (r"\bf-[a-z]+-[a-z0-9]{8,}\b", "f-[ID]"),
        (
            r"<dt>Generated</dt><dd>[^<]*</dd>",
            "<dt>Generated</dt><dd>[TIME]</dd>",
        ),
    ]
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({ filters => filters() }, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

/// A stack with a pay-as-you-go and a subscription workspace applied, then specs that
/// move the pay-as-you-go one to another VPC range (replacements), grow the
/// subscription's quota and a project (updates in place), drop a project (delete) and add
/// a workspace in an existing network (reads, a balance check, creates).
fn every_kind_of_action() -> Sandbox {
    let sb = Sandbox::new();
    sb.run(&[
        "apply",
        "--auto-approve",
        "examples/quickstart.yaml",
        "examples/subscription.yaml",
    ])
    .expect(0);
    let read = |name: &str| {
        std::fs::read_to_string(sb.path().join("examples").join(name)).expect("read spec")
    };
    sb.write(
        "specs/quickstart.yaml",
        &read("quickstart.yaml")
            .replace("10.10.0.0/16", "10.30.0.0/16")
            .replace("10.10.1.0/24", "10.30.1.0/24"),
    );
    sb.write(
        "specs/subscription.yaml",
        &read("subscription.yaml")
            .replace("quota: { cu: 16 }", "quota: { cu: 20 }")
            .replace("    - { name: adhoc, cu: 2 }\n", "")
            .replace("name: etl, cu: 4", "name: etl, cu: 6"),
    );
    sb.write("specs/existing-vpc.yaml", &read("existing-vpc.yaml"));
    sb
}

#[test]
fn the_markdown_and_html_plan_reports_show_every_kind_of_action_with_prices() {
    let sb = every_kind_of_action();
    let md = sb
        .run(&["plan", "--detailed-exitcode", "--format", "md", "specs"])
        .expect(2)
        .stdout;
    assert!(
        md.contains(
            "**Plan:** 3 to create, 3 to update in place, 5 to replace, 1 to destroy · monthly cost +USD 400.00"
        ),
        "{md}"
    );
    // The quota change of 4 CU at USD 100 per CU-month (specs/cloud-api.md, "Prices").
    assert!(md.contains("USD 400.00 per month (quota change)"), "{md}");
    for op in [
        "create",
        "read",
        "check",
        "update in place",
        "replace",
        "destroy",
    ] {
        assert!(md.contains(&format!(" | {op} | ")), "no `{op}` row:\n{md}");
    }
    snapshot!("plan_markdown", md);

    let html = sb
        .run(&["plan", "--format", "html", "specs"])
        .expect(0)
        .stdout;
    snapshot!("plan_html", &html);
    if let Some(text) = visible_text(&sb, "plan.html", &html) {
        for seen in [
            "flinkform plan",
            "Plan: 3 to add, 3 to change, 5 to replace, 1 to destroy. Monthly cost change: +USD 400.00.",
            "flink_workspace.analytics-sub",
            "USD 400.00 per month (quota change)",
            "vpc.quickstart",
        ] {
            assert!(text.contains(seen), "`{seen}` not on the page:\n{text}");
        }
    }

    // The JSON carries the same prices, as decimal strings.
    let json = sb.run(&["plan", "--json", "specs"]).expect(0).stdout;
    let doc: serde_json::Value = serde_json::from_str(&json).expect("plan JSON");
    assert_eq!(
        doc["monthly_change"],
        serde_json::json!([{ "currency": "USD", "amount": "400.00" }])
    );
    let priced: Vec<(&str, &str)> = doc["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| a.get("price").is_some())
        .map(|a| {
            (
                a["address"].as_str().expect("address"),
                a["price"]["term"].as_str().expect("term"),
            )
        })
        .collect();
    assert_eq!(
        priced,
        [
            ("flink_workspace.existing-vpc", "hour"),
            ("flink_workspace.analytics-sub", "quota_change_per_month"),
            ("flink_workspace.quickstart", "hour"),
        ],
        "{json}"
    );
    // `--json` and `--format` are one choice; like every usage error, exit 1.
    let both = sb
        .run(&["plan", "--json", "--format", "md", "specs"])
        .expect(1);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
}

#[test]
fn a_new_subscription_shows_its_price_and_the_monthly_total() {
    let sb = Sandbox::new();
    let plan = sb.run(&["plan", "examples/subscription.yaml"]).expect(0);
    // 16 CU for one month at USD 100 per CU-month.
    assert!(
        plan.stdout
            .contains("  #   price: USD 1600.00 for 1 month\n  + flink_workspace.analytics-sub\n"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("Monthly cost change: +USD 1600.00.\n"),
        "{}",
        plan.stdout
    );
    // A China-site account pays in CNY (CNY 700 per CU-month).
    sb.run(&["sim", "console", "create-account", "cn", "--site", "china"])
        .expect(0);
    let spec = std::fs::read_to_string(sb.path().join("examples/subscription.yaml"))
        .expect("spec")
        .replace("account: main", "account: cn")
        .replace("ap-southeast-1b", "cn-hangzhou-h")
        .replace("ap-southeast-1a", "cn-hangzhou-g")
        .replace("ap-southeast-1", "cn-hangzhou");
    sb.write("cn.yaml", &spec);
    let cn = sb.run(&["plan", "cn.yaml"]);
    assert!(
        cn.stdout.contains("Monthly cost change: +CNY 11200.00."),
        "{}\n{}",
        cn.stdout,
        cn.stderr
    );
}

#[test]
fn the_drift_reports_in_markdown_html_and_json() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", "examples/subscription.yaml"])
        .expect(0);
    for clean in ["md", "html"] {
        let out = sb
            .run(&["drift", "--format", clean, "examples/subscription.yaml"])
            .expect(0)
            .stdout;
        assert!(out.contains("No drift."), "{out}");
    }
    sb.run(&["sim", "console", "set-quota", "analytics-sub", "24"])
        .expect(0);
    sb.run(&["sim", "console", "delete-project", "analytics-sub", "etl"])
        .expect(0);
    let md = sb
        .run(&["drift", "--format", "md", "examples/subscription.yaml"])
        .expect(2)
        .stdout;
    snapshot!("drift_markdown", md);
    let html = sb
        .run(&["drift", "--format", "html", "examples/subscription.yaml"])
        .expect(2)
        .stdout;
    snapshot!("drift_html", &html);
    if let Some(text) = visible_text(&sb, "drift.html", &html) {
        for seen in [
            "flinkform drift report",
            "Drift: 2 resource(s) changed outside flinkform (1 changed, 1 deleted).",
            "flink_workspace.analytics-sub",
            "cu",
            "16",
            "24",
            "flink_project.analytics-sub/etl was deleted outside flinkform",
        ] {
            assert!(text.contains(seen), "`{seen}` not on the page:\n{text}");
        }
    }
    // specs/plan-json.md documents `drift --format json`: the same document as `--json`.
    let json = sb
        .run(&["drift", "--format", "json", "examples/subscription.yaml"])
        .expect(2)
        .stdout;
    let alias = sb
        .run(&["drift", "--json", "examples/subscription.yaml"])
        .expect(2)
        .stdout;
    assert_eq!(json, alias);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("drift JSON");
    assert_eq!(doc["format_version"], "1");
    let kinds: Vec<(&str, &str)> = doc["drift"]
        .as_array()
        .expect("drift")
        .iter()
        .map(|d| {
            (
                d["address"].as_str().unwrap_or(""),
                d["kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("flink_workspace.analytics-sub", "changed"),
            ("flink_project.analytics-sub/etl", "deleted"),
        ]
    );
}

/// Chromium, or `None` outside CI when it is not installed (the caller then skips, with a
/// notice). In CI (`CI` set) a missing Chromium fails: `.ci/run` installs it.
fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/chromium");
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "chromium is not installed: .ci/run installs Debian's `chromium` package"
    );
    // Written past the test harness's capture (which takes only `eprintln!`), so that the
    // skip is seen in the runner's output.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: chromium not installed (apt-get install chromium): the HTML report was not rendered in a browser"
    );
    None
}

/// Chromium's headless flags: no network of its own, a throwaway profile.
fn headless(chromium: &Path, profile: &Path) -> Command {
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// Renders `html` in headless Chromium: checks that the page paints something (its
/// screenshot is much larger than the one of an empty page) and returns the text a reader
/// sees (the DOM Chromium built, without tags, entities decoded, whitespace collapsed).
/// `None` when Chromium is not installed (outside CI).
fn visible_text(sb: &Sandbox, name: &str, html: &str) -> Option<String> {
    let chromium = chromium()?;
    sb.write(name, html);
    sb.write("blank.html", "<!DOCTYPE html><html><body></body></html>");
    let page = sb.path().join(name);
    let profile = sb.path().join("chromium-profile");
    let out = headless(&chromium, &profile)
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    // Nothing was injected: Chromium's DOM has no element the report did not write.
    assert!(!dom.contains("<script"), "{dom}");
    let shot = |page: &Path, png: &Path| {
        let out = headless(&chromium, &profile)
            .arg(format!("--screenshot={}", png.display()))
            .arg("--window-size=1200,1600")
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("run chromium");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(png).expect("screenshot");
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        bytes.len()
    };
    let report = shot(&page, &sb.path().join("report.png"));
    let blank = shot(&sb.path().join("blank.html"), &sb.path().join("blank.png"));
    assert!(
        report > 4 * blank,
        "the report's screenshot ({report} bytes) looks blank (an empty page: {blank} bytes)"
    );
    let body = dom.split("<body").nth(1).unwrap_or(&dom);
    Some(text_of(body))
}

/// The text of markup: tags removed, the entities the renderers write decoded,
/// whitespace collapsed.
fn text_of(markup: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in markup.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        // Inline elements split by the tag-stripping: `<code>a</code> b` reads `a b`.
        .replace(" .", ".")
}

#[test]
fn the_mermaid_graph_is_a_flowchart() {
    let sb = every_kind_of_action();
    let out = sb
        .run(&["graph", "--format", "mermaid", "specs"])
        .expect(0)
        .stdout;
    let plan: serde_json::Value =
        serde_json::from_str(&sb.run(&["plan", "--json", "specs"]).expect(0).stdout)
            .expect("plan JSON");
    let actions = plan["actions"].as_array().expect("actions");
    let edges: usize = actions
        .iter()
        .map(|a| a["depends_on"].as_array().map_or(0, Vec::len))
        .sum();
    let (nodes, parsed_edges) = check_flowchart(&out);
    assert_eq!(nodes, actions.len(), "one node per action:\n{out}");
    assert_eq!(parsed_edges, edges, "one edge per dependency:\n{out}");
    // `dot` stays the default.
    let dot = sb.run(&["graph", "specs"]).expect(0).stdout;
    assert!(dot.starts_with("digraph flinkform {"), "{dot}");
}

/// Checks `text` against the part of Mermaid's flowchart grammar the renderer uses and
/// returns (nodes, edges): the header `flowchart TD`, then per line a node `ID["LABEL"]`
/// (label without `"`), an edge `ID --> ID` between defined nodes, `classDef NAME STYLE`,
/// or `class ID,ID NAME` of defined nodes and classes. Ids are letters, digits and `_`,
/// starting with a letter, each defined once.
fn check_flowchart(text: &str) -> (usize, usize) {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("flowchart TD"), "{text}");
    let is_id = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut ids = BTreeSet::new();
    let mut classes = BTreeSet::new();
    let mut edges = 0;
    for line in lines {
        let l = line.trim();
        if let Some((id, rest)) = l.split_once("[\"") {
            let label = rest
                .strip_suffix("\"]")
                .unwrap_or_else(|| panic!("node label not closed: {line}"));
            assert!(is_id(id), "bad node id in {line}");
            assert!(!label.contains('"'), "unescaped quote in {line}");
            assert!(!label.is_empty(), "empty label in {line}");
            assert!(ids.insert(id.to_owned()), "node {id} defined twice");
        } else if let Some((from, to)) = l.split_once(" --> ") {
            assert!(ids.contains(from), "edge from undefined {from}: {line}");
            assert!(ids.contains(to), "edge to undefined {to}: {line}");
            edges += 1;
        } else if let Some(rest) = l.strip_prefix("classDef ") {
            let (name, style) = rest.split_once(' ').expect("classDef NAME STYLE");
            assert!(is_id(name) && !style.is_empty(), "{line}");
            classes.insert(name.to_owned());
        } else if let Some(rest) = l.strip_prefix("class ") {
            let (members, class) = rest.split_once(' ').expect("class IDS NAME");
            assert!(classes.contains(class), "class {class} not defined: {line}");
            for m in members.split(',') {
                assert!(ids.contains(m), "class of undefined {m}: {line}");
            }
        } else {
            panic!("not a flowchart statement: {line:?}");
        }
    }
    (ids.len(), edges)
}
