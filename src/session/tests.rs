//! Each decision of `apply` and `destroy`, on the in-memory engine.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::*;
use crate::engine::memory::MemoryEngine;
use crate::engine::{Holder, Lock};

/// Compiles a stack from source text.
fn deploy(source: &str) -> Deployment {
    crate::driver::compile_text(source, &["password=hunter2"])
}

fn stack(driver: &str) -> Deployment {
    deploy(&format!(
        r#"
stack "s"
param password: secret
volume "data" {{ driver = "{driver}" }}
container "db" {{
  image   = "busybox:1.36"
  env     = {{ PASSWORD = password }}
  mounts  = ["data:/data"]
}}
output "url" = "db://root:${{password}}@db"
output "port" = 5432
"#
    ))
}

fn engine() -> MemoryEngine {
    let e = MemoryEngine::new();
    e.allow_pull("busybox:1.36");
    e
}

/// A user who answers `answer`, and what they were shown.
struct Scripted {
    answer: Answer,
    asked: Mutex<Vec<String>>,
    kept: Mutex<Vec<String>>,
    shown: Mutex<Vec<Plan>>,
    progress: Progress,
}

impl Scripted {
    fn answering(answer: Answer) -> Scripted {
        Scripted {
            answer,
            asked: Mutex::default(),
            kept: Mutex::default(),
            shown: Mutex::default(),
            progress: Progress::captured(),
        }
    }
}

#[async_trait::async_trait]
impl Ui for Scripted {
    fn waiting_for_lock(&self, _: &str, _: &Holder, _: Duration) {}

    fn keeping_volume(&self, address: &str) {
        self.kept.lock().unwrap().push(address.into());
    }

    fn plan(&self, plan: &Plan) {
        self.shown.lock().unwrap().push(plan.clone());
    }

    async fn confirm(&self, question: &str) -> Answer {
        self.asked.lock().unwrap().push(question.into());
        self.answer
    }

    fn applying(&self) {}

    fn progress(&self) -> &Progress {
        &self.progress
    }
}

fn request(d: &Deployment, mode: Mode) -> Request<'_> {
    Request {
        deployment: d,
        path: Path::new("stacks/local"),
        pull: false,
        saved: None,
        selection: PlanOptions::default(),
        mode,
        allow_data_loss: false,
        auto_approve: true,
        lock_timeout: Duration::ZERO,
        apply: ApplyOptions::default(),
    }
}

async fn run_with(
    e: &MemoryEngine,
    r: &Request<'_>,
    ui: &Scripted,
) -> Result<Finished, SessionError> {
    run(e, r, ui, &Interrupt::default()).await
}

async fn applied(e: &MemoryEngine, d: &Deployment) {
    let ui = Scripted::answering(Answer::Yes);
    match run_with(e, &request(d, Mode::Apply), &ui).await.unwrap() {
        Finished::Applied { outcome, .. } => assert!(outcome.succeeded(), "{outcome:?}"),
        other => panic!("{other:?}"),
    }
}

/// The lock is free: another process could take it now.
async fn assert_unlocked(e: &MemoryEngine) {
    let other = Holder::me("test");
    assert_eq!(e.lock("s", &other).await.unwrap(), Lock::Acquired);
    e.unlock("s").await.unwrap();
}

#[tokio::test]
async fn apply_asks_and_a_no_changes_nothing() {
    let e = engine();
    let d = stack("local");
    let ui = Scripted::answering(Answer::No);
    let r = Request {
        auto_approve: false,
        ..request(&d, Mode::Apply)
    };
    assert!(matches!(
        run_with(&e, &r, &ui).await,
        Ok(Finished::Cancelled)
    ));
    assert_eq!(
        *ui.asked.lock().unwrap(),
        ["Do you want to perform these actions?"]
    );
    assert!(
        e.calls().iter().all(|c| !c.starts_with("create")),
        "{:?}",
        e.calls()
    );
    assert_unlocked(&e).await;
}

