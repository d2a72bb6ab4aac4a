//! `files`: files copied into a container before it starts. Normalized and
//! refused as documented; hashed and labelled by digest, never by content;
//! a changed file (secret or not) replaces the container and the plan
//! names it by target, a secret one only as `(secret changed)`; on the real
//! engine the file is there with its mode and owner.

use std::path::Path;

use stackc::deployment::{Deployment, FileSpec, Spec};
use stackc::engine::masked_spec;
use stackc::plan::{self, Action};

use crate::docker_support::{block_on, docker_stack, raw_client, test_image};
use crate::planner::{actions, apply, change, engine, plan_of};
use crate::support::{deploy_with, ok, run, stack_dir, stderr, stdout, temp_dir};

const SECRET: &str = "hunter-one";

const DB: &str = r#"
stack "files"
param password: secret = "hunter-one"
param motd: string = "hello\n"
param mode: string = "0400"
container "db" {
  image = "busybox:1.36"
  files = [
    { target = "/run/secrets/db_password", content = password, mode = mode, uid = 999, gid = 999 },
    { target = "/etc/motd", content = motd },
    { target = "/etc/app.conf", source = "./app.conf" },
  ]
}
"#;

const CONF: (&str, &str) = ("app.conf", "listen 80;\n");

fn db(vars: &[&str]) -> Deployment {
    deploy_with(DB, vars, &[CONF])
}

fn files_of(d: &Deployment) -> &[FileSpec] {
    match &d.resource("container.db").unwrap().spec {
        Spec::Container(c) => &c.files,
        _ => panic!("not a container"),
    }
}

/// Compiles `main` (with `files` beside it); returns the rendered errors.
fn errors_in(dir: &Path) -> String {
    let options = stackc::driver::Options {
        path: dir.to_path_buf(),
        ..Default::default()
    };
    let compiled = stackc::driver::compile(&options);
    match compiled.result {
        Ok(_) => panic!("compiled, but errors were expected"),
        Err(diags) => stackc::diagnostic::render_all(
            &diags,
            &compiled.sources,
            stackc::diagnostic::RenderOptions::PLAIN,
        ),
    }
}

fn errors(files: &str) -> String {
    let main = format!(
        "param pw: secret = \"{SECRET}\"\ncontainer \"c\" {{\n  image = \"busybox:1.36\"\n  files = {files}\n}}\n"
    );
    let dir = stack_dir("files-errors", &main, &[CONF]);
    let text = errors_in(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!text.contains(SECRET), "{text}");
    text
}

#[test]
fn files_are_sorted_by_target_with_defaults_and_only_a_secret_content_masked() {
    let d = db(&[]);
    let files = files_of(&d);
    let targets: Vec<&str> = files.iter().map(|f| f.target.as_str()).collect();
    assert_eq!(
        targets,
        ["/etc/app.conf", "/etc/motd", "/run/secrets/db_password"]
    );
    assert_eq!(
        (files[0].mode.as_str(), files[0].uid, files[0].gid),
        ("0644", 0, 0)
    );
    assert_eq!(files[0].content.as_deref(), Some("listen 80;\n"));
    assert_eq!(files[0].size, Some(11));
    let secret = &files[2];
    assert_eq!(
        (secret.mode.as_str(), secret.uid, secret.gid),
        ("0400", 999, 999)
    );
    assert!(secret.sha256.is_none() && secret.size.is_none());
    let r = d.resource("container.db").unwrap();
    assert_eq!(r.sensitive_paths, ["/files/2/content"]);
    // Compile shows the shown contents whole, the secret masked.
    let shown = d.to_json(false).unwrap();
    assert!(
        shown.contains("listen 80;\\n") && !shown.contains(SECRET),
        "{shown}"
    );
    assert!(d.to_json(true).unwrap().contains(SECRET));
}

#[test]
fn labels_and_the_hash_hold_a_digest_never_a_content() {
    let d = db(&[]);
    let r = d.resource("container.db").unwrap();
    let label = masked_spec(r).to_string();
    assert!(
        !label.contains("listen 80") && !label.contains("hello"),
        "{label}"
    );
    assert!(!label.contains(SECRET), "{label}");
    assert!(label.contains(files_of(&d)[0].sha256.as_deref().unwrap()));
    let hash = |d: &Deployment| d.resource("container.db").unwrap().hash.clone();
    // A shown content changes the hash; a secret one cannot (it is masked).
    assert_ne!(hash(&d), hash(&db(&["motd=bye"])));
    assert_eq!(hash(&d), hash(&db(&["password=hunter-two"])));
    assert_ne!(hash(&d), hash(&db(&["mode=0440"])));
}

