//! The batched refresh is pipelined: a per-resource read starts as soon as what it needs is
//! in, not when every listing and the account facts are. A small server on loopback holds
//! back an answer of the account facts until reads that need only a listing have arrived
//! (a refresh that waited for the facts first would never send them: the hold's generous
//! timeout then fails the test); of several failures, the first in the refresh's fixed
//! order wins, not the first in time.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use flinkform_alicloud::AliProvider;
use flinkform_alicloud::client::ClientOptions;
use flinkform_alicloud::credentials::Credentials;
use flinkform_alicloud::endpoint::Endpoints;
use flinkform_core::{
    AccountName, Address, Attrs, CloudId, DesiredResource, Mode, Observation, ObserveRequest,
    Provider, RecordedResource, Region, Value,
};
use tokio::sync::watch;

/// How long the server holds an answer back at most: far longer than the refresh needs
/// (and shorter than the client's timeout).
const HOLD: Duration = Duration::from_secs(20);

/// What the server has seen: the first `DescribeNamespaces` of the workspace found by name
/// (`f-2`), and the first tag read of bucket `bkt`.
#[derive(Debug, Default, Clone, Copy)]
struct Arrived {
    namespaces: bool,
    tags: bool,
}

#[derive(Clone)]
struct Server {
    arrived: Arc<watch::Sender<Arrived>>,
    /// Whether each held answer was released because the reads it waited for arrived.
    released: Arc<Mutex<Vec<bool>>>,
    /// Actions in the order they arrived.
    log: Arc<Mutex<Vec<String>>>,
    /// Fail the balance (after the tag read was answered) and the tag read.
    fail: bool,
}

fn json(status: u16, body: &serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json;charset=utf-8")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn xml(status: u16, body: &str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(Body::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{body}"
        )))
        .unwrap()
}

fn instance(id: &str, name: &str, region: &str) -> serde_json::Value {
    serde_json::json!({
        "InstanceId": id, "InstanceName": name, "Region": region, "ZoneId": format!("{region}a"),
        "VpcId": "vpc-1", "VSwitchIds": ["vsw-1"], "ChargeType": "POST",
        "ResourceSpec": {"Cpu": 16, "MemoryGB": 64}, "ClusterStatus": "RUNNING",
        "Storage": {"Oss": {"Bucket": "bkt"}}
    })
}

