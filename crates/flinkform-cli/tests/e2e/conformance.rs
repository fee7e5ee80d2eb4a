//! The emulator's conformance to the official Alibaba Cloud Python SDKs: runs the pytest suite
//! in `tests/python/conformance` (which starts this binary's `sim serve` itself and drives every
//! implemented action through the SDKs). Without the SDKs or pytest the test is skipped loudly,
//! unless `CI` is set: there a missing SDK is a failure.

use std::path::Path;
use std::process::Command;

/// Everything the suite imports that does not ship with Python.
const PROBE: &str = "import pytest, oss2, aliyunsdkcore, alibabacloud_tea_openapi, \
    alibabacloud_foasconsole20211028, alibabacloud_vpc20160428, alibabacloud_ram20150501, \
    alibabacloud_bssopenapi20171214, alibabacloud_sts20150401, alibabacloud_market20151101, \
    alibabacloud_resourcemanager20200331";

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[test]
fn official_python_sdks_conform_to_the_emulator() {
    let probe = Command::new("python3").args(["-c", PROBE]).output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        assert!(
            !ci(),
            "CI is set but the official Python SDKs or pytest are not importable: {probe:?}"
        );
        eprintln!(
            "\n\n!!!!! SKIPPING the official-SDK conformance suite: install it with\n\
             !!!!! python3 -m pip install -r tests/python/requirements.txt\n"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("python3")
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/python/conformance",
        ])
        .current_dir(&root)
        .env("FLINKFORM_BIN", env!("CARGO_BIN_EXE_flinkform"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("FLINKFORM_SIM_WORLD")
        .env_remove("FLINKFORM_SIM_TIME_SCALE")
        .env_remove("FLINKFORM_SIM_FAULTS")
        .env_remove("FLINKFORM_SIM_ENDPOINT")
        .env_remove("FLINKFORM_STATE")
        .env_remove("FLINKFORM_CLOUD")
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the conformance suite failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(stdout.contains(" passed"), "{stdout}");
    assert!(
        !stdout.contains(" skipped"),
        "nothing may be skipped: {stdout}"
    );
    eprintln!("{}", stdout.lines().last().unwrap_or_default());
}
