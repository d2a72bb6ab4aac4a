//! The diff through `diff`: update in place or replace, forced replacements,
//! drift and its order, and secrets that change without being shown.

use super::{Action, Change, DriftKind, Plan, PlanOptions, diff};
use crate::deployment::{Deployment, Spec};
use crate::driver::compile_text as deploy;
use crate::engine::memory::actual_of;
use crate::engine::{Health, LiveObject, LiveState, Record, State, masked_spec};

/// The live state right after `d` was applied: every object as its labels
/// say, running, and recorded.
fn applied(d: &Deployment) -> LiveState {
    let mut live = LiveState::default();
    for r in &d.resources {
        let (state, actual) = match &r.spec {
            Spec::Container(c) => (
                State::Running {
                    health: Health::None,
                },
                actual_of(&c.run, &c.restart),
            ),
            _ => (State::Present, Default::default()),
        };
        if let Spec::Image(image) = &r.spec
            && let Some(reference) = &image.reference
        {
            live.images
                .insert(reference.clone(), Some(format!("sha256:{reference}")));
            continue;
        }
        live.objects.push(LiveObject {
            kind: r.kind,
            id: format!("id-{}", r.name),
            name: r.name.clone(),
            address: r.address.clone(),
            hash: r.hash.clone(),
            spec: Some(masked_spec(r)),
            state,
            actual,
            moved_from: None,
        });
    }
    live.record = Some(Record {
        addresses: d.resources.iter().map(|r| r.address.clone()).collect(),
        outputs: None,
        settings: Default::default(),
        moved: Default::default(),
    });
    live
}

fn object<'a>(live: &'a mut LiveState, address: &str) -> &'a mut LiveObject {
    live.objects
        .iter_mut()
        .find(|o| o.address == address)
        .unwrap_or_else(|| panic!("no object {address}"))
}

fn plan(d: &Deployment, live: &LiveState) -> Plan {
    diff(d, live, &PlanOptions::default())
}

fn change<'a>(plan: &'a Plan, address: &str) -> &'a Change {
    plan.resource_changes
        .iter()
        .find(|c| c.address == address)
        .unwrap_or_else(|| panic!("no change for {address}"))
}

/// (path, before, after, forces replacement) of each field change.
fn fields(c: &Change) -> Vec<(String, String, String, bool)> {
    c.fields
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                f.before.to_string(),
                f.after.to_string(),
                f.forces_replacement,
            )
        })
        .collect()
}

fn app(image: &str, extra: &str) -> String {
    format!("stack \"p\"\ncontainer \"app\" {{\n  image = \"{image}\"\n{extra}\n}}\n")
}

#[test]
fn an_applied_deployment_plans_no_changes() {
    let d = deploy(&app("busybox:1.36", "memory = 64MiB"), &[]);
    let p = plan(&d, &applied(&d));
    assert!(!p.has_changes() && p.drift.is_empty(), "{p:#?}");
    assert_eq!(change(&p, "container.app").actions, [Action::NoOp]);
}

#[test]
fn memory_cpus_and_restart_change_in_place() {
    let before = deploy(&app("busybox:1.36", "memory = 64MiB\ncpus = 0.5"), &[]);
    let live = applied(&before);
    let after = deploy(
        &app(
            "busybox:1.36",
            "memory = 128MiB\ncpus = 1.5\nrestart = \"always\"",
        ),
        &[],
    );
    let p = plan(&after, &live);
    let c = change(&p, "container.app");
    assert_eq!(c.actions, [Action::Update]);
    assert!(c.replace_paths.is_empty());
    assert_eq!(
        fields(c),
        [
            (
                "restart".into(),
                "\"no\"".into(),
                "\"always\"".into(),
                false
            ),
            (
                "memory".into(),
                "67108864".into(),
                "134217728".into(),
                false
            ),
            ("cpus".into(), "0.5".into(), "1.5".into(), false),
        ]
    );
    assert!(p.drift.is_empty(), "a change in the source is not drift");
    assert_eq!(
        (p.summary.add, p.summary.change, p.summary.destroy),
        (0, 1, 0)
    );
}

#[test]
fn lifting_a_memory_limit_needs_a_new_container() {
    let before = deploy(&app("busybox:1.36", "memory = 64MiB"), &[]);
    let after = deploy(&app("busybox:1.36", ""), &[]);
    let p = plan(&after, &applied(&before));
    let c = change(&p, "container.app");
    assert_eq!(c.actions, [Action::Delete, Action::Create]);
    assert_eq!(c.replace_paths, ["memory"]);
    assert_eq!(
        fields(c),
        [("memory".into(), "67108864".into(), "null".into(), true)]
    );
}

#[test]
fn other_field_changes_replace_and_name_the_fields() {
    let before = deploy(&app("busybox:1.36", "env = { A = \"1\" }"), &[]);
    let after = deploy(&app("busybox:1.37", "env = { A = \"2\" }"), &[]);
    let p = plan(&after, &applied(&before));
    let c = change(&p, "container.app");
    assert_eq!(c.actions, [Action::Delete, Action::Create]);
    assert_eq!(c.replace_paths, ["env.A", "image"]);
    assert!(c.fields.iter().all(|f| f.forces_replacement));
    assert_eq!(
        (p.summary.add, p.summary.change, p.summary.destroy),
        (1, 0, 1)
    );
}

