//! Hostile and unparseable input: the loader returns an error (or, for harmless oddities such
//! as CRLF line ends and a byte-order mark, the same stack as plain input), never panics,
//! never hangs and never blows up memory. Also the regression corpus of the fuzzer: every
//! file under `tests/data/fuzz/` (inputs the fuzz targets once found, and hand-written
//! hostile inputs) must load, and render its diagnostics, without a panic.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use flinkform_spec::{FlinkWorkspace, Loaded, SourceFile, SpecErrors, SpecResource, load};
use miette::{GraphicalReportHandler, GraphicalTheme};

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

/// Loads `text` as one file, renders every diagnostic as the CLI does, and checks that it
/// took less than `limit`.
#[track_caller]
fn load_within(name: &str, text: &str, limit: Duration) -> Result<Loaded, SpecErrors> {
    let start = Instant::now();
    let result = load(&[SourceFile::new(name, text)]);
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
    let mut out = String::new();
    match &result {
        Ok(loaded) => {
            for w in &loaded.warnings {
                handler.render_report(&mut out, w).expect("render");
            }
        }
        Err(e) => handler.render_report(&mut out, e).expect("render"),
    }
    let took = start.elapsed();
    assert!(took < limit, "{name}: took {took:?} (limit {limit:?})");
    result
}

#[track_caller]
fn assert_error(name: &str, text: &str) -> String {
    match load_within(name, text, Duration::from_secs(10)) {
        Ok(l) => panic!("{name}: loaded {} document(s)", l.stack.documents.len()),
        Err(e) => e.to_string() + &format!("{e:?}"),
    }
}

#[test]
fn billion_laughs_is_refused_quickly() {
    // Ten levels of ten aliases each: 10^10 strings once expanded.
    let mut text = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        writeln!(
            text,
            "a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]"
        )
        .expect("write");
    }
    text.push_str("apiVersion: flinkform/v1\nkind: FlinkWorkspace\nmetadata: { name: *a9 }\n");
    assert_error("laughs.yaml", &text);

    // The same bomb inside a field the spec does have.
    let mut text = VALID.replace(
        "metadata:\n  name: demo\n",
        "metadata:\n  name: demo\n  labels: *l9\n",
    );
    let mut defs = String::from("x0: &l0 {a: lol, b: lol, c: lol, d: lol, e: lol, f: lol}\n");
    for i in 1..10 {
        let p = i - 1;
        writeln!(
            defs,
            "x{i}: &l{i} {{a: *l{p}, b: *l{p}, c: *l{p}, d: *l{p}, e: *l{p}, f: *l{p}}}"
        )
        .expect("write");
    }
    text.insert_str(0, &defs);
    assert_error("laughs-labels.yaml", &text);
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    for depth in [200, 5_000, 100_000] {
        assert_error("flow-seq.yaml", &"[".repeat(depth));
        assert_error(
            "flow-seq-closed.yaml",
            &("[".repeat(depth) + &"]".repeat(depth)),
        );
        assert_error("flow-map.yaml", &"{a: ".repeat(depth));
        let labels = format!("{}1{}", "{a: ".repeat(depth), "}".repeat(depth));
        assert_error(
            "deep-labels.yaml",
            &VALID.replace(
                "  name: demo\n",
                &format!("  name: demo\n  labels: {labels}\n"),
            ),
        );
    }
    for depth in [200, 2_000] {
        let mut block = String::new();
        for i in 0..depth {
            block.push_str(&" ".repeat(i));
            block.push_str("- \n");
        }
        assert_error("block-seq.yaml", &block);
        let mut map = String::new();
        for i in 0..depth {
            map.push_str(&" ".repeat(i));
            map.push_str("k:\n");
        }
        assert_error("block-map.yaml", &map);
    }
}

#[test]
fn huge_and_odd_numbers_are_errors() {
    for quota in [
        "99999999999999999999999999999",
        "-1",
        "-9223372036854775809",
        "18446744073709551616",
        "1e400",
        ".inf",
        "-.inf",
        ".nan",
        "0x7fffffffffffffffff",
        "0o777777777777777777777777",
        "4294967296",
        "1.5",
    ] {
        let text = VALID
            .replace("pay-as-you-go", "subscription\n    duration: { months: 1 }")
            .replace(
                "  storage:",
                &format!("  quota: {{ cu: {quota} }}\n  storage:"),
            );
        let msg = assert_error("quota.yaml", &text);
        assert!(msg.contains("quota.yaml"), "{msg}");
        let text = VALID
            .replace(
                "pay-as-you-go",
                &format!("subscription\n    duration: {{ months: {quota} }}"),
            )
            .replace("  storage:", "  quota: { cu: 16 }\n  storage:");
        assert_error("months.yaml", &text);
    }
}

