//! The resource catalog: for each kind, the attributes it has and how each one changes.
//!
//! This is the contract between the planner (which diffs attributes), the providers (which
//! map attributes onto API parameters and read them back) and the spec expansion (which
//! produces desired attributes). An attribute that is not in the catalog is never diffed.
//!
//! | kind | address | attributes (imm = forces replacement, in place, create = sent once) |
//! |---|---|---|
//! | `account_balance` | `account_balance.<account>` | none: the minimum follows the currency the account reports ([`crate::money::payg_minimum_cents`]) |
//! | `oss_service` | `oss_service.<account>` | none |
//! | `ram_role` | `ram_role.<account>` | `role_name` imm, `policies` in place (list of `System:<name>`) |
//! | `vpc` | `vpc.<workspace>` | `name` imm, `region` imm, `cidr` imm, `tags` in place |
//! | `vswitch` | `vswitch.<workspace>[<i>]` | `name` imm, `region` imm, `zone` imm, `cidr` imm, `vpc_id` imm, `tags` in place |
//! | `oss_bucket` | `oss_bucket.<bucket>` | `name` imm, `region` imm, `tags` in place |
//! | `flink_workspace` | `flink_workspace.<name>` | `name`, `region`, `zone`, `charge_type`, `vpc_id`, `vswitch_ids`, `bucket` imm; `cu`, `auto_renew`, `tags`, `resource_group` in place; `pricing_cycle`, `duration`, `default_project_cu` create |
//! | `flink_project` | `flink_project.<workspace>/<project>` | `workspace_id`, `region`, `name` imm; `cu` in place; `generated` create |
//! | `market_order` | `market_order.<subscription>` | `product_code`, `sku_code`, `package_version` imm; `pricing_cycle`, `duration` create |
//! | `billing_account` | `billing_account.<subscription>` | `site`, `username` imm; `email`, `mode`, `company`, `password` (a secret *reference*), `connector` create |
//! | `gate` | `gate.<step>.<subscription>` | `step`, `instructions`, `target`, `instance_id`, `account_uid`, `workspace`, `language` create |
//! | `settlement_binding` | `settlement_binding.<subscription>` | `billing_account_id`, `instance_id` imm |
//! | `saas_workspace` | `saas_workspace.<subscription>` | `billing_account_id`, `site` imm; `name`, `language` in place; `mode` create |

use crate::addr::ResourceKind;

/// How one attribute of a kind changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrSpec {
    /// Attribute name (snake case).
    pub name: &'static str,
    /// A change forces the resource to be replaced (destroyed and created again).
    pub immutable: bool,
    /// Sent when the resource is created and never diffed afterwards (the cloud does not
    /// report it back, e.g. a subscription's duration).
    pub create_only: bool,
    /// One line for humans: what the attribute is and where it comes from in a spec.
    pub doc: &'static str,
}

/// What `destroy` does with a resource of this kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// Deleted through the API.
    Api,
    /// Cannot be undone by any API (OSS activation): forgotten, and reported as kept.
    Never,
    /// Shared by everything in the account (the RAM role): kept, and reported as kept.
    Shared,
    /// Goes away with its parent (the generated default project): no API call of its own.
    WithParent,
    /// Not a resource at all but a check evaluated on every run (account balance).
    Check,
}

/// Everything the catalog knows about one kind.
#[derive(Debug, Clone, Copy)]
pub struct KindSpec {
    /// The kind.
    pub kind: ResourceKind,
    /// Its attributes.
    pub attrs: &'static [AttrSpec],
    /// What destroy does.
    pub deletion: Deletion,
    /// Creation returns before the resource is ready; the executor polls it.
    pub async_create: bool,
    /// The create call takes an idempotency token (`ClientToken`), which the executor
    /// records in its intent: `CreateVpc`, `CreateVSwitch`, and Marketplace `CreateOrder`
    /// (which sends a token derived from it). Every other create is made idempotent by
    /// looking the resource up by name (and ownership mark) before the call and after a
    /// conflict or a lost answer; its intent records no token.
    pub client_token: bool,
    /// One line for humans.
    pub doc: &'static str,
}

const fn imm(name: &'static str, doc: &'static str) -> AttrSpec {
    AttrSpec {
        name,
        immutable: true,
        create_only: false,
        doc,
    }
}
const fn inplace(name: &'static str, doc: &'static str) -> AttrSpec {
    AttrSpec {
        name,
        immutable: false,
        create_only: false,
        doc,
    }
}
const fn create(name: &'static str, doc: &'static str) -> AttrSpec {
    AttrSpec {
        name,
        immutable: false,
        create_only: true,
        doc,
    }
}

