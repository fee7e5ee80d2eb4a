//! One emulator world, several processes: `sim console` while `sim serve` serves the world
//! goes through the running emulator (visible on the wire at once, kept by its next save);
//! an in-process emulator refuses a served world; a process that finds the world busy waits
//! for it instead of overwriting the other's changes.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStderr, Stdio};

use flinkform_alicloud::{Client, ClientOptions, Credentials, Endpoints, Product, RpcMethod};
use flinkform_cloudsim::{ConsoleOp, World, WorldLock};
use flinkform_core::Region;

use crate::harness::Sandbox;

const REGION: &str = "ap-southeast-1";

/// A running `flinkform sim serve --port 0 --account main`.
struct Serve {
    child: Child,
    endpoint: String,
    client: Client,
}

impl Serve {
    fn start(sb: &Sandbox) -> Self {
        let mut child = sb
            .command(&["sim", "serve", "--port", "0", "--account", "main"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sim serve");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("a line").expect("utf-8");
        let endpoint = first
            .strip_prefix("endpoint ")
            .expect("the endpoint comes first")
            .to_owned();
        let account = lines.next().expect("a line").expect("utf-8");
        // `account main: uid U access key id K secret S`
        let words: Vec<&str> = account.split_whitespace().collect();
        let (key, secret) = (words[7], words[9]);
        let client = Client::new(
            Endpoints::Override(endpoint.clone()),
            Credentials::new(key, secret),
            ClientOptions::default(),
        )
        .expect("client");
        Self {
            child,
            endpoint,
            client,
        }
    }

    fn call(&self, action: &str, params: &[(&str, &str)]) -> serde_json::Value {
        let params = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let region = Region::new(REGION).expect("region");
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(
                self.client
                    .rpc(Product::Vpc, Some(&region), action, params, RpcMethod::Post),
            )
            .unwrap_or_else(|e| panic!("{action}: {e}"))
    }

    /// The VPC `id` as the running emulator describes it.
    fn vpc(&self, id: &str) -> serde_json::Value {
        let found = self.call("DescribeVpcs", &[("RegionId", REGION), ("VpcId", id)]);
        assert_eq!(found["TotalCount"], 1, "{found}");
        found["Vpcs"]["Vpc"][0].clone()
    }

    /// Stops it the way Ctrl-C does and waits.
    fn interrupt(mut self) {
        let status = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill -INT");
        assert!(status.success());
        let exit = self.child.wait().expect("wait");
        assert!(exit.success(), "sim serve exits cleanly on SIGINT: {exit}");
    }
}

#[test]
fn sim_console_goes_through_the_running_emulator() {
    let sb = Sandbox::new();
    let serve = Serve::start(&sb);
    let world_file = sb.path().join(".flinkform/sim-world.json");
    let serve_file = WorldLock::serve_path(&world_file);
    let announced = std::fs::read_to_string(&serve_file).expect("sim serve names itself");
    assert!(announced.contains(&serve.endpoint), "{announced}");

    let run = sb
        .run(&[
            "sim",
            "console",
            "create-vpc",
            "--region",
            REGION,
            "--cidr",
            "10.42.0.0/16",
            "--name",
            "from-console",
        ])
        .expect(0);
    let id = run.stdout.trim().to_owned();
    assert!(id.starts_with("vpc-"), "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!(
            "applied by the emulator serving `.flinkform/sim-world.json` at {}",
            serve.endpoint
        )),
        "{}",
        run.stderr
    );
    // Visible through the API at once.
    assert_eq!(serve.vpc(&id)["VpcName"], "from-console");
    let tagged = sb
        .run(&["sim", "console", "tag", &id, "team=data"])
        .expect(0);
    assert!(tagged.stderr.contains("team=data"), "{}", tagged.stderr);
    assert_eq!(serve.vpc(&id)["Tags"]["Tag"][0]["Value"], "data");
    // A console command that fails changes nothing and says why.
    let failed = sb
        .run(&["sim", "console", "delete-vswitch", "vsw-nope"])
        .expect(1);
    assert!(failed.stderr.contains("vsw-nope"), "{}", failed.stderr);
    assert!(failed.stderr.contains(&serve.endpoint), "{}", failed.stderr);

