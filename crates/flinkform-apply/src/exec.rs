//! The walker and the per-action steps.
//!
//! The walker (the [`apply`] future itself) owns the state sink, the plan's dependency
//! counts and a `JoinSet` with one task per running action. Tasks never touch the sink:
//! they send each state change to the walker, which commits it (a durable write) and
//! answers, so every intent is on disk before its call and every outcome right after it.
//! Provider calls take one of `parallelism` slots only for the call itself; backoff sleeps
//! and polling delays hold none. A free slot goes to the waiting call whose action serves
//! the earliest chain of the plan ([`crate::slots`]), so that chains finish one after
//! another and their provisioning waits overlap other chains' calls.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use flinkform_core::money;
use flinkform_core::{
    Address, ApiGroup, ApiKey, Attrs, ChangeRequest, CloudId, DeleteRequest, DesiredResource, Mode,
    Observation, ObserveRequest, ObservedResource, Outcome, Provider, ProviderError,
    ProviderErrorKind, Readiness, RecordedResource, Value,
};
use flinkform_plan::{Op, Plan, PlannedAction, client_token};
use flinkform_state::{Change, Intent, IntentOp, State, StateSink, WaitingGate, now_rfc3339};
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep};

use crate::error::Error;
use crate::event::Event;
use crate::limiter::RateLimiter;
use crate::options::ApplyOptions;
use crate::report::{ApplyReport, NodeResult, NodeStatus};
use crate::slots::{Slots, group_keys};

/// A state change a task asks the walker to commit.
struct CommitRequest {
    idx: usize,
    changes: Vec<Change>,
    reply: oneshot::Sender<Result<(), Arc<flinkform_state::Error>>>,
}

/// What every task shares.
struct Shared {
    provider: Arc<dyn Provider>,
    slots: Arc<Slots>,
    /// Each action's slot priority ([`group_keys`]).
    priority: Vec<u64>,
    limiter: RateLimiter,
    opts: ApplyOptions,
    events: UnboundedSender<Event>,
    commits: mpsc::UnboundedSender<CommitRequest>,
    intent_ids: AtomicU64,
    /// Whether the provider counts its throttled answers itself (else the executor does).
    provider_counts_throttles: bool,
    /// Throttled answers counted before this apply started.
    throttles_before: u64,
}

/// One action, prepared by the walker from the state as it is when the action starts.
struct Job {
    idx: usize,
    action: PlannedAction,
    /// Desired attributes with every reference replaced by the referenced cloud id.
    resolved: Attrs,
    /// What the state (else the plan) remembers of the resource.
    prior: Option<RecordedResource>,
    /// For a gate: since when the state records it as waiting.
    waiting_since: Option<String>,
}

/// How an action ended when it did not fail.
enum Step {
    /// Done; the resource's cloud id, when it has one.
    Done(Option<CloudId>),
    /// A gate waits for a person (not a failure): what to do.
    Waiting(String),
}

/// What a task reports back.
struct NodeOutcome {
    idx: usize,
    result: Result<Step, Error>,
    api_calls: u64,
    retries: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
}

