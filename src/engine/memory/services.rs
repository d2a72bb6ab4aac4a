//! Swarm services in the fake, as a single-node swarm treats them: a
//! version that every write bumps and an update must name, rollouts that
//! converge over a few polls, and tasks that fail when told to (a failing
//! update is rolled back or paused as its `failure_action` says). Tests
//! scale, update and remove services "by hand", or leave the swarm.

use std::collections::BTreeMap;

use super::{Behaviour, Inner, MemoryEngine, Object, not_found};
use crate::deployment::{Kind, Resource, ServiceMode, ServiceSpec, Spec};
use crate::engine::swarm::{Rollout, ServiceLive, UpdateState, UpdateStatus, not_a_manager};
use crate::engine::{Actual, EngineError, ErrorKind, LiveObject, labels};

/// The fake's swarm: whether it is one, and each service's rollout.
#[derive(Debug, Default)]
pub(super) struct Swarm {
    /// Set by [`MemoryEngine::leave_swarm`]: services are refused.
    pub left: bool,
    /// By service id.
    pub rollouts: BTreeMap<String, FakeRollout>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct FakeRollout {
    /// The labels and spec before the last update, for a rollback.
    previous: Option<(BTreeMap<String, String>, serde_json::Value)>,
    /// Rollout polls since the last create or update.
    polls: u32,
    /// Whether the last write was an update (else a create).
    updating: bool,
}

/// Each status is told from the last by a counter standing for its time.
fn status(state: UpdateState, message: impl Into<String>) -> UpdateStatus {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    UpdateStatus {
        state,
        message: message.into(),
        since: NEXT.fetch_add(1, Ordering::Relaxed).to_string(),
    }
}

impl MemoryEngine {
    /// `docker swarm leave`: the engine is no swarm manager any more.
    pub fn leave_swarm(&self) {
        self.with(|i| i.swarm.left = true);
    }

    /// `docker service scale NAME=N` by hand.
    pub fn scale_by_hand(&self, name: &str, replicas: u64) {
        self.service_by_hand(name, |spec| {
            spec["replicas"] = serde_json::json!(replicas);
        });
    }

    /// `docker service update` by hand: `f` changes the service's spec (in
    /// the deployment's shape); its labels stay.
    pub fn service_by_hand(&self, name: &str, f: impl FnOnce(&mut serde_json::Value)) {
        self.with(|i| {
            if let Some(live) = i
                .objects
                .iter_mut()
                .find(|o| o.kind == Kind::Service && o.name == name)
                .and_then(|o| o.actual.service.as_mut())
            {
                f(&mut live.spec);
                live.version += 1;
            }
        });
    }
}

impl Inner {
    pub(super) fn swarm_refusal(&self) -> Option<String> {
        self.swarm
            .left
            .then(|| not_a_manager("the in-memory engine", "not in swarm mode"))
    }

    fn refuse_without_swarm(&self) -> Result<(), EngineError> {
        match self.swarm_refusal() {
            Some(why) => Err(EngineError::new(
                ErrorKind::Other,
                format!("This node is not a swarm manager ({why})"),
            )),
            None => Ok(()),
        }
    }

    pub(super) fn create_service(
        &mut self,
        id: String,
        resource: &Resource,
        labels: BTreeMap<String, String>,
        s: &ServiceSpec,
    ) -> Result<Object, EngineError> {
        self.refuse_without_swarm()?;
        for n in &s.run.networks {
            let network = self
                .objects
                .iter()
                .find(|o| o.kind == Kind::Network && o.name == n.network);
            let overlay = network
                .and_then(|o| o.labels.get(crate::engine::LABEL_SPEC))
                .and_then(|spec| serde_json::from_str::<serde_json::Value>(spec).ok())
                .is_none_or(|spec| spec["driver"] == "overlay");
            if network.is_none() || !overlay {
                return Err(EngineError::new(
                    ErrorKind::NotFound,
                    format!(
                        "network {} not found (a service joins only swarm-scoped networks: `driver = \"overlay\"`)",
                        n.network
                    ),
                )
                .about(format!("service {}", resource.name)));
            }
        }
        self.swarm
            .rollouts
            .insert(id.clone(), FakeRollout::default());
        let mut object = Object::plain(Kind::Service, id, resource.name.clone(), labels);
        object.actual = Actual {
            service: Some(Box::new(ServiceLive {
                version: 1,
                spec: serde_json::to_value(s).unwrap_or_default(),
                update: None,
                unread: Vec::new(),
                tasks: (0, s.desired_replicas().unwrap_or(1)),
            })),
            ..Actual::default()
        };
        Ok(object)
    }

