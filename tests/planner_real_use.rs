//! What real use found the planner missing, against the in-memory engine:
//! networks changed by hand, tags that move, pull policies, objects outside
//! the stack in its way, the advice after a failed apply, drift that a
//! replacement would hide.

use stackc::apply::{ApplyOptions, Interrupt, Outcome, Progress};
use stackc::deployment::Kind;
use stackc::engine::Holder;
use stackc::plan::{self, Action, DriftKind, Plan, PlanOptions};
use stackc::session;

use crate::planner::{WEB, actions, apply, change, engine, plan_of};
use crate::support::deploy;

const NETWORKED: &str = r#"
stack "nets"
network "front" {}
network "back" {}
container "web" {
  image    = "busybox:1.36"
  networks = [{ network = network.front, aliases = ["www"] }]
}
"#;

#[tokio::test]
async fn networks_left_joined_or_realiased_by_hand_are_drift_repaired_in_place() {
    let e = engine();
    let d = deploy(NETWORKED, &[]);
    apply(&e, &d).await;
    assert!(!plan_of(&e, &d).await.has_changes());

    type Networks = std::collections::BTreeMap<String, Vec<String>>;
    let tampers: [fn(&mut Networks); 3] = [
        // Left the stack's network.
        |n| {
            n.remove("nets-front");
        },
        // Joined another of the stack's networks.
        |n| {
            n.insert("nets-back".into(), vec![]);
        },
        // Another alias on the right network.
        |n| {
            n.insert("nets-front".into(), vec!["other".into()]);
        },
    ];
    for tamper in tampers {
        e.tamper("nets-web", |a| tamper(&mut a.networks));
        let plan = plan_of(&e, &d).await;
        assert_eq!(plan.drift.len(), 1, "{plan:?}");
        assert_eq!(plan.drift[0].drift, DriftKind::Modified);
        assert!(
            plan.drift[0]
                .fields
                .iter()
                .all(|f| f.path.starts_with("networks[")),
            "{:?}",
            plan.drift[0].fields
        );
        assert_eq!(
            actions(&plan),
            [("container.web".to_string(), vec![Action::Update])]
        );
        let calls = e.calls().len();
        let (_, outcome) = apply(&e, &d).await;
        assert!(outcome.succeeded(), "{outcome:?}");
        let made: Vec<String> = e.calls()[calls..].to_vec();
        assert!(
            made.iter()
                .all(|c| c.starts_with("connect ") || c.starts_with("disconnect ")),
            "repaired in place, not replaced: {made:?}"
        );
        assert!(!plan_of(&e, &d).await.has_changes(), "{made:?}");
    }
}

#[tokio::test]
async fn a_network_outside_the_stack_joined_by_hand_is_left_alone() {
    let e = engine();
    let d = deploy(NETWORKED, &[]);
    apply(&e, &d).await;
    e.tamper("nets-web", |a| {
        a.networks.insert("monitoring".into(), vec![]);
    });
    assert!(!plan_of(&e, &d).await.has_changes());
}

const TAGGED: &str = r#"
stack "tags"
container "app" {
  image   = "rt/app:1"
  command = ["sleep", "3600"]
}
"#;

#[tokio::test]
async fn a_container_whose_tag_moved_is_replaced_with_the_reason() {
    let e = engine();
    e.allow_pull("rt/app:1");
    let d = deploy(TAGGED, &[]);
    let plan = plan_of(&e, &d).await;
    let c = &plan.resource_changes[0];
    assert_eq!(c.reason.as_deref(), Some("pull rt/app:1"), "{c:?}");
    apply(&e, &d).await;
    assert!(!plan_of(&e, &d).await.has_changes());

    e.move_tag("rt/app:1");
    let plan = plan_of(&e, &d).await;
    assert_eq!(
        actions(&plan),
        [(
            "container.app".to_string(),
            vec![Action::Delete, Action::Create]
        )]
    );
    let reason = plan.resource_changes[0].reason.clone().unwrap();
    assert!(
        reason.starts_with("rt/app:1 now names another image ("),
        "{reason}"
    );
    apply(&e, &d).await;
    assert!(!plan_of(&e, &d).await.has_changes());
}