/// Executes `plan` against `provider`, recording every intent and outcome in `store`, and
/// reports what happened to each action. Progress goes to `events` (a closed receiver is
/// fine).
///
/// Actions start when every action they depend on is done; a failed action fails once and
/// its transitive dependents are skipped, while independent branches run to the end. If the
/// state cannot be saved, nothing further starts. The report is sorted by address.
pub async fn apply(
    plan: &Plan,
    provider: Arc<dyn Provider>,
    store: &mut dyn StateSink,
    opts: &ApplyOptions,
    events: UnboundedSender<Event>,
) -> ApplyReport {
    let n = plan.actions.len();
    let mut deps: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut dependents: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut bad: BTreeMap<usize, String> = BTreeMap::new();
    for &(from, to) in &plan.edges {
        let (f, t) = (from.index(), to.index());
        if t >= n {
            continue;
        }
        if f >= n || f == t {
            bad.entry(t).or_insert_with(|| {
                format!("it depends on action {f}, which is itself or not in the plan")
            });
            continue;
        }
        deps[t].insert(f);
        dependents[f].insert(t);
    }

    let (commit_tx, mut commit_rx) = mpsc::unbounded_channel();
    let provider_throttles = provider.throttles();
    let provider_counts_throttles = provider_throttles.is_some();
    let throttles = provider_throttles.unwrap_or_default();
    let throttles_before = throttles.total();
    let shared = Arc::new(Shared {
        provider,
        slots: Slots::new(opts.parallelism),
        priority: group_keys(&dependents),
        limiter: RateLimiter::new(opts.rate_limits.clone(), throttles),
        opts: opts.clone(),
        events: events.clone(),
        commits: commit_tx,
        intent_ids: AtomicU64::new(store.state().next_intent_id()),
        provider_counts_throttles,
        throttles_before,
    });
    let remaining: Vec<usize> = deps.iter().map(BTreeSet::len).collect();
    let ready: BTreeSet<usize> = (0..n).filter(|i| remaining[*i] == 0).collect();
    let mut walk = Walk {
        plan,
        slots: vec![Slot::Pending; n],
        dependents,
        remaining,
        ready,
        results: BTreeMap::new(),
        events,
    };
    for (i, reason) in bad {
        let err = Error::BadPlan {
            addr: plan.actions[i].addr.clone(),
            reason,
        };
        walk.fail(i, &err, 0, 0);
    }

    let mut set: JoinSet<NodeOutcome> = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut halted: Option<Address> = None;
    loop {
        if halted.is_none() && !opts.cancel.is_cancelled() {
            while let Some(i) = walk.ready.pop_first() {
                if walk.slots[i] != Slot::Pending {
                    continue;
                }
                match prepare(i, &plan.actions[i], store.state()) {
                    Ok(job) => {
                        walk.slots[i] = Slot::Running;
                        walk.emit(Event::Started {
                            addr: job.action.addr.clone(),
                            op: job.action.op,
                        });
                        let handle = set.spawn(run(Arc::clone(&shared), job));
                        running.insert(handle.id(), i);
                    }
                    Err(e) => walk.fail(i, &e, 0, 0),
                }
            }
        }
        if set.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            Some(first) = commit_rx.recv() => {
                // Group commit: every change queued right now goes into one durable write,
                // and each task hears back only after that write.
                let mut batch = vec![first];
                while let Ok(more) = commit_rx.try_recv() {
                    batch.push(more);
                }
                let mut changes = Vec::new();
                let mut waiters = Vec::with_capacity(batch.len());
                for r in batch {
                    changes.extend(r.changes);
                    waiters.push((r.idx, r.reply));
                }
                let result = store.commit(changes).await.map_err(Arc::new);
                if let Err(e) = &result {
                    tracing::warn!(error = %e, "state could not be saved; starting no further actions");
                    if let Some((idx, _)) = waiters.first() {
                        halted.get_or_insert_with(|| plan.actions[*idx].addr.clone());
                    }
                }
                for (_, reply) in waiters {
                    // The task may be gone if it panicked; nothing to answer then.
                    let _ = reply.send(result.clone());
                }
            }
            Some(joined) = set.join_next_with_id() => match joined {
                Ok((id, out)) => {
                    running.remove(&id);
                    walk.finish(out);
                }
                Err(e) => {
                    if let Some(i) = running.remove(&e.id()) {
                        let err = Error::Internal { addr: plan.actions[i].addr.clone(), message: e.to_string() };
                        walk.fail(i, &err, 0, 0);
                    }
                }
            },
        }
    }

    for i in 0..n {
        if walk.slots[i] != Slot::Pending {
            continue;
        }
        match &halted {
            Some(because) => walk.skip(i, because),
            None if opts.cancel.is_cancelled() => walk.interrupted(i),
            None => {
                // Every action still pending is in, or waits on, a dependency cycle.
                let err = Error::BadPlan {
                    addr: plan.actions[i].addr.clone(),
                    reason: "it is in, or waits on, a dependency cycle".to_owned(),
                };
                walk.fail_alone(i, &err, 0, 0);
            }
        }
    }

    let mut report = ApplyReport {
        results: walk.results,
        throttled: shared
            .limiter
            .throttles()
            .total()
            .saturating_sub(shared.throttles_before),
        interrupted: opts.cancel.is_cancelled(),
        ..ApplyReport::default()
    };
    report.api_calls = report.results.values().map(|r| r.api_calls).sum();
    report.retries = report.results.values().map(|r| r.retries).sum();
    report
}

/// The walker's bookkeeping of results.
struct Walk<'p> {
    plan: &'p Plan,
    slots: Vec<Slot>,
    dependents: Vec<BTreeSet<usize>>,
    /// Per action, how many of its dependencies are not done yet.
    remaining: Vec<usize>,
    /// Pending actions whose dependencies are all done, lowest index first.
    ready: BTreeSet<usize>,
    results: BTreeMap<Address, NodeResult>,
    events: UnboundedSender<Event>,
}

