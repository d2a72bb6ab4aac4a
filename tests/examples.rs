//! Every example stack and every standard library module compiles.

use crate::support::{root, stackc, stderr, stdout};

/// The examples, with values for their required parameters.
const EXAMPLES: &[(&str, &[&str])] = &[
    ("hello", &[]),
    ("webapp", &["db_password=pw", "db_root_password=rootpw"]),
    ("shop", &["db_password=pw"]),
    ("nginx-flask-mysql", &["db_password=pw"]),
    ("react-express-mysql", &["db_password=pw"]),
    ("pihole-cloudflared-DoH", &["pihole_password=pw"]),
];

#[test]
fn every_example_compiles() {
    let dirs: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("main.stack").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for dir in &dirs {
        assert!(
            EXAMPLES.iter().any(|(name, _)| name == dir),
            "examples/{dir} is not listed in tests/examples.rs"
        );
    }
    for (name, vars) in EXAMPLES {
        let path = format!("examples/{name}");
        let mut args = vec!["compile", path.as_str()];
        for v in *vars {
            args.extend(["--var", v]);
        }
        let out = stackc(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "examples/{name}:\n{}",
            stderr(&out)
        );
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert!(
            !doc["resources"].as_array().unwrap().is_empty(),
            "examples/{name} declares nothing"
        );
    }
}

#[test]
fn every_stdlib_module_is_exercised() {
    // tests/cases/ok/stdlib.stack instantiates each module; keep it that way.
    let case = std::fs::read_to_string(root().join("tests/cases/ok/stdlib.stack")).unwrap();
    for name in stackc::stdlib::NAMES {
        assert!(
            case.contains(&format!("\"std/{name}\"")),
            "std/{name} is not imported by tests/cases/ok/stdlib.stack"
        );
    }
}

/// `docker inspect` shows a container's command line to anyone who can read
/// the engine: std/redis keeps its password in the environment instead.
#[test]
fn std_redis_keeps_its_password_off_the_command_line() {
    let d = crate::support::deploy(
        "stack \"r\"\nimport \"std/redis\" as redis\nparam pw: secret\nnetwork \"n\" {}\nredis \"cache\" {\n  password = pw\n  network = network.n\n}\n",
        &["pw=hunter-redis"],
    );
    let r = d.resource("redis.cache.container.server").unwrap();
    assert_eq!(r.sensitive_paths, ["/env/REDISCLI_AUTH"]);
    let stackc::deployment::Spec::Container(c) = &r.spec else {
        panic!("a container");
    };
    assert_eq!(c.run.env["REDISCLI_AUTH"], "hunter-redis");
    let words = c.run.command.iter().flatten();
    let health = c.run.health.iter().flat_map(|h| &h.test);
    for word in words.chain(health) {
        assert!(!word.contains("hunter-redis"), "{word}");
    }
}