#[tokio::test]
async fn pull_policies_and_pull_first_redeploy_what_the_registry_has() {
    let e = engine();
    e.allow_pull("rt/app:1");
    e.allow_pull("rt/job:1");
    let source = r#"
stack "pulls"
container "app" {
  image = "rt/app:1"
}
container "job" {
  image = "rt/job:1"
  pull  = "always"
}
container "local" {
  image = "rt/local:1"
  pull  = "never"
}
container "app-pinned" {
  image = "rt/app:1"
  pull  = "never"
}
"#;
    let d = deploy(source, &[]);
    let plan = plan_of(&e, &d).await;
    let local = change(&plan, "container.local");
    assert_eq!(
        local.reason.as_deref(),
        Some("rt/local:1 is absent and `pull = \"never\"`: apply will fail")
    );
    let (_, outcome) = apply(&e, &d).await;
    assert!(
        outcome
            .failed
            .iter()
            .any(|(a, m)| a == "container.local" && m.contains("pull = \"never\"")),
        "{outcome:?}"
    );
    e.add_image("rt/local:1");
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &d).await.has_changes());

    // The registry moves both tags on.
    e.publish("rt/app:1");
    e.publish("rt/job:1");
    let quiet = |_: &str| {};
    // Without --pull only `pull = "always"` is pulled.
    session::pull_images(&e, &d, false, &quiet).await.unwrap();
    assert_eq!(
        actions(&plan_of(&e, &d).await),
        [(
            "container.job".to_string(),
            vec![Action::Delete, Action::Create]
        )]
    );
    // --pull pulls the rest, but never what only `never` containers run
    // (`app-pinned` does not stop the pull `app` wants).
    let calls = e.calls().len();
    session::pull_images(&e, &d, true, &quiet).await.unwrap();
    let pulled: Vec<String> = e.calls()[calls..].to_vec();
    assert_eq!(pulled, ["pull rt/app:1", "pull rt/job:1"]);
    let replaced: Vec<String> = actions(&plan_of(&e, &d).await)
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(
        replaced,
        ["container.app", "container.app-pinned", "container.job"]
    );
}

#[tokio::test]
async fn a_failed_apply_advises_a_retry_only_when_a_retry_can_succeed() {
    let e = engine();
    // Stacks `a-b` and `a` both want the container `a-b-c`.
    let first = deploy(
        "stack \"a-b\"\ncontainer \"c\" { image = \"busybox:1.36\" }\n",
        &[],
    );
    assert!(apply(&e, &first).await.1.succeeded());
    let second = deploy(
        "stack \"a\"\ncontainer \"b-c\" { image = \"busybox:1.36\" }\n",
        &[],
    );
    let (_, outcome) = apply(&e, &second).await;
    assert!(!outcome.succeeded());
    assert!(
        outcome.advice().contains("a retry fails the same way"),
        "{}",
        outcome.advice()
    );

    let d = deploy(WEB, &[]);
    e.fail("create", "web-db", "no space left on device");
    let (_, outcome) = apply(&e, &d).await;
    assert!(
        outcome.advice().starts_with("fix what the error says"),
        "{}",
        outcome.advice()
    );
    assert_eq!(
        Outcome::default().advice(),
        "run `stackc apply` again: it continues from where this one stopped"
    );
}

