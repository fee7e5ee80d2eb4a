//! The fleet benchmark behind `fleet-bench` (BENCHMARKS.md, "Fleet").
//!
//! For each size N it starts the emulator in this process (two listeners on one world: one
//! plain, one with a fault plan adding a fixed latency to every call) at a high time scale,
//! writes a spec of N workspaces (each with its VPC, vSwitch, bucket and one project; one
//! account and region), and runs the **release `flinkform` binary** as a child process
//! (`--cloud sim --sim-endpoint`) for each scenario: apply N, a no-op plan of N, a change
//! of 10 of N (labels, applied). Per run it prints wall time, API calls (the emulator's
//! call log), bytes the child wrote to storage (its state directory), peak RSS and CPU of
//! the child, and, for applies, the critical-path bound (see BENCHMARKS.md).

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod proc;

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use flinkform_cloudsim::{FaultPlan, SimOptions, World};

/// The fleet benchmark.
#[derive(Debug, Parser)]
#[command(name = "fleet-bench")]
pub struct Args {
    /// Fleet sizes (workspaces)
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    pub sizes: Vec<usize>,
    /// Latency added to every call in the "with latency" runs, ms (0: only loopback runs)
    #[arg(long, default_value_t = 100)]
    pub latency_ms: u64,
    /// `--parallelism` of the applies
    #[arg(long, default_value_t = 50)]
    pub parallelism: usize,
    /// Scenarios: apply, noop-plan, change10 (comma-separated)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "apply,noop-plan,change10"
    )]
    pub scenario: Vec<String>,
    /// Largest N whose apply is also measured with latency (its own world)
    #[arg(long, default_value_t = 100)]
    pub apply_latency_max: usize,
    /// `--rate-limit` passed to every apply (repeatable), e.g. `*=0` for none
    #[arg(long = "rate-limit")]
    pub rate_limit: Vec<String>,
    /// Emulator time scale (cloud seconds per wall second)
    #[arg(long, default_value_t = 6000.0)]
    pub time_scale: f64,
    /// The flinkform binary [default: `flinkform` next to this binary]
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Working directory, kept with each fleet's world, specs and state (`nN/`) [default: a
    /// temporary one, removed]
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// A smoke run: N = 5, 20 ms latency
    #[arg(long)]
    pub quick: bool,
    /// Print each child's stderr (with `FLINKFORM_LOG=flinkform_alicloud=debug`: its calls)
    #[arg(long)]
    pub verbose: bool,
}

/// One measured run.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub n: usize,
    pub latency_ms: u64,
    pub wall: Duration,
    pub calls: u64,
    pub written: u64,
    pub max_rss: u64,
    pub cpu: Duration,
    /// CPU time of this process meanwhile: the in-process emulator serving the run.
    pub emulator_cpu: Duration,
    pub bound: Option<Duration>,
}

fn spec(prefix: &str, n: usize, labelled: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let labels = if i < labelled {
            "  labels: { team: bench }\n"
        } else {
            ""
        };
        let _ = write!(
            s,
            "---\napiVersion: flinkform/v1\nkind: FlinkWorkspace\nmetadata:\n  name: {prefix}{i:05}\n{labels}\
             spec:\n  account: main\n  region: ap-southeast-1\n  zone: ap-southeast-1a\n  \
             billing: {{ method: pay-as-you-go }}\n  network:\n    vpc: {{ create: {{ cidr: 10.10.0.0/16 }} }}\n    \
             vSwitches:\n      - {{ create: {{ cidr: 10.10.1.0/24 }} }}\n  storage:\n    \
             ossBucket: {{ name: {prefix}{i:05}-flink }}\n  projects:\n    - {{ name: etl }}\n  protect: false\n"
        );
    }
    s
}

/// A fleet: its world (served twice) and its directory.
struct Fleet {
    dir: PathBuf,
    world: Arc<tokio::sync::Mutex<World>>,
    plain: flinkform_cloudsim::SimHandle,
    slow: flinkform_cloudsim::SimHandle,
}

