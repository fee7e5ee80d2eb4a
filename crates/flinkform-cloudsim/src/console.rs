//! Console commands as data: what a person does in the web console (or the vendor's), so
//! that one command is applied the same way to a world file (`flinkform sim console` when no
//! emulator serves that world) or, through the loopback admin endpoint `POST /_sim/console`,
//! to the world a running emulator holds in memory (which then persists it). A change made
//! to the file behind a running emulator's back would be overwritten by its next save.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::error::{Error, Result};
use crate::regions::Site;
use crate::world::World;

/// One console command (JSON: `{"command": "set-balance", "account": "main", "cents": 5000}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum ConsoleOp {
    /// A Marketplace product instance expires.
    ExpireMarketInstance {
        /// Product Instance ID.
        id: String,
    },
    /// A Marketplace product instance is released.
    ReleaseMarketInstance {
        /// Product Instance ID.
        id: String,
    },
    /// The vendor's settlement binding of a product instance is removed.
    RemoveSettlementBinding {
        /// Product Instance ID.
        instance: String,
    },
    /// A workspace is renamed at the vendor.
    RenameVendorWorkspace {
        /// Current name.
        name: String,
        /// New name.
        to: String,
    },
    /// A subscription workspace's quota changes.
    SetQuota {
        /// Account (profile) name.
        account: String,
        /// Workspace name.
        workspace: String,
        /// New quota in CU.
        cu: u32,
    },
    /// A subscription workspace's auto-renewal is turned on or off.
    SetAutoRenew {
        /// Account (profile) name.
        account: String,
        /// Workspace name.
        workspace: String,
        /// On or off.
        enabled: bool,
    },
    /// A project (namespace) of a workspace is deleted.
    DeleteProject {
        /// Account (profile) name.
        account: String,
        /// Workspace name.
        workspace: String,
        /// Project name.
        project: String,
    },
    /// A vSwitch is deleted.
    DeleteVswitch {
        /// Account (profile) name.
        account: String,
        /// vSwitch id.
        id: String,
    },
    /// An account is created.
    CreateAccount {
        /// Account (profile) name.
        name: String,
        /// Its site.
        site: Site,
    },
    /// An account moves to another site.
    SetSite {
        /// Account (profile) name.
        name: String,
        /// The site.
        site: Site,
    },
    /// An object is written into a bucket.
    PutObject {
        /// Account (profile) name.
        account: String,
        /// Bucket name.
        bucket: String,
        /// Object key.
        key: String,
        /// Size in bytes.
        size: u64,
    },
    /// A resource group is created (the outcome prints its id).
    CreateResourceGroup {
        /// Account (profile) name.
        account: String,
        /// Group name.
        name: String,
    },
    /// Tags are set on a resource.
    Tag {
        /// Account (profile) name.
        account: String,
        /// Resource id or bucket name.
        resource: String,
        /// `(key, value)` pairs.
        tags: Vec<(String, String)>,
    },
    /// Tags are removed from a resource.
    Untag {
        /// Account (profile) name.
        account: String,
        /// Resource id or bucket name.
        resource: String,
        /// Keys.
        keys: Vec<String>,
    },
    /// A bucket is created (OSS is activated on the way).
    CreateBucket {
        /// Account (profile) name.
        account: String,
        /// Bucket name.
        name: String,
        /// Region.
        region: String,
    },
    /// A VPC is created (the outcome prints its id).
    CreateVpc {
        /// Account (profile) name.
        account: String,
        /// Region.
        region: String,
        /// CIDR block.
        cidr: String,
        /// Name.
        name: Option<String>,
    },
    /// A vSwitch is created (the outcome prints its id).
    CreateVswitch {
        /// Account (profile) name.
        account: String,
        /// VPC id.
        vpc: String,
        /// Zone.
        zone: String,
        /// CIDR block.
        cidr: String,
    },
    /// A RAM role is created with a trust policy (the outcome prints its ARN).
    CreateRole {
        /// Account (profile) name.
        account: String,
        /// Role name.
        name: String,
        /// The trust policy (JSON with a `Statement` list).
        trust_policy: String,
    },
    /// An OIDC identity provider is registered (the outcome prints its ARN).
    CreateOidcProvider {
        /// Account (profile) name.
        account: String,
        /// Provider name.
        name: String,
        /// Issuer URL (the tokens' `iss`).
        issuer_url: String,
        /// Accepted client ids (the tokens' `aud`).
        client_ids: Vec<String>,
    },
    /// A RAM role is attached to the emulated ECS instance (its metadata service).
    AttachInstanceRole {
        /// Account (profile) name.
        account: String,
        /// Role name.
        role: String,
    },
    /// An account's available balance is set (the account is created if missing).
    SetBalance {
        /// Account (profile) name.
        account: String,
        /// Amount in cents of the account's currency.
        cents: i64,
    },
}

