//! Test support shared by the golden and property tests: stacks built in Rust, and a fake
//! apply that turns desired resources into the state and observations a perfect apply
//! would leave behind (ids derived from addresses).

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::{
    AccountFacts, AccountName, Address, Balance, BillingAccountFacts, CloudId, Mode, Observation,
    Observed, ObservedResource, Origin, Readiness, RecordedResource, Region, ResourceKind, Value,
    ZoneId, attr,
};
use flinkform_plan::Desired;
use flinkform_spec::{
    Billing, Document, FlinkWorkspace, Network, SpecResource, Stack, Storage, VSwitchRef, VpcRef,
};

/// A pay-as-you-go workspace in `main`/`ap-southeast-1a` with one created VPC and vSwitch.
pub fn workspace(name: &str) -> FlinkWorkspace {
    FlinkWorkspace {
        name: name.to_owned(),
        account: AccountName::new("main").unwrap(),
        region: Region::new("ap-southeast-1").unwrap(),
        zone: ZoneId::new("ap-southeast-1a").unwrap(),
        resource_group: None,
        billing: Billing::PayAsYouGo,
        network: Network {
            vpc: VpcRef::Create {
                cidr: "10.10.0.0/16".into(),
            },
            vswitches: vec![VSwitchRef::Create {
                cidr: "10.10.1.0/24".into(),
            }],
        },
        storage: Storage {
            bucket: format!("{name}-flink"),
        },
        projects: Vec::new(),
        protect: true,
        upstream: Vec::new(),
        labels: BTreeMap::new(),
        origins: BTreeMap::new(),
    }
}

/// A stack of one document per workspace.
pub fn stack(workspaces: Vec<FlinkWorkspace>) -> Stack {
    Stack {
        documents: workspaces
            .into_iter()
            .enumerate()
            .map(|(i, w)| Document {
                origin: Origin {
                    file: "test.yaml".into(),
                    line: u32::try_from(i).unwrap() * 30 + 1,
                    column: 1,
                },
                resource: SpecResource::FlinkWorkspace(w),
            })
            .collect(),
    }
}

/// The id a fake cloud gives `addr`.
pub fn fake_id(addr: &Address) -> CloudId {
    let name: String = addr
        .name()
        .chars()
        .filter(|c| *c != ']')
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let id = match addr.kind() {
        ResourceKind::Vpc => format!("vpc-{name}"),
        ResourceKind::Vswitch => format!("vsw-{name}"),
        ResourceKind::FlinkWorkspace => format!("f-sg-{name}"),
        ResourceKind::FlinkProject => addr
            .name()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
        ResourceKind::RamRole => "AliyunStreamAsiDefaultRole".to_owned(),
        ResourceKind::OssBucket | ResourceKind::OssService | ResourceKind::AccountBalance => name,
        ResourceKind::MarketOrder => "5604018".to_owned(),
        ResourceKind::BillingAccount => format!("bca-{name}"),
        ResourceKind::Gate => "passed".to_owned(),
        ResourceKind::SettlementBinding => format!("stb-{name}"),
        ResourceKind::SaasWorkspace => format!("ws-{name}"),
    };
    CloudId::new(id).unwrap()
}

/// Facts of an account that offers everything `desired` asks for, with USD 500.00 and every
/// resource group its workspaces name (`None` when they name none, as the provider reads
/// them only then).
pub fn generous_facts(desired: &Desired) -> BTreeMap<AccountName, AccountFacts> {
    desired
        .accounts
        .keys()
        .map(|a| {
            let mut facts = AccountFacts {
                balance: Some(Balance {
                    cents: 50_000,
                    currency: "USD".into(),
                }),
                ..AccountFacts::default()
            };
            for d in desired.resources.values().filter(|d| &d.account == a) {
                if let (Some(region), Some(zone)) =
                    (&d.region, d.attrs.get("zone").and_then(Value::as_str))
                {
                    facts.flink_regions.insert(region.clone());
                    facts
                        .flink_zones
                        .entry(region.clone())
                        .or_default()
                        .insert(ZoneId::new(zone).unwrap());
                }
                if let Some(group) = d.attrs.get("resource_group").and_then(Value::as_str) {
                    facts
                        .resource_groups
                        .get_or_insert_with(BTreeSet::new)
                        .insert(group.to_owned());
                }
            }
            (a.clone(), facts)
        })
        .collect()
}

