//! The standard library: `.stack` modules shipped inside the binary,
//! imported as `std/NAME`.

pub const NAMES: &[&str] = &["nginx", "postgres", "redis"];

/// The source of a standard library module.
pub fn module(name: &str) -> Option<&'static str> {
    Some(match name {
        "nginx" => include_str!("../stdlib/nginx.stack"),
        "postgres" => include_str!("../stdlib/postgres.stack"),
        "redis" => include_str!("../stdlib/redis.stack"),
        _ => return None,
    })
}
