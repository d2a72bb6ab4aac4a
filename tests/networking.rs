//! Names that resolve, like Compose: the logical name on every network, the
//! stack's default network, `network_mode` and static addresses; on the
//! in-memory engine (what the planner decides) and on a real engine (what
//! Docker's DNS answers).

use bollard::query_parameters::InspectContainerOptions;
use stackc::deployment::{Kind, Spec};
use stackc::plan::{Action, DriftKind};

use crate::docker_support::{block_on, docker_stack, raw_client, test_image};
use crate::planner::{actions, apply, change, engine, plan_of};
use crate::support::{deploy, deploy_with, ok, run, stack_dir, stderr, stdout};

/// Two containers that name no network, and one on its own network.
fn shop(with_db: bool, with_cache: bool) -> String {
    let mut s = String::from(
        "stack \"shop\"\nnetwork \"back\" { subnet = \"10.30.0.0/24\" }\ncontainer \"web\" {\n  image    = \"busybox:1.36\"\n  networks = [{ network = network.back, ipv4_address = \"10.30.0.10\" }]\n}\n",
    );
    if with_db {
        s.push_str("container \"db\" { image = \"busybox:1.36\" }\n");
    }
    if with_cache {
        s.push_str("container \"cache\" { image = \"busybox:1.36\" }\n");
    }
    s
}

#[tokio::test]
async fn the_default_network_comes_with_the_first_container_and_goes_with_the_last() {
    let e = engine();
    let d = deploy(&shop(true, true), &[]);
    let default = d.resource("network.default").expect("made by stackc");
    assert_eq!(default.name, "shop-default");
    let db = d.resource("container.db").unwrap();
    assert!(db.depends_on.iter().any(|x| x.address == "network.default"));
    let Spec::Container(c) = &db.spec else {
        unreachable!()
    };
    assert_eq!(c.run.networks[0].network, "shop-default");
    assert_eq!(c.run.networks[0].aliases, ["db"]);

    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let calls = e.calls();
    let at = |call: &str| calls.iter().position(|c| c == call).expect(call);
    assert!(at("create shop-default") < at("create shop-db"));
    assert!(at("create shop-default") < at("create shop-cache"));

    // One container left on it: the network stays.
    let (plan, _) = apply(&e, &deploy(&shop(true, false), &[])).await;
    assert!(
        !plan
            .resource_changes
            .iter()
            .any(|c| c.address == "network.default" && c.action() != Action::NoOp)
    );
    assert_eq!(e.names(Kind::Network), ["shop-back", "shop-default"]);

    // The last one goes: so does the network, after it.
    let d = deploy(&shop(false, false), &[]);
    assert!(d.resource("network.default").is_none());
    let (plan, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(change(&plan, "network.default").action(), Action::Delete);
    let calls = e.calls();
    let last = |call: &str| calls.iter().rposition(|c| c == call).expect(call);
    assert!(last("remove shop-db") < last("remove shop-default"));
    assert_eq!(e.names(Kind::Network), ["shop-back"]);
}

#[test]
fn a_declared_default_network_is_the_default_and_containers_in_modules_join_it() {
    let d = deploy_with(
        "stack \"shop\"\nimport \"./cache.stack\" as cache\nnetwork \"default\" { internal = true }\ncontainer \"web\" { image = \"busybox:1.36\" }\ncache \"sessions\" {}\n",
        &[],
        &[(
            "cache.stack",
            "container \"server\" { image = \"busybox:1.36\" }\n",
        )],
    );
    let default = d.resource("network.default").unwrap();
    let Spec::Network(n) = &default.spec else {
        unreachable!()
    };
    assert!(n.internal, "the user's own, as in Compose");
    let server = d.resource("cache.sessions.container.server").unwrap();
    let Spec::Container(c) = &server.spec else {
        unreachable!()
    };
    assert_eq!(c.run.networks[0].network, "shop-default");
    assert_eq!(c.run.networks[0].aliases, ["sessions-server"]);
    assert!(
        server
            .depends_on
            .iter()
            .any(|x| x.address == "network.default")
    );
}

#[tokio::test]
async fn a_container_on_another_containers_network_is_replaced_with_it() {
    let e = engine();
    let source = |command: &str| {
        format!(
            "stack \"mode\"\ncontainer \"web\" {{ image = \"busybox:1.36\", command = [\"{command}\"] }}\ncontainer \"side\" {{ image = \"busybox:1.36\", network_mode = container.web }}\ncontainer \"probe\" {{ image = \"busybox:1.36\", network_mode = \"host\" }}\n"
        )
    };
    let d = deploy(&source("a"), &[]);
    let Spec::Container(side) = &d.resource("container.side").unwrap().spec else {
        unreachable!()
    };
    assert_eq!(side.network_mode.as_deref(), Some("container:mode-web"));
    assert!(
        side.run.networks.is_empty(),
        "no network of its own, not the default either"
    );
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &d).await.has_changes());

    let d = deploy(&source("b"), &[]);
    let plan = plan_of(&e, &d).await;
    assert_eq!(
        actions(&plan),
        [
            (
                "container.side".to_string(),
                vec![Action::Delete, Action::Create]
            ),
            (
                "container.web".to_string(),
                vec![Action::Delete, Action::Create]
            ),
        ]
    );
    assert_eq!(
        change(&plan, "container.side").reason.as_deref(),
        Some("container.web is replaced, and its network with it")
    );
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &d).await.has_changes());

    // Made again by hand (gone, then created by the apply): `side` is on
    // a network namespace that is no more.
    e.delete_by_hand(Kind::Container, "mode-web");
    let plan = plan_of(&e, &d).await;
    let side = change(&plan, "container.side");
    assert_eq!(side.actions, [Action::Delete, Action::Create]);
    assert_eq!(side.replace_paths, ["network_mode"]);
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &d).await.has_changes());
}