/// The vendor's answer that agrees with the specs, per `billing_account.<s>`: a username to
/// register is free; an account to bind exists, with the spec's e-mail address and the
/// workspace the subscription binds.
pub fn vendor_facts(desired: &Desired) -> BTreeMap<Address, BillingAccountFacts> {
    desired
        .resources
        .values()
        .filter(|d| d.addr.kind() == ResourceKind::BillingAccount)
        .map(|d| {
            let facts = if d.attrs.get("mode") == Some(&Value::str("register")) {
                BillingAccountFacts::Missing
            } else {
                let ws = Address::new(ResourceKind::SaasWorkspace, d.addr.name())
                    .ok()
                    .and_then(|a| desired.resources.get(&a))
                    .and_then(|w| w.attrs.get("name").and_then(Value::as_str))
                    .map(|n| [n.to_owned()].into_iter().collect());
                BillingAccountFacts::Exists {
                    email_matches: true,
                    workspaces: ws,
                }
            };
            (d.addr.clone(), facts)
        })
        .collect()
}

/// State and observations after a perfect apply of `desired`: every resource exists with
/// its desired attributes (references resolved to fake ids); the cloud does not report
/// `create_only` attributes; OSS activation cannot be read.
pub fn applied(desired: &Desired) -> (BTreeMap<Address, RecordedResource>, Observed) {
    let mut recorded = BTreeMap::new();
    let mut observed = Observed {
        accounts: generous_facts(desired),
        ..Observed::default()
    };
    for d in desired.resources.values() {
        if d.addr.kind() == ResourceKind::AccountBalance {
            continue;
        }
        let cloud_id = match (d.mode, d.attrs.get("id").and_then(Value::as_str)) {
            (Mode::Data, Some(id)) => CloudId::new(id).unwrap(),
            _ => fake_id(&d.addr),
        };
        let attrs: flinkform_core::Attrs = d
            .attrs
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.resolve(&|a| Some(fake_id(a).to_string())).unwrap(),
                )
            })
            .collect();
        recorded.insert(
            d.addr.clone(),
            RecordedResource {
                addr: d.addr.clone(),
                mode: d.mode,
                account: d.account.clone(),
                region: d.region.clone(),
                cloud_id: cloud_id.clone(),
                attrs: attrs.clone(),
                depends_on: d.depends_on.clone(),
                protect: d.protect,
            },
        );
        let obs = if d.addr.kind() == ResourceKind::OssService {
            Observation::Unknown
        } else {
            let reported = attrs
                .into_iter()
                .filter(|(k, _)| attr(d.addr.kind(), k).is_some_and(|s| !s.create_only))
                .collect();
            Observation::Found(ObservedResource::new(
                d.addr.kind(),
                cloud_id,
                reported,
                Readiness::Ready,
            ))
        };
        observed.resources.insert(d.addr.clone(), obs);
    }
    (recorded, observed)
}

/// Observations of a cloud that has nothing yet (everything absent, except resources the
/// specs reference by id).
pub fn empty_cloud(desired: &Desired) -> Observed {
    Observed {
        resources: desired
            .resources
            .values()
            .map(|d| {
                let obs = match (d.mode, d.attrs.get("id").and_then(Value::as_str)) {
                    (Mode::Data, Some(id)) => Observation::Found(ObservedResource::new(
                        d.addr.kind(),
                        CloudId::new(id).unwrap(),
                        flinkform_core::Attrs::new(),
                        Readiness::Ready,
                    )),
                    _ => Observation::Absent,
                };
                (d.addr.clone(), obs)
            })
            .collect(),
        accounts: generous_facts(desired),
        ..Observed::default()
    }
}

/// The lineage the tests' state has.
pub const STACK: &str = "00000000-0000-4000-8000-00000000000a";

/// `expand` then `mark` with [`STACK`], as the CLI does.
pub fn expand_marked(stack: &Stack) -> Desired {
    let mut d = flinkform_plan::expand(stack).unwrap();
    flinkform_plan::mark(&mut d, STACK);
    d
}

/// Addresses as a set, from strings.
pub fn addrs(list: &[&str]) -> BTreeSet<Address> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}
