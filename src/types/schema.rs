//! The fields each built-in kind accepts, as types. The checker uses them
//! before evaluation and the evaluator checks every value against them.

use std::sync::LazyLock;

use super::Type;
use crate::deployment::Kind;

pub struct FieldDef {
    pub name: &'static str,
    pub ty: Type,
    pub required: bool,
    /// The type a value may have: optional fields also accept `null` (the default).
    pub accepted: Type,
}

fn field(name: &'static str, ty: Type) -> FieldDef {
    FieldDef {
        name,
        accepted: Type::optional(ty.clone()),
        ty,
        required: false,
    }
}

fn required(name: &'static str, ty: Type) -> FieldDef {
    FieldDef {
        name,
        accepted: ty.clone(),
        ty,
        required: true,
    }
}

fn opt(t: Type) -> Type {
    Type::optional(t)
}

pub const RESTART_POLICIES: &[&str] = &["no", "always", "unless-stopped", "on-failure"];
pub const CONDITIONS: &[&str] = &["started", "healthy", "completed"];
pub const PROTOCOLS: &[&str] = &["tcp", "udp", "sctp"];

fn string_list() -> Type {
    Type::list(Type::String)
}

fn words() -> Type {
    Type::union(&[Type::String, Type::list(Type::scalar())])
}

fn env() -> Type {
    Type::union(&[Type::map(Type::scalar()), string_list()])
}

fn labels() -> Type {
    Type::map(Type::scalar())
}

fn ports() -> Type {
    Type::list(Type::union(&[
        Type::String,
        Type::Port,
        Type::record(&[
            ("host", opt(Type::Port)),
            ("container", Type::Port),
            ("ip", opt(Type::String)),
            ("protocol", opt(Type::enumeration(PROTOCOLS))),
            // Services only (Swarm's publish mode).
            ("mode", opt(Type::enumeration(&["ingress", "host"]))),
        ]),
    ]))
}

fn mounts() -> Type {
    Type::list(Type::union(&[
        Type::String,
        Type::record(&[
            (
                "volume",
                opt(Type::union(&[Type::Resource(Kind::Volume), Type::String])),
            ),
            ("bind", opt(Type::String)),
            ("tmpfs", opt(Type::Size)),
            ("target", Type::String),
            ("read_only", opt(Type::Bool)),
        ]),
    ]))
}

fn networks() -> Type {
    let network = Type::union(&[Type::Resource(Kind::Network), Type::String]);
    Type::list(Type::union(&[
        Type::Resource(Kind::Network),
        Type::String,
        Type::record(&[
            ("network", network),
            ("aliases", opt(string_list())),
            ("ipv4_address", opt(Type::String)),
        ]),
    ]))
}

fn depends_on() -> Type {
    Type::list(Type::union(&[
        Type::AnyResource,
        Type::record(&[
            ("on", Type::AnyResource),
            ("condition", opt(Type::enumeration(CONDITIONS))),
        ]),
    ]))
}

fn health() -> Type {
    Type::record(&[
        ("cmd", words()),
        ("interval", opt(Type::Duration)),
        ("timeout", opt(Type::Duration)),
        ("retries", opt(Type::Int)),
        ("start_period", opt(Type::Duration)),
    ])
}

/// `files`: `{ target, content | source, mode, uid, gid }`; `mode` is an
/// octal string (`"0400"`), an int only to say so.
fn files() -> Type {
    Type::list(Type::record(&[
        ("target", Type::String),
        ("content", opt(Type::String)),
        ("source", opt(Type::String)),
        ("mode", opt(Type::union(&[Type::String, Type::Int]))),
        ("uid", opt(Type::Int)),
        ("gid", opt(Type::Int)),
    ]))
}

fn image_field() -> Type {
    Type::union(&[Type::String, Type::Resource(Kind::Image)])
}

/// Fields shared by containers and services.
fn runtime_fields() -> Vec<FieldDef> {
    vec![
        required("image", image_field()),
        field("command", words()),
        field("entrypoint", words()),
        field("env", env()),
        field("ports", ports()),
        field("mounts", mounts()),
        field("networks", networks()),
        field("depends_on", depends_on()),
        field(
            "health",
            Type::union(&[Type::enumeration(&["none"]), health()]),
        ),
        field("user", Type::String),
        field("workdir", Type::String),
        field("hostname", Type::String),
        field("labels", labels()),
        field("memory", Type::Size),
        field("cpus", Type::Float),
        field("read_only", Type::Bool),
        field("cap_add", string_list()),
        field("cap_drop", string_list()),
        field("stop_timeout", Type::Duration),
    ]
}

