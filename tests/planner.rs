//! The planner and the applier against the in-memory engine: what a plan
//! says is what apply then does, drift is found and repaired, failures stop
//! cleanly and the next apply converges.

use stackc::apply::{ApplyOptions, Interrupt, Job, Outcome, Progress};
use stackc::deployment::Deployment;
use stackc::deployment::Kind;
use stackc::engine::memory::{Behaviour, MemoryEngine};
use stackc::engine::{Engine, Holder, Lock};
use stackc::plan::{self, Action, DriftKind, Plan, PlanOptions};
use stackc::session;

use crate::support::{deploy, deploy_with};

pub fn engine() -> MemoryEngine {
    let e = MemoryEngine::new();
    for image in ["busybox:1.36", "busybox:1.37", "postgres:16"] {
        e.allow_pull(image);
    }
    e
}

pub async fn plan_of(engine: &MemoryEngine, d: &Deployment) -> Plan {
    session::plan(engine, d, &PlanOptions::default())
        .await
        .unwrap()
        .0
}

async fn apply_with(
    engine: &MemoryEngine,
    d: &Deployment,
    options: &PlanOptions,
    interrupt: &Interrupt,
) -> (Plan, Outcome, Vec<String>) {
    let (plan, live) = session::plan(engine, d, options).await.unwrap();
    let progress = Progress::captured();
    let job = Job {
        deployment: d,
        plan: &plan,
        live: &live,
    };
    let opts = ApplyOptions {
        parallelism: 4,
        wait_timeout: std::time::Duration::from_secs(5),
    };
    let outcome = session::apply(engine, job, &opts, &progress, interrupt, options.destroy)
        .await
        .unwrap();
    (plan, outcome, progress.lines())
}

pub async fn apply(engine: &MemoryEngine, d: &Deployment) -> (Plan, Outcome) {
    let (plan, outcome, _) =
        apply_with(engine, d, &PlanOptions::default(), &Interrupt::default()).await;
    (plan, outcome)
}

/// The change planned for one address.
pub fn change<'a>(plan: &'a Plan, address: &str) -> &'a stackc::plan::Change {
    plan.resource_changes
        .iter()
        .find(|c| c.address == address)
        .unwrap_or_else(|| panic!("no change for {address}: {plan:?}"))
}

pub fn actions(plan: &Plan) -> Vec<(String, Vec<Action>)> {
    plan.actions()
        .map(|c| (c.address.clone(), c.actions.clone()))
        .collect()
}

pub const WEB: &str = r#"
stack "web"
param image: string = "busybox:1.36"
param memory: size = 64MiB
param password: secret = "hunter-one"
network "net" {}
volume "data" {}
container "db" {
  image  = "postgres:16"
  env    = { PASSWORD = password }
  mounts = [{ volume = volume.data, target = "/data" }]
  networks = [network.net]
  health = { cmd = ["pg_isready"], interval = 1s }
}
container "app" {
  image    = image
  memory   = memory
  networks = [network.net]
  depends_on = [{ on = container.db, condition = "healthy" }]
}
"#;

#[tokio::test]
async fn a_first_apply_creates_in_dependency_order_and_a_second_plan_is_empty() {
    let e = engine();
    let d = deploy(WEB, &[]);
    let (plan, outcome) = apply(&e, &d).await;
    assert_eq!(plan.summary.add, 4);
    assert!(outcome.succeeded(), "{outcome:?}");
    let calls = e.calls();
    let at = |s: &str| {
        calls
            .iter()
            .position(|c| c == s)
            .unwrap_or_else(|| panic!("no `{s}` in {calls:?}"))
    };
    assert!(at("create web-net") < at("create web-db"));
    assert!(at("create web-data") < at("create web-db"));
    assert!(
        at("start web-db") < at("create web-app"),
        "app waits for db to be healthy: {calls:?}"
    );
    assert_eq!(e.names(Kind::Container), ["web-app", "web-db"]);
    let again = plan_of(&e, &d).await;
    assert!(
        !again.has_changes() && again.drift.is_empty(),
        "{}",
        plan::human(&again, false)
    );
    assert!(plan::human(&again, false).contains("No changes."));
}

