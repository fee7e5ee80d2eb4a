//! The HTTP side: one axum fallback handler on a loopback listener that tells OSS REST
//! requests from RPC requests, authenticates them, routes RPC by `(version, action)`, wraps
//! answers in Alibaba Cloud's envelopes and persists the world after each mutation.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinHandle;

use crate::api::{self, ApiError, Call};
use crate::auth::{self, RpcRequest};
use crate::error::{Error, Result};
use crate::faults::{FaultPlan, Faults, Injected};
use crate::params::Params;
use crate::world::{FaultKind, World};

/// How a server runs.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Save the world to this file (atomically) after every request that changed it, so a
    /// standalone `flinkform sim serve` keeps its world file current.
    pub persist_to: Option<PathBuf>,
    /// Faults to inject from the start (see [`FaultPlan`]); the admin endpoint
    /// `POST /_sim/faults` replaces them while the server runs.
    pub faults: FaultPlan,
    /// Called after each committed mutating call, before its response is written.
    pub on_commit: Option<CommitHook>,
}

/// Observer of committed mutating calls: called with `k` (1-based, counted over the
/// server's lifetime) and the action (`oss:PUT` for OSS, `connector:POST <route>` for the
/// vendor's Billing Center connector) after the change is made and
/// persisted, and before the response is written, so a test can kill the client right
/// there. A mutating call is committed when it succeeded (also when a fault then loses its
/// response).
#[derive(Clone)]
pub struct CommitHook(pub Arc<CommitFn>);

/// The function a [`CommitHook`] calls: `(k, action)`.
pub type CommitFn = dyn Fn(u64, &str) + Send + Sync;

impl CommitHook {
    /// Wraps `f`.
    pub fn new(f: impl Fn(u64, &str) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl std::fmt::Debug for CommitHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitHook")
    }
}

struct App {
    world: Arc<Mutex<World>>,
    options: SimOptions,
    faults: std::sync::Mutex<Faults>,
    committed: AtomicU64,
}

impl App {
    fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a committed mutating call, tells the observer, and says whether the fault
    /// plan loses its response.
    fn committed(&self, action: &str) -> bool {
        let k = self.committed.fetch_add(1, Ordering::SeqCst) + 1;
        let lose = self.faults().lose(action, k);
        if let Some(hook) = &self.options.on_commit {
            (hook.0)(k, action);
        }
        lose
    }
}

/// Serves the emulator on `listener` until `shutdown` completes, with default options.
///
/// # Errors
/// When the listener fails.
pub async fn serve(
    listener: TcpListener,
    world: Arc<Mutex<World>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, world, SimOptions::default(), shutdown).await
}

