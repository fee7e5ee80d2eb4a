//! The CI-safe and everyday CLI contract (specs/cli.md, "Exit codes"): usage errors exit 1,
//! never 2 (which pipelines read as "changes" or "drift"); with `CI` set and no `--cloud`
//! and no credentials, commands refuse with help instead of silently using the emulator,
//! and touch no state; completions and the man page; `-q` silences notes.

use crate::harness::Sandbox;

#[test]
fn usage_errors_exit_1_never_2() {
    let sb = Sandbox::new();
    for args in [
        vec!["--no-such-flag"],
        vec!["plan"],
        vec!["plan", "--detailed-exitcodes", "examples/quickstart.yaml"],
        vec!["drift", "--bogus", "examples/quickstart.yaml"],
        vec!["apply", "--parallelism", "many", "examples/quickstart.yaml"],
        vec!["state", "show"],
        vec!["completions", "tcsh"],
        vec!["no-such-command"],
        vec![],
    ] {
        let run = sb.run(&args);
        assert_eq!(run.code, 1, "{args:?}\n{}", run.stderr);
        assert!(!run.stderr.is_empty(), "{args:?} says why");
    }
    assert!(!sb.path().join(".flinkform").exists(), "nothing ran");
    for args in [["--help"], ["--version"]] {
        let run = sb.run(&args).expect(0);
        assert!(!run.stdout.is_empty());
    }
    let run = sb.run(&["plan", "--help"]).expect(0);
    assert!(run.stdout.contains("--detailed-exitcode"), "{}", run.stdout);
}

#[test]
fn ci_without_cloud_or_credentials_refuses_and_touches_nothing() {
    let sb = Sandbox::new();
    for args in [
        vec!["plan", "examples/quickstart.yaml"],
        vec!["apply", "--auto-approve", "examples/quickstart.yaml"],
        vec!["drift", "examples/quickstart.yaml"],
    ] {
        let out = sb
            .command(&args)
            .env_remove("FLINKFORM_CLOUD")
            .env("CI", "true")
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}\n{stderr}");
        // The report wraps long lines (`|` continues them): compare the words.
        let stderr = stderr
            .split_whitespace()
            .filter(|w| *w != "|")
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            stderr.contains("no Alibaba Cloud credentials found"),
            "{stderr}"
        );
        assert!(stderr.contains("CI is set"), "{stderr}");
        assert!(stderr.contains("--cloud sim"), "{stderr}");
        assert!(stderr.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"), "{stderr}");
        assert!(!stderr.contains("using the bundled emulator"), "{stderr}");
    }
    assert!(
        !sb.path().join(".flinkform").exists(),
        "no state, no lock, no emulator world"
    );
    // Without a terminal (as here) the rule holds with CI unset too; `--cloud sim` is the
    // explicit way to the emulator.
    let out = sb
        .command(&["plan", "examples/quickstart.yaml"])
        .env_remove("FLINKFORM_CLOUD")
        .env_remove("CI")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not on a terminal"));
    let out = sb
        .command(&["plan", "--cloud", "sim", "examples/quickstart.yaml"])
        .env_remove("FLINKFORM_CLOUD")
        .env("CI", "true")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn completions_and_man_page() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = sb.run(&["completions", shell]).expect(0);
        assert!(run.stdout.contains("flinkform"), "{shell}");
        assert!(
            run.stdout.contains("apply"),
            "{shell}: subcommands completed"
        );
    }
    let run = sb.run(&["man"]).expect(0);
    assert!(
        run.stdout.starts_with(".ie") || run.stdout.contains(".TH flinkform"),
        "{}",
        &run.stdout[..run.stdout.len().min(300)]
    );
    assert!(run.stdout.contains("drift"));
    sb.run(&["man", "--dir", "man"]).expect(0);
    for page in ["flinkform.1", "flinkform-plan.1", "flinkform-sim-serve.1"] {
        assert!(sb.path().join("man").join(page).is_file(), "{page}");
    }
}

#[test]
fn quiet_silences_notes_and_verbose_adds_logs() {
    let sb = Sandbox::new();
    let loud = sb.run(&["plan", "examples/quickstart.yaml"]).expect(0);
    assert!(loud.stderr.contains("refreshed"), "{}", loud.stderr);
    let quiet = sb
        .run(&["plan", "-q", "examples/quickstart.yaml"])
        .expect(0);
    assert!(!quiet.stderr.contains("refreshed"), "{}", quiet.stderr);
    assert!(
        quiet.stdout.contains("Plan: 8 to add"),
        "data on stdout is unchanged: {}",
        quiet.stdout
    );
    let verbose = sb
        .run(&["-vv", "plan", "examples/quickstart.yaml"])
        .expect(0);
    assert!(verbose.stderr.contains("DEBUG"), "{}", verbose.stderr);
    let out = sb
        .command(&["plan", "examples/quickstart.yaml"])
        .env("RUST_LOG", "debug")
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("DEBUG"));
}