#[tokio::test]
async fn drift_is_shown_first_and_repaired() {
    let e = engine();
    let d = deploy(WEB, &[]);
    apply(&e, &d).await;
    assert!(e.delete_by_hand(Kind::Container, "web-app"));
    e.stop_by_hand("web-db");
    let plan = plan_of(&e, &d).await;
    let drift: Vec<(&str, DriftKind)> = plan
        .drift
        .iter()
        .map(|d| (d.address.as_str(), d.drift))
        .collect();
    assert_eq!(
        drift,
        [
            ("container.app", DriftKind::Deleted),
            ("container.db", DriftKind::Stopped)
        ]
    );
    assert_eq!(
        actions(&plan),
        [
            ("container.app".to_string(), vec![Action::Create]),
            ("container.db".to_string(), vec![Action::Update])
        ]
    );
    let text = plan::human(&plan, false);
    assert!(
        text.find("changed outside stackc").unwrap() < text.find("will perform").unwrap(),
        "{text}"
    );
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &d).await.has_changes());
    assert!(e.state_of(Kind::Container, "web-db").unwrap().is_running());
}

#[tokio::test]
async fn a_change_made_by_hand_is_drift_and_updated_in_place() {
    let e = engine();
    let d = deploy(WEB, &[]);
    apply(&e, &d).await;
    e.tamper("web-app", |a| a.memory = Some(128 * 1024 * 1024));
    let plan = plan_of(&e, &d).await;
    assert_eq!(plan.drift.len(), 1);
    assert_eq!(plan.drift[0].drift, DriftKind::Modified);
    assert_eq!(
        actions(&plan),
        [("container.app".to_string(), vec![Action::Update])]
    );
    apply(&e, &d).await;
    assert!(!plan_of(&e, &d).await.has_changes());
}

#[tokio::test]
async fn updatable_fields_update_and_others_force_a_replacement() {
    let e = engine();
    apply(&e, &deploy(WEB, &[])).await;
    let more_memory = deploy(WEB, &["memory=128MiB"]);
    let plan = plan_of(&e, &more_memory).await;
    assert_eq!(
        actions(&plan),
        [("container.app".to_string(), vec![Action::Update])]
    );
    let change = &plan
        .resource_changes
        .iter()
        .find(|c| c.address == "container.app")
        .unwrap();
    assert_eq!(change.fields[0].path, "memory");
    assert!(plan.drift.is_empty(), "a change in the source is not drift");
    apply(&e, &more_memory).await;
    assert!(!plan_of(&e, &more_memory).await.has_changes());

    let new_image = deploy(WEB, &["memory=128MiB", "image=busybox:1.37"]);
    let plan = plan_of(&e, &new_image).await;
    assert_eq!(
        actions(&plan),
        [(
            "container.app".to_string(),
            vec![Action::Delete, Action::Create]
        )]
    );
    let change = plan
        .resource_changes
        .iter()
        .find(|c| c.address == "container.app")
        .unwrap();
    assert_eq!(change.replace_paths, ["image"]);
    assert!(
        plan::human(&plan, false)
            .contains("image = \"busybox:1.36\" -> \"busybox:1.37\" # forces replacement")
    );
    let (_, outcome) = apply(&e, &new_image).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &new_image).await.has_changes());
}

#[tokio::test]
async fn a_changed_secret_shows_as_secret_changed_and_never_its_value() {
    let e = engine();
    apply(&e, &deploy(WEB, &[])).await;
    let rotated = deploy(WEB, &["password=hunter-two"]);
    let db = |d: &Deployment| d.resource("container.db").unwrap().hash.clone();
    assert_eq!(db(&deploy(WEB, &[])), db(&rotated));
    let plan = plan_of(&e, &rotated).await;
    assert_eq!(
        actions(&plan),
        [(
            "container.db".to_string(),
            vec![Action::Delete, Action::Create]
        )]
    );
    let text = plan::human(&plan, false);
    assert!(
        text.contains("env.PASSWORD = (secret) -> (secret changed)"),
        "{text}"
    );
    let json = serde_json::to_string(&plan).unwrap();
    for shown in [&text, &json, &plan::markdown(&plan)] {
        assert!(!shown.contains("hunter"), "{shown}");
    }
}

