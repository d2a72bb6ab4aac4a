//! Swarm services: whether the engine can run them, create, update in
//! place (naming the version read), remove, and how a rollout is going.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bollard::models::{Service, TaskState};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptions, ListServicesOptionsBuilder,
    ListTasksOptionsBuilder, UpdateServiceOptionsBuilder,
};

use super::DockerEngine;
use super::error::status;
use super::service_convert::{live_service, service_spec, update_status};
use crate::deployment::{Resource, ServiceSpec, Spec};
use crate::engine::swarm::{Rollout, not_a_manager};
use crate::engine::{EngineError, ErrorKind, LABEL_STACK, LiveObject};

/// How long a removal waits for the service's tasks to be gone (its
/// networks cannot be removed before).
const TASKS_GONE: Duration = Duration::from_secs(60);

impl DockerEngine {
    pub(super) async fn refusal(&self) -> Result<Option<String>, EngineError> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| self.error(e, "the engine's swarm state"))?;
        let swarm = info.swarm.unwrap_or_default();
        let state = swarm
            .local_node_state
            .map(|s| s.to_string())
            .unwrap_or_default();
        Ok(match (state.as_str(), swarm.control_available) {
            ("active", Some(true)) => None,
            ("active", _) => Some(not_a_manager(
                &self.host,
                "a swarm worker, not a manager (services are managed on managers)",
            )),
            ("", _) | ("inactive", _) => Some(not_a_manager(&self.host, "not in swarm mode")),
            (other, _) => Some(not_a_manager(
                &self.host,
                &format!("in swarm state `{other}`"),
            )),
        })
    }

    /// The stack's services, with their task counts; none on an engine
    /// that is not a swarm manager.
    pub(super) async fn stack_services(&self, stack: &str) -> Result<Vec<LiveObject>, EngineError> {
        let filters = HashMap::from([("label", vec![format!("{LABEL_STACK}={stack}")])]);
        let listed = self
            .docker
            .list_services(Some(
                ListServicesOptionsBuilder::default()
                    .filters(&filters)
                    .status(true)
                    .build(),
            ))
            .await;
        let services = match listed {
            Ok(s) => s,
            // "This node is not a swarm manager": it has no services.
            Err(e) if status(&e) == Some(503) => return Ok(Vec::new()),
            Err(e) => return Err(self.error(e, format!("services of stack {stack}"))),
        };
        if services.is_empty() {
            return Ok(Vec::new());
        }
        let names = self.network_names().await?;
        Ok(services
            .into_iter()
            .filter_map(|s| live_service(s, &names))
            .collect())
    }

    /// Swarm keeps a service's networks by id: their names, by id.
    async fn network_names(&self) -> Result<BTreeMap<String, String>, EngineError> {
        let networks = self
            .docker
            .list_networks(None::<ListNetworksOptions>)
            .await
            .map_err(|e| self.error(e, "networks"))?;
        Ok(networks
            .into_iter()
            .filter_map(|n| Some((n.id?, n.name?)))
            .collect())
    }

    pub(super) async fn create_service(
        &self,
        stack: &str,
        resource: &Resource,
        s: &ServiceSpec,
    ) -> Result<String, EngineError> {
        let what = format!("service {}", resource.name);
        let created = self
            .docker
            .create_service(service_spec(stack, resource, s), None)
            .await
            .map_err(|e| self.service_error(e, &what))?;
        Ok(created.id.unwrap_or_default())
    }

    pub(super) async fn update_live_service(
        &self,
        stack: &str,
        resource: &Resource,
        object: &LiveObject,
        force: bool,
    ) -> Result<(), EngineError> {
        let what = format!("service {}", resource.name);
        let Spec::Service(s) = &resource.spec else {
            return Err(EngineError::new(ErrorKind::Other, "not a service").about(what));
        };
        let version = object.actual.service.as_ref().map_or(0, |l| l.version);
        let mut spec = service_spec(stack, resource, s);
        if force {
            // A paused update is rolled out again only when something changes.
            let now = self.inspect_live_service(&object.id, &what).await?;
            let forced = now
                .spec
                .and_then(|s| s.task_template)
                .and_then(|t| t.force_update)
                .unwrap_or(0);
            if let Some(t) = spec.task_template.as_mut() {
                t.force_update = Some(forced + 1);
            }
        }
        let options = UpdateServiceOptionsBuilder::default()
            .version(i32::try_from(version).unwrap_or(i32::MAX))
            .build();
        self.docker
            .update_service(&object.id, spec, options, None)
            .await
            .map_err(|e| self.service_error(e, &what))?;
        Ok(())
    }

    async fn inspect_live_service(&self, id: &str, what: &str) -> Result<Service, EngineError> {
        self.docker
            .inspect_service(id, None)
            .await
            .map_err(|e| self.error(e, what))
    }

    pub(super) async fn observe_one_service(
        &self,
        id: &str,
    ) -> Result<Option<LiveObject>, EngineError> {
        match self.docker.inspect_service(id, None).await {
            Ok(s) => Ok(live_service(s, &self.network_names().await?)),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.error(e, format!("service {id}"))),
        }
    }

    /// Removes a service, then waits for its tasks to go: until they have,
    /// its networks are in use.
    pub(super) async fn remove_service(&self, id: &str, what: String) -> Result<(), EngineError> {
        self.docker
            .delete_service(id)
            .await
            .map_err(|e| self.error(e, what.clone()))?;
        // The tasks' containers outlive the service by their stop grace
        // period; their networks and volumes are in use until they are gone.
        let filters = HashMap::from([("label", vec![format!("com.docker.swarm.service.id={id}")])]);
        let deadline = Instant::now() + TASKS_GONE;
        while Instant::now() < deadline {
            let left = self
                .docker
                .list_containers(Some(
                    ListContainersOptionsBuilder::default()
                        .all(true)
                        .filters(&filters)
                        .build(),
                ))
                .await
                .map_err(|e| self.error(e, what.clone()))?;
            if left.is_empty() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    }

    async fn tasks(&self, service: &str) -> Result<Vec<bollard::models::Task>, EngineError> {
        let filters = HashMap::from([("service", vec![service.to_string()])]);
        match self
            .docker
            .list_tasks(Some(
                ListTasksOptionsBuilder::default().filters(&filters).build(),
            ))
            .await
        {
            Ok(tasks) => Ok(tasks),
            Err(e) if status(&e) == Some(404) => Ok(Vec::new()),
            Err(e) => Err(self.error(e, format!("tasks of service {service}"))),
        }
    }

    pub(super) async fn service_rollout(&self, id: &str) -> Result<Rollout, EngineError> {
        let what = format!("service {id}");
        let service = self.inspect_live_service(id, &what).await?;
        let spec = service.spec.clone().unwrap_or_default();
        let template = comparable(spec.task_template.clone().unwrap_or_default());
        let tasks = self.tasks(id).await?;
        let wanted = |t: &bollard::models::Task| t.desired_state == Some(TaskState::RUNNING);
        let current =
            |t: &bollard::models::Task| t.spec.clone().map(comparable).as_ref() == Some(&template);
        let state = |t: &bollard::models::Task| t.status.as_ref().and_then(|s| s.state);
        let desired = match spec.mode.as_ref().and_then(|m| m.replicated.as_ref()) {
            Some(r) => r.replicas.unwrap_or(0).max(0) as u64,
            // Global: one per eligible node, as Swarm counts them (its tasks
            // may not all be made yet).
            None => self.desired_tasks(id).await?,
        };
        let running = tasks
            .iter()
            .filter(|t| wanted(t) && current(t) && state(t) == Some(TaskState::RUNNING))
            .count() as u64;
        let stopping = tasks
            .iter()
            .filter(|t| !wanted(t) && state(t) == Some(TaskState::RUNNING))
            .count() as u64;
        let failed: Vec<&bollard::models::Task> = tasks
            .iter()
            .filter(|t| {
                matches!(
                    state(t),
                    Some(TaskState::FAILED | TaskState::REJECTED | TaskState::ORPHANED)
                )
            })
            .collect();
        // Any task Swarm gave an error, failed or since shut down.
        let mut newest: Vec<&bollard::models::Task> = tasks
            .iter()
            .filter(|t| {
                t.status
                    .as_ref()
                    .and_then(|s| s.err.as_ref())
                    .is_some_and(|e| !e.is_empty())
            })
            .collect();
        newest.sort_by_key(|t| std::cmp::Reverse(t.updated_at.clone().map(|d| d.to_string())));
        let mut errors: Vec<String> = Vec::new();
        for t in newest {
            let status = t.status.clone().unwrap_or_default();
            let text = status.err.or(status.message).unwrap_or_default();
            let exit = status
                .container_status
                .and_then(|c| c.exit_code)
                .filter(|c| *c != 0)
                .map(|c| format!(" (exit code {c})"))
                .unwrap_or_default();
            let line = if text.contains("exit") {
                text.clone()
            } else {
                format!("{text}{exit}")
            };
            if !text.is_empty() && !errors.contains(&line) {
                errors.push(line);
            }
        }
        errors.truncate(3);
        let update = update_status(service.update_status.as_ref());
        Ok(Rollout {
            desired,
            running,
            failed: failed.iter().filter(|t| current(t)).count() as u64,
            stopping,
            update,
            errors,
        })
    }

    /// The tasks Swarm wants of a service now (`ServiceStatus.DesiredTasks`).
    async fn desired_tasks(&self, id: &str) -> Result<u64, EngineError> {
        let filters = HashMap::from([("id", vec![id.to_string()])]);
        let listed = self
            .docker
            .list_services(Some(
                ListServicesOptionsBuilder::default()
                    .filters(&filters)
                    .status(true)
                    .build(),
            ))
            .await
            .map_err(|e| self.error(e, format!("service {id}")))?;
        Ok(listed
            .iter()
            .find(|s| s.id.as_deref() == Some(id))
            .and_then(|s| s.service_status.as_ref()?.desired_tasks)
            .unwrap_or(0))
    }

    /// Docker's error for a service; a stale version (another writer came
    /// first) is a conflict.
    fn service_error(&self, e: bollard::errors::Error, what: &str) -> EngineError {
        let mut error = self.error(e, what);
        if error.message.contains("update out of sequence") {
            error.kind = ErrorKind::Conflict;
        }
        error
    }
}

/// A task spec without what Swarm fills in on the service's copy only
/// (`DNSConfig: {}`, `Runtime`): a task runs the service's current spec
/// when the rest is equal.
fn comparable(mut spec: bollard::models::TaskSpec) -> bollard::models::TaskSpec {
    spec.runtime = None;
    if let Some(c) = spec.container_spec.as_mut() {
        c.dns_config = None;
        c.isolation = None;
    }
    spec
}
