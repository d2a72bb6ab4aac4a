//! Evaluation: from the checked program to the deployment.
//!
//! Everything is lazy and memoized: a `let`, a parameter, a resource or an
//! output is computed when first needed, and a value needed while it is
//! being computed is a cycle. The resources of a module instance (its
//! *structure*) are found by expanding its `for` and `if` items, so names
//! built by loops are known before any resource is evaluated.
//!
//! Dependencies between resources are the references made while a
//! resource's fields are evaluated, through any chain of lets, outputs and
//! parameters, plus its explicit `depends_on`.

pub mod builtins;
mod conform;
mod normalize;
pub mod value;
mod vars;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use indexmap::IndexMap;

use self::conform::{Mismatch, conform};
use self::value::{InstanceRef, Map, ResourceRef, Show, Value};
pub use self::vars::{VarInput, VarValue, needs_literal};
use crate::deployment::{self, Condition, Dependency, Deployment, OutputValue, Resource, schema};
use crate::diagnostic::{Diagnostic, ErrorCode, did_you_mean};
use crate::resolve::{Module, Program};
use crate::source::{SourceMap, Span};
use crate::syntax::ast::*;
use crate::types::check::resolve_type;
use crate::types::{Kind, Type};
use crate::units::format_duration;

/// Maps with a fixed fast hasher: deterministic, and much faster than SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// An error already reported; evaluation of the value stops.
#[derive(Debug, Clone, Copy)]
pub struct Reported;

type R<T> = Result<T, Reported>;

/// Evaluates the program into a deployment.
pub fn evaluate(
    program: &Program,
    sources: &SourceMap,
    vars: &[VarInput],
) -> Result<Deployment, Vec<Diagnostic>> {
    let mut ev = Evaluator::new(program, sources, vars);
    let deployment = ev.run();
    match deployment {
        Some(d) if ev.errors.is_empty() => Ok(d),
        _ => Err(ev.errors),
    }
}

type Deps = Rc<BTreeSet<Rc<str>>>;

#[derive(Clone)]
enum Memo {
    Running,
    Done(R<Value>, Deps),
}

/// A scope made by a `for` iteration or an `if` branch.
struct Frame<'p> {
    id: usize,
    parent: Env<'p>,
    vars: Vec<(&'p str, Value, Deps)>,
    lets: Vec<(&'p Let, RefCell<Option<Memo>>)>,
}

type Env<'p> = Option<Rc<Frame<'p>>>;

/// Expression-local bindings: comprehension variables and function parameters.
type Locals<'p> = Vec<(&'p str, Value)>;

struct ResourceDeclared<'p> {
    inst: usize,
    kind: Kind,
    decl: &'p ResourceDecl,
    env: Env<'p>,
    address: Rc<str>,
    docker_name: Rc<str>,
}

struct InstanceDeclared<'p> {
    decl: &'p ResourceDecl,
    env: Env<'p>,
    child: usize,
}

/// What a module instance declares once its loops and conditions are expanded.
#[derive(Default, Clone)]
struct Structure<'p> {
    resources: IndexMap<(Kind, String), Rc<ResourceDeclared<'p>>>,
    instances: IndexMap<(String, String), Rc<InstanceDeclared<'p>>>,
    outputs: IndexMap<String, (&'p Output, Env<'p>)>,
    asserts: Vec<(&'p Assert, Env<'p>)>,
    frames: Vec<Rc<Frame<'p>>>,
}