static SCHEMAS: LazyLock<[Vec<FieldDef>; 5]> = LazyLock::new(|| {
    let image = vec![
        field("ref", Type::String),
        field(
            "build",
            // A string is the context alone (Compose's short form); `args`
            // may be a list of `NAME=value`, like `env`.
            Type::union(&[
                Type::String,
                Type::record(&[
                    ("context", Type::String),
                    ("dockerfile", opt(Type::String)),
                    ("args", opt(env())),
                    ("target", opt(Type::String)),
                ]),
            ]),
        ),
        field("tag", Type::String),
        field("push", Type::Bool),
    ];
    let network = vec![
        field("driver", Type::enumeration(&["bridge", "overlay"])),
        field("internal", Type::Bool),
        field("attachable", Type::Bool),
        field("subnet", Type::String),
        field("labels", labels()),
        // A Docker-name pin (`eval/moved.rs`).
        field("docker_name", Type::String),
        // Overlay networks only (Swarm).
        field("encrypted", Type::Bool),
    ];
    let volume = vec![
        field("driver", Type::String),
        field("options", Type::map(Type::scalar())),
        field("labels", labels()),
        // Issue 12: a Docker-name pin (`eval/moved.rs`).
        field("docker_name", Type::String),
    ];
    let mut container = runtime_fields();
    container.extend([
        field(
            "expose",
            Type::list(Type::union(&[Type::Port, Type::String])),
        ),
        field("restart", Type::String),
        field("privileged", Type::Bool),
        field(
            "pull",
            Type::enumeration(crate::deployment::PullPolicy::NAMES),
        ),
    ]);
    // Files copied in before start.
    container.push(field("files", files()));
    container.extend(container_options());
    container.push(field(
        "network_mode",
        Type::union(&[Type::String, Type::Resource(Kind::Container)]),
    ));
    let mut service = runtime_fields();
    service.extend(service_fields());
    [image, network, volume, container, service]
});

/// The fields of a built-in kind.
pub fn fields(kind: Kind) -> &'static [FieldDef] {
    let i = match kind {
        Kind::Image => 0,
        Kind::Network => 1,
        Kind::Volume => 2,
        Kind::Container => 3,
        Kind::Service => 4,
    };
    &SCHEMAS[i]
}

pub fn field_def(kind: Kind, name: &str) -> Option<&'static FieldDef> {
    fields(kind).iter().find(|f| f.name == name)
}

// ---- Swarm services (`deployment/swarm.rs`) ----

/// `update` and `rollback`: how Swarm rolls a spec out, or back.
fn rollout() -> Type {
    Type::record(&[
        ("parallelism", opt(Type::Int)),
        ("delay", opt(Type::Duration)),
        (
            "order",
            opt(Type::enumeration(&["start-first", "stop-first"])),
        ),
        (
            "failure_action",
            opt(Type::enumeration(&["rollback", "pause", "continue"])),
        ),
        ("monitor", opt(Type::Duration)),
    ])
}

/// What a service has besides the fields it shares with containers.
fn service_fields() -> Vec<FieldDef> {
    vec![
        field("replicas", Type::Int),
        field("mode", Type::enumeration(&["replicated", "global"])),
        field("update", rollout()),
        field("rollback", rollout()),
        field(
            "placement",
            Type::record(&[
                ("constraints", opt(string_list())),
                ("preferences", opt(string_list())),
                ("max_replicas", opt(Type::Int)),
            ]),
        ),
        field(
            "reservations",
            Type::record(&[("memory", opt(Type::Size)), ("cpus", opt(Type::Float))]),
        ),
        field(
            "restart_policy",
            Type::record(&[
                (
                    "condition",
                    opt(Type::enumeration(&["none", "on-failure", "any"])),
                ),
                ("delay", opt(Type::Duration)),
                ("max_attempts", opt(Type::Int)),
                ("window", opt(Type::Duration)),
            ]),
        ),
        field("stop_signal", Type::union(&[Type::String, Type::Int])),
        field("container_labels", labels()),
    ]
}

// ---- Compose's container settings (containers only; `deployment/options.rs`) ----

fn strings_or_one() -> Type {
    Type::union(&[Type::String, string_list()])
}

/// `extra_hosts` … `pid`: what Compose users reach for. Swarm services take
/// none of them, so they are not runtime fields.
fn container_options() -> Vec<FieldDef> {
    let id = Type::union(&[Type::String, Type::Int]);
    vec![
        field("container_name", Type::String),
        field(
            "extra_hosts",
            Type::union(&[Type::map(Type::String), string_list()]),
        ),
        field("dns", strings_or_one()),
        field("dns_search", strings_or_one()),
        field("init", Type::Bool),
        field("stop_signal", id.clone()),
        field("shm_size", Type::Size),
        field(
            "ulimits",
            Type::map(Type::union(&[
                Type::Int,
                Type::record(&[("soft", Type::Int), ("hard", Type::Int)]),
            ])),
        ),
        field("sysctls", env()),
        field(
            "devices",
            Type::list(Type::union(&[
                Type::String,
                Type::record(&[
                    ("host", Type::String),
                    ("container", opt(Type::String)),
                    ("permissions", opt(Type::String)),
                ]),
            ])),
        ),
        field("security_opt", string_list()),
        field("group_add", Type::list(id)),
        field("tty", Type::Bool),
        field("stdin_open", Type::Bool),
        field(
            "logging",
            Type::record(&[
                ("driver", opt(Type::String)),
                ("options", opt(Type::map(Type::scalar()))),
            ]),
        ),
        field(
            "pid",
            Type::union(&[Type::String, Type::Resource(Kind::Container)]),
        ),
    ]
}
