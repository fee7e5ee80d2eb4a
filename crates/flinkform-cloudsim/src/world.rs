//! The emulated cloud's state: accounts with their keys, balances, activations, RAM roles,
//! VPCs, vSwitches, Flink workspaces and namespaces, plus the global bucket namespace, the
//! cloud clock and the anti-replay nonce log. Serialised as JSON so that separate processes
//! see the same cloud; statuses are derived from timestamps when read, so a world loaded
//! later has moved on meanwhile.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::regions::Site;
use crate::tags::Tags;

/// Version of the world file format.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Default speed of cloud time relative to wall-clock time.
pub const DEFAULT_TIME_SCALE: f64 = 60.0;
/// The emulator's default region (used for path-style OSS and requests without a region).
pub const DEFAULT_REGION: &str = "ap-southeast-1";
/// Anti-replay window for nonces and request dates, in wall-clock milliseconds.
pub(crate) const REPLAY_WINDOW_MS: i64 = 15 * 60 * 1000;
/// At most this many nonces are remembered.
const MAX_NONCES: usize = 10_000;
/// Cloud milliseconds a VPC or vSwitch stays `Pending`.
pub(crate) const NETWORK_PENDING_MS: i64 = 2_000;
/// Cloud milliseconds a workspace stays `DELETING` before it is gone.
pub(crate) const INSTANCE_DELETING_MS: i64 = 60_000;
/// Cloud milliseconds a namespace stays `CREATING` (and `DELETING`).
pub(crate) const NAMESPACE_TRANSITION_MS: i64 = 20_000;
/// Cloud milliseconds after CreateInstance during which the order is `NOT_INIT`.
pub(crate) const ORDER_INIT_MS: i64 = 60_000;
/// The id of the pre-existing VPC every account gets in `ap-southeast-1`.
pub const EXISTING_VPC_ID: &str = "vpc-sim-existing";
/// The id of the pre-existing vSwitch every account gets in `ap-southeast-1a`.
pub const EXISTING_VSWITCH_ID: &str = "vsw-sim-existing";

/// Wall-clock time now, in Unix milliseconds.
#[must_use]
pub(crate) fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Formats Unix milliseconds as `YYYY-MM-DDThh:mm:ssZ`.
#[must_use]
pub(crate) fn iso(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `ms` plus `months` calendar months (UTC): the same day of the month and time of day, the
/// day clamped to the end of a shorter month (Jan 31 + 1 month = Feb 28 or 29; Feb 29 + 12
/// months = Feb 28). This is how a subscription's term ends.
#[must_use]
pub fn add_months(ms: i64, months: u32) -> i64 {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .and_then(|t| t.checked_add_months(chrono::Months::new(months)))
        .map_or(i64::MAX, |t| t.timestamp_millis())
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a hash of a string, for per-resource durations derived from its id.
pub(crate) fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    splitmix64(h)
}

/// Cloud time: `anchor_cloud + (wall − anchor_wall) × scale + offset`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CloudClock {
    scale: f64,
    anchor_wall_ms: i64,
    anchor_cloud_ms: i64,
    offset_ms: i64,
}

impl CloudClock {
    fn at(&self, wall: i64) -> i64 {
        // Cloud time stays far below 2^53 ms, so the float round trip is exact enough.
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let scaled = ((wall - self.anchor_wall_ms) as f64 * self.scale) as i64;
        self.anchor_cloud_ms + scaled + self.offset_ms
    }
}

/// Credentials of an emulated account, as `ensure_account` hands them out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountKeys {
    /// The AccessKey id.
    pub access_key_id: String,
    /// The AccessKey secret.
    pub access_key_secret: String,
    /// The account's 16-digit UID.
    pub uid: String,
}

