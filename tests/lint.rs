//! The security lint on the command line: `stackc check` prints warnings and
//! exits 0, `--deny-warnings` fails; other commands do not lint.

use crate::support::{stack_dir, stackc, stderr};

const PRIVILEGED: &str = "stack \"app\"\ncontainer \"agent\" {\n  image      = \"busybox:1.36\"\n  privileged = true\n}\n";

#[test]
fn check_prints_warnings_and_exits_0() {
    let dir = stack_dir("lint-check", PRIVILEGED, &[]);
    let out = stackc(&["check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("W0001"), "{err}");
    assert!(
        err.contains("ok: stack `app` with 2 resources, 1 warning"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn deny_warnings_makes_them_fail() {
    let dir = stack_dir("lint-deny", PRIVILEGED, &[]);
    let out = stackc(&["check", "--deny-warnings", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("W0001"), "{err}");
    assert!(err.contains("has 1 warning (--deny-warnings)"), "{err}");
    // Allowed where it is meant: nothing to deny.
    let allowed = PRIVILEGED.replace(
        "  privileged",
        "  privileged = true # stackc: allow W0001\n  #",
    );
    let dir2 = stack_dir("lint-deny-allowed", &allowed, &[]);
    let out = stackc(&["check", "--deny-warnings", dir2.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("W0001"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}

#[test]
fn compile_does_not_lint() {
    let dir = stack_dir("lint-compile", PRIVILEGED, &[]);
    let out = stackc(&["compile", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("W0001"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn inside_a_module_the_instance_may_allow_a_warning() {
    let main = "stack \"app\"\nimport \"std/redis\" as redis\nnetwork \"back\" {}\n\n# stackc: allow W0003\nredis \"cache\" {\n  image   = \"redis:latest\"\n  network = network.back\n}\n";
    let dir = stack_dir("lint-module", main, &[]);
    let out = stackc(&["check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("W0003"), "{}", stderr(&out));
    let unallowed = main.replace("# stackc: allow W0003\n", "");
    let dir2 = stack_dir("lint-module-warned", &unallowed, &[]);
    let out = stackc(&["check", dir2.to_str().unwrap()]);
    assert!(stderr(&out).contains("W0003"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}