impl Walk<'_> {
    /// Records the result of one action. An address with several actions (a replacement's
    /// deletion and creation; turning auto-renewal off, then forgetting; a role's creation,
    /// then its policies; an update's steps) gets one result:
    /// the plan's main operation, the first status that is not `Done`, the calls of both.
    fn record(&mut self, addr: Address, result: NodeResult) {
        use std::collections::btree_map::Entry;
        match self.results.entry(addr) {
            Entry::Vacant(v) => {
                v.insert(result);
            }
            Entry::Occupied(mut o) => {
                let r = o.get_mut();
                r.api_calls += result.api_calls;
                r.retries += result.retries;
                // What happened to the resource: created (then its policies attached),
                // replaced, forgotten (after its renewal was turned off), else the last op.
                if !matches!(r.op, Op::Create | Op::Replace | Op::Forget) {
                    r.op = result.op;
                }
                if r.status == NodeStatus::Done {
                    r.status = result.status;
                }
            }
        }
    }

    fn emit(&self, event: Event) {
        // A dropped receiver only means nobody watches the progress.
        let _ = self.events.send(event);
    }

    fn finish(&mut self, out: NodeOutcome) {
        match out.result {
            Ok(Step::Waiting(instructions)) => {
                self.wait(out.idx, instructions, out.api_calls);
            }
            Ok(Step::Done(cloud_id)) => {
                let action = &self.plan.actions[out.idx];
                self.slots[out.idx] = Slot::Done;
                for &j in &self.dependents[out.idx] {
                    self.remaining[j] = self.remaining[j].saturating_sub(1);
                    if self.remaining[j] == 0 && self.slots[j] == Slot::Pending {
                        self.ready.insert(j);
                    }
                }
                self.record(
                    action.addr.clone(),
                    NodeResult {
                        op: action.op,
                        status: NodeStatus::Done,
                        api_calls: out.api_calls,
                        retries: out.retries,
                    },
                );
                self.emit(Event::Finished {
                    addr: action.addr.clone(),
                    op: action.op,
                    cloud_id,
                });
            }
            Err(Error::Interrupted { .. }) => {
                self.interrupted(out.idx);
                if let Some(r) = self.results.get_mut(&self.plan.actions[out.idx].addr) {
                    r.api_calls += out.api_calls;
                    r.retries += out.retries;
                }
            }
            Err(e) => self.fail(out.idx, &e, out.api_calls, out.retries),
        }
    }

    /// Marks `idx` interrupted (not started, or stopped waiting); its dependents stay
    /// pending and end interrupted too.
    fn interrupted(&mut self, idx: usize) {
        let action = &self.plan.actions[idx];
        self.slots[idx] = Slot::Skipped;
        self.record(
            action.addr.clone(),
            NodeResult {
                op: action.op,
                status: NodeStatus::Interrupted,
                api_calls: 0,
                retries: 0,
            },
        );
    }

    /// Marks gate `idx` waiting and skips everything that depends on it, transitively.
    fn wait(&mut self, idx: usize, instructions: String, api_calls: u64) {
        let action = &self.plan.actions[idx];
        self.slots[idx] = Slot::Skipped;
        self.record(
            action.addr.clone(),
            NodeResult {
                op: action.op,
                status: NodeStatus::Waiting { instructions },
                api_calls,
                retries: 0,
            },
        );
        self.emit(Event::Waiting {
            addr: action.addr.clone(),
            status: "waiting for a person".to_owned(),
        });
        let because = action.addr.clone();
        let mut stack: Vec<usize> = self.dependents[idx].iter().copied().collect();
        while let Some(j) = stack.pop() {
            if self.slots[j] == Slot::Pending {
                self.skip(j, &because);
                stack.extend(self.dependents[j].iter().copied());
            }
        }
    }

    /// Marks `idx` failed and skips everything that depends on it, transitively.
    fn fail(&mut self, idx: usize, error: &Error, api_calls: u64, retries: u64) {
        self.fail_alone(idx, error, api_calls, retries);
        let because = self.plan.actions[idx].addr.clone();
        let mut stack: Vec<usize> = self.dependents[idx].iter().copied().collect();
        while let Some(j) = stack.pop() {
            if self.slots[j] == Slot::Pending {
                self.skip(j, &because);
                stack.extend(self.dependents[j].iter().copied());
            }
        }
    }

    /// Marks `idx` failed, leaving its dependents alone.
    fn fail_alone(&mut self, idx: usize, error: &Error, api_calls: u64, retries: u64) {
        let action = &self.plan.actions[idx];
        let message = error.to_string();
        tracing::debug!(addr = %action.addr, error = %message, "action failed");
        self.slots[idx] = Slot::Failed;
        self.record(
            action.addr.clone(),
            NodeResult {
                op: action.op,
                status: NodeStatus::Failed(message.clone()),
                api_calls,
                retries,
            },
        );
        self.emit(Event::Failed {
            addr: action.addr.clone(),
            error: message,
        });
    }

    fn skip(&mut self, idx: usize, because: &Address) {
        let action = &self.plan.actions[idx];
        self.slots[idx] = Slot::Skipped;
        self.record(
            action.addr.clone(),
            NodeResult {
                op: action.op,
                status: NodeStatus::Skipped {
                    because: because.clone(),
                },
                api_calls: 0,
                retries: 0,
            },
        );
        self.emit(Event::Skipped {
            addr: action.addr.clone(),
            because: because.clone(),
        });
    }
}

/// Resolves the action's references against the current state.
fn prepare(idx: usize, action: &PlannedAction, state: &State) -> Result<Job, Error> {
    let needs_desired = matches!(
        action.op,
        Op::Check | Op::Read | Op::Create | Op::Update | Op::Replace | Op::Adopt | Op::Gate
    );
    let resolved = match &action.desired {
        Some(d) if needs_desired => {
            let mut r = resolve(&action.addr, &d.attrs, state)?;
            if action.op == Op::Gate {
                crate::gate::fill_account_uid(&mut r, &d.account, state);
            }
            r
        }
        None if needs_desired => {
            return Err(Error::BadPlan {
                addr: action.addr.clone(),
                reason: format!("a `{}` action has no desired resource", action.op),
            });
        }
        _ => Attrs::new(),
    };
    let prior = state
        .resources
        .get(&action.addr)
        .cloned()
        .or_else(|| action.prior.clone());
    let waiting_since = (action.op == Op::Gate)
        .then(|| state.gates.get(action.addr.name()).map(|g| g.since.clone()))
        .flatten();
    Ok(Job {
        idx,
        action: action.clone(),
        resolved,
        prior,
        waiting_since,
    })
}