impl Fleet {
    async fn start(dir: PathBuf, time_scale: f64, latency_ms: u64) -> Result<Self, String> {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut world = World::new(7);
        world
            .set_time_scale(time_scale)
            .map_err(|e| e.to_string())?;
        world.ensure_account("main");
        // The child reads the credentials and the world id from this file.
        world
            .save(&dir.join("world.json"))
            .map_err(|e| e.to_string())?;
        let world = Arc::new(tokio::sync::Mutex::new(world));
        let plain =
            flinkform_cloudsim::spawn_shared(Arc::clone(&world), SimOptions::default()).await;
        let faults: FaultPlan = serde_json::from_value(serde_json::json!({
            "latency": [{ "action": "*", "fixed_ms": latency_ms }]
        }))
        .map_err(|e| e.to_string())?;
        let slow = flinkform_cloudsim::spawn_shared(
            Arc::clone(&world),
            SimOptions {
                faults,
                ..SimOptions::default()
            },
        )
        .await;
        Ok(Self {
            dir,
            world,
            plain: plain.map_err(|e| e.to_string())?,
            slow: slow.map_err(|e| e.to_string())?,
        })
    }

    /// Stops both listeners. With `keep`, saves the world where the child read its keys
    /// (`flinkform sim serve --sim-world DIR/nN/world.json` serves the fleet again, for a
    /// profiler); without, removes the directory: worlds and states of large fleets are big.
    async fn finish(self, keep: bool) -> Result<(), String> {
        self.plain.stop().await.map_err(|e| e.to_string())?;
        self.slow.stop().await.map_err(|e| e.to_string())?;
        if keep {
            let world = self.world.lock().await;
            world
                .save(&self.dir.join("world.json"))
                .map_err(|e| e.to_string())
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
            Ok(())
        }
    }

    async fn calls(&self) -> u64 {
        self.world.lock().await.calls().values().sum()
    }
}

struct Runner {
    binary: PathBuf,
    parallelism: usize,
    rate_limit: Vec<String>,
    verbose: bool,
}

impl Runner {
    /// Runs `flinkform ARGS` against `endpoint` with the state in `state_dir`.
    async fn run(
        &self,
        fleet: &Fleet,
        endpoint: &str,
        state_dir: &Path,
        args: &[&str],
    ) -> Result<(Duration, proc::Usage, String), String> {
        let mut cmd = Command::new(&self.binary);
        cmd.args(args)
            .arg("--cloud")
            .arg("sim")
            .arg("--sim-endpoint")
            .arg(endpoint)
            .arg("--sim-world")
            .arg(fleet.dir.join("world.json"))
            .arg("--state")
            .arg(state_dir.join("state.json"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if args.first() == Some(&"apply") {
            cmd.arg("--auto-approve")
                .arg("--parallelism")
                .arg(self.parallelism.to_string());
            for r in &self.rate_limit {
                cmd.arg("--rate-limit").arg(r);
            }
        }
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{}: {e}", self.binary.display()))?;
        let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut s = String::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_string(&mut s);
                }
                s
            })
        };
        let out = drain(
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        );
        let err = drain(
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        );
        let usage = tokio::task::spawn_blocking(move || proc::wait(child))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let wall = start.elapsed();
        let out = out.join().unwrap_or_default();
        let err = err.join().unwrap_or_default();
        if self.verbose {
            eprintln!(
                "--- flinkform {} ({:.2} s)\n{err}",
                args.join(" "),
                wall.as_secs_f64()
            );
        }
        // `plan --detailed-exitcode` exits 2 with changes: the runs here expect 0.
        if usage.code != 0 {
            return Err(format!(
                "flinkform {} exited {}:\n{out}\n{err}",
                args.join(" "),
                usage.code
            ));
        }
        Ok((wall, usage, out))
    }
}

fn write_specs(dir: &Path, prefix: &str, n: usize, labelled: usize) -> Result<PathBuf, String> {
    let path = dir.join(format!("{prefix}-{n}-{labelled}.yaml"));
    std::fs::write(&path, spec(prefix, n, labelled)).map_err(|e| e.to_string())?;
    Ok(path)
}