#[tokio::test]
async fn resources_gone_from_the_source_are_deleted_and_volumes_need_consent() {
    let e = engine();
    apply(&e, &deploy(WEB, &[])).await;
    let smaller = deploy("stack \"web\"\nnetwork \"net\" {}\n", &[]);
    let plan = plan_of(&e, &smaller).await;
    let deletes: Vec<&str> = plan.actions().map(|c| c.address.as_str()).collect();
    assert_eq!(deletes, ["container.app", "container.db", "volume.data"]);
    assert!(
        plan.actions()
            .all(|c| c.reason.as_deref() == Some("no longer in the source"))
    );
    assert_eq!(session::data_loss(&plan), ["volume.data"]);
    assert!(plan::human(&plan, false).contains("needs --allow-data-loss"));
}

#[tokio::test]
async fn a_failure_stops_new_work_and_the_next_apply_converges() {
    let e = engine();
    let d = deploy(WEB, &[]);
    e.fail("create", "web-db", "no space left on device");
    let (_, outcome) = apply(&e, &d).await;
    assert!(!outcome.succeeded());
    assert_eq!(
        outcome.failed,
        [(
            "container.db".to_string(),
            "web-db: no space left on device".to_string()
        )]
    );
    assert_eq!(outcome.not_attempted, ["container.app"]);
    let (plan, outcome) = apply(&e, &d).await;
    assert_eq!(
        actions(&plan),
        [
            ("container.app".to_string(), vec![Action::Create]),
            ("container.db".to_string(), vec![Action::Create])
        ]
    );
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &d).await.has_changes());
}

#[tokio::test]
async fn a_failure_that_echoes_a_secret_is_masked() {
    let e = engine();
    let d = deploy(WEB, &[]);
    e.fail(
        "create",
        "web-db",
        "unable to find user hunter-one: no matching entries in passwd file",
    );
    let (_, outcome, lines) =
        apply_with(&e, &d, &PlanOptions::default(), &Interrupt::default()).await;
    assert_eq!(
        outcome.failed,
        [(
            "container.db".to_string(),
            "web-db: unable to find user (secret): no matching entries in passwd file".to_string()
        )]
    );
    assert!(
        lines.iter().any(|l| l.contains("find user (secret)")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("hunter-one")), "{lines:?}");
}

#[tokio::test]
async fn an_interrupted_apply_starts_nothing_new() {
    let e = engine();
    let d = deploy(WEB, &[]);
    let interrupt = Interrupt::default();
    interrupt.press();
    let (_, outcome, _) = apply_with(&e, &d, &PlanOptions::default(), &interrupt).await;
    assert!(outcome.interrupted);
    assert_eq!(outcome.not_attempted.len(), 4);
    assert!(e.names(Kind::Container).is_empty());
}

