//! Repeated values become `let`s: a secret's file record copied into each
//! service, a logging or health block written in several (often a YAML
//! anchor in the Compose file), a long value several services share.

use std::collections::HashMap;

use super::Importer;
use crate::compose::text::{Expr, Field, Part};

/// Fields whose whole value may be shared.
const SHAREABLE: &[&str] = &[
    "logging",
    "health",
    "ulimits",
    "labels",
    "env",
    "extra_hosts",
    "dns",
    "dns_search",
    "security_opt",
    "cap_add",
    "cap_drop",
    "sysctls",
    "devices",
    "command",
    "entrypoint",
];

/// Shorter values are clearer written out.
const MIN_WHOLE: usize = 24;
const MIN_STRING: usize = 10;

pub(super) fn hoist(importer: &mut Importer) {
    let mut lets: Vec<(String, Expr, String)> = Vec::new();
    files(importer, &mut lets);
    whole_fields(importer, &mut lets);
    env_strings(importer, &mut lets);
    let mut out = String::new();
    for (name, value, comment) in lets {
        out.push_str(&format!("# {comment}\n"));
        let head = format!("let {name} = ");
        let used = head.len();
        out.push_str(&head);
        out.push_str(&value.render(0, used));
        out.push('\n');
    }
    importer.lets_text = out;
}

fn users(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// File records in `files` lists, the same in several services.
fn files(importer: &mut Importer, lets: &mut Vec<(String, Expr, String)>) {
    let mut seen: HashMap<String, (Expr, Vec<String>)> = HashMap::new();
    let mut order = Vec::new();
    for (_, name, fields, _) in &importer.resources {
        for f in fields.iter().filter(|f| f.key == "files") {
            if let Expr::List(items) = &f.value {
                for item in items {
                    let text = item.inline();
                    let entry = seen.entry(text.clone()).or_insert_with(|| {
                        order.push(text.clone());
                        (item.clone(), Vec::new())
                    });
                    entry.1.push(name.clone());
                }
            }
        }
    }
    for text in order {
        let Some((item, names)) = seen.remove(&text) else {
            continue;
        };
        if names.len() < 2 {
            continue;
        }
        let target = match &item {
            Expr::Record(fields) => fields
                .iter()
                .find(|f| f.key == "target")
                .and_then(|f| f.value.as_lit())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let base = target.rsplit('/').next().unwrap_or("file").to_string();
        let name = importer.fresh(&format!("{base}_file"));
        replace(importer, |f| {
            if f.key == "files"
                && let Expr::List(items) = &mut f.value
            {
                for i in items.iter_mut() {
                    if i.inline() == text {
                        *i = Expr::raw(name.clone());
                    }
                }
            }
        });
        lets.push((name, item, format!("the same file in {}", users(&names))));
    }
}

/// A whole field's value written the same in several services.
fn whole_fields(importer: &mut Importer, lets: &mut Vec<(String, Expr, String)>) {
    let mut seen: HashMap<(String, String), (Expr, Vec<String>)> = HashMap::new();
    let mut order = Vec::new();
    for (_, name, fields, _) in &importer.resources {
        for f in fields
            .iter()
            .filter(|f| SHAREABLE.contains(&f.key.as_str()))
        {
            let text = f.value.inline();
            if text.len() < MIN_WHOLE || matches!(f.value, Expr::Raw(_)) {
                continue;
            }
            let key = (f.key.clone(), text);
            let entry = seen.entry(key.clone()).or_insert_with(|| {
                order.push(key.clone());
                (f.value.clone(), Vec::new())
            });
            entry.1.push(name.clone());
        }
    }
    for key in order {
        let Some((value, names)) = seen.remove(&key) else {
            continue;
        };
        if names.len() < 2 {
            continue;
        }
        let name = importer.fresh(&key.0);
        replace(importer, |f| {
            if f.key == key.0 && f.value.inline() == key.1 {
                f.value = Expr::raw(name.clone());
            }
        });
        lets.push((name, value, format!("`{}` of {}", key.0, users(&names))));
    }
}

/// A long string in `env` that several variables hold.
fn env_strings(importer: &mut Importer, lets: &mut Vec<(String, Expr, String)>) {
    let mut seen: HashMap<String, (String, usize)> = HashMap::new();
    let mut order = Vec::new();
    for (_, _, fields, _) in &importer.resources {
        for f in fields.iter().filter(|f| f.key == "env") {
            let Expr::Record(vars) = &f.value else {
                continue;
            };
            for v in vars {
                let Some(lit) = v.value.as_lit() else {
                    continue;
                };
                if lit.len() < MIN_STRING {
                    continue;
                }
                let entry = seen.entry(lit.clone()).or_insert_with(|| {
                    order.push(lit.clone());
                    (v.key.clone(), 0)
                });
                entry.1 += 1;
            }
        }
    }
    for lit in order {
        let Some((first_key, count)) = seen.remove(&lit) else {
            continue;
        };
        if count < 2 {
            continue;
        }
        let name = importer.fresh(&first_key);
        replace(importer, |f| {
            if f.key == "env"
                && let Expr::Record(vars) = &mut f.value
            {
                for v in vars.iter_mut() {
                    if v.value.as_lit().as_deref() == Some(lit.as_str()) {
                        v.value = Expr::Text(vec![Part::Ref(name.clone())]);
                    }
                }
            }
        });
        lets.push((
            name,
            Expr::lit(&lit),
            format!("written {count} times in compose.yaml"),
        ));
    }
}

fn replace(importer: &mut Importer, mut edit: impl FnMut(&mut Field)) {
    for (_, _, fields, _) in importer.resources.iter_mut() {
        for f in fields.iter_mut() {
            edit(f);
        }
    }
}