fn mib(b: u64) -> String {
    format!("{:.1}", b as f64 / (1024.0 * 1024.0))
}

/// Prints `rows` as a Markdown table on stdout.
pub fn print_table(rows: &[Row]) {
    println!(
        "| scenario | N | latency ms | wall s | API calls | written to state MiB | peak RSS MiB | CPU s | emulator CPU s | critical-path bound s | wall / bound |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let (bound, ratio) = match r.bound {
            Some(b) => (
                format!("{:.2}", b.as_secs_f64()),
                format!("{:.2}", r.wall.as_secs_f64() / b.as_secs_f64().max(1e-9)),
            ),
            None => ("".to_owned(), "".to_owned()),
        };
        println!(
            "| {} | {} | {} | {:.2} | {} | {} | {} | {:.2} | {:.2} | {bound} | {ratio} |",
            r.scenario,
            r.n,
            r.latency_ms,
            r.wall.as_secs_f64(),
            r.calls,
            mib(r.written),
            mib(r.max_rss),
            r.cpu.as_secs_f64(),
            r.emulator_cpu.as_secs_f64(),
        );
    }
}

/// The critical-path bound of an apply that made `calls` calls at `latency` each with
/// `parallelism` in flight, whose single-workspace chain took `chain` (BENCHMARKS.md).
fn bound(chain: Duration, calls: u64, latency: Duration, parallelism: usize) -> Duration {
    let throughput = latency.mul_f64(calls as f64 / parallelism.max(1) as f64);
    chain.max(throughput)
}

/// Records and announces one run.
#[allow(clippy::too_many_arguments)]
fn push(
    rows: &mut Vec<Row>,
    scenario: &str,
    n: usize,
    latency_ms: u64,
    wall: Duration,
    (usage, calls, emulator_cpu): (proc::Usage, u64, Duration),
    bound: Option<Duration>,
) {
    let r = Row {
        scenario: scenario.to_owned(),
        n,
        latency_ms,
        wall,
        calls,
        written: usage.write_bytes,
        max_rss: usage.max_rss,
        cpu: usage.cpu,
        emulator_cpu,
        bound,
    };
    eprintln!(
        "{} N={} latency={}ms: {:.2} s, {} calls, {:.2} s CPU",
        r.scenario,
        r.n,
        r.latency_ms,
        r.wall.as_secs_f64(),
        r.calls,
        r.cpu.as_secs_f64()
    );
    rows.push(r);
}

/// Runs `flinkform ARGS` and counts the emulator's calls meanwhile.
async fn measured(
    runner: &Runner,
    fleet: &Fleet,
    endpoint: &str,
    state: &Path,
    args: &[&str],
) -> Result<(Duration, (proc::Usage, u64, Duration)), String> {
    let before = fleet.calls().await;
    let cpu = proc::self_cpu();
    let (wall, usage, _) = runner.run(fleet, endpoint, state, args).await?;
    let emulator_cpu = proc::self_cpu().saturating_sub(cpu);
    Ok((wall, (usage, fleet.calls().await - before, emulator_cpu)))
}

