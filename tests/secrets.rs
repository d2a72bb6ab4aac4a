//! Hostile stacks against secret taint: a program that rebuilds a secret
//! character by character, hides it in numbers, bools and choices, or tries
//! to move a mask off it, never gets it into what stackc prints, plans,
//! saves or sends to Docker as metadata.

use stackc::deployment::{Deployment, Spec};
use stackc::engine::{Engine, labels};
use stackc::plan::{self, SavedPlan};

use crate::planner::{apply, engine, plan_of};
use crate::support::{deploy, deploy_with, exits, ok, stack_dir, stderr, stdout};

const SECRET: &str = "zq7xv9";

/// Rebuilds `pw` one character at a time with `starts_with`, and leaks its
/// length, its characters and a digit of it as numbers and bools, in
/// outputs, an env value, a label-free command and a health check.
const REBUILD: &str = r#"
stack "leak"
param pw: secret

let al = ["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r","s","t","u","v","w","x","y","z","0","1","2","3","4","5","6","7","8","9"]
let p1 = join([for c in al if starts_with(pw, c): c], "")
let p2 = p1 + join([for c in al if starts_with(pw, p1 + c): c], "")
let p3 = p2 + join([for c in al if starts_with(pw, p2 + c): c], "")
let p4 = p3 + join([for c in al if starts_with(pw, p3 + c): c], "")
let p5 = p4 + join([for c in al if starts_with(pw, p4 + c): c], "")
let p6 = p5 + join([for c in al if starts_with(pw, p5 + c): c], "")
let chars = [for c in al: if contains(pw, c) then c else "-"]
let n = len(pw)
let digit = to_int(join([for c in al if contains(pw, c) && contains("0123456789", c): c], ""))

container "app" {
  image   = "busybox:1.36"
  command = ["echo", p6, "${n}", "${digit}"]
  env     = { REBUILT = p6, CHARS = join(chars, ""), FIRST = if starts_with(pw, "z") then "z" else "?" }
  health  = { cmd = ["true"], retries = len(pw) }
}

output "rebuilt" = p6
output "chars" = chars
output "length" = n
output "digit" = digit
output "short" = n < 8
output "choice" = if pw == "zq7xv9" then 1 else 2
output "both" = pw != "" && n > 3
output "filtered" = [for i in range(10) if i == n: i]
"#;

fn rebuild_dir() -> std::path::PathBuf {
    stack_dir("secrets-rebuild", REBUILD, &[])
}

fn var() -> String {
    format!("pw={SECRET}")
}

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret:\n{text}");
}

/// Every part of a secret spelled in any order of its characters: the
/// rebuilt string, or its characters one by one in a list.
fn assert_no_characters(what: &str, text: &str) {
    assert_hidden(what, text);
    for c in ["\"q\"", "\"7\"", "\"v\""] {
        assert!(!text.contains(c), "{what} shows a character {c}:\n{text}");
    }
}

