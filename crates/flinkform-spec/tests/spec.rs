//! Integration tests of flinkform-spec: one invalid spec per rule (data files under
//! `tests/data/invalid/`, named `<code>[--<variant>].yaml`, with snapshots of the rendered
//! diagnostics), warnings, multi-document and multi-file stacks, origins, the JSON Schema
//! file, the YAML blocks of `specs/spec-language.md` and the files of `examples/`.

use std::fs;
use std::path::{Path, PathBuf};

use flinkform_spec::{
    Billing, Code, Duration, Loaded, SourceFile, SpecErrors, SpecResource, VSwitchRef, VpcRef,
    json_schema, load,
};
use miette::{GraphicalReportHandler, GraphicalTheme};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn repo_dir() -> PathBuf {
    crate_dir().join("../..")
}

fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(80)
        .render_report(&mut out, diagnostic)
        .expect("rendering into a String cannot fail");
    out
}

fn load_one(name: &str, text: &str) -> Result<Loaded, SpecErrors> {
    load(&[SourceFile::new(name, text)])
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("readable directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

const VALID: &str = "\
apiVersion: flinkform/v1
kind: FlinkWorkspace
metadata:
  name: demo
spec:
  account: main
  region: ap-southeast-1
  zone: ap-southeast-1a
  billing:
    method: pay-as-you-go
  network:
    vpc: { create: { cidr: 10.10.0.0/16 } }
    vSwitches:
      - { create: { cidr: 10.10.1.0/24 } }
  storage:
    ossBucket: { name: demo-flink }
";

/// Every rule has an invalid spec; each yields errors of exactly its code; the rendered
/// diagnostics are snapshots.
#[test]
fn every_invalid_case_fails_with_its_code() {
    let dir = crate_dir().join("tests/data/invalid");
    let files = yaml_files(&dir);
    assert!(
        files.len() >= 40,
        "expected the invalid cases, found {}",
        files.len()
    );
    let mut covered = std::collections::BTreeSet::new();
    for path in files {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let code_name = stem.split("--").next().unwrap();
        let expected = Code::from_name(&format!("spec::{code_name}"))
            .unwrap_or_else(|| panic!("{stem}: no code {code_name}"));
        let text = fs::read_to_string(&path).unwrap();
        let name = format!("invalid/{stem}.yaml");
        let err = match load_one(&name, &text) {
            Ok(_) => panic!("{name} should not validate"),
            Err(e) => e,
        };
        assert!(!err.errors.is_empty(), "{name}: no errors");
        for d in &err.errors {
            assert_eq!(
                d.rule(),
                expected,
                "{name}: unexpected {}: {}",
                d.rule(),
                d.message()
            );
            assert_eq!(d.origin().file, name);
            assert!(
                d.origin().line >= 2,
                "{name}: origin {} should be past the header comment",
                d.origin()
            );
            assert!(!d.help_text().is_empty());
        }
        covered.insert(expected);
        insta::with_settings!({ snapshot_path => "snapshots/invalid", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(stem, render(&err));
        });
    }
    let missing: Vec<_> = Code::ALL
        .iter()
        .filter(|c| !covered.contains(c))
        .filter(|c| {
            !matches!(
                c,
                Code::EmptyFile | Code::UpstreamRegion | Code::UpstreamZone | Code::UpstreamVpc
            )
        })
        .collect();
    assert!(
        missing.is_empty(),
        "error codes without an invalid case: {missing:?}"
    );
}

#[test]
fn all_errors_of_a_file_are_reported_together() {
    let text = VALID
        .replace("name: demo\n", "name: 9demo\n")
        .replace("demo-flink", "Demo_Flink")
        .replace("zone: ap-southeast-1a", "zone: ap-southeast-3a");
    let err = load_one("three.yaml", &text).unwrap_err();
    assert_eq!(
        err.codes(),
        vec![Code::WorkspaceName, Code::ZoneNotInRegion, Code::BucketName]
    );
    assert_eq!(err.to_string(), "3 errors in the specs");
    // In file order, with their lines.
    let lines: Vec<u32> = err.errors.iter().map(|d| d.origin().line).collect();
    assert_eq!(lines, vec![4, 8, 16]);
}

#[test]
fn errors_of_every_document_and_file_are_reported() {
    let first = format!(
        "{}---\n{}",
        VALID.replace("name: demo\n", "name: _demo\n"),
        VALID
            .replace("name: demo\n", "name: demo-2\n")
            .replace("{ name: demo-flink }", "{ name: demo-2-flink")
    );
    let second = VALID
        .replace("name: demo\n", "name: demo-3\n")
        .replace("demo-flink", "demo-3-flink")
        .replace("method: pay-as-you-go", "method: prepaid");
    let err = load(&[
        SourceFile::new("a.yaml", first),
        SourceFile::new("b.yaml", second),
    ])
    .unwrap_err();
    let got: Vec<(String, Code)> = err
        .errors
        .iter()
        .map(|d| (d.origin().file.clone(), d.rule()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a.yaml".to_owned(), Code::WorkspaceName),
            ("a.yaml".to_owned(), Code::YamlSyntax),
            ("b.yaml".to_owned(), Code::BillingMethod),
        ]
    );
    // The second document's syntax error is reported at its own line in the file.
    assert!(
        err.errors[1].origin().line > 17,
        "{}",
        err.errors[1].origin()
    );
    insta::assert_snapshot!("multi_file_errors", render(&err));
}

#[test]
fn multi_document_and_multi_file_stacks_keep_their_order() {
    let doc = |n: &str, net: u8| {
        VALID
            .replace("name: demo\n", &format!("name: {n}\n"))
            .replace("demo-flink", &format!("{n}-flink"))
            .replace("10.10.", &format!("10.{net}."))
    };
    let a = format!("# two documents\n{}---\n{}", doc("one", 1), doc("two", 2));
    let b = format!("---\n{}---\n# trailing empty document\n", doc("three", 3));
    let loaded = load(&[SourceFile::new("a.yaml", a), SourceFile::new("b.yaml", b)]).unwrap();
    let names: Vec<&str> = loaded.stack.workspaces().map(|w| w.name.as_str()).collect();
    assert_eq!(names, vec!["one", "two", "three"]);
    let origins: Vec<String> = loaded
        .stack
        .documents
        .iter()
        .map(|d| d.origin.to_string())
        .collect();
    assert_eq!(origins, vec!["a.yaml:2:1", "a.yaml:19:1", "b.yaml:2:1"]);
    assert!(loaded.warnings.is_empty());
}

#[test]
fn origins_point_at_the_fields() {
    let text = format!("{VALID}  quota: {{ cu: 8 }}\n  projects:\n    - {{ name: etl, cu: 2 }}\n    - {{ name: adhoc, cu: 1 }}\n")
        .replace("method: pay-as-you-go", "method: subscription\n    duration: { years: 1 }");
    let loaded = load_one("o.yaml", &text).unwrap();
    let doc = &loaded.stack.documents[0];
    assert_eq!(doc.origin.to_string(), "o.yaml:1:1");
    let SpecResource::FlinkWorkspace(ws) = &doc.resource else {
        panic!("not a workspace")
    };
    let at = |path: &str| {
        ws.origins
            .get(path)
            .unwrap_or_else(|| panic!("no origin for {path}"))
            .to_string()
    };
    assert_eq!(at("metadata.name"), "o.yaml:4:9");
    assert_eq!(at("spec.region"), "o.yaml:7:11");
    assert_eq!(at("spec.zone"), "o.yaml:8:9");
    assert_eq!(at("spec.billing.method"), "o.yaml:10:13");
    assert_eq!(at("spec.network.vpc"), "o.yaml:13:10");
    assert_eq!(at("spec.network.vSwitches[0]"), "o.yaml:15:9");
    assert_eq!(at("spec.storage.ossBucket.name"), "o.yaml:17:24");
    assert_eq!(at("spec.quota.cu"), "o.yaml:18:16");
    assert_eq!(at("spec.projects[1].cu"), "o.yaml:21:26");
    assert_eq!(at("spec.projects[1]"), "o.yaml:21:7");
    // The helper falls back to the closest recorded field, then to the name.
    let origin = |path: &str| ws.origin(path).map(ToString::to_string);
    assert_eq!(
        origin("spec.projects[1].cu").as_deref(),
        Some("o.yaml:21:26")
    );
    assert_eq!(
        origin("spec.network.vSwitches[0].zone").as_deref(),
        Some("o.yaml:15:9")
    );
    assert_eq!(
        origin("spec.billing.autoRenew").as_deref(),
        Some("o.yaml:10:5")
    );
    assert_eq!(origin("spec.protect").as_deref(), Some("o.yaml:4:9"));
}

#[test]
fn a_resource_group_id_is_kept_with_its_origin() {
    let text = VALID.replace(
        "zone: ap-southeast-1a\n",
        "zone: ap-southeast-1a\n  resourceGroup: rg-acfmxazb4ph6aiy\n",
    );
    let loaded = load_one("g.yaml", &text).unwrap();
    let ws = loaded.stack.workspaces().next().unwrap();
    assert_eq!(ws.resource_group.as_deref(), Some("rg-acfmxazb4ph6aiy"));
    assert_eq!(
        ws.origins
            .get("spec.resourceGroup")
            .map(ToString::to_string),
        Some("g.yaml:9:18".to_owned())
    );
    for bad in ["rg-", "acfm1", "rg-Acfm1", "rg-ac_fm", "rg-ac-fm"] {
        let text = VALID.replace(
            "zone: ap-southeast-1a\n",
            &format!("zone: ap-southeast-1a\n  resourceGroup: {bad}\n"),
        );
        let err = load_one("g.yaml", &text).unwrap_err();
        assert_eq!(err.codes(), vec![Code::ResourceGroup], "{bad}");
        assert_eq!(err.errors[0].origin().to_string(), "g.yaml:9:18", "{bad}");
    }
}

#[test]
fn the_model_holds_the_spec() {
    let text = fs::read_to_string(repo_dir().join("examples/subscription.yaml")).unwrap();
    let loaded = load_one("subscription.yaml", &text).unwrap();
    let ws = loaded.stack.workspaces().next().unwrap();
    assert_eq!(ws.name, "analytics-sub");
    assert_eq!(ws.account.as_str(), "main");
    assert_eq!(ws.region.as_str(), "ap-southeast-1");
    assert_eq!(ws.zone.as_str(), "ap-southeast-1b");
    assert_eq!(
        ws.billing,
        Billing::Subscription {
            duration: Duration::Months(1),
            auto_renew: true,
            quota_cu: 16
        }
    );
    assert_eq!(
        ws.network.vpc,
        VpcRef::Create {
            cidr: "10.20.0.0/16".into()
        }
    );
    assert_eq!(
        ws.network.vswitches,
        vec![
            VSwitchRef::Create {
                cidr: "10.20.1.0/24".into()
            },
            VSwitchRef::Create {
                cidr: "10.20.2.0/24".into()
            }
        ]
    );
    assert_eq!(ws.storage.bucket, "analytics-sub-flink-demo");
    let projects: Vec<(&str, Option<u32>)> = ws
        .projects
        .iter()
        .map(|p| (p.name.as_str(), p.cu))
        .collect();
    assert_eq!(projects, vec![("etl", Some(4)), ("adhoc", Some(2))]);
    assert!(!ws.protect);
    assert_eq!(ws.labels.get("team").map(String::as_str), Some("data"));

    // Defaults: protect true, autoRenew false, no projects, no labels.
    let loaded = load_one("d.yaml", VALID).unwrap();
    let ws = loaded.stack.workspaces().next().unwrap();
    assert!(ws.protect);
    assert_eq!(ws.billing, Billing::PayAsYouGo);
    assert!(ws.projects.is_empty() && ws.labels.is_empty() && ws.upstream.is_empty());
    assert_eq!(ws.resource_group, None);
    let sub = VALID.replace(
        "method: pay-as-you-go",
        "method: subscription\n    duration: { months: 3 }",
    ) + "  quota: { cu: 2 }\n  projects:\n    - { name: etl, cu: 1 }\n";
    let ws = load_one("s.yaml", &sub)
        .unwrap()
        .stack
        .documents
        .remove(0)
        .resource;
    let SpecResource::FlinkWorkspace(ws) = ws else {
        panic!("not a workspace")
    };
    assert_eq!(
        ws.billing,
        Billing::Subscription {
            duration: Duration::Months(3),
            auto_renew: false,
            quota_cu: 2
        }
    );
}

#[test]
fn upstream_differences_are_warnings() {
    let text = fs::read_to_string(crate_dir().join("tests/data/warnings/upstream.yaml")).unwrap();
    let loaded = load_one("warnings/upstream.yaml", &text).unwrap();
    let codes: Vec<Code> = loaded.warnings.iter().map(|w| w.rule()).collect();
    assert_eq!(
        codes,
        vec![Code::UpstreamRegion, Code::UpstreamZone, Code::UpstreamVpc]
    );
    assert!(loaded.warnings.iter().all(|w| w.is_warning()));
    let ws = loaded.stack.workspaces().next().unwrap();
    assert_eq!(ws.upstream.len(), 3);
    let rendered: String = loaded.warnings.iter().map(|w| render(w)).collect();
    insta::assert_snapshot!("upstream_warnings", rendered);

    // A created VPC is never the upstream's VPC.
    let text = format!("{VALID}  upstream:\n    - {{ name: kafka, vpc: vpc-123 }}\n");
    let loaded = load_one("w.yaml", &text).unwrap();
    assert_eq!(
        loaded.warnings.iter().map(|w| w.rule()).collect::<Vec<_>>(),
        vec![Code::UpstreamVpc]
    );
}

#[test]
fn warnings_travel_with_errors() {
    let text = format!("{VALID}  upstream:\n    - {{ name: kafka, zone: ap-southeast-1c }}\n")
        .replace("demo-flink", "x");
    let err = load_one("w.yaml", &text).unwrap_err();
    assert_eq!(err.codes(), vec![Code::BucketName]);
    assert_eq!(
        err.warnings.iter().map(|w| w.rule()).collect::<Vec<_>>(),
        vec![Code::UpstreamZone]
    );
}

#[test]
fn empty_files_warn_and_no_files_are_an_empty_stack() {
    let loaded = load(&[
        SourceFile::new("empty.yaml", "# nothing here\n"),
        SourceFile::new("v.yaml", VALID),
    ])
    .unwrap();
    assert_eq!(loaded.stack.documents.len(), 1);
    assert_eq!(
        loaded.warnings.iter().map(|w| w.rule()).collect::<Vec<_>>(),
        vec![Code::EmptyFile]
    );
    assert!(load(&[]).unwrap().stack.documents.is_empty());
}

#[test]
fn a_document_that_is_not_a_mapping_is_an_error() {
    let err = load_one("list.yaml", "- a\n- b\n").unwrap_err();
    assert_eq!(err.codes(), vec![Code::InvalidType]);
    insta::assert_snapshot!("not_a_mapping", render(&err));
}

#[test]
fn codes_are_stable_strings() {
    for code in Code::ALL {
        assert!(code.as_str().starts_with("spec::"));
        assert_eq!(Code::from_name(code.as_str()), Some(*code));
    }
    assert_eq!(Code::VSwitchCount.to_string(), "spec::vswitch_count");
}

/// `specs/flinkform.schema.json` is `json_schema()`, pretty-printed with a trailing newline.
#[test]
fn schema_file_is_up_to_date() {
    let path = repo_dir().join("specs/flinkform.schema.json");
    let want = format!(
        "{}\n",
        serde_json::to_string_pretty(&json_schema()).unwrap()
    );
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        fs::write(&path, &want).unwrap();
        return;
    }
    let have = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "specs/flinkform.schema.json is out of date; regenerate it with \
         `UPDATE_SCHEMA=1 cargo test -p flinkform-spec --test spec schema_file_is_up_to_date`"
    );
}

