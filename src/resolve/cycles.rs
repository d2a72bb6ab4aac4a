//! Static cycles: imports, and lets / parameter defaults / functions that use
//! each other. (Cycles through resources are found after evaluation, when
//! the resources built by loops are known.)

use indexmap::IndexMap;

use super::Program;
use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind, LoopVars, StrPart};

pub(super) fn check(program: &Program, errors: &mut Vec<Diagnostic>) {
    check_imports(program, errors);
    for module in &program.modules {
        check_definitions(module, errors);
    }
}

fn check_imports(program: &Program, errors: &mut Vec<Diagnostic>) {
    // Edges: module -> (imported module, span of the import path).
    let edges: Vec<Vec<(usize, Span)>> = program
        .modules
        .iter()
        .map(|m| m.imports.values().map(|i| (i.module.0, i.span)).collect())
        .collect();
    for cycle in find_cycles(&edges) {
        let names: Vec<&str> = cycle
            .iter()
            .map(|(n, _)| program.modules[*n].name.as_str())
            .collect();
        let path = format!("{} → {}", names.join(" → "), names[0]);
        let mut d = Diagnostic::new(
            ErrorCode::ImportCycle,
            format!("modules import each other in a cycle: {path}"),
        );
        for (i, (_, span)) in cycle.iter().enumerate() {
            d = d.label(*span, format!("imports `{}`", names[(i + 1) % names.len()]));
        }
        errors.push(d.help("move what both modules need into a third module"));
    }
}

/// A definition that can use others by name.
#[derive(Clone, Copy, PartialEq)]
enum Def {
    Let,
    Param,
    Fn,
}

fn check_definitions(module: &super::Module, errors: &mut Vec<Diagnostic>) {
    let mut defs: IndexMap<&str, (Def, Span, Vec<&Expr>)> = IndexMap::new();
    for (name, p) in &module.params {
        defs.insert(name, (Def::Param, p.name.span, p.default.iter().collect()));
    }
    for (name, l) in &module.lets {
        defs.insert(name, (Def::Let, l.name.span, vec![&l.value]));
    }
    for (name, f) in &module.fns {
        defs.insert(name, (Def::Fn, f.name.span, vec![&f.body]));
    }
    let mut edges: Vec<Vec<(usize, Span)>> = Vec::new();
    for (name, (def, _, exprs)) in &defs {
        let mut out = Vec::new();
        let mut locals: Vec<String> = Vec::new();
        if *def == Def::Fn
            && let Some(f) = module.fns.get(*name)
        {
            locals.extend(f.params.iter().map(|(p, _)| p.node.clone()));
        }
        for e in exprs {
            free_names(e, &mut locals, &mut |n, span| {
                if let Some(i) = defs.get_index_of(n) {
                    out.push((i, span));
                }
            });
        }
        edges.push(out);
    }
    for cycle in find_cycles(&edges) {
        let all_fns = cycle.iter().all(|(n, _)| defs[*n].0 == Def::Fn);
        let names: Vec<&str> = cycle
            .iter()
            .map(|(n, _)| *defs.get_index(*n).map_or(&"", |(k, _)| k))
            .collect();
        let mut path = names.join(" → ");
        path.push_str(" → ");
        path.push_str(names[0]);
        let (code, message) = if all_fns {
            (
                ErrorCode::RecursiveFunction,
                format!("functions cannot be recursive: {path}"),
            )
        } else {
            (
                ErrorCode::LetCycle,
                format!("definitions depend on each other in a cycle: {path}"),
            )
        };
        let mut d = Diagnostic::new(code, message);
        for (i, (_, span)) in cycle.iter().enumerate() {
            let user = names[i];
            let used = names[(i + 1) % names.len()];
            d = d.label(*span, format!("`{user}` uses `{used}` here"));
        }
        errors.push(d);
    }
}

/// Every name an expression uses that is not bound inside it, with its span.
pub(crate) fn free_names(e: &Expr, locals: &mut Vec<String>, f: &mut impl FnMut(&str, Span)) {
    match &e.kind {
        ExprKind::Name(n) => {
            if !locals.iter().any(|l| l == n) {
                f(n, e.span);
            }
        }
        ExprKind::Call(name, args) => {
            if !locals.iter().any(|l| l == &name.node) {
                f(&name.node, name.span);
            }
            for a in args {
                free_names(a, locals, f);
            }
        }
        ExprKind::Str(parts) => {
            for p in parts {
                if let StrPart::Interp(e) = p {
                    free_names(e, locals, f);
                }
            }
        }
        ExprKind::List(xs) => xs.iter().for_each(|x| free_names(x, locals, f)),
        ExprKind::Record(fields) => {
            for field in fields {
                if let crate::syntax::ast::Key::Str(k) = &field.key {
                    free_names(k, locals, f);
                }
                free_names(&field.value, locals, f);
            }
        }
        ExprKind::ListComp(c) | ExprKind::MapComp(c) => {
            free_names(&c.iter, locals, f);
            let n = bind(&c.vars, locals);
            if let Some(p) = &c.filter {
                free_names(p, locals, f);
            }
            if let Some(k) = &c.key {
                free_names(k, locals, f);
            }
            free_names(&c.value, locals, f);
            locals.truncate(locals.len() - n);
        }
        ExprKind::Member(base, _) | ExprKind::OptMember(base, _) => free_names(base, locals, f),
        ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
            free_names(a, locals, f);
            free_names(b, locals, f);
        }
        ExprKind::Unary(_, a) => free_names(a, locals, f),
        ExprKind::If(a, b, c) => {
            free_names(a, locals, f);
            free_names(b, locals, f);
            free_names(c, locals, f);
        }
        ExprKind::Null
        | ExprKind::Bool(_)
        | ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Duration(_)
        | ExprKind::Size(_) => {}
    }
}

fn bind(vars: &LoopVars, locals: &mut Vec<String>) -> usize {
    locals.push(vars.value.node.clone());
    if let Some(k) = &vars.key {
        locals.push(k.node.clone());
        2
    } else {
        1
    }
}

/// Elementary cycles found by depth-first search, each reported once, as
/// (node, span of the edge to the next node) in order.
pub(crate) fn find_cycles(edges: &[Vec<(usize, Span)>]) -> Vec<Vec<(usize, Span)>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        Active,
        Done,
    }
    let mut state = vec![State::New; edges.len()];
    let mut cycles = Vec::new();
    for start in 0..edges.len() {
        if state[start] != State::New {
            continue;
        }
        // Iterative DFS: (node, next edge index); `path` holds edges taken.
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        let mut path: Vec<(usize, Span)> = Vec::new();
        state[start] = State::Active;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&(to, span)) = edges[node].get(*next) {
                *next += 1;
                match state.get(to).copied() {
                    Some(State::New) => {
                        state[to] = State::Active;
                        path.push((node, span));
                        stack.push((to, 0));
                    }
                    Some(State::Active) => {
                        let mut cycle: Vec<(usize, Span)> = Vec::new();
                        let from = path
                            .iter()
                            .position(|(n, _)| *n == to)
                            .unwrap_or(path.len());
                        cycle.extend_from_slice(&path[from..]);
                        cycle.push((node, span));
                        cycles.push(cycle);
                    }
                    _ => {}
                }
            } else {
                state[node] = State::Done;
                stack.pop();
                path.pop();
            }
        }
    }
    cycles
}