#[tokio::test]
async fn objects_outside_the_stack_in_its_way_are_named_and_apply_refuses_before_changing_anything()
{
    let e = engine();
    // Another stack publishes 8080; a network was made by hand under the name the stack wants.
    let other = deploy(
        "stack \"legacy\"\ncontainer \"web\" {\n  image = \"busybox:1.36\"\n  ports = [\"8080:80\"]\n}\n",
        &[],
    );
    assert!(apply(&e, &other).await.1.succeeded());
    e.add_unlabelled(Kind::Network, "shop-net");
    let d = deploy(
        "stack \"shop\"\nnetwork \"net\" {}\ncontainer \"web\" {\n  image    = \"busybox:1.36\"\n  ports    = [\"127.0.0.1:8080:80\"]\n  networks = [network.net]\n}\n",
        &[],
    );
    let plan = plan_of(&e, &d).await;
    let found: Vec<String> = plan
        .conflicts
        .iter()
        .map(|c| format!("{}: {} / {}", c.address, c.claim, c.holder))
        .collect();
    assert_eq!(
        found,
        [
            "container.web: host port 127.0.0.1:8080/tcp / container legacy-web of the stack `legacy`",
            "network.net: the network name shop-net / network shop-net (not made by stackc)",
        ]
    );
    let text = plan::human(&plan, false);
    assert!(
        text.contains("Objects outside the stack are in the way:"),
        "{text}"
    );

    let calls = e.calls().len();
    let request = session::Request {
        deployment: &d,
        path: std::path::Path::new("shop"),
        saved: None,
        selection: PlanOptions::default(),
        pull: false,
        mode: session::Mode::Apply,
        allow_data_loss: false,
        auto_approve: true,
        lock_timeout: std::time::Duration::ZERO,
        apply: ApplyOptions {
            parallelism: 2,
            wait_timeout: std::time::Duration::from_secs(5),
        },
    };
    struct Quiet(Progress);
    #[async_trait::async_trait]
    impl session::Ui for Quiet {
        fn waiting_for_lock(&self, _: &str, _: &Holder, _: std::time::Duration) {}
        fn keeping_volume(&self, _: &str) {}
        fn plan(&self, _: &Plan) {}
        async fn confirm(&self, _: &str) -> session::Answer {
            session::Answer::Yes
        }
        fn applying(&self) {}
        fn progress(&self) -> &Progress {
            &self.0
        }
    }
    let err = session::run(
        &e,
        &request,
        &Quiet(Progress::captured()),
        &Interrupt::default(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("objects outside the stack are in its way; nothing was changed:"),
        "{err}"
    );
    let made: Vec<String> = e.calls()[calls..].to_vec();
    assert!(
        made.iter()
            .all(|c| !c.starts_with("create") && !c.starts_with("remove")),
        "{made:?}"
    );
    // Neither is ever removed, and freeing them lets the apply through.
    assert!(e.names(Kind::Network).contains(&"shop-net".to_string()));
    e.delete_by_hand(Kind::Network, "shop-net");
    let free = deploy(
        "stack \"shop\"\nnetwork \"net\" {}\ncontainer \"web\" {\n  image    = \"busybox:1.36\"\n  ports    = [\"127.0.0.1:8081:80\"]\n  networks = [network.net]\n}\n",
        &[],
    );
    assert!(plan_of(&e, &free).await.conflicts.is_empty());
    assert!(apply(&e, &free).await.1.succeeded());
}

#[tokio::test]
async fn a_container_an_apply_created_but_could_not_start_is_started_without_drift() {
    let e = engine();
    let d = deploy(WEB, &[]);
    e.fail(
        "start",
        "web-app",
        "driver failed programming external connectivity: port is already allocated",
    );
    let (_, outcome) = apply(&e, &d).await;
    assert!(!outcome.succeeded());
    let plan = plan_of(&e, &d).await;
    assert!(plan.drift.is_empty(), "{:?}", plan.drift);
    let c = change(&plan, "container.app");
    assert_eq!(c.reason.as_deref(), Some("start: created, never started"));
    assert!(apply(&e, &d).await.1.succeeded());
}

#[tokio::test]
async fn a_change_by_hand_is_drift_even_when_the_container_is_replaced() {
    let e = engine();
    apply(&e, &deploy(WEB, &[])).await;
    e.tamper("web-app", |a| a.memory = Some(100 * 1024 * 1024));
    let plan = plan_of(&e, &deploy(WEB, &["image=busybox:1.37"])).await;
    assert_eq!(
        actions(&plan),
        [(
            "container.app".to_string(),
            vec![Action::Delete, Action::Create]
        )]
    );
    assert_eq!(plan.drift.len(), 1, "{:?}", plan.drift);
    assert_eq!(plan.drift[0].drift, DriftKind::Modified);
    assert_eq!(plan.drift[0].fields[0].path, "memory");
    assert!(plan::human(&plan, false).contains("~ memory = 100MiB (source: 64MiB)"));
}

#[tokio::test]
async fn a_network_left_by_hand_is_drift_even_when_the_container_is_replaced() {
    let e = engine();
    let source = |image: &str| NETWORKED.replace("busybox:1.36", image);
    apply(&e, &deploy(&source("busybox:1.36"), &[])).await;
    e.tamper("nets-web", |a| {
        a.networks.remove("nets-front");
    });
    let plan = plan_of(&e, &deploy(&source("busybox:1.37"), &[])).await;
    assert_eq!(
        actions(&plan),
        [(
            "container.web".to_string(),
            vec![Action::Delete, Action::Create]
        )]
    );
    assert_eq!(plan.drift.len(), 1, "{:?}", plan.drift);
    assert!(
        plan.drift[0].fields.iter().any(|f| f.path == "networks[0]"),
        "{:?}",
        plan.drift[0].fields
    );
}

#[tokio::test]
async fn a_network_or_volume_left_by_a_replaced_container_is_removed_after_it() {
    let e = engine();
    let source = |net: &str, vol: &str| {
        format!(
            "stack \"mv\"\nnetwork \"{net}\" {{}}\nvolume \"{vol}\" {{}}\ncontainer \"web\" {{\n  image    = \"busybox:1.36\"\n  networks = [network.{net}]\n  mounts   = [{{ volume = volume.{vol}, target = \"/data\" }}]\n}}\n"
        )
    };
    assert!(
        apply(&e, &deploy(&source("a", "x"), &[]))
            .await
            .1
            .succeeded()
    );
    let renamed = deploy(&source("b", "y"), &[]);
    let (_, outcome) = apply(&e, &renamed).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &renamed).await.has_changes());
    assert_eq!(e.names(Kind::Network), ["mv-b"]);
}

