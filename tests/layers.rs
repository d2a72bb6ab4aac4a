//! The crate's layers import only downward: a module may use the modules
//! listed before it, never those after. Checked on the source text, so a
//! new upward import fails here with the file and the line.

use std::path::Path;

/// From the bottom up. A module's submodules belong to it.
const LAYERS: &[&str] = &[
    "units",
    "timestamp",
    "digest",
    "files",
    "build_context",
    "source",
    "diagnostic",
    "explain",
    "stdlib",
    "syntax",
    "format",
    "deployment",
    "resolve",
    "types",
    "eval",
    "lint",
    "graph",
    "driver",
    "compose",
    "engine",
    "plan",
    "apply",
    "status",
    "logs",
    "session",
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == module)
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a path after `crate::` names: `eval::x` or
/// `{eval, plan::Plan}` (a group on one line).
fn modules_named(rest: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    match rest.strip_prefix('{') {
        Some(group) => {
            let group = group.split('}').next().unwrap_or("");
            let mut depth = 0;
            let mut names = vec![ident(group)];
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => names.push(ident(&group[i + 1..])),
                    _ => {}
                }
            }
            names
        }
        None => vec![ident(rest)],
    }
}

#[test]
fn a_group_import_names_each_module() {
    assert_eq!(modules_named("eval::Value;"), ["eval"]);
    assert_eq!(modules_named("{eval, plan::Plan};"), ["eval", "plan"]);
}

#[test]
fn layers_import_only_downward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let own = first.trim_end_matches(".rs");
        // lib.rs and the command line (bin/) sit above every layer.
        let Some(own_layer) = layer_of(own) else {
            assert!(
                ["lib", "bin"].contains(&own),
                "{} is in no layer: add `{own}` to LAYERS",
                relative.display()
            );
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for (i, _) in line.match_indices("crate::") {
                for used in modules_named(&line[i + "crate::".len()..]) {
                    if let Some(used_layer) = layer_of(&used)
                        && used_layer > own_layer
                    {
                        upward.push(format!("{}:{}: {}", relative.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}