impl AccountKeys {
    /// An account's credentials: its first key (empty strings when it has none).
    pub(crate) fn first_of(uid: String, key: Option<AccessKey>) -> Self {
        let (access_key_id, access_key_secret) =
            key.map_or_else(Default::default, |k| (k.id, k.secret));
        Self {
            access_key_id,
            access_key_secret,
            uid,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccessKey {
    pub(crate) id: String,
    pub(crate) secret: String,
}

/// A CPU/memory specification (`1 CU = 1 core + 4 GiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Spec {
    pub(crate) cpu: u32,
    pub(crate) memory_gb: u32,
}

impl Spec {
    pub(crate) fn cu(cpu: u32) -> Self {
        Self {
            cpu,
            memory_gb: cpu.saturating_mul(4),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AttachedPolicy {
    pub(crate) policy_type: String,
    pub(crate) attached_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Role {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) policy_document: String,
    pub(crate) max_session_duration: u32,
    pub(crate) created_ms: i64,
    pub(crate) updated_ms: i64,
    pub(crate) policies: BTreeMap<String, AttachedPolicy>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Vpc {
    pub(crate) id: String,
    pub(crate) region: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) cidr: String,
    pub(crate) vrouter_id: String,
    pub(crate) route_table_id: String,
    pub(crate) created_ms: i64,
    /// Tags, by key.
    #[serde(default)]
    pub(crate) tags: Tags,
    /// Its resource group; empty: the account's default group.
    #[serde(default)]
    pub(crate) resource_group_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VSwitch {
    pub(crate) id: String,
    pub(crate) vpc_id: String,
    pub(crate) region: String,
    pub(crate) zone: String,
    pub(crate) cidr: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) created_ms: i64,
    /// Tags, by key.
    #[serde(default)]
    pub(crate) tags: Tags,
    /// Its resource group; empty: the account's default group.
    #[serde(default)]
    pub(crate) resource_group_id: String,
}

/// Network resources are `Pending` for a moment of cloud time, then `Available`.
pub(crate) fn network_status(created_ms: i64, now: i64) -> &'static str {
    if now < created_ms + NETWORK_PENDING_MS {
        "Pending"
    } else {
        "Available"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Bucket {
    pub(crate) name: String,
    pub(crate) owner_uid: String,
    pub(crate) region: String,
    pub(crate) storage_class: String,
    pub(crate) created_ms: i64,
    /// Tags, by key.
    #[serde(default)]
    pub(crate) tags: Tags,
    /// Its resource group; empty: the owner's default group.
    #[serde(default)]
    pub(crate) resource_group_id: String,
    /// Objects by key.
    #[serde(default)]
    pub(crate) objects: BTreeMap<String, Object>,
}

impl Bucket {
    pub(crate) fn new(name: &str, owner_uid: &str, region: &str, created_ms: i64) -> Self {
        Self {
            name: name.to_owned(),
            owner_uid: owner_uid.to_owned(),
            region: region.to_owned(),
            storage_class: "Standard".to_owned(),
            created_ms,
            tags: Tags::new(),
            resource_group_id: String::new(),
            objects: BTreeMap::new(),
        }
    }
}

/// An OSS object: its size and ETag, and its bytes only when small (the world file stays
/// small; a larger object reads back as zeros).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Object {
    pub(crate) size: u64,
    /// Upper-case hex MD5 of the content, without quotes.
    pub(crate) etag: String,
    pub(crate) last_modified_ms: i64,
    pub(crate) content_type: String,
    /// Base64 of the content, for objects of at most [`SMALL_OBJECT_BYTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) data: Option<String>,
}

/// Objects up to this size keep their bytes in the world.
pub(crate) const SMALL_OBJECT_BYTES: usize = 1024;

/// The directories the service writes into a workspace's bucket when it becomes `RUNNING`.
pub(crate) const WORKSPACE_DIRECTORIES: [&str; 4] =
    ["artifacts/", "flink-jobs/", "flink-savepoints/", "logs/"];

/// ETag of an empty object.
pub(crate) const EMPTY_ETAG: &str = "D41D8CD98F00B204E9800998ECF8427E";

/// A resource group of an account (besides its default group).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResourceGroup {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) created_ms: i64,
}

/// `PRE` (subscription) or `POST` (pay-as-you-go).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ChargeType {
    Pre,
    Post,
}

impl ChargeType {
    pub(crate) fn wire(self) -> &'static str {
        match self {
            Self::Pre => "PRE",
            Self::Post => "POST",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Renewal {
    /// `AutoRenewal`, `ManualRenewal` or `NotRenewal`.
    pub(crate) status: String,
    pub(crate) period: u32,
    /// `M` or `Y`.
    pub(crate) unit: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Namespace {
    pub(crate) name: String,
    pub(crate) spec: Option<Spec>,
    /// Before this cloud time the namespace does not exist yet (the default namespace
    /// appears when its workspace becomes `RUNNING`).
    pub(crate) visible_ms: i64,
    pub(crate) ready_ms: i64,
    pub(crate) modified_ms: i64,
    pub(crate) deleting_ms: Option<i64>,
}

/// Lifecycle phase of a namespace at some cloud time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NsPhase {
    Hidden,
    Creating,
    Success,
    Deleting,
    Gone,
}

impl NsPhase {
    pub(crate) fn exists(self) -> bool {
        matches!(self, Self::Creating | Self::Success | Self::Deleting)
    }
    pub(crate) fn wire(self) -> &'static str {
        match self {
            Self::Creating | Self::Hidden => "CREATING",
            Self::Success => "SUCCESS",
            Self::Deleting | Self::Gone => "DELETING",
        }
    }
}

impl Namespace {
    pub(crate) fn phase(&self, now: i64) -> NsPhase {
        if let Some(d) = self.deleting_ms {
            return if now >= d + NAMESPACE_TRANSITION_MS {
                NsPhase::Gone
            } else {
                NsPhase::Deleting
            };
        }
        if now < self.visible_ms {
            NsPhase::Hidden
        } else if now < self.ready_ms {
            NsPhase::Creating
        } else {
            NsPhase::Success
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Instance {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) region: String,
    pub(crate) zone: String,
    pub(crate) vpc_id: String,
    pub(crate) vswitch_ids: Vec<String>,
    pub(crate) charge: ChargeType,
    pub(crate) spec: Option<Spec>,
    pub(crate) bucket: String,
    pub(crate) created_ms: i64,
    pub(crate) ready_ms: i64,
    pub(crate) deleting_ms: Option<i64>,
    pub(crate) expires_ms: Option<i64>,
    pub(crate) pricing_cycle: Option<String>,
    pub(crate) duration: Option<u32>,
    pub(crate) renewal: Renewal,
    #[serde(deserialize_with = "crate::tags::deserialize_compat")]
    pub(crate) tags: Tags,
    pub(crate) architecture: String,
    pub(crate) resource_group_id: String,
    pub(crate) order_id: u64,
    pub(crate) storage_instance_id: String,
    pub(crate) storage_order_id: u64,
    pub(crate) namespaces: BTreeMap<String, Namespace>,
    /// Whether the service has written its directories into the bucket.
    #[serde(default)]
    pub(crate) directories_written: bool,
}

/// Lifecycle phase of a workspace at some cloud time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InstancePhase {
    Creating,
    Running,
    Deleting,
    Gone,
}

impl InstancePhase {
    pub(crate) fn wire(self) -> &'static str {
        match self {
            Self::Creating => "CREATING",
            Self::Running => "RUNNING",
            Self::Deleting => "DELETING",
            Self::Gone => "DELETED",
        }
    }
}

impl Instance {
    pub(crate) fn phase(&self, now: i64) -> InstancePhase {
        if let Some(d) = self.deleting_ms {
            return if now >= d + INSTANCE_DELETING_MS {
                InstancePhase::Gone
            } else {
                InstancePhase::Deleting
            };
        }
        if now < self.ready_ms {
            InstancePhase::Creating
        } else {
            InstancePhase::Running
        }
    }

    pub(crate) fn order_state(&self, now: i64) -> &'static str {
        if self.deleting_ms.is_none() && now < self.created_ms + ORDER_INIT_MS {
            "NOT_INIT"
        } else {
            "NORMAL"
        }
    }

    /// Sum of the CPU of the namespaces that exist (or will, for the default one).
    pub(crate) fn namespaces_cpu(&self, now: i64, except: Option<&str>) -> u32 {
        self.namespaces
            .values()
            .filter(|n| Some(n.name.as_str()) != except)
            .filter(|n| !matches!(n.phase(now), NsPhase::Gone))
            .filter_map(|n| n.spec.map(|s| s.cpu))
            .sum()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Order {
    pub(crate) id: u64,
    pub(crate) instance_id: String,
    pub(crate) kind: String,
    pub(crate) created_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Account {
    pub(crate) name: String,
    pub(crate) uid: String,
    pub(crate) site: Site,
    pub(crate) keys: Vec<AccessKey>,
    /// Available balance in cents of the site's currency.
    pub(crate) balance_cents: i64,
    pub(crate) oss_opened: bool,
    /// The default resource group's id.
    pub(crate) resource_group_id: String,
    /// Resource groups created besides the default one, by id.
    #[serde(default)]
    pub(crate) resource_groups: BTreeMap<String, ResourceGroup>,
    pub(crate) roles: BTreeMap<String, Role>,
    /// OIDC identity providers, by name.
    #[serde(default)]
    pub(crate) oidc_providers: BTreeMap<String, crate::api::sts::OidcProvider>,
    pub(crate) vpcs: BTreeMap<String, Vpc>,
    pub(crate) vswitches: BTreeMap<String, VSwitch>,
    pub(crate) instances: BTreeMap<String, Instance>,
    /// `<Action>:<ClientToken>` → the id of the resource that call created.
    pub(crate) client_tokens: BTreeMap<String, String>,
    pub(crate) orders: BTreeMap<u64, Order>,
}

impl Account {
    /// The workspace called `name` that still exists (in any state but gone).
    pub(crate) fn instance_by_name(&self, name: &str, now: i64) -> Option<&Instance> {
        self.instances
            .values()
            .find(|i| i.name == name && i.phase(now) != InstancePhase::Gone)
    }

    /// The resource group a resource is in: `recorded`, or the default group when empty.
    pub(crate) fn group<'a>(&'a self, recorded: &'a str) -> &'a str {
        if recorded.is_empty() {
            &self.resource_group_id
        } else {
            recorded
        }
    }

    /// Whether `id` is one of the account's resource groups (the default one included).
    pub(crate) fn has_group(&self, id: &str) -> bool {
        id == self.resource_group_id || self.resource_groups.contains_key(id)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct NonceLog {
    seen: BTreeMap<String, i64>,
    order: VecDeque<(i64, String)>,
}

impl NonceLog {
    /// Records `nonce`; `false` if it was seen within the window.
    fn record(&mut self, nonce: &str, wall: i64) -> bool {
        while let Some((t, _)) = self.order.front() {
            if *t + REPLAY_WINDOW_MS < wall || self.order.len() >= MAX_NONCES {
                if let Some((_, n)) = self.order.pop_front() {
                    self.seen.remove(&n);
                }
            } else {
                break;
            }
        }
        if self.seen.contains_key(nonce) {
            return false;
        }
        self.seen.insert(nonce.to_owned(), wall);
        self.order.push_back((wall, nonce.to_owned()));
        true
    }
}

/// The whole emulated cloud. See the module documentation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct World {
    format_version: u32,
    id: String,
    seed: u64,
    serial: u64,
    clock: CloudClock,
    default_region: String,
    /// Accounts by UID.
    pub(crate) accounts: BTreeMap<String, Account>,
    /// Buckets by name: OSS bucket names are global.
    pub(crate) buckets: BTreeMap<String, Bucket>,
    /// The Marketplace and the SaaS vendor behind it.
    #[serde(default)]
    pub(crate) market: crate::market::MarketWorld,
    nonces: NonceLog,
    /// Injected faults, consumed in order by matching requests.
    #[serde(default)]
    faults: Vec<Fault>,
    /// Authenticated requests answered, by action (`CreateInstance`, `oss:PUT`): tests read
    /// it to prove that a run changed nothing.
    #[serde(default)]
    calls: BTreeMap<String, u64>,
    /// Temporary credentials STS and the metadata service issued, by AccessKey id.
    #[serde(default)]
    pub(crate) sts_sessions: BTreeMap<String, crate::api::sts::StsSession>,
    /// The RAM role attached to the emulated ECS instance (its metadata service's role).
    #[serde(default)]
    pub(crate) instance_role: Option<crate::api::sts::InstanceRole>,
    /// Requests refused because their temporary credentials had expired.
    #[serde(default)]
    expired_token_refusals: u64,
    /// IMDSv2 session tokens the metadata service issued (not persisted).
    #[serde(skip)]
    pub(crate) imds_tokens: BTreeSet<String>,
}

/// What an AccessKey id authenticates as.
pub(crate) struct KeyInfo {
    /// The account's UID.
    pub(crate) uid: String,
    /// The key's secret.
    pub(crate) secret: String,
    /// For temporary credentials: their SecurityToken and cloud expiry time.
    pub(crate) session: Option<(String, i64)>,
}

/// What an injected fault does to a matching RPC request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    /// Answer 400 `Throttling.User` with `x-acs-retry-after: 1000`, changing nothing.
    Throttle,
    /// Answer 500 `InternalError`, changing nothing.
    InternalError,
    /// Carry the request out (and persist it), then answer 503 `ServiceUnavailable` as if
    /// the response had been lost on the way back.
    LoseResponse,
}

/// A fault injected into the next `times` RPC requests whose action matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Only requests of this action (e.g. `CreateInstance`); `None` matches every action.
    pub action: Option<String>,
    /// What happens.
    pub kind: FaultKind,
    /// How many more matching requests it affects.
    pub times: u32,
}

/// Counts of the live resources of one account, for tests asserting "no duplicates".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccountSummary {
    /// Profile name.
    pub name: String,
    /// UID.
    pub uid: String,
    /// Flink workspaces that are not gone (CREATING, RUNNING or DELETING).
    pub instances: usize,
    /// Orders placed (CreateInstance and spec changes).
    pub orders: usize,
    /// VPCs.
    pub vpcs: usize,
    /// vSwitches.
    pub vswitches: usize,
    /// Buckets owned.
    pub buckets: usize,
    /// RAM roles.
    pub roles: usize,
    /// Namespaces that exist, over all workspaces.
    pub namespaces: usize,
    /// Whether OSS is activated.
    pub oss_opened: bool,
    /// Available balance in cents.
    pub balance_cents: i64,
}

/// A read-only view of one workspace, for tests and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceInfo {
    /// `f-…` id.
    pub id: String,
    /// Workspace name.
    pub name: String,
    /// Region.
    pub region: String,
    /// `CREATING`, `RUNNING` or `DELETING`.
    pub status: String,
    /// `PRE` or `POST`.
    pub charge_type: String,
    /// Subscription quota in CU (`None` for pay-as-you-go).
    pub cpu: Option<u32>,
    /// Renewal status (`AutoRenewal`, `ManualRenewal`, `NotRenewal`).
    pub renew_status: String,
    /// Namespaces that exist: name → status.
    pub namespaces: BTreeMap<String, String>,
}

impl World {
    /// A new, empty world whose ids and secrets derive from `seed`, with cloud time starting
    /// now and running [`DEFAULT_TIME_SCALE`] times faster than the wall clock.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let now = wall_ms();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&splitmix64(seed).to_le_bytes());
        bytes[8..].copy_from_slice(&splitmix64(seed ^ 0x5555_5555).to_le_bytes());
        Self {
            format_version: FORMAT_VERSION,
            id: uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string(),
            seed,
            serial: 0,
            clock: CloudClock {
                scale: DEFAULT_TIME_SCALE,
                anchor_wall_ms: now,
                anchor_cloud_ms: now,
                offset_ms: 0,
            },
            default_region: DEFAULT_REGION.to_owned(),
            accounts: BTreeMap::new(),
            buckets: BTreeMap::new(),
            market: crate::market::MarketWorld::default(),
            nonces: NonceLog::default(),
            calls: BTreeMap::new(),
            faults: Vec::new(),
            sts_sessions: BTreeMap::new(),
            instance_role: None,
            expired_token_refusals: 0,
            imds_tokens: BTreeSet::new(),
        }
    }

    /// A new, empty world with a random seed (what a fresh `--cloud sim` wants: its id
    /// then differs from every other world's).
    #[must_use]
    pub fn with_random_seed() -> Self {
        let (hi, lo) = uuid::Uuid::new_v4().as_u64_pair();
        Self::new(hi ^ lo)
    }

    /// The world's id (a UUID): a state file records it so that it is never applied to
    /// another world.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The default region.
    #[must_use]
    pub fn default_region(&self) -> &str {
        &self.default_region
    }

    /// Loads a world saved by [`World::save`].
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::CorruptWorld`] when it is not a world.
    pub fn load(path: &Path) -> Result<Self> {
        read_world_file(path, |w: &Self| w.format_version)
    }

    /// Saves the world atomically: a temporary file in the same directory, fsync, rename.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |action: &'static str| {
            move |source| Error::Io {
                action,
                path: path.to_owned(),
                source,
            }
        };
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| Error::CorruptWorld {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
        let mut file = std::fs::File::create(&tmp).map_err(io("create"))?;
        file.write_all(&bytes).map_err(io("write"))?;
        file.sync_all().map_err(io("sync"))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(io("replace"))?;
        Ok(())
    }

    // ---------------------------------------------------------------- time

    /// Cloud time now, in Unix milliseconds.
    #[must_use]
    pub fn now_ms(&self) -> i64 {
        self.clock.at(wall_ms())
    }

    /// How many times faster than the wall clock cloud time runs.
    #[must_use]
    pub fn time_scale(&self) -> f64 {
        self.clock.scale
    }

    /// Changes the time scale from now on (`0` freezes cloud time except for
    /// [`World::advance`], which tests use to control time without sleeping).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a negative or non-finite scale.
    pub fn set_time_scale(&mut self, scale: f64) -> Result<()> {
        if !scale.is_finite() || scale < 0.0 {
            return Err(Error::Invalid(format!(
                "time scale must be a finite number ≥ 0, not {scale}"
            )));
        }
        let wall = wall_ms();
        let now = self.clock.at(wall);
        self.clock = CloudClock {
            scale,
            anchor_wall_ms: wall,
            anchor_cloud_ms: now - self.clock.offset_ms,
            ..self.clock
        };
        Ok(())
    }

    /// Sets cloud time now to `cloud_ms` (Unix milliseconds); it runs on from there at the
    /// current scale. Tests use it to start on a chosen calendar day.
    pub fn set_now_ms(&mut self, cloud_ms: i64) {
        self.clock = CloudClock {
            scale: self.clock.scale,
            anchor_wall_ms: wall_ms(),
            anchor_cloud_ms: cloud_ms,
            offset_ms: 0,
        };
    }

    /// Moves cloud time forward by `by` (of cloud time).
    pub fn advance(&mut self, by: Duration) {
        self.clock.offset_ms += i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
    }

    // ---------------------------------------------------------------- ids

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.serial += 1;
        splitmix64(self.seed ^ self.serial.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }

    fn chars(&mut self, n: usize, alphabet: &[u8]) -> String {
        let len = alphabet.len() as u64;
        (0..n)
            .map(|_| {
                let idx = usize::try_from(self.next_u64() % len).unwrap_or(0);
                char::from(alphabet[idx])
            })
            .collect()
    }

    /// `n` random lowercase letters and digits.
    pub(crate) fn alnum(&mut self, n: usize) -> String {
        self.chars(n, b"abcdefghijklmnopqrstuvwxyz0123456789")
    }

    /// `n` random digits, the first not zero.
    pub(crate) fn digits(&mut self, n: usize) -> String {
        let first = self.chars(1, b"123456789");
        first + &self.chars(n.saturating_sub(1), b"0123456789")
    }

    /// A 15-digit order id.
    pub(crate) fn order_id(&mut self) -> u64 {
        self.digits(15).parse().unwrap_or(100_000_000_000_000)
    }

    // ---------------------------------------------------------------- accounts

    /// Returns the credentials of the account with profile name `name`, creating it if it
    /// is new: international site, USD 1000.00, OSS not activated, and the example network
    /// ([`EXISTING_VPC_ID`] 10.99.0.0/16 with [`EXISTING_VSWITCH_ID`] 10.99.1.0/24 in
    /// `ap-southeast-1a`). Idempotent.
    pub fn ensure_account(&mut self, name: &str) -> AccountKeys {
        if let Some(a) = self.accounts.values().find(|a| a.name == name) {
            return AccountKeys::first_of(a.uid.clone(), a.keys.first().cloned());
        }
        let mut uid = self.digits(16);
        while self.accounts.contains_key(&uid) {
            uid = self.digits(16);
        }
        let key = AccessKey {
            id: format!(
                "LTAI5t{}",
                self.chars(
                    18,
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                )
            ),
            secret: self.chars(
                30,
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            ),
        };
        let created = self.now_ms() - 24 * 3600 * 1000;
        let resource_group_id = format!("rg-acfm{}", self.alnum(10));
        let vpc = Vpc {
            id: EXISTING_VPC_ID.to_owned(),
            region: DEFAULT_REGION.to_owned(),
            name: "existing".to_owned(),
            description: "pre-existing VPC of the emulated account".to_owned(),
            cidr: "10.99.0.0/16".to_owned(),
            vrouter_id: format!("vrt-{}", self.alnum(17)),
            route_table_id: format!("vtb-{}", self.alnum(17)),
            created_ms: created,
            tags: Tags::new(),
            resource_group_id: String::new(),
        };
        let vsw = VSwitch {
            id: EXISTING_VSWITCH_ID.to_owned(),
            vpc_id: EXISTING_VPC_ID.to_owned(),
            region: DEFAULT_REGION.to_owned(),
            zone: format!("{DEFAULT_REGION}a"),
            cidr: "10.99.1.0/24".to_owned(),
            name: "existing".to_owned(),
            description: "pre-existing vSwitch of the emulated account".to_owned(),
            created_ms: created,
            tags: Tags::new(),
            resource_group_id: String::new(),
        };
        let account = Account {
            name: name.to_owned(),
            uid: uid.clone(),
            site: Site::Intl,
            keys: vec![key.clone()],
            balance_cents: 100_000,
            oss_opened: false,
            resource_group_id,
            resource_groups: BTreeMap::new(),
            roles: BTreeMap::new(),
            oidc_providers: BTreeMap::new(),
            vpcs: BTreeMap::from([(vpc.id.clone(), vpc)]),
            vswitches: BTreeMap::from([(vsw.id.clone(), vsw)]),
            instances: BTreeMap::new(),
            client_tokens: BTreeMap::new(),
            orders: BTreeMap::new(),
        };
        self.accounts.insert(uid.clone(), account);
        AccountKeys {
            access_key_id: key.id,
            access_key_secret: key.secret,
            uid,
        }
    }

    fn account_mut_named(&mut self, name: &str) -> Result<&mut Account> {
        self.accounts
            .values_mut()
            .find(|a| a.name == name)
            .ok_or_else(|| Error::UnknownAccount(name.to_owned()))
    }

    fn account_named(&self, name: &str) -> Result<&Account> {
        self.accounts
            .values()
            .find(|a| a.name == name)
            .ok_or_else(|| Error::UnknownAccount(name.to_owned()))
    }

    /// Sets the available balance of account `name`, in cents of its currency.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`].
    pub fn set_balance(&mut self, name: &str, cents: i64) -> Result<()> {
        self.account_mut_named(name)?.balance_cents = cents;
        Ok(())
    }

    /// Moves account `name` to another site (changing its regions and currency; the balance
    /// number is kept).
    ///
    /// # Errors
    /// [`Error::UnknownAccount`].
    pub fn set_site(&mut self, name: &str, site: Site) -> Result<()> {
        self.account_mut_named(name)?.site = site;
        Ok(())
    }

    /// The account whose AccessKey id is `access_key_id`, with that key's secret.
    pub(crate) fn account_by_key(&self, access_key_id: &str) -> Option<(&Account, String)> {
        self.accounts.values().find_map(|a| {
            a.keys
                .iter()
                .find(|k| k.id == access_key_id)
                .map(|k| (a, k.secret.clone()))
        })
    }

    /// What AccessKey id `access_key_id` authenticates as: an account's own key, or
    /// temporary credentials STS issued (acting as the role's account).
    pub(crate) fn key(&self, access_key_id: &str) -> Option<KeyInfo> {
        if let Some((account, secret)) = self.account_by_key(access_key_id) {
            return Some(KeyInfo {
                uid: account.uid.clone(),
                secret,
                session: None,
            });
        }
        self.sts_sessions.get(access_key_id).map(|s| KeyInfo {
            uid: s.uid.clone(),
            secret: s.secret.clone(),
            session: Some((s.token.clone(), s.expires_ms)),
        })
    }

    /// Counts a request refused because its temporary credentials had expired.
    pub(crate) fn count_expired_token(&mut self) {
        self.expired_token_refusals += 1;
    }

    /// How many requests were refused because their temporary credentials had expired
    /// (tests prove with it that a client refreshed them in time).
    #[must_use]
    pub fn expired_token_refusals(&self) -> u64 {
        self.expired_token_refusals
    }

    /// Creates RAM role `role` in account `account` with trust policy `trust_policy` (JSON),
    /// as the console would; returns its ARN.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`]; [`Error::Invalid`] when the role exists or the policy is
    /// not JSON with a `Statement` list.
    pub fn console_create_role(
        &mut self,
        account: &str,
        role: &str,
        trust_policy: &str,
    ) -> Result<String> {
        let ok = serde_json::from_str::<serde_json::Value>(trust_policy)
            .ok()
            .is_some_and(|d| d.get("Statement").is_some_and(serde_json::Value::is_array));
        if !ok {
            return Err(Error::Invalid(
                "the trust policy must be JSON with a Statement list".to_owned(),
            ));
        }
        let id = self.digits(19);
        let now = self.now_ms();
        let a = self.account_mut_named(account)?;
        if a.roles.contains_key(role) {
            return Err(Error::Invalid(format!("role {role:?} exists already")));
        }
        a.roles.insert(
            role.to_owned(),
            Role {
                id,
                name: role.to_owned(),
                description: String::new(),
                policy_document: trust_policy.to_owned(),
                max_session_duration: 3600,
                created_ms: now,
                updated_ms: now,
                policies: BTreeMap::new(),
            },
        );
        Ok(format!(
            "acs:ram::{}:role/{}",
            a.uid,
            role.to_ascii_lowercase()
        ))
    }

    /// Registers OIDC identity provider `name` (issuer URL, accepted client ids) in account
    /// `account`; returns its ARN.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`].
    pub fn console_create_oidc_provider(
        &mut self,
        account: &str,
        name: &str,
        issuer_url: &str,
        client_ids: &[String],
    ) -> Result<String> {
        let now = self.now_ms();
        let a = self.account_mut_named(account)?;
        a.oidc_providers.insert(
            name.to_owned(),
            crate::api::sts::OidcProvider {
                name: name.to_owned(),
                issuer_url: issuer_url.to_owned(),
                client_ids: client_ids.to_vec(),
                created_ms: now,
            },
        );
        Ok(format!("acs:ram::{}:oidc-provider/{name}", a.uid))
    }

    /// Attaches RAM role `role` of account `account` to the emulated ECS instance, whose
    /// metadata service then hands out its credentials.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`], [`Error::NotFound`] when the role does not exist.
    pub fn console_attach_instance_role(&mut self, account: &str, role: &str) -> Result<()> {
        let a = self.account_named(account)?;
        if !a.roles.contains_key(role) {
            return Err(Error::NotFound {
                kind: "RAM role",
                name: role.to_owned(),
                account: account.to_owned(),
            });
        }
        self.instance_role = Some(crate::api::sts::InstanceRole {
            uid: a.uid.clone(),
            role: role.to_owned(),
        });
        Ok(())
    }

    /// Records a request nonce (wall-clock time); `false` if it is a replay.
    pub(crate) fn record_nonce(&mut self, nonce: &str, wall: i64) -> bool {
        self.nonces.record(nonce, wall)
    }

    /// Injects a fault into the next `times` requests of `action` (every action if `None`).
    /// Authenticated RPC requests only; OSS REST requests are not affected.
    pub fn inject_fault(&mut self, action: Option<&str>, kind: FaultKind, times: u32) {
        if times > 0 {
            self.faults.push(Fault {
                action: action.map(str::to_owned),
                kind,
                times,
            });
        }
    }

    /// Keeps workspace `id` of account `uid` in `CREATING` for ever (a fault plan's
    /// `stuck_creating`): it and its default namespace never become ready.
    pub(crate) fn hold_creating(&mut self, uid: &str, id: &str) {
        if let Some(i) = self
            .accounts
            .get_mut(uid)
            .and_then(|a| a.instances.get_mut(id))
        {
            i.ready_ms = i64::MAX / 4;
            for n in i.namespaces.values_mut() {
                n.visible_ms = n.visible_ms.max(i.ready_ms);
                n.ready_ms = n.ready_ms.max(i.ready_ms);
            }
        }
    }

    /// Removes every injected fault that has not fired yet.
    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// The injected faults that have not fired yet.
    #[must_use]
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Consumes one firing of the first fault matching `action`.
    pub(crate) fn take_fault(&mut self, action: &str) -> Option<FaultKind> {
        let idx = self
            .faults
            .iter()
            .position(|f| f.action.as_deref().is_none_or(|a| a == action))?;
        let fault = &mut self.faults[idx];
        let kind = fault.kind;
        fault.times = fault.times.saturating_sub(1);
        if fault.times == 0 {
            self.faults.remove(idx);
        }
        Some(kind)
    }

    /// Writes the service's directories into the bucket of every workspace that has become
    /// `RUNNING` (once: deleting them later is the user's business), then drops workspaces
    /// and namespaces whose deletion has completed.
    pub(crate) fn collect_garbage(&mut self, now: i64) {
        for account in self.accounts.values_mut() {
            for i in account.instances.values_mut() {
                let ran = i.ready_ms <= now && i.deleting_ms.is_none_or(|d| d >= i.ready_ms);
                if i.directories_written || !ran {
                    continue;
                }
                i.directories_written = true;
                if let Some(b) = self
                    .buckets
                    .get_mut(&i.bucket)
                    .filter(|b| b.owner_uid == account.uid)
                {
                    for dir in WORKSPACE_DIRECTORIES {
                        b.objects.entry(dir.to_owned()).or_insert_with(|| Object {
                            size: 0,
                            etag: EMPTY_ETAG.to_owned(),
                            last_modified_ms: i.ready_ms,
                            content_type: "application/octet-stream".to_owned(),
                            data: None,
                        });
                    }
                }
            }
        }
        // Temporary credentials a day past their expiry are forgotten (until then a
        // request with them is refused as expired rather than unknown).
        self.sts_sessions
            .retain(|_, s| s.expires_ms + 24 * 3600 * 1000 > now);
        for account in self.accounts.values_mut() {
            account
                .instances
                .retain(|_, i| i.phase(now) != InstancePhase::Gone);
            for instance in account.instances.values_mut() {
                instance
                    .namespaces
                    .retain(|_, n| n.phase(now) != NsPhase::Gone);
            }
        }
    }

    // ---------------------------------------------------------------- console

    /// Activates OSS for account `name`, as the console's "activate" button (idempotent).
    ///
    /// # Errors
    /// [`Error::UnknownAccount`].
    pub fn console_open_oss(&mut self, name: &str) -> Result<()> {
        self.account_mut_named(name)?.oss_opened = true;
        Ok(())
    }

    /// Creates bucket `bucket` in `region` for account `name`, as from the OSS console.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`]; [`Error::Invalid`] when OSS is not activated, the name is
    /// not a valid bucket name or the bucket already exists.
    pub fn console_create_bucket(&mut self, name: &str, bucket: &str, region: &str) -> Result<()> {
        let now = self.now_ms();
        let account = self.account_named(name)?;
        if !account.oss_opened {
            return Err(Error::Invalid(format!(
                "OSS is not activated for account {name:?}"
            )));
        }
        if !crate::api::oss::valid_bucket_name(bucket) {
            return Err(Error::Invalid(format!(
                "{bucket:?} is not a valid bucket name"
            )));
        }
        if self.buckets.contains_key(bucket) {
            return Err(Error::Invalid(format!("bucket {bucket:?} already exists")));
        }
        if !crate::regions::known(region) {
            return Err(Error::Invalid(format!("{region:?} is not a region")));
        }
        let owner_uid = account.uid.clone();
        self.buckets.insert(
            bucket.to_owned(),
            Bucket::new(bucket, &owner_uid, region, now),
        );
        Ok(())
    }

    fn live_instance_mut(&mut self, account: &str, instance: &str) -> Result<(&mut Instance, i64)> {
        let now = self.now_ms();
        let acc = self.account_mut_named(account)?;
        acc.instances
            .values_mut()
            .find(|i| i.name == instance && i.phase(now) != InstancePhase::Gone)
            .map(|i| (i, now))
            .ok_or_else(|| Error::NotFound {
                kind: "workspace",
                name: instance.to_owned(),
                account: account.to_owned(),
            })
    }

    /// Changes the subscription quota of workspace `instance` to `cu` CU from the console
    /// (no order, no check against the namespaces: drift tests need any value).
    ///
    /// # Errors
    /// [`Error::UnknownAccount`], [`Error::NotFound`]; [`Error::Invalid`] for a
    /// pay-as-you-go workspace or `cu == 0`.
    pub fn console_set_quota(&mut self, account: &str, instance: &str, cu: u32) -> Result<()> {
        let (inst, _) = self.live_instance_mut(account, instance)?;
        if inst.charge != ChargeType::Pre {
            return Err(Error::Invalid(format!(
                "workspace {instance:?} is pay-as-you-go and has no quota"
            )));
        }
        if cu == 0 {
            return Err(Error::Invalid("a quota must be at least 1 CU".to_owned()));
        }
        inst.spec = Some(Spec::cu(cu));
        Ok(())
    }

    /// Turns auto-renewal of subscription workspace `instance` on or off from the console.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`], [`Error::NotFound`]; [`Error::Invalid`] for a
    /// pay-as-you-go workspace.
    pub fn console_set_auto_renew(
        &mut self,
        account: &str,
        instance: &str,
        auto_renew: bool,
    ) -> Result<()> {
        let (inst, _) = self.live_instance_mut(account, instance)?;
        if inst.charge != ChargeType::Pre {
            return Err(Error::Invalid(format!(
                "workspace {instance:?} is pay-as-you-go and has no renewal"
            )));
        }
        inst.renewal.status = if auto_renew {
            "AutoRenewal"
        } else {
            "ManualRenewal"
        }
        .to_owned();
        Ok(())
    }

    /// Deletes namespace `namespace` of workspace `instance` from the console, at once.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`], [`Error::NotFound`] (workspace or namespace).
    pub fn console_delete_namespace(
        &mut self,
        account: &str,
        instance: &str,
        namespace: &str,
    ) -> Result<()> {
        let (inst, now) = self.live_instance_mut(account, instance)?;
        let exists = inst
            .namespaces
            .get(namespace)
            .is_some_and(|n| n.phase(now).exists());
        if !exists {
            return Err(Error::NotFound {
                kind: "namespace",
                name: namespace.to_owned(),
                account: account.to_owned(),
            });
        }
        inst.namespaces.remove(namespace);
        Ok(())
    }

    /// Deletes vSwitch `vswitch_id` from the console, at once. Unlike the real console (and
    /// the API, which answers `DependencyViolation`), this is allowed even while a workspace
    /// uses the vSwitch, so that drift tests can produce that situation.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`], [`Error::NotFound`].
    pub fn console_delete_vswitch(&mut self, account: &str, vswitch_id: &str) -> Result<()> {
        let acc = self.account_mut_named(account)?;
        acc.vswitches
            .remove(vswitch_id)
            .map(|_| ())
            .ok_or_else(|| Error::NotFound {
                kind: "vSwitch",
                name: vswitch_id.to_owned(),
                account: account.to_owned(),
            })
    }

    /// Deletes bucket `bucket` of the account from the console, at once, even if a workspace
    /// uses it (drift tests need that).
    ///
    /// # Errors
    /// [`Error::UnknownAccount`], [`Error::NotFound`] (also for a bucket of another account).
    pub fn console_delete_bucket(&mut self, account: &str, bucket: &str) -> Result<()> {
        let uid = self.account_named(account)?.uid.clone();
        match self.buckets.get(bucket) {
            Some(b) if b.owner_uid == uid => {
                self.buckets.remove(bucket);
                Ok(())
            }
            _ => Err(Error::NotFound {
                kind: "bucket",
                name: bucket.to_owned(),
                account: account.to_owned(),
            }),
        }
    }

    /// Creates account `name` on `site` with the usual keys, balance (1000.00 in the site's
    /// currency) and pre-existing network, as if someone signed up.
    ///
    /// # Errors
    /// [`Error::Invalid`] when an account of that name exists (see [`World::set_site`]).
    pub fn console_create_account(&mut self, name: &str, site: Site) -> Result<AccountKeys> {
        if self.accounts.values().any(|a| a.name == name) {
            return Err(Error::Invalid(format!(
                "account {name:?} exists already (change its site with `set-site`)"
            )));
        }
        let keys = self.ensure_account(name);
        self.set_site(name, site)?;
        Ok(keys)
    }

    /// Writes object `key` of `size` bytes into bucket `bucket` of account `account`, as a
    /// job would (its content reads back as zeros).
    ///
    /// # Errors
    /// [`Error::UnknownAccount`], [`Error::NotFound`] (bucket missing or another account's),
    /// [`Error::Invalid`] for an empty or too long key.
    pub fn console_put_object(
        &mut self,
        account: &str,
        bucket: &str,
        key: &str,
        size: u64,
    ) -> Result<()> {
        let now = self.now_ms();
        self.collect_garbage(now);
        let uid = self.account_named(account)?.uid.clone();
        if key.is_empty() || key.len() > 1023 {
            return Err(Error::Invalid(format!(
                "{key:?} is not an object key (1-1023 bytes)"
            )));
        }
        let b = self
            .buckets
            .get_mut(bucket)
            .filter(|b| b.owner_uid == uid)
            .ok_or_else(|| Error::NotFound {
                kind: "bucket",
                name: bucket.to_owned(),
                account: account.to_owned(),
            })?;
        let etag = {
            use md5::Digest as _;
            hex::encode_upper(md5::Md5::digest(format!("{key}:{size}").as_bytes()))
        };
        b.objects.insert(
            key.to_owned(),
            Object {
                size,
                etag,
                last_modified_ms: now,
                content_type: "application/octet-stream".to_owned(),
                data: None,
            },
        );
        Ok(())
    }

    /// Creates resource group `name` in account `account`; returns its `rg-…` id.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`]; [`Error::Invalid`] for a name that is not 3–50 letters,
    /// digits, `.`, `_` or `-`, or one the account has already.
    pub fn console_create_resource_group(&mut self, account: &str, name: &str) -> Result<String> {
        let now = self.now_ms();
        let valid = (3..=50).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid {
            return Err(Error::Invalid(format!(
                "{name:?} is not a resource group name (3-50 letters, digits, `.`, `_`, `-`)"
            )));
        }
        let id = format!("rg-acfm{}", self.alnum(11));
        let acc = self.account_mut_named(account)?;
        if name == "default" || acc.resource_groups.values().any(|g| g.name == name) {
            return Err(Error::Invalid(format!(
                "account {account:?} has a resource group named {name:?} already"
            )));
        }
        acc.resource_groups.insert(
            id.clone(),
            ResourceGroup {
                id: id.clone(),
                name: name.to_owned(),
                display_name: name.to_owned(),
                created_ms: now,
            },
        );
        Ok(id)
    }

    fn taggable<'a>(&'a mut self, account: &str, id: &str) -> Result<crate::tags::Taggable<'a>> {
        let now = self.now_ms();
        let uid = self.account_named(account)?.uid.clone();
        let acc = self
            .accounts
            .get_mut(&uid)
            .ok_or_else(|| Error::UnknownAccount(account.to_owned()))?;
        crate::tags::find(acc, &mut self.buckets, id, now).ok_or_else(|| Error::NotFound {
            kind: "taggable resource",
            name: id.to_owned(),
            account: account.to_owned(),
        })
    }

    /// Sets tags on resource `id` of account `account` (a `vpc-…`, `vsw-…`, workspace `f-…`
    /// or bucket name), as someone in the console would.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`], [`Error::NotFound`]; [`Error::Invalid`] for a tag the cloud
    /// refuses or more than 20 tags on the resource.
    pub fn console_tag(
        &mut self,
        account: &str,
        id: &str,
        tags: &[(String, String)],
    ) -> Result<()> {
        for (k, v) in tags {
            if let Some(why) = crate::tags::invalid_tag(k, v) {
                return Err(Error::Invalid(why));
            }
        }
        let mut target = self.taggable(account, id)?;
        let have = target.tags_mut();
        let mut after = have.clone();
        after.extend(tags.iter().cloned());
        if after.len() > crate::tags::MAX_TAGS {
            return Err(Error::Invalid(format!("{id} would have more than 20 tags")));
        }
        *have = after;
        Ok(())
    }

    /// Removes the tags `keys` from resource `id` of account `account` (absent keys are
    /// fine).
    ///
    /// # Errors
    /// [`Error::UnknownAccount`], [`Error::NotFound`].
    pub fn console_untag(&mut self, account: &str, id: &str, keys: &[String]) -> Result<()> {
        let mut target = self.taggable(account, id)?;
        target.tags_mut().retain(|k, _| !keys.contains(k));
        Ok(())
    }

    /// The tags of resource `id` of account `account`.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`], [`Error::NotFound`].
    pub fn tags(&mut self, account: &str, id: &str) -> Result<BTreeMap<String, String>> {
        Ok(self.taggable(account, id)?.tags_mut().clone())
    }

    /// The keys of the objects in bucket `bucket` (any owner), in order, as of now (the
    /// directories of a workspace that has become `RUNNING` included); `None` when there is
    /// no such bucket.
    pub fn object_keys(&mut self, bucket: &str) -> Option<Vec<String>> {
        let now = self.now_ms();
        self.collect_garbage(now);
        self.buckets
            .get(bucket)
            .map(|b| b.objects.keys().cloned().collect())
    }

    /// Creates a VPC in `region` from the console; returns its id.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`]; [`Error::Invalid`] for an unknown region or a bad CIDR.
    pub fn console_create_vpc(
        &mut self,
        account: &str,
        region: &str,
        cidr: &str,
        name: Option<&str>,
    ) -> Result<String> {
        let invalid = |e: crate::api::ApiError| Error::Invalid(e.message);
        crate::api::vpc::check_region(region).map_err(invalid)?;
        crate::api::vpc::parse_cidr("VPC", cidr, 8..=28).map_err(invalid)?;
        self.account_named(account)?;
        let now = self.now_ms();
        let vpc = Vpc {
            id: format!("vpc-{}", self.alnum(17)),
            region: region.to_owned(),
            name: name.unwrap_or_default().to_owned(),
            description: String::new(),
            cidr: cidr.to_owned(),
            vrouter_id: format!("vrt-{}", self.alnum(17)),
            route_table_id: format!("vtb-{}", self.alnum(17)),
            created_ms: now,
            tags: Tags::new(),
            resource_group_id: String::new(),
        };
        let id = vpc.id.clone();
        self.account_mut_named(account)?
            .vpcs
            .insert(id.clone(), vpc);
        Ok(id)
    }

    /// Creates a vSwitch in VPC `vpc_id`, zone `zone`, from the console; returns its id.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`], [`Error::NotFound`] (VPC); [`Error::Invalid`] for a zone
    /// of another region or a CIDR outside the VPC's or overlapping another vSwitch.
    pub fn console_create_vswitch(
        &mut self,
        account: &str,
        vpc_id: &str,
        zone: &str,
        cidr: &str,
    ) -> Result<String> {
        let now = self.now_ms();
        let acc = self.account_named(account)?;
        if !acc.vpcs.contains_key(vpc_id) {
            return Err(Error::NotFound {
                kind: "VPC",
                name: vpc_id.to_owned(),
                account: account.to_owned(),
            });
        }
        let vpc = crate::api::vpc::check_vswitch(acc, vpc_id, None, zone, cidr)
            .map_err(|e| Error::Invalid(e.message))?;
        let (region, resource_group_id) = (vpc.region.clone(), vpc.resource_group_id.clone());
        let vsw = VSwitch {
            id: format!("vsw-{}", self.alnum(17)),
            vpc_id: vpc_id.to_owned(),
            region,
            zone: zone.to_owned(),
            cidr: cidr.to_owned(),
            name: String::new(),
            description: String::new(),
            created_ms: now,
            tags: Tags::new(),
            resource_group_id,
        };
        let id = vsw.id.clone();
        self.account_mut_named(account)?
            .vswitches
            .insert(id.clone(), vsw);
        Ok(id)
    }

    // ---------------------------------------------------------------- introspection

    /// Counts one authenticated request of `action` (OSS requests as `oss:<METHOD>`).
    pub(crate) fn record_call(&mut self, action: &str) {
        *self.calls.entry(action.to_owned()).or_default() += 1;
    }

    /// Authenticated requests answered so far, by action.
    #[must_use]
    pub fn calls(&self) -> &BTreeMap<String, u64> {
        &self.calls
    }

    /// How many of those requests could change the cloud (RPC actions that create, delete,
    /// modify, attach, detach, set, open, tag, untag or move, and OSS `PUT`/`POST`/`DELETE`),
    /// whether or not they succeeded.
    #[must_use]
    pub fn mutating_calls(&self) -> u64 {
        self.calls
            .iter()
            .filter(|(action, _)| match action.strip_prefix("oss:") {
                Some(method) => matches!(method, "PUT" | "POST" | "DELETE"),
                None => crate::api::is_mutating(action),
            })
            .map(|(_, n)| *n)
            .sum()
    }

    /// How many orders of `kind` (`CreateInstance`, `ModifyPrepayInstanceSpec`, …) account
    /// `account` placed: what it is billed for.
    #[must_use]
    pub fn orders_of(&self, account: &str, kind: &str) -> usize {
        self.accounts
            .values()
            .filter(|a| a.name == account)
            .map(|a| a.orders.values().filter(|o| o.kind == kind).count())
            .sum()
    }

    /// Counts of every account's live resources, by profile name.
    #[must_use]
    pub fn summary(&self) -> BTreeMap<String, AccountSummary> {
        let now = self.now_ms();
        self.accounts
            .values()
            .map(|a| {
                let live: Vec<&Instance> = a
                    .instances
                    .values()
                    .filter(|i| i.phase(now) != InstancePhase::Gone)
                    .collect();
                let summary = AccountSummary {
                    name: a.name.clone(),
                    uid: a.uid.clone(),
                    instances: live.len(),
                    orders: a.orders.len(),
                    vpcs: a.vpcs.len(),
                    vswitches: a.vswitches.len(),
                    buckets: self
                        .buckets
                        .values()
                        .filter(|b| b.owner_uid == a.uid)
                        .count(),
                    roles: a.roles.len(),
                    namespaces: live
                        .iter()
                        .map(|i| {
                            i.namespaces
                                .values()
                                .filter(|n| n.phase(now).exists())
                                .count()
                        })
                        .sum(),
                    oss_opened: a.oss_opened,
                    balance_cents: a.balance_cents,
                };
                (a.name.clone(), summary)
            })
            .collect()
    }

    /// The ids of every live resource account `name` made (the pre-existing VPC and vSwitch
    /// excluded), in the form a state records them: `vpc-…`, `vsw-…`, role names, bucket
    /// names, workspace ids `f-…` and namespace ids `<workspace id>/<namespace>`. Tests
    /// compare it with the state's cloud ids to prove nothing was orphaned.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`].
    pub fn resource_ids(&self, name: &str) -> Result<BTreeSet<String>> {
        let now = self.now_ms();
        let a = self.account_named(name)?;
        let mut out = BTreeSet::new();
        out.extend(a.vpcs.keys().filter(|id| *id != EXISTING_VPC_ID).cloned());
        out.extend(
            a.vswitches
                .keys()
                .filter(|id| *id != EXISTING_VSWITCH_ID)
                .cloned(),
        );
        out.extend(a.roles.values().map(|r| r.name.clone()));
        out.extend(
            self.buckets
                .values()
                .filter(|b| b.owner_uid == a.uid)
                .map(|b| b.name.clone()),
        );
        for i in a
            .instances
            .values()
            .filter(|i| i.phase(now) != InstancePhase::Gone)
        {
            out.insert(i.id.clone());
            out.extend(
                i.namespaces
                    .values()
                    .filter(|n| n.phase(now).exists())
                    .map(|n| format!("{}/{}", i.id, n.name)),
            );
        }
        Ok(out)
    }

    /// The workspaces of account `name` that are not gone, sorted by name.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`].
    pub fn instances(&self, name: &str) -> Result<Vec<InstanceInfo>> {
        let now = self.now_ms();
        let account = self.account_named(name)?;
        let mut out: Vec<InstanceInfo> = account
            .instances
            .values()
            .filter(|i| i.phase(now) != InstancePhase::Gone)
            .map(|i| InstanceInfo {
                id: i.id.clone(),
                name: i.name.clone(),
                region: i.region.clone(),
                status: i.phase(now).wire().to_owned(),
                charge_type: i.charge.wire().to_owned(),
                cpu: if i.charge == ChargeType::Pre {
                    i.spec.map(|s| s.cpu)
                } else {
                    None
                },
                renew_status: i.renewal.status.clone(),
                namespaces: i
                    .namespaces
                    .values()
                    .filter(|n| n.phase(now).exists())
                    .map(|n| (n.name.clone(), n.phase(now).wire().to_owned()))
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// Reads a world file (all of it, or the part `T` keeps: [`crate::WorldKeys`]) and checks
/// the format version `version` finds in it.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::CorruptWorld`] when it is not a
/// world of this emulator's format.
pub(crate) fn read_world_file<T: serde::de::DeserializeOwned>(
    path: &Path,
    version: impl Fn(&T) -> u32,
) -> Result<T> {
    let corrupt = |message: String| Error::CorruptWorld {
        path: path.to_owned(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    let file: T = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    match version(&file) {
        FORMAT_VERSION => Ok(file),
        other => Err(corrupt(format!(
            "format version {other} (this emulator reads {FORMAT_VERSION})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_idempotent_and_seeded() {
        let mut w = World::new(7);
        let a = w.ensure_account("main");
        assert_eq!(w.ensure_account("main"), a);
        assert_eq!(a.uid.len(), 16);
        assert!(a.access_key_id.starts_with("LTAI"));
        let b = w.ensure_account("other");
        assert_ne!(a.uid, b.uid);
        let mut w2 = World::new(7);
        assert_eq!(w2.ensure_account("main"), a);
        assert_eq!(w.id(), w2.id());
    }

    #[test]
    fn frozen_clock_only_moves_with_advance() {
        let mut w = World::new(1);
        w.set_time_scale(0.0).unwrap();
        let t0 = w.now_ms();
        w.advance(Duration::from_secs(90));
        assert_eq!(w.now_ms() - t0, 90_000);
        assert!(w.set_time_scale(-1.0).is_err());
    }

    #[test]
    fn nonces_are_single_use_within_the_window() {
        let mut log = NonceLog::default();
        assert!(log.record("a", 1_000));
        assert!(!log.record("a", 2_000));
        assert!(log.record("a", 2_000 + REPLAY_WINDOW_MS));
    }
}