const JOBS: &str = r#"
stack "jobs"
param memory: size = 64MiB
container "migrate" { image = "busybox:1.36", command = ["true"], memory = memory }
container "app" { image = "busybox:1.36", depends_on = [{ on = container.migrate, condition = "completed" }] }
"#;

#[tokio::test]
async fn a_job_an_apply_could_not_start_runs_on_the_next_apply() {
    let e = engine();
    e.behave(
        "jobs-migrate",
        stackc::engine::memory::Behaviour::Exit { code: 0, polls: 1 },
    );
    e.fail("start", "jobs-migrate", "OCI runtime create failed");
    let d = deploy(JOBS, &[]);
    assert!(!apply(&e, &d).await.1.succeeded());
    let plan = plan_of(&e, &d).await;
    let migrate = change(&plan, "container.migrate");
    assert_eq!(migrate.actions, [Action::Update], "{migrate:?}");
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &d).await.has_changes());
}

#[tokio::test]
async fn updating_a_finished_job_in_place_does_not_run_it_again() {
    let e = engine();
    e.behave(
        "jobs-migrate",
        stackc::engine::memory::Behaviour::Exit { code: 0, polls: 1 },
    );
    assert!(apply(&e, &deploy(JOBS, &[])).await.1.succeeded());
    let more = deploy(JOBS, &["memory=128MiB"]);
    let calls = e.calls().len();
    let (_, outcome) = apply(&e, &more).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let made: Vec<String> = e.calls()[calls..].to_vec();
    assert!(
        made.contains(&"update jobs-migrate".to_string())
            && !made.contains(&"start jobs-migrate".to_string()),
        "{made:?}"
    );
    assert!(!plan_of(&e, &more).await.has_changes());
}

#[tokio::test]
async fn drift_is_judged_against_what_the_last_apply_set() {
    let e = engine();
    let with = |memory: &str| deploy(WEB, &[&format!("memory={memory}")]);
    apply(&e, &with("256MiB")).await;
    // Updated in place: the labels still say 256MiB.
    assert!(apply(&e, &with("512MiB")).await.1.succeeded());
    // Back in the source: a change, not drift.
    let plan = plan_of(&e, &with("256MiB")).await;
    assert!(plan.drift.is_empty(), "{:?}", plan.drift);
    assert_eq!(
        actions(&plan),
        [("container.app".to_string(), vec![Action::Update])]
    );
    // By hand after the update in place: drift, though it matches the label.
    e.tamper("web-app", |a| a.memory = Some(256 * 1024 * 1024));
    let plan = plan_of(&e, &with("512MiB")).await;
    assert_eq!(plan.drift.len(), 1, "{plan:?}");
    assert_eq!(plan.drift[0].fields[0].path, "memory");
}