#[tokio::test]
async fn without_a_terminal_apply_needs_auto_approve() {
    let e = engine();
    let d = stack("local");
    let ui = Scripted::answering(Answer::NoOneToAsk);
    let r = Request {
        auto_approve: false,
        ..request(&d, Mode::Apply)
    };
    let err = run_with(&e, &r, &ui).await.unwrap_err();
    assert!(matches!(err, SessionError::NoOneToConfirm));
    assert_eq!(
        err.help().as_deref(),
        Some("pass --auto-approve to go ahead without confirmation")
    );
    assert!(e.calls().iter().all(|c| !c.starts_with("create")));
    assert_unlocked(&e).await;
}

#[tokio::test]
async fn a_replaced_volume_needs_allow_data_loss() {
    let e = engine();
    applied(&e, &stack("local")).await;
    let changed = stack("other");
    let ui = Scripted::answering(Answer::Yes);
    let err = run_with(&e, &request(&changed, Mode::Apply), &ui)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "this would delete or replace volume.data and lose the data"
    );
    // The plan was shown first, so the reviewer sees what would be lost.
    assert_eq!(ui.shown.lock().unwrap().len(), 1);
    assert_eq!(e.names(Kind::Volume), ["s-data"]);
    assert_unlocked(&e).await;

    let allowed = Request {
        allow_data_loss: true,
        ..request(&changed, Mode::Apply)
    };
    let finished = run_with(&e, &allowed, &ui).await.unwrap();
    assert!(matches!(finished, Finished::Applied { ref outcome, .. } if outcome.succeeded()));
    // The plan shown says the loss is allowed, not that it needs the flag given.
    let shown = crate::plan::human(&ui.shown.lock().unwrap()[1], false);
    assert!(
        shown.contains("this loses the volume's data: allowed by --allow-data-loss"),
        "{shown}"
    );
    assert!(!shown.contains("needs --allow-data-loss"), "{shown}");
}

#[tokio::test]
async fn destroy_keeps_volumes_unless_data_loss_is_allowed() {
    let e = engine();
    let d = stack("local");
    applied(&e, &d).await;
    let ui = Scripted::answering(Answer::Yes);
    let finished = run_with(&e, &request(&d, Mode::Destroy), &ui)
        .await
        .unwrap();
    assert!(matches!(finished, Finished::Applied { ref outcome, .. } if outcome.succeeded()));
    assert_eq!(*ui.kept.lock().unwrap(), ["volume.data"]);
    assert!(e.names(Kind::Container).is_empty());
    assert_eq!(e.names(Kind::Volume), ["s-data"]);

    let all = Request {
        allow_data_loss: true,
        ..request(&d, Mode::Destroy)
    };
    run_with(&e, &all, &ui).await.unwrap();
    assert!(e.names(Kind::Volume).is_empty());
    assert_unlocked(&e).await;
}

/// `destroy` in a CI job without the secrets: the stack's name is all it
/// has, and it removes every object labelled with the stack (nothing
/// else), keeping volumes unless data loss is allowed, and leaves no record.
#[tokio::test]
async fn destroy_without_the_parameters_removes_every_object_of_the_stack() {
    let e = engine();
    let d = stack("local");
    applied(&e, &d).await;
    e.add_unlabelled(Kind::Container, "s-not-ours");
    let named = stack_only("s");
    let ui = Scripted::answering(Answer::Yes);
    let finished = run_with(&e, &request(&named, Mode::Destroy), &ui)
        .await
        .unwrap();
    assert!(matches!(finished, Finished::Applied { ref outcome, .. } if outcome.succeeded()));
    let shown = ui.shown.lock().unwrap()[0].clone();
    assert!(
        shown
            .resource_changes
            .iter()
            .all(|c| c.reason.as_deref() == Some("destroying the stack")),
        "{shown:?}"
    );
    assert_eq!(*ui.kept.lock().unwrap(), ["volume.data"]);
    assert_eq!(e.names(Kind::Container), ["s-not-ours"]);
    assert_eq!(e.names(Kind::Volume), ["s-data"]);

    // The data-loss gate reads the plan: with the flag the volume goes too.
    let all = Request {
        allow_data_loss: true,
        ..request(&named, Mode::Destroy)
    };
    run_with(&e, &all, &ui).await.unwrap();
    assert!(e.names(Kind::Volume).is_empty());
    assert!(e.names(Kind::Network).is_empty());
    assert_eq!(e.read_record("s").await.unwrap(), None);
    assert_unlocked(&e).await;
}