#[test]
fn a_source_that_is_not_text_travels_as_base64() {
    let dir = temp_dir("files-binary");
    std::fs::write(
        dir.join("main.stack"),
        "container \"c\" {\n  image = \"busybox:1.36\"\n  files = [{ target = \"/x.bin\", source = \"x.bin\" }]\n}\n",
    )
    .unwrap();
    std::fs::write(dir.join("x.bin"), [0xff, 0x00, 0xfe]).unwrap();
    let options = stackc::driver::Options {
        path: dir.clone(),
        ..Default::default()
    };
    let d = stackc::driver::compile(&options).result.unwrap();
    let Spec::Container(c) = &d.resource("container.c").unwrap().spec else {
        panic!()
    };
    assert_eq!(c.files[0].encoding.as_deref(), Some("base64"));
    assert_eq!(c.files[0].bytes().unwrap(), [0xff, 0x00, 0xfe]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_needs_exactly_one_of_content_or_source() {
    let both = errors(r#"[{ target = "/a", content = "x", source = "./app.conf" }]"#);
    assert!(
        both.contains("E0445") && both.contains("file `/a` has both `content` and `source`"),
        "{both}"
    );
    let neither = errors(r#"[{ target = "/a", mode = "0600" }]"#);
    assert!(
        neither.contains("file `/a` needs `content` or `source`"),
        "{neither}"
    );
}

#[test]
fn a_target_is_an_absolute_plain_path_given_once() {
    for (target, why) in [
        ("run/secrets/pw", "is not an absolute path"),
        ("/run/secrets/", "names a directory"),
        ("/", "names a directory"),
        ("/run/../etc/passwd", "is not a plain path"),
    ] {
        let text = errors(&format!(r#"[{{ target = "{target}", content = "x" }}]"#));
        assert!(
            text.contains("E0445") && text.contains(&format!("file target `{target}` {why}")),
            "{target}: {text}"
        );
    }
    let twice = errors(r#"[{ target = "/a", content = "x" }, { target = "/a", content = "y" }]"#);
    assert!(twice.contains("two files target `/a`"), "{twice}");
}

#[test]
fn a_mode_is_an_octal_string() {
    let number = errors(r#"[{ target = "/a", content = "x", mode = 0400 }]"#);
    assert!(
        number.contains("the mode of file `/a` is the number 400, not an octal mode")
            && number.contains("mode = \"0400\""),
        "{number}"
    );
    for bad in ["0999", "rw-r--r--", "", "+644", "17777"] {
        let text = errors(&format!(
            r#"[{{ target = "/a", content = "x", mode = "{bad}" }}]"#
        ));
        assert!(text.contains("is not a file mode"), "{bad}: {text}");
    }
    let dir = stack_dir(
        "files-modes",
        "container \"c\" {\n  image = \"busybox:1.36\"\n  files = [{ target = \"/a\", content = \"x\", mode = \"0o640\" }, { target = \"/b\", content = \"x\", mode = \"4755\" }]\n}\n",
        &[],
    );
    let options = stackc::driver::Options {
        path: dir.clone(),
        ..Default::default()
    };
    let d = stackc::driver::compile(&options).result.unwrap();
    let Spec::Container(c) = &d.resource("container.c").unwrap().spec else {
        panic!()
    };
    assert_eq!(
        (c.files[0].mode.as_str(), c.files[1].mode.as_str()),
        ("0640", "4755")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn only_the_content_may_be_secret() {
    let target = errors(r#"[{ target = "/run/${pw}", content = "x" }]"#);
    assert!(
        target.contains("E0412")
            && target.contains("a file's `target` cannot be built from a secret"),
        "{target}"
    );
    let owner = errors(r#"[{ target = "/a", content = pw, uid = if pw == "x" then 1 else 2 }]"#);
    assert!(
        owner.contains("E0412") && owner.contains("a file's `uid` cannot be built from a secret"),
        "{owner}"
    );
}

#[test]
fn a_source_outside_the_stack_directory_is_refused_without_its_content() {
    let base = temp_dir("files-outside");
    std::fs::write(base.join("outside.txt"), SECRET).unwrap();
    let dir = base.join("stack");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(base.join("outside.txt"), dir.join("link.txt")).unwrap();
    for source in ["../outside.txt", "link.txt"] {
        std::fs::write(
            dir.join("main.stack"),
            format!("container \"c\" {{\n  image = \"busybox:1.36\"\n  files = [{{ target = \"/a\", source = \"{source}\" }}]\n}}\n"),
        )
        .unwrap();
        let text = errors_in(&dir);
        let flat: Vec<&str> = text.split_whitespace().filter(|w| *w != "│").collect();
        assert!(
            text.contains("E0409")
                && flat.join(" ").contains("the source of file `/a`: ",)
                && flat
                    .join(" ")
                    .contains("is outside the directories this stack may read"),
            "{source}: {text}"
        );
        assert!(!text.contains(SECRET), "{text}");
    }
    let absolute = errors(r#"[{ target = "/a", source = "/etc/passwd" }]"#);
    assert!(
        absolute.contains("E0445") && absolute.contains("is absolute"),
        "{absolute}"
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_file_inside_a_mount_or_a_read_only_container_is_refused() {
    let dir = stack_dir(
        "files-mounted",
        "container \"c\" {\n  image = \"busybox:1.36\"\n  read_only = true\n  mounts = [{ tmpfs = 1MiB, target = \"/run/secrets\" }]\n  files = [{ target = \"/run/secrets/pw\", content = \"x\" }]\n}\n",
        &[],
    );
    let text = errors_in(&dir);
    assert!(
        text.contains("file `/run/secrets/pw` lies inside a mount of this container")
            && text.contains("root filesystem is read-only"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- the planner, on the in-memory engine

#[tokio::test]
async fn a_changed_file_replaces_the_container_and_the_plan_names_it() {
    let e = engine();
    let (_, outcome) = apply(&e, &db(&[])).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &db(&[])).await.has_changes());
    let plan = plan_of(&e, &db(&["motd=bye"])).await;
    assert_eq!(
        actions(&plan),
        [(
            "container.db".to_string(),
            vec![Action::Delete, Action::Create]
        )]
    );
    let c = change(&plan, "container.db");
    assert!(
        c.replace_paths
            .iter()
            .any(|p| p == "files[target=/etc/motd].sha256"),
        "{:?}",
        c.replace_paths
    );
    let text = plan::human(&plan, false);
    assert!(
        text.contains("files[target=/etc/motd].size = 6B -> 3B # forces replacement"),
        "{text}"
    );
    assert!(!text.contains("bye"), "contents are not shown: {text}");
    // A mode, too.
    let plan = plan_of(&e, &db(&["mode=0440"])).await;
    let text = plan::human(&plan, false);
    assert!(
        text.contains(
            r#"files[target=/run/secrets/db_password].mode = "0400" -> "0440" # forces replacement"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_changed_secret_file_shows_secret_changed_and_never_its_value() {
    let e = engine();
    apply(&e, &db(&[])).await;
    let rotated = db(&["password=hunter-two"]);
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
        text.contains(
            "files[target=/run/secrets/db_password].content = (secret) -> (secret changed) # forces replacement"
        ),
        "{text}"
    );
    let json = serde_json::to_string(&plan).unwrap();
    for shown in [&text, &json, &plan::markdown(&plan)] {
        assert!(!shown.contains("hunter"), "{shown}");
    }
    let (_, outcome) = apply(&e, &rotated).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &rotated).await.has_changes());
}

/// `docker exec C sh -c 'echo hacked > /run/secrets/db_password'`: the file
/// was written since the last apply copied it in, while the source's secret
/// did not change. That is drift, in the human plan and the JSON alike, and
/// apply repairs it; never a change of the source.
#[tokio::test]
async fn a_secret_file_written_inside_the_container_is_drift_and_repaired() {
    let e = engine();
    let d = db(&[]);
    apply(&e, &d).await;
    e.write_file_by_hand("files-db", "/run/secrets/db_password", b"hacked\n");
    let plan = plan_of(&e, &d).await;
    let path = "files[target=/run/secrets/db_password].content";
    assert_eq!(plan.drift.len(), 1, "{:?}", plan.drift);
    assert_eq!(plan.drift[0].address, "container.db");
    assert_eq!(plan.drift[0].fields.len(), 1, "{:?}", plan.drift[0].fields);
    let found = &plan.drift[0].fields[0];
    assert_eq!(found.path, path);
    assert_eq!(found.before, plan::SECRET_WRITTEN);
    let c = change(&plan, "container.db");
    assert_eq!(c.actions, [Action::Delete, Action::Create]);
    assert_eq!(c.reason.as_deref(), Some("changed outside stackc"));
    assert_eq!(c.replace_paths, [path]);
    let text = plan::human(&plan, false);
    assert!(
        text.contains("Objects have changed outside stackc")
            && text.contains(&format!(
                "~ {path} = (secret, written inside the container) -> (secret) # forces replacement"
            ))
            && !text.contains("(secret changed)"),
        "{text}"
    );
    let json = serde_json::to_string(&plan).unwrap();
    for shown in [&text, &json, &plan::markdown(&plan)] {
        assert!(
            !shown.contains("hacked") && !shown.contains(SECRET),
            "{shown}"
        );
    }
    let (_, outcome) = apply(&e, &d).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &d).await.has_changes());

    // Written inside and changed in the source too: drift all the same.
    e.write_file_by_hand("files-db", "/run/secrets/db_password", b"hacked\n");
    let rotated = db(&["password=hunter-two"]);
    let plan = plan_of(&e, &rotated).await;
    assert_eq!(plan.drift.len(), 1, "{:?}", plan.drift);
    let (_, outcome) = apply(&e, &rotated).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(!plan_of(&e, &rotated).await.has_changes());
}

// ---- the real engine

#[test]
fn a_secret_file_is_there_with_its_mode_and_owner_and_a_new_secret_replaces_it() {
    let Some(guard) = docker_stack("files") else {
        return;
    };
    let stack = guard.stack.clone();
    let image = test_image();
    let main = format!(
        r#"stack "{stack}"
param password: secret
container "db" {{
  image   = "{image}"
  user    = "999:999"
  command = ["sh", "-c", "stat -c '%a %u %g' /run/secrets/db_password /etc/app.conf; cat /run/secrets/db_password; echo; cat /etc/app.conf; sleep 3600"]
  files = [
    {{ target = "/run/secrets/db_password", content = password, mode = "0400", uid = 999, gid = 999 }},
    {{ target = "/etc/app.conf", source = "./app.conf" }},
  ]
}}
"#
    );
    let dir = stack_dir("files-real", &main, &[CONF]);
    let path = dir.to_string_lossy().into_owned();
    let applied = ok(&[
        "apply",
        &path,
        "--auto-approve",
        "--var",
        "password=hunter-one",
    ]);
    assert!(!stderr(&applied).contains("hunter"), "{}", stderr(&applied));
    let name = format!("{stack}-db");
    let logs = logs_of(&name, "listen 80;");
    // Only its owner (999, not root) can read a 0400 file.
    assert!(
        logs.contains("400 999 999\n644 0 0\nhunter-one\nlisten 80;"),
        "{logs}"
    );
    let again = ok(&["plan", &path, "--var", "password=hunter-one"]);
    assert!(stdout(&again).contains("No changes."), "{}", stdout(&again));

    let rotated = run(&["plan", &path, "--var", "password=hunter-two"]);
    let text = stdout(&rotated);
    assert!(
        text.contains(
            "files[target=/run/secrets/db_password].content = (secret) -> (secret changed)"
        ) && text.contains("Plan: 1 to add, 0 to change, 1 to destroy."),
        "{text}"
    );
    assert!(!text.contains("hunter"), "{text}");
    ok(&[
        "apply",
        &path,
        "--auto-approve",
        "--var",
        "password=hunter-two",
    ]);
    assert!(logs_of(&name, "listen 80;").contains("hunter-two"));
    let again = ok(&["plan", &path, "--var", "password=hunter-two"]);
    assert!(stdout(&again).contains("No changes."), "{}", stdout(&again));

    // Written inside the container: drift, not a change of the source.
    ok(&[
        "exec",
        "container.db",
        &path,
        "--user",
        "0",
        "--",
        "sh",
        "-c",
        "echo hacked > /run/secrets/db_password",
    ]);
    let plan = run(&[
        "plan",
        &path,
        "--var",
        "password=hunter-two",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&plan)).unwrap();
    assert_eq!(
        json["drift"][0]["fields"][0]["path"], "files[target=/run/secrets/db_password].content",
        "{json}"
    );
    let text = stdout(&run(&["plan", &path, "--var", "password=hunter-two"]));
    assert!(
        text.contains("Objects have changed outside stackc")
            && text.contains("(secret, written inside the container) -> (secret)")
            && !text.contains("hacked"),
        "{text}"
    );
    ok(&[
        "apply",
        &path,
        "--auto-approve",
        "--var",
        "password=hunter-two",
    ]);
    let again = ok(&["plan", &path, "--var", "password=hunter-two"]);
    assert!(stdout(&again).contains("No changes."), "{}", stdout(&again));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A container's output, once it holds `until` (a few seconds at most).
fn logs_of(name: &str, until: &str) -> String {
    use bollard::query_parameters::LogsOptionsBuilder;
    use futures_util::StreamExt;
    block_on(async {
        let docker = raw_client().await.unwrap();
        let mut text = String::new();
        for _ in 0..50 {
            let options = LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .build();
            let mut logs = docker.logs(name, Some(options));
            text.clear();
            while let Some(Ok(chunk)) = logs.next().await {
                text.push_str(&chunk.to_string());
            }
            if text.contains(until) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        text
    })
}
