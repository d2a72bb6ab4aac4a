//! The stack's networks as a whole: its default network, made when a
//! container needs it, and the static addresses containers ask for.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::Evaluator;
use super::resources::DEFAULT_NETWORK;
use crate::deployment::{Kind, NetworkSpec, Resource, Spec};
use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::source::Span;

impl Evaluator<'_> {
    /// Adds the stack's default network (`network.default`, Docker name
    /// `<stack>-default`) when a container joins it and the root module does
    /// not declare it: it exists while one of the stack's containers is on it.
    pub(super) fn add_default_network(&self, resources: &mut Vec<Resource>) {
        let at = match resources.binary_search_by(|r| r.address.as_str().cmp(DEFAULT_NETWORK)) {
            Ok(_) => return, // declared: `network "default"`, as in Compose
            Err(at) => at,
        };
        let needed = resources
            .iter()
            .any(|r| r.depends_on.iter().any(|d| d.address == DEFAULT_NETWORK));
        if !needed {
            return;
        }
        let name = format!("{}-default", self.stack);
        let mut spec = Spec::Network(Box::new(NetworkSpec {
            driver: "bridge".into(),
            internal: false,
            attachable: false,
            subnet: None,
            labels: BTreeMap::new(),
            encrypted: false,
        }));
        let hash = Resource::compute_hash(Kind::Network, &name, &mut spec, &[], &[]);
        resources.insert(
            at,
            Resource {
                address: DEFAULT_NETWORK.into(),
                kind: Kind::Network,
                name,
                spec,
                depends_on: Vec::new(),
                hash,
                sensitive_paths: Vec::new(),
            },
        );
    }

    /// Static addresses Docker would refuse in the middle of an apply: on
    /// a stack network without a `subnet`, outside its subnet, on its
    /// network or broadcast address or gateway, or given to two containers.
    pub(super) fn check_static_addresses(&mut self, resources: &[Resource]) {
        let networks: BTreeMap<&str, &Resource> = resources
            .iter()
            .filter(|r| r.kind == Kind::Network)
            .map(|r| (r.name.as_str(), r))
            .collect();
        let mut taken: BTreeMap<(&str, Ipv4Addr), &str> = BTreeMap::new();
        for r in resources {
            let Spec::Container(c) = &r.spec else {
                continue;
            };
            for n in &c.run.networks {
                let Some(ip) = n.ipv4_address.as_deref().and_then(|a| a.parse().ok()) else {
                    continue;
                };
                let span = self.field_span(&r.address, "networks");
                let wrong = |message: String, help: &str| {
                    let mut d =
                        Diagnostic::new(ErrorCode::InvalidStaticAddress, message).help(help);
                    if let Some(span) = span {
                        d = d.label(span, format!("`{}` asks for {ip}", r.address));
                    }
                    d
                };
                if let Some(first) = taken.insert((n.network.as_str(), ip), &r.address) {
                    let mut d = wrong(
                        format!(
                            "`{first}` and `{}` both ask for {ip} on network `{}`",
                            r.address, n.network
                        ),
                        "give each container its own address",
                    );
                    if let Some(span) = self.field_span(first, "networks") {
                        d = d.label(span, format!("`{first}` asks for {ip}"));
                    }
                    self.errors.push(d);
                    continue;
                }
                // A network outside the stack: only Docker knows its subnet.
                let Some(network) = networks.get(n.network.as_str()) else {
                    continue;
                };
                let Spec::Network(spec) = &network.spec else {
                    continue;
                };
                let Some(subnet) = &spec.subnet else {
                    let d = wrong(
                        format!(
                            "`{}` has no `subnet`: Docker gives static addresses only on a network whose subnet is set",
                            network.address
                        ),
                        "set the network's `subnet` (like `172.28.0.0/16`) and pick the address inside it",
                    );
                    self.errors.push(d);
                    continue;
                };
                // A secret subnet is not compared (the error would tell it).
                if network.sensitive_paths.iter().any(|p| p == "/subnet") {
                    continue;
                }
                let Some((base, prefix)) = ipv4_subnet(subnet) else {
                    continue;
                };
                let mask = if prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - prefix)
                };
                let (base, addr) = (u32::from(base) & mask, u32::from(ip));
                let problem = if addr & mask != base {
                    Some(format!(
                        "is outside the subnet {subnet} of `{}`",
                        network.address
                    ))
                } else if prefix < 31 && addr == base {
                    Some(format!("is the network address of {subnet}"))
                } else if prefix < 31 && addr == base | !mask {
                    Some(format!("is the broadcast address of {subnet}"))
                } else if prefix < 31 && addr == base + 1 {
                    Some(format!("is the gateway Docker gives {subnet}"))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    let d = wrong(
                        format!("{ip} {problem}"),
                        "pick an address inside the network's subnet, other than its first (the gateway)",
                    );
                    self.errors.push(d);
                }
            }
        }
    }

    /// The span of a field's value in a resource's declaration, else of its name.
    pub(super) fn field_span(&self, address: &str, field: &str) -> Option<Span> {
        let decl = self.addresses.get(address)?;
        let value = decl
            .decl
            .fields
            .iter()
            .find(|f| f.key.static_name() == Some(field))
            .map(|f| f.value.span);
        Some(value.unwrap_or(decl.decl.name.span))
    }
}

/// `172.28.0.0/16` → (172.28.0.0, 16); `None` for IPv6 or a malformed one.
fn ipv4_subnet(subnet: &str) -> Option<(Ipv4Addr, u32)> {
    let (ip, prefix) = subnet.split_once('/')?;
    let prefix: u32 = prefix.parse().ok()?;
    (prefix <= 32).then_some(())?;
    Some((ip.parse().ok()?, prefix))
}
