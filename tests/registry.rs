//! Images through a real registry, on the real engine: `push = true` pushes
//! the built tag; a `ref` image absent locally is pulled, with progress; pull
//! and push failures name the image; credentials come from where the docker
//! CLI keeps them (`DOCKER_CONFIG`: `auths`, credential helpers).
//!
//! Each test works in stacks of its own and removes what it made, local
//! tags it pushed or pulled included (never the shared test image).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use bollard::query_parameters::RemoveImageOptionsBuilder;

use crate::docker_support::{
    StackGuard, block_on, docker_stack, raw_client, test_image, unique_stack,
};
use crate::registry_support::{
    AUTH_PASSWORD, AUTH_USER, auth_registry, manifest_digest, registry, tags,
};
use crate::support::{exits, stack_dir, stderr, stdout, temp_dir, write_executable};

/// A stack directory holding `main.stack` and, with `content`, a build
/// context `app/` whose image is the test image plus `/www/hello.txt`.
fn stack_with_app(main: &str, content: Option<&str>) -> PathBuf {
    let dir = stack_dir("registry-stack", main, &[]);
    if let Some(content) = content {
        set_content(&dir, content);
    }
    dir
}

fn set_content(dir: &Path, content: &str) {
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("Dockerfile"),
        "ARG BASE\nFROM ${BASE}\nCOPY hello.txt /www/hello.txt\n",
    )
    .unwrap();
    std::fs::write(app.join("hello.txt"), content).unwrap();
}

/// `image "app"`, built from `./app` on the test image, tagged `tag` and pushed.
fn pushed_image(tag: &str) -> String {
    format!(
        r#"
image "app" {{
  build = {{ context = "./app", args = {{ BASE = "{}" }} }}
  tag   = "{tag}"
  push  = true
}}
"#,
        test_image()
    )
}

/// A container that keeps running `image`.
fn web(image: &str) -> String {
    format!(
        r#"
container "web" {{
  image   = {image}
  command = ["httpd", "-f", "-p", "8080", "-h", "/www"]
}}
"#
    )
}

/// Removes a local tag (and the image, when it was the last one).
fn remove_local(tag: &str) {
    block_on(async {
        let docker = raw_client().await.unwrap();
        let _ = docker
            .remove_image(
                tag,
                Some(RemoveImageOptionsBuilder::default().force(true).build()),
                None,
            )
            .await;
    });
}

/// Whether the engine has `tag` locally.
fn present(tag: &str) -> bool {
    block_on(async { raw_client().await.unwrap().inspect_image(tag).await.is_ok() })
}

/// (id, running, image id) of a container.
fn container(name: &str) -> Option<(String, bool, String)> {
    block_on(async {
        let docker = raw_client().await.unwrap();
        let c = docker.inspect_container(name, None).await.ok()?;
        Some((
            c.id.unwrap_or_default(),
            c.state.and_then(|s| s.running).unwrap_or(false),
            c.image.unwrap_or_default(),
        ))
    })
}

fn image_id(tag: &str) -> String {
    block_on(async {
        let docker = raw_client().await.unwrap();
        docker
            .inspect_image(tag)
            .await
            .unwrap()
            .id
            .unwrap_or_default()
    })
}

/// Removes the local tags when dropped, however the test ends.
struct LocalTags(Vec<String>);

impl Drop for LocalTags {
    fn drop(&mut self) {
        for tag in &self.0 {
            let tag = tag.clone();
            let _ = std::thread::spawn(move || remove_local(&tag)).join();
        }
    }
}