#[test]
fn schema_lists_the_choices() {
    let schema = json_schema();
    let text = schema.to_string();
    for needle in [
        "flinkform/v1",
        "FlinkWorkspace",
        "pay-as-you-go",
        "subscription",
        "oneOf",
        "vSwitches",
        "ossBucket",
        "MarketplaceSubscription",
        "billingCenter",
        "SecretRef",
    ] {
        assert!(text.contains(needle), "schema lacks {needle}");
    }
    assert_eq!(schema["anyOf"].as_array().unwrap().len(), 2);
    for def in ["FlinkWorkspaceDocument", "MarketplaceSubscriptionDocument"] {
        let d = &schema["$defs"][def];
        assert_eq!(d["additionalProperties"], serde_json::json!(false), "{def}");
        assert_eq!(d["required"].as_array().unwrap().len(), 4, "{def}");
    }
}

/// Every ```yaml block of the spec language document is a valid document, except the
/// ones marked ```yaml invalid <codes>, which fail with exactly those codes.
#[test]
fn spec_language_examples_validate() {
    let doc = fs::read_to_string(repo_dir().join("specs/spec-language.md")).unwrap();
    // (expected codes when marked invalid, first line, text)
    let mut blocks: Vec<(Option<Vec<String>>, usize, String)> = Vec::new();
    let mut current: Option<(Option<Vec<String>>, usize, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        match &mut current {
            None => {
                if let Some(info) = line.trim_start().strip_prefix("```yaml") {
                    let mut words = info.split_whitespace();
                    let invalid = (words.next() == Some("invalid"))
                        .then(|| words.map(str::to_owned).collect());
                    current = Some((invalid, i + 2, String::new()));
                }
            }
            Some((invalid, start, text)) => {
                if line.trim_start().starts_with("```") {
                    blocks.push((invalid.take(), *start, std::mem::take(text)));
                    current = None;
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    assert!(
        blocks.len() >= 5,
        "expected yaml blocks in spec-language.md"
    );
    assert!(
        blocks.iter().any(|b| b.0.is_some()),
        "expected at least one ```yaml invalid block"
    );
    for (invalid, line, text) in blocks {
        let name = format!("spec-language.md:{line}");
        match (invalid, load_one(&name, &text)) {
            (None, Err(e)) => panic!("block at {name} should validate:\n{}", render(&e)),
            (Some(_), Ok(_)) => panic!("block at {name} is marked invalid but validates"),
            (Some(want), Err(e)) => {
                let mut got: Vec<String> =
                    e.codes().iter().map(|c| c.as_str().to_owned()).collect();
                got.dedup();
                assert_eq!(got, want, "block at {name}");
            }
            (None, Ok(_)) => {}
        }
    }
}

#[test]
fn examples_validate() {
    let files = yaml_files(&repo_dir().join("examples"));
    assert!(files.len() >= 4);
    let mut buckets = std::collections::BTreeSet::new();
    for path in files {
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# "),
            "{} should start with a comment saying what it shows",
            path.display()
        );
        let loaded = match load_one(&path.display().to_string(), &text) {
            Ok(l) => l,
            Err(e) => panic!("{} should validate:\n{}", path.display(), render(&e)),
        };
        assert!(
            loaded.warnings.is_empty(),
            "{}: {:?}",
            path.display(),
            loaded.warnings
        );
        for ws in loaded.stack.workspaces() {
            assert!(
                buckets.insert(ws.storage.bucket.clone()),
                "bucket {} used twice in examples",
                ws.storage.bucket
            );
        }
    }
}

#[test]
fn windows_line_endings_and_unicode_keep_positions() {
    let text =
        format!("# é — comment\r\n{}", VALID.replace('\n', "\r\n")).replace("demo-flink", "démo");
    let err = load_one("crlf.yaml", &text).unwrap_err();
    assert_eq!(err.codes(), vec![Code::BucketName]);
    assert_eq!(err.errors[0].origin().to_string(), "crlf.yaml:17:24");
    let rendered = render(&err);
    assert!(rendered.contains("ossBucket: { name: démo }"), "{rendered}");
    assert!(rendered.contains("`é` is not allowed"), "{rendered}");
}

/// The marketplace example becomes a `MarketplaceSubscription` whose password stays a
/// reference; a literal password is refused without being repeated.
#[test]
fn subscriptions_keep_secret_references_and_refuse_literals() {
    let text = fs::read_to_string(repo_dir().join("examples/marketplace.yaml")).unwrap();
    let loaded = load_one("examples/marketplace.yaml", &text).unwrap();
    let subs: Vec<_> = loaded.stack.subscriptions().collect();
    assert_eq!(subs.len(), 1);
    assert_eq!(loaded.stack.workspaces().count(), 0);
    let s = subs[0];
    assert_eq!(s.name, "observability");
    assert_eq!(s.product.billing, flinkform_spec::MarketBilling::PayAsYouGo);
    assert_eq!(s.billing_center.site, flinkform_spec::BillingSite::Intl);
    assert_eq!(
        s.billing_center.account.password,
        Some(flinkform_spec::SecretRef::Env("BC_PASSWORD".into()))
    );
    assert_eq!(
        format!("{:?}", s.billing_center.account.password),
        "Some(SecretRef(env:BC_PASSWORD))"
    );
    assert_eq!(s.origin("spec.workspace.name").unwrap().line, 27);

    let leaky = text.replace("{ env: BC_PASSWORD }", "\"Tr0ub4dor&3-canary\"");
    let err = load_one("leaky.yaml", &leaky).unwrap_err();
    let rendered = render(&err);
    assert_eq!(err.codes(), vec![Code::SecretLiteral]);
    assert!(!rendered.contains("Tr0ub4dor"), "{rendered}");
}