static KINDS: [KindSpec; 13] = [
    KindSpec {
        kind: ResourceKind::AccountBalance,
        attrs: &[],
        deletion: Deletion::Check,
        async_create: false,
        client_token: false,
        doc: "pay-as-you-go balance precondition (bssopenapi QueryAccountBalance): at least `money::payg_minimum_cents` of the account's currency",
    },
    KindSpec {
        kind: ResourceKind::OssService,
        attrs: &[],
        deletion: Deletion::Never,
        async_create: false,
        client_token: false,
        doc: "OSS activation of the account (OpenOssService); cannot be undone",
    },
    KindSpec {
        kind: ResourceKind::RamRole,
        attrs: &[
            inplace(
                "policies",
                "attached policies as `<PolicyType>:<PolicyName>`, sorted",
            ),
            imm("role_name", "`AliyunStreamAsiDefaultRole`"),
        ],
        deletion: Deletion::Shared,
        async_create: false,
        client_token: false,
        doc: "the service role Flink assumes (ram CreateRole, AttachPolicyToRole)",
    },
    KindSpec {
        kind: ResourceKind::Vpc,
        attrs: &[
            imm("cidr", "`spec.network.vpc.create.cidr`"),
            imm("name", "the workspace name"),
            imm("region", "`spec.region`"),
            inplace(
                "tags",
                "`metadata.labels` plus the ownership mark (`flinkform:stack`, `flinkform:address`)",
            ),
        ],
        deletion: Deletion::Api,
        async_create: true,
        client_token: true,
        doc: "a VPC (vpc CreateVpc)",
    },
    KindSpec {
        kind: ResourceKind::Vswitch,
        attrs: &[
            imm("cidr", "`spec.network.vSwitches[i].create.cidr`"),
            imm("name", "`<workspace>-<i>`"),
            imm("region", "`spec.region`"),
            inplace(
                "tags",
                "`metadata.labels` plus the ownership mark (`flinkform:stack`, `flinkform:address`)",
            ),
            imm("vpc_id", "the VPC's id"),
            imm("zone", "`spec.zone`"),
        ],
        deletion: Deletion::Api,
        async_create: true,
        client_token: true,
        doc: "a vSwitch (vpc CreateVSwitch)",
    },
    KindSpec {
        kind: ResourceKind::OssBucket,
        attrs: &[
            imm("name", "`spec.storage.ossBucket.name`"),
            imm("region", "`spec.region`"),
            inplace(
                "tags",
                "`metadata.labels` plus the ownership mark (`flinkform:stack`, `flinkform:address`)",
            ),
        ],
        deletion: Deletion::Api,
        async_create: false,
        client_token: false,
        doc: "an OSS bucket (oss PutBucket)",
    },
    KindSpec {
        kind: ResourceKind::FlinkWorkspace,
        attrs: &[
            inplace("auto_renew", "`spec.billing.autoRenew` (subscription only)"),
            imm("bucket", "`spec.storage.ossBucket.name`"),
            imm(
                "charge_type",
                "`PRE` (subscription) or `POST` (pay-as-you-go)",
            ),
            inplace("cu", "`spec.quota.cu` (subscription only)"),
            create("default_project_cu", "CU of the generated default project"),
            create(
                "duration",
                "`spec.billing.duration` in `pricing_cycle` units",
            ),
            imm("name", "`metadata.name`"),
            create("pricing_cycle", "`Month` or `Year`"),
            imm("region", "`spec.region`"),
            inplace(
                "resource_group",
                "`spec.resourceGroup` (a resource group id); the account's default when unset",
            ),
            inplace(
                "tags",
                "`metadata.labels` plus the ownership mark (`flinkform:stack`, `flinkform:address`)",
            ),
            imm("vpc_id", "the VPC's id"),
            imm("vswitch_ids", "the vSwitches' ids"),
            imm("zone", "`spec.zone`"),
        ],
        deletion: Deletion::Api,
        async_create: true,
        client_token: false,
        doc: "a fully managed Flink workspace (foasconsole CreateInstance)",
    },
    KindSpec {
        kind: ResourceKind::FlinkProject,
        attrs: &[
            inplace("cu", "`spec.projects[i].cu`"),
            create(
                "generated",
                "true for `<workspace>-default`, which the service creates",
            ),
            imm("name", "`spec.projects[i].name`"),
            imm("region", "`spec.region`"),
            imm("workspace_id", "the workspace's instance id"),
        ],
        deletion: Deletion::Api,
        async_create: true,
        client_token: false,
        doc: "a project of a workspace (foasconsole CreateNamespace)",
    },
    KindSpec {
        kind: ResourceKind::MarketOrder,
        attrs: &[
            create(
                "duration",
                "`spec.product.billing.duration` in `pricing_cycle` units (1 for pay-as-you-go)",
            ),
            imm("package_version", "`spec.product.packageVersion`"),
            create("pricing_cycle", "`Month` or `Year`"),
            imm("product_code", "`spec.product.code`"),
            imm(
                "sku_code",
                "`<code>-postpay` (pay-as-you-go) or `<code>-prepay` (subscription)",
            ),
        ],
        deletion: Deletion::Never,
        async_create: true,
        client_token: true,
        doc: "a Marketplace order and its product instance (market CreateOrder); an order cannot be undone",
    },
    KindSpec {
        kind: ResourceKind::BillingAccount,
        attrs: &[
            create(
                "company",
                "`spec.billingCenter.account.company.name` (register only)",
            ),
            create("connector", "the vendor connector (`api`)"),
            create("email", "`spec.billingCenter.account.email`"),
            create("mode", "`register` or `bind`"),
            create(
                "password",
                "a secret reference (`env:NAME` or `file:PATH`), never the password",
            ),
            imm("site", "`spec.billingCenter.site` (`intl` or `china`)"),
            imm("username", "`spec.billingCenter.account.username`"),
        ],
        deletion: Deletion::Never,
        async_create: false,
        client_token: false,
        doc: "a Billing Center account at the SaaS vendor (connector register or bind)",
    },
    KindSpec {
        kind: ResourceKind::Gate,
        attrs: &[
            create(
                "account_uid",
                "the Alibaba Cloud account ID to enter (manual steps)",
            ),
            create(
                "instance_id",
                "the product Instance ID to enter (manual steps)",
            ),
            create("instructions", "what the person has to do"),
            create("language", "the workspace language to enter (manual steps)"),
            create("step", "`verify-email` or the manual vendor step"),
            imm("target", "the resource the step completes"),
            create("workspace", "the workspace name to enter (manual steps)"),
        ],
        deletion: Deletion::Check,
        async_create: false,
        client_token: false,
        doc: "a step only a person can complete; `apply --input NAME=VALUE` passes it",
    },
    KindSpec {
        kind: ResourceKind::SettlementBinding,
        attrs: &[
            imm("billing_account_id", "the Billing Center account's id"),
            imm("instance_id", "the product Instance ID of the order"),
        ],
        deletion: Deletion::Api,
        async_create: false,
        client_token: false,
        doc: "Alibaba Cloud account ID + product Instance ID bound to a Billing Center account (connector)",
    },
    KindSpec {
        kind: ResourceKind::SaasWorkspace,
        attrs: &[
            imm("billing_account_id", "the Billing Center account's id"),
            inplace("language", "`spec.workspace.language` (`en` or `zh`)"),
            create("mode", "`create` or `bind`"),
            inplace("name", "`spec.workspace.name`"),
            imm("site", "`spec.billingCenter.site`"),
        ],
        deletion: Deletion::Api,
        async_create: false,
        client_token: false,
        doc: "a workspace at the SaaS vendor, created or bound (connector)",
    },
];

