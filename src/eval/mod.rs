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

mod bindings;
pub mod builtins;
mod conform;
mod container_name;
mod declared;
mod dotenv;
mod encode;
mod errors;
mod expr;
mod limits;
mod memo;
mod moved;
mod networking;
mod normalize;
mod resources;
mod reuse;
mod scope;
mod structure;
mod swarm;
mod text;
pub mod value;
mod vars;

use std::collections::BTreeSet;
use std::rc::Rc;

pub use self::limits::{Limits, MAX_DEPTH, MAX_VALUE_DEPTH};
use self::memo::{Memo, Node};
use self::scope::Scope;
use self::structure::{InstanceDeclared, ResourceDeclared, StructState};
use self::value::{Show, Value};
pub use self::vars::{ENV_PREFIX as ENV_VAR_PREFIX, VarInput, VarValue, read_vars};
use crate::deployment::{self, Deployment, Resource};
use crate::diagnostic::Diagnostic;
use crate::files::Confinement;
use crate::resolve::{Module, Program};
use crate::source::{SourceMap, Span};
use crate::syntax::ast::{Assert, Expr};
use crate::types::Type;
use crate::types::named::NamedTypes;

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
    files: &Confinement,
    limits: Limits,
) -> Result<Deployment, Vec<Diagnostic>> {
    evaluate_with_places(program, sources, vars, files, limits).map(|(d, _)| d)
}

/// Evaluates, and says where each resource and each of its fields is
/// written (for `stackc check`'s lint, `src/lint/`).
pub fn evaluate_with_places(
    program: &Program,
    sources: &SourceMap,
    vars: &[VarInput],
    files: &Confinement,
    limits: Limits,
) -> Result<(Deployment, Places), Vec<Diagnostic>> {
    let mut ev = Evaluator::new(program, sources, vars, files, limits);
    let deployment = ev.run();
    match deployment {
        Some(d) if ev.errors.is_empty() => Ok((d, ev.places)),
        _ => Err(ev.errors),
    }
}

/// Where a resource is declared and where each of its fields' values is written.
#[derive(Debug, Clone)]
pub struct Place {
    /// The whole declaration, from its kind.
    pub declaration: Span,
    /// Its name.
    pub name: Span,
    /// The declarations of the module instances it is in, innermost first.
    pub instances: Vec<Span>,
    pub fields: Vec<(String, Span)>,
}

impl Place {
    pub fn field(&self, name: &str) -> Option<Span> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }
}

/// Resources' places, by address.
pub type Places = HashMap<String, Place>;

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
    /// Where each parameter's value was given: a `--var`, a var file's
    /// line, an instance's field, or the default.
    given: HashMap<&'p str, Span>,
    lets: HashMap<&'p str, Memo>,
    outputs: HashMap<String, Memo>,
    structure: StructState<'p>,
}

#[derive(Clone)]
enum ResourceMemo {
    Running,
    Done(R<Rc<Resource>>),
}

struct Evaluator<'p> {
    program: &'p Program,
    sources: &'p SourceMap,
    /// Where `file()` and image builds may read.
    files: &'p Confinement,
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
    /// Steps and depth, against the limits.
    meter: limits::Meter,
    errors: Vec<Diagnostic>,
    /// Named types, written types resolved (by where they are written),
    /// and field defaults: written and evaluated (`declared.rs`).
    named: NamedTypes,
    types: HashMap<Span, Type>,
    default_exprs: HashMap<Span, &'p Expr>,
    defaults: conform::Defaults,
    /// Where each built resource and its fields are written (`Place`).
    places: Places,
}

impl<'p> Evaluator<'p> {
    fn new(
        program: &'p Program,
        sources: &'p SourceMap,
        vars: &'p [VarInput],
        files: &'p Confinement,
        limits: Limits,
    ) -> Self {
        Evaluator {
            program,
            sources,
            files,
            stack: String::new(),
            vars: vars.iter().map(|v| (v.name.as_str(), v)).collect(),
            instances: Vec::new(),
            active: Vec::new(),
            active_set: Default::default(),
            addresses: HashMap::default(),
            resources: HashMap::default(),
            collectors: Vec::new(),
            next_frame: 1,
            meter: limits::Meter::new(limits),
            errors: Vec::new(),
            named: NamedTypes::build(program, &mut Vec::new()),
            types: HashMap::default(),
            default_exprs: declared::default_exprs(program),
            defaults: HashMap::default(),
            places: HashMap::default(),
        }
    }

