//! Compose's container settings (`extra_hosts` … `pid`, `container_name`,
//! anonymous volumes, `health = "none"`) through the planner and the
//! in-memory engine: applied once they plan no changes, each change replaces
//! the container and names the field, a container made again by hand
//! differently is drift, and defaults leave existing hashes alone.

use stackc::deployment::{Kind, Spec};
use stackc::engine::Engine;
use stackc::plan::{self, Action, DriftKind};

use crate::planner::{apply, change, engine, plan_of};
use crate::support::deploy;

/// Every setting, with `{placeholder}`s a test fills.
fn stack(settings: &str) -> String {
    format!(
        r#"
stack "opts"
container "leader" {{
  image = "busybox:1.36"
}}
container "app" {{
  image = "busybox:1.36"
{settings}
}}
"#
    )
}

const ALL: &str = r#"
  extra_hosts  = { "db.local" = "10.0.0.5" }
  dns          = ["1.1.1.1", "8.8.8.8"]
  dns_search   = ["example.com"]
  init         = true
  stop_signal  = "SIGQUIT"
  shm_size     = 128MiB
  ulimits      = { nofile = { soft = 1024, hard = 2048 } }
  sysctls      = { "net.core.somaxconn" = 1024 }
  devices      = ["/dev/zero:/dev/zero0:r"]
  security_opt = ["no-new-privileges"]
  group_add    = [1234]
  tty          = true
  stdin_open   = true
  logging      = { driver = "json-file", options = { "max-size" = "10m" } }
  pid          = container.leader
  mounts       = [{ target = "/app/node_modules" }]
  health       = "none"
"#;

