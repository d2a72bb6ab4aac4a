//! `stackc logs` and `stackc exec`: choosing containers by address, logs in
//! time order with tail, since and follow, commands with their streams and
//! exit status — on the in-memory engine, then on a real one through the
//! binary.

use std::ops::ControlFlow;

use bollard::query_parameters::StopContainerOptionsBuilder;
use stackc::engine::memory::{ExecScript, MemoryEngine};
use stackc::engine::streams::{Channel, ExecRequest, LogLine, Output};
use stackc::engine::{Engine, LiveObject};
use stackc::session::{self, ExecEnd, ExecIo, LogsRequest, SessionError};
use stackc::timestamp::Timestamp;

use crate::docker_support::{block_on, docker_stack, test_image};
use crate::planner::{apply, engine};
use crate::support::{deploy_with, run, stack_dir, stderr, stdout};

const STACK: &str = r#"
stack "logs"
import "./worker.stack" as worker
container "a" { image = "busybox:1.36" }
container "b" { image = "busybox:1.36" }
volume "data" {}
worker "jobs" {}
"#;

const WORKER: &str = r#"
container "main" { image = "busybox:1.36" }
container "side" { image = "busybox:1.36" }
"#;

/// The stack applied on a fresh in-memory engine, and its live objects.
async fn applied() -> (MemoryEngine, Vec<LiveObject>) {
    let engine = engine();
    let d = deploy_with(STACK, &[], &[("worker.stack", WORKER)]);
    apply(&engine, &d).await;
    let live = engine.observe("logs", &[]).await.unwrap();
    (engine, live.objects)
}

fn addresses(objects: &[LiveObject]) -> Vec<&str> {
    objects.iter().map(|o| o.address.as_str()).collect()
}

#[tokio::test]
async fn addresses_name_containers_instances_and_bare_names() {
    let (_, live) = applied().await;
    let all = session::containers("logs", &live, &[]).unwrap();
    assert_eq!(
        addresses(&all),
        [
            "container.a",
            "container.b",
            "worker.jobs.container.main",
            "worker.jobs.container.side"
        ]
    );
    let chosen = session::containers("logs", &live, &["worker.jobs".into(), "b".into()]).unwrap();
    assert_eq!(
        addresses(&chosen),
        [
            "container.b",
            "worker.jobs.container.main",
            "worker.jobs.container.side"
        ]
    );
}