/// What a console command did: a sentence for people, and the id it created (if any) for
/// scripts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleOutcome {
    /// What happened, e.g. ``VPC vpc-… (10.0.0.0/16) created in ap-southeast-1``.
    pub message: String,
    /// The id of what was created (resource group, VPC, vSwitch), printed on stdout.
    pub printed: Option<String>,
}

fn site_name(site: Site) -> &'static str {
    match site {
        Site::Intl => "international",
        Site::China => "China",
    }
}

fn said(message: String) -> ConsoleOutcome {
    ConsoleOutcome {
        message,
        printed: None,
    }
}

impl World {
    /// Applies console command `op`.
    ///
    /// # Errors
    /// What the `console_*` method of the command returns (a thing that does not exist, a
    /// change the console does not allow).
    pub fn console(&mut self, op: &ConsoleOp) -> Result<ConsoleOutcome> {
        Ok(match op {
            ConsoleOp::ExpireMarketInstance { id } => {
                self.console_expire_market_instance(id)?;
                said(format!("Marketplace instance `{id}` expired"))
            }
            ConsoleOp::ReleaseMarketInstance { id } => {
                self.console_release_market_instance(id)?;
                said(format!("Marketplace instance `{id}` released"))
            }
            ConsoleOp::RemoveSettlementBinding { instance } => {
                self.console_remove_settlement_binding(instance)?;
                said(format!(
                    "settlement binding of instance `{instance}` removed at the vendor"
                ))
            }
            ConsoleOp::RenameVendorWorkspace { name, to } => {
                self.console_rename_vendor_workspace(name, to)?;
                said(format!("vendor workspace `{name}` renamed to `{to}`"))
            }
            ConsoleOp::SetQuota {
                account,
                workspace,
                cu,
            } => {
                self.console_set_quota(account, workspace, *cu)?;
                said(format!("quota of workspace `{workspace}` set to {cu} CU"))
            }
            ConsoleOp::SetAutoRenew {
                account,
                workspace,
                enabled,
            } => {
                self.console_set_auto_renew(account, workspace, *enabled)?;
                said(format!(
                    "auto-renewal of workspace `{workspace}` set to {enabled}"
                ))
            }
            ConsoleOp::DeleteProject {
                account,
                workspace,
                project,
            } => {
                self.console_delete_namespace(account, workspace, project)?;
                said(format!(
                    "project `{project}` of workspace `{workspace}` deleted"
                ))
            }
            ConsoleOp::DeleteVswitch { account, id } => {
                self.console_delete_vswitch(account, id)?;
                said(format!("vSwitch `{id}` deleted"))
            }
            ConsoleOp::CreateAccount { name, site } => {
                let keys = self.console_create_account(name, *site)?;
                said(format!(
                    "account `{name}` created on the {} site: uid {} access key id {} secret {}",
                    site_name(*site),
                    keys.uid,
                    keys.access_key_id,
                    keys.access_key_secret
                ))
            }
            ConsoleOp::CreateRole {
                account,
                name,
                trust_policy,
            } => {
                let arn = self.console_create_role(account, name, trust_policy)?;
                ConsoleOutcome {
                    message: format!("RAM role `{name}` created: {arn}"),
                    printed: Some(arn),
                }
            }
            ConsoleOp::CreateOidcProvider {
                account,
                name,
                issuer_url,
                client_ids,
            } => {
                let arn =
                    self.console_create_oidc_provider(account, name, issuer_url, client_ids)?;
                ConsoleOutcome {
                    message: format!("OIDC provider `{name}` ({issuer_url}) registered: {arn}"),
                    printed: Some(arn),
                }
            }
            ConsoleOp::AttachInstanceRole { account, role } => {
                self.console_attach_instance_role(account, role)?;
                said(format!(
                    "RAM role `{role}` attached to the emulated ECS instance"
                ))
            }
            ConsoleOp::SetSite { name, site } => {
                self.set_site(name, *site)?;
                said(format!(
                    "account `{name}` moved to the {} site",
                    site_name(*site)
                ))
            }
            ConsoleOp::PutObject {
                account,
                bucket,
                key,
                size,
            } => {
                self.console_put_object(account, bucket, key, *size)?;
                said(format!(
                    "object `{key}` ({size} bytes) written to bucket `{bucket}`"
                ))
            }
            ConsoleOp::CreateResourceGroup { account, name } => {
                let id = self.console_create_resource_group(account, name)?;
                ConsoleOutcome {
                    message: format!("resource group `{name}` created: {id}"),
                    printed: Some(id),
                }
            }
            ConsoleOp::Tag {
                account,
                resource,
                tags,
            } => {
                self.console_tag(account, resource, tags)?;
                let list: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                said(format!("tags {} set on `{resource}`", list.join(", ")))
            }
            ConsoleOp::Untag {
                account,
                resource,
                keys,
            } => {
                self.console_untag(account, resource, keys)?;
                said(format!(
                    "tags {} removed from `{resource}`",
                    keys.join(", ")
                ))
            }
            ConsoleOp::CreateBucket {
                account,
                name,
                region,
            } => {
                // The OSS console activates OSS on the way to its first bucket.
                self.console_open_oss(account)?;
                self.console_create_bucket(account, name, region)?;
                said(format!("bucket `{name}` created in {region}"))
            }
            ConsoleOp::CreateVpc {
                account,
                region,
                cidr,
                name,
            } => {
                let id = self.console_create_vpc(account, region, cidr, name.as_deref())?;
                ConsoleOutcome {
                    message: format!("VPC {id} ({cidr}) created in {region}"),
                    printed: Some(id),
                }
            }
            ConsoleOp::CreateVswitch {
                account,
                vpc,
                zone,
                cidr,
            } => {
                let id = self.console_create_vswitch(account, vpc, zone, cidr)?;
                ConsoleOutcome {
                    message: format!("vSwitch {id} ({cidr}) created in {zone}"),
                    printed: Some(id),
                }
            }
            ConsoleOp::SetBalance { account, cents } => {
                self.ensure_account(account);
                self.set_balance(account, *cents)?;
                let sign = if *cents < 0 { "-" } else { "" };
                let abs = cents.unsigned_abs();
                said(format!(
                    "balance of account `{account}` set to {sign}{}.{:02}",
                    abs / 100,
                    abs % 100
                ))
            }
        })
    }
}

