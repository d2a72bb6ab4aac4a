//! Swarm services through the planner and the applier on the in-memory
//! engine: created and watched until they converge, updated in place (the
//! id stays), drift by hand repaired, a failed update reported honestly, a
//! stale version planned again, an engine that is no swarm manager refused.
//! The same on a real single-node swarm is in `swarm.rs`.

use stackc::apply::{ApplyOptions, Interrupt, Job, Outcome, Progress};
use stackc::deployment::{Deployment, Kind};
use stackc::engine::Engine;
use stackc::engine::memory::{Behaviour, MemoryEngine};
use stackc::plan::{Action, DriftKind, Plan, PlanOptions};
use stackc::session;

use crate::docker_support::block_on;
use crate::planner::{actions, change, engine};
use crate::support::deploy;

pub const API: &str = r#"
stack "shop"
param image: string = "busybox:1.36"
param replicas: int = 2
param greeting: string = "hello"
param token: secret = "first-token"
network "mesh" { driver = "overlay", attachable = true }
service "api" {
  image    = image
  command  = ["httpd", "-f", "-p", "8080"]
  env      = { GREETING = greeting, TOKEN = token }
  ports    = ["8080:8080"]
  networks = [{ network = network.mesh, aliases = ["backend"] }]
  replicas = replicas
  labels   = { team = "shop" }
  container_labels = { tier = "api" }
  memory   = 64MiB
  reservations = { memory = 32MiB, cpus = 0.1 }
  health   = { cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = 1s }
  update   = { parallelism = 1, delay = 100ms, order = "start-first", failure_action = "rollback", monitor = 1s }
  rollback = { parallelism = 0, monitor = 1s }
  placement = { constraints = ["node.role == manager"], max_replicas = 4 }
  restart_policy = { condition = "on-failure", delay = 1s, max_attempts = 3 }
  stop_signal  = "SIGQUIT"
  stop_timeout = 2s
}
"#;

pub fn api(vars: &[&str]) -> Deployment {
    deploy(API, vars)
}

async fn plan_of(e: &MemoryEngine, d: &Deployment) -> Plan {
    session::plan(e, d, &PlanOptions::default())
        .await
        .unwrap()
        .0
}

async fn apply(e: &MemoryEngine, d: &Deployment) -> (Plan, Outcome, Vec<String>) {
    let (plan, live) = session::plan(e, d, &PlanOptions::default()).await.unwrap();
    let progress = Progress::captured();
    let job = Job {
        deployment: d,
        plan: &plan,
        live: &live,
    };
    let options = ApplyOptions {
        parallelism: 4,
        wait_timeout: std::time::Duration::from_secs(5),
    };
    let outcome = session::apply(e, job, &options, &progress, &Interrupt::default(), false)
        .await
        .unwrap();
    (plan, outcome, progress.lines())
}

async fn service_id(e: &MemoryEngine, d: &Deployment) -> String {
    let live = e.observe(&d.stack, &[]).await.unwrap();
    live.objects
        .iter()
        .find(|o| o.kind == Kind::Service)
        .map(|o| o.id.clone())
        .expect("the service exists")
}

#[test]
fn a_service_is_created_watched_until_it_runs_and_then_left_alone() {
    block_on(async {
        let e = engine();
        let d = api(&[]);
        let (plan, outcome, lines) = apply(&e, &d).await;
        assert_eq!(
            actions(&plan),
            [
                ("network.mesh".to_string(), vec![Action::Create]),
                ("service.api".to_string(), vec![Action::Create]),
            ]
        );
        assert!(outcome.succeeded(), "{outcome:?}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("service.api (create): 1/2 running")),
            "{lines:#?}"
        );
        let done = &outcome
            .done
            .iter()
            .find(|d| d.0 == "service.api")
            .unwrap()
            .1;
        assert_eq!(done, "created: 2/2 running");
        // The service answers to its logical name on its network too.
        let after = change(&plan, "service.api").after.clone().unwrap();
        assert_eq!(
            after["networks"][0]["aliases"],
            serde_json::json!(["api", "backend"])
        );
        // Nothing to do the second time: what Swarm has is what was asked.
        let again = plan_of(&e, &d).await;
        assert!(!again.has_changes(), "{:#?}", again.resource_changes);
        assert!(again.drift.is_empty());
    });
}

