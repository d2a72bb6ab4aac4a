//! `stackc graph`: the deployment's resources and what each depends on, as
//! Graphviz DOT or a Mermaid flowchart. Nodes are addresses; the resources
//! of a module instance are drawn in a cluster (a subgraph) named after the
//! instance, nested as instances are; an edge goes from a resource to what
//! it depends on, labelled with the condition when it is not `started`.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::deployment::{Condition, Deployment, Kind, Resource};

/// Instances and the resources directly in them, by instance address.
#[derive(Default)]
struct Cluster<'d> {
    resources: Vec<&'d Resource>,
    children: BTreeMap<String, Cluster<'d>>,
}

/// `postgres.db.container.server` → (["postgres.db"], "container.server").
/// Instance addresses come in pairs (module alias, instance name) until a kind.
fn split(address: &str) -> (Vec<String>, &str) {
    let mut instances = Vec::new();
    let mut rest = address;
    loop {
        let (first, tail) = rest.split_once('.').unwrap_or((rest, ""));
        if Kind::parse(first).is_some() || tail.is_empty() {
            return (instances, rest);
        }
        let Some((name, after)) = tail.split_once('.') else {
            return (instances, rest);
        };
        let prefix = &address[..address.len() - rest.len()];
        instances.push(format!("{prefix}{first}.{name}"));
        rest = after;
    }
}

fn clusters(d: &Deployment) -> Cluster<'_> {
    let mut root = Cluster::default();
    for r in &d.resources {
        let (instances, _) = split(&r.address);
        let mut at = &mut root;
        for i in instances {
            at = at.children.entry(i).or_default();
        }
        at.resources.push(r);
    }
    root
}

fn condition(c: Condition) -> Option<&'static str> {
    match c {
        Condition::Started => None,
        Condition::Healthy => Some("healthy"),
        Condition::Completed => Some("completed"),
    }
}

fn dot_shape(kind: Kind) -> &'static str {
    match kind {
        Kind::Container => "box",
        Kind::Service => "box3d",
        Kind::Image => "component",
        Kind::Volume => "cylinder",
        Kind::Network => "ellipse",
    }
}

/// A DOT string literal.
fn dot_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The graph as Graphviz DOT (`stackc graph | dot -Tsvg > stack.svg`).
pub fn dot(d: &Deployment) -> String {
    let mut out = format!("digraph {} {{\n", dot_quote(&d.stack));
    out.push_str("  rankdir = \"LR\";\n  node [fontname = \"Helvetica\"];\n");
    dot_cluster(&clusters(d), "", 1, &mut out);
    for r in &d.resources {
        for dep in &r.depends_on {
            let label = condition(dep.condition)
                .map(|c| format!(" [label = {}]", dot_quote(c)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} -> {}{label};",
                dot_quote(&r.address),
                dot_quote(&dep.address)
            );
        }
    }
    out.push_str("}\n");
    out
}

fn dot_cluster(cluster: &Cluster<'_>, prefix: &str, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    for r in &cluster.resources {
        // Inside a cluster the instance is its label; the node says the rest.
        let label = r.address.strip_prefix(prefix).unwrap_or(&r.address);
        let _ = writeln!(
            out,
            "{indent}{} [shape = {}, label = {}];",
            dot_quote(&r.address),
            dot_shape(r.kind),
            dot_quote(label)
        );
    }
    for (name, child) in &cluster.children {
        let _ = writeln!(
            out,
            "{indent}subgraph {} {{",
            dot_quote(&format!("cluster_{name}"))
        );
        let label = name.strip_prefix(prefix).unwrap_or(name);
        let _ = writeln!(out, "{indent}  label = {};", dot_quote(label));
        dot_cluster(child, &format!("{name}."), depth + 1, out);
        let _ = writeln!(out, "{indent}}}");
    }
}

/// Mermaid's text in `["…"]`: quotes as entities.
fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;")
}

/// The graph as a Mermaid flowchart (GitHub and GitLab render it in Markdown).
pub fn mermaid(d: &Deployment) -> String {
    // Mermaid ids are plain words: n0, n1, … in address order.
    let ids: BTreeMap<&str, String> = d
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.address.as_str(), format!("n{i}")))
        .collect();
    let mut out = String::from("flowchart LR\n");
    let mut next_cluster = 0;
    mermaid_cluster(&clusters(d), "", 1, &ids, &mut next_cluster, &mut out);
    for r in &d.resources {
        for dep in &r.depends_on {
            let (Some(from), Some(to)) =
                (ids.get(r.address.as_str()), ids.get(dep.address.as_str()))
            else {
                continue;
            };
            match condition(dep.condition) {
                Some(c) => {
                    let _ = writeln!(out, "  {from} -->|{c}| {to}");
                }
                None => {
                    let _ = writeln!(out, "  {from} --> {to}");
                }
            }
        }
    }
    out
}

fn mermaid_cluster(
    cluster: &Cluster<'_>,
    prefix: &str,
    depth: usize,
    ids: &BTreeMap<&str, String>,
    next: &mut usize,
    out: &mut String,
) {
    let indent = "  ".repeat(depth);
    for r in &cluster.resources {
        let label = r.address.strip_prefix(prefix).unwrap_or(&r.address);
        let (open, close) = match r.kind {
            Kind::Volume => ("[(", ")]"),
            Kind::Network => ("([", "])"),
            Kind::Image => ("[[", "]]"),
            Kind::Container | Kind::Service => ("[", "]"),
        };
        let _ = writeln!(
            out,
            "{indent}{}{open}\"{}\"{close}",
            ids[r.address.as_str()],
            mermaid_text(label)
        );
    }
    for (name, child) in &cluster.children {
        let label = name.strip_prefix(prefix).unwrap_or(name);
        let _ = writeln!(out, "{indent}subgraph c{next}[\"{}\"]", mermaid_text(label));
        *next += 1;
        mermaid_cluster(child, &format!("{name}."), depth + 1, ids, next, out);
        let _ = writeln!(out, "{indent}end");
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn addresses_split_into_instances_and_the_rest() {
        assert_eq!(split("container.web"), (vec![], "container.web"));
        assert_eq!(
            split("postgres.db.container.server"),
            (vec!["postgres.db".to_string()], "container.server")
        );
        assert_eq!(
            split("app.a.redis.cache.volume.data"),
            (
                vec!["app.a".to_string(), "app.a.redis.cache".to_string()],
                "volume.data"
            )
        );
    }
}
