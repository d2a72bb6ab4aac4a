//! Resources: references to them, their evaluation into the deployment's
//! resources with their dependencies, and the checks on the whole deployment.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::memo::{Memo, Node};
use super::normalize;
use super::scope::Scope;
use super::structure::{ResourceDeclared, ResourceKey};
use super::value::{InstanceRef, ResourceRef, Value};
use super::{Evaluator, HashMap, R, Reported, ResourceMemo, errors};
use crate::deployment::Kind;
use crate::deployment::{self, Condition, Dependency, HostPort, OutputValue, Resource};
use crate::source::Span;
use crate::types::schema;
use crate::units::format_duration;

/// The address of the stack's default network: declared as `network
/// "default"` in the root module, or made by stackc when a container needs it.
pub const DEFAULT_NETWORK: &str = "network.default";

impl<'p> Evaluator<'p> {
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
        Err(self.error(errors::not_declared(
            &kind.to_string(),
            &format!("{kind}s"),
            name,
            &names,
            span,
        )))
    }

    /// `container.web`: a reference, and a dependency of whatever is being computed.
    pub(super) fn resource_ref(
        &mut self,
        inst: usize,
        kind: Kind,
        name: &str,
        span: Span,
    ) -> R<Value> {
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

    /// `postgres.db`: a module instance declared in `inst`.
    pub(super) fn instance_ref(
        &mut self,
        inst: usize,
        alias: &str,
        name: &str,
        span: Span,
    ) -> R<Value> {
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
                Err(self.error(errors::not_declared(
                    &what,
                    &format!("{what}s"),
                    name,
                    &names,
                    span,
                )))
            }
        }
    }

    pub(super) fn resource(
        &mut self,
        decl: &Rc<ResourceDeclared<'p>>,
        use_span: Span,
    ) -> R<Rc<Resource>> {
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

    /// The evaluated resource at an address (for `.hostname`).
    pub(super) fn resource_at(&mut self, address: &str, span: Span) -> R<Rc<Resource>> {
        let decl = self.addresses.get(address).cloned().ok_or(Reported)?;
        self.resource(&decl, span)
    }

    fn build_resource(&mut self, decl: &ResourceDeclared<'p>) -> R<Resource> {
        let (inst, kind) = (decl.inst, decl.kind);
        let scope = Scope::new(inst, &decl.env);
        let mut fields = normalize::Fields::default();
        let mut failed = false;
        for field in &decl.decl.fields {
            let Some(fname) = field.key.static_name() else {
                continue;
            };
            let Some(def) = schema::field_def(kind, fname) else {
                continue;
            };
            let value = self.eval(scope, &field.value).and_then(|v| {
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
        // What spreads set (`reuse.rs`), where nothing written out does.
        if self.spread_resource_fields(decl, &mut fields).is_err() {
            failed = true;
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
            address: &decl.address,
            dir: dir.as_deref(),
            files: self.files,
            lookup: &lookup,
            logical_name: &decl.logical_name,
            default_network: (
                DEFAULT_NETWORK.into(),
                format!("{}-default", self.stack).into(),
            ),
        };
        let normalized = match normalize::normalize(kind, &fields, &ctx) {
            Ok(n) => n,
            Err(field_errors) => {
                for e in field_errors {
                    let span = fields.span(&e.field).unwrap_or(decl.decl.name.span);
                    // Messages quote values; never a secret one.
                    let value = fields.get(&e.field);
                    self.errors.push(errors::invalid_field(e, value, span));
                }
                return Err(Reported);
            }
        };
        // Dependencies: every reference made, short-form volumes, explicit depends_on.
        let mut deps: BTreeMap<Rc<str>, Condition> = BTreeMap::new();
        for a in refs.iter().chain(&normalized.implicit_deps) {
            deps.insert(a.clone(), Condition::Started);
        }
        if let Some(v) = fields.get("depends_on")
            && v.is_secret()
        {
            let span = fields.span("depends_on").unwrap_or(decl.decl.name.span);
            return Err(self.error(errors::secret_chooses_structure(
                "what a resource depends on",
                span,
            )));
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
                        return Err(self.error(errors::self_dependency(&address, span)));
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
        self.places.insert(
            decl.address.to_string(),
            super::Place {
                declaration: decl.decl.span,
                name: decl.decl.name.span,
                instances: self.instance_declarations(inst),
                fields: fields.places(),
            },
        );
        let mut spec = normalized.spec;
        let hash =
            Resource::compute_hash(kind, &name, &mut spec, &normalized.sensitive_paths, &extra);
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

    /// Where the instances holding `inst` are declared, innermost first.
    fn instance_declarations(&self, mut inst: usize) -> Vec<Span> {
        let mut out = Vec::new();
        while let Some((parent, declared)) = &self.instances[inst].parent {
            out.push(declared.decl.span);
            inst = *parent;
        }
        out
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

    // ------------------------------------------------------------ checks on the whole deployment

    pub(super) fn check_graph(&mut self, resources: &[Resource]) {
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
            let addresses: Vec<&str> = cycle
                .iter()
                .map(|(i, _)| resources[*i].address.as_str())
                .collect();
            let spans: Vec<Option<Span>> =
                addresses.iter().map(|a| self.declaration_span(a)).collect();
            self.errors.push(errors::resource_cycle(&addresses, &spans));
        }
    }

    fn declaration_span(&self, address: &str) -> Option<Span> {
        self.addresses.get(address).map(|d| d.decl.name.span)
    }

    /// Two resources of one kind must not get the same Docker name.
    pub(super) fn check_names(&mut self, resources: &[Resource]) {
        let mut seen: HashMap<(Kind, &str), &str> =
            HashMap::with_capacity_and_hasher(resources.len(), Default::default());
        for r in resources {
            if r.kind == Kind::Image {
                continue; // two images may share a `ref`
            }
            if let Some(first) = seen.insert((r.kind, r.name.as_str()), r.address.as_str()) {
                let mut d = errors::name_conflict(
                    r.kind,
                    &r.name,
                    [
                        (first, self.declaration_span(first)),
                        (&r.address, self.declaration_span(&r.address)),
                    ],
                );
                let chosen = |r: &Resource| matches!(&r.spec, deployment::Spec::Container(c) if c.options.container_name.is_some());
                if chosen(r) || resources.iter().any(|o| o.address == first && chosen(o)) {
                    d = d.help("rename one of them, or give another `container_name`");
                }
                self.errors.push(d);
            }
        }
    }

    /// Two containers must not publish the same host port on the same
    /// address (no address is every address): the second would fail to
    /// start. Secret ports are left out: saying they clash would tell them.
    pub(super) fn check_ports(&mut self, resources: &[Resource]) {
        let mut seen: Vec<(HostPort, &str)> = Vec::new();
        for r in resources {
            for p in r.published_ports() {
                let clash = seen
                    .iter()
                    .find(|(q, address)| *address != r.address && q.overlaps(&p));
                if let Some((q, first)) = clash {
                    let d = errors::port_conflict(
                        &format!("{}/{}", p.port, p.protocol),
                        [
                            (first, self.declaration_span(first), q.to_string()),
                            (&r.address, self.declaration_span(&r.address), p.to_string()),
                        ],
                    );
                    self.errors.push(d);
                } else {
                    seen.push((p, &r.address));
                }
            }
        }
    }

    pub(super) fn root_outputs(&mut self) -> BTreeMap<String, OutputValue> {
        let mut out = BTreeMap::new();
        for (name, memo) in &self.instances[0].outputs {
            if let Memo::Done(Ok(v), _) = memo {
                let mut sensitive_paths = Vec::new();
                let value = to_json(v, &mut String::new(), &mut sensitive_paths);
                deployment::outermost(&mut sensitive_paths);
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
        Value::Str(s) => J::String(s.text.to_string()),
        Value::Secret(inner) => {
            sensitive.push(pointer.clone());
            to_json(inner, pointer, sensitive)
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
