//! What a user coming from Docker Compose writes: short forms that mean the
//! same as the long ones (same spec, same hash).

use crate::support::deploy_with;

const DOCKERFILE: (&str, &str) = ("app/Dockerfile", "FROM scratch\nARG VERSION\n");

/// The spec and hash of the image `app` of a stack whose only item is `image`;
/// the spec without where the context lies (each stack is in a directory of
/// its own, and the hash leaves it out too).
fn image(body: &str) -> (serde_json::Value, String) {
    let source = format!("stack \"habits\"\nimage \"app\" {{\n{body}\n}}\n");
    let d = deploy_with(&source, &[], &[DOCKERFILE]);
    let r = &d.resources[0];
    let mut spec = serde_json::to_value(&r.spec).unwrap();
    let context = spec["build"]["context"].take();
    assert!(context.as_str().unwrap().ends_with("/app"), "{context}");
    (spec, r.hash.clone())
}

#[test]
fn a_build_given_as_a_path_is_its_context() {
    let short = image("  build = \"./app\"");
    let long = image("  build = { context = \"./app\" }");
    assert_eq!(short, long);
    assert_eq!(short.0["build"]["dockerfile"], "Dockerfile");
}

#[test]
fn build_args_as_a_list_are_the_map() {
    let list =
        image("  build = { context = \"./app\", args = [\"VERSION=1.2\", \"URL=http://x/?a=b\"] }");
    let map = image(
        "  build = { context = \"./app\", args = { VERSION = \"1.2\", URL = \"http://x/?a=b\" } }",
    );
    assert_eq!(list, map);
    assert_eq!(
        list.0["build"]["args"]["URL"], "http://x/?a=b",
        "the first = splits"
    );
    let other = image("  build = { context = \"./app\", args = [\"VERSION=1.3\"] }");
    assert_ne!(other.1, list.1, "a changed arg changes the hash");
}
