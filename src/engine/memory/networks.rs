//! Networks in the fake, as Docker treats them: a static address must lie
//! in a subnet the network was given and be free there; a container that
//! shares another's network needs that one to exist, and to run when it starts.

use std::net::Ipv4Addr;

use super::{Inner, not_found};
use crate::deployment::NetworkSpec;
use crate::engine::{EngineError, ErrorKind, Kind, LABEL_SPEC};

impl Inner {
    /// Whether `ip` may be given to a container on `network`.
    pub(super) fn static_address_free(&self, network: &str, ip: &str) -> Result<(), EngineError> {
        let spec = self
            .objects
            .iter()
            .find(|o| o.kind == Kind::Network && o.name == network)
            .and_then(|o| o.labels.get(LABEL_SPEC))
            .and_then(|s| serde_json::from_str::<NetworkSpec>(s).ok());
        let other = |message: String| EngineError::new(ErrorKind::Other, message);
        let Some(subnet) = spec.and_then(|s| s.subnet) else {
            return Err(other(
                "user specified IP address is supported only when connecting to networks with user configured subnets".into(),
            ));
        };
        let inside = match (subnet.split_once('/'), ip.parse::<Ipv4Addr>()) {
            (Some((base, prefix)), Ok(ip)) => {
                let prefix: u32 = prefix.parse().unwrap_or(32).min(32);
                let mask = if prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - prefix)
                };
                base.parse::<Ipv4Addr>()
                    .is_ok_and(|base| u32::from(base) & mask == u32::from(ip) & mask)
            }
            _ => false,
        };
        if !inside {
            return Err(other(format!(
                "Invalid address {ip}: It does not belong to any of this network's subnets"
            )));
        }
        let taken = self.objects.iter().any(|o| {
            o.kind == Kind::Container
                && o.actual.addresses.get(network).map(String::as_str) == Some(ip)
        });
        if taken {
            return Err(EngineError::new(
                ErrorKind::Conflict,
                "Address already in use",
            ));
        }
        Ok(())
    }

    /// `network_mode` as Docker reads it back: another container by its id.
    pub(super) fn network_mode_read_back(&self, mode: &str) -> Result<String, EngineError> {
        let Some(name) = mode.strip_prefix("container:") else {
            return Ok(mode.to_string());
        };
        self.objects
            .iter()
            .find(|o| o.kind == Kind::Container && (o.name == name || o.id == name))
            .map(|o| format!("container:{}", o.id))
            .ok_or_else(|| {
                EngineError::new(ErrorKind::NotFound, format!("No such container: {name}"))
            })
    }

    /// A container on another's network starts only while that one runs.
    pub(super) fn can_join_network_of(&mut self, id: &str) -> Result<(), EngineError> {
        let o = self.find(id).ok_or_else(|| not_found(id))?;
        let Some(other) = o
            .actual
            .values
            .get("/network_mode")
            .and_then(|m| m.strip_prefix("container:"))
            .map(str::to_string)
        else {
            return Ok(());
        };
        let running = self
            .objects
            .iter()
            .any(|o| o.kind == Kind::Container && o.id == other && o.state.is_running());
        if running {
            Ok(())
        } else {
            Err(EngineError::new(
                ErrorKind::Other,
                format!("cannot join network of a non running container: {other}"),
            ))
        }
    }
}