#[test]
fn image_env_and_replicas_changes_update_the_service_in_place() {
    block_on(async {
        let e = engine();
        apply(&e, &api(&[])).await;
        let id = service_id(&e, &api(&[])).await;
        let d = api(&[
            "image=busybox:1.37",
            "replicas=5",
            "greeting=hi",
            "token=second",
        ]);
        let (plan, outcome, lines) = apply(&e, &d).await;
        let c = change(&plan, "service.api");
        assert_eq!(c.actions, [Action::Update], "{c:#?}");
        assert!(c.replace_paths.is_empty());
        let paths: Vec<&str> = c.fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["env.GREETING", "image", "replicas", "env.TOKEN"],
            "{:#?}",
            c.fields
        );
        // The secret is compared, never shown.
        let token = c.fields.iter().find(|f| f.path == "env.TOKEN").unwrap();
        assert_eq!(token.after, "(secret changed)");
        assert!(!serde_json::to_string(&plan).unwrap().contains("second"));
        assert!(outcome.succeeded(), "{outcome:?}");
        assert!(lines.iter().any(|l| l.contains("updated")), "{lines:#?}");
        assert_eq!(service_id(&e, &d).await, id, "the service is the same one");
        assert!(!plan_of(&e, &d).await.has_changes());
    });
}

#[test]
fn a_service_scaled_or_changed_by_hand_is_drift_repaired_by_an_update() {
    block_on(async {
        let e = engine();
        let d = api(&[]);
        apply(&e, &d).await;
        e.scale_by_hand("shop-api", 7);
        let plan = plan_of(&e, &d).await;
        assert_eq!(plan.drift.len(), 1, "{:#?}", plan.drift);
        assert_eq!(plan.drift[0].drift, DriftKind::Modified);
        assert_eq!(plan.drift[0].fields[0].path, "replicas");
        assert_eq!(plan.drift[0].fields[0].before, 7);
        assert_eq!(plan.drift[0].fields[0].after, 2);
        let c = change(&plan, "service.api");
        assert_eq!(c.actions, [Action::Update]);
        assert_eq!(c.reason.as_deref(), Some("changed outside stackc"));
        let (_, outcome, _) = apply(&e, &d).await;
        assert!(outcome.succeeded(), "{outcome:?}");
        assert!(!plan_of(&e, &d).await.has_changes());

        // An environment variable changed by hand.
        e.service_by_hand("shop-api", |spec| {
            spec["env"]["GREETING"] = "tampered".into()
        });
        let plan = plan_of(&e, &d).await;
        assert_eq!(plan.drift[0].fields[0].path, "env.GREETING");
        assert_eq!(plan.drift[0].fields[0].before, "tampered");
        // A secret changed by hand is found, and never shown.
        apply(&e, &d).await;
        e.service_by_hand("shop-api", |spec| spec["env"]["TOKEN"] = "stolen".into());
        let plan = plan_of(&e, &d).await;
        let c = change(&plan, "service.api");
        assert_eq!(c.actions, [Action::Update]);
        let shown = serde_json::to_string(&plan).unwrap();
        assert!(
            !shown.contains("stolen") && !shown.contains("first-token"),
            "{shown}"
        );
    });
}

#[test]
fn a_service_removed_by_hand_is_made_again() {
    block_on(async {
        let e = engine();
        let d = api(&[]);
        apply(&e, &d).await;
        assert!(e.delete_by_hand(Kind::Service, "shop-api"));
        let plan = plan_of(&e, &d).await;
        assert_eq!(plan.drift[0].drift, DriftKind::Deleted);
        assert_eq!(change(&plan, "service.api").actions, [Action::Create]);
        let (_, outcome, _) = apply(&e, &d).await;
        assert!(outcome.succeeded(), "{outcome:?}");
    });
}