#[test]
fn nul_bytes_and_control_characters_are_errors() {
    for (name, text) in [
        ("nul-name", VALID.replace("name: demo\n", "name: de\0mo\n")),
        ("nul-key", VALID.replace("account:", "acc\0ount:")),
        ("nul-only", "\0".to_owned()),
        ("nul-lead", format!("\0{VALID}")),
        ("bell", VALID.replace("name: demo\n", "name: \"de\\amo\"\n")),
        (
            "escaped-nul",
            VALID.replace("name: demo\n", "name: \"de\\0mo\"\n"),
        ),
        (
            "replacement",
            VALID.replace("name: demo\n", "name: de\u{FFFD}mo\n"),
        ),
    ] {
        assert_error(name, &text);
    }
}

#[test]
fn invalid_utf8_read_lossily_is_an_error() {
    let mut bytes = VALID.as_bytes().to_vec();
    let at = VALID.find("demo").expect("name");
    bytes[at + 1] = 0xFF;
    bytes.extend_from_slice(&[0xC3, 0x28, 0xE2, 0x82]);
    let text = String::from_utf8_lossy(&bytes);
    assert_error("utf8.yaml", &text);
}

/// A workspace without the positions of its values (which a BOM or a leading marker shift).
fn without_origins(r: &SpecResource) -> FlinkWorkspace {
    match r {
        SpecResource::FlinkWorkspace(w) => FlinkWorkspace {
            origins: BTreeMap::new(),
            ..w.clone()
        },
        other => panic!("not a workspace: {other:?}"),
    }
}

