//! Compose interop: `stackc import-compose` reads a `compose.yaml` and
//! writes an idiomatic `.stack` file; `stackc export-compose` writes a
//! deployment back as a `compose.yaml` (`docs/compose.md`).

pub mod export;
pub mod import;
mod interpolate;
mod text;
pub mod yaml;

use std::fmt;

pub use export::{Exported, SecretFile, export};
pub use import::{Imported, import};

/// A problem with a Compose file, where it is: the file, line and column,
/// and the key path (`services.db.ports[0]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub path: String,
    pub message: String,
}

impl fmt::Display for ComposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.col)?;
        if !self.path.is_empty() {
            write!(f, "`{}`: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}