#[tokio::test]
async fn observing_a_stack_by_name_finds_its_objects_at_their_recorded_addresses() {
    let e = engine();
    applied(&e, &stack("local")).await;
    let live = observe_stack(&e, "s").await.unwrap();
    let rows = crate::status::live_rows(&live);
    let addresses: Vec<&str> = rows.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(
        addresses,
        ["container.db", "network.default", "volume.data"]
    );
    assert!(
        rows.iter()
            .all(|r| r.note.as_deref() == Some(crate::status::NOT_JUDGED))
    );
    assert!(crate::status::live_table(&[]).contains("no object of the stack"));
}

#[tokio::test]
async fn a_converged_stack_is_recorded_without_changes() {
    let e = engine();
    let d = stack("local");
    applied(&e, &d).await;
    // As if the record had been lost (or the objects made by an older stackc).
    e.write_record("s", None).await.unwrap();
    let ui = Scripted::answering(Answer::No);
    let finished = run_with(&e, &request(&d, Mode::Apply), &ui).await.unwrap();
    assert!(matches!(finished, Finished::Unchanged));
    assert!(ui.asked.lock().unwrap().is_empty());
    let live = e.observe("s", &[]).await.unwrap();
    let record = live.record.expect("the record is written again");
    assert!(record.addresses.contains("container.db"), "{record:?}");
}

#[tokio::test]
async fn a_saved_plan_is_refused_once_the_objects_changed() {
    let e = engine();
    let d = stack("local");
    let (plan, live) = plan(&e, &d, &PlanOptions::default()).await.unwrap();
    let saved = SavedPlan::new(plan, d.clone(), live.snapshot(), "memory".into());
    applied(&e, &d).await;
    let ui = Scripted::answering(Answer::No);
    let r = Request {
        saved: Some(&saved),
        auto_approve: false,
        ..request(&d, Mode::Apply)
    };
    let err = run_with(&e, &r, &ui).await.unwrap_err();
    assert!(matches!(err, SessionError::Stale(_)), "{err}");
    assert_unlocked(&e).await;
}

#[tokio::test]
async fn a_saved_plan_goes_stale_when_a_container_is_stopped_and_says_which() {
    let e = engine();
    let d = stack("local");
    applied(&e, &d).await;
    let changed = stack("local-2");
    let (plan, live) = plan(&e, &changed, &PlanOptions::default()).await.unwrap();
    let saved = SavedPlan::new(plan, changed.clone(), live.snapshot(), "memory".into());
    e.stop_by_hand("s-db");
    let ui = Scripted::answering(Answer::Yes);
    let r = Request {
        saved: Some(&saved),
        allow_data_loss: true,
        ..request(&changed, Mode::Apply)
    };
    let err = run_with(&e, &r, &ui).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the plan is stale: the stack's objects changed since it was made:\n    container.db (s-db): running → exited"
    );
    assert_unlocked(&e).await;
}

#[tokio::test]
async fn a_fresh_saved_plan_is_applied_without_asking() {
    let e = engine();
    let d = stack("local");
    let (plan, live) = plan(&e, &d, &PlanOptions::default()).await.unwrap();
    let saved = SavedPlan::new(plan, d.clone(), live.snapshot(), "memory".into());
    let ui = Scripted::answering(Answer::No);
    let r = Request {
        saved: Some(&saved),
        auto_approve: false,
        ..request(&d, Mode::Apply)
    };
    let finished = run_with(&e, &r, &ui).await.unwrap();
    assert!(matches!(finished, Finished::Applied { ref outcome, .. } if outcome.succeeded()));
    assert!(ui.asked.lock().unwrap().is_empty());
}

