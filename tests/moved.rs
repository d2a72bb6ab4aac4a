//! `moved` blocks and Docker-name pins: a refactoring that moves a volume
//! into a module instance keeps the volume (its name, its data), on the
//! in-memory engine and on a real one.

use stackc::deployment::Kind;
use stackc::engine::Engine;
use stackc::plan::{self, Action};

use crate::planner::{actions, apply, change, engine, plan_of};
use crate::support::deploy_with;

/// Before: the volume at the root.
const BEFORE: &str = r#"
stack "mv"
volume "data" {}
container "db" {
  image   = "busybox:1.36"
  command = ["sleep", "3600"]
  mounts  = [{ volume = volume.data, target = "/data" }]
}
"#;

/// The module the volume moves into.
const PG: &str = r#"
volume "data" {}
container "server" {
  image   = "busybox:1.36"
  command = ["sleep", "3600"]
  mounts  = [{ volume = volume.data, target = "/data" }]
}
"#;

/// After: the volume inside `postgres.db`, with the block that says so.
const AFTER: &str = r#"
stack "mv"
import "./pg.stack" as postgres
postgres "db" {}
moved {
  from = volume.data
  to   = postgres.db.volume.data
}
"#;

fn after(main: &str) -> stackc::deployment::Deployment {
    deploy_with(main, &[], &[("pg.stack", PG)])
}

