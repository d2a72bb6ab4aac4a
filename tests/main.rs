#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The integration tests: one binary, one module per area.

mod cli;
mod compose_examples;
mod compose_habits;
mod conflicts;
mod container_files;
mod container_options;
mod convergence;
mod convergence_docker;
mod declared_types;
mod docker_engine;
mod docker_options;
mod docker_support;
mod drift;
mod e2e;
mod engine;
mod errors_catalogue;
mod exact_output;
mod examples;
mod files;
mod format;
mod fuzz;
mod layers;
mod limits;
mod logs;
mod moved;
mod networking;
mod planner;
mod planner_real_use;
mod registry;
mod registry_support;
mod secrets;
mod support;
