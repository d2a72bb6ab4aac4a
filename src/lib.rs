//! stackc compiles `.stack` files into a normalized Docker deployment.
//!
//! The phases, in order:
//! 1. [`syntax`]: text to AST (pest grammar in `grammar/stack.pest`).
//! 2. [`resolve`]: load imports (stdlib embedded), check names, find cycles.
//! 3. [`types`]: check types before evaluation where they are known.
//! 4. [`eval`]: evaluate to values, expanding loops, conditions and modules.
//! 5. [`deployment`]: the normalized desired state, hashed, as JSON.
//!
//! [`driver`] runs them in order and stops after the first phase with errors.
//!
//! Then, against an engine ([`engine`]: Docker, or an in-memory fake):
//! 6. [`plan`]: the deployment against live state: drift and changes.
//! 7. [`apply`]: the changes as a dependency graph.
//!
//! [`compose`] translates Compose files to `.stack` and deployments back.
//!
//! [`logs`] merges and prefixes container logs for `stackc logs`.
//!
//! [`session`] puts these together for the commands (lock, plan, apply, record).

pub mod apply;
pub mod build_context;
pub mod compose;
pub mod deployment;
pub mod diagnostic;
pub mod digest;
pub mod driver;
pub mod engine;
pub mod eval;
pub mod explain;
pub mod files;
pub mod format;
pub mod graph;
pub mod lint;
pub mod logs;
pub mod plan;
pub mod resolve;
pub mod session;
pub mod source;
pub mod status;
pub mod stdlib;
pub mod syntax;
pub mod timestamp;
pub mod types;
pub mod units;