#[tokio::test]
async fn a_volume_moved_into_a_module_instance_keeps_its_object() {
    let e = engine();
    apply(&e, &deploy_with(BEFORE, &[], &[])).await;
    let d = after(AFTER);
    // The pin: the volume keeps the name of the address it started from,
    // and the container that mounts it mounts that name.
    let volume = d.resource("postgres.db.volume.data").unwrap();
    assert_eq!(volume.name, "mv-data");
    let server =
        serde_json::to_string(&d.resource("postgres.db.container.server").unwrap().spec).unwrap();
    assert!(server.contains(r#""source":"mv-data""#), "{server}");

    let plan = plan_of(&e, &d).await;
    let shown = plan::human(&plan, false);
    assert!(
        shown.contains("# volume.data has moved to postgres.db.volume.data"),
        "{shown}"
    );
    // No delete, no create for the volume: the containers alone change.
    assert_eq!(
        change(&plan, "postgres.db.volume.data").actions,
        [Action::NoOp]
    );
    assert_eq!(
        actions(&plan),
        [
            ("container.db".to_string(), vec![Action::Delete]),
            (
                "postgres.db.container.server".to_string(),
                vec![Action::Create]
            ),
        ]
    );
    assert!(
        !plan.resource_changes.iter().any(|c| c.data_loss),
        "{shown}"
    );
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(
        !e.calls().iter().any(|c| c.contains("remove mv-data")),
        "{:?}",
        e.calls()
    );
    assert_eq!(e.names(Kind::Volume), ["mv-data"]);

    // Applied: the record says where the object went; nothing left to do.
    let record = e.read_record("mv").await.unwrap().unwrap();
    assert_eq!(
        record.moved.get("volume.data").map(String::as_str),
        Some("postgres.db.volume.data")
    );
    let again = plan_of(&e, &d).await;
    assert!(again.moved.is_empty(), "{:?}", again.moved);
    assert_eq!(plan::human(&again, false).trim(), "No changes.");
}

#[tokio::test]
async fn a_move_alone_changes_nothing_and_apply_records_it() {
    let e = engine();
    let before = "stack \"mv\"\nvolume \"data\" {}\n";
    apply(&e, &deploy_with(before, &[], &[])).await;
    let d = after("stack \"mv\"\nimport \"./pg.stack\" as postgres\npostgres \"db\" {}\n");
    // Without the block the volume would be deleted and made again, empty.
    let plan = plan_of(&e, &d).await;
    let gone = change(&plan, "volume.data");
    assert!(gone.data_loss);
    // The plan says how to keep it.
    assert!(
        gone.reason.as_deref().unwrap_or_default().contains(
            "if it moved, keep it: `moved { from = volume.data, to = postgres.db.volume.data }`"
        ),
        "{gone:?}"
    );
    let only_volume = "stack \"mv\"\nimport \"./vol.stack\" as postgres\npostgres \"db\" {}\nmoved {\n  from = volume.data\n  to = postgres.db.volume.data\n}\n";
    let d = deploy_with(only_volume, &[], &[("vol.stack", "volume \"data\" {}\n")]);
    let plan = plan_of(&e, &d).await;
    assert!(!plan.has_changes());
    assert_eq!(
        plan::human(&plan, false).trim(),
        "# volume.data has moved to postgres.db.volume.data\n      volume mv-data (no changes)\n\nNo changes. 1 object has moved: apply records its new address."
    );
    apply(&e, &d).await;
    assert_eq!(
        plan::human(&plan_of(&e, &d).await, false).trim(),
        "No changes."
    );
}

#[tokio::test]
async fn the_block_removed_names_the_rename_and_docker_name_keeps_the_volume() {
    let e = engine();
    apply(&e, &deploy_with(BEFORE, &[], &[])).await;
    apply(&e, &after(AFTER)).await;
    // The block is gone: the source names the volume `mv-db-data` again,
    // which Docker cannot rename to. The record still finds the object.
    let plain = "stack \"mv\"\nimport \"./pg.stack\" as postgres\npostgres \"db\" {}\n";
    let plan = plan_of(&e, &after(plain)).await;
    let c = change(&plan, "postgres.db.volume.data");
    assert!(c.is_replace() && c.data_loss, "{c:?}");
    assert_eq!(c.fields[0].path, "name");
    let reason = c.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("Docker cannot rename a volume")
            && reason.contains(r#"docker_name = "mv-data""#),
        "{reason}"
    );
    assert!(
        !plan
            .resource_changes
            .iter()
            .any(|c| c.address == "volume.data"),
        "the object is not deleted as `volume.data`: {plan:?}"
    );
    // The pin written out: nothing to do.
    let pinned = PG.replace(
        "volume \"data\" {}",
        "volume \"data\" { docker_name = \"mv-data\" }",
    );
    let d = deploy_with(plain, &[], &[("pg.stack", &pinned)]);
    let plan = plan_of(&e, &d).await;
    assert!(
        !plan.has_changes() && plan.moved.is_empty(),
        "{}",
        plan::human(&plan, false)
    );
}

#[tokio::test]
async fn moves_chain_through_later_refactors_and_whole_instances_move() {
    let e = engine();
    apply(&e, &deploy_with(BEFORE, &[], &[])).await;
    apply(&e, &after(AFTER)).await;
    // The instance is renamed: one block for the instance, the first kept.
    let renamed = r#"
stack "mv"
import "./pg.stack" as postgres
postgres "main" {}
moved {
  from = volume.data
  to   = postgres.db.volume.data
}
moved {
  from = postgres.db
  to   = postgres.main
}
"#;
    let d = after(renamed);
    assert_eq!(
        d.resource("postgres.main.volume.data").unwrap().name,
        "mv-data"
    );
    let plan = plan_of(&e, &d).await;
    assert_eq!(
        change(&plan, "postgres.main.volume.data").actions,
        [Action::NoOp]
    );
    assert!(
        plan::human(&plan, false).contains("# volume.data has moved to postgres.main.volume.data"),
        "{}",
        plan::human(&plan, false)
    );
    // The container moved with its instance, and is made again under its new name.
    let server = change(&plan, "postgres.main.container.server");
    assert!(server.is_replace(), "{server:?}");
    assert_eq!(server.name, "mv-main-server");
    apply(&e, &d).await;
    assert!(!plan_of(&e, &d).await.has_changes());
    assert_eq!(e.names(Kind::Volume), ["mv-data"]);
    assert_eq!(e.names(Kind::Container), ["mv-main-server"]);
}

#[tokio::test]
async fn a_container_that_keeps_its_name_is_moved_in_place() {
    let e = engine();
    let before = "stack \"mv\"\ncontainer \"web\" {\n  image = \"busybox:1.36\"\n  container_name = \"legacy-web\"\n  network_mode = \"none\"\n}\n";
    apply(&e, &deploy_with(before, &[], &[])).await;
    let after = "stack \"mv\"\ncontainer \"front\" {\n  image = \"busybox:1.36\"\n  container_name = \"legacy-web\"\n  network_mode = \"none\"\n}\nmoved {\n  from = container.web\n  to = container.front\n}\n";
    let d = deploy_with(after, &[], &[]);
    let plan = plan_of(&e, &d).await;
    assert_eq!(change(&plan, "container.front").actions, [Action::NoOp]);
    assert!(!plan.has_changes(), "{}", plan::human(&plan, false));
    assert_eq!(plan.moved.len(), 1);
}

/// A container moved into a module is made again under its new name: a
/// change of the source, listed with its other changes (its logical name,
/// which others reach it by), never drift "renamed outside stackc".
#[tokio::test]
async fn a_moved_container_that_changes_name_shows_its_changes_not_drift() {
    let e = engine();
    apply(&e, &deploy_with(BEFORE, &[], &[])).await;
    let main = format!(
        "{AFTER}moved {{\n  from = container.db\n  to = postgres.db.container.server\n}}\n"
    );
    let d = after(&main);
    let plan = plan_of(&e, &d).await;
    let shown = plan::human(&plan, false);
    assert!(plan.drift.is_empty(), "{shown}");
    assert!(!shown.contains("outside stackc"), "{shown}");
    let c = change(&plan, "postgres.db.container.server");
    assert_eq!(c.actions, [Action::Delete, Action::Create], "{shown}");
    let paths: Vec<&str> = c.fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths.first(), Some(&"name"), "{shown}");
    assert!(paths.iter().any(|p| p.starts_with("networks")), "{shown}");
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(e.names(Kind::Container), ["mv-db-server"]);
    assert_eq!(
        plan::human(&plan_of(&e, &d).await, false).trim(),
        "No changes."
    );
}

#[test]
fn docker_name_pins_volumes_and_networks() {
    let d = deploy_with(
        r#"
stack "mv"
volume "data" { docker_name = "legacy-data" }
network "back" { docker_name = "legacy_back" }
container "db" {
  image    = "busybox:1.36"
  mounts   = [{ volume = volume.data, target = "/data" }]
  networks = [network.back]
}
"#,
        &[],
        &[],
    );
    assert_eq!(d.resource("volume.data").unwrap().name, "legacy-data");
    assert_eq!(d.resource("network.back").unwrap().name, "legacy_back");
    let db = serde_json::to_string(&d.resource("container.db").unwrap().spec).unwrap();
    assert!(db.contains(r#""source":"legacy-data""#), "{db}");
    assert!(db.contains(r#""network":"legacy_back""#), "{db}");
    // A stack without `moved` or `docker_name` compiles as before: no `moved` key.
    let plain = deploy_with("stack \"mv\"\nvolume \"data\" {}\n", &[], &[]);
    assert!(!plain.to_json(false).unwrap().contains("moved"));
}

/// A bad `docker_name` or `container_name` is one error: the resource is
/// still declared, so its references add no "there is no volume named".
#[test]
fn a_bad_docker_name_is_one_error() {
    let main = "stack \"mv\"\nvolume \"data\" { docker_name = \"Bad Name!\" }\ncontainer \"db\" {\n  image = \"busybox:1.36\"\n  container_name = \"-x\"\n  mounts = [{ volume = volume.data, target = \"/data\" }]\n}\noutput \"v\" = volume.data.name\noutput \"c\" = container.db\n";
    let dir = crate::support::stack_dir("mv-bad-name", main, &[]);
    let err = crate::support::stderr(&crate::support::exits(
        1,
        &["check", dir.to_str().unwrap()],
        &[],
    ));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(err.contains("E0413"), "{err}");
    assert!(!err.contains("E0410"), "{err}");
    assert!(err.contains("could not compile: 2 errors"), "{err}");
}

/// When a volume was made, as Docker says: the same volume keeps it.
fn volume_created_at(name: &str) -> Option<String> {
    use crate::docker_support::{block_on, raw_client};
    block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .inspect_volume(name)
            .await
            .ok()
            .and_then(|v| v.created_at)
    })
}

#[test]
fn on_docker_a_volume_moved_into_a_module_keeps_its_data() {
    use crate::docker_support::{docker_stack, test_image};
    use crate::support::{ok, run, stack_dir, stdout};
    let Some(guard) = docker_stack("moved") else {
        return;
    };
    let stack = guard.stack.clone();
    let image = test_image();
    let before = format!(
        "stack \"{stack}\"\nvolume \"data\" {{}}\ncontainer \"db\" {{\n  image   = \"{image}\"\n  command = [\"sh\", \"-c\", \"echo kept > /data/f && sleep 3600\"]\n  mounts  = [{{ volume = volume.data, target = \"/data\" }}]\n}}\n"
    );
    let dir = stack_dir("moved", &before, &[]);
    let path = dir.to_str().unwrap();
    ok(&["apply", path, "--auto-approve"]);
    let volume = format!("{stack}-data");
    let made = volume_created_at(&volume).expect("the volume exists");
    // Written by the container once it runs.
    let mut written = String::new();
    for _ in 0..50 {
        written = stdout(&run(&[
            "exec",
            "container.db",
            path,
            "--",
            "cat",
            "/data/f",
        ]));
        if written.trim() == "kept" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(written.trim(), "kept");

    // The refactoring: the database and its volume into a module.
    let module = format!(
        "volume \"data\" {{}}\ncontainer \"server\" {{\n  image   = \"{image}\"\n  command = [\"sleep\", \"3600\"]\n  mounts  = [{{ volume = volume.data, target = \"/data\" }}]\n}}\n"
    );
    let after = format!(
        "stack \"{stack}\"\nimport \"./pg.stack\" as postgres\npostgres \"db\" {{}}\nmoved {{\n  from = volume.data\n  to   = postgres.db.volume.data\n}}\n"
    );
    std::fs::write(dir.join("pg.stack"), module).unwrap();
    std::fs::write(dir.join("main.stack"), after).unwrap();
    let plan = stdout(&ok(&["plan", path]));
    assert!(
        plan.contains("# volume.data has moved to postgres.db.volume.data")
            && plan.contains(&format!("volume {volume} (no changes)"))
            && !plan.contains("volume.data will be destroyed")
            && !plan.contains("postgres.db.volume.data will be created")
            && !plan.contains("--allow-data-loss"),
        "{plan}"
    );
    ok(&["apply", path, "--auto-approve"]);
    assert_eq!(
        volume_created_at(&volume).as_deref(),
        Some(made.as_str()),
        "the same volume"
    );
    assert_eq!(volume_created_at(&format!("{stack}-db-data")), None);
    let read = stdout(&ok(&[
        "exec",
        "postgres.db.container.server",
        path,
        "--",
        "cat",
        "/data/f",
    ]));
    assert_eq!(read.trim(), "kept");
    let again = stdout(&ok(&["plan", path]));
    assert_eq!(again.trim(), "No changes.", "{again}");
    ok(&["destroy", path, "--auto-approve", "--allow-data-loss"]);
    assert_eq!(volume_created_at(&volume), None);
}