#[test]
fn an_update_swarm_rolls_back_fails_the_apply_with_the_task_errors() {
    block_on(async {
        let e = engine();
        apply(&e, &api(&[])).await;
        let id = service_id(&e, &api(&[])).await;
        e.behave("shop-api", Behaviour::Exit { code: 1, polls: 0 });
        let d = api(&["image=busybox:1.37"]);
        let (_, outcome, _) = apply(&e, &d).await;
        assert!(!outcome.succeeded());
        let (address, error) = &outcome.failed[0];
        assert_eq!(address, "service.api");
        assert!(
            error.contains("the update failed and Swarm rolled it back"),
            "{error}"
        );
        assert!(
            error.contains("task errors: task: non-zero exit (1)"),
            "{error}"
        );
        // Swarm put the old spec back: the next plan updates again.
        assert_eq!(service_id(&e, &d).await, id);
        let plan = plan_of(&e, &d).await;
        assert_eq!(change(&plan, "service.api").actions, [Action::Update]);
        assert!(plan.drift.is_empty(), "{:#?}", plan.drift);
    });
}

#[test]
fn a_paused_update_fails_the_apply_and_is_rolled_out_again_next_time() {
    block_on(async {
        let e = engine();
        let source = API.replace(
            "failure_action = \"rollback\"",
            "failure_action = \"pause\"",
        );
        apply(&e, &deploy(&source, &[])).await;
        e.behave("shop-api", Behaviour::Exit { code: 1, polls: 0 });
        let d = deploy(&source, &["image=busybox:1.37"]);
        let (_, outcome, _) = apply(&e, &d).await;
        assert!(
            outcome.failed[0].1.contains("Swarm paused it"),
            "{outcome:?}"
        );
        // The spec is the new one, its rollout stopped: planned again.
        let plan = plan_of(&e, &d).await;
        let c = change(&plan, "service.api");
        assert_eq!(c.actions, [Action::Update]);
        assert!(
            c.reason
                .as_deref()
                .unwrap_or_default()
                .contains("update paused"),
            "{c:#?}"
        );
        e.behave("shop-api", Behaviour::Serve { polls: 0 });
        let (_, outcome, _) = apply(&e, &d).await;
        assert!(outcome.succeeded(), "{outcome:?}");
        assert!(!plan_of(&e, &d).await.has_changes());
    });
}

#[test]
fn a_service_changed_between_plan_and_apply_is_read_and_planned_again() {
    block_on(async {
        let e = engine();
        apply(&e, &api(&[])).await;
        let d = api(&["replicas=3"]);
        let (plan, live) = session::plan(&e, &d, &PlanOptions::default())
            .await
            .unwrap();
        // Another writer comes first: the version the plan read is stale.
        e.scale_by_hand("shop-api", 9);
        let progress = Progress::captured();
        let job = Job {
            deployment: &d,
            plan: &plan,
            live: &live,
        };
        let outcome = session::apply(
            &e,
            job,
            &ApplyOptions::default(),
            &progress,
            &Interrupt::default(),
            false,
        )
        .await
        .unwrap();
        assert!(outcome.succeeded(), "{outcome:?}");
        assert!(
            progress
                .lines()
                .iter()
                .any(|l| l.contains("read again and planned again")),
            "{:#?}",
            progress.lines()
        );
        let live = e.observe("shop", &[]).await.unwrap();
        let service = live
            .objects
            .iter()
            .find(|o| o.kind == Kind::Service)
            .unwrap();
        assert_eq!(service.actual.service.as_ref().unwrap().spec["replicas"], 3);
    });
}

#[test]
fn a_mode_change_replaces_the_service() {
    block_on(async {
        let e = engine();
        apply(&e, &api(&[])).await;
        let source = API.replace("  replicas = replicas\n", "  mode = \"global\"\n");
        let plan = plan_of(&e, &deploy(&source, &[])).await;
        let c = change(&plan, "service.api");
        assert_eq!(c.actions, [Action::Delete, Action::Create]);
        assert_eq!(c.replace_paths, ["mode"]);
    });
}