#[test]
fn registry_push_then_pull_by_tag_after_removing_the_local_copy() {
    let Some(builder_guard) = docker_stack("push") else {
        return;
    };
    let builder = builder_guard.stack.clone();
    let Some(registry) = registry() else {
        return;
    };
    let repository = format!("stackc-test/{builder}");
    let tag = format!("{registry}/{repository}:1");
    let _tags = LocalTags(vec![tag.clone()]);
    let dir = stack_with_app(
        &format!("stack \"{builder}\"\n{}", pushed_image(&tag)),
        // Content of its own: a layer the registry does not have yet.
        Some(&format!("{builder}: one\n")),
    );
    let path = dir.to_string_lossy().into_owned();

    let applied = exits(0, &["apply", &path, "--auto-approve"], &[]);
    let said = stderr(&applied);
    assert!(said.contains("image.app (create): built"), "{said}");
    assert!(said.contains(&format!("pushing {tag}")), "{said}");
    assert!(
        said.contains(&format!("pushing {tag}: Pushed")),
        "each pushed layer is reported: {said}"
    );
    assert_eq!(tags(registry, &repository), ["1"]);
    let first = manifest_digest(registry, &repository, "1").expect("the pushed manifest");
    assert!(stdout(&exits(0, &["plan", &path], &[])).contains("No changes."));

    // New content under the same tag: rebuilt, pushed again, the old build removed.
    set_content(&dir, &format!("{builder}: two\n"));
    let plan = stdout(&exits(0, &["plan", &path], &[]));
    assert!(plan.contains("-/+ image.app"), "{plan}");
    let again = exits(0, &["apply", &path, "--auto-approve"], &[]);
    assert!(
        stderr(&again).contains(&format!("pushing {tag}: Pushed")),
        "{}",
        stderr(&again)
    );
    let second = manifest_digest(registry, &repository, "1").expect("the pushed manifest");
    assert_ne!(
        first, second,
        "the registry has the new build under the tag"
    );
    assert!(stdout(&exits(0, &["plan", &path], &[])).contains("No changes."));
    let built = image_id(&tag);

    // Without the local copy, another stack running the tag pulls it.
    remove_local(&tag);
    assert!(!present(&tag));
    let runner = unique_stack("pull");
    let _runner_guard = StackGuard::new(&runner);
    let pulling = stack_with_app(
        &format!(
            "stack \"{runner}\"\nimage \"app\" {{ ref = \"{tag}\" }}\n{}",
            web("image.app")
        ),
        None,
    );
    let pulling = pulling.to_string_lossy().into_owned();
    let plan = stdout(&exits(0, &["plan", &pulling], &[]));
    assert!(plan.contains("+ image.app"), "{plan}");
    assert!(plan.contains(&format!("pull {tag}")), "{plan}");
    let applied = exits(0, &["apply", &pulling, "--auto-approve"], &[]);
    let said = stderr(&applied);
    assert!(said.contains("image.app (create): pulled"), "{said}");
    assert!(said.contains(&format!("pulling {tag}")), "{said}");
    assert!(
        said.contains("Pull complete") || said.contains("Already exists"),
        "layers are reported as they arrive: {said}"
    );
    let (_, running, image) = container(&format!("{runner}-web")).expect("the container");
    assert!(running, "the container runs the pulled image");
    assert_eq!(image, built, "the pulled image is the one pushed");
    assert!(stdout(&exits(0, &["plan", &pulling], &[])).contains("No changes."));

    // Destroy never removes a pulled image.
    exits(0, &["destroy", &pulling, "--auto-approve"], &[]);
    assert!(present(&tag));
}

#[test]
fn registry_pull_of_an_absent_tag_names_the_image() {
    let Some(guard) = docker_stack("absent") else {
        return;
    };
    let stack = guard.stack.clone();
    let Some(registry) = registry() else {
        return;
    };
    let tag = format!("{registry}/stackc-test/{stack}:missing");
    let _tags = LocalTags(vec![tag.clone()]);
    let dir = stack_with_app(
        &format!(
            "stack \"{stack}\"\nimage \"app\" {{ ref = \"{tag}\" }}\n{}",
            web("image.app")
        ),
        None,
    );
    let out = exits(1, &["apply", &dir.to_string_lossy(), "--auto-approve"], &[]);
    let said = stderr(&out);
    assert!(said.contains(&format!("image {tag}")), "{said}");
    assert!(said.contains("cannot pull it"), "{said}");
    assert!(container(&format!("{stack}-web")).is_none());
}

#[test]
fn registry_unreachable_push_names_the_image_and_leaves_the_containers() {
    let Some(guard) = docker_stack("unreachable") else {
        return;
    };
    let stack = guard.stack.clone();
    let image = test_image();
    // Nothing listens there.
    let tag = format!("127.0.0.1:5999/stackc-test/{stack}:1");
    let _tags = LocalTags(vec![tag.clone()]);
    let dir = stack_with_app(
        &format!("stack \"{stack}\"\n{}", web(&format!("\"{image}\""))),
        Some("one\n"),
    );
    let path = dir.to_string_lossy().into_owned();
    exits(0, &["apply", &path, "--auto-approve"], &[]);
    let name = format!("{stack}-web");
    let (before, running, _) = container(&name).expect("the container");
    assert!(running);

    std::fs::write(
        dir.join("main.stack"),
        format!(
            "stack \"{stack}\"\n{}\n{}",
            web(&format!("\"{image}\"")),
            pushed_image(&tag)
        ),
    )
    .unwrap();
    let out = exits(1, &["apply", &path, "--auto-approve"], &[]);
    let said = stderr(&out);
    assert!(said.contains(&format!("image {tag}")), "{said}");
    assert!(said.contains("cannot push it to 127.0.0.1:5999"), "{said}");
    assert!(said.contains("the new build was removed"), "{said}");
    assert_eq!(
        container(&name),
        Some((before, true, image_id(image))),
        "the running container is left as it was"
    );
    // Removed, so the next plan builds and pushes it again.
    assert!(!present(&tag));
    let plan = stdout(&exits(0, &["plan", &path], &[]));
    assert!(plan.contains("+ image.app"), "{plan}");
}

