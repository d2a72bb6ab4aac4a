//! The integration tests: one binary, one module per area.

mod cases;
mod cli;
mod errors_catalogue;
mod support;
