//! The resource kinds: what every layer from the resolver to the engine names.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The built-in resource kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Image,
    Network,
    Volume,
    Container,
    Service,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Image,
        Kind::Network,
        Kind::Volume,
        Kind::Container,
        Kind::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Network => "network",
            Kind::Volume => "volume",
            Kind::Container => "container",
            Kind::Service => "service",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