enum StructState<'p> {
    New,
    /// Loops and conditions are being expanded; what is known already: the
    /// resources and instances declared outside them.
    Building(Rc<Structure<'p>>),
    Built(Rc<Structure<'p>>),
}

struct Instance<'p> {
    module: &'p Module,
    /// `""` for the root, `"postgres.db."` inside instance `db` of `postgres`.
    address_prefix: String,
    /// `"shop"`, or `"shop-db"` inside instance `db`.
    name_prefix: String,
    /// The instance's declaration in its parent, whose fields are the parameters.
    parent: Option<(usize, Rc<InstanceDeclared<'p>>)>,
    address: Rc<str>,
    params: HashMap<&'p str, Memo>,
    lets: HashMap<&'p str, Memo>,
    outputs: HashMap<String, Memo>,
    structure: StructState<'p>,
}

#[derive(Clone)]
enum ResourceMemo {
    Running,
    Done(R<Rc<Resource>>),
}

/// A node being computed, for naming cycles.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Node<'p> {
    Param(usize, &'p str),
    /// Instance, frame (0 for the top level), name.
    Let(usize, usize, &'p str),
    Output(usize, Rc<str>),
    Resource(Rc<str>),
    Structure(usize),
}

/// Looks up `(Kind, String)` keys by `(Kind, &str)` without allocating.
#[derive(Hash)]
struct ResourceKey<'a>(Kind, &'a str);

impl indexmap::Equivalent<(Kind, String)> for ResourceKey<'_> {
    fn equivalent(&self, key: &(Kind, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

struct Evaluator<'p> {
    program: &'p Program,
    sources: &'p SourceMap,
    stack: String,
    vars: HashMap<&'p str, &'p VarInput>,
    instances: Vec<Instance<'p>>,
    active: Vec<Node<'p>>,
    /// The same nodes, for constant-time cycle checks on deep chains.
    active_set: std::collections::HashSet<Node<'p>, foldhash::fast::FixedState>,
    /// Every declared resource, by address.
    addresses: HashMap<Rc<str>, Rc<ResourceDeclared<'p>>>,
    /// Evaluated resources, by address.
    resources: HashMap<Rc<str>, ResourceMemo>,
    collectors: Vec<BTreeSet<Rc<str>>>,
    next_frame: usize,
    errors: Vec<Diagnostic>,
}

impl<'p> Evaluator<'p> {
    fn new(program: &'p Program, sources: &'p SourceMap, vars: &'p [VarInput]) -> Self {
        Evaluator {
            program,
            sources,
            stack: String::new(),
            vars: vars.iter().map(|v| (v.name.as_str(), v)).collect(),
            instances: Vec::new(),
            active: Vec::new(),
            active_set: Default::default(),
            addresses: HashMap::default(),
            resources: HashMap::default(),
            collectors: Vec::new(),
            next_frame: 1,
            errors: Vec::new(),
        }
    }

    fn error(&mut self, d: Diagnostic) -> Reported {
        self.errors.push(d);
        Reported
    }

    fn run(&mut self) -> Option<Deployment> {
        let root = self.program.root();
        self.stack = self.stack_name(root)?;
        self.check_vars(root);
        self.instances.push(Instance {
            module: root,
            address_prefix: String::new(),
            name_prefix: self.stack.clone(),
            parent: None,
            address: "".into(),
            params: HashMap::default(),
            lets: HashMap::default(),
            outputs: HashMap::default(),
            structure: StructState::New,
        });
        // Expanding an instance adds its children, so this walks the whole tree.
        let mut i = 0;
        while i < self.instances.len() {
            let _ = self.structure(i, None);
            i += 1;
        }
        for i in 0..self.instances.len() {
            self.evaluate_all(i);
        }
        if !self.errors.is_empty() {
            return None;
        }
        let outputs = self.root_outputs();
        // Sorted by address; the (large) resources are moved once, not sorted.
        let mut built: Vec<(Rc<str>, Rc<Resource>)> = self
            .resources
            .drain()
            .filter_map(|(address, memo)| match memo {
                ResourceMemo::Done(Ok(r)) => Some((address, r)),
                _ => None,
            })
            .collect();
        built.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let resources: Vec<Resource> = built
            .into_iter()
            .map(|(_, r)| Rc::try_unwrap(r).unwrap_or_else(|shared| (*shared).clone()))
            .collect();
        self.check_graph(&resources);
        self.check_names(&resources);
        Some(Deployment {
            format_version: deployment::FORMAT_VERSION,
            stack: self.stack.clone(),
            resources,
            outputs,
        })
    }

    fn stack_name(&mut self, root: &Module) -> Option<String> {
        if let Some(name) = &root.stack_name {
            if !valid_name(&name.node) {
                self.error(invalid_name("stack name", &name.node, name.span));
                return None;
            }
            return Some(name.node.clone());
        }
        let dir = root.dir_name.clone().unwrap_or_default();
        let derived: String = dir
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .trim_matches(['-', '_'])
            .to_string();
        if valid_name(&derived) {
            Some(derived)
        } else {
            self.error(
                Diagnostic::new(
                    ErrorCode::InvalidName,
                    format!("cannot name the stack after the directory `{dir}`"),
                )
                .help("name it in main.stack: `stack \"myapp\"`"),
            );
            None
        }
    }

    fn check_vars(&mut self, root: &'p Module) {
        let unknown: Vec<&VarInput> = self
            .vars
            .values()
            .filter(|v| !root.params.contains_key(&v.name))
            .copied()
            .collect();
        for v in unknown {
            let mut d = Diagnostic::new(
                ErrorCode::InvalidVariable,
                format!("the stack has no parameter `{}`", v.name),
            )
            .label(v.span, "set here");
            d.help = did_you_mean(&v.name, root.params.keys().map(String::as_str)).or_else(|| {
                let names: Vec<&str> = root.params.keys().map(String::as_str).collect();
                Some(if names.is_empty() {
                    "the stack has no parameters".into()
                } else {
                    format!("its parameters are: {}", names.join(", "))
                })
            });
            self.errors.push(d);
        }
    }

    /// Evaluates everything an instance declares, so every error is found.
    fn evaluate_all(&mut self, inst: usize) {
        let module = self.instances[inst].module;
        for name in module.params.keys() {
            let _ = self.param(inst, name, module.params[name].name.span);
        }
        for name in module.lets.keys() {
            let _ = self.top_let(inst, name, module.lets[name].name.span);
        }
        let Ok(structure) = self.structure(inst, None) else {
            return;
        };
        for frame in &structure.frames {
            for i in 0..frame.lets.len() {
                let _ = self.frame_let(inst, frame, i, frame.lets[i].0.name.span);
            }
        }
        for decl in structure.resources.values() {
            let _ = self.resource(decl, decl.decl.name.span);
        }
        for name in structure.outputs.keys() {
            let span = structure.outputs[name].0.name.span;
            let _ = self.output(inst, name, span);
        }
        for (assert, env) in &structure.asserts {
            self.assertion(inst, assert, env);
        }
    }

    fn assertion(&mut self, inst: usize, assert: &'p Assert, env: &Env<'p>) {
        let mut locals = Vec::new();
        let Ok(cond) = self.eval(inst, env, &mut locals, &assert.cond) else {
            return;
        };
        match cond {
            Value::Bool(true) => {}
            Value::Bool(false) => {
                let message = match self.eval(inst, env, &mut locals, &assert.message) {
                    Ok(Value::Str(s)) if s.secret => "(secret)".to_string(),
                    Ok(Value::Str(s)) => s.text.to_string(),
                    Ok(v) => Show(&v).to_string(),
                    Err(_) => return,
                };
                self.error(
                    Diagnostic::new(
                        ErrorCode::AssertionFailed,
                        format!("assertion failed: {message}"),
                    )
                    .label(assert.cond.span, "this is false"),
                );
            }
            other => {
                self.error(expected_bool(&other, assert.cond.span));
            }
        }
    }

    // ------------------------------------------------------------ cycles and dependencies

    /// Marks `node` as being computed; on a cycle reports it and fails.
    fn enter(&mut self, node: Node<'p>, span: Span) -> R<()> {
        if self.active_set.contains(&node) {
            if let Node::Structure(inst) = node {
                // A loop head or condition that needs the resources being declared.
                let what = self.instance_label(inst);
                return Err(self.error(
                    Diagnostic::new(
                        ErrorCode::EvalCycle,
                        format!("a `for` or `if` of {what} refers to the resources that the `for`s and `if`s declare"),
                    )
                    .label(span, "needs the resources while they are being declared")
                    .help("loop over values that do not come from this module's resources"),
                ));
            }
            let pos = self.active.iter().position(|n| *n == node).unwrap_or(0);
            let label = self.label(&node);
            let mut path: Vec<String> = self.active[pos..].iter().map(|n| self.label(n)).collect();
            path.push(label.clone());
            let message = format!("{label} depends on itself: {}", path.join(" → "));
            return Err(self.error(
                Diagnostic::new(ErrorCode::EvalCycle, message)
                    .label(
                        span,
                        format!("{label} is needed here while it is being computed"),
                    )
                    .help("break the cycle: one of these values must not need the other"),
            ));
        }
        self.active_set.insert(node.clone());
        self.active.push(node);
        Ok(())
    }

    fn label(&self, node: &Node<'p>) -> String {
        match node {
            Node::Param(_, name) => format!("parameter `{name}`"),
            Node::Let(_, _, name) => format!("`{name}`"),
            Node::Output(_, name) => format!("output `{name}`"),
            Node::Resource(address) => format!("`{address}`"),
            Node::Structure(inst) => format!("the resources of {}", self.instance_label(*inst)),
        }
    }

    fn leave(&mut self) {
        if let Some(node) = self.active.pop() {
            self.active_set.remove(&node);
        }
    }

    fn record(&mut self, deps: &BTreeSet<Rc<str>>) {
        if let Some(top) = self.collectors.last_mut() {
            top.extend(deps.iter().cloned());
        }
    }

    fn record_one(&mut self, address: &Rc<str>) {
        if let Some(top) = self.collectors.last_mut() {
            top.insert(address.clone());
        }
    }

    /// Computes a value while collecting the resources it refers to.
    fn collecting<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> (T, Deps) {
        self.collectors.push(BTreeSet::new());
        let out = f(self);
        let deps = self.collectors.pop().unwrap_or_default();
        self.record(&deps);
        (out, Rc::new(deps))
    }

    // ------------------------------------------------------------ structure

    /// Everything the instance declares; needing it while its loops and
    /// conditions are being expanded is a cycle.
    fn structure(&mut self, inst: usize, use_span: Option<Span>) -> R<Rc<Structure<'p>>> {
        match self.known(inst, use_span)? {
            (s, true) => Ok(s),
            (_, false) => Err(self.structure_cycle(inst, use_span)),
        }
    }

    /// What the instance declares so far, and whether that is all of it.
    fn known(&mut self, inst: usize, use_span: Option<Span>) -> R<(Rc<Structure<'p>>, bool)> {
        match &self.instances[inst].structure {
            StructState::Built(s) => return Ok((s.clone(), true)),
            StructState::Building(partial) => return Ok((partial.clone(), false)),
            StructState::New => {}
        }
        let span = use_span.unwrap_or_else(|| Span::new(self.instances[inst].module.source, 0, 0));
        self.enter(Node::Structure(inst), span)?;
        self.instances[inst].structure = StructState::Building(Rc::default());
        let module = self.instances[inst].module;
        // What names, loop heads and conditions refer to is not a dependency of whoever asked.
        self.collectors.push(BTreeSet::new());
        // First what is declared outside loops and conditions: loop heads may refer to it.
        let mut s = Structure::default();
        let mut ok = true;
        for item in &module.body {
            if let Item::Resource(r) = item {
                ok &= self.declare(inst, r, &None, &mut s).is_ok();
            }
        }
        self.instances[inst].structure = StructState::Building(Rc::new(s.clone()));
        ok &= self.expand(inst, &module.body, None, &mut s, true).is_ok();
        self.collectors.pop();
        self.leave();
        let s = Rc::new(s);
        self.instances[inst].structure = StructState::Built(s.clone());
        if ok { Ok((s, true)) } else { Err(Reported) }
    }

    fn structure_cycle(&mut self, inst: usize, use_span: Option<Span>) -> Reported {
        let span = use_span.unwrap_or_else(|| {
            let module = self.instances[inst].module;
            module
                .body
                .first()
                .map_or(Span::new(module.source, 0, 0), Item::span)
        });
        match self.enter(Node::Structure(inst), span) {
            Err(reported) => reported,
            Ok(()) => {
                self.leave();
                Reported
            }
        }
    }

    fn instance_label(&self, inst: usize) -> String {
        if inst == 0 {
            format!("stack `{}`", self.stack)
        } else {
            format!("`{}`", self.instances[inst].address)
        }
    }

    fn new_frame(
        &mut self,
        parent: Env<'p>,
        vars: Vec<(&'p str, Value, Deps)>,
        block: &'p [Item],
    ) -> Rc<Frame<'p>> {
        let lets = block
            .iter()
            .filter_map(|i| {
                if let Item::Let(l) = i {
                    Some((l, RefCell::new(None)))
                } else {
                    None
                }
            })
            .collect();
        let id = self.next_frame;
        self.next_frame += 1;
        Rc::new(Frame {
            id,
            parent,
            vars,
            lets,
        })
    }

    /// Declares what `items` declare; `declared` when their plain resources already are.
    fn expand(
        &mut self,
        inst: usize,
        items: &'p [Item],
        env: Env<'p>,
        s: &mut Structure<'p>,
        declared: bool,
    ) -> R<()> {
        let mut ok = true;
        for item in items {
            let r = match item {
                Item::Resource(_) if declared => Ok(()),
                Item::Resource(r) => self.declare(inst, r, &env, s),
                Item::For(f) => self.expand_for(inst, f, &env, s),
                Item::If(i) => {
                    let mut locals = Vec::new();
                    match self.eval(inst, &env, &mut locals, &i.cond) {
                        Ok(Value::Bool(c)) => {
                            let block = if c { &i.then } else { &i.otherwise };
                            let frame = self.new_frame(env.clone(), Vec::new(), block);
                            if !frame.lets.is_empty() {
                                s.frames.push(frame.clone());
                            }
                            self.expand(inst, block, Some(frame), s, false)
                        }
                        Ok(other) => Err(self.error(expected_bool(&other, i.cond.span))),
                        Err(e) => Err(e),
                    }
                }
                Item::Output(o) => {
                    let mut locals = Vec::new();
                    match self.eval(inst, &env, &mut locals, &o.name) {
                        Ok(v) => match self.name_text(&v, o.name.span, "output name") {
                            Ok(name) => {
                                if s.outputs.contains_key(&name) {
                                    let first = s.outputs[&name].0.name.span;
                                    Err(self.error(
                                        Diagnostic::new(
                                            ErrorCode::Duplicate,
                                            format!("output `{name}` is defined twice"),
                                        )
                                        .label(o.name.span, "defined again here")
                                        .label(first, "first defined here"),
                                    ))
                                } else {
                                    s.outputs.insert(name, (o, env.clone()));
                                    Ok(())
                                }
                            }
                            Err(e) => Err(e),
                        },
                        Err(e) => Err(e),
                    }
                }
                Item::Assert(a) => {
                    s.asserts.push((a, env.clone()));
                    Ok(())
                }
                _ => Ok(()),
            };
            ok &= r.is_ok();
        }
        if ok { Ok(()) } else { Err(Reported) }
    }

    fn expand_for(
        &mut self,
        inst: usize,
        f: &'p ForItems,
        env: &Env<'p>,
        s: &mut Structure<'p>,
    ) -> R<()> {
        let mut locals = Vec::new();
        let (iter, deps) = self.collecting(|ev| ev.eval(inst, env, &mut locals, &f.iter));
        let pairs = self.iteration(iter?, &f.vars, f.iter.span)?;
        let mut ok = true;
        for (key, value) in pairs {
            let mut vars = vec![(f.vars.value.node.as_str(), value, deps.clone())];
            if let Some(k) = &f.vars.key {
                vars.push((k.node.as_str(), key, deps.clone()));
            }
            let frame = self.new_frame(env.clone(), vars, &f.body);
            if !frame.lets.is_empty() {
                s.frames.push(frame.clone());
            }
            ok &= self.expand(inst, &f.body, Some(frame), s, false).is_ok();
        }
        if ok { Ok(()) } else { Err(Reported) }
    }

    /// The (key, value) pairs a loop visits: (index, item) for lists, (key, value) for maps.
    fn iteration(&mut self, v: Value, vars: &LoopVars, span: Span) -> R<Vec<(Value, Value)>> {
        match v {
            Value::List(xs) => Ok(xs
                .iter()
                .enumerate()
                .map(|(i, x)| (Value::Int(i as i64), x.clone()))
                .collect()),
            Value::Map(m) => {
                if vars.key.is_none() {
                    return Err(self.error(
                        Diagnostic::new(
                            ErrorCode::TypeMismatch,
                            "a loop over a map needs two variables",
                        )
                        .label(span, "this is a map")
                        .help("write `for key, value in …`, or loop over `keys(…)` or `values(…)`"),
                    ));
                }
                Ok(m.iter()
                    .map(|(k, v)| (Value::str(k.as_str()), v.clone()))
                    .collect())
            }
            other => Err(self.error(
                Diagnostic::new(
                    ErrorCode::TypeMismatch,
                    format!("cannot iterate over {}", other.describe()),
                )
                .label(span, format!("this is {}", other.describe())),
            )),
        }
    }

    /// A string used as a name: never secret.
    fn name_text(&mut self, v: &Value, span: Span, what: &str) -> R<String> {
        match v {
            Value::Str(s) if s.secret => Err(self.error(
                Diagnostic::new(
                    ErrorCode::SecretExposed,
                    format!("a secret cannot be used in a {what}"),
                )
                .label(span, "built from a secret")
                .help("names are shown in plans, logs and Docker; keep secrets in values"),
            )),
            Value::Str(s) => Ok(s.text.to_string()),
            other => Err(self.error(
                Diagnostic::new(
                    ErrorCode::TypeMismatch,
                    format!("a {what} must be a string, found {}", other.describe()),
                )
                .label(span, "here"),
            )),
        }
    }

    fn declare(
        &mut self,
        inst: usize,
        r: &'p ResourceDecl,
        env: &Env<'p>,
        s: &mut Structure<'p>,
    ) -> R<()> {
        let mut locals = Vec::new();
        let name_value = self.eval(inst, env, &mut locals, &r.name)?;
        let name = self.name_text(&name_value, r.name.span, "resource name")?;
        if !valid_name(&name) {
            return Err(self.error(invalid_name("resource name", &name, r.name.span)));
        }
        let prefix = self.instances[inst].address_prefix.clone();
        let name_prefix = self.instances[inst].name_prefix.clone();
        if let Some(kind) = Kind::parse(&r.kind.node) {
            if let Some(first) = s.resources.get(&ResourceKey(kind, &name)) {
                let first_span = first.decl.name.span;
                return Err(self.error(duplicate_resource(
                    &format!("{kind} \"{name}\""),
                    r.name.span,
                    first_span,
                )));
            }
            let declared = Rc::new(ResourceDeclared {
                inst,
                kind,
                decl: r,
                env: env.clone(),
                address: format!("{prefix}{kind}.{name}").into(),
                docker_name: format!("{name_prefix}-{name}").into(),
            });
            self.addresses
                .insert(declared.address.clone(), declared.clone());
            s.resources.insert((kind, name), declared);
            return Ok(());
        }
        let Some(import) = self.instances[inst].module.imports.get(&r.kind.node) else {
            return Err(Reported); // reported by the checker
        };
        let key = (r.kind.node.clone(), name.clone());
        if let Some(first) = s.instances.get(&key) {
            let first_span = first.decl.name.span;
            return Err(self.error(duplicate_resource(
                &format!("{} \"{name}\"", r.kind.node),
                r.name.span,
                first_span,
            )));
        }
        let child = self.instances.len();
        let declared = Rc::new(InstanceDeclared {
            decl: r,
            env: env.clone(),
            child,
        });
        self.instances.push(Instance {
            module: self.program.module(import.module),
            address_prefix: format!("{prefix}{}.{name}.", r.kind.node),
            name_prefix: format!("{name_prefix}-{name}"),
            parent: Some((inst, declared.clone())),
            address: format!("{prefix}{}.{name}", r.kind.node).into(),
            params: HashMap::default(),
            lets: HashMap::default(),
            outputs: HashMap::default(),
            structure: StructState::New,
        });
        s.instances.insert(key, declared);
        Ok(())
    }

    // ------------------------------------------------------------ named values

    fn param(&mut self, inst: usize, name: &str, use_span: Span) -> R<Value> {
        let module = self.instances[inst].module;
        let Some((key, param)) = module.params.get_key_value(name) else {
            return Err(Reported);
        };
        if let Some(memo) = self.instances[inst].params.get(key.as_str()) {
            return self.memo_hit(memo.clone(), Node::Param(inst, key), use_span);
        }
        self.enter(Node::Param(inst, key), use_span)?;
        self.instances[inst].params.insert(key, Memo::Running);
        let ty = resolve_type(&param.ty, &mut Vec::new());
        let (result, deps) = self.collecting(|ev| ev.param_value(inst, param, &ty));
        self.leave();
        self.instances[inst]
            .params
            .insert(key, Memo::Done(result.clone(), deps));
        result
    }

    fn param_value(&mut self, inst: usize, param: &'p Param, ty: &Type) -> R<Value> {
        let name = param.name.node.as_str();
        // A value given by the caller: --var for the root, a field for an instance.
        let given: Option<(Value, Span, Option<&'p Expr>)> = if inst == 0 {
            match self.vars.get(name).copied() {
                Some(var) => {
                    let expr = match &var.value {
                        VarValue::Expr(e) => Some(e),
                        _ => None,
                    };
                    Some((self.var_value(var, ty)?, var.span, expr))
                }
                None => None,
            }
        } else if let Some((parent, decl)) = self.instances[inst].parent.clone() {
            let field = decl
                .decl
                .fields
                .iter()
                .find(|f| f.key.static_name() == Some(name));
            match field {
                Some(field) => {
                    let mut locals = Vec::new();
                    let v = self.eval(parent, &decl.env, &mut locals, &field.value)?;
                    Some((v, field.value.span, Some(&field.value)))
                }
                None => None,
            }
        } else {
            None
        };
        let (value, span, expr) = match (given, &param.default) {
            (Some(given), _) => given,
            (None, Some(default)) => {
                let mut locals = Vec::new();
                (
                    self.eval(inst, &None, &mut locals, default)?,
                    default.span,
                    Some(default),
                )
            }
            (None, None) => {
                let help = if inst == 0 {
                    format!("pass `--var {name}=…` or put `{name} = …` in a --var-file")
                } else {
                    format!("set `{name} = …` in the module instance")
                };
                return Err(self.error(
                    Diagnostic::new(
                        ErrorCode::MissingParam,
                        format!("parameter `{name}` is not set"),
                    )
                    .label(param.name.span, format!("`{name}` has no default"))
                    .help(help),
                ));
            }
        };
        self.conform_expr(
            value,
            ty,
            span,
            expr,
            &|| format!("parameter `{name}`"),
            true,
        )
    }

    fn top_let(&mut self, inst: usize, name: &str, use_span: Span) -> R<Value> {
        let module = self.instances[inst].module;
        let Some((key, l)) = module.lets.get_key_value(name) else {
            return Err(Reported);
        };
        let node = Node::Let(inst, 0, key);
        if let Some(memo) = self.instances[inst].lets.get(key.as_str()) {
            return self.memo_hit(memo.clone(), node, use_span);
        }
        self.enter(node, use_span)?;
        self.instances[inst].lets.insert(key, Memo::Running);
        let (result, deps) = self.collecting(|ev| ev.let_value(inst, l, &None));
        self.leave();
        self.instances[inst]
            .lets
            .insert(key, Memo::Done(result.clone(), deps));
        result
    }

    fn frame_let(
        &mut self,
        inst: usize,
        frame: &Rc<Frame<'p>>,
        index: usize,
        use_span: Span,
    ) -> R<Value> {
        let (l, cell) = &frame.lets[index];
        let node = Node::Let(inst, frame.id, &l.name.node);
        let existing = cell.borrow().clone();
        if let Some(memo) = existing {
            return self.memo_hit(memo, node, use_span);
        }
        self.enter(node, use_span)?;
        *cell.borrow_mut() = Some(Memo::Running);
        let env = Some(frame.clone());
        let (result, deps) = self.collecting(|ev| ev.let_value(inst, l, &env));
        self.leave();
        *cell.borrow_mut() = Some(Memo::Done(result.clone(), deps));
        result
    }

    fn let_value(&mut self, inst: usize, l: &'p Let, env: &Env<'p>) -> R<Value> {
        let mut locals = Vec::new();
        let v = self.eval(inst, env, &mut locals, &l.value)?;
        match &l.ty {
            Some(te) => {
                let ty = resolve_type(te, &mut Vec::new());
                self.conform_expr(
                    v,
                    &ty,
                    l.value.span,
                    Some(&l.value),
                    &|| format!("`{}`", l.name.node),
                    true,
                )
            }
            None => Ok(v),
        }
    }

    fn memo_hit(&mut self, memo: Memo, node: Node<'p>, span: Span) -> R<Value> {
        match memo {
            Memo::Done(result, deps) => {
                self.record(&deps);
                result
            }
            Memo::Running => {
                self.enter(node, span)?;
                self.leave();
                Err(Reported)
            }
        }
    }

    fn output(&mut self, inst: usize, name: &str, use_span: Span) -> R<Value> {
        let node = Node::Output(inst, name.into());
        if let Some(memo) = self.instances[inst].outputs.get(name) {
            return self.memo_hit(memo.clone(), node, use_span);
        }
        let structure = self.structure(inst, Some(use_span))?;
        let Some((out, env)) = structure.outputs.get(name) else {
            let module = self.instances[inst].module;
            let mut d = Diagnostic::new(
                ErrorCode::NoSuchMember,
                format!("{} has no output `{name}`", self.instance_label(inst)),
            )
            .label(use_span, format!("module {}", module.name));
            d.help = did_you_mean(name, structure.outputs.keys().map(String::as_str));
            return Err(self.error(d));
        };
        self.enter(node, use_span)?;
        self.instances[inst]
            .outputs
            .insert(name.to_string(), Memo::Running);
        let (result, deps) = self.collecting(|ev| {
            let mut locals = Vec::new();
            ev.eval(inst, env, &mut locals, &out.value)
        });
        self.leave();
        self.instances[inst]
            .outputs
            .insert(name.to_string(), Memo::Done(result.clone(), deps));
        result
    }

    // ------------------------------------------------------------ resources

    fn find_resource(
        &mut self,
        inst: usize,
        kind: Kind,
        name: &str,
        span: Span,
    ) -> R<Rc<ResourceDeclared<'p>>> {
        let (structure, complete) = self.known(inst, Some(span))?;
        if let Some(d) = structure.resources.get(&ResourceKey(kind, name)) {
            return Ok(d.clone());
        }
        if !complete {
            return Err(self.structure_cycle(inst, Some(span)));
        }
        let names: Vec<&str> = structure
            .resources
            .keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, n)| n.as_str())
            .collect();
        Err(self.error(not_declared(
            &kind.to_string(),
            &format!("{kind}s"),
            name,
            &names,
            span,
        )))
    }

    fn resource_ref(&mut self, inst: usize, kind: Kind, name: &str, span: Span) -> R<Value> {
        let decl = self.find_resource(inst, kind, name, span)?;
        self.record_one(&decl.address);
        let yields = if kind == Kind::Image {
            let r = self.resource(&decl, span)?;
            r.name.as_str().into()
        } else {
            decl.docker_name.clone()
        };
        Ok(Value::Ref(Rc::new(ResourceRef {
            kind,
            address: decl.address.clone(),
            name: decl.docker_name.clone(),
            yields,
        })))
    }

    fn resource(&mut self, decl: &Rc<ResourceDeclared<'p>>, use_span: Span) -> R<Rc<Resource>> {
        let node = Node::Resource(decl.address.clone());
        match self.resources.get(&decl.address) {
            Some(ResourceMemo::Done(r)) => return r.clone(),
            Some(ResourceMemo::Running) => {
                self.enter(node, use_span)?;
                self.leave();
                return Err(Reported);
            }
            None => {}
        }
        self.enter(node, use_span)?;
        self.resources
            .insert(decl.address.clone(), ResourceMemo::Running);
        // The resource's own references must not leak into whoever asked for it.
        self.collectors.push(BTreeSet::new());
        let result = self.build_resource(decl);
        self.collectors.pop();
        self.leave();
        let result = result.map(Rc::new);
        self.resources
            .insert(decl.address.clone(), ResourceMemo::Done(result.clone()));
        result
    }

    fn build_resource(&mut self, decl: &ResourceDeclared<'p>) -> R<Resource> {
        let (inst, kind) = (decl.inst, decl.kind);
        let mut fields = normalize::Fields::default();
        let mut failed = false;
        for field in &decl.decl.fields {
            let Some(fname) = field.key.static_name() else {
                continue;
            };
            let Some(def) = schema::field_def(kind, fname) else {
                continue;
            };
            let mut locals = Vec::new();
            let value = self
                .eval(inst, &decl.env, &mut locals, &field.value)
                .and_then(|v| {
                    self.conform_expr(
                        v,
                        &def.accepted,
                        field.value.span,
                        Some(&field.value),
                        &|| format!("`{fname}`"),
                        false,
                    )
                });
            match value {
                Ok(v) => fields.push(fname, v, field.value.span),
                Err(_) => failed = true,
            }
        }
        let refs = self
            .collectors
            .last_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        if failed {
            return Err(Reported);
        }
        let module = self.instances[inst].module;
        let dir = self.sources.dir_of(module.source).map(|d| d.to_path_buf());
        let structure = self.structure(inst, None)?;
        let lookup = |kind: Kind, name: &str| {
            structure
                .resources
                .get(&ResourceKey(kind, name))
                .map(|d| (d.address.clone(), d.docker_name.clone()))
        };
        let ctx = normalize::Context {
            docker_name: &decl.docker_name,
            dir: dir.as_deref(),
            lookup: &lookup,
        };
        let normalized = match normalize::normalize(kind, &fields, &ctx) {
            Ok(n) => n,
            Err(errors) => {
                for e in errors {
                    let span = fields.span(&e.field).unwrap_or(decl.decl.name.span);
                    // Messages quote values; never a secret one.
                    let mut secrets = Vec::new();
                    if let Some(v) = fields.get(&e.field) {
                        secret_texts(v, &mut secrets);
                    }
                    let mut d = Diagnostic::new(e.code, mask(&e.message, &secrets))
                        .label(span, format!("in `{}`", e.field));
                    d.help = e.help.map(|h| mask(&h, &secrets));
                    self.errors.push(d);
                }
                return Err(Reported);
            }
        };
        // Dependencies: every reference made, short-form volumes, explicit depends_on.
        let mut deps: BTreeMap<Rc<str>, Condition> = BTreeMap::new();
        for a in refs.iter().chain(&normalized.implicit_deps) {
            deps.insert(a.clone(), Condition::Started);
        }
        if let Some(Value::List(items)) = fields.get("depends_on") {
            for item in items.iter() {
                let (target, condition) = match item {
                    Value::Map(m) => {
                        let c = m
                            .get("condition")
                            .and_then(|c| c.to_text())
                            .and_then(|(t, _)| Condition::parse(&t));
                        (
                            m.get("on").cloned().unwrap_or(Value::Null),
                            c.unwrap_or(Condition::Started),
                        )
                    }
                    v => (v.clone(), Condition::Started),
                };
                for address in self.dependency_targets(&target) {
                    // Listed twice: the stronger condition holds.
                    let condition = deps
                        .get(&address)
                        .map_or(condition, |c| (*c).max(condition));
                    if address == decl.address {
                        let span = fields.span("depends_on").unwrap_or(decl.decl.name.span);
                        return Err(self.error(
                            Diagnostic::new(
                                ErrorCode::DependencyCycle,
                                format!("`{address}` depends on itself"),
                            )
                            .label(span, "lists the resource it is in")
                            .help("remove it from its own `depends_on`"),
                        ));
                    }
                    deps.insert(address, condition);
                }
            }
        }
        // A resource may refer to itself (its own name); that is not a dependency.
        deps.remove(&decl.address);
        let name = match &normalized.spec {
            deployment::Spec::Image(i) => i
                .tag
                .clone()
                .or_else(|| i.reference.clone())
                .unwrap_or_default(),
            _ => decl.docker_name.to_string(),
        };
        let image_hash = normalized
            .image
            .as_ref()
            .and_then(|a| self.resource_by_address(a))
            .map(|r| r.hash.clone());
        let extra: Vec<&str> = image_hash.iter().map(String::as_str).collect();
        let mut spec = normalized.spec;
        let hash = Resource::compute_hash(kind, &name, &mut spec, &extra);
        Ok(Resource {
            address: decl.address.to_string(),
            kind,
            name,
            spec,
            depends_on: deps
                .into_iter()
                .map(|(a, condition)| Dependency {
                    address: a.to_string(),
                    condition,
                })
                .collect(),
            hash,
            sensitive_paths: normalized.sensitive_paths,
        })
    }

    fn resource_by_address(&self, address: &str) -> Option<Rc<Resource>> {
        match self.resources.get(address)? {
            ResourceMemo::Done(Ok(r)) => Some(r.clone()),
            _ => None,
        }
    }

    /// The resources a `depends_on` entry stands for; an instance means all of its resources.
    fn dependency_targets(&mut self, v: &Value) -> Vec<Rc<str>> {
        match v {
            Value::Ref(r) => vec![r.address.clone()],
            Value::Instance(i) => {
                let mut out = Vec::new();
                let mut todo = vec![i.id];
                while let Some(id) = todo.pop() {
                    if let Ok(s) = self.structure(id, None) {
                        out.extend(s.resources.values().map(|d| d.address.clone()));
                        todo.extend(s.instances.values().map(|d| d.child));
                    }
                }
                out
            }
            _ => Vec::new(),
        }
    }

    fn instance_ref(&mut self, inst: usize, alias: &str, name: &str, span: Span) -> R<Value> {
        let (structure, complete) = self.known(inst, Some(span))?;
        let found = structure
            .instances
            .get(&(alias.to_string(), name.to_string()));
        if found.is_none() && !complete {
            return Err(self.structure_cycle(inst, Some(span)));
        }
        match found {
            Some(d) => {
                let child = &self.instances[d.child];
                Ok(Value::Instance(Rc::new(InstanceRef {
                    id: d.child,
                    module: child.module.id,
                    address: child.address.clone(),
                })))
            }
            None => {
                let names: Vec<&str> = structure
                    .instances
                    .keys()
                    .filter(|(a, _)| a == alias)
                    .map(|(_, n)| n.as_str())
                    .collect();
                let what = format!("`{alias}` instance");
                Err(self.error(not_declared(&what, &format!("{what}s"), name, &names, span)))
            }
        }
    }

    // ------------------------------------------------------------ checks on the whole deployment

    fn check_graph(&mut self, resources: &[Resource]) {
        let index: HashMap<&str, usize> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.address.as_str(), i))
            .collect();
        let dummy = Span::new(self.program.root().source, 0, 0);
        let edges: Vec<Vec<(usize, Span)>> = resources
            .iter()
            .map(|r| {
                r.depends_on
                    .iter()
                    .filter_map(|d| index.get(d.address.as_str()).map(|i| (*i, dummy)))
                    .collect()
            })
            .collect();
        for cycle in crate::resolve::find_cycles(&edges) {
            let names: Vec<&str> = cycle
                .iter()
                .map(|(i, _)| resources[*i].address.as_str())
                .collect();
            let mut d = Diagnostic::new(
                ErrorCode::DependencyCycle,
                format!(
                    "resources depend on each other in a cycle: {} → {}",
                    names.join(" → "),
                    names[0]
                ),
            )
            .help("remove a reference or a `depends_on` entry so that one can be created first");
            for (i, _) in &cycle {
                if let Some(span) = self.declaration_span(&resources[*i].address) {
                    d = d.label(span, format!("`{}`", resources[*i].address));
                }
            }
            self.errors.push(d);
        }
    }

    fn declaration_span(&self, address: &str) -> Option<Span> {
        self.addresses.get(address).map(|d| d.decl.name.span)
    }

    /// Two resources of one kind must not get the same Docker name.
    fn check_names(&mut self, resources: &[Resource]) {
        let mut seen: HashMap<(Kind, &str), &str> =
            HashMap::with_capacity_and_hasher(resources.len(), Default::default());
        for r in resources {
            if r.kind == Kind::Image {
                continue; // two images may share a `ref`
            }
            if let Some(first) = seen.insert((r.kind, r.name.as_str()), r.address.as_str()) {
                let mut d = Diagnostic::new(
                    ErrorCode::NameConflict,
                    format!(
                        "`{first}` and `{}` would both be the {} `{}`",
                        r.address, r.kind, r.name
                    ),
                )
                .help("rename one of them");
                for a in [first, r.address.as_str()] {
                    if let Some(span) = self.declaration_span(a) {
                        d = d.label(span, format!("`{a}`"));
                    }
                }
                self.errors.push(d);
            }
        }
    }

    fn root_outputs(&mut self) -> BTreeMap<String, OutputValue> {
        let mut out = BTreeMap::new();
        for (name, memo) in &self.instances[0].outputs {
            if let Memo::Done(Ok(v), _) = memo {
                let mut sensitive_paths = Vec::new();
                let value = to_json(v, &mut String::new(), &mut sensitive_paths);
                out.insert(
                    name.clone(),
                    OutputValue {
                        value,
                        sensitive_paths,
                    },
                );
            }
        }
        out
    }

    // ------------------------------------------------------------ expressions

    fn conform_at(
        &mut self,
        v: Value,
        ty: &Type,
        span: Span,
        what: &dyn Fn() -> String,
    ) -> R<Value> {
        self.conform_expr(v, ty, span, None, what, true)
    }

    /// Conforms a value computed by `expr`; an error inside a literal points
    /// at the element or field that is wrong.
    fn conform_expr(
        &mut self,
        v: Value,
        ty: &Type,
        span: Span,
        expr: Option<&Expr>,
        what: &dyn Fn() -> String,
        fill: bool,
    ) -> R<Value> {
        conform(v, ty, fill).map_err(|m: Mismatch| {
            let at = if m.path.is_empty() {
                String::new()
            } else {
                format!(" at `{}`", m.path)
            };
            let code = if m.out_of_range {
                ErrorCode::InvalidValue
            } else {
                ErrorCode::TypeMismatch
            };
            let span = expr.map_or(span, |e| locate(e, &m.segments).span);
            let mut d = Diagnostic::new(code, format!("invalid {}{at}: {}", what(), m.message))
                .label(span, "this value");
            d.help = m.help;
            self.error(d)
        })
    }

    /// Whether `name` is bound by locals, the frames, or the module's params and lets.
    fn is_bound(&self, inst: usize, env: &Env<'p>, locals: &Locals<'p>, name: &str) -> bool {
        if locals.iter().any(|(n, _)| *n == name) {
            return true;
        }
        let mut frame = env.clone();
        while let Some(f) = frame {
            if f.vars.iter().any(|(n, _, _)| *n == name)
                || f.lets.iter().any(|(l, _)| l.name.node == name)
            {
                return true;
            }
            frame = f.parent.clone();
        }
        let module = self.instances[inst].module;
        module.params.contains_key(name) || module.lets.contains_key(name)
    }

    fn lookup(
        &mut self,
        inst: usize,
        env: &Env<'p>,
        locals: &Locals<'p>,
        name: &str,
        span: Span,
    ) -> R<Value> {
        if let Some((_, v)) = locals.iter().rev().find(|(n, _)| *n == name) {
            return Ok(v.clone());
        }
        let mut frame = env.clone();
        while let Some(f) = frame {
            if let Some((_, v, deps)) = f.vars.iter().find(|(n, _, _)| *n == name) {
                self.record(deps);
                return Ok(v.clone());
            }
            if let Some(i) = f.lets.iter().position(|(l, _)| l.name.node == name) {
                return self.frame_let(inst, &f, i, span);
            }
            frame = f.parent.clone();
        }
        let module = self.instances[inst].module;
        if module.params.contains_key(name) {
            return self.param(inst, name, span);
        }
        if module.lets.contains_key(name) {
            return self.top_let(inst, name, span);
        }
        let what = if Kind::parse(name).is_some() || module.imports.contains_key(name) {
            format!("`{name}` is a kind, not a value: write `{name}.NAME` or `{name}[\"NAME\"]`")
        } else {
            format!("unknown name `{name}`")
        };
        Err(self.error(Diagnostic::new(ErrorCode::UnknownName, what).label(span, "here")))
    }

    fn eval(
        &mut self,
        inst: usize,
        env: &Env<'p>,
        locals: &mut Locals<'p>,
        e: &'p Expr,
    ) -> R<Value> {
        match &e.kind {
            ExprKind::Null => Ok(Value::Null),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Int(i) => Ok(Value::Int(*i)),
            ExprKind::Float(f) => Ok(Value::Float(*f)),
            ExprKind::Duration(ms) => Ok(Value::Duration(*ms)),
            ExprKind::Size(b) => Ok(Value::Size(*b)),
            ExprKind::Str(parts) => self.interpolate(inst, env, locals, parts),
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.eval(inst, env, locals, item)?);
                }
                Ok(Value::list(out))
            }
            ExprKind::Record(fields) => {
                let mut out = Map::with_capacity_and_hasher(fields.len(), Default::default());
                for field in fields {
                    let key = self.key(inst, env, locals, &field.key)?;
                    let value = self.eval(inst, env, locals, &field.value)?;
                    if out.insert(key.clone(), value).is_some() {
                        return Err(self.error(
                            Diagnostic::new(
                                ErrorCode::DuplicateKey,
                                format!("key `{key}` is given twice"),
                            )
                            .label(field.key.span(), "again here"),
                        ));
                    }
                }
                Ok(Value::map(out))
            }
            ExprKind::ListComp(c) | ExprKind::MapComp(c) => {
                self.comprehension(inst, env, locals, c)
            }
            ExprKind::Name(n) => self.lookup(inst, env, locals, n, e.span),
            ExprKind::Member(base, name) => {
                if let ExprKind::Name(n) = &base.kind
                    && !self.is_bound(inst, env, locals, n)
                {
                    if let Some(kind) = Kind::parse(n) {
                        return self.resource_ref(inst, kind, &name.node, e.span);
                    }
                    if self.instances[inst].module.imports.contains_key(n.as_str()) {
                        return self.instance_ref(inst, n, &name.node, e.span);
                    }
                }
                let v = self.eval(inst, env, locals, base)?;
                self.member(&v, name, base.span)
            }
            ExprKind::Index(base, index) => {
                if let ExprKind::Name(n) = &base.kind
                    && !self.is_bound(inst, env, locals, n)
                {
                    let is_kind = Kind::parse(n);
                    let is_alias = self.instances[inst].module.imports.contains_key(n.as_str());
                    if is_kind.is_some() || is_alias {
                        let key = self.eval(inst, env, locals, index)?;
                        let key = self.name_text(&key, index.span, "resource name")?;
                        return match is_kind {
                            Some(kind) => self.resource_ref(inst, kind, &key, e.span),
                            None => self.instance_ref(inst, n, &key, e.span),
                        };
                    }
                }
                let v = self.eval(inst, env, locals, base)?;
                let i = self.eval(inst, env, locals, index)?;
                self.index(&v, &i, index.span)
            }
            ExprKind::Call(name, args) => self.call(inst, env, locals, name, args, e.span),
            ExprKind::Unary(op, x) => {
                let v = self.eval(inst, env, locals, x)?;
                match (op, v) {
                    (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
                    (UnaryOp::Neg, Value::Int(i)) => i
                        .checked_neg()
                        .map(Value::Int)
                        .ok_or_else(|| self.overflow(e.span)),
                    (UnaryOp::Neg, Value::Float(f)) => Ok(Value::Float(-f)),
                    (UnaryOp::Neg, Value::Duration(d)) => Ok(Value::Duration(-d)),
                    (UnaryOp::Neg, Value::Size(s)) => Ok(Value::Size(-s)),
                    (op, v) => {
                        let sym = if *op == UnaryOp::Not { "!" } else { "-" };
                        Err(self.error(
                            Diagnostic::new(
                                ErrorCode::InvalidOperands,
                                format!("cannot apply `{sym}` to {}", v.describe()),
                            )
                            .label(x.span, "here"),
                        ))
                    }
                }
            }
            ExprKind::Binary(op, a, b) => self.binary(inst, env, locals, *op, a, b, e.span),
            ExprKind::If(c, a, b) => match self.eval(inst, env, locals, c)? {
                Value::Bool(true) => self.eval(inst, env, locals, a),
                Value::Bool(false) => self.eval(inst, env, locals, b),
                other => Err(self.error(expected_bool(&other, c.span))),
            },
        }
    }

    fn key(
        &mut self,
        inst: usize,
        env: &Env<'p>,
        locals: &mut Locals<'p>,
        key: &'p Key,
    ) -> R<String> {
        match key {
            Key::Name(n) => Ok(n.node.clone()),
            Key::Str(e) => {
                let v = self.eval(inst, env, locals, e)?;
                self.name_text(&v, e.span, "key")
            }
        }
    }

    fn interpolate(
        &mut self,
        inst: usize,
        env: &Env<'p>,
        locals: &mut Locals<'p>,
        parts: &'p [StrPart],
    ) -> R<Value> {
        if let [StrPart::Lit(s)] = parts {
            return Ok(Value::str(s.as_str()));
        }
        let mut out = String::new();
        let mut secret = false;
        for part in parts {
            match part {
                StrPart::Lit(s) => out.push_str(s),
                StrPart::Interp(e) => {
                    let v = self.eval(inst, env, locals, e)?;
                    match v.to_text() {
                        Some((t, s)) => {
                            out.push_str(&t);
                            secret |= s;
                        }
                        None => {
                            return Err(self.error(
                                Diagnostic::new(ErrorCode::TypeMismatch, format!("cannot interpolate {}", v.describe()))
                                    .label(e.span, format!("this is {}", v.describe()))
                                    .help("only strings, numbers, bools, durations, sizes and references interpolate; use `join` for lists"),
                            ));
                        }
                    }
                }
            }
        }
        Ok(Value::string(out, secret))
    }

    fn comprehension(
        &mut self,
        inst: usize,
        env: &Env<'p>,
        locals: &mut Locals<'p>,
        c: &'p Comprehension,
    ) -> R<Value> {
        let iter = self.eval(inst, env, locals, &c.iter)?;
        let pairs = self.iteration(iter, &c.vars, c.iter.span)?;
        let mut list = Vec::new();
        let mut map = Map::default();
        for (k, v) in pairs {
            let mark = locals.len();
            locals.push((c.vars.value.node.as_str(), v));
            if let Some(kv) = &c.vars.key {
                locals.push((kv.node.as_str(), k));
            }
            let result = self.comprehension_item(inst, env, locals, c, &mut list, &mut map);
            locals.truncate(mark);
            result?;
        }
        Ok(if c.key.is_some() {
            Value::map(map)
        } else {
            Value::list(list)
        })
    }

    fn comprehension_item(
        &mut self,
        inst: usize,
        env: &Env<'p>,
        locals: &mut Locals<'p>,
        c: &'p Comprehension,
        list: &mut Vec<Value>,
        map: &mut Map,
    ) -> R<()> {
        if let Some(f) = &c.filter {
            match self.eval(inst, env, locals, f)? {
                Value::Bool(true) => {}
                Value::Bool(false) => return Ok(()),
                other => return Err(self.error(expected_bool(&other, f.span))),
            }
        }
        let value = self.eval(inst, env, locals, &c.value)?;
        match &c.key {
            None => list.push(value),
            Some(k) => {
                let kv = self.eval(inst, env, locals, k)?;
                let key = self.name_text(&kv, k.span, "key")?;
                if map.insert(key.clone(), value).is_some() {
                    return Err(self.error(
                        Diagnostic::new(
                            ErrorCode::DuplicateKey,
                            format!("the comprehension makes the key `{key}` twice"),
                        )
                        .label(k.span, "this key"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn member(&mut self, v: &Value, name: &Ident, base_span: Span) -> R<Value> {
        let n = name.node.as_str();
        match v {
            Value::Ref(r) => match (r.kind, n) {
                // An image's name is its reference, as `"${image.x}"` gives.
                (Kind::Image, "name") => Ok(Value::str(r.yields.clone())),
                (_, "name") => Ok(Value::str(r.name.clone())),
                (Kind::Container, "hostname") => {
                    let resource = self.resource_at(&r.address, name.span)?;
                    let hostname = match &resource.spec {
                        deployment::Spec::Container(c) => c.run.hostname.clone(),
                        _ => None,
                    };
                    Ok(Value::str(hostname.unwrap_or_else(|| r.name.to_string())))
                }
                (kind, _) => Err(self.error(
                    Diagnostic::new(
                        ErrorCode::NoSuchMember,
                        format!("a {kind} reference has no attribute `{n}`"),
                    )
                    .label(name.span, "unknown attribute"),
                )),
            },
            Value::Instance(i) => self.output(i.id, n, name.span),
            Value::Map(m) => match m.get(n) {
                Some(x) => Ok(x.clone()),
                None => {
                    let mut d =
                        Diagnostic::new(ErrorCode::IndexOutOfRange, format!("no field `{n}`"))
                            .label(name.span, "not in the record");
                    d.help = did_you_mean(n, m.keys().map(String::as_str));
                    Err(self.error(d))
                }
            },
            other => Err(self.error(
                Diagnostic::new(
                    ErrorCode::NoSuchMember,
                    format!("{} has no attribute `{n}`", other.describe()),
                )
                .label(base_span, format!("this is {}", other.describe())),
            )),
        }
    }

    /// The evaluated resource at an address (for `.hostname`).
    fn resource_at(&mut self, address: &str, span: Span) -> R<Rc<Resource>> {
        let decl = self.addresses.get(address).cloned().ok_or(Reported)?;
        self.resource(&decl, span)
    }

    fn index(&mut self, v: &Value, i: &Value, span: Span) -> R<Value> {
        match (v, i) {
            (Value::List(xs), Value::Int(n)) => {
                let idx = if *n < 0 { None } else { xs.get(*n as usize) };
                idx.cloned().ok_or_else(|| {
                    self.error(
                        Diagnostic::new(
                            ErrorCode::IndexOutOfRange,
                            format!("index {n} is out of range for a list of {} items", xs.len()),
                        )
                        .label(span, "this index"),
                    )
                })
            }
            (Value::Map(m), Value::Str(k)) => match m.get(&*k.text) {
                Some(x) => Ok(x.clone()),
                None => {
                    let shown = if k.secret {
                        "(secret)".to_string()
                    } else {
                        format!("\"{}\"", k.text)
                    };
                    let mut d =
                        Diagnostic::new(ErrorCode::IndexOutOfRange, format!("no key {shown}"))
                            .label(span, "not in the map");
                    if !k.secret {
                        d.help = did_you_mean(&k.text, m.keys().map(String::as_str));
                    }
                    Err(self.error(d))
                }
            },
            (v, i) => Err(self.error(
                Diagnostic::new(
                    ErrorCode::TypeMismatch,
                    format!("cannot index {} with {}", v.describe(), i.describe()),
                )
                .label(span, "this index"),
            )),
        }
    }

    fn call(
        &mut self,
        inst: usize,
        env: &Env<'p>,
        locals: &mut Locals<'p>,
        name: &'p Ident,
        args: &'p [Expr],
        span: Span,
    ) -> R<Value> {
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.eval(inst, env, locals, a)?);
        }
        let module = self.instances[inst].module;
        if let Some(f) = module.fns.get(&name.node) {
            if f.params.len() != values.len() {
                return Err(self.error(
                    Diagnostic::new(
                        ErrorCode::ArgumentCount,
                        format!("`{}` takes {} arguments", name.node, f.params.len()),
                    )
                    .label(span, "here"),
                ));
            }
            let mut fn_locals: Locals<'p> = Vec::with_capacity(values.len());
            for (((pname, pty), v), arg) in f.params.iter().zip(values).zip(args) {
                let ty = resolve_type(pty, &mut Vec::new());
                let v = self.conform_at(v, &ty, arg.span, &|| {
                    format!("argument `{}` of `{}`", pname.node, name.node)
                })?;
                fn_locals.push((pname.node.as_str(), v));
            }
            let result = self.eval(inst, &None, &mut fn_locals, &f.body)?;
            return match &f.ret {
                Some(te) => {
                    let ty = resolve_type(te, &mut Vec::new());
                    self.conform_at(result, &ty, f.body.span, &|| {
                        format!("result of `{}`", name.node)
                    })
                }
                None => Ok(result),
            };
        }
        let files = builtins::Files {
            dir: self.sources.dir_of(module.source),
            root: self.sources.dir_of(self.program.root().source),
        };
        builtins::call(&name.node, &values, files).map_err(|e| {
            let (code, message) = match e {
                builtins::CallError::File(m) => (ErrorCode::FileError, m),
                builtins::CallError::Argument(m) => (ErrorCode::InvalidArgument, m),
            };
            self.error(
                Diagnostic::new(code, format!("`{}`: {message}", name.node))
                    .label(span, "in this call"),
            )
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn binary(
        &mut self,
        inst: usize,
        env: &Env<'p>,
        locals: &mut Locals<'p>,
        op: BinaryOp,
        a: &'p Expr,
        b: &'p Expr,
        span: Span,
    ) -> R<Value> {
        let left = self.eval(inst, env, locals, a)?;
        // `&&` and `||` short-circuit.
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            let Value::Bool(l) = left else {
                return Err(self.error(expected_bool(&left, a.span)));
            };
            if (op == BinaryOp::And && !l) || (op == BinaryOp::Or && l) {
                return Ok(Value::Bool(l));
            }
            return match self.eval(inst, env, locals, b)? {
                Value::Bool(r) => Ok(Value::Bool(r)),
                other => Err(self.error(expected_bool(&other, b.span))),
            };
        }
        let right = self.eval(inst, env, locals, b)?;
        use Value::*;
        let result = match (op, &left, &right) {
            (BinaryOp::Eq, l, r) => Some(Bool(l.equals(r))),
            (BinaryOp::Ne, l, r) => Some(Bool(!l.equals(r))),
            (BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge, l, r) => {
                builtins::compare(l, r).map(|o| {
                    Bool(match op {
                        BinaryOp::Lt => o.is_lt(),
                        BinaryOp::Le => o.is_le(),
                        BinaryOp::Gt => o.is_gt(),
                        _ => o.is_ge(),
                    })
                })
            }
            (BinaryOp::Add, Str(x), Str(y)) => {
                let mut s = String::with_capacity(x.text.len() + y.text.len());
                s.push_str(&x.text);
                s.push_str(&y.text);
                Some(Value::string(s, x.secret || y.secret))
            }
            (BinaryOp::Add, List(x), List(y)) => {
                Some(Value::list(x.iter().chain(y.iter()).cloned().collect()))
            }
            (BinaryOp::Add, Map(x), Map(y)) => {
                let mut m = (**x).clone();
                for (k, v) in y.iter() {
                    m.insert(k.clone(), v.clone());
                }
                Some(Value::map(m))
            }
            (op, l, r) => return self.arithmetic(op, l, r, span),
        };
        result.ok_or_else(|| self.operands(op, &left, &right, a.span, b.span))
    }

    fn arithmetic(&mut self, op: BinaryOp, l: &Value, r: &Value, span: Span) -> R<Value> {
        use Value::*;
        if matches!(op, BinaryOp::Div | BinaryOp::Rem) && matches!(r, Int(0)) {
            return Err(self.error(
                Diagnostic::new(ErrorCode::Arithmetic, "division by zero")
                    .label(span, "divides by zero"),
            ));
        }
        let ints = |x: i64, y: i64| match op {
            BinaryOp::Add => x.checked_add(y),
            BinaryOp::Sub => x.checked_sub(y),
            BinaryOp::Mul => x.checked_mul(y),
            BinaryOp::Div => x.checked_div(y),
            BinaryOp::Rem => x.checked_rem(y),
            _ => None,
        };
        let additive = matches!(op, BinaryOp::Add | BinaryOp::Sub);
        let scaling = matches!(op, BinaryOp::Mul | BinaryOp::Div);
        let (value, make): (Option<i64>, fn(i64) -> Value) = match (l, r) {
            (Int(x), Int(y)) => (ints(*x, *y), Int),
            (Duration(x), Duration(y)) if additive => (ints(*x, *y), Duration),
            (Size(x), Size(y)) if additive => (ints(*x, *y), Size),
            (Duration(x), Int(y)) if scaling => (ints(*x, *y), Duration),
            (Int(x), Duration(y)) if op == BinaryOp::Mul => (ints(*x, *y), Duration),
            (Size(x), Int(y)) if scaling => (ints(*x, *y), Size),
            (Int(x), Size(y)) if op == BinaryOp::Mul => (ints(*x, *y), Size),
            (Int(_) | Float(_), Int(_) | Float(_)) if op != BinaryOp::Rem => {
                let (x, y) = (as_f64(l), as_f64(r));
                let v = match op {
                    BinaryOp::Add => x + y,
                    BinaryOp::Sub => x - y,
                    BinaryOp::Mul => x * y,
                    _ => x / y,
                };
                if !v.is_finite() {
                    return Err(self.error(
                        Diagnostic::new(ErrorCode::Arithmetic, "the result is not a finite number")
                            .label(span, "here"),
                    ));
                }
                return Ok(Float(v));
            }
            _ => return Err(self.operands(op, l, r, span, span)),
        };
        value.map(make).ok_or_else(|| self.overflow(span))
    }

    fn overflow(&mut self, span: Span) -> Reported {
        self.error(
            Diagnostic::new(ErrorCode::Arithmetic, "arithmetic overflow")
                .label(span, "the result does not fit in 64 bits"),
        )
    }

    fn operands(&mut self, op: BinaryOp, l: &Value, r: &Value, a: Span, b: Span) -> Reported {
        let mut d = Diagnostic::new(
            ErrorCode::InvalidOperands,
            format!(
                "cannot apply `{}` to {} and {}",
                op.symbol(),
                l.describe(),
                r.describe()
            ),
        )
        .label(a, l.describe());
        if a != b {
            d = d.label(b, r.describe());
        }
        self.error(d)
    }

    /// A `--var` / `--var-file` value, parsed according to the parameter's type.
    fn var_value(&mut self, var: &'p VarInput, ty: &Type) -> R<Value> {
        match vars::parse(var, ty) {
            Ok(vars::Parsed::Value(v)) => Ok(v),
            Ok(vars::Parsed::Expr(e)) => {
                let mut locals = Vec::new();
                self.eval(0, &None, &mut locals, e)
            }
            Err(d) => Err(self.error(d)),
        }
    }
}

/// The innermost literal along a path into a value: `[0].host` of
/// `[{ host = 70000 }]` is `70000`.
fn locate<'e>(e: &'e Expr, segments: &[conform::Segment]) -> &'e Expr {
    let Some((first, rest)) = segments.split_first() else {
        return e;
    };
    let inner = match (&e.kind, first) {
        (ExprKind::List(items), conform::Segment::Index(i)) => items.get(*i),
        (ExprKind::Record(fields), conform::Segment::Key(k)) => fields
            .iter()
            .find(|f| f.key.static_name() == Some(k.as_str()))
            .map(|f| &f.value),
        _ => None,
    };
    inner.map_or(e, |inner| locate(inner, rest))
}

/// Every secret string inside a value.
fn secret_texts(v: &Value, out: &mut Vec<Rc<str>>) {
    match v {
        Value::Str(s) if s.secret && !s.text.is_empty() => out.push(s.text.clone()),
        Value::List(xs) => xs.iter().for_each(|x| secret_texts(x, out)),
        Value::Map(m) => m.values().for_each(|x| secret_texts(x, out)),
        _ => {}
    }
}

/// The message with every secret, and every `quoted` part of one, shown as `(secret)`.
fn mask(text: &str, secrets: &[Rc<str>]) -> String {
    if secrets.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        // Odd parts are between backticks: values quoted by the message.
        let quoted = i % 2 == 1 && !part.is_empty() && secrets.iter().any(|s| s.contains(part));
        out.push_str(if quoted {
            deployment::SECRET_MASK
        } else {
            part
        });
    }
    for s in secrets {
        out = out.replace(&**s, deployment::SECRET_MASK);
    }
    out
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

/// "there is no container named `x`", with the closest name or the list of them.
fn not_declared(what: &str, plural: &str, name: &str, names: &[&str], span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::UnknownResource,
        format!("there is no {what} named `{name}`"),
    )
    .label(span, "referenced here");
    d.help = did_you_mean(name, names.iter().copied()).or_else(|| {
        Some(if names.is_empty() {
            format!("no {what} is declared in this module")
        } else {
            format!("the {plural} are: {}", names.join(", "))
        })
    });
    d
}

fn expected_bool(v: &Value, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TypeMismatch,
        format!("expected a bool, found {}", v.describe()),
    )
    .label(span, format!("this is {}", v.describe()))
}

fn duplicate_resource(what: &str, span: Span, first: Span) -> Diagnostic {
    let d = Diagnostic::new(
        ErrorCode::DuplicateResource,
        format!("{what} is defined twice"),
    );
    if span == first {
        // One declaration, reached twice by a loop.
        d.label(span, "this name is the same in two iterations of the loop")
            .help("names built in a loop must differ in each iteration, e.g. \"api-${i}\"")
    } else {
        d.label(span, "defined again here")
            .label(first, "first defined here")
            .help("give each resource of a kind its own name")
    }
}

/// Stack and resource names: lowercase letters, digits, `-` and `_`,
/// starting with a letter or digit (Docker and image-name safe).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn invalid_name(what: &str, name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidName,
        format!("`{name}` is not a valid {what}"),
    )
    .label(span, "invalid name")
    .help(
        "use lowercase letters, digits, `-` and `_`, starting with a letter or digit (at most 63)",
    )
}

/// JSON of an output value, collecting pointers to secret parts.
fn to_json(v: &Value, pointer: &mut String, sensitive: &mut Vec<String>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Duration(ms) => J::String(format_duration(*ms)),
        Value::Size(b) => J::from(*b),
        Value::Str(s) => {
            if s.secret {
                sensitive.push(pointer.clone());
            }
            J::String(s.text.to_string())
        }
        Value::List(xs) => J::Array(
            xs.iter()
                .enumerate()
                .map(|(i, x)| {
                    let len = pointer.len();
                    pointer.push_str(&format!("/{i}"));
                    let j = to_json(x, pointer, sensitive);
                    pointer.truncate(len);
                    j
                })
                .collect(),
        ),
        Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, x)| {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&deployment::pointer_segment(k));
                    let j = to_json(x, pointer, sensitive);
                    pointer.truncate(len);
                    (k.clone(), j)
                })
                .collect(),
        ),
        Value::Ref(r) => J::String(r.yields.to_string()),
        Value::Instance(i) => J::String(i.address.to_string()),
    }
}
