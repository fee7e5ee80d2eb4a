//! Property tests of the planner itself: its output is deterministic, it orders every
//! dependency before its dependent, and planning against the cloud a perfect apply leaves
//! behind yields no changes (convergence), for arbitrary stacks.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use flinkform_core::{AccountName, Observation, Region, ZoneId};
use flinkform_plan::{Op, Plan, PlanOptions, mark, plan, plan_destroy, plan_json, render_text};
use flinkform_spec::{Billing, Duration, FlinkWorkspace, Project, VSwitchRef, VpcRef};
use proptest::prelude::*;
use support::{applied, empty_cloud, expand_marked, stack, workspace};

fn billing() -> impl Strategy<Value = Billing> {
    prop_oneof![
        Just(Billing::PayAsYouGo),
        (1_u32..=9, any::<bool>(), any::<bool>(), 12_u32..=64).prop_map(
            |(n, years, auto_renew, quota_cu)| {
                Billing::Subscription {
                    duration: if years {
                        Duration::Years(n.min(3))
                    } else {
                        Duration::Months(n)
                    },
                    auto_renew,
                    quota_cu,
                }
            }
        ),
    ]
}

fn one_workspace(i: usize) -> impl Strategy<Value = FlinkWorkspace> {
    (
        billing(),
        any::<bool>(),
        prop::collection::vec(any::<bool>(), 1..=3),
        prop::collection::vec(prop::option::of(1_u32..=3), 0..=3),
        any::<bool>(),
        0_usize..2,
        0_usize..2,
    )
        .prop_map(
            move |(billing, existing_vpc, vswitches, projects, protect, account, region)| {
                let mut w = workspace(&format!("ws{i}"));
                w.account = AccountName::new(["main", "other"][account]).unwrap();
                let r = ["ap-southeast-1", "eu-central-1"][region];
                w.region = Region::new(r).unwrap();
                w.zone = ZoneId::new(format!("{r}a")).unwrap();
                let payg = billing == Billing::PayAsYouGo;
                w.billing = billing;
                if existing_vpc {
                    w.network.vpc = VpcRef::Existing(format!("vpc-existing{i}").parse().unwrap());
                }
                w.network.vswitches = vswitches
                    .iter()
                    .enumerate()
                    .map(|(j, existing)| {
                        if *existing {
                            VSwitchRef::Existing(format!("vsw-existing{i}x{j}").parse().unwrap())
                        } else {
                            VSwitchRef::Create {
                                cidr: format!("10.10.{j}.0/24"),
                            }
                        }
                    })
                    .collect();
                w.projects = projects
                    .into_iter()
                    .enumerate()
                    .map(|(j, cu)| Project {
                        name: format!("p{j}"),
                        cu: if payg { None } else { cu },
                    })
                    .collect();
                w.protect = protect;
                w
            },
        )
}

fn workspaces() -> impl Strategy<Value = Vec<FlinkWorkspace>> {
    (1_usize..=3).prop_flat_map(|n| (0..n).map(one_workspace).collect::<Vec<_>>())
}