#[test]
fn a_saved_plan_must_be_for_the_stack_given() {
    let d = stack("local");
    let saved = SavedPlan::new(
        Plan {
            format_version: crate::plan::FORMAT_VERSION,
            stack: "s".into(),
            drift: vec![],
            resource_changes: vec![],
            summary: Default::default(),
            conflicts: Vec::new(),
            data_loss_allowed: false,
            moved: Vec::new(),
        },
        d.clone(),
        Default::default(),
        String::new(),
    );
    assert!(check_plan_stack(Path::new("p.plan"), &saved, &d).is_ok());
    let other = deploy("stack \"t\"\nparam password: secret\n");
    let err = check_plan_stack(Path::new("p.plan"), &saved, &other).unwrap_err();
    assert_eq!(
        err.to_string(),
        "p.plan is a plan for the stack `s`, not `t`"
    );
}

#[tokio::test]
async fn a_held_lock_is_reported_and_left_alone() {
    let e = engine();
    let d = stack("local");
    let other = Holder::me("apply");
    assert_eq!(e.lock("s", &other).await.unwrap(), Lock::Acquired);
    let ui = Scripted::answering(Answer::Yes);
    let err = run_with(&e, &request(&d, Mode::Apply), &ui)
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("the stack `s` is locked by "),
        "{err}"
    );
    // A running process of this host (this test's): wait, do not break it.
    assert!(
        err.help().unwrap().contains("still running"),
        "{:?}",
        err.help()
    );
    // Still the other process's.
    assert!(matches!(e.lock("s", &Holder::me("x")).await.unwrap(), Lock::HeldBy(h) if h == other));
}

#[tokio::test]
async fn a_lock_left_by_an_ended_process_of_this_host_says_so_with_the_exact_unlock_command() {
    let e = engine();
    let d = stack("local");
    // A process of this host that has ended: pids do not go this high.
    let ended = Holder {
        pid: u32::MAX - 1,
        ..Holder::me("apply")
    };
    assert!(ended.is_gone());
    assert!(!Holder::me("apply").is_gone());
    assert_eq!(e.lock("s", &ended).await.unwrap(), Lock::Acquired);
    let ui = Scripted::answering(Answer::Yes);
    let r = Request {
        path: Path::new("my stacks/shop"),
        ..request(&d, Mode::Apply)
    };
    let err = run_with(&e, &r, &ui).await.unwrap_err();
    assert!(
        err.to_string()
            .ends_with("a process of this host that has ended"),
        "{err}"
    );
    assert_eq!(
        err.help().unwrap(),
        "that process no longer exists and will never release it: break the lock with `stackc unlock 'my stacks/shop'`"
    );
}

#[test]
fn the_lock_holder_names_the_user_and_host_the_os_knows() {
    let who = Holder::me("apply").who;
    let (user, host) = who.rsplit_once('@').unwrap();
    assert!(!user.is_empty() && user != "unknown", "{who}");
    assert!(!host.is_empty() && host != "unknown", "{who}");
}

#[tokio::test]
async fn the_lock_is_released_when_the_work_is_abandoned() {
    let e = engine();
    let interrupt = Interrupt::default();
    let presses = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        interrupt.press();
        interrupt.press();
    };
    let holder = Holder::me("apply");
    let work = std::future::pending::<()>();
    let (ended, ()) = tokio::join!(
        locked(&e, "s", &holder, Duration::ZERO, |_| {}, &interrupt, work),
        presses
    );
    assert!(matches!(ended, Locked::Aborted));
    assert_unlocked(&e).await;
}

#[tokio::test]
async fn an_interrupt_before_any_change_cancels() {
    let e = engine();
    let d = stack("local");
    let interrupt = Interrupt::default();
    interrupt.press();
    let ui = Scripted::answering(Answer::Yes);
    let finished = run(&e, &request(&d, Mode::Apply), &ui, &interrupt)
        .await
        .unwrap();
    assert!(matches!(finished, Finished::Cancelled));
    assert!(e.calls().iter().all(|c| !c.starts_with("create")));
    assert_unlocked(&e).await;
}

