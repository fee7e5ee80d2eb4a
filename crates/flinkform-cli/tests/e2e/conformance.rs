//! The emulator's conformance to the official Alibaba Cloud Python SDKs: runs the pytest suite
//! in `tests/python/conformance` (which starts this binary's `sim serve` itself and drives every
//! implemented action through the SDKs).
//!
//! The suite runs in its own virtual environment, `<target>/sdk-venv`, which this test
//! creates on first use (`python3 -m venv`, then `pip install -r tests/python/requirements.txt`:
//! the only time anything is downloaded) and reuses while the requirements file is unchanged.
//! What it cannot do (no `python3`, no `venv` module, no way to install) fails the test with
//! the command that fixes it. `FLINKFORM_SKIP_SDK_SUITE=1` skips the suite outside CI, with a
//! notice the test runner shows; with `CI` set it is refused.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The opt-out.
const SKIP: &str = "FLINKFORM_SKIP_SDK_SUITE";

fn set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    fs::canonicalize(&root).unwrap_or(root)
}

/// The suite's virtual environment: `<target>/sdk-venv` (`CARGO_TARGET_TMPDIR` is
/// `<target>/tmp`), shared by every build profile and by `.ci/run`, which leaves it to this test.
fn venv() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("sdk-venv")
}

/// Says something on the runner's stderr even when the test's output is captured (libtest
/// captures `eprintln!`, not writes to the stderr handle).
fn notice(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn show(out: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Makes sure `venv` holds the requirements of `requirements` (the file's content is kept as
/// a stamp in the environment; a changed file means a fresh environment), and returns its
/// Python. Several test processes may get here at once: a file lock lets one build it.
fn bootstrap(venv: &Path, requirements: &Path) -> PathBuf {
    let python = venv.join("bin/python");
    let stamp = venv.join("flinkform-requirements.txt");
    let wanted = fs::read(requirements).expect("tests/python/requirements.txt");
    let parent = venv.parent().expect("the venv has a parent");
    fs::create_dir_all(parent).expect("create the target directory");
    let lock = File::create(parent.join("sdk-venv.lock")).expect("create the venv lock");
    lock.lock().expect("lock the venv");
    if python.exists() && fs::read(&stamp).is_ok_and(|s| s == wanted) {
        return python;
    }
    notice(&format!(
        "official-SDK suite: creating its virtual environment {} and installing {} (once; \
         reused while that file is unchanged)",
        venv.display(),
        requirements.display()
    ));
    let created = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(venv)
        .output();
    let created = match created {
        Ok(out) => out,
        Err(e) => panic!(
            "the official-SDK conformance suite needs python3 (3.9 or newer), which cannot be \
             run: {e}.\nInstall it (Debian/Ubuntu: `sudo apt-get install python3 python3-venv`), \
             or skip the suite with {SKIP}=1 (not in CI)."
        ),
    };
    assert!(
        created.status.success(),
        "`python3 -m venv` failed: python3's venv module (with ensurepip) is missing.\n\
         Install it: `sudo apt-get install python3-venv` (Debian/Ubuntu), then run the tests \
         again; or skip the suite with {SKIP}=1 (not in CI).\n{}",
        show(&created)
    );
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(requirements)
        .output()
        .expect("run pip");
    assert!(
        installed.status.success(),
        "installing the official SDKs into {} failed (it needs PyPI, or a pip configured with \
         a mirror, once). Fix that and run the tests again; or skip the suite with {SKIP}=1 \
         (not in CI).\n{}",
        venv.display(),
        show(&installed)
    );
    fs::write(&stamp, &wanted).expect("write the requirements stamp");
    python
}

#[test]
fn official_python_sdks_conform_to_the_emulator() {
    if set(SKIP) {
        assert!(
            !set("CI"),
            "{SKIP} is set, but CI must run the official-SDK conformance suite"
        );
        notice(&format!(
            "\n!!!!! SKIPPED the official-SDK conformance suite ({SKIP} is set): the emulator's \
             wire format was not checked against the official SDKs.\n"
        ));
        return;
    }
    let root = root();
    let python = bootstrap(&venv(), &root.join("tests/python/requirements.txt"));
    let bin = python.parent().expect("the venv's bin directory");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&path)),
    )
    .expect("PATH");
    let out = Command::new(&python)
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
        .env("PATH", path)
        .env("VIRTUAL_ENV", venv())
        .env_remove("PYTHONHOME")
        .env_remove("FLINKFORM_SIM_WORLD")
        .env_remove("FLINKFORM_SIM_TIME_SCALE")
        .env_remove("FLINKFORM_SIM_FAULTS")
        .env_remove("FLINKFORM_SIM_ENDPOINT")
        .env_remove("FLINKFORM_STATE")
        .env_remove("FLINKFORM_CLOUD")
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the conformance suite failed: {}",
        show(&out)
    );
    assert!(stdout.contains(" passed"), "{stdout}");
    assert!(
        !stdout.contains(" skipped"),
        "nothing may be skipped: {stdout}"
    );
    eprintln!("{}", stdout.lines().last().unwrap_or_default());
}
