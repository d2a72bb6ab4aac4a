//! Swarm services: what they share with containers (`container.rs`), and
//! their own settings (`deployment/swarm.rs`): replicas or global mode,
//! rolling updates and rollbacks, placement, reservations, restart policy.

use super::{Fields, Marked, Normalizer, get, items};
use crate::deployment::SECRET_MASK;
use crate::deployment::*;
use crate::eval::value::{Map, Value};

impl Normalizer<'_, '_> {
    pub(super) fn service(&mut self, fields: &Fields<'_>) -> ServiceSpec {
        let mode = match self.opt_text(fields, "mode").as_deref() {
            Some("global") => ServiceMode::Global,
            _ => ServiceMode::Replicated,
        };
        let replicas = self.replicas(fields);
        if mode == ServiceMode::Global && get(fields, "replicas").is_some() {
            self.error(
                "replicas",
                "a global service runs one task on every node: `replicas` has no meaning",
                Some("leave `replicas` out, or `mode` to run a number of replicas"),
            );
        }
        let update = self
            .rollout(fields, "update")
            .unwrap_or_else(|| default_rollout("pause"));
        let rollback = self.rollout(fields, "rollback");
        let placement = self.placement(fields);
        let reservations = self.reservations(fields);
        let restart_policy = self.service_restart(fields);
        let stop_signal = self.stop_signal(fields);
        let container_labels = self.labels_of(fields, "container_labels");
        let mut run = self.run(fields);
        self.no_static_address(&run);
        if run.ports.iter().any(|p| p.ip.is_some()) {
            self.error(
                "ports",
                "Swarm publishes a service's ports on every address of its nodes: a port cannot name an `ip`",
                Some("leave `ip` out; to keep a port off the network, publish none and reach the service over an overlay network"),
            );
        }
        // On each of its networks a service answers to its logical name too,
        // as a container does; Swarm adds its Docker name itself.
        let logical = self.ctx.logical_name;
        for n in &mut run.networks {
            if !n.aliases.iter().any(|a| a == logical) {
                n.aliases.push(logical.to_string());
                n.aliases.sort();
            }
        }
        ServiceSpec {
            run,
            replicas,
            update,
            placement,
            mode,
            rollback,
            reservations,
            restart_policy,
            stop_signal,
            container_labels,
        }
    }

    fn replicas(&mut self, fields: &Fields<'_>) -> u64 {
        match self.number(fields, "replicas") {
            Some(Value::Int(r)) if *r >= 0 => *r as u64,
            Some(Value::Int(r)) => {
                let r = if get(fields, "replicas").is_some_and(Value::is_tainted) {
                    SECRET_MASK.to_string()
                } else {
                    r.to_string()
                };
                self.error(
                    "replicas",
                    format!("replicas must be 0 or more, not {r}"),
                    None,
                );
                0
            }
            _ => 1,
        }
    }

    /// A record field's entries, the whole field marked when any part is secret.
    fn record(&mut self, fields: &Fields<'_>, name: &str) -> Option<std::rc::Rc<Map>> {
        let (v, whole) = get(fields, name)?.reveal();
        let Value::Map(m) = v else {
            return None;
        };
        if whole || m.iter().any(|(_, v)| v.is_tainted()) {
            self.sensitive.push(format!("/{name}"));
        }
        Some(m.clone())
    }

    /// `update` or `rollback`: `{ parallelism, delay, order, failure_action, monitor }`.
    fn rollout(&mut self, fields: &Fields<'_>, name: &str) -> Option<UpdateSpec> {
        let m = self.record(fields, name)?;
        let part = |k: &str| m.get(k).map(|v| v.reveal().0.clone());
        let text = |v: Option<Value>| v.and_then(|v| v.to_text().map(|(t, _)| t.to_string()));
        let mut spec = default_rollout("pause");
        if let Some(order) = text(part("order")) {
            spec.order = order;
        }
        if let Some(action) = text(part("failure_action")) {
            spec.failure_action = action;
        }
        match part("parallelism") {
            Some(Value::Int(p)) if p >= 0 => spec.parallelism = p as u64,
            Some(Value::Int(_)) => self.error(
                name,
                format!("{name} parallelism must be 0 (all at once) or more"),
                None,
            ),
            _ => {}
        }
        if let Some(Value::Duration(d)) = part("delay") {
            spec.delay = self.non_negative(name, Millis(d));
        }
        if let Some(Value::Duration(d)) = part("monitor") {
            spec.monitor = Some(self.non_negative(name, Millis(d)));
        }
        Some(spec)
    }