#[test]
fn replace_forces_even_an_unchanged_resource_and_volumes_then_lose_data() {
    let d = deploy(
        "stack \"p\"\nvolume \"data\" {}\ncontainer \"app\" { image = \"busybox:1.36\" }\n",
        &[],
    );
    let options = PlanOptions {
        replace: vec!["container.app".into(), "volume.data".into()],
        ..PlanOptions::default()
    };
    let p = diff(&d, &applied(&d), &options);
    for address in ["container.app", "volume.data"] {
        let c = change(&p, address);
        assert_eq!(c.actions, [Action::Delete, Action::Create], "{address}");
        assert_eq!(
            c.reason.as_deref(),
            Some("replacement requested (--replace)")
        );
    }
    assert!(!change(&p, "container.app").data_loss);
    assert!(change(&p, "volume.data").data_loss);
}

#[test]
fn a_replaced_network_replaces_only_the_containers_on_it_and_says_why() {
    let source = |internal: bool| {
        format!(
            "stack \"p\"\nnetwork \"net\" {{ internal = {internal} }}\ncontainer \"app\" {{ image = \"busybox:1.36\", networks = [network.net] }}\ncontainer \"other\" {{ image = \"busybox:1.36\" }}\n"
        )
    };
    let p = plan(
        &deploy(&source(true), &[]),
        &applied(&deploy(&source(false), &[])),
    );
    assert_eq!(
        change(&p, "network.net").actions,
        [Action::Delete, Action::Create]
    );
    let app = change(&p, "container.app");
    assert_eq!(app.actions, [Action::Delete, Action::Create]);
    assert_eq!(app.reason.as_deref(), Some("network.net is replaced"));
    assert_eq!(change(&p, "container.other").actions, [Action::NoOp]);
}

#[test]
fn drift_is_sorted_by_address_and_only_recorded_objects_count_as_deleted() {
    let d = deploy(
        "stack \"p\"\ncontainer \"a\" { image = \"busybox:1.36\" }\ncontainer \"m\" { image = \"busybox:1.36\", restart = \"always\" }\ncontainer \"n\" { image = \"busybox:1.36\" }\ncontainer \"z\" { image = \"busybox:1.36\" }\n",
        &[],
    );
    let mut live = applied(&d);
    live.objects
        .retain(|o| o.address != "container.z" && o.address != "container.n");
    if let Some(record) = &mut live.record {
        record.addresses.remove("container.n");
    }
    object(&mut live, "container.a").state = State::Exited { code: 0 };
    object(&mut live, "container.m").actual.restart = Some("no".into());
    // Observed in another order than the addresses'.
    live.objects.reverse();
    let p = plan(&d, &live);
    let drift: Vec<(&str, DriftKind)> = p
        .drift
        .iter()
        .map(|x| (x.address.as_str(), x.drift))
        .collect();
    assert_eq!(
        drift,
        [
            ("container.a", DriftKind::Stopped),
            ("container.m", DriftKind::Modified),
            ("container.z", DriftKind::Deleted),
        ]
    );
    let m = &p.drift[1];
    assert_eq!(
        (
            m.fields[0].path.as_str(),
            m.fields[0].before.to_string(),
            m.fields[0].after.to_string()
        ),
        ("restart", "\"no\"".to_string(), "\"always\"".to_string())
    );
    assert_eq!(change(&p, "container.m").actions, [Action::Update]);
    assert_eq!(
        change(&p, "container.z").reason.as_deref(),
        Some("deleted outside stackc")
    );
    // Never applied: a plain create, no drift.
    assert_eq!(change(&p, "container.n").actions, [Action::Create]);
    assert_eq!(change(&p, "container.n").reason, None);
}

#[test]
fn a_failed_one_off_container_runs_again_and_a_finished_one_is_left() {
    let source = "stack \"p\"\ncontainer \"migrate\" { image = \"busybox:1.36\" }\ncontainer \"app\" {\n  image = \"busybox:1.36\"\n  depends_on = [{ on = container.migrate, condition = \"completed\" }]\n}\n";
    let d = deploy(source, &[]);
    let mut live = applied(&d);
    object(&mut live, "container.migrate").state = State::Exited { code: 0 };
    let p = plan(&d, &live);
    assert!(!p.has_changes() && p.drift.is_empty(), "{p:#?}");
    object(&mut live, "container.migrate").state = State::Exited { code: 3 };
    let p = plan(&d, &live);
    let c = change(&p, "container.migrate");
    assert_eq!(c.actions, [Action::Delete, Action::Create]);
    assert_eq!(c.reason.as_deref(), Some("exited with code 3: run again"));
    assert_eq!(p.drift[0].drift, DriftKind::Failed);
}