    pub(super) fn update_service(
        &mut self,
        stack: &str,
        resource: &Resource,
        object: &LiveObject,
        force: bool,
    ) -> Result<(), EngineError> {
        self.refuse_without_swarm()?;
        let what = format!("service {}", resource.name);
        self.call("update", &resource.name)?;
        let Spec::Service(s) = &resource.spec else {
            return Err(EngineError::new(ErrorKind::Other, "not a service").about(what));
        };
        let read = object.actual.service.as_ref().map_or(0, |l| l.version);
        let new_labels = labels(stack, resource);
        let o = self.find(&object.id).ok_or_else(|| not_found(&object.id))?;
        let Some(live) = o.actual.service.as_mut() else {
            return Err(not_found(&object.id).about(what));
        };
        if live.version != read {
            return Err(EngineError::new(
                ErrorKind::Conflict,
                "rpc error: code = Unknown desc = update out of sequence",
            )
            .about(what));
        }
        let spec = serde_json::to_value(&**s).unwrap_or_default();
        let previous = (o.labels.clone(), live.spec.clone());
        let changed = previous.1 != spec || o.labels != new_labels;
        live.spec = spec;
        live.version += 1;
        live.tasks.1 = s.desired_replicas().unwrap_or(1);
        if changed || force {
            live.update = Some(status(UpdateState::Updating, "update in progress"));
        }
        o.labels = new_labels;
        if changed || force {
            self.swarm.rollouts.insert(
                object.id.clone(),
                FakeRollout {
                    previous: Some(previous),
                    polls: 0,
                    updating: true,
                },
            );
        }
        Ok(())
    }

    /// What a poll of the rollout finds: time passes, tasks start or fail.
    pub(super) fn rollout(&mut self, id: &str) -> Result<Rollout, EngineError> {
        let failing = {
            let o = self.find(id).ok_or_else(|| not_found(id))?;
            o.kind == Kind::Service
        } && {
            let name = self.find(id).map(|o| o.name.clone()).unwrap_or_default();
            matches!(
                self.behaviours.get(&name),
                Some(Behaviour::Exit { code, .. }) if *code != 0
            ) || matches!(self.behaviours.get(&name), Some(Behaviour::Unhealthy))
        };
        let mut state = self.swarm.rollouts.get(id).cloned().unwrap_or_default();
        state.polls += 1;
        let o = self.find(id).ok_or_else(|| not_found(id))?;
        let Some(live) = o.actual.service.as_mut() else {
            return Err(not_found(id));
        };
        let spec: Option<ServiceSpec> = serde_json::from_value(live.spec.clone()).ok();
        let desired = spec.as_ref().map_or(1, |s| match s.mode {
            ServiceMode::Replicated => s.replicas,
            ServiceMode::Global => 1,
        });
        let mut rollout = Rollout {
            desired,
            ..Rollout::default()
        };
        let task_error = "task: non-zero exit (1)".to_string();
        if failing {
            rollout.failed = u64::from(state.polls);
            rollout.errors = vec![task_error];
            if state.updating && state.polls >= 2 {
                let action = spec
                    .as_ref()
                    .map_or("pause".to_string(), |s| s.update.failure_action.clone());
                match (action.as_str(), state.previous.take()) {
                    ("rollback", Some((labels, previous))) => {
                        live.spec = previous;
                        live.version += 1;
                        live.update =
                            Some(status(UpdateState::RollbackCompleted, "rollback completed"));
                        o.labels = labels;
                    }
                    ("continue", _) => {
                        live.update = Some(status(UpdateState::Completed, "update completed"))
                    }
                    _ => {
                        live.update = Some(status(
                            UpdateState::Paused,
                            format!(
                                "update paused due to failure or early termination of task {id}"
                            ),
                        ))
                    }
                }
                state.updating = false;
            }
            rollout.update = live.update.clone();
        } else if state.polls >= 2 {
            rollout.running = desired;
            if state.updating {
                live.update = Some(status(UpdateState::Completed, "update completed"));
                state.updating = false;
            }
            rollout.update = live.update.clone();
        } else {
            rollout.running = desired / 2;
            rollout.update = live.update.clone();
        }
        live.tasks = (rollout.running, desired);
        self.swarm.rollouts.insert(id.to_string(), state);
        Ok(rollout)
    }

    /// Whether a service of any stack is on the network (its spec says so).
    pub(super) fn service_uses_network(&self, name: &str) -> bool {
        self.objects.iter().any(|o| {
            o.actual.service.as_ref().is_some_and(|l| {
                l.spec["networks"]
                    .as_array()
                    .is_some_and(|ns| ns.iter().any(|n| n["network"] == name))
            })
        })
    }

    pub(super) fn observe_service(&self, id: &str) -> Option<LiveObject> {
        self.objects
            .iter()
            .find(|o| o.id == id && o.kind == Kind::Service)
            .and_then(Object::live)
    }
}