#[test]
fn restart_policies_and_cpus_are_normalized_as_docker_stores_them() {
    for (restart, cpus, stored_restart, stored_cpus) in [
        ("on-failure:0", "0.5", "on-failure", 0.5),
        (
            "on-failure:05",
            "0.33333333333",
            "on-failure:5",
            0.333_333_333,
        ),
    ] {
        let d = deploy(
            &format!(
                "stack \"n\"\ncontainer \"c\" {{\n  image = \"busybox:1.36\"\n  restart = \"{restart}\"\n  cpus = {cpus}\n}}\n"
            ),
            &[],
        );
        let stackc::deployment::Spec::Container(c) = &d.resources[0].spec else {
            unreachable!()
        };
        assert_eq!(c.restart, stored_restart);
        assert_eq!(c.run.cpus, Some(stored_cpus));
    }
}

#[tokio::test]
async fn a_replacement_whose_image_cannot_be_pulled_leaves_the_old_container_running() {
    let e = engine();
    let d = deploy(WEB, &[]);
    assert!(apply(&e, &d).await.1.succeeded());
    let missing = deploy(WEB, &["image=rt/nowhere:1"]);
    let (_, outcome) = apply(&e, &missing).await;
    assert!(!outcome.succeeded());
    assert!(
        outcome
            .failed
            .iter()
            .any(|(a, m)| a == "container.app" && m.contains("rt/nowhere:1")),
        "{outcome:?}"
    );
    assert!(
        e.state_of(Kind::Container, "web-app")
            .is_some_and(|s| s.is_running()),
        "the old container still runs"
    );
}

#[tokio::test]
async fn a_targeted_apply_keeps_the_drift_of_what_it_left_out() {
    let e = engine();
    let d = deploy(
        "stack \"tg\"\ncontainer \"a\" { image = \"busybox:1.36\" }\ncontainer \"b\" { image = \"busybox:1.36\" }\n",
        &[],
    );
    assert!(apply(&e, &d).await.1.succeeded());
    assert!(e.delete_by_hand(Kind::Container, "tg-b"));
    let targeted = PlanOptions {
        targets: vec!["container.a".into()],
        ..PlanOptions::default()
    };
    let (plan, live) = session::plan(&e, &d, &targeted).await.unwrap();
    let job = stackc::apply::Job {
        deployment: &d,
        plan: &plan,
        live: &live,
    };
    let opts = ApplyOptions {
        parallelism: 2,
        wait_timeout: std::time::Duration::from_secs(5),
    };
    session::apply(
        &e,
        job,
        &opts,
        &Progress::captured(),
        &Interrupt::default(),
        false,
    )
    .await
    .unwrap();
    let plan = plan_of(&e, &d).await;
    assert!(
        plan.drift
            .iter()
            .any(|x| x.address == "container.b" && x.drift == DriftKind::Deleted),
        "{:?}",
        plan.drift
    );
}

#[tokio::test]
async fn a_container_renamed_by_hand_is_drift_and_made_again_under_its_name() {
    let e = engine();
    let d = deploy(WEB, &[]);
    assert!(apply(&e, &d).await.1.succeeded());
    e.rename_by_hand("web-app", "web-app-old");
    let plan = plan_of(&e, &d).await;
    assert_eq!(plan.drift.len(), 1, "{:?}", plan.drift);
    assert_eq!(plan.drift[0].fields[0].path, "name");
    assert_eq!(
        change(&plan, "container.app").actions,
        [Action::Delete, Action::Create]
    );
    assert!(apply(&e, &d).await.1.succeeded());
    assert!(e.names(Kind::Container).contains(&"web-app".to_string()));
    assert!(
        !e.names(Kind::Container)
            .contains(&"web-app-old".to_string())
    );
    assert!(!plan_of(&e, &d).await.has_changes());
}

#[tokio::test]
async fn a_container_made_again_by_hand_with_another_command_is_drift() {
    let e = engine();
    let d = deploy(WEB, &[]);
    assert!(apply(&e, &d).await.1.succeeded());
    assert!(!plan_of(&e, &d).await.has_changes());
    // Same labels, another command (as `docker run --label …` by hand would).
    e.tamper("web-app", |a| {
        a.values.insert("/command/0".into(), "sh".into());
    });
    let plan = plan_of(&e, &d).await;
    assert_eq!(plan.drift.len(), 1, "{:?}", plan.drift);
    assert_eq!(plan.drift[0].fields[0].path, "command[0]");
    assert_eq!(
        change(&plan, "container.app").actions,
        [Action::Delete, Action::Create]
    );
    assert!(apply(&e, &d).await.1.succeeded());
    assert!(!plan_of(&e, &d).await.has_changes());
}