fn resolve(addr: &Address, attrs: &Attrs, state: &State) -> Result<Attrs, Error> {
    let lookup = |a: &Address| state.resources.get(a).map(|r| r.cloud_id.to_string());
    let mut out = Attrs::new();
    for (name, value) in attrs {
        match value.resolve(&lookup) {
            Some(v) => {
                out.insert(name.clone(), v);
            }
            None => {
                let reference = value
                    .refs()
                    .into_iter()
                    .find(|a| lookup(a).is_none())
                    .cloned()
                    .unwrap_or_else(|| addr.clone());
                return Err(Error::Unresolved {
                    addr: addr.clone(),
                    reference,
                });
            }
        }
    }
    Ok(out)
}

async fn run(shared: Arc<Shared>, job: Job) -> NodeOutcome {
    let idx = job.idx;
    let mut runner = Runner {
        shared,
        idx,
        addr: job.action.addr.clone(),
        api_calls: 0,
        retries: 0,
    };
    let result = runner.execute(job).await;
    NodeOutcome {
        idx,
        result,
        api_calls: runner.api_calls,
        retries: runner.retries,
    }
}

/// What a provider call is, for its rate budget and its concurrency slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// A mutating call.
    Write,
    /// A read (a data read, a balance check, a read-back, a poll).
    Read,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Ready,
    Absent,
}

/// Runs one action inside its task.
struct Runner {
    shared: Arc<Shared>,
    idx: usize,
    addr: Address,
    api_calls: u64,
    retries: u64,
}

impl Runner {
    fn emit(&self, event: Event) {
        let _ = self.shared.events.send(event);
    }

    fn bad_plan(&self, reason: impl Into<String>) -> Error {
        Error::BadPlan {
            addr: self.addr.clone(),
            reason: reason.into(),
        }
    }

    async fn execute(&mut self, job: Job) -> Result<Step, Error> {
        let Job {
            action,
            resolved,
            prior,
            waiting_since,
            ..
        } = job;
        let desired = action.desired.as_ref();
        let done = match action.op {
            Op::NoOp if action.wait_ready => {
                let p =
                    prior.ok_or_else(|| self.bad_plan("a wait for a resource the state lacks"))?;
                self.settle(p.clone(), &p.attrs).await?;
                Ok(Some(p.cloud_id))
            }
            Op::NoOp => Ok(action
                .cloud_id
                .clone()
                .or_else(|| prior.map(|p| p.cloud_id))),
            Op::Check => {
                let d = desired.ok_or_else(|| self.bad_plan("check without a desired resource"))?;
                self.check_balance(d).await.map(|()| None)
            }
            Op::Read => {
                let d = desired.ok_or_else(|| self.bad_plan("read without a desired resource"))?;
                self.read_data(
                    d,
                    &resolved,
                    action.cloud_id.clone().or(prior.map(|p| p.cloud_id)),
                )
                .await
                .map(Some)
            }
            Op::Create => {
                let d =
                    desired.ok_or_else(|| self.bad_plan("create without a desired resource"))?;
                self.create(d, &resolved).await.map(Some)
            }
            Op::Update => {
                let d =
                    desired.ok_or_else(|| self.bad_plan("update without a desired resource"))?;
                let p = prior
                    .ok_or_else(|| self.bad_plan("update of a resource the state does not have"))?;
                let changed = action.diffs.iter().map(|diff| diff.name.clone()).collect();
                self.update(d, &resolved, p, changed).await.map(Some)
            }
            // The creation half of a replacement: the plan deletes the old resource in an
            // action of its own, ordered before this one and after everything that used it.
            Op::Replace => {
                let d =
                    desired.ok_or_else(|| self.bad_plan("replace without a desired resource"))?;
                self.create(d, &resolved).await.map(Some)
            }
            Op::Delete => {
                if let Some(p) = prior {
                    self.delete(p, action.objects).await?;
                }
                Ok(None)
            }
            Op::Adopt => {
                let d = desired.ok_or_else(|| self.bad_plan("adopt without a desired resource"))?;
                // Either a resource found in the cloud but not in state (after a crash), or
                // a recorded one whose `protect` changed: no API call, only a state write.
                let cloud_id = action
                    .cloud_id
                    .clone()
                    .or_else(|| prior.as_ref().map(|p| p.cloud_id.clone()))
                    .ok_or_else(|| self.bad_plan("adopt without the id the cloud has for it"))?;
                let attrs = match &prior {
                    Some(p) => merged(&p.attrs, &resolved),
                    None => resolved,
                };
                self.record(recorded(d, cloud_id.clone(), attrs)).await?;
                Ok(Some(cloud_id))
            }
            Op::Gate => {
                let d = desired.ok_or_else(|| self.bad_plan("gate without a desired resource"))?;
                return self.gate(d, &resolved, waiting_since).await;
            }
            Op::Forget => {
                let addr = self.addr.clone();
                self.commit(vec![
                    Change::Remove(addr.clone()),
                    Change::EndIntentsOf(addr),
                ])
                .await?;
                Ok(None)
            }
        };
        done.map(Step::Done)
    }