#[tokio::test]
async fn every_setting_applied_plans_no_changes() {
    let e = engine();
    let d = deploy(&stack(ALL), &[]);
    let (plan, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    // The two containers and the stack's default network they join.
    assert_eq!(plan.summary.add, 3);
    let again = plan_of(&e, &d).await;
    assert!(
        !again.has_changes() && again.drift.is_empty(),
        "{}",
        plan::human(&again, false)
    );
    // An anonymous volume is the container's own: no named volume is made.
    assert!(
        e.names(Kind::Volume).is_empty(),
        "{:?}",
        e.names(Kind::Volume)
    );
}

/// (setting before, setting after, the field the plan names).
const CHANGES: &[(&str, &str, &str)] = &[
    (
        r#"extra_hosts = ["a:10.0.0.1"]"#,
        r#"extra_hosts = ["a:10.0.0.2"]"#,
        "extra_hosts",
    ),
    (r#"dns = ["1.1.1.1"]"#, r#"dns = ["8.8.8.8"]"#, "dns"),
    (
        r#"dns_search = "a.com""#,
        r#"dns_search = "b.com""#,
        "dns_search",
    ),
    ("init = true", "init = false", "init"),
    (
        r#"stop_signal = "SIGINT""#,
        r#"stop_signal = "SIGQUIT""#,
        "stop_signal",
    ),
    ("shm_size = 64MiB", "shm_size = 128MiB", "shm_size"),
    (
        "ulimits = { nofile = 1024 }",
        "ulimits = { nofile = 2048 }",
        "ulimits",
    ),
    (
        r#"sysctls = { "net.core.somaxconn" = 1 }"#,
        r#"sysctls = { "net.core.somaxconn" = 2 }"#,
        "sysctls",
    ),
    (
        r#"devices = ["/dev/zero"]"#,
        r#"devices = ["/dev/zero:r"]"#,
        "devices",
    ),
    (
        r#"security_opt = ["no-new-privileges"]"#,
        "",
        "security_opt",
    ),
    ("group_add = [1]", "group_add = [2]", "group_add"),
    ("tty = true", "", "tty"),
    ("stdin_open = true", "", "stdin_open"),
    (
        r#"logging = { driver = "local" }"#,
        r#"logging = { driver = "json-file" }"#,
        "logging",
    ),
    (r#"pid = "host""#, "pid = container.leader", "pid"),
    (
        r#"mounts = [{ target = "/a" }]"#,
        r#"mounts = [{ target = "/b" }]"#,
        "mounts",
    ),
    ("", r#"health = "none""#, "health"),
];

#[tokio::test]
async fn a_change_to_any_setting_replaces_the_container_and_names_the_field() {
    for (before, after, field) in CHANGES {
        let e = engine();
        let (_, outcome) = apply(&e, &deploy(&stack(before), &[])).await;
        assert!(outcome.succeeded(), "{before}: {outcome:?}");
        let d = deploy(&stack(after), &[]);
        let p = plan_of(&e, &d).await;
        let c = change(&p, "container.app");
        assert_eq!(
            c.actions,
            [Action::Delete, Action::Create],
            "{before} → {after}"
        );
        assert!(
            c.replace_paths.iter().any(|p| p.starts_with(field)),
            "{before} → {after}: {:?}",
            c.replace_paths
        );
        assert_eq!(change(&p, "container.leader").actions, [Action::NoOp]);
        // Applied, the new settings converge too.
        let (_, outcome) = apply(&e, &d).await;
        assert!(outcome.succeeded(), "{after}: {outcome:?}");
        let again = plan_of(&e, &d).await;
        assert!(!again.has_changes(), "{}", plan::human(&again, false));
    }
}

#[tokio::test]
async fn defaults_written_out_leave_the_hash_as_it_was() {
    let plain = deploy(&stack(""), &[]);
    let defaults = deploy(
        &stack(
            "init = false\ntty = false\nstdin_open = false\ndns = []\nlogging = {}\nulimits = {}\nsysctls = []",
        ),
        &[],
    );
    let hash =
        |d: &stackc::deployment::Deployment| d.resource("container.app").unwrap().hash.clone();
    assert_eq!(hash(&plain), hash(&defaults));
}

#[tokio::test]
async fn a_container_made_again_by_hand_with_other_settings_is_drift() {
    let e = engine();
    let d = deploy(&stack(ALL), &[]);
    apply(&e, &d).await;
    e.tamper("opts-app", |a| {
        a.values.insert("/ulimits/nofile/soft".into(), "99".into());
        a.values.insert("/sysctls/kernel.shmmax".into(), "1".into());
        a.values.remove("/tty");
    });
    let p = plan_of(&e, &d).await;
    let c = change(&p, "container.app");
    assert_eq!(c.actions, [Action::Delete, Action::Create]);
    assert_eq!(c.reason.as_deref(), Some("changed outside stackc"));
    assert_eq!(
        c.replace_paths,
        ["sysctls.kernel.shmmax", "tty", "ulimits.nofile.soft"]
    );
    assert_eq!(p.drift.len(), 1);
    assert_eq!(p.drift[0].drift, DriftKind::Modified);
}

#[tokio::test]
async fn container_name_names_the_docker_object_and_a_new_one_replaces_it() {
    let e = engine();
    let d = deploy(&stack(r#"container_name = "my-app""#), &[]);
    apply(&e, &d).await;
    assert_eq!(e.names(Kind::Container), ["my-app", "opts-leader"]);
    // Found by its labels, as any other.
    assert!(!plan_of(&e, &d).await.has_changes());

    // Another name: the source's change, not a rename by hand.
    let renamed = deploy(&stack(r#"container_name = "web""#), &[]);
    let p = plan_of(&e, &renamed).await;
    let c = change(&p, "container.app");
    assert_eq!(c.actions, [Action::Delete, Action::Create]);
    assert_eq!(c.replace_paths, ["container_name"]);
    assert_eq!(c.reason, None);
    assert!(p.drift.is_empty(), "{:?}", p.drift);

    // The new name is claimed: one taken outside the stack is in the way.
    e.add_unlabelled(Kind::Container, "web");
    let p = plan_of(&e, &renamed).await;
    assert_eq!(p.conflicts.len(), 1, "{:?}", p.conflicts);
    assert_eq!(p.conflicts[0].address, "container.app");
    assert!(p.conflicts[0].claim.contains("web"), "{:?}", p.conflicts);

    // Renamed by hand is still told apart.
    e.rename_by_hand("my-app", "other");
    let p = plan_of(&e, &d).await;
    let c = change(&p, "container.app");
    assert_eq!(
        c.reason.as_deref(),
        Some("renamed outside stackc (to other)")
    );
}

#[tokio::test]
async fn a_container_in_the_pid_namespace_of_a_replaced_one_is_replaced_with_it() {
    let e = engine();
    let d = deploy(&stack("pid = container.leader"), &[]);
    apply(&e, &d).await;
    let options = stackc::plan::PlanOptions {
        replace: vec!["container.leader".into()],
        ..Default::default()
    };
    let (p, _) = stackc::session::plan(&e, &d, &options).await.unwrap();
    let c = change(&p, "container.app");
    assert_eq!(c.actions, [Action::Delete, Action::Create]);
    assert_eq!(c.reason.as_deref(), Some("container.leader is replaced"));

    // Another dependency being replaced does not.
    let d = deploy(&stack("depends_on = [container.leader]"), &[]);
    let e = engine();
    apply(&e, &d).await;
    let (p, _) = stackc::session::plan(&e, &d, &options).await.unwrap();
    assert_eq!(change(&p, "container.app").actions, [Action::NoOp]);
}

#[tokio::test]
async fn a_disabled_health_check_is_none() {
    let e = engine();
    let d = deploy(&stack(r#"health = "none""#), &[]);
    apply(&e, &d).await;
    let live = e.observe("opts", &[]).await.unwrap();
    let app = live
        .objects
        .iter()
        .find(|o| o.address == "container.app")
        .unwrap();
    assert_eq!(
        app.state,
        stackc::engine::State::Running {
            health: stackc::engine::Health::None
        }
    );
    let Spec::Container(c) = &d.resource("container.app").unwrap().spec else {
        panic!()
    };
    assert_eq!(c.run.health.as_ref().unwrap().test, ["NONE"]);
}

#[tokio::test]
async fn a_container_made_again_by_hand_without_its_anonymous_volume_is_drift() {
    let e = engine();
    let d = deploy(
        &stack(r#"mounts = ["/app/node_modules", { tmpfs = 8MiB, target = "/tmp" }]"#),
        &[],
    );
    apply(&e, &d).await;
    assert!(!plan_of(&e, &d).await.has_changes());
    // `docker run` again with the labels but without `-v /app/node_modules`:
    // the anonymous volume has no source, only its target tells it is gone.
    e.tamper("opts-app", |a| {
        a.values.remove("/mounts/0/target");
        a.values.insert("/mounts/0/target".into(), "/tmp".into());
        a.values.remove("/mounts/1/target");
    });
    let p = plan_of(&e, &d).await;
    let c = change(&p, "container.app");
    assert_eq!(c.actions, [Action::Delete, Action::Create]);
    assert_eq!(c.reason.as_deref(), Some("changed outside stackc"));
    assert_eq!(c.replace_paths, ["mounts[0].target", "mounts[1].target"]);
    assert_eq!(p.drift.len(), 1);
}
