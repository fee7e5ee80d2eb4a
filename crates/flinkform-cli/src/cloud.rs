//! Which cloud a command talks to: the real Alibaba Cloud, or the bundled emulator started
//! in-process on a loopback port with its world loaded from (and saved back to) a file.
//! Either way the same provider code path is used; only the endpoint differs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flinkform_alicloud::{AliProvider, ClientOptions, Credentials, Endpoints};
use flinkform_cloudsim::{
    FaultPlan, Holder, ServeInfo, SimHandle, SimOptions, World, WorldKeys, WorldLock,
};
use flinkform_core::{AccountName, Provider, Target, TargetCloud};
use miette::Result;

use crate::args::{CloudArg, GlobalArgs};
use crate::error::CliError;
use crate::{Exit, view};

/// Default emulator time scale: 5-10 minutes of provisioning take 5-10 seconds.
const DEFAULT_TIME_SCALE: f64 = 60.0;

pub(crate) fn sim_world_path(global: &GlobalArgs) -> PathBuf {
    global
        .sim_world
        .clone()
        .unwrap_or_else(|| PathBuf::from(".flinkform/sim-world.json"))
}

/// Whether `CI` says this runs in a pipeline: set, non-empty, and not `false` or `0`.
fn in_ci(env: &dyn Fn(&str) -> Option<String>) -> bool {
    env("CI").is_some_and(|v| {
        let v = v.trim();
        !v.is_empty() && !v.eq_ignore_ascii_case("false") && v != "0"
    })
}

/// The cloud to use: `--cloud`/`FLINKFORM_CLOUD`; else `alibaba` when the credential chain
/// has a source configured; else the emulator, but only for a person at a terminal: with
/// `CI` set or without a terminal that is an error (a pipeline must never "apply" to the
/// emulator because its credentials went missing).
fn chosen_cloud(global: &GlobalArgs) -> Result<CloudArg> {
    if let Some(c) = global.cloud {
        return Ok(c);
    }
    let env = |k: &str| std::env::var(k).ok();
    if flinkform_alicloud::credentials::configured(&env, None) {
        return Ok(CloudArg::Alibaba);
    }
    let ci = in_ci(&env);
    if ci || !view::interactive() {
        let checked = match flinkform_alicloud::credentials::chain("(any)", &env, None) {
            Err(flinkform_alicloud::Error::NoCredentials { checked, .. }) => {
                checked.replace("profile `(any)` in ", "profiles in ")
            }
            Err(e) => e.to_string(),
            Ok(source) => source.describe(),
        };
        let why = if ci { "CI is set" } else { "not on a terminal" };
        return Err(CliError::NoCloud {
            why: why.to_owned(),
            checked,
        }
        .into());
    }
    Ok(CloudArg::Sim)
}

/// Before a command that talks to a cloud takes the state lock: the cloud can be chosen
/// (see [`chosen_cloud`]), so that a pipeline without credentials fails touching nothing.
pub(crate) fn preflight(cli: &crate::args::Cli) -> Result<()> {
    use crate::args::Command;
    let needs_cloud = matches!(
        cli.command,
        Command::Plan(_)
            | Command::Apply(_)
            | Command::Destroy(_)
            | Command::Import(_)
            | Command::Drift(_)
            | Command::Graph(_)
    );
    if needs_cloud {
        chosen_cloud(&cli.global)?;
    }
    Ok(())
}

/// `FLINKFORM_ENDPOINT`: a base URL every request of `--cloud alibaba` goes to (a proxy,
/// or an emulator started by `flinkform sim serve`); the signed `Host` still names the
/// real host.
const ENV_ENDPOINT: &str = "FLINKFORM_ENDPOINT";
/// The time scale of `--cloud alibaba`: 1, except with `FLINKFORM_ENDPOINT` (an emulator
/// started by `sim serve`), where `--sim-time-scale` says how fast that emulator's clock
/// runs: polling and credential lifetimes shrink accordingly.
fn alibaba_time_scale(global: &GlobalArgs) -> Option<f64> {
    std::env::var(ENV_ENDPOINT)
        .ok()
        .filter(|v| !v.is_empty())
        .and(global.sim_time_scale)
        .filter(|s| s.is_finite() && *s > 1.0)
}