#[tokio::test]
async fn an_interrupt_cancels_even_when_nothing_would_change() {
    let e = engine();
    let d = stack("local");
    applied(&e, &d).await;
    e.write_record("s", None).await.unwrap();
    let interrupt = Interrupt::default();
    interrupt.press();
    let ui = Scripted::answering(Answer::Yes);
    let finished = run(&e, &request(&d, Mode::Apply), &ui, &interrupt)
        .await
        .unwrap();
    assert!(matches!(finished, Finished::Cancelled));
    // Cancelled means nothing is written, not even the record.
    assert!(e.observe("s", &[]).await.unwrap().record.is_none());
    assert_unlocked(&e).await;
}

#[tokio::test]
async fn an_interrupt_while_waiting_for_the_lock_cancels_and_leaves_the_lock() {
    let e = engine();
    let d = stack("local");
    let other = Holder::me("apply");
    assert_eq!(e.lock("s", &other).await.unwrap(), Lock::Acquired);
    let interrupt = Interrupt::default();
    let r = Request {
        lock_timeout: Duration::from_secs(60),
        ..request(&d, Mode::Apply)
    };
    let ui = Scripted::answering(Answer::Yes);
    let press = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        interrupt.press();
    };
    let (finished, ()) = tokio::join!(run(&e, &r, &ui, &interrupt), press);
    assert!(matches!(finished, Ok(Finished::Cancelled)), "{finished:?}");
    assert!(matches!(e.lock("s", &Holder::me("x")).await.unwrap(), Lock::HeldBy(h) if h == other));
}

/// A user who presses Ctrl-C at the prompt (the terminal answers no).
struct Interrupting<'a>(&'a Interrupt, Scripted);

#[async_trait::async_trait]
impl Ui for Interrupting<'_> {
    fn waiting_for_lock(&self, _: &str, _: &Holder, _: Duration) {}
    fn keeping_volume(&self, _: &str) {}
    fn plan(&self, _: &Plan) {}
    async fn confirm(&self, _: &str) -> Answer {
        self.0.press();
        Answer::NoOneToAsk
    }
    fn applying(&self) {}
    fn progress(&self) -> &Progress {
        &self.1.progress
    }
}

#[tokio::test]
async fn an_interrupt_at_the_prompt_cancels() {
    let e = engine();
    let d = stack("local");
    let interrupt = Interrupt::default();
    let ui = Interrupting(&interrupt, Scripted::answering(Answer::No));
    let r = Request {
        auto_approve: false,
        ..request(&d, Mode::Apply)
    };
    let finished = run(&e, &r, &ui, &interrupt).await.unwrap();
    assert!(matches!(finished, Finished::Cancelled));
    assert!(e.calls().iter().all(|c| !c.starts_with("create")));
    assert_unlocked(&e).await;
}

#[test]
fn targets_must_name_resources() {
    let d = stack("local");
    let ok = selection(&d, &["container.db".into()], &[]).unwrap();
    assert_eq!(ok.targets, ["container.db"]);
    let err = selection(&d, &[], &["container.dd".into()]).unwrap_err();
    assert_eq!(err.to_string(), "the stack has no resource `container.dd`");
    assert_eq!(err.help().as_deref(), Some("did you mean `container.db`?"));
    // A bare name, as `logs` and `exec` take it, gets the full address.
    let err = selection(&d, &[], &["db".into()]).unwrap_err();
    assert_eq!(
        err.help().as_deref(),
        Some("an address names the kind: did you mean `container.db`?")
    );
}

#[test]
fn outputs_mask_secrets_unless_asked() {
    let d = stack("local");
    assert_eq!(output(&d, "url", false).unwrap(), "(secret)");
    assert_eq!(output(&d, "url", true).unwrap(), "db://root:hunter2@db");
    assert_eq!(output(&d, "port", false).unwrap(), 5432);
    let all = outputs(&d, false);
    assert_eq!(all.keys().collect::<Vec<_>>(), ["port", "url"]);
    let err = output(&d, "urls", false).unwrap_err();
    assert_eq!(err.to_string(), "the stack has no output `urls`");
    assert_eq!(err.help().as_deref(), Some("did you mean `url`?"));
    let err = output(&d, "zzz", false).unwrap_err();
    assert_eq!(err.help().as_deref(), Some("its outputs are: port, url"));
}