    /// A gate: passed with the person's input (the provider checks it, e.g. submits an
    /// e-mail verification code), else recorded as waiting in state.
    async fn gate(
        &mut self,
        desired: &DesiredResource,
        resolved: &Attrs,
        waiting_since: Option<String>,
    ) -> Result<Step, Error> {
        let name = self.addr.name().to_owned();
        let instructions = crate::gate::instructions(resolved);
        let Some(input) = self.shared.opts.inputs.get(&name).cloned() else {
            let addr = self.addr.clone();
            let text = instructions.clone();
            let since = waiting_since.unwrap_or_else(now_rfc3339);
            self.commit(vec![Change::SetGate {
                name,
                gate: WaitingGate {
                    addr,
                    instructions: text,
                    since,
                },
            }])
            .await?;
            return Ok(Step::Waiting(instructions));
        };
        let mut attrs = resolved.clone();
        attrs.insert(crate::gate::INPUT_ATTR.to_owned(), Value::Str(input));
        let req = ChangeRequest {
            addr: self.addr.clone(),
            account: desired.account.clone(),
            region: desired.region.clone(),
            attrs,
            prior: None,
            changed: Vec::new(),
            client_token: String::new(),
        };
        let provider = Arc::clone(&self.shared.provider);
        // Passing a gate (a verification code) is idempotent at the vendor: the code is
        // accepted again, or the account is verified already.
        let outcome = self
            .mutate(|| provider.create(&req), || async { Ok(None) })
            .await?
            .ok_or_else(|| self.bad_plan("a gate cannot pass without its answer"))?;
        let cloud_id = outcome.cloud_id.clone();
        let rec = recorded(desired, outcome.cloud_id, resolved.clone());
        let addr = rec.addr.clone();
        self.commit(vec![
            Change::RemoveGate(name),
            Change::Record(rec),
            Change::EndIntentsOf(addr),
        ])
        .await?;
        Ok(Step::Done(Some(cloud_id)))
    }