#[tokio::test]
async fn a_dependency_that_never_gets_healthy_fails_its_dependent() {
    let e = engine();
    e.behave("web-db", Behaviour::Unhealthy);
    let d = deploy(WEB, &[]);
    let (plan, live) = session::plan(&e, &d, &PlanOptions::default())
        .await
        .unwrap();
    let opts = ApplyOptions {
        parallelism: 2,
        wait_timeout: std::time::Duration::from_millis(300),
    };
    let outcome = session::apply(
        &e,
        Job {
            deployment: &d,
            plan: &plan,
            live: &live,
        },
        &opts,
        &Progress::captured(),
        &Interrupt::default(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(outcome.failed.len(), 1);
    assert!(
        outcome.failed[0]
            .1
            .contains("container.db did not become healthy within 300ms"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn completed_waits_for_a_one_off_container_to_succeed() {
    let source = r#"
stack "jobs"
container "migrate" { image = "busybox:1.36", command = ["true"] }
container "app" { image = "busybox:1.36", depends_on = [{ on = container.migrate, condition = "completed" }] }
"#;
    let e = engine();
    e.behave("jobs-migrate", Behaviour::Exit { code: 0, polls: 2 });
    let d = deploy(source, &[]);
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    // Exited 0 is what a one-off container should be: no drift.
    assert!(!plan_of(&e, &d).await.has_changes());

    let e = engine();
    e.behave("jobs-migrate", Behaviour::Exit { code: 3, polls: 1 });
    let (_, outcome) = apply(&e, &d).await;
    assert!(
        outcome.failed[0]
            .1
            .contains("container.migrate exited with code 3"),
        "{outcome:?}"
    );
    let plan = plan_of(&e, &d).await;
    assert_eq!(plan.drift[0].drift, DriftKind::Failed);
}

#[tokio::test]
async fn a_replaced_network_replaces_the_containers_on_it() {
    let e = engine();
    let source = |internal: bool| {
        format!(
            "stack \"n\"\nnetwork \"net\" {{ internal = {internal} }}\ncontainer \"c\" {{ image = \"busybox:1.36\", networks = [network.net] }}\n"
        )
    };
    apply(&e, &deploy(&source(false), &[])).await;
    let d = deploy(&source(true), &[]);
    let plan = plan_of(&e, &d).await;
    assert_eq!(
        actions(&plan),
        [
            (
                "container.c".to_string(),
                vec![Action::Delete, Action::Create]
            ),
            (
                "network.net".to_string(),
                vec![Action::Delete, Action::Create]
            )
        ]
    );
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &d).await.has_changes());
}

#[tokio::test]
async fn targets_limit_the_plan_to_a_resource_and_its_dependencies() {
    let e = engine();
    let d = deploy(WEB, &[]);
    let options = PlanOptions {
        targets: vec!["container.db".into()],
        ..PlanOptions::default()
    };
    let (plan, outcome, _) = apply_with(&e, &d, &options, &Interrupt::default()).await;
    let addresses: Vec<&str> = plan.actions().map(|c| c.address.as_str()).collect();
    assert_eq!(addresses, ["container.db", "network.net", "volume.data"]);
    assert!(outcome.succeeded());
    assert_eq!(e.names(Kind::Container), ["web-db"]);
}

#[tokio::test]
async fn destroy_removes_everything_but_volumes_unless_allowed() {
    let e = engine();
    let d = deploy(WEB, &[]);
    apply(&e, &d).await;
    let (mut plan, live) = session::plan(
        &e,
        &d,
        &PlanOptions {
            destroy: true,
            ..PlanOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(session::keep_volumes(&mut plan), ["volume.data"]);
    let outcome = session::apply(
        &e,
        Job {
            deployment: &d,
            plan: &plan,
            live: &live,
        },
        &ApplyOptions::default(),
        &Progress::captured(),
        &Interrupt::default(),
        true,
    )
    .await
    .unwrap();
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(e.names(Kind::Container).is_empty() && e.names(Kind::Network).is_empty());
    assert_eq!(e.names(Kind::Volume), ["web-data"]);
}

#[tokio::test]
async fn the_lock_is_exclusive_and_names_its_holder() {
    let e = engine();
    let me = Holder::me("apply");
    assert_eq!(e.lock("s", &me).await.unwrap(), Lock::Acquired);
    let other = Holder {
        who: "ci@runner".into(),
        pid: 1,
        operation: "apply".into(),
        since: 0,
    };
    assert_eq!(e.lock("s", &other).await.unwrap(), Lock::HeldBy(me.clone()));
    let waited = session::lock(
        &e,
        "s",
        &other,
        std::time::Duration::from_millis(200),
        |_| {},
    )
    .await;
    assert!(matches!(waited, Err(session::LockError::Held(h)) if h == me));
    assert!(e.unlock("s").await.unwrap());
    assert!(
        session::lock(&e, "s", &other, std::time::Duration::ZERO, |_| {})
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_snapshot_names_each_object_that_changed() {
    let e = engine();
    let d = deploy(WEB, &[]);
    apply(&e, &d).await;
    let observe = || async { e.observe("web", &[]).await.unwrap().snapshot() };
    let before = observe().await;
    assert!(before.changes(&observe().await).is_empty());

    e.stop_by_hand("web-app");
    assert_eq!(
        before.changes(&observe().await),
        ["container.app (web-app): running → exited"]
    );
    let stopped = observe().await;
    e.tamper("web-app", |a| a.memory = Some(1 << 30));
    assert_eq!(
        stopped.changes(&observe().await),
        ["container.app (web-app): changed"]
    );
    e.delete_by_hand(Kind::Network, "web-net");
    assert!(
        stopped
            .changes(&observe().await)
            .contains(&"network.net (web-net): gone".to_string())
    );
}

#[tokio::test]
async fn markdown_keeps_the_summary_and_stays_under_the_limit() {
    let e = engine();
    let many = deploy(
        "stack \"big\"\nfor i in range(600) {\n  container \"c-${i}\" { image = \"busybox:1.36\", env = { A = \"${i}\" }, command = [\"sh\", \"-c\", \"sleep 1000000\"] }\n}\n",
        &[],
    );
    let plan = plan_of(&e, &many).await;
    let md = plan::markdown(&plan);
    assert!(md.len() < plan::MARKDOWN_LIMIT, "{}", md.len());
    assert!(
        md.starts_with("**stackc plan for `big`:** Plan: 601 to add, 0 to change, 0 to destroy.")
    );
    assert!(md.contains("more changes are not shown"));
}

#[tokio::test]
async fn a_changed_build_rebuilds_the_image_and_replaces_its_containers() {
    let source = "stack \"img\"\nparam v: string = \"1\"\nimage \"app\" { build = { context = \"./app\", args = { V = v } } }\ncontainer \"c\" { image = image.app }\n";
    let files = [("app/Dockerfile", "FROM scratch\n")];
    let e = engine();
    let first = deploy_with(source, &[], &files);
    let (_, outcome) = apply(&e, &first).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &first).await.has_changes());
    let second = deploy_with(source, &["v=2"], &files);
    let plan = plan_of(&e, &second).await;
    assert_eq!(
        actions(&plan),
        [
            (
                "container.c".to_string(),
                vec![Action::Delete, Action::Create]
            ),
            (
                "image.app".to_string(),
                vec![Action::Delete, Action::Create]
            )
        ]
    );
    let (_, outcome) = apply(&e, &second).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let calls = e.calls();
    let at = |s: &str| {
        calls
            .iter()
            .rposition(|c| c.starts_with(s))
            .unwrap_or_else(|| panic!("no `{s}` in {calls:?}"))
    };
    assert!(
        at("create img-app:") < at("create img-c"),
        "the image is built before the container is replaced: {calls:?}"
    );
    assert!(at("remove img-c") < at("create img-c"));
    assert!(
        at("create img-c") < at("remove img-app:"),
        "the old image goes last: {calls:?}"
    );
    assert!(!plan_of(&e, &second).await.has_changes());
}

#[tokio::test]
async fn lifting_a_limit_takes_a_new_container() {
    let source = |memory: &str| {
        format!("stack \"lim\"\ncontainer \"c\" {{ image = \"busybox:1.36\"{memory} }}\n")
    };
    let e = engine();
    apply(&e, &deploy(&source(", memory = 64MiB"), &[])).await;
    let unlimited = deploy(&source(""), &[]);
    let plan = plan_of(&e, &unlimited).await;
    assert_eq!(
        actions(&plan),
        [(
            "container.c".to_string(),
            vec![Action::Delete, Action::Create]
        )]
    );
    assert_eq!(plan.resource_changes[0].replace_paths, ["memory"]);
    let (_, outcome) = apply(&e, &unlimited).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &unlimited).await.has_changes());
}

#[tokio::test]
async fn an_interruption_stops_waiting_for_a_dependency() {
    let e = engine();
    e.behave("web-db", Behaviour::Unhealthy);
    let d = deploy(WEB, &[]);
    let (plan, live) = session::plan(&e, &d, &PlanOptions::default())
        .await
        .unwrap();
    let interrupt = Interrupt::default();
    let later = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        later.press();
    });
    let opts = ApplyOptions {
        parallelism: 2,
        wait_timeout: std::time::Duration::from_secs(60),
    };
    let started = std::time::Instant::now();
    let job = Job {
        deployment: &d,
        plan: &plan,
        live: &live,
    };
    let outcome = session::apply(&e, job, &opts, &Progress::captured(), &interrupt, false)
        .await
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the wait stopped at once"
    );
    assert!(
        outcome.interrupted && outcome.failed.is_empty(),
        "{outcome:?}"
    );
    assert_eq!(outcome.not_attempted, ["container.app"]);
    assert!(!e.names(Kind::Container).contains(&"web-app".to_string()));
}
