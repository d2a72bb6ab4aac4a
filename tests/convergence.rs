//! Convergence against the in-memory engine: targets removed from the
//! source, a container's image moving to an image resource, a stack
//! reached through a symlink, published ports and networks changed by
//! hand, `--replace` of a built image. Each plan says what happens and
//! why, and one apply converges.

use stackc::apply::{ApplyOptions, Interrupt, Job, Outcome, Progress};
use stackc::deployment::{Deployment, Kind};
use stackc::engine::memory::MemoryEngine;
use stackc::plan::{Action, Plan, PlanOptions};
use stackc::session;

use crate::planner::{actions, apply, change, engine, plan_of};
use crate::support::deploy;

/// Plans with `options` and applies that plan.
async fn apply_selected(
    e: &MemoryEngine,
    d: &Deployment,
    options: &PlanOptions,
) -> (Plan, Outcome) {
    let (plan, live) = session::plan(e, d, options).await.unwrap();
    let job = Job {
        deployment: d,
        plan: &plan,
        live: &live,
    };
    let opts = ApplyOptions {
        parallelism: 4,
        wait_timeout: std::time::Duration::from_secs(5),
    };
    let outcome = session::apply(
        e,
        job,
        &opts,
        &Progress::captured(),
        &Interrupt::default(),
        false,
    )
    .await
    .unwrap();
    (plan, outcome)
}

fn three(b_image: &str, with_old: bool) -> Deployment {
    let old = if with_old {
        "container \"old\" { image = \"busybox:1.36\" }\n"
    } else {
        ""
    };
    deploy(
        &format!(
            "stack \"rm\"\ncontainer \"a\" {{ image = \"busybox:1.36\" }}\ncontainer \"b\" {{ image = \"{b_image}\" }}\n{old}"
        ),
        &[],
    )
}

#[tokio::test]
async fn a_target_removed_from_the_source_is_planned_for_deletion_alone() {
    let e = engine();
    let before = three("busybox:1.36", true);
    assert!(apply(&e, &before).await.1.succeeded());
    // `old` gone from the source, and `b` changed: only `old` is targeted.
    let now = three("busybox:1.37", false);
    let options = session::selection(&now, &["container.old".into()], &[]).unwrap();
    let (plan, outcome) = apply_selected(&e, &now, &options).await;
    assert_eq!(
        actions(&plan),
        [("container.old".to_string(), vec![Action::Delete])]
    );
    assert_eq!(
        change(&plan, "container.old").reason.as_deref(),
        Some("no longer in the source")
    );
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(e.names(Kind::Container), ["rm-a", "rm-b"]);
    assert!(
        !e.calls().iter().any(|c| c == "remove rm-b"),
        "{:?}",
        e.calls()
    );
    // The rest is still planned by an apply without targets.
    assert_eq!(
        actions(&plan_of(&e, &now).await),
        [(
            "container.b".to_string(),
            vec![Action::Delete, Action::Create]
        )]
    );
    // A target neither in the source nor on the engine is refused when planning.
    let options = session::selection(&now, &["container.olt".into()], &[]).unwrap();
    let err = session::plan(&e, &now, &options).await.unwrap_err();
    assert_eq!(err.to_string(), "the stack has no resource `container.olt`");
}