    /// Sends a state change to the walker and waits until it is durable.
    async fn commit(&self, changes: Vec<Change>) -> Result<(), Error> {
        let (reply, answer) = oneshot::channel();
        let request = CommitRequest {
            idx: self.idx,
            changes,
            reply,
        };
        let lost = || Error::Internal {
            addr: self.addr.clone(),
            message: "the executor stopped".to_owned(),
        };
        self.shared.commits.send(request).map_err(|_| lost())?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(Error::State {
                addr: self.addr.clone(),
                source,
            }),
            Err(_) => Err(lost()),
        }
    }

    /// Records `resource` and drops every intent of its address (the outcome is known now).
    async fn record(&self, resource: RecordedResource) -> Result<(), Error> {
        let addr = resource.addr.clone();
        // A gate found passed in the cloud (adopted after an apply died between passing it
        // and recording that) no longer waits.
        self.commit(vec![
            Change::Record(resource),
            Change::EndIntentsOf(addr.clone()),
            Change::RemoveGatesOf(addr),
        ])
        .await
    }

    /// Durably announces a mutating call; returns the intent id.
    async fn begin_intent(
        &self,
        op: IntentOp,
        client_token: String,
        attrs: &Attrs,
    ) -> Result<u64, Error> {
        let id = self.shared.intent_ids.fetch_add(1, Ordering::Relaxed);
        let identity: Attrs = attrs
            .iter()
            .filter(|(k, _)| k.as_str() == "name")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let intent = Intent {
            id,
            addr: self.addr.clone(),
            op,
            client_token,
            identity,
            started_at: now_rfc3339(),
        };
        // An intent left by an interrupted run for this address is superseded: this call
        // (planned from a fresh observation) settles it.
        self.commit(vec![
            Change::EndIntentsOf(intent.addr.clone()),
            Change::BeginIntent(intent),
        ])
        .await?;
        Ok(id)
    }

    /// After a failed call: a definite refusal ends the intent; when the outcome is unknown
    /// (retryable errors until the attempts ran out) the intent stays for the next run.
    async fn abandon_intent(&self, id: u64, error: &ProviderError) -> Result<(), Error> {
        if error.kind.is_retryable() {
            return Ok(());
        }
        self.commit(vec![Change::EndIntent(id)]).await
    }

    /// One attempt of a provider call: a rate-limit token of its budget (the API group of
    /// the resource's kind; changes, or reads and polls: polls never spend the budget of
    /// creates), a concurrency slot for the call only, and the throttling bookkeeping.
    async fn attempt<T, Fut>(
        &mut self,
        call: Call,
        f: impl FnOnce() -> Fut,
    ) -> Result<T, ProviderError>
    where
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let shared = Arc::clone(&self.shared);
        let group = ApiGroup::of_kind(self.addr.kind());
        let key = if call == Call::Write {
            ApiKey::write(group)
        } else {
            ApiKey::read(group)
        };
        shared.limiter.acquire(key).await;
        let result = {
            let key = shared.priority.get(self.idx).copied().unwrap_or(u64::MAX);
            let _slot = shared.slots.acquire(key).await;
            self.api_calls += 1;
            f().await
        };
        match &result {
            Ok(_) => shared.limiter.succeeded(key),
            Err(e) if e.kind == ProviderErrorKind::Throttling => {
                if shared.provider_counts_throttles {
                    // Counted by the client already: the limiter reads it on its next look.
                } else {
                    shared.limiter.throttled(key);
                }
            }
            Err(_) => {}
        }
        result
    }

    /// A read, attempted once: the client retries reads itself (its budget, honouring
    /// `Retry-After`), so the executor adds no retry layer of its own.
    async fn read_once<T, Fut>(&mut self, f: impl FnOnce() -> Fut) -> Result<T, ProviderError>
    where
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.attempt(Call::Read, f).await
    }

    /// A mutating call: the one retry layer of mutations (the client never retries one).
    /// On a retryable error it backs off (exponential, full jitter) and, before trying
    /// again, asks `took_effect` whether the failed attempt changed the cloud after all (an
    /// answer lost after the change was committed): then the call is not repeated and
    /// `Ok(None)` is returned. Creates pass a check that says no (their client token or
    /// ownership mark makes a repeat find the first result); deletes likewise (not found
    /// is success).
    async fn mutate<T, Fut, C, CFut>(
        &mut self,
        mut f: impl FnMut() -> Fut,
        mut took_effect: C,
    ) -> Result<Option<T>, ProviderError>
    where
        Fut: Future<Output = Result<T, ProviderError>>,
        C: FnMut() -> CFut,
        CFut: Future<Output = Result<Option<bool>, ProviderError>>,
    {
        let shared = Arc::clone(&self.shared);
        let max_attempts = shared.opts.retry.max_attempts.max(1);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let error = match self.attempt(Call::Write, &mut f).await {
                Ok(v) => return Ok(Some(v)),
                Err(e) => e,
            };
            if !error.kind.is_retryable() || attempt >= max_attempts {
                return Err(error);
            }
            self.retries += 1;
            self.emit(Event::Retrying {
                addr: self.addr.clone(),
                attempt,
                error: error.to_string(),
            });
            let ceiling =
                u64::try_from(shared.opts.retry.ceiling(attempt).as_nanos()).unwrap_or(u64::MAX);
            let pause = if ceiling == 0 {
                0
            } else {
                rand::random_range(0..=ceiling)
            };
            sleep(Duration::from_nanos(pause)).await;
            match took_effect().await {
                // Nothing to check (no call was made).
                Ok(None) => {}
                Ok(Some(done)) => {
                    self.api_calls += 1;
                    if done {
                        tracing::debug!(addr = %self.addr, "the change took effect although its answer was lost; not repeated");
                        return Ok(None);
                    }
                }
                // Cannot tell: the original error stands (never repeat blind).
                Err(_) => return Err(error),
            }
        }
    }

    /// Polls `rec` until it is ready (or absent), with a doubling delay and no slot held
    /// while waiting.
    async fn wait_for(
        &mut self,
        want: Want,
        rec: &RecordedResource,
    ) -> Result<Option<ObservedResource>, Error> {
        let provider = Arc::clone(&self.shared.provider);
        let (initial, max, timeout) = (
            self.shared.opts.poll_initial,
            self.shared.opts.poll_max,
            self.shared.opts.wait_timeout,
        );
        let start = Instant::now();
        // A floor of 1 ms keeps a zero poll delay from spinning without time passing.
        let floor = Duration::from_millis(1);
        let mut delay = initial.max(floor);
        loop {
            tokio::select! {
                () = sleep(delay) => {}
                () = self.shared.opts.cancel.cancelled() => {
                    return Err(Error::Interrupted {
                        addr: self.addr.clone(),
                        cloud_id: rec.cloud_id.clone(),
                    });
                }
            }
            let read = self
                .attempt(Call::Read, || {
                    provider.read(
                        &rec.addr,
                        rec.mode,
                        &rec.account,
                        rec.region.as_ref(),
                        &rec.cloud_id,
                    )
                })
                .await;
            let obs = match read {
                Ok(obs) => Some(obs),
                // A poll that could not read (after the client's own retries) is not a
                // failure of the action: the next poll asks again, within the timeout.
                Err(e) if e.kind.is_retryable() => None,
                Err(e) => return Err(e.into()),
            };
            let status = match obs {
                None => "could not be read, polling again".to_owned(),
                Some(obs) => match obs {
                    Observation::Unknown => return Ok(None),
                    Observation::Absent if want == Want::Absent => return Ok(None),
                    Observation::Absent => "not visible yet".to_owned(),
                    Observation::Found(r) => match &r.readiness {
                        Readiness::Failed(message) => {
                            return Err(Error::ResourceFailed {
                                addr: self.addr.clone(),
                                cloud_id: r.cloud_id.clone(),
                                message: message.clone(),
                            });
                        }
                        Readiness::Ready if want == Want::Ready => return Ok(Some(r)),
                        Readiness::Ready => "still present".to_owned(),
                        Readiness::Pending => "pending".to_owned(),
                        Readiness::Deleting => "deleting".to_owned(),
                        Readiness::Unknown(why) => format!("status unknown ({why})"),
                    },
                },
            };
            self.emit(Event::Waiting {
                addr: self.addr.clone(),
                status,
            });
            if start.elapsed() >= timeout {
                return Err(Error::WaitTimeout {
                    addr: self.addr.clone(),
                    cloud_id: rec.cloud_id.clone(),
                    wanted: if want == Want::Ready {
                        "ready"
                    } else {
                        "absent"
                    },
                    waited_secs: start.elapsed().as_secs(),
                });
            }
            delay = delay.saturating_mul(2).min(max.max(floor));
        }
    }

    /// Waits for a pending create or update and records what the cloud reports once ready.
    async fn settle(&mut self, rec: RecordedResource, resolved: &Attrs) -> Result<(), Error> {
        if let Some(obs) = self.wait_for(Want::Ready, &rec).await? {
            let attrs = merged(&obs.attrs, resolved);
            if attrs != rec.attrs || obs.cloud_id != rec.cloud_id {
                self.record(RecordedResource {
                    attrs,
                    cloud_id: obs.cloud_id,
                    ..rec
                })
                .await?;
            }
        }
        Ok(())
    }

    async fn create(
        &mut self,
        desired: &DesiredResource,
        resolved: &Attrs,
    ) -> Result<CloudId, Error> {
        let token = client_token(&self.addr, resolved);
        // The intent records the token only where the create call takes one: a recovery
        // that names a token must be one the cloud deduplicates by.
        let recorded_token = if flinkform_core::kind_spec(self.addr.kind()).client_token {
            token.clone()
        } else {
            String::new()
        };
        let intent = self
            .begin_intent(IntentOp::Create, recorded_token, resolved)
            .await?;
        let req = ChangeRequest {
            addr: self.addr.clone(),
            account: desired.account.clone(),
            region: desired.region.clone(),
            attrs: resolved.clone(),
            prior: None,
            changed: Vec::new(),
            client_token: token,
        };
        let provider = Arc::clone(&self.shared.provider);
        let created = self
            .mutate(|| provider.create(&req), || async { Ok(None) })
            .await
            .and_then(|o| {
                o.ok_or_else(|| ProviderError {
                    kind: ProviderErrorKind::Fatal,
                    action: "create".to_owned(),
                    code: None,
                    message: "a create cannot settle without its answer".to_owned(),
                    request_id: None,
                })
            });
        let outcome = match created {
            Ok(o) => o,
            Err(e) if e.kind == ProviderErrorKind::Conflict => {
                match self.find_existing(desired, resolved).await {
                    Ok(Some(o)) => o,
                    Ok(None) => {
                        self.abandon_intent(intent, &e).await?;
                        return Err(e.into());
                    }
                    Err(lookup) => {
                        self.abandon_intent(intent, &lookup).await?;
                        return Err(lookup.into());
                    }
                }
            }
            Err(e) => {
                self.abandon_intent(intent, &e).await?;
                return Err(e.into());
            }
        };
        let cloud_id = outcome.cloud_id.clone();
        let rec = recorded(desired, outcome.cloud_id, merged(&outcome.attrs, resolved));
        self.record(rec.clone()).await?;
        if !outcome.done {
            self.settle(rec, resolved).await?;
        }
        Ok(cloud_id)
    }

    /// After a create conflict: the resource may exist already (a create without a client
    /// token that happened before a crash or a lost response). Look it up by identity.
    async fn find_existing(
        &mut self,
        desired: &DesiredResource,
        resolved: &Attrs,
    ) -> Result<Option<Outcome>, ProviderError> {
        let provider = Arc::clone(&self.shared.provider);
        let resolved = DesiredResource {
            attrs: resolved.clone(),
            ..desired.clone()
        };
        let req = ObserveRequest {
            desired: vec![&resolved],
            ..ObserveRequest::default()
        };
        let observed = self.read_once(|| provider.observe(&req)).await?;
        Ok(match observed.resources.get(&self.addr) {
            Some(Observation::Found(r)) => Some(Outcome {
                cloud_id: r.cloud_id.clone(),
                attrs: r.attrs.clone(),
                done: r.readiness == Readiness::Ready,
            }),
            _ => None,
        })
    }

    async fn update(
        &mut self,
        desired: &DesiredResource,
        resolved: &Attrs,
        prior: RecordedResource,
        changed: Vec<String>,
    ) -> Result<CloudId, Error> {
        let token = client_token(&self.addr, resolved);
        // No update call takes a client token: the intent records none.
        let intent = self
            .begin_intent(IntentOp::Update, String::new(), resolved)
            .await?;
        let prior_attrs = prior.attrs.clone();
        let changed_names = changed.clone();
        let req = ChangeRequest {
            addr: self.addr.clone(),
            account: desired.account.clone(),
            region: desired.region.clone(),
            attrs: resolved.clone(),
            prior: Some(prior),
            changed,
            client_token: token,
        };
        let provider = Arc::clone(&self.shared.provider);
        let check = &req;
        let read_back = || {
            let provider = Arc::clone(&provider);
            async move {
                let Some(p) = &check.prior else {
                    return Ok(None);
                };
                let obs = provider
                    .read(&p.addr, p.mode, &p.account, p.region.as_ref(), &p.cloud_id)
                    .await?;
                let Observation::Found(o) = obs else {
                    return Ok(Some(false));
                };
                Ok(Some(check.changed.iter().all(|name| {
                    match (check.attrs.get(name), o.attrs.get(name)) {
                        (Some(want), Some(have)) => {
                            flinkform_plan::attr_settled(name, want, have, p.attrs.get(name))
                        }
                        _ => false,
                    }
                })))
            }
        };
        let outcome = match self.mutate(|| provider.update(&req), read_back).await {
            Ok(Some(o)) => o,
            Ok(None) => Outcome {
                cloud_id: req
                    .prior
                    .as_ref()
                    .map(|p| p.cloud_id.clone())
                    .ok_or_else(|| self.bad_plan("an update without its prior"))?,
                attrs: resolved.clone(),
                done: false,
            },
            Err(e) => {
                self.abandon_intent(intent, &e).await?;
                return Err(e.into());
            }
        };
        let cloud_id = outcome.cloud_id.clone();
        // Only what this action changed is recorded as changed: an update may be one step
        // of several (one call each), and the next step's attribute is not applied yet.
        let mut attrs = prior_attrs;
        for name in &changed_names {
            if let Some(v) = resolved.get(name) {
                attrs.insert(name.clone(), v.clone());
            }
        }
        let rec = recorded(desired, outcome.cloud_id, attrs);
        self.record(rec.clone()).await?;
        if !outcome.done {
            self.settle(rec, resolved).await?;
        }
        Ok(cloud_id)
    }

    async fn delete(&mut self, prior: RecordedResource, objects: Option<u64>) -> Result<(), Error> {
        let intent = self
            .begin_intent(IntentOp::Delete, String::new(), &prior.attrs)
            .await?;
        let provider = Arc::clone(&self.shared.provider);
        let req = DeleteRequest {
            prior: prior.clone(),
            objects,
        };
        let gone = match self
            .mutate(|| provider.delete(&req), || async { Ok(None) })
            .await
        {
            Ok(o) => o.is_some_and(|o| o.done),
            Err(e) if e.kind == ProviderErrorKind::NotFound => true,
            Err(e) => {
                self.abandon_intent(intent, &e).await?;
                return Err(e.into());
            }
        };
        self.commit(vec![Change::EndIntent(intent)]).await?;
        if !gone {
            self.wait_for(Want::Absent, &prior).await?;
        }
        let addr = self.addr.clone();
        self.commit(vec![
            Change::Remove(addr.clone()),
            Change::EndIntentsOf(addr),
        ])
        .await
    }

    async fn read_data(
        &mut self,
        desired: &DesiredResource,
        resolved: &Attrs,
        known: Option<CloudId>,
    ) -> Result<CloudId, Error> {
        let cloud_id = match resolved.get("id").and_then(Value::as_str) {
            Some(id) => CloudId::new(id).map_err(|e| self.bad_plan(e.to_string()))?,
            None => known.ok_or_else(|| self.bad_plan("a read needs the `id` attribute"))?,
        };
        let provider = Arc::clone(&self.shared.provider);
        let addr = self.addr.clone();
        let obs = self
            .read_once(|| {
                provider.read(
                    &addr,
                    Mode::Data,
                    &desired.account,
                    desired.region.as_ref(),
                    &cloud_id,
                )
            })
            .await?;
        let rec = match obs {
            Observation::Found(r) => RecordedResource {
                mode: Mode::Data,
                ..recorded(desired, r.cloud_id, merged(resolved, &r.attrs))
            },
            Observation::Unknown => RecordedResource {
                mode: Mode::Data,
                ..recorded(desired, cloud_id, resolved.clone())
            },
            Observation::Absent => {
                return Err(Error::NotFound {
                    addr: self.addr.clone(),
                    cloud_id,
                });
            }
        };
        let id = rec.cloud_id.clone();
        self.record(rec).await?;
        Ok(id)
    }

    /// The apply-time balance re-check: no pay-as-you-go order without the balance. The
    /// minimum is `money::payg_minimum_cents` of the currency the account reports now, the
    /// rule the plan was checked with.
    async fn check_balance(&mut self, desired: &DesiredResource) -> Result<(), Error> {
        let provider = Arc::clone(&self.shared.provider);
        let req = ObserveRequest {
            accounts: BTreeMap::from([(desired.account.clone(), BTreeSet::new())]),
            ..ObserveRequest::default()
        };
        let observed = self.read_once(|| provider.observe(&req)).await?;
        let unknown = |reason: String| Error::BalanceUnknown {
            account: desired.account.clone(),
            reason,
        };
        let balance = observed
            .accounts
            .get(&desired.account)
            .and_then(|f| f.balance.clone())
            .ok_or_else(|| unknown("the cloud reported no balance".to_owned()))?;
        let minimum = money::payg_minimum_cents(&balance.currency).ok_or_else(|| {
            unknown(format!(
                "flinkform knows no pay-as-you-go minimum in `{}`",
                balance.currency
            ))
        })?;
        if balance.cents < minimum {
            return Err(Error::BalanceTooLow {
                account: desired.account.clone(),
                available: money::format_cents(balance.cents),
                minimum: money::format_cents(minimum),
                currency: balance.currency,
            });
        }
        Ok(())
    }
}

/// The record of `desired` under `cloud_id` with `attrs`.
fn recorded(desired: &DesiredResource, cloud_id: CloudId, attrs: Attrs) -> RecordedResource {
    RecordedResource {
        addr: desired.addr.clone(),
        mode: desired.mode,
        account: desired.account.clone(),
        region: desired.region.clone(),
        cloud_id,
        attrs,
        depends_on: desired.depends_on.clone(),
        protect: desired.protect,
    }
}

/// `base` with every attribute of `over` put over it.
fn merged(base: &Attrs, over: &Attrs) -> Attrs {
    let mut out = base.clone();
    out.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}
