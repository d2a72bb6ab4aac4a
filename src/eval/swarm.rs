//! What Swarm refuses of a stack's networks, said at compile time rather
//! than halfway through an apply: a service joins only overlay networks,
//! and a plain container joins an overlay network only when it is
//! `attachable`.

use std::collections::BTreeMap;

use super::Evaluator;
use crate::deployment::{Kind, Resource, Spec};
use crate::diagnostic::{Diagnostic, ErrorCode};

impl Evaluator<'_> {
    pub(super) fn check_swarm_networks(&mut self, resources: &[Resource]) {
        let networks: BTreeMap<&str, &Resource> = resources
            .iter()
            .filter(|r| r.kind == Kind::Network)
            .map(|r| (r.name.as_str(), r))
            .collect();
        for r in resources {
            let (run, service) = match &r.spec {
                Spec::Service(s) => (&s.run, true),
                Spec::Container(c) => (&c.run, false),
                _ => continue,
            };
            for n in &run.networks {
                let Some(Spec::Network(spec)) = networks.get(n.network.as_str()).map(|n| &n.spec)
                else {
                    continue;
                };
                let network = &networks[n.network.as_str()].address;
                let overlay = spec.driver == "overlay";
                let d = if service && !overlay {
                    Diagnostic::new(
                        ErrorCode::ServiceOffOverlay,
                        format!(
                            "`{}` joins `{network}`, a `{}` network: a Swarm service joins only overlay networks",
                            r.address, spec.driver
                        ),
                    )
                    .help("give the network `driver = \"overlay\"` (and `attachable = true` if containers join it too)")
                } else if !service && overlay && !spec.attachable {
                    Diagnostic::new(
                        ErrorCode::OverlayNotAttachable,
                        format!(
                            "`{}` joins `{network}`, an overlay network that is not attachable: Swarm lets only its services join it",
                            r.address
                        ),
                    )
                    .help("set `attachable = true` on the network for containers to join it beside services")
                } else {
                    continue;
                };
                let d = match self.field_span(&r.address, "networks") {
                    Some(span) => d.label(span, format!("`{}` joins `{network}` here", r.address)),
                    None => d,
                };
                self.errors.push(d);
            }
        }
    }
}
