//! The apply output at fleet scale: changes are printed, unchanged resources only counted;
//! without a terminal there is no progress line. The lines of concurrent actions come in
//! any order: the snapshots hold them sorted, with cloud ids and call counts redacted.

use crate::harness::Sandbox;

fn fleet(n: usize, labelled: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let labels = if i < labelled {
            "  labels: { team: fleet }\n"
        } else {
            ""
        };
        s.push_str(&format!(
            "---\napiVersion: flinkform/v1\nkind: FlinkWorkspace\nmetadata:\n  name: fleet{i}\n{labels}\
             spec:\n  account: main\n  region: ap-southeast-1\n  zone: ap-southeast-1a\n  \
             billing: {{ method: pay-as-you-go }}\n  network:\n    vpc: {{ create: {{ cidr: 10.{i}.0.0/16 }} }}\n    \
             vSwitches:\n      - {{ create: {{ cidr: 10.{i}.1.0/24 }} }}\n  storage:\n    \
             ossBucket: {{ name: fleet{i}-output-flink }}\n  projects:\n    - {{ name: etl }}\n  protect: false\n"
        ));
    }
    s
}

/// The progress lines of `stderr` that do not depend on timing (no waits, no retries),
/// with cloud ids redacted, sorted.
fn lines(stderr: &str) -> String {
    let mut out: Vec<String> = stderr
        .lines()
        .filter(|l| !l.contains(": waiting (") && !l.contains(": retry ") && !l.starts_with('▶'))
        .map(|l| match l.find(" done [") {
            Some(i) => format!("{} done [id]", &l[..i]),
            None => l.to_owned(),
        })
        .collect();
    out.sort();
    out.join("\n")
}

/// The summary with its call counts redacted.
fn summary(stdout: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.contains(" complete: "))
        .unwrap_or_default();
    match line.find(" API calls:") {
        Some(i) => format!("{} API calls: N, retries: N, throttled: N.", &line[..i]),
        None => line.to_owned(),
    }
}

#[test]
fn apply_prints_changes_and_counts_unchanged_resources() {
    let sb = Sandbox::new();
    sb.write("fleet.yaml", &fleet(3, 0));
    let first = sb
        .run(&[
            "apply",
            "--auto-approve",
            "--parallelism",
            "8",
            "fleet.yaml",
        ])
        .expect(0);
    assert!(
        !first.stderr.contains('\r') && !first.stderr.contains("actions ·"),
        "no progress line off a terminal:\n{}",
        first.stderr
    );
    insta::assert_snapshot!(
        "first_apply",
        format!("{}\n---\n{}", summary(&first.stdout), lines(&first.stderr))
    );

    // One workspace gets a label: its changes are printed, the rest only counted.
    sb.write("fleet.yaml", &fleet(3, 1));
    let second = sb.run(&["apply", "--auto-approve", "fleet.yaml"]).expect(0);
    assert!(!second.stderr.contains("no-op"), "{}", second.stderr);
    assert!(
        !second.stderr.contains("fleet2"),
        "an unchanged workspace is not printed:\n{}",
        second.stderr
    );
    insta::assert_snapshot!(
        "label_one_of_three",
        format!(
            "{}\n---\n{}",
            summary(&second.stdout),
            lines(&second.stderr)
        )
    );
}

#[test]
fn rate_limits_are_checked_on_the_command_line() {
    let sb = Sandbox::new();
    sb.write("fleet.yaml", &fleet(1, 0));
    let run = sb
        .run(&[
            "apply",
            "--auto-approve",
            "--rate-limit",
            "ecs=5",
            "fleet.yaml",
        ])
        .expect(1);
    assert!(run.stderr.contains("unknown API `ecs`"), "{}", run.stderr);
    sb.run(&[
        "apply",
        "--auto-approve",
        "--rate-limit",
        "vpc.write=50",
        "--rate-limit",
        "*=0",
        "fleet.yaml",
    ])
    .expect(0);
}