impl Server {
    /// Waits (at most [`HOLD`]) until the namespaces of `f-2` and the tags of `bkt` were
    /// asked for (`fail`: until the tag read was answered), and notes whether they were.
    async fn hold(&self) {
        let mut rx = self.arrived.subscribe();
        let ready = tokio::time::timeout(
            HOLD,
            rx.wait_for(|a| {
                if self.fail {
                    a.tags
                } else {
                    a.namespaces && a.tags
                }
            }),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        self.released.lock().unwrap().push(ready);
    }
}

async fn handle(State(server): State<Server>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut params: BTreeMap<String, String> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    params.extend(url::form_urlencoded::parse(&body).into_owned());

    if header("authorization").starts_with("OSS ") {
        let host = header("host");
        if host == "bkt.oss-ap-southeast-1.aliyuncs.com" && params.contains_key("tagging") {
            server.log.lock().unwrap().push("GetBucketTags".to_owned());
            let resp = if server.fail {
                xml(
                    500,
                    "<Error><Code>InternalError</Code><Message>tags</Message><RequestId>T</RequestId></Error>",
                )
            } else {
                xml(
                    200,
                    "<Tagging><TagSet><Tag><Key>team</Key><Value>data</Value></Tag></TagSet></Tagging>",
                )
            };
            server.arrived.send_modify(|a| a.tags = true);
            return resp;
        }
        assert_eq!(host, "oss-ap-southeast-1.aliyuncs.com", "{parts:?}");
        server.log.lock().unwrap().push("ListBuckets".to_owned());
        return xml(
            200,
            "<ListAllMyBucketsResult><Owner><ID>1</ID></Owner><Buckets>\
             <Bucket><Name>bkt</Name><Location>oss-ap-southeast-1</Location><Region>ap-southeast-1</Region></Bucket>\
             </Buckets></ListAllMyBucketsResult>",
        );
    }

    let action = header("x-acs-action");
    server.log.lock().unwrap().push(action.clone());
    match action.as_str() {
        "DescribeInstances" => {
            let listed = match params.get("Region").map(String::as_str) {
                Some("ap-southeast-1") => vec![
                    instance("f-1", "ws", "ap-southeast-1"),
                    instance("f-2", "ws2", "ap-southeast-1"),
                ],
                Some("eu-central-1") => vec![instance("f-3", "ws3", "eu-central-1")],
                _ => Vec::new(),
            };
            json(
                200,
                &serde_json::json!({"RequestId": "D", "TotalCount": listed.len(), "Instances": listed}),
            )
        }
        "DescribeNamespaces" => {
            let id = params.get("InstanceId").cloned().unwrap_or_default();
            let name = if id == "f-1" { "p" } else { "q" };
            let resp = json(
                200,
                &serde_json::json!({"RequestId": "N", "TotalCount": 1, "Namespaces": [
                    {"Namespace": name, "Status": "SUCCESS", "ResourceSpec": {"Cpu": 4, "MemoryGB": 16}}
                ]}),
            );
            if id == "f-2" {
                server.arrived.send_modify(|a| a.namespaces = true);
            }
            resp
        }
        "GetCallerIdentity" => json(
            200,
            &serde_json::json!({"RequestId": "I", "AccountId": "5123456789012345"}),
        ),
        "QueryAccountBalance" => {
            server.hold().await;
            if server.fail {
                return json(
                    500,
                    &serde_json::json!({"RequestId": "B", "Code": "InternalError", "Message": "balance"}),
                );
            }
            json(
                200,
                &serde_json::json!({"RequestId": "B", "Code": "200", "Success": true,
                    "Data": {"AvailableAmount": "99.50", "Currency": "USD"}}),
            )
        }
        "DescribeSupportedRegions" => json(
            200,
            &serde_json::json!({"RequestId": "R", "Success": true,
                "Regions": [{"Region": "ap-southeast-1"}, {"Region": "eu-central-1"}]}),
        ),
        "DescribeSupportedZones" => json(
            200,
            &serde_json::json!({"RequestId": "Z", "ZoneIds": ["ap-southeast-1a"]}),
        ),
        other => panic!("unexpected {other}"),
    }
}

async fn serve(fail: bool) -> (String, Server) {
    let server = Server {
        arrived: Arc::new(watch::Sender::new(Arrived::default())),
        released: Arc::default(),
        log: Arc::default(),
        fail,
    };
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), server)
}