    fn error(&mut self, d: Diagnostic) -> Reported {
        self.errors.push(d);
        Reported
    }

    /// A limit exceeded at `span`: reported once; after that every
    /// evaluation fails at once, without further errors.
    fn over_limit(&mut self, limit: limits::Limit, span: Span) -> Reported {
        if !self.meter.exhausted {
            self.meter.exhausted = true;
            let d = limit.diagnostic(&self.meter.limits, span);
            self.errors.push(d);
        }
        Reported
    }

    /// Charges `n` steps for work at `span`.
    fn charge(&mut self, n: u64, span: Span) -> R<()> {
        self.meter.charge(n).map_err(|l| self.over_limit(l, span))
    }

    /// Checks the size of a string before it is built (charging is separate).
    fn string_size(&mut self, bytes: usize, span: Span) -> R<()> {
        self.meter
            .string(bytes as u64)
            .map_err(|l| self.over_limit(l, span))
    }

    /// Checks the length of a list or map before it is built (charging is separate).
    fn collection_size(&mut self, len: usize, span: Span) -> R<()> {
        self.meter
            .collection(len as u64)
            .map_err(|l| self.over_limit(l, span))
    }

    /// Walks a value being stored or conformed: charged per element, and
    /// refused when nested too deep.
    fn walk(&mut self, v: &Value, span: Span) -> R<()> {
        self.meter.walk(v).map_err(|l| self.over_limit(l, span))
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
            given: HashMap::default(),
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
        let mut resources: Vec<Resource> = built
            .into_iter()
            .map(|(_, r)| Rc::try_unwrap(r).unwrap_or_else(|shared| (*shared).clone()))
            .collect();
        self.add_default_network(&mut resources);
        self.check_graph(&resources);
        // Names pinned by wrong `moved` blocks would clash for no reason of their own.
        let before = self.errors.len();
        let moved = self.check_moves();
        if self.errors.len() == before {
            self.check_names(&resources);
        }
        self.check_ports(&resources);
        self.check_static_addresses(&resources);
        self.check_swarm_networks(&resources);
        Some(Deployment {
            format_version: deployment::FORMAT_VERSION,
            stack: self.stack.clone(),
            resources,
            outputs,
            moved,
        })
    }

    fn stack_name(&mut self, root: &Module) -> Option<String> {
        stack_name_of(root).map_err(|d| self.error(d)).ok()
    }

    /// Evaluates everything an instance declares, so every error is found.
    fn evaluate_all(&mut self, inst: usize) {
        let module = self.instances[inst].module;
        for name in module.params.keys() {
            let _ = self.param(inst, name, module.params[name].name.span);
        }
        for param in module.params.values() {
            self.validate_param(inst, param);
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
            self.assertion(Scope::new(inst, env), assert);
        }
    }

    fn assertion(&mut self, scope: Scope<'_, 'p>, assert: &'p Assert) {
        let Ok(cond) = self.eval(scope, &assert.cond) else {
            return;
        };
        // A failed assertion on a secret tells one bit; its message shows no secret.
        match cond.reveal().0 {
            Value::Bool(true) => {}
            Value::Bool(false) => {
                let message = match self.eval(scope, &assert.message) {
                    Ok(Value::Str(s)) => s.text.to_string(),
                    Ok(v) => Show(&v).to_string(),
                    Err(_) => return,
                };
                let label = self.instance_label(scope.inst);
                let instance = self.instances[scope.inst]
                    .parent
                    .as_ref()
                    .map(|(_, decl)| (label.as_str(), decl.decl.name.span));
                let d = errors::assertion_failed(&message, assert.cond.span, instance);
                self.error(d);
            }
            _ => {
                self.error(errors::expected_bool(&cond, assert.cond.span));
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

/// The stack's name: `stack "name"`, else the directory's name as it is.
/// A directory name is never mapped, so that two directories (`sa.proj`,
/// `SA PROJ`) never become one stack.
pub fn stack_name_of(root: &Module) -> Result<String, Diagnostic> {
    if let Some(name) = &root.stack_name {
        if !valid_name(&name.node) {
            return Err(errors::invalid_stack_name(&name.node, name.span));
        }
        return Ok(name.node.clone());
    }
    let dir = root.dir_name.clone().unwrap_or_default();
    if valid_name(&dir) {
        Ok(dir)
    } else {
        Err(errors::unnamed_stack(&dir))
    }
}
