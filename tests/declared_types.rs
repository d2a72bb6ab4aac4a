//! Named types, field defaults, refinements and `validate` clauses through
//! the compiler: defaults filled where a value is given, and errors pointing
//! at the source of the value (`--var`, var file, environment, instance).

use stackc::diagnostic::{RenderOptions, render_all};
use stackc::driver::{Options, compile};

use crate::support::{deploy, deploy_with, stack_dir};

/// Compiles the stack in `dir` and renders its diagnostics (it must fail).
fn errors_of(dir: &std::path::Path, options: Options) -> String {
    let compiled = compile(&Options {
        path: dir.to_path_buf(),
        ..options
    });
    let _ = std::fs::remove_dir_all(dir);
    match compiled.result {
        Ok(_) => panic!("the stack compiled"),
        Err(d) => render_all(&d, &compiled.sources, RenderOptions::PLAIN),
    }
}

fn output(d: &stackc::deployment::Deployment, name: &str) -> serde_json::Value {
    let json: serde_json::Value = serde_json::from_str(&d.to_json(false).unwrap()).unwrap();
    json["outputs"][name]["value"].clone()
}

const SERVICE: &str = "type Service = { image: string, port: port? = 8080, replicas: int(1..20) = 1, tags: list[string] = [] }\n";

#[test]
fn defaults_are_filled_where_the_value_is_given() {
    let d = deploy(
        &format!(
            "stack \"d\"\n{SERVICE}\
             param api: Service = {{ image = \"x\" }}\n\
             param web: Service\n\
             fn port_of(s: Service) -> port = s.port\n\
             let typed: Service = {{ image = \"y\", port = null }}\n\
             output \"api\" = api\n\
             output \"web\" = web\n\
             output \"port\" = port_of({{ image = \"z\" }})\n\
             output \"looked_up\" = lookup(typed, \"port\", 1)\n\
             output \"sum\" = api.port + typed.port\n"
        ),
        &["web={ image = \"w\", replicas = 3 }"],
    );
    assert_eq!(
        output(&d, "api"),
        serde_json::json!({ "image": "x", "port": 8080, "replicas": 1, "tags": [] })
    );
    assert_eq!(output(&d, "web")["replicas"], 3);
    assert_eq!(output(&d, "web")["port"], 8080);
    assert_eq!(output(&d, "port"), 8080, "a function's argument");
    assert_eq!(output(&d, "looked_up"), 8080, "null takes the default");
    assert_eq!(
        output(&d, "sum"),
        16160,
        "a field with a default is never null"
    );
}

#[test]
fn module_parameters_of_an_imported_type_get_its_defaults() {
    let module = format!(
        "{SERVICE}param service: Service\n\
         output \"port\" = service.port\n\
         output \"replicas\" = service.replicas\n"
    );
    let d = deploy_with(
        "stack \"m\"\nimport \"./svc.stack\" as svc\n\
         param base: svc.Service = { image = \"b\", replicas = 4 }\n\
         svc \"a\" { service = { image = \"a\" } }\n\
         svc \"b\" { service = base }\n\
         output \"a\" = svc.a.port\n\
         output \"b\" = svc.b.replicas\n",
        &[],
        &[("svc.stack", &module)],
    );
    assert_eq!(output(&d, "a"), 8080);
    assert_eq!(output(&d, "b"), 4);
}

#[test]
fn a_refinement_error_points_at_the_var_file_line_without_its_text() {
    let dir = stack_dir(
        "refine_varfile",
        "stack \"r\"\nparam token: secret\nparam replicas: int(1..20) = 1\n",
        &[("prod.vars", "token = \"hunter2\"\nreplicas = 30\n")],
    );
    let file = dir.join("prod.vars");
    let text = errors_of(
        &dir,
        Options {
            var_files: vec![file],
            ..Default::default()
        },
    );
    assert!(text.contains("E0462"), "{text}");
    assert!(text.contains("prod.vars:2:12"), "{text}");
    assert!(text.contains("not shown"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn a_validation_error_names_the_environment_variable() {
    let dir = stack_dir(
        "validate_env",
        "stack \"v\"\nparam replicas: int = 1\n  validate replicas <= 10, \"at most 10 replicas\"\n",
        &[],
    );
    let text = errors_of(
        &dir,
        Options {
            environment: vec![("STACKC_VAR_replicas".into(), "12".into())],
            ..Default::default()
        },
    );
    assert!(text.contains("E0463"), "{text}");
    assert!(
        text.contains("invalid parameter `replicas`: at most 10 replicas"),
        "{text}"
    );
    assert!(
        text.contains("environment variable STACKC_VAR_replicas"),
        "{text}"
    );
    assert!(text.contains("this is false"), "{text}");
}

#[test]
fn a_secret_outside_its_refinement_is_not_told() {
    let dir = stack_dir(
        "refine_secret",
        "stack \"s\"\nparam password: secret(12.., matches \"[0-9]\")\n\
         param check: secret\n  validate len(check) > 20, \"too short: ${check}\"\n",
        &[],
    );
    let text = errors_of(
        &dir,
        Options {
            environment: vec![
                ("STACKC_VAR_password".into(), "correcthorsebattery".into()),
                ("STACKC_VAR_check".into(), "swordfish".into()),
            ],
            ..Default::default()
        },
    );
    assert!(text.contains("E0462"), "{text}");
    assert!(text.contains("a secret value that is not"), "{text}");
    assert!(text.contains("E0463"), "{text}");
    assert!(text.contains("(secret)"), "{text}");
    for secret in [
        "correcthorse",
        "swordfish",
        "characters long",
        "does not match",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[test]
fn refinements_bound_lengths_durations_and_sizes() {
    let dir = stack_dir(
        "refine_kinds",
        "stack \"k\"\nparam a: string(2..3) = \"abcd\"\nparam b: list[int](1..) = []\n\
         param c: duration(1s..1m) = 2m\nparam d: size(..1GiB) = 2GiB\n\
         param e: float(0.5..1) = 1.5\nparam f: int(-5..-1) = 0\n",
        &[],
    );
    let text = errors_of(&dir, Options::default());
    for expected in [
        "\"abcd\" is 4 characters long, more than 3",
        "the list has 0 elements, fewer than 1",
        "2m is more than 1m",
        "2GiB is more than 1GiB",
        "1.5 is more than 1",
        "0 is more than -1",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }
}

#[test]
fn a_size_given_on_the_command_line_is_shown_as_a_size() {
    let dir = stack_dir(
        "refine_size_var",
        "stack \"k\"\nparam d: size(..1GiB) = 1MiB\n",
        &[],
    );
    let text = errors_of(
        &dir,
        Options {
            vars: vec!["d=2GiB".into()],
            ..Options::default()
        },
    );
    assert!(text.contains("2GiB is more than 1GiB"), "{text}");
}

#[test]
fn a_wrong_value_at_evaluation_names_the_type_and_the_instance_field() {
    let module = "type Port = int(1024..)\nparam port: Port\n";
    let dir = stack_dir(
        "refine_instance",
        "stack \"i\"\nimport \"./m.stack\" as m\nparam p: int = 80\nm \"x\" { port = p }\n",
        &[("m.stack", module)],
    );
    let text = errors_of(&dir, Options::default());
    assert!(
        text.contains("invalid parameter `port`: 80 is less than 1024"),
        "{text}"
    );
    assert!(
        text.contains("m \"x\" { port = p }"),
        "points at the field: {text}"
    );
}
