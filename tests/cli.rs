//! The command line: exit codes, streams, help.

use crate::support::{stack_dir, stackc, stackc_env, stderr, stdout, temp_dir};

#[test]
fn compile_prints_json_on_stdout_and_exits_0() {
    let out = stackc(&["compile", "examples/hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(doc["stack"], "hello");
    assert_eq!(doc["resources"][0]["name"], "hello-web");
}

#[test]
fn errors_go_to_stderr_with_exit_1() {
    let out = stackc(&["check", "tests/cases/resolve/unknown_name.stack"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("E0201"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    assert_eq!(
        stackc(&["compile", "--no-such-flag"]).status.code(),
        Some(1)
    );
    let help = stackc(&["compile", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("--show-secrets"));
    assert_eq!(stackc(&["check", "--help"]).status.code(), Some(0));
}

#[test]
fn a_missing_stack_is_an_error() {
    let out = stackc(&["check", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
fn secrets_are_masked_unless_asked_for() {
    let args = [
        "compile",
        "examples/webapp",
        "--var",
        "db_password=hunter2",
        "--var",
        "db_root_password=s3cret",
    ];
    let masked = stackc(&args);
    assert_eq!(masked.status.code(), Some(0), "{}", stderr(&masked));
    let text = stdout(&masked);
    assert!(!text.contains("hunter2") && !text.contains("s3cret"));
    assert!(text.contains("(secret)"));
    let mut shown = args.to_vec();
    shown.push("--show-secrets");
    let text = stdout(&stackc(&shown));
    assert!(text.contains("hunter2") && text.contains("s3cret"));
}

#[test]
fn compile_output_is_byte_identical_across_runs() {
    let args = ["compile", "examples/shop", "--var", "db_password=pw"];
    let first = stdout(&stackc(&args));
    assert!(!first.is_empty());
    for _ in 0..3 {
        assert_eq!(stdout(&stackc(&args)), first);
    }
}

#[test]
fn a_missing_stack_is_e0501() {
    // E0501 is about the path on the command line, so no case file can show it.
    let out = stackc(&["check", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("E0501"), "{err}");
    assert!(err.contains("`no/such/dir` does not exist"), "{err}");

    // A directory without main.stack.
    let out = stackc(&["check", "tests"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("E0501"), "{err}");
    assert!(err.contains("no main.stack in `tests`"), "{err}");
    assert!(
        err.contains("help: a stack is a directory holding main.stack"),
        "{err}"
    );
}

#[test]
fn an_unreadable_var_file_is_e0411() {
    let out = stackc(&["check", "examples/hello", "--var-file", "no/such.vars"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("E0411"), "{err}");
    assert!(err.contains("cannot read var file `no/such.vars`"), "{err}");
}

#[test]
fn errors_in_var_files_never_show_their_text() {
    // prod.vars holds a secret on the line before the bad value.
    let out = stackc(&[
        "check",
        "tests/fixtures/secret_var_file",
        "--var-file",
        "tests/fixtures/secret_var_file/prod.vars",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("E0301") && err.contains("prod.vars:2:12"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn var_files_may_be_json_objects_and_var_wins() {
    let dir = stack_dir(
        "varfile",
        "stack \"vars\"\nparam replicas: int = 1\nparam timeout: duration = 1s\nparam tags: list[string] = []\nparam name: string = \"x\"\noutput \"all\" = { replicas = replicas, timeout = timeout, tags = tags, name = name }\n",
        &[
            (
                "prod.json",
                r#"{ "replicas": 3, "timeout": "1m30s", "tags": ["a", "b"], "name": "json" }"#,
            ),
            ("prod.vars", "name = \"lines\"\nreplicas = 2\n"),
        ],
    );
    let path = dir.to_string_lossy().into_owned();
    let json = dir.join("prod.json").to_string_lossy().into_owned();
    let lines = dir.join("prod.vars").to_string_lossy().into_owned();
    let out = stackc(&[
        "compile",
        &path,
        "--var-file",
        &json,
        "--var-file",
        &lines,
        "--var",
        "tags=[\"c\"]",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let all = &doc["outputs"]["all"]["value"];
    assert_eq!(all["replicas"], 2, "the later var file wins");
    assert_eq!(
        all["timeout"], "1m30s",
        "JSON strings are read as the parameter's type"
    );
    assert_eq!(
        all["tags"],
        serde_json::json!(["c"]),
        "--var wins over var files"
    );
    assert_eq!(all["name"], "lines");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_command_has_help() {
    for command in [
        "check", "compile", "plan", "apply", "destroy", "status", "output", "unlock",
    ] {
        let out = stackc(&[command, "--help"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "stackc {command} --help: {}",
            stderr(&out)
        );
        assert!(stdout(&out).contains("Usage: stackc"), "{}", stdout(&out));
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    // Enough JSON that the writer is still writing when the pipe closes.
    let dir = stack_dir(
        "cli-pipe",
        "stack \"pipe\"\nfor i in range(3000) {\n  container \"api-${i}\" { image = \"busybox:1.36\" }\n}\n",
        &[],
    );
    let mut child = crate::support::command(&["compile", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.is_empty(), "{err}");
}

/// A stack is what its source or its directory says, never a name mapped
/// from the directory's: `sa.proj/` and `SA PROJ/` cannot both be `sa-proj`.
#[test]
fn a_stack_name_is_never_derived_by_mapping() {
    let parent = temp_dir("stack_identity");
    let web = "container \"web\" { image = \"busybox:1.36\" }\n";
    for dir in ["sa.proj", "SA PROJ"] {
        let path = parent.join(dir);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("main.stack"), web).unwrap();
        let out = stackc(&["check", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{dir}");
        let said = stderr(&out);
        assert!(
            said.contains(&format!(
                "cannot name the stack after the directory `{dir}`"
            )) && said.contains("`stack \"sa_proj\"`"),
            "{said}"
        );
    }
    for dir in ["sa_proj", "sa-proj"] {
        let path = parent.join(dir);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("main.stack"), web).unwrap();
        let out = stackc(&["compile", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(stdout(&out).contains(&format!("\"name\": \"{dir}-web\"")));
    }
    let named = stack_dir("dashed", "stack \"Shop\"\n", &[]);
    let out = stackc(&["check", named.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`Shop` is not a valid stack name"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn environment_variables_set_parameters_below_var_files_and_var() {
    let dir = stack_dir(
        "envvars",
        "stack \"envvars\"\nparam a: string = \"default\"\nparam b: string = \"default\"\nparam c: string = \"default\"\nparam d: string = \"default\"\nparam n: int = 1\nparam memory: size = 1MiB\noutput \"all\" = { a = a, b = b, c = c, d = d, n = n, memory = memory }\n",
        &[("prod.vars", "b = \"file\"\nc = \"file\"\n")],
    );
    let path = dir.to_string_lossy().into_owned();
    let file = dir.join("prod.vars").to_string_lossy().into_owned();
    let out = stackc_env(
        &["compile", &path, "--var-file", &file, "--var", "c=flag"],
        &[
            ("STACKC_VAR_a", "env"),
            ("STACKC_VAR_b", "env"),
            ("STACKC_VAR_c", "env"),
            ("STACKC_VAR_n", "3"),
            ("STACKC_VAR_memory", "256MiB"),
            // Meant for another stack: not an error.
            ("STACKC_VAR_replicas", "2"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let all = &doc["outputs"]["all"]["value"];
    assert_eq!(all["a"], "env", "the environment wins over the default");
    assert_eq!(all["b"], "file", "a var file wins over the environment");
    assert_eq!(all["c"], "flag", "--var wins over both");
    assert_eq!(all["d"], "default");
    assert_eq!(all["n"], 3, "read as the parameter's type");
    assert_eq!(all["memory"], 256 * 1024 * 1024);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_secret_parameter_from_the_environment_stays_secret() {
    let args = ["compile", "examples/webapp"];
    let env = [
        ("STACKC_VAR_db_password", "hunter2"),
        ("STACKC_VAR_db_root_password", "s3cret"),
    ];
    let masked = stackc_env(&args, &env);
    assert_eq!(masked.status.code(), Some(0), "{}", stderr(&masked));
    let text = stdout(&masked);
    assert!(
        !text.contains("hunter2") && !text.contains("s3cret"),
        "{text}"
    );
    assert!(text.contains("(secret)"));
    let shown = stackc_env(&["compile", "examples/webapp", "--show-secrets"], &env);
    assert!(stdout(&shown).contains("hunter2"));
}

#[test]
fn a_bad_value_in_the_environment_names_its_variable() {
    let dir = stack_dir(
        "envbad",
        "stack \"envbad\"\nparam n: int = 1\nparam token: int = 1\noutput \"n\" = n + token\n",
        &[],
    );
    let path = dir.to_string_lossy().into_owned();
    let out = stackc_env(
        &["check", &path],
        &[("STACKC_VAR_n", "three"), ("STACKC_VAR_token", "3")],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("E0411"), "{err}");
    assert!(err.contains("environment variable STACKC_VAR_n"), "{err}");
    assert!(err.contains("`three` is not an integer"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