    // The server's next save (after an API change) keeps the console's change.
    let api_vpc = serve.call(
        "CreateVpc",
        &[
            ("RegionId", REGION),
            ("CidrBlock", "10.43.0.0/16"),
            ("VpcName", "from-api"),
        ],
    )["VpcId"]
        .as_str()
        .expect("VpcId")
        .to_owned();
    serve.interrupt();
    assert!(
        !serve_file.exists(),
        "a stopped emulator no longer names itself"
    );
    // Both are in the world it saved: a new emulator serves them.
    let again = Serve::start(&sb);
    assert_eq!(again.vpc(&id)["VpcName"], "from-console");
    assert_eq!(again.vpc(&api_vpc)["VpcName"], "from-api");
    again.interrupt();

    // With no emulator serving the world, the console changes the file itself.
    sb.run(&["sim", "console", "set-balance", "12.34"])
        .expect(0);
    assert_eq!(sb.world().summary()["main"].balance_cents, 1234);
}

#[test]
fn an_in_process_emulator_refuses_a_served_world() {
    let sb = Sandbox::new();
    let serve = Serve::start(&sb);
    let before = std::fs::read(sb.path().join(".flinkform/sim-world.json")).expect("world");
    let run = sb.run(&["plan", "examples/quickstart.yaml"]).expect(1);
    assert!(
        run.stderr.contains("is served by `flinkform sim serve`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("pass `--sim-endpoint {}`", serve.endpoint)),
        "{}",
        run.stderr
    );
    let after = std::fs::read(sb.path().join(".flinkform/sim-world.json")).expect("world");
    assert_eq!(before, after, "the served world file was not touched");
    // A second `sim serve` of the same world is refused too.
    let second = sb
        .run(&["sim", "serve", "--port", "0", "--account", "main"])
        .expect(1);
    assert!(
        second.stderr.contains("is already served"),
        "{}",
        second.stderr
    );
    serve.interrupt();
}

/// Reads `stderr` until a line contains `what` (the child announces that it waits).
fn wait_for_line(stderr: ChildStderr, what: &str) -> BufReader<ChildStderr> {
    let mut reader = BufReader::new(stderr);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("read stderr");
        assert!(n > 0, "the process ended before saying {what:?}");
        if line.contains(what) {
            return reader;
        }
    }
}

#[test]
fn a_busy_world_is_waited_for_not_overwritten() {
    let sb = Sandbox::new();
    sb.run(&["sim", "console", "create-account", "main"])
        .expect(0);
    let world_file = sb.path().join(".flinkform/sim-world.json");
    // This test process holds the world, as another flinkform command would.
    let lock = WorldLock::try_acquire(&world_file)
        .expect("lock file")
        .expect("free");
    let mut apply = sb
        .command(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn apply");
    let rest = wait_for_line(
        apply.stderr.take().expect("stderr"),
        "waiting for the emulator world",
    );
    let mut console = sb
        .command(&["sim", "console", "set-balance", "500", "--account", "other"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn console");
    let console_rest = wait_for_line(
        console.stderr.take().expect("stderr"),
        "waiting for the emulator world",
    );
    // Meanwhile the holder changes the world and saves it.
    let mut world = World::load(&world_file).expect("world");
    world
        .console(&ConsoleOp::SetBalance {
            account: "holder".to_owned(),
            cents: 777,
        })
        .expect("set balance");
    world.save(&world_file).expect("save");
    drop(lock);
    // (Read what they print until they end: a closed pipe would fail them.)
    for (mut child, mut rest) in [(apply, rest), (console, console_rest)] {
        let mut tail = String::new();
        std::io::Read::read_to_string(&mut rest, &mut tail).expect("stderr");
        let status = child.wait().expect("wait");
        assert!(status.success(), "{tail}");
    }
    // Nobody's change was lost: the holder's, the applied workspace, the console's balance.
    let summary = sb.world().summary();
    assert_eq!(summary["holder"].balance_cents, 777, "{summary:?}");
    assert_eq!(summary["main"].instances, 1, "{summary:?}");
    assert_eq!(summary["other"].balance_cents, 50_000, "{summary:?}");
}