#[tokio::test]
async fn unknown_addresses_are_errors_with_a_suggestion() {
    let (_, live) = applied().await;
    let e = session::containers("logs", &live, &["container.aa".into()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the stack has no container `container.aa` on this engine"
    );
    assert_eq!(e.help().as_deref(), Some("did you mean `container.a`?"));
    let e = session::containers("logs", &live, &["worker.job".into()]).unwrap_err();
    assert_eq!(e.help().as_deref(), Some("did you mean `worker.jobs`?"));
    let e = session::containers("logs", &live, &["volume.data".into()]).unwrap_err();
    assert_eq!(e.to_string(), "`volume.data` is a volume, not a container");
    let e = session::containers("logs", &live, &["zzz".into()]).unwrap_err();
    assert!(
        e.help()
            .unwrap()
            .starts_with("its containers are: container.a, "),
        "{e:?}"
    );
    let e = session::containers("logs", &[], &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the stack `logs` has no containers on this engine"
    );
}

/// Runs `logs` and collects `address channel text` lines.
async fn collect(
    engine: &MemoryEngine,
    containers: &[LiveObject],
    request: &LogsRequest,
    stop: impl Future<Output = ()>,
) -> Vec<String> {
    let mut lines = Vec::new();
    let mut sink = |i: usize, l: &LogLine| {
        lines.push(format!(
            "{} {:?} {}",
            containers[i].address,
            l.channel,
            String::from_utf8_lossy(&l.text)
        ));
        ControlFlow::Continue(())
    };
    session::logs(engine, containers, request, &mut sink, stop)
        .await
        .unwrap();
    lines
}

fn canned(engine: &MemoryEngine) {
    engine.log("logs-a", "2024-05-01T12:00:00.1Z", Channel::Stdout, "a1");
    engine.log("logs-a", "2024-05-01T12:00:02.5Z", Channel::Stderr, "a2");
    engine.log("logs-a", "2024-05-01T12:00:03Z", Channel::Stdout, "a3");
    engine.log("logs-b", "2024-05-01T12:00:00.05Z", Channel::Stdout, "b1");
    engine.log("logs-b", "2024-05-01T12:00:02.6Z", Channel::Stdout, "b2");
}

#[tokio::test]
async fn logs_of_several_containers_interleave_in_time_order() {
    let (engine, live) = applied().await;
    canned(&engine);
    let chosen = session::containers("logs", &live, &["a".into(), "b".into()]).unwrap();
    let lines = collect(&engine, &chosen, &LogsRequest::default(), async {}).await;
    assert_eq!(
        lines,
        [
            "container.b Stdout b1",
            "container.a Stdout a1",
            "container.a Stderr a2",
            "container.b Stdout b2",
            "container.a Stdout a3",
        ]
    );
}

#[tokio::test]
async fn tail_is_per_container_and_since_is_exact() {
    let (engine, live) = applied().await;
    canned(&engine);
    let chosen = session::containers("logs", &live, &["a".into(), "b".into()]).unwrap();
    let tail = LogsRequest {
        tail: Some(1),
        ..LogsRequest::default()
    };
    assert_eq!(
        collect(&engine, &chosen, &tail, async {}).await,
        ["container.b Stdout b2", "container.a Stdout a3"]
    );
    // The engine's `since` is whole seconds; the half second is ours.
    let since = LogsRequest {
        since: Timestamp::parse("2024-05-01T12:00:02.55Z"),
        ..LogsRequest::default()
    };
    assert_eq!(
        collect(&engine, &chosen, &since, async {}).await,
        ["container.b Stdout b2", "container.a Stdout a3"]
    );
}

#[tokio::test]
async fn following_shows_each_line_once_and_ends_when_stopped() {
    let (engine, live) = applied().await;
    canned(&engine);
    // Two lines in the same instant as the last one shown.
    engine.log("logs-a", "2024-05-01T12:00:03Z", Channel::Stdout, "a4");
    let chosen = session::containers("logs", &live, &["a".into()]).unwrap();
    let follow = LogsRequest {
        follow: true,
        tail: Some(2),
        ..LogsRequest::default()
    };
    // The followed stream never ends by itself: the stop ends it.
    let stop = tokio::time::sleep(std::time::Duration::from_millis(200));
    let lines = collect(&engine, &chosen, &follow, stop).await;
    assert_eq!(lines, ["container.a Stdout a3", "container.a Stdout a4"]);
}

#[tokio::test]
async fn a_reader_that_goes_away_stops_the_logs() {
    let (engine, live) = applied().await;
    canned(&engine);
    let chosen = session::containers("logs", &live, &[]).unwrap();
    let mut n = 0;
    let mut sink = |_: usize, _: &LogLine| {
        n += 1;
        ControlFlow::Break(())
    };
    let follow = LogsRequest {
        follow: true,
        ..LogsRequest::default()
    };
    session::logs(&engine, &chosen, &follow, &mut sink, std::future::pending())
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// Runs `exec` with `stdin` piped in; (end, stdout, stderr).
async fn exec_with(
    engine: &MemoryEngine,
    container: &LiveObject,
    request: &ExecRequest,
    stdin: Option<&[u8]>,
) -> (ExecEnd, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut output = |channel: Channel, bytes: &[u8]| {
        match channel {
            Channel::Stdout => out.extend_from_slice(bytes),
            Channel::Stderr => err.extend_from_slice(bytes),
        }
        Ok(())
    };
    let stdin = stdin.map(|bytes| {
        let (send, receive) = tokio::sync::mpsc::channel(4);
        let bytes = bytes.to_vec();
        tokio::spawn(async move { send.send(bytes).await });
        receive
    });
    let (send_size, sizes) = tokio::sync::mpsc::channel(4);
    send_size.try_send((120, 40)).unwrap();
    let io = ExecIo {
        stdin,
        resize: Some(sizes),
        output: &mut output,
    };
    let end = session::exec(engine, container, request, io).await.unwrap();
    (
        end,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[tokio::test]
async fn exec_passes_output_stdin_and_exit_status_through() {
    let (engine, live) = applied().await;
    engine.script_exec(
        "logs-a",
        ExecScript {
            output: vec![
                Output {
                    channel: Channel::Stderr,
                    bytes: b"warming up\n".to_vec(),
                },
                Output {
                    channel: Channel::Stdout,
                    bytes: b"got: ".to_vec(),
                },
            ],
            echo_stdin: true,
            status: 3,
        },
    );
    let a = session::container("logs", &live, "container.a").unwrap();
    let request = ExecRequest {
        command: vec!["cat".into()],
        user: Some("1000".into()),
        workdir: Some("/srv".into()),
        env: vec!["FOO=bar".into()],
        tty: false,
        stdin: true,
    };
    let (end, out, err) = exec_with(&engine, &a, &request, Some(b"hello\n")).await;
    assert_eq!(end, ExecEnd::Exited(3));
    assert_eq!(out, "got: hello\n");
    assert_eq!(err, "warming up\n");
    assert_eq!(engine.execs(), [("logs-a".to_string(), request)]);
    assert_eq!(engine.exec_sizes(), [("exec-1".to_string(), (120, 40))]);
}

/// Engines before Docker 28 report 126 for any command they cannot start;
/// `docker exec` on current ones, and stackc on every one, gives 127 for a
/// command not found and 126 for one that cannot run.
#[tokio::test]
async fn a_command_not_found_exits_127_and_one_that_cannot_run_126() {
    let (engine, live) = applied().await;
    let a = session::container("logs", &live, "container.a").unwrap();
    let request = |command: &str| ExecRequest {
        command: vec![command.into()],
        ..Default::default()
    };
    for (command, why, status) in [
        ("nosuchcmd", "executable file not found in $PATH", 127),
        ("/nowhere", "stat /nowhere: no such file or directory", 127),
        ("/etc", "permission denied", 126),
    ] {
        let message = format!(
            "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{command}\": {why}: unknown\r\n"
        );
        engine.script_exec(
            "logs-a",
            ExecScript {
                output: vec![Output {
                    channel: Channel::Stdout,
                    bytes: message.clone().into_bytes(),
                }],
                echo_stdin: false,
                status: 126,
            },
        );
        let (end, out, _) = exec_with(&engine, &a, &request(command), None).await;
        assert_eq!(end, ExecEnd::Exited(status), "{command}");
        assert_eq!(out, message);
    }
}

#[tokio::test]
async fn exec_needs_one_running_container() {
    let (engine, live) = applied().await;
    let e = session::container("logs", &live, "worker.jobs").unwrap_err();
    assert!(matches!(e, SessionError::SeveralContainers { .. }), "{e:?}");
    assert_eq!(
        e.help().as_deref(),
        Some("name one of them: worker.jobs.container.main, worker.jobs.container.side")
    );
    assert!(session::container("logs", &live, "jobs").is_err());
    engine.stop_by_hand("logs-b");
    let live = engine.observe("logs", &[]).await.unwrap().objects;
    let e = session::container("logs", &live, "b").unwrap_err();
    assert_eq!(e.to_string(), "`container.b` is not running (exited (0))");
}

// --- On a real engine, through the binary ---

/// A stack whose two containers take turns (through files on a shared
/// volume) writing numbered lines, `a` to stdout and stderr, `b` to stdout;
/// then they sleep.
fn chatty(stack: &str) -> std::path::PathBuf {
    let image = test_image();
    stack_dir(
        "logs",
        &format!(
            r#"
stack "{stack}"
volume "turns" {{}}
container "a" {{
  image   = "{image}"
  pull    = "never"
  mounts  = [{{ volume = volume.turns, target = "/v" }}]
  command = ["sh", "-c", "for i in 1 2 3; do echo a-out-$i; echo a-err-$i >&2; sleep 0.1; touch /v/a$i; until [ -e /v/b$i ]; do sleep 0.05; done; done; sleep 600"]
}}
container "b" {{
  image   = "{image}"
  pull    = "never"
  mounts  = [{{ volume = volume.turns, target = "/v" }}]
  command = ["sh", "-c", "for i in 1 2 3; do until [ -e /v/a$i ]; do sleep 0.05; done; echo b-out-$i; sleep 0.1; touch /v/b$i; done; sleep 600"]
}}
"#
        ),
        &[],
    )
}

/// `stackc ARGS… DIR`, from the directory.
fn in_dir(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let dir = dir.to_str().unwrap();
    let mut all = args.to_vec();
    all.push(dir);
    run(&all)
}

#[test]
fn real_logs_interleave_and_take_tail_since_and_timestamps() {
    let Some(guard) = docker_stack("logs") else {
        return;
    };
    let dir = chatty(&guard.stack);
    assert!(in_dir(&dir, &["apply", "--auto-approve"]).status.success());
    std::thread::sleep(std::time::Duration::from_millis(1500));

    let all = in_dir(&dir, &["logs"]);
    assert!(all.status.success());
    assert_eq!(
        stdout(&all),
        "container.a | a-out-1\ncontainer.b | b-out-1\ncontainer.a | a-out-2\n\
         container.b | b-out-2\ncontainer.a | a-out-3\ncontainer.b | b-out-3\n"
    );
    assert_eq!(
        stderr(&all),
        "container.a | a-err-1\ncontainer.a | a-err-2\ncontainer.a | a-err-3\n"
    );

    let tail = in_dir(&dir, &["logs", "--tail", "1", "b"]);
    assert_eq!(stdout(&tail), "container.b | b-out-3\n");

    let stamped = in_dir(
        &dir,
        &["logs", "--timestamps", "--tail", "1", "container.b"],
    );
    let line = stdout(&stamped);
    let (prefix, rest) = line.split_at("container.b | ".len());
    assert_eq!(prefix, "container.b | ");
    let (time, text) = rest.split_once(' ').unwrap();
    let time = Timestamp::parse(time).unwrap_or_else(|| panic!("not a time: {line}"));
    assert_eq!(text, "b-out-3\n");
    assert!(Timestamp::now().0 - time.0 < 120 * 1_000_000_000, "{line}");

    // Since the time of b's last line: only that line (a's were earlier).
    let since = in_dir(&dir, &["logs", "--since", &time.to_string()]);
    assert_eq!(stdout(&since), "container.b | b-out-3\n");
    assert_eq!(stderr(&since), "");
    let recent = in_dir(&dir, &["logs", "--since", "1h", "b"]);
    assert_eq!(stdout(&recent).lines().count(), 3);

    let unknown = in_dir(&dir, &["logs", "container.c"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no container `container.c`"));
}

#[test]
fn real_follow_ends_cleanly_on_ctrl_c() {
    let Some(guard) = docker_stack("logs_follow") else {
        return;
    };
    let dir = chatty(&guard.stack);
    assert!(in_dir(&dir, &["apply", "--auto-approve"]).status.success());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let child = crate::support::command(&["logs", "--follow", "b", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    // A line written now reaches the follower (the container's stdout is
    // its process 1's).
    let path = dir.to_str().unwrap();
    let late = run(&[
        "exec",
        "b",
        path,
        "--",
        "sh",
        "-c",
        "echo b-late > /proc/1/fd/1",
    ]);
    assert!(late.status.success());
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "container.b | b-out-1\ncontainer.b | b-out-2\ncontainer.b | b-out-3\ncontainer.b | b-late\n"
    );
    assert_eq!(stderr(&out), "");
}

#[test]
fn real_exec_passes_status_and_stdin_through() {
    let Some(guard) = docker_stack("exec") else {
        return;
    };
    let dir = chatty(&guard.stack);
    let path = dir.to_str().unwrap();
    assert!(in_dir(&dir, &["apply", "--auto-approve"]).status.success());

    let status = run(&[
        "exec",
        "a",
        path,
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(status.status.code(), Some(7));
    assert_eq!(stdout(&status), "out\n");
    assert_eq!(stderr(&status), "err\n");

    let mut child = crate::support::command(&["exec", "container.a", path, "--", "cat"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"piped\nlines\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "piped\nlines\n");

    // As `docker exec` on current engines, whatever this one reports.
    let missing = run(&["exec", "a", path, "--", "nosuchcmd"]);
    assert_eq!(missing.status.code(), Some(127), "{}", stderr(&missing));
    assert!(
        format!("{}{}", stdout(&missing), stderr(&missing)).contains("executable file not found")
    );
    let directory = run(&["exec", "a", path, "--", "/etc"]);
    assert_eq!(directory.status.code(), Some(126));

    let env = run(&[
        "exec",
        "-e",
        "FOO=bar",
        "-u",
        "1234",
        "-w",
        "/www",
        "a",
        path,
        "--",
        "sh",
        "-c",
        "echo $FOO $(id -u) $(pwd)",
    ]);
    assert_eq!(stdout(&env), "bar 1234 /www\n");

    block_on(async {
        let docker = crate::docker_support::raw_client().await.unwrap();
        docker
            .stop_container(
                &format!("{}-b", guard.stack),
                Some(StopContainerOptionsBuilder::default().t(0).build()),
            )
            .await
            .unwrap();
    });
    let stopped = run(&["exec", "b", path, "--", "true"]);
    assert_eq!(stopped.status.code(), Some(1));
    assert!(
        stderr(&stopped).contains("`container.b` is not running (exited"),
        "{}",
        stderr(&stopped)
    );
}

#[test]
fn bad_arguments_are_refused_before_the_engine_is_asked() {
    let since = crate::support::stackc(&["logs", "--since", "yesterday", "examples/hello"]);
    assert_eq!(since.status.code(), Some(1));
    assert_eq!(
        stderr(&since),
        "error: `yesterday` is not a duration like 10m or a time like 2024-05-01T12:00:00Z\n"
    );
    let nowhere = crate::support::stackc(&["logs", "web", "./nowhere"]);
    assert_eq!(nowhere.status.code(), Some(1));
    assert_eq!(
        stderr(&nowhere),
        "error: no stack at `./nowhere`: a stack is a directory holding main.stack, or a .stack file\n"
    );
    let two = crate::support::stackc(&["exec", "a", "b", "--", "true"]);
    assert_eq!(two.status.code(), Some(1));
    assert!(
        stderr(&two).starts_with("error: give one container to run the command in, not 2\n"),
        "{}",
        stderr(&two)
    );
}