#[test]
fn a_secret_rebuilt_character_by_character_never_shows_in_output_or_compile() {
    let dir = rebuild_dir();
    let dir_s = dir.to_str().unwrap();
    let v = var();
    let compiled = ok(&["compile", dir_s, "--var", &v]);
    assert_no_characters("compile", &stdout(&compiled));
    assert_hidden("compile's stderr", &stderr(&compiled));
    let json: serde_json::Value = serde_json::from_str(&stdout(&compiled)).unwrap();
    for (name, out) in json["outputs"].as_object().unwrap() {
        // `chars` is a list of a public length: each of its items is secret.
        let items = out["value"].as_array().cloned().unwrap_or_default();
        assert!(
            out["value"] == "(secret)"
                || (!items.is_empty() && items.iter().all(|i| i == "(secret)")),
            "output {name} is shown: {}",
            out["value"]
        );
    }
    for args in [
        vec!["output", "--planned", dir_s, "--var", &v],
        vec!["output", "--planned", dir_s, "--json", "--var", &v],
        vec!["output", "--planned", "rebuilt", dir_s, "--var", &v],
        vec!["output", "--planned", "digit", dir_s, "--var", &v],
        vec!["check", dir_s, "--var", &v],
    ] {
        let o = ok(&args);
        assert_no_characters(&args.join(" "), &stdout(&o));
        assert_hidden(&args.join(" "), &stderr(&o));
    }
    // Shown when asked for: the taint is on what was computed, not lost on the way.
    let shown = ok(&[
        "output",
        "--planned",
        "rebuilt",
        dir_s,
        "--var",
        &v,
        "--show-secrets",
    ]);
    assert!(stdout(&shown).contains(SECRET), "{}", stdout(&shown));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_secret_rebuilt_character_by_character_never_shows_in_a_plan() {
    let d = deploy(REBUILD, &[&var()]);
    let e = engine();
    let p = plan_of(&e, &d).await;
    let json = serde_json::to_string_pretty(&p).unwrap();
    assert_no_characters("plan json", &json);
    assert_no_characters("plan human", &plan::human(&p, false));
    assert_no_characters("plan markdown", &plan::markdown(&p));
    let saved = SavedPlan::new(p.clone(), d.clone(), Default::default(), "memory".into());
    let saved = serde_json::to_value(&saved).unwrap();
    assert_no_characters("the saved plan's plan", &saved["plan"].to_string());
    // The saved deployment holds secrets (it is applied), only where they are marked.
    assert_no_characters("the saved deployment, masked", &d.to_json(false).unwrap());
    let app = d.resource("container.app").unwrap();
    for pointer in [
        "/command/1",
        "/command/2",
        "/command/3",
        "/env/REBUILT",
        "/env/CHARS",
        "/env/FIRST",
        "/health/retries",
    ] {
        assert!(
            app.sensitive_paths.iter().any(|p| p == pointer),
            "{pointer} not marked: {:?}",
            app.sensitive_paths
        );
    }
    // Docker's metadata: the labels stackc writes hold no secret either.
    let labels = serde_json::to_string(&labels("leak", app)).unwrap();
    assert_no_characters("labels", &labels);
    // Applied, the live object's label and the next plan show nothing either.
    apply(&e, &d).await;
    let live = e.observe("leak", &[]).await.unwrap();
    let spec = live.objects[0].spec.as_ref().unwrap().to_string();
    assert_no_characters("io.stackc.spec", &spec);
    let again = plan_of(&e, &d).await;
    assert!(!again.has_changes(), "{}", plan::human(&again, false));
}

#[test]
fn numbers_bools_and_choices_from_a_secret_are_secret() {
    let d = deploy(REBUILD, &[&var()]);
    for name in ["length", "digit", "short", "choice", "both", "filtered"] {
        let out = &d.outputs[name];
        assert!(
            out.sensitive_paths.iter().any(|p| p.is_empty()),
            "{name}: {:?}",
            out.sensitive_paths
        );
        assert_eq!(out.shown(false), "(secret)", "{name}");
    }
    // A list of a public length whose every item is chosen by the secret.
    assert_eq!(d.outputs["chars"].sensitive_paths.len(), 36);
}

#[test]
fn nonsecret_declassifies_on_purpose() {
    let source = "stack \"n\"\nparam pw: secret\noutput \"length\" = nonsecret(len(pw))\noutput \"set\" = nonsecret(pw != \"\")\noutput \"kept\" = len(pw)\n";
    let d = deploy(source, &["pw=hunter2"]);
    assert_eq!(d.outputs["length"].shown(false), 7);
    assert_eq!(d.outputs["set"].shown(false), true);
    assert_eq!(d.outputs["kept"].shown(false), "(secret)");
}

#[test]
fn a_mask_stays_on_its_mount_after_sorting() {
    // The secret mount is written first; sorting by target used to move the
    // mark onto the harmless mount and show the secret one.
    let source = "stack \"m\"\nparam pw: secret\ncontainer \"c\" {\n  image = \"busybox:1.36\"\n  mounts = [{ bind = \"/srv/${pw}\", target = \"/z\" }, { bind = \"/public\", target = \"/a\" }, \"/x/${pw}:/data\"]\n}\n";
    let d = deploy(source, &[&var()]);
    let json = d.to_json(false).unwrap();
    assert_hidden("compile", &json);
    let c = d.resource("container.c").unwrap();
    let Spec::Container(spec) = &c.spec else {
        unreachable!()
    };
    let public = spec
        .run
        .mounts
        .iter()
        .position(|m| m.source.as_deref() == Some("/public"))
        .unwrap();
    assert!(
        !c.sensitive_paths
            .iter()
            .any(|p| p.starts_with(&format!("/mounts/{public}"))),
        "the public mount is masked: {:?}",
        c.sensitive_paths
    );
    for (i, m) in spec.run.mounts.iter().enumerate() {
        if m.source.as_deref().is_some_and(|s| s.contains(SECRET)) {
            // The source, or the whole mount (a secret short form).
            let pointer = format!("/mounts/{i}/source");
            assert!(
                c.sensitive_paths
                    .iter()
                    .any(|p| *p == pointer || *p == format!("/mounts/{i}")),
                "{pointer} not marked: {:?}",
                c.sensitive_paths
            );
        }
    }
    // Every place it is shown: plan formats and the label.
    assert_hidden("label", &labels("m", c)[stackc::engine::LABEL_SPEC]);
    let shown: Vec<String> = spec_pointers(&d);
    assert!(shown.iter().any(|s| s == "/public"), "{shown:?}");
}

/// The bind sources shown (masked) in the compiled JSON.
fn spec_pointers(d: &Deployment) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(&d.to_json(false).unwrap()).unwrap();
    json["resources"][0]["spec"]["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| match m.get("source") {
            Some(s) => s.as_str().unwrap_or_default().to_string(),
            None => m.as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

#[test]
fn secret_ports_and_capabilities_go_after_the_shown_ones_with_their_marks() {
    let source = "stack \"p\"\nparam port: int\nparam cap: secret\ncontainer \"c\" {\n  image = \"busybox:1.36\"\n  ports = [{ host = port + 0 * len(cap), container = 80 }, \"9000:90\", \"1000:10\"]\n  cap_add = [cap, \"NET_ADMIN\", \"CHOWN\"]\n  expose = [len(cap), 53]\n}\n";
    let d = deploy(source, &["port=8443", "cap=SYS_TIME"]);
    let c = d.resource("container.c").unwrap();
    assert_eq!(
        c.sensitive_paths,
        ["/cap_add/2", "/expose/1", "/ports/2/host"],
        "{}",
        d.to_json(false).unwrap()
    );
    let json = d.to_json(false).unwrap();
    assert!(
        !json.contains("8443") && !json.contains("SYS_TIME"),
        "{json}"
    );
}

fn check_fails(source: &str, code: &str) -> String {
    let dir = stack_dir("secrets-check", source, &[]);
    let o = exits(1, &["check", dir.to_str().unwrap(), "--var", &var()], &[]);
    let _ = std::fs::remove_dir_all(&dir);
    let err = stderr(&o);
    assert!(err.contains(code), "expected {code}:\n{err}");
    assert_hidden("the error", &err);
    err
}

#[test]
fn secrets_in_labels_and_build_args_are_e0417() {
    for labels in [
        "container \"c\" {\n  image = \"busybox:1.36\"\n  labels = { a = pw }\n}\n",
        "service \"s\" {\n  image = \"busybox:1.36\"\n  labels = { a = \"x-${pw}\" }\n}\n",
        "network \"n\" {\n  labels = { a = upper(pw) }\n}\n",
        "volume \"v\" {\n  labels = { a = \"${len(pw)}\" }\n}\n",
        "image \"i\" {\n  build = { context = \".\", args = { TOKEN = pw } }\n}\n",
        // What `docker inspect` shows of a container's configuration.
        "container \"c\" {\n  image = \"busybox:1.36\"\n  hostname = pw\n}\n",
        "container \"c\" {\n  image = \"busybox:1.36\"\n  user = pw\n}\n",
        "container \"c\" {\n  image = \"busybox:1.36\"\n  workdir = \"/${pw}\"\n}\n",
    ] {
        let err = check_fails(&format!("stack \"l\"\nparam pw: secret\n{labels}"), "E0417");
        assert!(err.contains("`env`"), "{err}");
    }
}

#[test]
fn secrets_as_keys_env_names_or_structure_are_e0412() {
    for body in [
        // a map key
        "output \"o\" = { \"${pw}\" = 1 }\n",
        "output \"o\" = {for c in [pw]: c = 1}\n",
        // an env name, in the list form
        "container \"c\" {\n  image = \"busybox:1.36\"\n  env = [\"${pw}=x\"]\n}\n",
        // a map chosen by a secret: its keys are
        "container \"c\" {\n  image = \"busybox:1.36\"\n  env = if pw == \"x\" then { A = \"1\" } else { B = \"1\" }\n}\n",
        // which resources exist
        "if pw == \"x\" {\n  volume \"v\" {}\n}\n",
        "for c in [for x in [pw] if x != \"\": x] {\n  volume \"v\" {}\n}\n",
        // which networks a container joins, what it depends on
        "network \"a\" {}\nnetwork \"b\" {}\ncontainer \"c\" {\n  image = \"busybox:1.36\"\n  networks = if pw == \"x\" then [network.a] else [network.b]\n}\n",
        "volume \"a\" {}\ncontainer \"c\" {\n  image = \"busybox:1.36\"\n  depends_on = [for v in [volume.a] if pw == \"x\": v]\n}\n",
    ] {
        check_fails(&format!("stack \"k\"\nparam pw: secret\n{body}"), "E0412");
    }
}

#[test]
fn messages_show_no_secret_number_or_bool() {
    for body in [
        "assert len(pw) == 3, \"length is ${len(pw)}\"\n",
        "output \"o\" = [1, 2][len(pw)]\n",
        "output \"o\" = to_int(pw)\n",
        "output \"o\" = { a = 1 }[pw]\n",
    ] {
        let err = check_fails(&format!("stack \"e\"\nparam pw: secret\n{body}"), "E04");
        assert!(!err.contains(" 6 ") && !err.contains("6 items"), "{err}");
        assert!(err.contains("(secret)"), "{err}");
    }
}

#[test]
fn a_secret_list_is_marked_once_so_its_length_is_not_told() {
    // The length of each list is where a letter sits in the secret.
    let source = "stack \"l\"\nparam pw: secret\noutput \"leak\" = { for c in [\"h\", \"u\", \"n\"]: c = [for i in range(16) if contains(pw, c) && i <= len(split(pw, c)[0]): 0] }\ncontainer \"c\" {\n  image   = \"busybox:1.36\"\n  command = concat([\"sleep\"], [for i in range(16) if i < len(pw): \"1\"])\n}\n";
    let d = deploy(source, &[&var()]);
    let json = d.to_json(false).unwrap();
    let compiled: serde_json::Value = serde_json::from_str(&json).unwrap();
    let text = compiled.to_string();
    assert!(
        !text.contains("/leak/h/") && !text.contains("/command/"),
        "a path per element tells the length: {text}"
    );
    assert_eq!(
        d.resource("container.c").unwrap().sensitive_paths,
        ["/command"]
    );
}

#[test]
fn a_secret_port_number_is_masked_in_what_docker_says() {
    let source = "stack \"p\"\nparam pw: secret\ncontainer \"c\" {\n  image = \"busybox:1.36\"\n  ports = [\"127.0.0.1:${18100 + len(pw)}:80\"]\n}\n";
    let d = deploy(source, &["pw=hunter2"]);
    let masked = stackc::deployment::SecretTexts::of(&d)
        .mask("Bind for 127.0.0.1:18107 failed: port is already allocated");
    assert!(!masked.contains("18107"), "{masked}");
}

/// The text functions of issue 12 rebuild `pw` as the old ones did: with
/// `matches` as a filter, a regex's groups, `substr`, `format`'s precision,
/// a round trip through JSON, and a template. Nothing of it may show.
const REBUILD_WITH_TEXT_FUNCTIONS: &str = r##"
stack "leak"
param pw: secret

let al = ["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r","s","t","u","v","w","x","y","z","0","1","2","3","4","5","6","7","8","9"]
let p1 = join([for c in al if matches(pw, "^" + c): c], "")
let p2 = p1 + join([for c in al if matches(pw, "^" + p1 + c): c], "")

output "filtered" = p2
output "groups" = regex(pw, "^(.)(.)")
output "first" = substr(pw, 0, 1)
output "precision" = format("%.2s", pw)
output "padded" = format("%-8s|", pw)
output "replaced" = regex_replace(pw, "[0-9]", "#")
output "is_z" = matches(pw, "^z")
output "json" = jsonencode({ pw = pw })
output "yaml" = yamlencode([pw])
output "decoded" = jsondecode(jsonencode([pw, 1]))
output "template" = templatefile("t.tpl", { pw = pw })
output "chosen" = if matches(pw, "^z") then "z" else "?"
output "count" = len([for c in al if matches(pw, c): c])
"##;

#[test]
fn text_functions_keep_a_secret_secret() {
    let d = deploy_with(
        REBUILD_WITH_TEXT_FUNCTIONS,
        &[&var()],
        &[("t.tpl", "password: ${pw}\n")],
    );
    for (name, out) in &d.outputs {
        assert!(
            out.sensitive_paths.iter().any(|p| p.is_empty()),
            "{name} is not secret as a whole: {:?}",
            out.sensitive_paths
        );
        assert_eq!(out.shown(false), "(secret)", "{name}");
    }
    let dir = stack_dir(
        "secrets-text",
        REBUILD_WITH_TEXT_FUNCTIONS,
        &[("t.tpl", "password: ${pw}\n")],
    );
    let dir_s = dir.to_str().unwrap();
    let v = var();
    for args in [
        vec!["compile", dir_s, "--var", &v],
        vec!["output", "--planned", dir_s, "--var", &v],
        vec!["check", dir_s, "--var", &v],
    ] {
        let o = ok(&args);
        assert_no_characters(&args.join(" "), &stdout(&o));
        assert_hidden(&args.join(" "), &stderr(&o));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn text_function_errors_show_no_secret() {
    let source = "stack \"n\"\nparam pw: secret\noutput \"x\" = jsondecode(pw)\n";
    let text = check_fails_with(source, "E0484");
    assert!(!text.contains("zq7"), "{text}");
    let source = "stack \"n\"\nparam pw: secret\noutput \"x\" = matches(\"a\", pw + \"(\")\n";
    let text = check_fails_with(source, "E0483");
    assert!(!text.contains("zq7"), "{text}");
}

/// `stackc check` of a stack with `pw` set: its failure, as printed.
fn check_fails_with(source: &str, code: &str) -> String {
    let dir = stack_dir("secrets-text-errors", source, &[]);
    let v = var();
    let o = exits(1, &["check", dir.to_str().unwrap(), "--var", &v], &[]);
    let text = stderr(&o);
    assert!(text.contains(code), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
    text
}

/// A one-character piece of a secret is not masked out of a message's fixed
/// text: "a label cannot (secret)old" and "is no(secret) an in(secret)eger"
/// would spell the secret out letter by letter.
#[test]
fn a_short_piece_of_a_secret_is_not_masked_out_of_a_message() {
    let label = "container \"c\" {\n  image = \"busybox:1.36\"\n  labels = { n = if starts_with(pw, \"z\") then \"l\" else \"m\" }\n}\n";
    let err = check_fails(&format!("stack \"l\"\nparam pw: secret\n{label}"), "E0417");
    assert!(err.contains("a label cannot hold a secret"), "{err}");
    assert!(!err.contains("(secret)"), "{err}");
    // A secret `t` is in "is not an integer" three times, and in the mask.
    let source = "stack \"n\"\nparam pw: secret\noutput \"x\" = to_int(pw)\n";
    let dir = stack_dir("secrets-short-piece", source, &[]);
    let o = exits(1, &["check", dir.to_str().unwrap(), "--var", "pw=t"], &[]);
    let _ = std::fs::remove_dir_all(&dir);
    let text = stderr(&o);
    assert!(
        text.contains("E0414") && text.contains("is secret"),
        "{text}"
    );
    assert!(
        !text.contains("no(secret)") && !text.contains("(secre("),
        "{text}"
    );
}