/// The real cloud's provider: one credential cache per account from the credential chain,
/// each fetched once here so that a missing or refused credential fails before any work.
async fn open_alibaba(
    global: &GlobalArgs,
    accounts: &BTreeSet<AccountName>,
) -> Result<AliProvider> {
    use flinkform_alicloud::credentials::{CredentialCache, MonotonicClock, chain};
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let endpoints = env(ENV_ENDPOINT).map_or(Endpoints::Real, Endpoints::Override);
    let scale = alibaba_time_scale(global).unwrap_or(1.0);
    let clock: Arc<dyn flinkform_alicloud::credentials::Clock> =
        Arc::new(MonotonicClock::scaled(scale));
    let mut caches = BTreeMap::new();
    for a in accounts {
        let context = |e: flinkform_alicloud::Error| {
            miette::Report::new(e).wrap_err(format!("credentials of account `{a}`"))
        };
        let source = chain(a.as_str(), &env, None).map_err(context)?;
        let cache = Arc::new(CredentialCache::new(
            source,
            endpoints.clone(),
            ClientOptions::default(),
            clock.clone(),
        ));
        cache.get().await.map_err(context)?;
        view::note(&format!(
            "account `{a}`: credentials from {}",
            cache.source().describe()
        ));
        caches.insert(a.clone(), cache);
    }
    AliProvider::with_credentials(endpoints, caches, ClientOptions::default())
        .map_err(miette::Report::new)
}

/// A running connection to a cloud.
pub(crate) struct CloudSession {
    /// The provider every command uses.
    pub(crate) provider: Arc<AliProvider>,
    cloud: TargetCloud,
    world_id: Option<String>,
    time_scale: Option<f64>,
    sim: Option<SimRuntime>,
}

struct SimRuntime {
    handle: SimHandle,
    world: Arc<tokio::sync::Mutex<World>>,
    path: PathBuf,
    /// Held from before the world is loaded until after it is saved: another process's
    /// changes in between would be overwritten by the save.
    _lock: WorldLock,
}

/// How this process may change a world file.
pub(crate) enum WorldAccess {
    /// Directly: this process holds the world's lock.
    Locked(WorldLock),
    /// Only through the emulator serving it (`flinkform sim serve`).
    Served(ServeInfo),
}

