//! Syntax: `.stack` text to a spanned AST. No pest type leaves this module.

pub mod ast;
mod errors;
mod habits;
mod lower;
mod parser;
#[cfg(test)]
mod tests;

pub use lower::{parse_expr, parse_file, parse_var_file};