fn assert_topological(p: &Plan) {
    for (from, to) in &p.edges {
        assert!(from < to, "edge {from:?} -> {to:?} goes backwards");
    }
    for (i, a) in p.actions.iter().enumerate() {
        assert_eq!(a.id.index(), i);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn fresh_plans_are_deterministic_and_ordered(ws in workspaces()) {
        let desired = expand_marked(&stack(ws));
        let cloud = empty_cloud(&desired);
        let a = plan(&desired, &BTreeMap::new(), &cloud, &PlanOptions::default()).unwrap();
        let b = plan(&desired, &BTreeMap::new(), &cloud, &PlanOptions::default()).unwrap();
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(render_text(&a), render_text(&b));
        prop_assert_eq!(plan_json(&a), plan_json(&b));
        assert_topological(&a);
        for act in &a.actions {
            // A fresh plan creates (a role's policies are attached by updates right after
            // its creation: one call each).
            let created_here = a.actions.iter().any(|b| b.addr == act.addr && b.op == Op::Create);
            prop_assert!(
                matches!(act.op, Op::Create | Op::Check | Op::Read)
                    || (act.op == Op::Update && created_here),
                "{} {}", act.addr, act.op
            );
            // Every dependency of a created resource is ordered before it (its last action:
            // the earlier ones of the same address precede that one).
            for dep in &act.desired.as_ref().unwrap().depends_on {
                let d = a.actions.iter().rfind(|x| &x.addr == dep).unwrap();
                prop_assert!(a.edges.contains(&(d.id, act.id)), "{} before {}", dep, act.addr);
            }
        }
    }

    #[test]
    fn planning_after_a_perfect_apply_changes_nothing(ws in workspaces()) {
        let desired = expand_marked(&stack(ws));
        let (recorded, observed) = applied(&desired);
        let p = plan(&desired, &recorded, &observed, &PlanOptions::default()).unwrap();
        prop_assert!(!p.has_changes(), "{}", render_text(&p));
        prop_assert!(p.drift.is_empty());
        prop_assert_eq!(render_text(&p), "No changes. The cloud matches the specs.\n");
        assert_topological(&p);
    }

    #[test]
    fn a_lost_state_is_adopted_not_recreated(ws in workspaces()) {
        let desired = expand_marked(&stack(ws));
        let (_, observed) = applied(&desired);
        let p = plan(&desired, &BTreeMap::new(), &observed, &PlanOptions::default()).unwrap();
        for a in &p.actions {
            let expected = match (&a.addr.kind().to_string()[..], observed.resources.get(&a.addr)) {
                ("account_balance", _) => Op::Check,
                (_, Some(Observation::Unknown)) => Op::Create,
                _ if a.desired.as_ref().unwrap().mode == flinkform_core::Mode::Data => Op::Read,
                _ => Op::Adopt,
            };
            prop_assert_eq!(a.op, expected, "{}", a.addr);
        }
    }

    #[test]
    fn another_stack_never_adopts_what_this_one_made(ws in workspaces()) {
        // Stack A applied; stack B (another lineage, no state) declares the same things.
        let a = expand_marked(&stack(ws.clone()));
        let (_, observed) = applied(&a);
        let mut b = flinkform_plan::expand(&stack(ws)).unwrap();
        mark(&mut b, "00000000-0000-4000-8000-0000000000bb");
        let errors = plan(&b, &BTreeMap::new(), &observed, &PlanOptions::default()).unwrap_err();
        // Every markable resource B would have taken over is refused, by name, with A named.
        for d in b.resources.values() {
            let markable = flinkform_core::markable(d.addr.kind()) && d.mode == flinkform_core::Mode::Managed;
            let refused = errors.errors.iter().any(|e| e.to_string().contains(&format!("`{}` would take over", d.addr)));
            prop_assert_eq!(markable, refused, "{}: {:?}", d.addr, errors);
        }
        for e in &errors.errors {
            prop_assert!(e.to_string().contains(support::STACK), "{}", e);
        }
    }

    #[test]
    fn any_change_of_specs_plans_an_acyclic_graph(before in workspaces(), after in workspaces()) {
        let old = expand_marked(&stack(before));
        let new = expand_marked(&stack(after));
        let (recorded, mut observed) = applied(&old);
        observed.accounts = support::generous_facts(&new);
        let opts = PlanOptions { force_all: true, ..PlanOptions::default() };
        let p = plan(&new, &recorded, &observed, &opts);
        let p = match p {
            Ok(p) => p,
            // A change the cloud could not carry out is refused with its reason; the graph
            // itself never has a cycle.
            Err(e) => {
                for err in &e.errors {
                    prop_assert!(
                        matches!(
                            err,
                            flinkform_plan::PlanError::ReplaceBlocked { .. }
                                | flinkform_plan::PlanError::SubscriptionReplace { .. }
                        ),
                        "{:?}",
                        err
                    );
                }
                return Ok(());
            }
        };
        assert_topological(&p);
        for addr in new.resources.keys().chain(recorded.keys()) {
            let acted = p.actions.iter().any(|a| &a.addr == addr);
            let kept = p.kept.iter().any(|(a, _)| a == addr);
            prop_assert!(acted || kept, "{} neither planned nor kept", addr);
        }
        // Without the flag, protected replacements and deletions are refused, never planned.
        if let Ok(p) = plan(&new, &recorded, &observed, &PlanOptions::default()) {
            for a in &p.actions {
                let protected = a.prior.as_ref().is_some_and(|r| r.protect)
                    && a.desired.as_ref().is_none_or(|d| d.protect);
                // A replacement's deletion half is part of an allowed replacement.
                let replaced = p.actions.iter().any(|b| b.addr == a.addr && b.op == Op::Replace);
                prop_assert!(!(protected && a.op == Op::Delete && !replaced), "{} deleted", a.addr);
            }
        }
    }

    #[test]
    fn destroy_accounts_for_every_recorded_resource(ws in workspaces()) {
        let desired = expand_marked(&stack(ws));
        let (recorded, observed) = applied(&desired);
        let p = plan_destroy(&recorded, &observed, &PlanOptions::default()).unwrap();
        assert_topological(&p);
        for addr in recorded.keys() {
            let acted = p.actions.iter().any(|a| &a.addr == addr);
            let kept = p.kept.iter().any(|(a, _)| a == addr);
            prop_assert!(acted || kept, "{} neither acted on nor kept", addr);
        }
        // Nothing a kept resource uses is deleted.
        for (k, _) in &p.kept {
            for dep in &recorded[k].depends_on {
                prop_assert!(!p.actions.iter().any(|a| &a.addr == dep && a.op == Op::Delete), "{} used by kept {}", dep, k);
            }
        }
        // Every delete waits for the deletes of what depended on it.
        for a in p.actions.iter().filter(|a| a.op == Op::Delete) {
            for b in p.actions.iter().filter(|b| b.op == Op::Delete) {
                if recorded[&b.addr].depends_on.contains(&a.addr) {
                    prop_assert!(p.edges.contains(&(b.id, a.id)), "{} before {}", b.addr, a.addr);
                }
            }
        }
    }
}