#[tokio::test]
async fn a_container_whose_image_moves_to_an_image_resource_says_which_field_changed() {
    let plain = deploy(
        "stack \"src\"\ncontainer \"c\" { image = \"busybox:1.36\" }\n",
        &[],
    );
    let resource = deploy(
        "stack \"src\"\nimage \"base\" { ref = \"busybox:1.36\" }\ncontainer \"c\" { image = image.base }\n",
        &[],
    );
    for (from, to, before, after, why) in [
        (
            &plain,
            &resource,
            "busybox:1.36",
            "busybox:1.36 (from image.base)",
            "its image now comes from image.base",
        ),
        (
            &resource,
            &plain,
            "busybox:1.36 (from an image resource)",
            "busybox:1.36",
            "its image no longer comes from an image resource",
        ),
    ] {
        let e = engine();
        assert!(apply(&e, from).await.1.succeeded());
        let plan = plan_of(&e, to).await;
        let c = change(&plan, "container.c");
        assert_eq!(c.actions, [Action::Delete, Action::Create]);
        assert_eq!(c.reason.as_deref(), Some(why));
        assert_eq!(c.replace_paths, ["image"]);
        assert_eq!(
            (c.fields[0].before.as_str(), c.fields[0].after.as_str()),
            (Some(before), Some(after))
        );
        let shown = stackc::plan::human(&plan, false);
        assert!(
            shown.contains(&format!(
                "~ image = \"{before}\" -> \"{after}\" # forces replacement"
            )),
            "{shown}"
        );
        assert!(apply(&e, to).await.1.succeeded());
        assert!(!plan_of(&e, to).await.has_changes());
    }
}

/// Compiles the stack at `path`.
fn compile_at(path: &std::path::Path) -> Deployment {
    let options = stackc::driver::Options {
        path: path.to_path_buf(),
        ..Default::default()
    };
    let compiled = stackc::driver::compile(&options);
    compiled.result.unwrap_or_else(|diags| {
        panic!(
            "{}",
            stackc::diagnostic::render_all(
                &diags,
                &compiled.sources,
                stackc::diagnostic::RenderOptions::PLAIN
            )
        )
    })
}

#[tokio::test]
async fn a_stack_reached_through_a_symlink_plans_the_same_as_from_inside_it() {
    let real = crate::support::stack_dir(
        "symlinked",
        "stack \"ln\"\ncontainer \"c\" {\n  image  = \"busybox:1.36\"\n  mounts = [\"./data:/data\", \"../shared:/shared:ro\"]\n}\n",
        &[("data/keep", "")],
    );
    // In another directory: `..` through the link is not `..` of the stack.
    let elsewhere = crate::support::temp_dir("symlink_parent");
    let link = elsewhere.join("stack");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let (direct, through) = (compile_at(&real), compile_at(&link));
    let canonical = real.canonicalize().unwrap();
    let spec = serde_json::to_value(&through.resources[0].spec).unwrap();
    assert_eq!(
        spec["mounts"][0]["source"].as_str(),
        Some(canonical.join("data").to_str().unwrap())
    );
    assert_eq!(
        spec["mounts"][1]["source"].as_str(),
        Some(canonical.parent().unwrap().join("shared").to_str().unwrap())
    );
    for (first, then) in [(&direct, &through), (&through, &direct)] {
        let e = engine();
        assert!(apply(&e, first).await.1.succeeded());
        let plan = plan_of(&e, then).await;
        assert!(!plan.has_changes(), "{}", stackc::plan::human(&plan, false));
    }
    std::fs::remove_dir_all(&elsewhere).unwrap();
    std::fs::remove_dir_all(&real).unwrap();
}

#[tokio::test]
async fn a_container_made_again_by_hand_with_other_ports_is_drift_and_made_again() {
    let e = engine();
    let d = deploy(
        "stack \"pt\"\ncontainer \"web\" {\n  image = \"busybox:1.36\"\n  ports = [\"8080:80\", \"9000\"]\n}\n",
        &[],
    );
    assert!(apply(&e, &d).await.1.succeeded());
    assert!(!plan_of(&e, &d).await.has_changes());
    // Same labels, another host port (as `docker run --label … -p 8081:80` would).
    e.tamper("pt-web", |a| {
        let ports = a.ports.as_mut().unwrap();
        ports.retain(|p| p.host != Some(8080));
        ports.push(stackc::deployment::PortSpec {
            container: 80,
            protocol: "tcp".into(),
            host: Some(8081),
            ip: None,
            mode: None,
        });
        ports.sort();
    });
    let plan = plan_of(&e, &d).await;
    assert_eq!(plan.drift.len(), 1, "{:?}", plan.drift);
    assert!(plan.drift[0].fields[0].path.starts_with("ports["));
    let c = change(&plan, "container.web");
    assert_eq!(c.actions, [Action::Delete, Action::Create]);
    assert!(c.replace_paths.iter().all(|p| p.starts_with("ports[")));
    let shown = stackc::plan::human(&plan, false);
    assert!(shown.contains("host = 8081"), "{shown}");
    assert!(apply(&e, &d).await.1.succeeded());
    assert!(!plan_of(&e, &d).await.has_changes());
}