/// The header bollard would send for these credentials, in standard
/// base64: that it holds `+` or `/` is what makes the test bite.
fn standard_auth_header(registry: &str) -> String {
    let json = serde_json::to_string(&bollard::auth::DockerCredentials {
        username: Some(AUTH_USER.into()),
        password: Some(AUTH_PASSWORD.into()),
        serveraddress: Some(registry.into()),
        ..Default::default()
    })
    .unwrap();
    base64::engine::general_purpose::STANDARD.encode(json)
}

#[cfg(unix)]
#[test]
fn registry_credentials_come_from_the_docker_cli_config_and_helpers() {
    let Some(builder_guard) = docker_stack("auth-push") else {
        return;
    };
    let builder = builder_guard.stack.clone();
    let Some(registry) = auth_registry() else {
        return;
    };
    assert!(
        standard_auth_header(registry).contains(['+', '/']),
        "the password must need URL-safe base64"
    );
    let tag = format!("{registry}/stackc-test/{builder}:1");
    let _tags = LocalTags(vec![tag.clone()]);
    let dir = stack_with_app(
        &format!("stack \"{builder}\"\n{}", pushed_image(&tag)),
        Some(&format!("{builder}: secret content\n")),
    );
    let path = dir.to_string_lossy().into_owned();

    // No credentials: the registry refuses, and the error names the image.
    let empty = temp_dir("docker-config-empty");
    let no_config = [("DOCKER_CONFIG", empty.to_str().unwrap())];
    let out = exits(1, &["apply", &path, "--auto-approve"], &no_config);
    let said = stderr(&out);
    assert!(said.contains(&format!("image {tag}")), "{said}");
    assert!(said.contains("cannot push it"), "{said}");
    assert!(
        said.contains("no basic auth credentials") || said.contains("unauthorized"),
        "{said}"
    );

    // `auths` in config.json.
    let config = temp_dir("docker-config-auths");
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{AUTH_USER}:{AUTH_PASSWORD}"));
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"auths": {{"{registry}": {{"auth": "{auth}"}}}}}}"#),
    )
    .unwrap();
    let with_auths = [("DOCKER_CONFIG", config.to_str().unwrap())];
    let out = exits(0, &["apply", &path, "--auto-approve"], &with_auths);
    assert!(
        stderr(&out).contains(&format!("pushing {tag}: Pushed")),
        "{}",
        stderr(&out)
    );
    for text in [stdout(&out), stderr(&out)] {
        assert!(!text.contains(AUTH_PASSWORD) && !text.contains(&auth));
    }

    // A credential helper, found on the PATH stackc is given.
    remove_local(&tag);
    let helped = temp_dir("docker-config-helper");
    std::fs::write(
        helped.join("config.json"),
        format!(r#"{{"credHelpers": {{"{registry}": "stackctest"}}}}"#),
    )
    .unwrap();
    let bin = helped.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    write_executable(
        &bin.join("docker-credential-stackctest"),
        &format!(
            "#!/bin/sh\nread -r server || true\n[ \"$server\" = \"{registry}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{AUTH_USER}\",\"Secret\":\"{AUTH_PASSWORD}\"}}' \"$server\"\n"
        ),
    );
    let path_var = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let with_helper = [
        ("DOCKER_CONFIG", helped.to_str().unwrap()),
        ("PATH", path_var.as_str()),
    ];
    let runner = unique_stack("auth-pull");
    let _runner_guard = StackGuard::new(&runner);
    let pulling = stack_with_app(
        &format!(
            "stack \"{runner}\"\nimage \"app\" {{ ref = \"{tag}\" }}\n{}",
            web("image.app")
        ),
        None,
    );
    let pulling = pulling.to_string_lossy().into_owned();
    // Anonymous pulls are refused too.
    let out = exits(1, &["apply", &pulling, "--auto-approve"], &no_config);
    assert!(
        stderr(&out).contains(&format!("image {tag}: cannot pull it")),
        "{}",
        stderr(&out)
    );
    let out = exits(0, &["apply", &pulling, "--auto-approve"], &with_helper);
    assert!(
        stderr(&out).contains(&format!("pulling {tag}")),
        "{}",
        stderr(&out)
    );
    for text in [stdout(&out), stderr(&out)] {
        assert!(!text.contains(AUTH_PASSWORD));
    }
    let (_, running, _) = container(&format!("{runner}-web")).expect("the container");
    assert!(running);

    // A build whose base image is on the registry pulls it with the same credentials.
    remove_local(&tag);
    let deriving = unique_stack("auth-base");
    let _deriving_guard = StackGuard::new(&deriving);
    let derived = stack_dir(
        "auth-base",
        &format!(
            "stack \"{deriving}\"\nimage \"derived\" {{ build = {{ context = \"./app\" }} }}\n"
        ),
        &[("app/Dockerfile", &format!("FROM {tag}\nRUN true\n"))],
    );
    let derived = derived.to_string_lossy().into_owned();
    let out = exits(1, &["apply", &derived, "--auto-approve"], &no_config);
    assert!(stderr(&out).contains("build failed"), "{}", stderr(&out));
    let out = exits(0, &["apply", &derived, "--auto-approve"], &with_helper);
    assert!(
        stderr(&out).contains("image.derived (create): built"),
        "{}",
        stderr(&out)
    );
    for text in [stdout(&out), stderr(&out)] {
        assert!(!text.contains(AUTH_PASSWORD));
    }

    // A helper that is not installed is a clear error, before any pull.
    remove_local(&tag);
    let missing = temp_dir("docker-config-missing-helper");
    std::fs::write(
        missing.join("config.json"),
        format!(r#"{{"credHelpers": {{"{registry}": "stackc-absent"}}}}"#),
    )
    .unwrap();
    let other = unique_stack("auth-missing");
    let _other_guard = StackGuard::new(&other);
    let third = stack_with_app(
        &format!("stack \"{other}\"\nimage \"app\" {{ ref = \"{tag}\" }}\n"),
        None,
    );
    let out = exits(
        1,
        &["apply", &third.to_string_lossy(), "--auto-approve"],
        &[("DOCKER_CONFIG", missing.to_str().unwrap())],
    );
    let said = stderr(&out);
    assert!(
        said.contains(&format!("image {tag}"))
            && said.contains("`docker-credential-stackc-absent`")
            && said.contains("not installed"),
        "{said}"
    );
}

#[test]
fn registry_a_tag_moved_under_a_container_replaces_it_and_pull_redeploys_what_was_pushed() {
    let Some(builder_guard) = docker_stack("mover") else {
        return;
    };
    let builder = builder_guard.stack.clone();
    let Some(registry) = registry() else {
        return;
    };
    let tag = format!("{registry}/stackc-test/{builder}:1");
    let _tags = LocalTags(vec![tag.clone()]);
    let build_dir = stack_with_app(
        &format!("stack \"{builder}\"\n{}", pushed_image(&tag)),
        Some(&format!("{builder}: one\n")),
    );
    let build = build_dir.to_string_lossy().into_owned();
    exits(0, &["apply", &build, "--auto-approve"], &[]);
    exits(0, &["destroy", &build, "--auto-approve"], &[]);
    assert!(!present(&tag), "only the registry has it");

    // Another stack runs the tag: pulled, since it is absent.
    let runner = unique_stack("runner");
    let _runner_guard = StackGuard::new(&runner);
    let run_dir = stack_dir(
        "registry-runner",
        &format!("stack \"{runner}\"\n{}", web(&format!("\"{tag}\""))),
        &[],
    );
    let run = run_dir.to_string_lossy().into_owned();
    let plan = stdout(&exits(0, &["plan", &run], &[]));
    assert!(plan.contains(&format!("(pull {tag})")), "{plan}");
    exits(0, &["apply", &run, "--auto-approve"], &[]);
    let (first_id, _, one) = container(&format!("{runner}-web")).unwrap();

    // Rebuilt here under the same tag: the container now runs a stale image.
    set_content(&build_dir, &format!("{builder}: two\n"));
    exits(0, &["apply", &build, "--auto-approve"], &[]);
    let two = image_id(&tag);
    assert_ne!(one, two);
    let plan = stdout(&exits(0, &["plan", &run], &[]));
    assert!(
        plan.contains("-/+ container.web")
            && plan.contains(&format!("{tag} now names another image")),
        "{plan}"
    );

    // Only the registry has the new build: `--pull` finds it, a plain plan cannot.
    exits(0, &["destroy", &build, "--auto-approve"], &[]);
    assert!(!present(&tag));
    assert!(stdout(&exits(0, &["plan", &run], &[])).contains("No changes."));
    let pulled = exits(0, &["plan", &run, "--pull"], &[]);
    assert!(
        stderr(&pulled).contains(&format!("pulling {tag}")),
        "{}",
        stderr(&pulled)
    );
    assert!(
        stdout(&pulled).contains(&format!("{tag} now names another image")),
        "{}",
        stdout(&pulled)
    );
    exits(0, &["apply", &run, "--pull", "--auto-approve"], &[]);
    let (second_id, running, image) = container(&format!("{runner}-web")).unwrap();
    assert!(running && second_id != first_id);
    assert_eq!(image, two, "it runs what was pushed last");
    assert!(stdout(&exits(0, &["plan", &run, "--pull"], &[])).contains("No changes."));
    exits(0, &["destroy", &run, "--auto-approve"], &[]);
}
