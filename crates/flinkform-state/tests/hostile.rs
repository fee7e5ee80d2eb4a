//! Hostile and corrupt state files: `format::decode` returns an error naming the file, never
//! panics, never hangs; a state it accepts encodes and decodes back to itself. Also the
//! regression corpus of the fuzzer: every file under `tests/data/fuzz/` must decode (or be
//! refused) without a panic, and round-trip when accepted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flinkform_state::Error;
use flinkform_state::format::{decode, encode};

const GOOD: &str = r#"{
  "format_version": 1,
  "lineage": "bbe13754-9b5c-40f5-bd85-ede221fac603",
  "serial": 3,
  "target": { "cloud": "sim", "world": "w-1", "accounts": { "main": "5704627134197646" } },
  "resources": [
    {
      "address": "vpc.demo",
      "mode": "managed",
      "account": "main",
      "region": "ap-southeast-1",
      "cloud_id": "vpc-123",
      "attrs": { "cidr": "10.10.0.0/16", "n": 5, "ok": true, "tags": ["a", "b"] },
      "depends_on": [],
      "protect": false
    }
  ],
  "journal": [
    {
      "id": 1,
      "address": "vpc.demo",
      "op": "create",
      "client_token": "ff-1",
      "identity": { "name": "demo" },
      "started_at": "2026-11-22T05:00:00Z"
    }
  ]
}
"#;

#[track_caller]
#[allow(clippy::result_large_err)]
fn decode_within(name: &str, text: &str) -> Result<flinkform_state::State, Error> {
    let start = Instant::now();
    let result = decode(text, Path::new(name));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{name}: decoding took {:?}",
        start.elapsed()
    );
    if let Ok(state) = &result {
        let again = encode(state).expect("encode");
        assert_eq!(
            &decode(&again, Path::new(name)).expect("decode"),
            state,
            "{name}"
        );
    }
    result
}

#[track_caller]
fn assert_refused(name: &str, text: &str) {
    match decode_within(name, text) {
        Ok(_) => panic!("{name}: accepted"),
        Err(e) => assert!(e.to_string().contains(name), "{name}: {e}"),
    }
}

#[test]
fn the_good_file_decodes() {
    let state = decode_within("good.json", GOOD).expect("good");
    assert_eq!(state.resources.len(), 1);
    assert_eq!(state.journal.len(), 1);
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    for depth in [129, 10_000, 200_000] {
        let deep = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        assert_refused(
            "deep.json",
            &GOOD.replace("\"n\": 5", &format!("\"n\": {deep}")),
        );
        assert_refused("open.json", &"[".repeat(depth));
        assert_refused("maps.json", &"{\"a\":".repeat(depth));
    }
}

#[test]
fn huge_and_odd_numbers_are_refused() {
    for n in [
        "1e400",
        "-1",
        "18446744073709551616",
        "99999999999999999999999999",
        "1.5",
        "NaN",
        "Infinity",
        "0x10",
    ] {
        assert_refused(
            "serial.json",
            &GOOD.replace("\"serial\": 3", &format!("\"serial\": {n}")),
        );
        assert_refused(
            "version.json",
            &GOOD.replace("\"format_version\": 1", &format!("\"format_version\": {n}")),
        );
        assert_refused(
            "id.json",
            &GOOD.replace("\"id\": 1", &format!("\"id\": {n}")),
        );
    }
    // Attribute values are integers of 64 bits, booleans, strings and lists.
    for n in ["1e400", "18446744073709551616", "1.5", "-0.0"] {
        assert_refused(
            "attr.json",
            &GOOD.replace("\"n\": 5", &format!("\"n\": {n}")),
        );
    }
}

#[test]
fn bytes_that_are_not_json_are_refused() {
    for (name, text) in [
        ("empty.json", String::new()),
        ("nul.json", "\0".to_owned()),
        ("nul-inside.json", GOOD.replace("vpc-123", "vpc-\u{0}-123")),
        ("bom.json", format!("\u{FEFF}{GOOD}")),
        ("truncated.json", GOOD[..GOOD.len() / 2].to_owned()),
        ("replacement.json", GOOD.replace('{', "\u{FFFD}")),
        ("trailing.json", format!("{GOOD}{{}}")),
        ("yaml.json", "format_version: 1\n".to_owned()),
        ("string.json", "\"format_version\"".to_owned()),
        ("null.json", "null".to_owned()),
        ("array.json", "[1]".to_owned()),
    ] {
        assert_refused(name, &text);
    }
}