#[tokio::test]
async fn replacing_a_built_image_rebuilds_it_without_the_cache_and_replaces_its_containers() {
    let source = "stack \"rb\"\nimage \"app\" { build = { context = \"./app\" } }\ncontainer \"c\" { image = image.app }\ncontainer \"other\" { image = \"busybox:1.36\" }\n";
    let d = crate::support::deploy_with(source, &[], &[("app/Dockerfile", "FROM scratch\n")]);
    let e = engine();
    assert!(apply(&e, &d).await.1.succeeded());
    let options = session::selection(&d, &[], &["image.app".into()]).unwrap();
    let (plan, outcome) = apply_selected(&e, &d, &options).await;
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
    assert_eq!(
        change(&plan, "container.c").reason.as_deref(),
        Some("image.app is replaced")
    );
    assert!(outcome.succeeded(), "{outcome:?}");
    let calls = e.calls();
    let at = |s: &str| {
        calls
            .iter()
            .rposition(|c| c.starts_with(s))
            .unwrap_or_else(|| panic!("no `{s}` in {calls:?}"))
    };
    assert!(at("rebuild rb-app") < at("create rb-c"), "{calls:?}");
    assert!(at("remove rb-c") < at("create rb-c"), "{calls:?}");
    assert!(at("create rb-c") < at("remove rb-app"), "{calls:?}");
    // The new build keeps the tag: one image, and nothing left to do.
    assert_eq!(e.names(Kind::Image).len(), 1, "{:?}", e.names(Kind::Image));
    assert!(!plan_of(&e, &d).await.has_changes());
}

const ON_A_NETWORK: &str = r#"
stack "nw"
network "back" {}
container "web" {
  image    = "busybox:1.36"
  networks = [network.back]
}
"#;

#[tokio::test]
async fn a_stopped_container_whose_network_was_made_again_by_hand_is_reconnected() {
    let e = engine();
    let d = deploy(ON_A_NETWORK, &[]);
    assert!(apply(&e, &d).await.1.succeeded());
    // `docker stop`, `docker network rm`, `docker network create` with its labels.
    e.stop_by_hand("nw-web");
    e.remake_network_by_hand("nw-back", true);
    let plan = plan_of(&e, &d).await;
    assert!(plan.has_changes());
    assert_eq!(
        actions(&plan),
        [("container.web".to_string(), vec![Action::Update])]
    );
    let c = change(&plan, "container.web");
    assert_eq!(
        c.reason.as_deref(),
        Some(
            "start: exited (0) outside stackc; reconnect: nw-back was removed and made again outside stackc"
        )
    );
    assert_eq!(c.fields[0].path, "networks[0]");
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(
        e.state_of(Kind::Container, "nw-web")
            .is_some_and(|s| s.is_running())
    );
    assert!(!plan_of(&e, &d).await.has_changes());
}

#[tokio::test]
async fn a_network_made_again_by_hand_without_the_stacks_labels_is_in_the_way() {
    let e = engine();
    let d = deploy(ON_A_NETWORK, &[]);
    assert!(apply(&e, &d).await.1.succeeded());
    e.stop_by_hand("nw-web");
    e.remake_network_by_hand("nw-back", false);
    let plan = plan_of(&e, &d).await;
    assert_eq!(
        plan.conflicts
            .iter()
            .map(|c| (c.address.as_str(), c.holder.as_str()))
            .collect::<Vec<_>>(),
        [("network.back", "network nw-back (not made by stackc)")]
    );
    assert!(
        change(&plan, "container.web")
            .reason
            .as_deref()
            .is_some_and(|r| r.ends_with("reconnect: nw-back was removed outside stackc")),
        "{plan:?}"
    );
    // Freed by hand: one apply makes the network and reconnects the container.
    assert!(e.delete_by_hand(Kind::Network, "nw-back"));
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &d).await.has_changes());
}