#[test]
fn crlf_and_byte_order_mark_load_like_plain_text() {
    let plain = load_within("plain.yaml", VALID, Duration::from_secs(10)).expect("valid");
    for (name, text) in [
        ("crlf.yaml", VALID.replace('\n', "\r\n")),
        ("bom.yaml", format!("\u{FEFF}{VALID}")),
        (
            "bom-crlf.yaml",
            format!("\u{FEFF}{}", VALID.replace('\n', "\r\n")),
        ),
        (
            "two-docs-crlf.yaml",
            format!("---\r\n{}", VALID.replace('\n', "\r\n")),
        ),
    ] {
        let got = load_within(name, &text, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(got.stack.documents.len(), 1, "{name}");
        assert_eq!(
            without_origins(&got.stack.documents[0].resource),
            without_origins(&plain.stack.documents[0].resource),
            "{name}"
        );
    }
    // A lone CR is not a line end in a plain scalar: whatever it means, no panic.
    let _ = load_within(
        "cr.yaml",
        &VALID.replace('\n', "\r"),
        Duration::from_secs(10),
    );
}

#[test]
fn tags_merge_keys_and_complex_keys_are_errors_or_harmless() {
    for (name, text) in [
        (
            "binary",
            VALID.replace("name: demo\n", "name: !!binary ZGVtbw==\n"),
        ),
        (
            "custom-tag",
            VALID.replace("name: demo\n", "name: !evil demo\n"),
        ),
        (
            "tag-directive",
            format!("%TAG ! tag:evil.example,2000:\n---\n{VALID}"),
        ),
        ("yaml-1.1", format!("%YAML 1.1\n---\n{VALID}")),
        ("yaml-9.9", format!("%YAML 9.9\n---\n{VALID}")),
        (
            "complex-key",
            VALID.replace("account: main", "? [account]\n  : main"),
        ),
        (
            "merge",
            format!("base: &b {{ account: main }}\n{VALID}")
                .replace("spec:\n", "spec:\n  <<: *b\n"),
        ),
        (
            "undefined-alias",
            VALID.replace("name: demo\n", "name: *nothing\n"),
        ),
        ("self-alias", "a: &a [*a]\n".to_owned()),
        ("doc-end", format!("{VALID}...\n...\n---\n...\n")),
    ] {
        // Either outcome is fine; a panic, a hang or a rendering failure is not.
        let _ = load_within(name, &text, Duration::from_secs(10));
    }
    // Tags, standard or not, are refused where they are.
    for (name, tagged, tag) in [
        ("binary", "name: !!binary ZGVtbw==\n", "!!binary"),
        ("str", "name: !!str demo\n", "!!str"),
        ("custom", "name: !evil demo\n", "!evil"),
        (
            "verbatim",
            "name: !<tag:x.example,2000:y> demo\n",
            "!<tag:x.example,2000:y>",
        ),
        ("non-specific", "name: ! demo\n", "!"),
    ] {
        let text = VALID.replace("name: demo\n", tagged);
        let err = load(&[SourceFile::new(name, text)]).expect_err(name);
        assert_eq!(err.codes(), [flinkform_spec::Code::YamlTag], "{name}");
        assert_eq!(
            err.errors[0].message(),
            format!("YAML tags are not supported: remove `{tag}`"),
            "{name}"
        );
        assert_eq!(err.errors[0].origin().line, 4, "{name}");
    }
}

#[test]
fn very_long_and_very_many_inputs_stay_bounded() {
    let long = "a".repeat(1 << 20);
    assert_error(
        "long-name.yaml",
        &VALID.replace("name: demo\n", &format!("name: {long}\n")),
    );
    assert_error("long-key.yaml", &format!("{long}: 1\n"));
    let many: String = (0..2_000).map(|_| "---\n").collect();
    let _ = load_within("many-empty.yaml", &many, Duration::from_secs(20));
    let keys: String = (0..50_000).fold(String::new(), |mut s, i| {
        let _ = writeln!(s, "k{i}: {i}");
        s
    });
    assert_error("many-keys.yaml", &keys);
}

/// Files under `tests/data/fuzz/`, sorted.
fn fuzz_corpus() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.map(|e| e.expect("entry").path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn fuzz_regressions_load_without_panicking() {
    let corpus = fuzz_corpus();
    assert!(
        !corpus.is_empty(),
        "tests/data/fuzz holds the regression corpus"
    );
    for path in corpus {
        let bytes = std::fs::read(&path).expect("read");
        // As the fuzz target does: one file per part between 0xFF bytes, decoded lossily.
        let files: Vec<SourceFile> = bytes
            .split(|b| *b == 0xFF)
            .take(4)
            .enumerate()
            .map(|(i, part)| {
                SourceFile::new(
                    format!("f{i}.yaml"),
                    String::from_utf8_lossy(part).into_owned(),
                )
            })
            .collect();
        let start = Instant::now();
        let result = load(&files);
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
        let mut out = String::new();
        if let Err(e) = &result {
            handler.render_report(&mut out, e).expect("render");
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} is slow",
            path.display()
        );
    }
}

/// Every diagnostic of `text` rendered as the CLI renders it (or an empty string if valid).
fn rendered(name: &str, text: &str) -> String {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
    let mut out = String::new();
    if let Err(e) = load(&[SourceFile::new(name, text)]) {
        handler.render_report(&mut out, &e).expect("render");
    }
    out
}

#[test]
fn a_ten_megabyte_value_gives_a_small_diagnostic_that_does_not_grow_with_it() {
    // Each case puts a value of `n` characters somewhere a rule refuses it.
    type Spec = fn(&str) -> String;
    let cases: [(&str, Spec); 5] = [
        ("name", |v| {
            VALID.replace("name: demo\n", &format!("name: {v}\n"))
        }),
        ("label", |v| {
            VALID.replace(
                "name: demo\n",
                &format!("name: demo\n  labels: {{ team: {v} }}\n"),
            )
        }),
        ("key", |v| {
            VALID.replace("account: main", &format!("{v}: main"))
        }),
        // The refused value at the far end of a long line.
        ("far", |v| {
            format!("{VALID}  upstream: [{{ name: {v}, region: Nowhere }}]\n")
        }),
        ("quoted", |v| {
            VALID.replace("account: main", &format!("account: \"main {v}\""))
        }),
    ];
    for (case, spec) in cases {
        let small = rendered("long.yaml", &spec(&"a".repeat(1 << 20)));
        let big = rendered("long.yaml", &spec(&"a".repeat(10 << 20)));
        assert!(big.contains("long.yaml:"), "{case}: {big}");
        assert!(
            big.contains('…'),
            "{case}: the long value is clipped: {big}"
        );
        assert!(big.len() < 10_000, "{case}: {} bytes\n{big}", big.len());
        // Numbers aside (a label may name the value's length), the output is the same.
        let digitless = |s: &str| s.replace(|c: char| c.is_ascii_digit(), "");
        assert_eq!(
            digitless(&big),
            digitless(&small),
            "{case}: ten times the value, the same output"
        );
    }
}

#[test]
fn a_clipped_line_keeps_the_line_and_column_of_the_value() {
    let long = "a".repeat(5_000);
    let text = format!("{VALID}  upstream: [{{ name: {long}, region: Nowhere }}]\n");
    let out = rendered("far.yaml", &text);
    let column = "  upstream: [{ name: ".len() + long.len() + ", region: ".len() + 1;
    assert!(out.contains(&format!("[far.yaml:17:{column}]")), "{out}");
    assert!(out.contains("Nowhere"), "the refused value is shown: {out}");
}