fn provider(url: &str) -> AliProvider {
    AliProvider::new(
        Endpoints::Override(url.to_owned()),
        BTreeMap::from([(
            AccountName::new("main").unwrap(),
            Credentials::new("LTAItestkey", "test-secret-value"),
        )]),
        ClientOptions {
            read_retries: 0,
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

fn region(s: &str) -> Region {
    Region::new(s).unwrap()
}

/// A recorded workspace `ws` with its project `ws/p`, a desired project `ws2/q` whose
/// workspace is found by name in the listing, a workspace `ws3` to create whose name
/// another region has (found there once the facts tell the regions), a recorded bucket
/// that stays (its objects are not counted).
/// The resources and accounts of the request (owned here; [`Resources::request`] borrows).
struct Resources {
    desired: Vec<DesiredResource>,
    recorded: Vec<RecordedResource>,
    accounts: BTreeMap<AccountName, BTreeSet<Region>>,
}

impl Resources {
    fn request(&self) -> ObserveRequest<'_> {
        ObserveRequest {
            desired: self.desired.iter().collect(),
            recorded: self.recorded.iter().collect(),
            accounts: self.accounts.clone(),
        }
    }
}

fn request() -> Resources {
    let main = AccountName::new("main").unwrap();
    let sg = region("ap-southeast-1");
    let name = |n: &str| Attrs::from([("name".to_owned(), Value::str(n))]);
    let recorded = |addr: &str, id: &str, attrs: Attrs| RecordedResource {
        addr: addr.parse().unwrap(),
        mode: Mode::Managed,
        account: main.clone(),
        region: Some(sg.clone()),
        cloud_id: CloudId::new(id).unwrap(),
        attrs,
        depends_on: BTreeSet::new(),
        protect: false,
    };
    let desired = |addr: &str, attrs: Attrs| DesiredResource {
        addr: addr.parse().unwrap(),
        mode: Mode::Managed,
        account: main.clone(),
        region: Some(sg.clone()),
        attrs,
        depends_on: BTreeSet::new(),
        protect: false,
        origin: None,
    };
    Resources {
        desired: vec![
            desired("flink_project.ws2/q", name("q")),
            desired("flink_workspace.ws3", name("ws3")),
            desired(
                "oss_bucket.bkt",
                Attrs::from([
                    ("name".to_owned(), Value::str("bkt")),
                    ("region".to_owned(), Value::str("ap-southeast-1")),
                ]),
            ),
        ],
        recorded: vec![
            recorded("flink_workspace.ws", "f-1", name("ws")),
            recorded("flink_project.ws/p", "f-1/p", name("p")),
            recorded("oss_bucket.bkt", "bkt", name("bkt")),
        ],
        accounts: BTreeMap::from([(main.clone(), BTreeSet::from([sg.clone()]))]),
    }
}

#[tokio::test]
async fn reads_that_need_only_a_listing_do_not_wait_for_the_account_facts() {
    let (url, server) = serve(false).await;
    let observed = provider(&url).observe(&request().request()).await.unwrap();

    // The balance was held until the namespaces of the workspace found in its listing and
    // the bucket's tags were asked for: those did not wait for the facts.
    assert_eq!(*server.released.lock().unwrap(), [true]);

    // And the outcome is the whole refresh's.
    let found = |a: &str| match &observed.resources[&a.parse::<Address>().unwrap()] {
        Observation::Found(f) => f.clone(),
        other => panic!("{a}: {other:?}"),
    };
    assert_eq!(found("flink_workspace.ws").cloud_id.as_str(), "f-1");
    assert_eq!(found("flink_project.ws/p").cloud_id.as_str(), "f-1/p");
    assert_eq!(found("flink_project.ws2/q").cloud_id.as_str(), "f-2/q");
    // Found in another region, which only the facts name (listed after them).
    assert_eq!(found("flink_workspace.ws3").cloud_id.as_str(), "f-3");
    assert_eq!(
        found("oss_bucket.bkt").attrs["tags"],
        Value::str_map([("team", "data")])
    );
    let facts = &observed.accounts[&AccountName::new("main").unwrap()];
    assert_eq!(facts.balance.as_ref().map(|b| b.cents), Some(9950));
    assert_eq!(
        facts.uid.as_ref().map(|u| u.as_str()),
        Some("5123456789012345")
    );

    // One listing of the own region and one of the other region, two namespace reads,
    // the bucket listing and its tags, four facts (the identity among them is the session's
    // call: not counted in the refresh's).
    let log = server.log.lock().unwrap().clone();
    let count = |a: &str| log.iter().filter(|x| *x == a).count();
    assert_eq!(count("DescribeInstances"), 2, "{log:?}");
    assert_eq!(count("DescribeNamespaces"), 2, "{log:?}");
    assert_eq!(count("GetBucketTags"), 1, "{log:?}");
    assert_eq!(log.len(), 10, "{log:?}");
    assert_eq!(observed.api_calls, 9, "{log:?}");
    // The other region is listed only after the facts named it.
    let balance = log.iter().position(|a| a == "QueryAccountBalance").unwrap();
    let last_listing = log.iter().rposition(|a| a == "DescribeInstances").unwrap();
    assert!(last_listing > balance, "{log:?}");
}

#[tokio::test]
async fn the_first_failure_in_the_refresh_order_wins_not_the_first_in_time() {
    let (url, server) = serve(true).await;
    let err = provider(&url)
        .observe(&request().request())
        .await
        .unwrap_err();
    // The tag read failed first (the balance was held until it was answered), but the
    // account facts come before the buckets' tags in the refresh's order.
    assert_eq!(*server.released.lock().unwrap(), [true]);
    assert_eq!(err.action, "QueryAccountBalance", "{err:?}");
}