/// Sends console command `op` to the emulator serving at `endpoint`
/// (`http://127.0.0.1:PORT`) through its admin endpoint `POST /_sim/console`, which applies
/// it to the world it serves and persists that.
///
/// # Errors
/// [`Error::Admin`] when the emulator cannot be reached or refuses the command (its
/// message says why: a thing that does not exist, a change the console does not allow).
pub async fn send_console(endpoint: &str, op: &ConsoleOp) -> Result<ConsoleOutcome> {
    let fail = |message: String| Error::Admin {
        endpoint: endpoint.to_owned(),
        message,
    };
    let authority = endpoint
        .strip_prefix("http://")
        .unwrap_or(endpoint)
        .trim_end_matches('/');
    let body = serde_json::to_string(op).map_err(|e| fail(e.to_string()))?;
    let request = format!(
        "POST /_sim/console HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| fail(format!("cannot connect: {e}")))?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| fail(format!("cannot send the command: {e}")))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .map_err(|e| fail(format!("cannot read the answer: {e}")))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, answer) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| fail("the answer is not HTTP".to_owned()))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| fail("the answer has no status".to_owned()))?;
    let value: serde_json::Value =
        serde_json::from_str(answer).map_err(|e| fail(format!("the answer is not JSON: {e}")))?;
    if status != 200 {
        let message = value
            .get("Message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("no message")
            .to_owned();
        return Err(fail(message));
    }
    serde_json::from_value(value).map_err(|e| fail(format!("unexpected answer: {e}")))
}