#[tokio::test]
async fn a_static_address_is_kept_by_drift_repair_and_a_new_one_replaces_the_container() {
    let e = engine();
    let d = deploy(&shop(false, false), &[]);
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");

    // Joined again by hand without its address: repaired in place, with it.
    e.tamper("shop-web", |a| {
        a.addresses.clear();
    });
    let plan = plan_of(&e, &d).await;
    assert_eq!(change(&plan, "container.web").action(), Action::Update);
    assert_eq!(plan.drift[0].drift, DriftKind::Modified);
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &d).await.has_changes());
    assert!(
        e.calls()
            .contains(&"connect shop-web shop-back".to_string())
    );

    // Another address in the source: a new container.
    let d = deploy(&shop(false, false).replace("10.30.0.10", "10.30.0.11"), &[]);
    let plan = plan_of(&e, &d).await;
    let web = change(&plan, "container.web");
    assert_eq!(web.actions, [Action::Delete, Action::Create]);
    assert!(
        web.fields
            .iter()
            .any(|f| f.after["ipv4_address"] == "10.30.0.11" && f.forces_replacement),
        "{web:?}"
    );
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &d).await.has_changes());
}

#[tokio::test]
async fn the_fake_refuses_a_static_address_docker_would_refuse() {
    let e = engine();
    // Outside the stack, so only the engine can check it.
    e.add_unlabelled(Kind::Network, "outside");
    let d = deploy(
        "stack \"ip\"\ncontainer \"web\" {\n  image    = \"busybox:1.36\"\n  networks = [{ network = \"outside\", ipv4_address = \"10.1.0.5\" }]\n}\n",
        &[],
    );
    let (_, outcome) = apply(&e, &d).await;
    assert!(
        outcome.failed[0]
            .1
            .contains("supported only when connecting to networks with user configured subnets"),
        "{outcome:?}"
    );
}

/// A unique /24 for a test's network, so that parallel tests never overlap.
fn subnet() -> (String, String) {
    let n = std::process::id() % 200 + 20;
    (format!("10.231.{n}.0/24"), format!("10.231.{n}.10"))
}

/// On Docker: `check` reaches `db` and the module instance's container by
/// their logical names, `side` reaches `db` through the network of `web`,
/// which has its static address. Each check is a one-off job that `done`
/// waits for to complete: the apply succeeds only if every one exits 0.
#[test]
fn containers_reach_each_other_by_logical_name_on_docker() {
    let Some(guard) = docker_stack("names") else {
        return;
    };
    let stack = guard.stack.clone();
    let (subnet, address) = subnet();
    let image = test_image();
    let serve = "command = [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]";
    // Fetches the page each host serves (a few tries: a server may still
    // be starting), and fails unless it is there. (This busybox's `wget -T`
    // and `nslookup` crash.)
    let fetch = |hosts: &[&str]| {
        let each: Vec<String> = hosts
            .iter()
            .map(|h| {
                format!("n=0; until wget -qO- http://{h}/ | grep -q stackc; do n=$((n+1)); [ $n -lt 20 ] || exit 1; sleep 0.5; done")
            })
            .collect();
        format!("command = [\"sh\", \"-c\", \"{}\"]", each.join("; "))
    };
    let source = format!(
        r#"stack "{stack}"
import "./cache.stack" as cache

network "back" {{ subnet = "{subnet}" }}

container "db" {{
  image = "{image}"
  {serve}
}}

cache "sessions" {{ image = "{image}" }}

container "web" {{
  image    = "{image}"
  {serve}
  networks = [{{ network = network.back, ipv4_address = "{address}" }}, "default"]
}}

container "check" {{
  image      = "{image}"
  {check}
  depends_on = [container.db, cache.sessions]
}}

container "side" {{
  image        = "{image}"
  {side}
  network_mode = container.web
  depends_on   = [container.db]
}}

container "done" {{
  image      = "{image}"
  command    = ["sleep", "3600"]
  depends_on = [{{ on = container.check, condition = "completed" }}, {{ on = container.side, condition = "completed" }}]
}}
"#,
        check = fetch(&["db", "sessions-server", &format!("{stack}-db")]),
        side = fetch(&["db", "web"]),
    );
    let module =
        format!("param image: string\ncontainer \"server\" {{\n  image = image\n  {serve}\n}}\n");
    let dir = stack_dir("names", &source, &[("cache.stack", &module)]);
    let path = dir.to_string_lossy().into_owned();
    let applied = run(&["apply", &path, "--auto-approve"]);
    assert!(
        applied.status.success(),
        "{}{}",
        stdout(&applied),
        stderr(&applied)
    );
    assert!(stdout(&ok(&["plan", &path])).contains("No changes."));

    let web = block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .inspect_container(&format!("{stack}-web"), None::<InspectContainerOptions>)
            .await
            .unwrap()
    });
    let networks = web.network_settings.and_then(|n| n.networks).unwrap();
    let back = &networks[&format!("{stack}-back")];
    assert_eq!(back.ip_address.as_deref(), Some(address.as_str()));
    assert!(back.aliases.iter().flatten().any(|a| a == "web"));
    let default = &networks[&format!("{stack}-default")];
    assert!(default.aliases.iter().flatten().any(|a| a == "web"));

    ok(&["destroy", &path, "--auto-approve"]);
    let engine_left = block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .inspect_network(&format!("{stack}-default"), None)
            .await
            .is_ok()
    });
    assert!(
        !engine_left,
        "the default network goes with the last container"
    );
    drop(guard);
}