/// Takes the lock of the world file at `path`, waiting while another flinkform process works
/// on it; when an emulator serves the world, says so instead.
pub(crate) async fn world_access(path: &Path) -> Result<WorldAccess> {
    let mut told = false;
    loop {
        match WorldLock::try_acquire(path).map_err(|e| CliError::Sim(e.to_string()))? {
            Ok(lock) => return Ok(WorldAccess::Locked(lock)),
            Err(Holder::Server(info)) => return Ok(WorldAccess::Served(info)),
            Err(Holder::Process(pid)) => {
                if !told {
                    let who = pid.map_or_else(String::new, |p| format!(" (pid {p})"));
                    view::note(&format!(
                        "waiting for the emulator world `{}`, which another flinkform process{who} is using",
                        path.display()
                    ));
                    told = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// The world at `path` is served by the emulator `info`: an in-process emulator must not
/// load it (the two would overwrite each other's changes).
fn served_elsewhere(path: &Path, info: &ServeInfo) -> CliError {
    CliError::Sim(format!(
        "the emulator world `{}` is served by `flinkform sim serve` (pid {}) at {}: pass `--sim-endpoint {}` to work with that emulator, or stop it first",
        path.display(),
        info.pid,
        info.endpoint,
        info.endpoint
    ))
}

/// The world lock for a process that loads the world at `path` and saves it back.
async fn lock_world(path: &Path) -> Result<WorldLock> {
    match world_access(path).await? {
        WorldAccess::Locked(lock) => Ok(lock),
        WorldAccess::Served(info) => Err(served_elsewhere(path, &info).into()),
    }
}

fn load_world(path: &Path, scale: Option<f64>) -> Result<World> {
    let mut world = if path.exists() {
        World::load(path).map_err(|e| CliError::Sim(e.to_string()))?
    } else {
        World::new(rand_seed())
    };
    world
        .set_time_scale(scale.unwrap_or(DEFAULT_TIME_SCALE))
        .map_err(|e| CliError::Sim(e.to_string()))?;
    Ok(world)
}

fn save_world(path: &Path, world: &World) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, &e))?;
    }
    world.save(path).map_err(|e| CliError::Sim(e.to_string()))?;
    Ok(())
}

fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn fault_plan(global: &GlobalArgs) -> Result<FaultPlan> {
    match &global.sim_faults {
        Some(path) => Ok(FaultPlan::load(path).map_err(miette::Report::new)?),
        None => Ok(FaultPlan::default()),
    }
}

/// Emulator client options: retries back off as much faster as the emulator's clock runs
/// (never below a few wall-clock milliseconds).
fn sim_client_options(scale: f64) -> ClientOptions {
    let base = ClientOptions::default();
    ClientOptions {
        retry_base_delay: base
            .retry_base_delay
            .div_f64(scale.max(1.0))
            .max(std::time::Duration::from_millis(20)),
        ..base
    }
}

impl CloudSession {
    /// Connects to an emulator that runs elsewhere (`--sim-endpoint`): the world file is only
    /// read, for the world id and the accounts' keys.
    fn open_external(
        global: &GlobalArgs,
        endpoint: &str,
        accounts: &BTreeSet<AccountName>,
    ) -> Result<Self> {
        if global.sim_faults.is_some() {
            return Err(CliError::Sim(
                "--sim-faults applies to an emulator this process starts; send the plan to the running one with `POST <endpoint>/_sim/faults`".to_owned(),
            )
            .into());
        }
        let path = sim_world_path(global);
        if !path.exists() {
            return Err(CliError::Sim(format!(
                "--sim-endpoint needs the world file of that emulator, and `{}` does not exist: pass --sim-world",
                path.display()
            ))
            .into());
        }
        // Only the keys: the world itself is the running emulator's (and a fleet's is large).
        let world = WorldKeys::read(&path).map_err(|e| CliError::Sim(e.to_string()))?;
        let mut creds = BTreeMap::new();
        for a in accounts {
            let Some(keys) = world.account(a.as_str()) else {
                return Err(CliError::Sim(format!(
                    "account `{a}` is not in the emulator world `{}`: start the emulator with `flinkform sim serve --account {a}`",
                    path.display()
                ))
                .into());
            };
            creds.insert(
                a.clone(),
                Credentials::new(keys.access_key_id.clone(), keys.access_key_secret.clone()),
            );
        }
        let scale = global.sim_time_scale.unwrap_or_else(|| world.time_scale());
        view::sim_banner(world.id());
        let connector = flinkform_alicloud::Connector::new(
            format!("{}/_vendor/connector", endpoint.trim_end_matches('/')),
            world.connector_key().to_owned(),
        )
        .map_err(miette::Report::new)?;
        let provider = AliProvider::new(
            Endpoints::Override(endpoint.trim_end_matches('/').to_owned()),
            creds,
            sim_client_options(scale),
        )
        .map_err(miette::Report::new)?
        .with_connector(connector);
        Ok(Self {
            provider: Arc::new(provider),
            cloud: TargetCloud::Sim,
            world_id: Some(world.id().to_owned()),
            time_scale: Some(scale),
            sim: None,
        })
    }

    /// Connects to the chosen cloud with credentials for `accounts`.
    pub(crate) async fn open(
        global: &GlobalArgs,
        accounts: &BTreeSet<AccountName>,
    ) -> Result<Self> {
        match chosen_cloud(global)? {
            CloudArg::Sim if global.sim_endpoint.is_some() => {
                let endpoint = global.sim_endpoint.as_deref().unwrap_or_default();
                Self::open_external(global, endpoint, accounts)
            }
            CloudArg::Sim => {
                let path = sim_world_path(global);
                let lock = lock_world(&path).await?;
                let mut world = load_world(&path, global.sim_time_scale)?;
                let mut creds = BTreeMap::new();
                for a in accounts {
                    let keys = world.ensure_account(a.as_str());
                    creds.insert(
                        a.clone(),
                        Credentials::new(keys.access_key_id, keys.access_key_secret),
                    );
                }
                let connector_key = world.vendor_connector_key();
                let world_id = world.id().to_owned();
                let time_scale = Some(world.time_scale());
                view::sim_banner(&world_id);
                save_world(&path, &world)?;
                let world = Arc::new(tokio::sync::Mutex::new(world));
                let options = SimOptions {
                    faults: fault_plan(global)?,
                    ..SimOptions::default()
                };
                let handle = flinkform_cloudsim::spawn_shared(world.clone(), options)
                    .await
                    .map_err(|e| CliError::Sim(e.to_string()))?;
                let endpoints = Endpoints::Override(handle.endpoint());
                let client_options = sim_client_options(world.lock().await.time_scale());
                let connector = flinkform_alicloud::Connector::new(
                    format!("{}/_vendor/connector", handle.endpoint()),
                    connector_key,
                )
                .map_err(miette::Report::new)?;
                let provider = AliProvider::new(endpoints, creds, client_options)
                    .map_err(miette::Report::new)?
                    .with_connector(connector);
                Ok(Self {
                    provider: Arc::new(provider),
                    cloud: TargetCloud::Sim,
                    world_id: Some(world_id),
                    time_scale,
                    sim: Some(SimRuntime {
                        handle,
                        world,
                        path,
                        _lock: lock,
                    }),
                })
            }
            CloudArg::Alibaba => {
                let mut provider = open_alibaba(global, accounts).await?;
                if let (Ok(url), Ok(token)) = (
                    std::env::var("FLINKFORM_CONNECTOR_URL"),
                    std::env::var("FLINKFORM_CONNECTOR_TOKEN"),
                ) {
                    provider = provider.with_connector(
                        flinkform_alicloud::Connector::new(url, token)
                            .map_err(miette::Report::new)?,
                    );
                }
                Ok(Self {
                    provider: Arc::new(provider),
                    cloud: TargetCloud::Alibaba,
                    world_id: None,
                    time_scale: alibaba_time_scale(global),
                    sim: None,
                })
            }
        }
    }

    /// Executor options for this cloud. The emulator's clock runs `scale` times faster than
    /// the real one, so polling intervals and timeouts shrink by the same factor there.
    pub(crate) fn apply_options(&self, parallelism: usize) -> flinkform_apply::ApplyOptions {
        let base = flinkform_apply::ApplyOptions {
            parallelism: parallelism.max(1),
            ..Default::default()
        };
        let Some(scale) = self.time_scale.filter(|s| *s > 1.0) else {
            return base;
        };
        let shrink = |d: std::time::Duration, floor_ms: u64| {
            d.div_f64(scale)
                .max(std::time::Duration::from_millis(floor_ms))
        };
        // Retries back off faster too, but not below what a wall-clock QPS limit of the
        // emulator's fault plan needs to recover.
        let retry = flinkform_apply::RetryPolicy {
            base: shrink(base.retry.base, 50),
            max: shrink(base.retry.max, 2_000),
            ..base.retry.clone()
        };
        flinkform_apply::ApplyOptions {
            poll_initial: shrink(base.poll_initial, 10),
            poll_max: shrink(base.poll_max, 50),
            // Not below a minute: throttling (a fault plan's QPS) is wall-clock time, and a
            // poll read the client retries through a throttling storm takes seconds.
            wait_timeout: shrink(base.wait_timeout, 60_000),
            retry,
            ..base
        }
    }

    /// The target (cloud and account UIDs) these credentials reach.
    pub(crate) async fn target(&self, accounts: &BTreeSet<AccountName>) -> Result<Target> {
        let mut uids = BTreeMap::new();
        for a in accounts {
            uids.insert(a.clone(), self.provider.whoami(a).await?);
        }
        Ok(Target {
            cloud: self.cloud,
            world: self.world_id.clone(),
            accounts: uids,
        })
    }

    /// The in-process emulator's world and its file (`--cloud sim`), for the save a second
    /// Ctrl-C makes before the process ends at once.
    pub(crate) fn sim_world(&self) -> Option<(Arc<tokio::sync::Mutex<World>>, PathBuf)> {
        self.sim.as_ref().map(|s| (s.world.clone(), s.path.clone()))
    }

    /// Stops the emulator (if any) and saves its world.
    pub(crate) async fn close(self) -> Result<()> {
        if let Some(sim) = self.sim {
            sim.handle
                .stop()
                .await
                .map_err(|e| CliError::Sim(e.to_string()))?;
            let world = sim.world.lock().await;
            save_world(&sim.path, &world)?;
        }
        Ok(())
    }
}

/// Applies console command `op` to the world at `path`: through the emulator serving it
/// when there is one (its next save would overwrite a change made to the file), else to
/// the file under the world's lock (created first when `creates_world`).
pub(crate) async fn console(
    path: &Path,
    op: &flinkform_cloudsim::ConsoleOp,
    creates_world: bool,
) -> Result<flinkform_cloudsim::ConsoleOutcome> {
    if !creates_world && !path.exists() {
        return Err(CliError::Sim(format!(
            "no emulator world at `{}`: run `flinkform apply --cloud sim ...` first",
            path.display()
        ))
        .into());
    }
    match world_access(path).await? {
        WorldAccess::Served(info) => {
            let outcome = flinkform_cloudsim::send_console(&info.endpoint, op)
                .await
                .map_err(miette::Report::new)?;
            view::note(&format!(
                "console: applied by the emulator serving `{}` at {} (pid {})",
                path.display(),
                info.endpoint,
                info.pid
            ));
            Ok(outcome)
        }
        WorldAccess::Locked(lock) => {
            let mut world = if path.exists() {
                World::load(path).map_err(|e| CliError::Sim(e.to_string()))?
            } else {
                World::with_random_seed()
            };
            let outcome = world
                .console(op)
                .map_err(|e| CliError::Sim(e.to_string()))?;
            save_world(path, &world)?;
            drop(lock);
            Ok(outcome)
        }
    }
}

/// `flinkform sim serve`: runs the emulator until interrupted, saving the world after every
/// change. It holds the world's lock meanwhile and names itself in `<world>.serve`, so that
/// `sim console` sends its changes through it and in-process emulators leave the world alone.
pub(crate) async fn serve(global: &GlobalArgs, port: u16, accounts: &[String]) -> Result<Exit> {
    let path = sim_world_path(global);
    let mut lock = match world_access(&path).await? {
        WorldAccess::Locked(lock) => lock,
        WorldAccess::Served(info) => {
            return Err(CliError::Sim(format!(
                "the emulator world `{}` is already served by `flinkform sim serve` (pid {}) at {}",
                path.display(),
                info.pid,
                info.endpoint
            ))
            .into());
        }
    };
    let mut world = load_world(&path, global.sim_time_scale)?;
    let mut lines = Vec::new();
    for a in accounts {
        let keys = world.ensure_account(a);
        lines.push(format!(
            "account {a}: uid {} access key id {} secret {}",
            keys.uid, keys.access_key_id, keys.access_key_secret
        ));
    }
    save_world(&path, &world)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| CliError::io(Path::new("127.0.0.1"), &e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::io(Path::new("127.0.0.1"), &e))?;
    lock.announce_server(&format!("http://{addr}"))
        .map_err(|e| CliError::Sim(e.to_string()))?;
    view::out(&format!("endpoint http://{addr}"));
    for l in lines {
        view::out(&l);
    }
    let world = Arc::new(tokio::sync::Mutex::new(world));
    let options = SimOptions {
        persist_to: Some(path),
        faults: fault_plan(global)?,
        ..SimOptions::default()
    };
    flinkform_cloudsim::serve_with(listener, world, options, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| CliError::Sim(e.to_string()))?;
    drop(lock);
    Ok(Exit::Ok)
}

/// `sim console create-role`: the console operation, with the default trust policy (the
/// account itself, and `trust_oidc`'s provider when given) filled in from the world's uid.
pub(crate) fn create_role_op(
    path: &Path,
    account: String,
    name: String,
    trust_policy: Option<String>,
    trust_oidc: Option<String>,
) -> Result<flinkform_cloudsim::ConsoleOp> {
    let trust_policy = match trust_policy {
        Some(p) => p,
        None => {
            if !path.exists() {
                return Err(CliError::Sim(format!(
                    "no emulator world at `{}`: run `flinkform sim serve` or `sim console create-account` first",
                    path.display()
                ))
                .into());
            }
            let world = World::load(path).map_err(|e| CliError::Sim(e.to_string()))?;
            let uid = world
                .summary()
                .get(&account)
                .map(|a| a.uid.clone())
                .ok_or_else(|| {
                    CliError::Sim(format!("the emulated cloud has no account `{account}`"))
                })?;
            let mut principal = serde_json::json!({ "RAM": [format!("acs:ram::{uid}:root")] });
            if let Some(p) = trust_oidc {
                principal["Federated"] =
                    serde_json::json!([format!("acs:ram::{uid}:oidc-provider/{p}")]);
            }
            serde_json::json!({
                "Version": "1",
                "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": principal}],
            })
            .to_string()
        }
    };
    Ok(flinkform_cloudsim::ConsoleOp::CreateRole {
        account,
        name,
        trust_policy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_any_value_but_empty_false_or_0() {
        for (value, ci) in [
            (None, false),
            (Some(""), false),
            (Some("false"), false),
            (Some("FALSE"), false),
            (Some("0"), false),
            (Some("true"), true),
            (Some("1"), true),
            (Some("yes"), true),
        ] {
            let env = |k: &str| (k == "CI").then(|| value.map(str::to_owned)).flatten();
            assert_eq!(in_ci(&env), ci, "CI={value:?}");
        }
    }
}
