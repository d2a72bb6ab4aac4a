//! How a container is reached: the networks it joins (with its logical name
//! as an alias on each, and the stack's default network when it names
//! none), a static address per network, or a `network_mode` instead.

use std::net::Ipv4Addr;

use super::{Fields, Normalizer, get, items};
use crate::deployment::Kind;
use crate::deployment::*;
use crate::diagnostic::ErrorCode;
use crate::eval::value::Value;

/// The network modes written as words; a container's is `container.x`.
pub const NETWORK_MODES: &[&str] = &["host", "none", "bridge"];

impl Normalizer<'_, '_> {
    /// Which networks a container joins is shown by Docker: never chosen by a secret.
    pub(super) fn networks(&mut self, fields: &Fields<'_>) -> Vec<NetworkAttachment> {
        let mut out: Vec<NetworkAttachment> = Vec::new();
        let (list, whole) = items(get(fields, "networks"));
        if whole {
            self.secret_structure("networks", "which networks a container joins");
            return out;
        }
        for n in list {
            let (network, aliases, ipv4_address) = match n {
                Value::Map(m) => {
                    let Some(network) = m.get("network").and_then(|v| self.network_name(v)) else {
                        continue;
                    };
                    let mut aliases: Vec<String> = Vec::new();
                    let (list, whole) = items(m.get("aliases"));
                    for a in list {
                        if whole || a.is_tainted() {
                            self.error_code(
                                ErrorCode::SecretExposed,
                                "networks",
                                "a network alias cannot be built from a secret",
                                Some("aliases are host names other containers see"),
                            );
                            continue;
                        }
                        aliases.extend(a.to_text().map(|(t, _)| t.to_string()));
                    }
                    aliases.sort();
                    aliases.dedup();
                    let address = m
                        .get("ipv4_address")
                        .filter(|v| !matches!(v, Value::Null))
                        .and_then(|v| self.static_address(v, &network));
                    (network, aliases, address)
                }
                n => match self.network_name(n) {
                    Some(network) => (network, Vec::new(), None),
                    None => continue,
                },
            };
            if out.iter().any(|o| o.network == network) {
                self.error(
                    "networks",
                    format!("network `{network}` is listed twice"),
                    None,
                );
                continue;
            }
            out.push(NetworkAttachment {
                network,
                aliases,
                ipv4_address,
            });
        }
        out.sort_by(|a, b| a.network.cmp(&b.network));
        out
    }

    /// A network's Docker name; `"default"`, unless the module declares a
    /// network of that name, is the stack's default network (as in Compose).
    fn network_name(&mut self, v: &Value) -> Option<String> {
        if let Value::Str(s) = v
            && &*s.text == "default"
            && (self.ctx.lookup)(Kind::Network, "default").is_none()
        {
            let (address, name) = self.ctx.default_network.clone();
            self.implicit.push(address);
            return Some(name.to_string());
        }
        self.object_name(v, Kind::Network, "networks")
    }

    /// `ipv4_address`: an IPv4 address in Docker's spelling. Docker shows it
    /// (`docker inspect`), so it is never a secret.
    fn static_address(&mut self, v: &Value, network: &str) -> Option<String> {
        if v.is_tainted() {
            self.error_code(
                ErrorCode::SecretExposed,
                "networks",
                "a static network address cannot be built from a secret",
                Some("`docker inspect` and the plan show it"),
            );
            return None;
        }
        let (text, _) = v.to_text()?;
        match text.parse::<Ipv4Addr>() {
            Ok(ip) => Some(ip.to_string()),
            Err(_) => {
                self.error_code(
                    ErrorCode::InvalidStaticAddress,
                    "networks",
                    format!("`{text}` (on network `{network}`) is not an IPv4 address"),
                    Some("like `172.28.0.10`, inside the network's `subnet`"),
                );
                None
            }
        }
    }