/// The catalog entry of `kind`.
#[must_use]
pub fn kind_spec(kind: ResourceKind) -> &'static KindSpec {
    // KINDS is in the same order as ResourceKind::ALL; the position lookup keeps that
    // assumption checked instead of silently indexing.
    KINDS.iter().find(|k| k.kind == kind).unwrap_or(&KINDS[0])
}

/// Whether one API call changes every in-place attribute of `kind` at once (the vendor's
/// `PATCH` of a SaaS workspace). For every other kind each in-place attribute has a call of
/// its own (`ModifyPrepayInstanceSpec`, `SetRenewal`, `TagResources`, `MoveResources`, …),
/// and the planner makes one action per changed attribute, so that every action makes at
/// most one mutating call (the intent journal holds one intent per action).
#[must_use]
pub fn updates_together(kind: ResourceKind) -> bool {
    matches!(kind, ResourceKind::SaasWorkspace)
}

/// The catalog entry of attribute `name` of `kind`, if it has one.
#[must_use]
pub fn attr(kind: ResourceKind, name: &str) -> Option<&'static AttrSpec> {
    kind_spec(kind).attrs.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_entry() {
        for k in ResourceKind::ALL {
            assert_eq!(kind_spec(k).kind, k);
        }
    }

    #[test]
    fn attrs_are_sorted_for_stable_listings() {
        for k in ResourceKind::ALL {
            let names: Vec<_> = kind_spec(k).attrs.iter().map(|a| a.name).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(names, sorted, "{k}");
        }
    }
}