/// Made again by hand (`docker run` with the stack's labels) with another
/// host port, no restart policy, no alias on the stack's network and no
/// anonymous volume: every difference is drift, not only the one that
/// forces the replacement.
#[tokio::test]
async fn a_container_made_again_by_hand_lists_every_difference_as_drift() {
    let e = engine();
    let d = deploy(
        "stack \"every\"\ncontainer \"web\" {\n  image   = \"busybox:1.36\"\n  ports   = [\"8080:80\"]\n  restart = \"always\"\n  mounts  = [\"/data\"]\n}\n",
        &[],
    );
    assert!(apply(&e, &d).await.1.succeeded());
    assert!(!plan_of(&e, &d).await.has_changes());
    let remade = |e: &MemoryEngine, port: u16| {
        e.tamper("every-web", |a| {
            let ports = a.ports.as_mut().unwrap();
            ports[0].host = Some(port);
            a.restart = Some("no".into());
            for aliases in a.networks.values_mut() {
                aliases.clear();
            }
            a.values.retain(|k, _| !k.starts_with("/mounts/"));
        })
    };
    let paths = |plan: &Plan| -> Vec<String> {
        let mut paths: Vec<String> = plan
            .drift
            .iter()
            .flat_map(|d| d.fields.iter().map(|f| f.path.clone()))
            .collect();
        paths.sort();
        paths.dedup();
        paths
    };
    for port in [8081, 8080] {
        remade(&e, port);
        let plan = plan_of(&e, &d).await;
        let found = paths(&plan);
        for wanted in ["mounts[0].target", "restart", "networks"] {
            assert!(
                found.iter().any(|p| p.starts_with(wanted)),
                "{wanted} missing from the drift of port {port}: {found:?}"
            );
        }
        assert_eq!(
            found.iter().any(|p| p.starts_with("ports[")),
            port != 8080,
            "{found:?}"
        );
        let c = change(&plan, "container.web");
        assert_eq!(c.actions, [Action::Delete, Action::Create]);
        assert_eq!(c.reason.as_deref(), Some("changed outside stackc"));
        // The plan lists what the replacement repairs, besides what forces it.
        assert!(
            c.fields.iter().any(|f| f.path == "restart"),
            "{:?}",
            c.fields
        );
        let shown = stackc::plan::human(&plan, false);
        assert!(shown.contains("restart"), "{shown}");
        assert!(apply(&e, &d).await.1.succeeded());
        assert!(!plan_of(&e, &d).await.has_changes());
    }
}

/// The same, while the source changes too: the replacement the source
/// asks for repairs the hand-made differences, and the plan lists them.
#[tokio::test]
async fn a_container_made_again_by_hand_while_the_source_changes_lists_every_difference() {
    let e = engine();
    let source = |image: &str| {
        deploy(
            &format!(
                "stack \"both\"\ncontainer \"web\" {{\n  image   = \"{image}\"\n  ports   = [\"8080:80\"]\n  restart = \"always\"\n  mounts  = [\"/data\"]\n}}\n"
            ),
            &[],
        )
    };
    let d = source("busybox:1.36");
    assert!(apply(&e, &d).await.1.succeeded());
    e.tamper("both-web", |a| {
        a.ports.as_mut().unwrap()[0].host = Some(8081);
        a.restart = Some("no".into());
        a.values.retain(|k, _| !k.starts_with("/mounts/"));
    });
    let d = source("busybox:1.37");
    let plan = plan_of(&e, &d).await;
    let found: Vec<&str> = plan
        .drift
        .iter()
        .flat_map(|d| d.fields.iter().map(|f| f.path.as_str()))
        .collect();
    for wanted in ["mounts[0].target", "restart", "ports[0]"] {
        assert!(
            found.iter().any(|p| p.starts_with(wanted)),
            "{wanted} missing: {found:?}"
        );
    }
    assert!(apply(&e, &d).await.1.succeeded());
    assert!(!plan_of(&e, &d).await.has_changes());
}