/// One size: a world applied on loopback (apply, no-op plans and changes of 10 on loopback
/// and with latency), and, for sizes up to `--apply-latency-max`, a second world applied with
/// latency, next to a one-workspace apply that times the dependency chain.
async fn bench_size(
    args: &Args,
    runner: &Runner,
    root: &Path,
    n: usize,
    latency_ms: u64,
    rows: &mut Vec<Row>,
) -> Result<(), String> {
    let has = |s: &str| args.scenario.iter().any(|x| x == s);
    let lat = latency_ms;
    let with_latency = lat > 0;
    {
        let dir = root.join(format!("n{n}"));
        let fleet = Fleet::start(dir.clone(), args.time_scale, lat.max(1)).await?;
        let (plain, slow) = (fleet.plain.endpoint(), fleet.slow.endpoint());
        let specs = write_specs(&dir, "ws", n, 0)?;
        let specs = specs.to_string_lossy().into_owned();
        let state = dir.join("state");
        let (wall, m) = measured(runner, &fleet, &plain, &state, &["apply", &specs]).await?;
        if has("apply") {
            push(rows, "apply", n, 0, wall, m, None);
        }
        if has("noop-plan") {
            let plan = ["plan", "--detailed-exitcode", specs.as_str()];
            let (wall, m) = measured(runner, &fleet, &plain, &state, &plan).await?;
            push(rows, "no-op plan", n, 0, wall, m, None);
            if with_latency {
                let (wall, m) = measured(runner, &fleet, &slow, &state, &plan).await?;
                push(rows, "no-op plan", n, lat, wall, m, None);
            }
        }
        if has("change10") {
            // Labels on the first 10 workspaces, then on the next 10 as well.
            let first = write_specs(&dir, "ws", n, 10.min(n))?;
            let first = first.to_string_lossy().into_owned();
            let (wall, m) = measured(runner, &fleet, &plain, &state, &["apply", &first]).await?;
            push(rows, "change 10", n, 0, wall, m, None);
            if with_latency {
                let next = write_specs(&dir, "ws", n, 20.min(n))?;
                let next = next.to_string_lossy().into_owned();
                let (wall, m) = measured(runner, &fleet, &slow, &state, &["apply", &next]).await?;
                push(rows, "change 10", n, lat, wall, m, None);
            }
        }
        fleet.finish(args.dir.is_some()).await?;
    }
    if with_latency && has("apply") && n <= args.apply_latency_max {
        let dir = root.join(format!("n{n}-latency"));
        let fleet = Fleet::start(dir.clone(), args.time_scale, lat).await?;
        let slow = fleet.slow.endpoint();
        // The chain of one workspace: an apply of N = 1 into its own state, timed.
        let one = write_specs(&dir, "chain", 1, 0)?;
        let one = one.to_string_lossy().into_owned();
        let (chain, _, _) = runner
            .run(&fleet, &slow, &dir.join("state-chain"), &["apply", &one])
            .await?;
        let specs = write_specs(&dir, "ws", n, 0)?;
        let specs = specs.to_string_lossy().into_owned();
        let (wall, m) = measured(
            runner,
            &fleet,
            &slow,
            &dir.join("state"),
            &["apply", &specs],
        )
        .await?;
        let b = bound(chain, m.1, Duration::from_millis(lat), args.parallelism);
        push(rows, "apply", n, lat, wall, m, Some(b));
        fleet.finish(args.dir.is_some()).await?;
    }
    Ok(())
}

/// Runs the benchmark `args` asks for.
///
/// # Errors
/// A message when a run fails (the child's exit code and output) or the emulator cannot
/// start.
pub async fn run(args: Args) -> Result<Vec<Row>, String> {
    let binary = match &args.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("flinkform"),
    };
    let (sizes, latency_ms) = if args.quick {
        (vec![5], 20)
    } else {
        (args.sizes.clone(), args.latency_ms)
    };
    let tmp;
    let root = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = std::env::temp_dir().join(format!("fleet-bench-{}", std::process::id()));
            tmp
        }
    };
    let runner = Runner {
        binary,
        parallelism: args.parallelism,
        rate_limit: args.rate_limit.clone(),
        verbose: args.verbose,
    };
    let mut rows = Vec::new();
    for n in sizes {
        bench_size(&args, &runner, &root, n, latency_ms, &mut rows).await?;
    }
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&root);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_the_chain_or_the_throughput_whichever_is_longer() {
        let l = Duration::from_millis(100);
        assert_eq!(
            bound(Duration::from_secs(2), 100, l, 50),
            Duration::from_secs(2)
        );
        assert_eq!(
            bound(Duration::from_secs(2), 5000, l, 50),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn the_spec_has_n_workspaces_and_labels_the_first_ones() {
        let s = spec("ws", 3, 1);
        assert_eq!(s.matches("kind: FlinkWorkspace").count(), 3);
        assert_eq!(s.matches("team: bench").count(), 1);
    }
}