    /// `network_mode`: `host`, `none`, `bridge`, or another container of
    /// the stack (`container.x`, or its name): `container:<Docker name>`.
    pub(super) fn network_mode(&mut self, fields: &Fields<'_>) -> Option<String> {
        let v = get(fields, "network_mode")?;
        if v.is_tainted() {
            self.secret_structure("network_mode", "a container's network mode");
            return None;
        }
        let bad = |n: &mut Self, message: String, help: &str| {
            n.error_code(
                ErrorCode::InvalidNetworkMode,
                "network_mode",
                message,
                Some(help),
            );
            None
        };
        let other = match v {
            Value::Ref(r) => r.name.to_string(),
            Value::Str(s) if NETWORK_MODES.contains(&&*s.text) => return Some(s.text.to_string()),
            Value::Str(s) => {
                let text = s.text.to_string();
                // Compose's `service:x` and Docker's `container:x`: the
                // container is named by a reference here.
                if let Some((form, x)) = text.split_once(':') {
                    let help = match form {
                        "service" | "container" => {
                            format!(
                                "share another container's network with `network_mode = container.{x}`"
                            )
                        }
                        _ => "one of `host`, `none`, `bridge`, or a container: `container.x`"
                            .to_string(),
                    };
                    return bad(self, format!("`{text}` is not a network mode"), &help);
                }
                match (self.ctx.lookup)(Kind::Container, &text) {
                    Some((address, name)) => {
                        self.implicit.push(address);
                        name.to_string()
                    }
                    None => {
                        let mut help =
                            "one of `host`, `none`, `bridge`, or a container of the stack: `container.x`"
                                .to_string();
                        if let Some(d) =
                            crate::diagnostic::did_you_mean(&text, NETWORK_MODES.iter().copied())
                        {
                            help = d;
                        }
                        return bad(
                            self,
                            format!("`{text}` is not a network mode nor a container of the stack"),
                            &help,
                        );
                    }
                }
            }
            _ => return None,
        };
        if other == self.ctx.docker_name {
            return bad(
                self,
                "a container cannot share its own network".to_string(),
                "name another container, or `host` or `none`",
            );
        }
        Some(format!("container:{other}"))
    }

    /// What a container joins once its fields are read: with a
    /// `network_mode`, nothing (`networks` with it is refused); else its
    /// networks, or the stack's default network when it names none, each
    /// with its logical name as an alias.
    pub(super) fn join_networks(&mut self, fields: &Fields<'_>, spec: &mut ContainerSpec) {
        if let Some(mode) = &spec.network_mode {
            if get(fields, "networks").is_some() {
                self.error_code(
                    ErrorCode::NetworkModeConflict,
                    "network_mode",
                    "`networks` cannot be set together with `network_mode`",
                    Some("a container with a network mode joins no network of its own: remove one of the two"),
                );
            }
            let container = mode.starts_with("container:");
            for (field, refused) in [
                ("ports", !spec.run.ports.is_empty() && mode != "bridge"),
                ("expose", !spec.expose.is_empty() && container),
                ("hostname", spec.run.hostname.is_some() && container),
            ] {
                if refused {
                    self.error_code(
                        ErrorCode::NetworkModeConflict,
                        field,
                        format!("`{field}` cannot be set with `network_mode = \"{mode}\"`"),
                        Some(if container {
                            "the container shares the other container's network: set it there"
                        } else {
                            "with the host's network (or none) nothing is published: the container listens on the host directly"
                        }),
                    );
                }
            }
            spec.run.networks.clear();
            return;
        }
        if spec.run.networks.is_empty() {
            let (address, name) = self.ctx.default_network.clone();
            self.implicit.push(address);
            spec.run.networks.push(NetworkAttachment {
                network: name.to_string(),
                aliases: Vec::new(),
                ipv4_address: None,
            });
        }
        let logical = self.ctx.logical_name;
        for n in &mut spec.run.networks {
            if !n.aliases.iter().any(|a| a == logical) {
                n.aliases.push(logical.to_string());
                n.aliases.sort();
            }
        }
    }

    /// Swarm gives a service's tasks their addresses: none is set by hand.
    pub(super) fn no_static_address(&mut self, run: &RunSpec) {
        if run.networks.iter().any(|n| n.ipv4_address.is_some()) {
            self.error_code(
                ErrorCode::InvalidStaticAddress,
                "networks",
                "a service cannot have a static address: Swarm gives its tasks theirs",
                None,
            );
        }
    }
}
