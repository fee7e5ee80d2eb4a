//! The emulator shares only the signature primitives with the client (ARCHITECTURE.md): its
//! non-dev dependency closure holds `flinkform-sign` but neither the client crate nor its
//! HTTP stack. Its tests may still drive the real client (dev-dependencies).
//!
//! Asked of `cargo tree` (offline, against the committed Cargo.lock), which resolves the
//! graph for the host platform; `cargo metadata` would need every platform's sources to be
//! downloaded to answer offline.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Names of the packages in `package`'s dependency closure over normal and build edges.
fn non_dev_closure(package: &str) -> BTreeSet<String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO"))
        .current_dir(&workspace)
        .args([
            "tree",
            "--offline",
            "--locked",
            "--package",
            package,
            "--edges",
            "no-dev",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn emulator_depends_on_the_signer_not_on_the_client() {
    let closure = non_dev_closure("flinkform-cloudsim");
    assert!(closure.contains("flinkform-sign"), "{closure:?}");
    for forbidden in ["flinkform-alicloud", "reqwest"] {
        assert!(
            !closure.contains(forbidden),
            "flinkform-cloudsim depends on {forbidden} outside its dev-dependencies: {closure:?}"
        );
    }
}

/// The same reading sees reqwest where it is, so the test above cannot pass vacuously.
#[test]
fn the_client_closure_does_contain_reqwest() {
    let closure = non_dev_closure("flinkform-alicloud");
    assert!(closure.contains("reqwest"), "{closure:?}");
    assert!(closure.contains("flinkform-sign"), "{closure:?}");
}