#[test]
fn services_on_an_engine_that_is_no_swarm_manager_are_refused_at_plan_time() {
    block_on(async {
        let e = engine();
        e.leave_swarm();
        let error = session::plan(&e, &api(&[]), &PlanOptions::default())
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("service.api: "), "{text}");
        assert!(text.contains("need a Swarm manager"), "{text}");
        assert!(text.contains("docker swarm init"), "{text}");
        assert!(e.calls().is_empty(), "{:?}", e.calls());
    });
}

#[test]
fn destroy_removes_the_service_before_its_network() {
    block_on(async {
        let e = engine();
        let d = api(&[]);
        apply(&e, &d).await;
        let options = PlanOptions {
            destroy: true,
            ..Default::default()
        };
        let (plan, live) = session::plan(&e, &d, &options).await.unwrap();
        let job = Job {
            deployment: &d,
            plan: &plan,
            live: &live,
        };
        let outcome = session::apply(
            &e,
            job,
            &ApplyOptions::default(),
            &Progress::captured(),
            &Interrupt::default(),
            true,
        )
        .await
        .unwrap();
        assert!(outcome.succeeded(), "{outcome:?}");
        assert!(e.names(Kind::Service).is_empty());
        assert!(e.names(Kind::Network).is_empty());
    });
}

/// The diagnostics of a stack that does not compile, as plain text.
fn errors_of(source: &str) -> String {
    let dir = crate::support::stack_dir("swarm-errors", source, &[]);
    let options = stackc::driver::Options {
        path: dir.clone(),
        ..Default::default()
    };
    let compiled = stackc::driver::compile(&options);
    let _ = std::fs::remove_dir_all(&dir);
    match compiled.result {
        Ok(_) => panic!("compiled:\n{source}"),
        Err(diags) => stackc::diagnostic::render_all(
            &diags,
            &compiled.sources,
            stackc::diagnostic::RenderOptions::PLAIN,
        ),
    }
}

#[test]
fn swarm_settings_swarm_would_refuse_are_compile_errors() {
    let cases = [
        (
            "network \"n\" { encrypted = true }",
            "only an overlay network is encrypted",
        ),
        (
            "container \"c\" {\n  image = \"busybox:1.36\"\n  ports = [{ container = 80, mode = \"host\" }]\n}",
            "only a `service` publishes in `host` mode",
        ),
        (
            "service \"s\" {\n  image = \"busybox:1.36\"\n  ports = [\"127.0.0.1:80:80\"]\n}",
            "a port cannot name an `ip`",
        ),
        (
            "service \"s\" {\n  image = \"busybox:1.36\"\n  mode = \"global\"\n  replicas = 2\n}",
            "a global service runs one task on every node",
        ),
        (
            "service \"s\" {\n  image = \"busybox:1.36\"\n  placement = { max_replicas = 0 }\n}",
            "max_replicas must be 1 or more",
        ),
        (
            "service \"s\" {\n  image = \"busybox:1.36\"\n  container_labels = { \"io.stackc.x\" = \"y\" }\n}",
            "reserved prefix",
        ),
        (
            "param t: secret = \"x\"\nservice \"s\" {\n  image = \"busybox:1.36\"\n  container_labels = { a = t }\n}",
            "a label cannot hold a secret",
        ),
    ];
    for (body, wanted) in cases {
        let text = errors_of(&format!("stack \"swarm\"\n{body}\n"));
        assert!(text.contains(wanted), "{body}\n→ {text}");
    }
}

#[test]
fn a_service_name_taken_outside_the_stack_is_a_conflict_before_anything_changes() {
    block_on(async {
        let e = engine();
        e.add_unlabelled(Kind::Service, "shop-api");
        let plan = plan_of(&e, &api(&[])).await;
        assert_eq!(plan.conflicts.len(), 1, "{:#?}", plan.conflicts);
        let c = &plan.conflicts[0];
        assert_eq!(c.address, "service.api");
        assert_eq!(c.claim, "the service name shop-api");
        assert_eq!(c.holder, "service shop-api (not made by stackc)");
    });
}