#[test]
fn objects_no_longer_in_the_source_are_deleted_and_volumes_lose_data() {
    let before = deploy("stack \"p\"\nvolume \"data\" {}\nnetwork \"net\" {}\n", &[]);
    let after = deploy("stack \"p\"\nnetwork \"net\" {}\n", &[]);
    let mut live = applied(&before);
    // An interrupted replacement left a second object for one address.
    let mut second = object(&mut live, "network.net").clone();
    second.id = "id-second".into();
    live.objects.push(second);
    let p = plan(&after, &live);
    let deletes: Vec<(&str, Option<&str>, &str, bool)> = p
        .actions()
        .map(|c| {
            assert_eq!(c.actions, [Action::Delete]);
            (
                c.address.as_str(),
                c.id.as_deref(),
                c.reason.as_deref().unwrap_or(""),
                c.data_loss,
            )
        })
        .collect();
    assert_eq!(
        deletes,
        [
            (
                "network.net",
                Some("id-second"),
                "a second object for this address",
                false
            ),
            (
                "volume.data",
                Some("id-p-data"),
                "no longer in the source",
                true
            ),
        ]
    );
}

#[test]
fn a_changed_secret_is_shown_as_changed_never_as_its_value() {
    let source = "stack \"p\"\nparam password: secret\ncontainer \"db\" {\n  image = \"busybox:1.36\"\n  env = { PASSWORD = password, USER = \"app\" }\n}\n";
    let before = deploy(source, &["password=hunter-one"]);
    let live = applied(&before);
    let after = deploy(source, &["password=hunter-two"]);
    // The hash leaves secrets out: it cannot be used to guess one offline.
    let hash = |d: &Deployment| d.resource("container.db").expect("db").hash.clone();
    assert_eq!(hash(&before), hash(&after));
    let p = plan(&after, &live);
    let c = change(&p, "container.db");
    assert_eq!(c.actions, [Action::Delete, Action::Create]);
    assert_eq!(
        fields(c),
        [(
            "env.PASSWORD".into(),
            "\"(secret)\"".into(),
            "\"(secret changed)\"".into(),
            true
        )]
    );
    let json = serde_json::to_string(&p).expect("json");
    let text = super::human(&p, false) + &super::markdown(&p);
    for shown in [json, text] {
        assert!(
            !shown.contains("hunter-one") && !shown.contains("hunter-two"),
            "{shown}"
        );
    }
    // The same secret: nothing to do, though the masked specs alike hide it either way.
    assert!(!plan(&before, &live).has_changes());
}

#[test]
fn a_secret_is_not_reported_twice_when_its_field_changes_visibly() {
    let source = |cmd: &str| {
        format!(
            "stack \"p\"\nparam token: secret\ncontainer \"c\" {{\n  image = \"busybox:1.36\"\n  command = [{cmd}]\n}}\n"
        )
    };
    let before = deploy(&source("\"run\", token"), &["token=one"]);
    let after = deploy(&source("\"run\", \"--verbose\", token"), &["token=two"]);
    let p = plan(&after, &applied(&before));
    let c = change(&p, "container.c");
    // The new word, and the secret (moved and changed) once.
    assert_eq!(c.replace_paths, ["command[1]", "command[2]"]);
    let shown = serde_json::to_string(&c.fields).expect("json");
    assert!(
        shown.contains("(secret)") && !shown.contains("one") && !shown.contains("two"),
        "{shown}"
    );
}

#[test]
fn a_changed_secret_number_is_shown_as_changed_never_as_its_value() {
    let source = "stack \"p\"\nparam token: secret\ncontainer \"c\" {\n  image = \"busybox:1.36\"\n  health = { cmd = [\"true\"], retries = len(token) }\n}\ncontainer \"m\" {\n  image = \"busybox:1.36\"\n  memory = 1MiB * (64 + len(token))\n}\n";
    let before = deploy(source, &["token=abcdefg"]);
    let live = applied(&before);
    let after = deploy(source, &["token=abcdefghijk"]);
    assert!(!plan(&before, &live).has_changes());
    let p = plan(&after, &live);
    // Replaced: the retries are read back and compared, never shown.
    let c = change(&p, "container.c");
    assert_eq!(c.actions, [Action::Delete, Action::Create]);
    assert_eq!(
        fields(c),
        [(
            "health.retries".into(),
            "\"(secret)\"".into(),
            "\"(secret changed)\"".into(),
            true
        )]
    );
    // Updated in place: memory is compared live, and masked both ways.
    let m = change(&p, "container.m");
    assert_eq!(m.actions, [Action::Update]);
    assert_eq!(
        fields(m),
        [(
            "memory".into(),
            "\"(secret)\"".into(),
            "\"(secret changed)\"".into(),
            false
        )]
    );
    let shown =
        serde_json::to_string(&p).expect("json") + &super::human(&p, false) + &super::markdown(&p);
    for value in ["7", "11", "71303168", "75497472"] {
        assert!(!shown.contains(&format!(": {value}")), "{value} in {shown}");
    }
    assert!(
        !shown.contains("71303168") && !shown.contains("75497472"),
        "{shown}"
    );
}