#[tokio::test]
async fn outputs_are_those_of_the_last_apply_and_name_what_the_source_changed() {
    let e = engine();
    let d = stack("local");
    let err = deployed_outputs(&e, &d).await.unwrap_err();
    assert!(
        matches!(err, SessionError::NotApplied(ref s) if s == "s"),
        "{err}"
    );
    assert!(err.help().unwrap().contains("--planned"));

    applied(&e, &d).await;
    let deployed = deployed_outputs(&e, &d).await.unwrap();
    assert_eq!(deployed.outputs["port"], 5432);
    assert_eq!(deployed.outputs["url"], "(secret)", "kept masked");
    assert!(deployed.changed.is_empty());

    let now =
        deploy("stack \"s\"\nparam password: secret\noutput \"port\" = 6543\noutput \"new\" = 1\n");
    let deployed = deployed_outputs(&e, &now).await.unwrap();
    assert_eq!(deployed.outputs["port"], 5432, "still what is deployed");
    assert_eq!(deployed.changed, ["port", "url", "new"]);

    // Destroyed: nothing is deployed any more.
    let ui = Scripted::answering(Answer::Yes);
    run_with(&e, &request(&d, Mode::Destroy), &ui)
        .await
        .unwrap();
    assert!(matches!(
        deployed_outputs(&e, &d).await,
        Err(SessionError::NotApplied(_))
    ));
}

#[tokio::test]
async fn unlock_breaks_a_lock_left_behind_but_not_one_a_running_process_of_this_host_holds() {
    let e = engine();
    assert_eq!(
        break_lock(&e, "s", false).await.unwrap(),
        Unlocked::NotLocked
    );
    assert_unlocked(&e).await;

    // This test's own process: running, here.
    let running = Holder::me("apply");
    assert_eq!(e.lock("s", &running).await.unwrap(), Lock::Acquired);
    let err = break_lock(&e, "s", false).await.unwrap_err();
    assert!(
        err.to_string()
            .ends_with("a process of this host that is still running"),
        "{err}"
    );
    assert!(err.help().unwrap().contains("--force"));
    assert!(
        matches!(e.lock("s", &Holder::me("x")).await.unwrap(), Lock::HeldBy(h) if h == running)
    );
    assert_eq!(
        break_lock(&e, "s", true).await.unwrap(),
        Unlocked::Broken(running)
    );
    assert_unlocked(&e).await;

    let ended = Holder {
        pid: u32::MAX - 1,
        ..Holder::me("apply")
    };
    assert_eq!(e.lock("s", &ended).await.unwrap(), Lock::Acquired);
    assert_eq!(
        break_lock(&e, "s", false).await.unwrap(),
        Unlocked::Broken(ended)
    );
    assert_unlocked(&e).await;
}

#[test]
fn a_target_may_be_a_module_instance_and_a_replace_outside_the_targets_is_refused() {
    let d = deploy(
        "stack \"t\"\nparam password: secret\nimport \"std/redis\" as redis\nnetwork \"net\" {}\nredis \"cache\" {\n  network = network.net\n}\ncontainer \"web\" { image = \"busybox:1.36\" }\n",
    );
    let options = selection(&d, &["redis.cache".to_string()], &[]).unwrap();
    let selected = crate::plan::with_dependencies(&d, &options.targets);
    assert!(
        selected
            .iter()
            .any(|a| a.starts_with("redis.cache.container.")),
        "{selected:?}"
    );
    assert!(!selected.contains("container.web"));
    let err = selection(
        &d,
        &["redis.cache".to_string()],
        &["container.web".to_string()],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`--replace container.web` is outside the `--target`s: it would not be planned"
    );
    // A target the source does not name may be one removed from it: the
    // engine's objects decide, when planning.
    assert!(selection(&d, &["redis.nope".to_string()], &[]).is_ok());
}