    fn placement(&mut self, fields: &Fields<'_>) -> PlacementSpec {
        let mut placement = PlacementSpec {
            constraints: Vec::new(),
            preferences: Vec::new(),
            max_replicas: None,
        };
        let Some((Value::Map(p), whole)) = get(fields, "placement").map(Value::reveal) else {
            return placement;
        };
        if whole {
            self.sensitive.push("/placement".into());
        }
        let texts = |n: &mut Self, key: &str| {
            let (list, whole) = items(p.get(key));
            let marked = list
                .iter()
                .filter_map(|c| {
                    let (t, secret) = c.to_text()?;
                    Some(Marked::new(t.to_string(), secret))
                })
                .collect();
            n.place(&format!("/placement/{key}"), marked, whole)
        };
        placement.constraints = texts(self, "constraints");
        placement.preferences = texts(self, "preferences");
        if let Some((Value::Int(n), secret)) = p.get("max_replicas").map(Value::reveal) {
            if secret {
                self.sensitive.push("/placement/max_replicas".into());
            }
            if *n < 1 {
                self.error(
                    "placement",
                    "placement max_replicas must be 1 or more",
                    Some("leave it out for no limit per node"),
                );
            }
            placement.max_replicas = Some((*n).max(0) as u64);
        }
        placement
    }

    fn reservations(&mut self, fields: &Fields<'_>) -> Option<Reservations> {
        let m = self.record(fields, "reservations")?;
        let memory = match m.get("memory").map(|v| v.reveal().0) {
            Some(Value::Size(b)) if *b > 0 => Some(*b),
            Some(Value::Size(_)) => {
                self.error(
                    "reservations",
                    "a memory reservation must be more than 0",
                    None,
                );
                None
            }
            _ => None,
        };
        let cpus = match m.get("cpus").map(|v| v.reveal().0) {
            Some(Value::Float(c)) => Some(self.cpus_value("reservations", *c)),
            Some(Value::Int(c)) => Some(self.cpus_value("reservations", *c as f64)),
            _ => None,
        };
        (memory.is_some() || cpus.is_some()).then_some(Reservations { memory, cpus })
    }

    fn service_restart(&mut self, fields: &Fields<'_>) -> Option<ServiceRestart> {
        let m = self.record(fields, "restart_policy")?;
        let part = |k: &str| m.get(k).map(|v| v.reveal().0.clone());
        let condition = part("condition")
            .and_then(|v| v.to_text().map(|(t, _)| t.to_string()))
            .unwrap_or_else(|| "any".into());
        let duration = |v: Option<Value>, default: i64| match v {
            Some(Value::Duration(d)) => Millis(d),
            _ => Millis(default),
        };
        let delay = duration(part("delay"), 5_000);
        let window = duration(part("window"), 0);
        let max_attempts = match part("max_attempts") {
            Some(Value::Int(n)) if n >= 0 => n as u64,
            Some(Value::Int(_)) => {
                self.error(
                    "restart_policy",
                    "restart_policy max_attempts must be 0 (no limit) or more",
                    None,
                );
                0
            }
            _ => 0,
        };
        Some(ServiceRestart {
            condition,
            delay: self.non_negative("restart_policy", delay),
            max_attempts,
            window: self.non_negative("restart_policy", window),
        })
    }
}

/// Swarm's defaults, as the `update` field always had them.
fn default_rollout(failure_action: &str) -> UpdateSpec {
    UpdateSpec {
        parallelism: 1,
        delay: Millis(0),
        order: "stop-first".into(),
        failure_action: failure_action.into(),
        monitor: None,
    }
}