#[test]
fn structural_lies_are_refused() {
    for (name, text) in [
        ("dup-key.json", GOOD.replace("\"serial\": 3,", "\"serial\": 3, \"serial\": 4,")),
        ("unknown.json", GOOD.replace("\"serial\": 3,", "\"serial\": 3, \"extra\": 1,")),
        ("bad-address.json", GOOD.replace("\"address\": \"vpc.demo\"", "\"address\": \"nope\"")),
        ("bad-lineage.json", GOOD.replace("bbe13754-9b5c", "not-a-uuid")),
        ("bad-op.json", GOOD.replace("\"op\": \"create\"", "\"op\": \"explode\"")),
        ("bad-cloud.json", GOOD.replace("\"cloud\": \"sim\"", "\"cloud\": \"aws\"")),
        ("bad-mode.json", GOOD.replace("\"managed\"", "\"hostile\"")),
        (
            "dup-resource.json",
            GOOD.replace(
                "  \"resources\": [\n",
                "  \"resources\": [\n    { \"address\": \"vpc.demo\", \"mode\": \"managed\", \"account\": \"main\", \"cloud_id\": \"vpc-1\", \"attrs\": {} },\n",
            ),
        ),
        (
            "dup-intent.json",
            GOOD.replace(
                "  \"journal\": [\n",
                "  \"journal\": [\n    { \"id\": 1, \"address\": \"vpc.demo\", \"op\": \"delete\", \"client_token\": \"\", \"identity\": {}, \"started_at\": \"x\" },\n",
            ),
        ),
    ] {
        assert_refused(name, &text);
    }
    match decode_within(
        "new.json",
        &GOOD.replace("\"format_version\": 1", "\"format_version\": 7"),
    ) {
        Err(Error::TooNew { version: 7, .. }) => {}
        other => panic!("a newer format is TooNew: {other:?}"),
    }
}

#[test]
fn many_intents_decode_in_bounded_time() {
    let intents: Vec<String> = (0..200_000)
        .map(|i| {
            format!(
                r#"{{"id": {i}, "address": "vpc.demo", "op": "create", "client_token": "t", "identity": {{}}, "started_at": "x"}}"#
            )
        })
        .collect();
    let text = GOOD.replace(
        "  \"journal\": [\n",
        &format!("  \"journal\": [\n{},\n", intents.join(",\n")),
    );
    // Intent 1 appears twice (once above, once in GOOD): refused, and quickly.
    assert_refused("many.json", &text);
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
fn fuzz_regressions_decode_without_panicking() {
    let corpus = fuzz_corpus();
    assert!(
        !corpus.is_empty(),
        "tests/data/fuzz holds the regression corpus"
    );
    for path in corpus {
        let bytes = std::fs::read(&path).expect("read");
        let _ = decode_within("fuzz.json", &String::from_utf8_lossy(&bytes));
    }
}

/// Journal bytes of any shape are split into valid lines and a torn tail, or refused as
/// corrupt: never a panic. A line survives only with its checksum.
#[test]
fn hostile_journals_never_panic() {
    use flinkform_state::journal::{EntryV1, decode_line, encode_line, parse};
    let entry = EntryV1 {
        serial: 1,
        lineage: "bbe13754-9b5c-40f5-bd85-ede221fac603".parse().unwrap(),
        time: "2026-01-01T00:00:00Z".to_owned(),
        operation: "apply".to_owned(),
        who: "ops@host".to_owned(),
        changes: Vec::new(),
    };
    let line = encode_line(&entry).unwrap();
    assert_eq!(decode_line(line.trim_end().as_bytes()), Some(entry.clone()));
    let path = Path::new("state.json.journal");
    let mut cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\n".to_vec(),
        b"\n\n\n".to_vec(),
        b"{}\n".to_vec(),
        b"\xff\xfe\n".to_vec(),
        b"{\"sha256\":\"0000000000000000\",\"entry\":{}}\n".to_vec(),
        line.replace("apply", "APPLY").into_bytes(),
        vec![0u8; 4096],
    ];
    for cut in 0..line.len() {
        cases.push(line.as_bytes()[..cut].to_vec());
        let mut two = line.as_bytes().to_vec();
        two.extend_from_slice(&line.as_bytes()[..cut]);
        cases.push(two);
    }
    for (i, bytes) in cases.iter().enumerate() {
        match parse(bytes, path) {
            Ok(read) => {
                assert_eq!(read.valid_len + read.torn, bytes.len() as u64, "case {i}");
                for e in &read.entries {
                    assert_eq!(e, &entry, "case {i}: only intact lines are read");
                }
            }
            Err(e) => assert!(matches!(e, Error::Corrupt { .. }), "case {i}: {e}"),
        }
    }
    // The tampered line fails its checksum.
    assert!(decode_line(line.replace("apply", "APPLY").trim_end().as_bytes()).is_none());
}