/// Serves the emulator on `listener` until `shutdown` completes.
///
/// # Errors
/// When the listener fails.
pub async fn serve_with(
    listener: TcpListener,
    world: Arc<Mutex<World>>,
    options: SimOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let faults = std::sync::Mutex::new(Faults::new(options.faults.clone()));
    let app = Arc::new(App {
        world,
        options,
        faults,
        committed: AtomicU64::new(0),
    });
    let router = Router::new().fallback(handle).with_state(app);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// A running emulator started by [`spawn`].
#[derive(Debug)]
pub struct SimHandle {
    /// The bound loopback address.
    pub addr: SocketAddr,
    /// The world it serves (lock it to inspect or mutate between requests).
    pub world: Arc<Mutex<World>>,
    shutdown: Option<oneshot::Sender<()>>,
    join: JoinHandle<std::io::Result<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:<port>`: the endpoint override for clients.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server gracefully and waits for it.
    ///
    /// # Errors
    /// [`Error::Server`] when the server failed.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.join.await {
            Ok(r) => r.map_err(Error::Server),
            Err(e) => Err(Error::Server(std::io::Error::other(e.to_string()))),
        }
    }
}

/// Starts an emulator serving `world` on `127.0.0.1:0` in the current tokio runtime.
///
/// # Errors
/// [`Error::Server`] when the port cannot be bound.
pub async fn spawn(world: World) -> Result<SimHandle> {
    spawn_shared(Arc::new(Mutex::new(world)), SimOptions::default()).await
}

/// Like [`spawn`], for a world shared with the caller and with options.
///
/// # Errors
/// [`Error::Server`] when the port cannot be bound.
pub async fn spawn_shared(world: Arc<Mutex<World>>, options: SimOptions) -> Result<SimHandle> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(Error::Server)?;
    let addr = listener.local_addr().map_err(Error::Server)?;
    let (tx, rx) = oneshot::channel::<()>();
    let join = tokio::spawn(serve_with(listener, world.clone(), options, async move {
        let _ = rx.await;
    }));
    Ok(SimHandle {
        addr,
        world,
        shutdown: Some(tx),
        join,
    })
}

fn header_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        out.entry(name.as_str().to_ascii_lowercase())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    out.into_iter()
        .map(|(k, mut v)| {
            v.sort();
            (k, v.join(","))
        })
        .collect()
}

fn pairs(s: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_ascii_uppercase()
}

fn persist(app: &App, world: &World) {
    if let Some(path) = &app.options.persist_to
        && let Err(e) = world.save(path)
    {
        tracing::warn!(error = %e, "cannot persist the emulator world");
    }
}

/// `GET /_sim/faults` shows the fault plan, `POST /_sim/faults` (JSON body) replaces it;
/// only from a loopback peer.
fn admin(app: &App, method: &Method, peer: SocketAddr, body: &Bytes) -> Response {
    let json = vec![("content-type".to_owned(), "application/json".to_owned())];
    if !peer.ip().is_loopback() {
        return build(
            403,
            json,
            json!({"Code": "Forbidden", "Message": "the admin endpoint only answers loopback peers"})
                .to_string(),
        );
    }
    match *method {
        Method::GET => {}
        Method::POST | Method::PUT => match FaultPlan::from_json(&String::from_utf8_lossy(body)) {
            Ok(plan) => app.faults().set(plan),
            Err(e) => {
                return build(
                    400,
                    json,
                    json!({"Code": "InvalidFaultPlan", "Message": e.to_string()}).to_string(),
                );
            }
        },
        _ => {
            return build(
                405,
                json,
                json!({"Code": "MethodNotAllowed", "Message": "use GET or POST"}).to_string(),
            );
        }
    }
    let plan = serde_json::to_string(app.faults().plan()).unwrap_or_default();
    build(200, json, plan)
}

/// `POST /_sim/console` (JSON [`ConsoleOp`]) applies a console command to the world under
/// its lock and persists it; answers the [`crate::ConsoleOutcome`], or 400
/// `InvalidConsoleCommand` (not a command) / `ConsoleCommandFailed` (the command failed:
/// nothing changed). Only from a loopback peer.
async fn admin_console(app: &App, method: &Method, peer: SocketAddr, body: &Bytes) -> Response {
    let json = vec![("content-type".to_owned(), "application/json".to_owned())];
    let refuse = |status: u16, code: &str, message: String| {
        build(
            status,
            json.clone(),
            json!({"Code": code, "Message": message}).to_string(),
        )
    };
    if !peer.ip().is_loopback() {
        return refuse(
            403,
            "Forbidden",
            "the admin endpoint only answers loopback peers".to_owned(),
        );
    }
    if *method != Method::POST {
        return refuse(405, "MethodNotAllowed", "use POST".to_owned());
    }
    let op: crate::ConsoleOp = match serde_json::from_slice(body) {
        Ok(op) => op,
        Err(e) => return refuse(400, "InvalidConsoleCommand", e.to_string()),
    };
    let mut world = app.world.lock().await;
    // A failed command may have changed part of a copy only: apply to a copy, keep it on
    // success.
    let mut changed = world.clone();
    match changed.console(&op) {
        Ok(outcome) => {
            *world = changed;
            persist(app, &world);
            drop(world);
            build(
                200,
                json,
                serde_json::to_string(&outcome).unwrap_or_default(),
            )
        }
        Err(e) => refuse(400, "ConsoleCommandFailed", e.to_string()),
    }
}

fn oss_error(status: u16, code: &str, message: &str) -> (u16, Vec<(String, String)>, String) {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{code}</Code>\n  <Message>{message}</Message>\n  <RequestId>{}</RequestId>\n</Error>\n",
        request_id()
    );
    (
        status,
        vec![("content-type".to_owned(), "application/xml".to_owned())],
        body,
    )
}

async fn handle(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if uri.path() == "/_sim/faults" {
        return admin(&app, &method, peer, &body);
    }
    if uri.path() == "/_sim/console" {
        return admin_console(&app, &method, peer, &body).await;
    }
    let headers = header_map(&headers);
    if uri.path().starts_with("/latest/") {
        let mut world = app.world.lock().await;
        let resp = api::sts::metadata(
            &mut world,
            method.as_str(),
            uri.path(),
            headers
                .get("x-aliyun-ecs-metadata-token")
                .map(String::as_str),
        );
        if resp.status == 200 && resp.json {
            persist(&app, &world);
        }
        drop(world);
        let content_type = if resp.json {
            "application/json"
        } else {
            "text/plain"
        };
        return build(
            resp.status,
            vec![("content-type".to_owned(), content_type.to_owned())],
            resp.body,
        );
    }
    let query = uri.query().map(pairs).unwrap_or_default();
    let host = headers.get("host").cloned().unwrap_or_default();
    let authorization = headers
        .get("authorization")
        .map(String::as_str)
        .unwrap_or_default();
    if uri.path().starts_with(crate::vendor::PREFIX) {
        let mut world = app.world.lock().await;
        let resp = world.handle_vendor_http(
            method.as_str(),
            uri.path(),
            &query,
            headers.get("authorization").map(String::as_str),
            &body,
        );
        if resp.mutated {
            persist(&app, &world);
        }
        drop(world);
        // The connector's changes are committed calls too (`connector:POST billing-accounts`),
        // so a test can kill the client between a vendor call and its recording.
        let connector = uri
            .path()
            .strip_prefix("/_vendor/connector/v1/")
            .filter(|_| method != Method::GET);
        if let Some(route) = connector
            && (200..300).contains(&resp.status)
            && app.committed(&format!("connector:{method} {route}"))
        {
            return build(
                503,
                vec![("content-type".to_owned(), "application/json".to_owned())],
                json!({"error": {"code": "service_unavailable", "message": "the connector is unavailable"}})
                    .to_string(),
            );
        }
        return build(
            resp.status,
            vec![("content-type".to_owned(), "application/json".to_owned())],
            resp.body.to_string(),
        );
    }
    if authorization.starts_with("OSS ") || authorization.starts_with("OSS4-HMAC-SHA256") {
        let path = percent_encoding::percent_decode_str(uri.path())
            .decode_utf8_lossy()
            .into_owned();
        let req = api::oss::OssRequest {
            method: method.as_str(),
            host: &host,
            path: &path,
            query: &query,
            headers: &headers,
            body: &body,
        };
        let oss_action = format!("oss:{}", method.as_str());
        let delay = app.faults().latency(&oss_action);
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        let mut world = app.world.lock().await;
        let resp = api::oss::handle(&mut world, &req);
        if resp.mutated {
            persist(&app, &world);
        }
        drop(world);
        let mutating = matches!(method, Method::PUT | Method::POST | Method::DELETE);
        if mutating && (200..300).contains(&resp.status) && app.committed(&oss_action) {
            let (status, headers, body) = oss_error(
                503,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
            );
            return build(status, headers, body);
        }
        return build(resp.status, resp.headers, resp.body);
    }
    let content_type = headers
        .get("content-type")
        .map(String::as_str)
        .unwrap_or_default();
    let form = if content_type.starts_with("application/x-www-form-urlencoded") {
        pairs(&String::from_utf8_lossy(&body))
    } else {
        Vec::new()
    };
    let params = Params::new(&query, &form);
    let version = headers
        .get("x-acs-version")
        .map(String::as_str)
        .or_else(|| params.get("Version"))
        .unwrap_or_default();
    let action = headers
        .get("x-acs-action")
        .map(String::as_str)
        .or_else(|| params.get("Action"))
        .unwrap_or_default();
    let product = api::product(version);
    let host_id = {
        let bare = host.split(':').next().unwrap_or_default();
        if bare.ends_with(".aliyuncs.com") {
            bare.to_owned()
        } else {
            api::product_host(product.unwrap_or_default()).to_owned()
        }
    };
    let request_id = request_id();
    let delay = app.faults().latency(action);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let rpc = RpcRequest {
        method: method.as_str(),
        path: uri.path(),
        query: &query,
        form: &form,
        headers: &headers,
        body: &body,
    };
    let mut world = app.world.lock().await;
    let mut lost = false;
    let result = (|| -> Result<Value, ApiError> {
        let uid = if api::is_anonymous(product, action) {
            String::new()
        } else {
            auth::authenticate(&mut world, &rpc)?
        };
        world.record_call(action);
        let Some(product) = product else {
            return Err(if version.is_empty() {
                ApiError::missing("Version")
            } else {
                ApiError::bad_request(
                    "NoSuchVersion",
                    format!("The API version {version:?} does not exist."),
                )
            });
        };
        if action.is_empty() {
            return Err(ApiError::missing("Action"));
        }
        let now = world.now_ms();
        world.collect_garbage(now);
        let fault = world.take_fault(action);
        match fault {
            Some(FaultKind::Throttle) => {
                return Err(ApiError {
                    retry_after_ms: Some(1000),
                    ..ApiError::bad_request(
                        "Throttling.User",
                        "Request was denied due to user flow control.",
                    )
                });
            }
            Some(FaultKind::InternalError) => {
                return Err(ApiError::internal(
                    "The request processing has failed due to some unknown error.",
                ));
            }
            Some(FaultKind::LoseResponse) | None => {}
        }
        let workspace = (action == "CreateInstance")
            .then(|| params.get("InstanceName"))
            .flatten();
        let injected = app.faults().before(action, workspace);
        if let Some(Injected {
            status,
            code,
            message,
            retry_after_ms,
        }) = injected
        {
            return Err(ApiError {
                retry_after_ms,
                ..ApiError::new(status, &code, message)
            });
        }
        let assumed = auth::access_key_id(&rpc)
            .and_then(|ak| world.sts_sessions.get(&ak))
            .filter(|_| !uid.is_empty())
            .map(|s| (s.role.clone(), s.session_name.clone()));
        let mut call = Call {
            world: &mut world,
            uid: uid.clone(),
            params: &params,
            host: &host,
            now,
            assumed,
        };
        let value = api::dispatch(product, action, &mut call)?;
        lost = fault == Some(FaultKind::LoseResponse);
        if action == "CreateInstance"
            && let Some(name) = params.get("InstanceName")
            && app.faults().stuck(name)
            && let Some(id) = value
                .pointer("/OrderInfo/InstanceId")
                .and_then(Value::as_str)
        {
            world.hold_creating(&uid, id);
        }
        Ok(value)
    })();
    let commit = result.is_ok() && api::is_mutating(action);
    if commit || (result.is_ok() && api::issues_credentials(product, action)) {
        persist(&app, &world);
    }
    drop(world);
    if commit && app.committed(action) {
        lost = true;
    }
    let result = if lost {
        Err(ApiError::new(
            503,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        ))
    } else {
        result
    };
    let mut headers = vec![
        (
            "content-type".to_owned(),
            "application/json;charset=utf-8".to_owned(),
        ),
        ("x-acs-request-id".to_owned(), request_id.clone()),
    ];
    let (status, body) = match result {
        Ok(Value::Object(mut m)) => {
            m.insert("RequestId".to_owned(), Value::String(request_id));
            (200, Value::Object(m))
        }
        Ok(other) => (200, other),
        Err(e) => {
            tracing::debug!(code = %e.code, action, "emulated API error");
            if let Some(ms) = e.retry_after_ms {
                headers.push(("x-acs-retry-after".to_owned(), ms.to_string()));
            }
            let recommend = api::recommend(&e.code, product, &request_id);
            (
                e.status,
                json!({
                    "RequestId": request_id,
                    "HostId": host_id,
                    "Code": e.code,
                    "Message": e.message,
                    "Recommend": recommend,
                }),
            )
        }
    };
    build(status, headers, body.to_string())
}

fn build(status: u16, headers: Vec<(String, String)>, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(k),
            HeaderValue::try_from(v),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
