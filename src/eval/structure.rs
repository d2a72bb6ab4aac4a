//! What a module instance declares: its `for` and `if` items expanded into
//! resources, module instances, outputs and assertions, each with the frame
//! it was declared in.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use indexmap::IndexMap;

use super::memo::{Deps, Node};
use super::scope::{Env, Frame, Scope};
use super::value::Value;
use super::{Evaluator, HashMap, Instance, R, Reported, errors, valid_name};
use crate::deployment::Kind;
use crate::source::Span;
use crate::syntax::ast::*;

pub(super) struct ResourceDeclared<'p> {
    pub inst: usize,
    pub kind: Kind,
    pub decl: &'p ResourceDecl,
    pub env: Env<'p>,
    pub address: Rc<str>,
    pub docker_name: Rc<str>,
    /// `<stack>-<…>` without the stack: the name other containers reach it
    /// by (`db`, `sessions-server`), whatever its `container_name`.
    pub logical_name: Rc<str>,
}

pub(super) struct InstanceDeclared<'p> {
    pub decl: &'p ResourceDecl,
    pub env: Env<'p>,
    pub child: usize,
}

/// What a module instance declares once its loops and conditions are expanded.
#[derive(Default, Clone)]
pub(super) struct Structure<'p> {
    pub resources: IndexMap<(Kind, String), Rc<ResourceDeclared<'p>>>,
    pub instances: IndexMap<(String, String), Rc<InstanceDeclared<'p>>>,
    pub outputs: IndexMap<String, (&'p Output, Env<'p>)>,
    pub asserts: Vec<(&'p Assert, Env<'p>)>,
    pub frames: Vec<Rc<Frame<'p>>>,
}

pub(super) enum StructState<'p> {
    New,
    /// Loops and conditions are being expanded; what is known already: the
    /// resources and instances declared outside them.
    Building(Rc<Structure<'p>>),
    Built(Rc<Structure<'p>>),
}

/// Looks up `(Kind, String)` keys by `(Kind, &str)` without allocating.
#[derive(Hash)]
pub(super) struct ResourceKey<'a>(pub Kind, pub &'a str);

impl indexmap::Equivalent<(Kind, String)> for ResourceKey<'_> {
    fn equivalent(&self, key: &(Kind, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

impl<'p> Evaluator<'p> {
    /// Everything the instance declares; needing it while its loops and
    /// conditions are being expanded is a cycle.
    pub(super) fn structure(
        &mut self,
        inst: usize,
        use_span: Option<Span>,
    ) -> R<Rc<Structure<'p>>> {
        match self.known(inst, use_span)? {
            (s, true) => Ok(s),
            (_, false) => Err(self.structure_cycle(inst, use_span)),
        }
    }

    /// What the instance declares so far, and whether that is all of it.
    pub(super) fn known(
        &mut self,
        inst: usize,
        use_span: Option<Span>,
    ) -> R<(Rc<Structure<'p>>, bool)> {
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
        let top = Scope::new(inst, &None);
        let mut ok = true;
        for item in &module.body {
            if let Item::Resource(r) = item {
                ok &= self.declare(top, r, &mut s).is_ok();
            }
        }
        self.instances[inst].structure = StructState::Building(Rc::new(s.clone()));
        ok &= self.expand(top, &module.body, &mut s, true).is_ok();
        self.collectors.pop();
        self.leave();
        let s = Rc::new(s);
        self.instances[inst].structure = StructState::Built(s.clone());
        if ok { Ok((s, true)) } else { Err(Reported) }
    }

    pub(super) fn structure_cycle(&mut self, inst: usize, use_span: Option<Span>) -> Reported {
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
        scope: Scope<'_, 'p>,
        items: &'p [Item],
        s: &mut Structure<'p>,
        declared: bool,
    ) -> R<()> {
        let mut ok = true;
        for item in items {
            let r = match item {
                Item::Resource(_) if declared => Ok(()),
                Item::Resource(r) => self.declare(scope, r, s),
                Item::For(f) => self.expand_for(scope, f, s),
                Item::If(i) => match self.eval(scope, &i.cond) {
                    Ok(Value::Secret(_)) => Err(self.error(errors::secret_chooses_structure(
                        "which resources exist",
                        i.cond.span,
                    ))),
                    Ok(Value::Bool(c)) => {
                        let block = if c { &i.then } else { &i.otherwise };
                        let frame = self.new_frame(scope.env.clone(), Vec::new(), block);
                        if !frame.lets.is_empty() {
                            s.frames.push(frame.clone());
                        }
                        self.expand(Scope::new(scope.inst, &Some(frame)), block, s, false)
                    }
                    Ok(other) => Err(self.error(errors::expected_bool(&other, i.cond.span))),
                    Err(e) => Err(e),
                },
                Item::Output(o) => self.eval(scope, &o.name).and_then(|v| {
                    let name = self.name_text(&v, o.name.span, "output name")?;
                    if let Some((first, _)) = s.outputs.get(&name) {
                        let first = first.name.span;
                        return Err(self.error(errors::duplicate_output(
                            &name,
                            o.name.span,
                            first,
                        )));
                    }
                    s.outputs.insert(name, (o, scope.env.clone()));
                    Ok(())
                }),
                Item::Assert(a) => {
                    s.asserts.push((a, scope.env.clone()));
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
        scope: Scope<'_, 'p>,
        f: &'p ForItems,
        s: &mut Structure<'p>,
    ) -> R<()> {
        let (iter, deps) = self.collecting(|ev| ev.eval(scope, &f.iter));
        let iter = iter?;
        if iter.is_tainted() {
            return Err(self.error(errors::secret_chooses_structure(
                "which resources exist",
                f.iter.span,
            )));
        }
        let pairs = self.iteration(iter, &f.vars, f.iter.span)?;
        let mut ok = true;
        for (key, value) in pairs {
            let mut vars = vec![(f.vars.value.node.as_str(), value, deps.clone())];
            if let Some(k) = &f.vars.key {
                vars.push((k.node.as_str(), key, deps.clone()));
            }
            let frame = self.new_frame(scope.env.clone(), vars, &f.body);
            if !frame.lets.is_empty() {
                s.frames.push(frame.clone());
            }
            let env = Some(frame);
            ok &= self
                .expand(Scope::new(scope.inst, &env), &f.body, s, false)
                .is_ok();
        }
        if ok { Ok(()) } else { Err(Reported) }
    }

    /// The (key, value) pairs a loop visits: (index, item) for lists, (key, value) for maps.
    /// Over a secret list or map, the keys and indexes are secret too (its items already are).
    pub(super) fn iteration(
        &mut self,
        v: Value,
        vars: &LoopVars,
        span: Span,
    ) -> R<Vec<(Value, Value)>> {
        if let Value::Secret(inner) = &v {
            let pairs = self.iteration((**inner).clone(), vars, span)?;
            return Ok(pairs
                .into_iter()
                .map(|(k, v)| (k.tainted(), v.tainted()))
                .collect());
        }
        let len = match &v {
            Value::List(xs) => xs.len(),
            Value::Map(m) => m.len(),
            _ => 0,
        };
        self.charge(len as u64, span)?;
        match v {
            Value::List(xs) => Ok(xs
                .iter()
                .enumerate()
                .map(|(i, x)| (Value::Int(i as i64), x.clone()))
                .collect()),
            Value::Map(m) => {
                if vars.key.is_none() {
                    return Err(self.error(errors::map_loop_with_one_variable(span)));
                }
                Ok(m.iter()
                    .map(|(k, v)| (Value::str(k.as_str()), v.clone()))
                    .collect())
            }
            other => Err(self.error(errors::not_iterable(&other, span))),
        }
    }

    /// A string used as a name: never secret.
    pub(super) fn name_text(&mut self, v: &Value, span: Span, what: &str) -> R<String> {
        match v {
            Value::Secret(_) => Err(self.error(errors::secret_name(what, span))),
            Value::Str(s) => Ok(s.text.to_string()),
            other => Err(self.error(errors::name_not_string(what, other, span))),
        }
    }

    fn declare(
        &mut self,
        scope: Scope<'_, 'p>,
        r: &'p ResourceDecl,
        s: &mut Structure<'p>,
    ) -> R<()> {
        let (inst, env) = (scope.inst, scope.env);
        self.charge(super::limits::STEPS_PER_RESOURCE, r.name.span)?;
        let name_value = self.eval(scope, &r.name)?;
        let name = self.name_text(&name_value, r.name.span, "resource name")?;
        if !valid_name(&name) {
            return Err(self.error(errors::invalid_name("resource name", &name, r.name.span)));
        }
        let prefix = self.instances[inst].address_prefix.clone();
        let name_prefix = self.instances[inst].name_prefix.clone();
        if let Some(kind) = Kind::parse(&r.kind.node) {
            if let Some(first) = s.resources.get(&ResourceKey(kind, &name)) {
                let first_span = first.decl.name.span;
                return Err(self.error(errors::duplicate_resource(
                    &format!("{kind} \"{name}\""),
                    r.name.span,
                    first_span,
                )));
            }
            // A bad `container_name` or `docker_name` is reported, and the
            // resource still declared (under its default name), so that
            // references to it do not add "there is no volume named …".
            let own_name = self.chosen_name(scope, kind, r);
            let failed = own_name.is_err();
            let default_name = format!("{name_prefix}-{name}");
            let logical_name = default_name
                .strip_prefix(&format!("{}-", self.stack))
                .unwrap_or(&default_name)
                .into();
            let address: Rc<str> = format!("{prefix}{kind}.{name}").into();
            // The source's own name, else the name a `moved` block pins.
            let chosen = match own_name {
                Ok(Some(n)) => Some(n),
                _ => self.pinned_name(inst, kind, &address),
            };
            let declared = Rc::new(ResourceDeclared {
                inst,
                kind,
                decl: r,
                env: env.clone(),
                address,
                docker_name: chosen.unwrap_or(default_name).into(),
                logical_name,
            });
            self.addresses
                .insert(declared.address.clone(), declared.clone());
            s.resources.insert((kind, name), declared);
            return if failed { Err(Reported) } else { Ok(()) };
        }
        let Some(import) = self.instances[inst].module.imports.get(&r.kind.node) else {
            return Err(Reported); // reported by the checker
        };
        let key = (r.kind.node.clone(), name.clone());
        if let Some(first) = s.instances.get(&key) {
            let first_span = first.decl.name.span;
            return Err(self.error(errors::duplicate_resource(
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
            given: HashMap::default(),
            lets: HashMap::default(),
            outputs: HashMap::default(),
            structure: StructState::New,
        });
        s.instances.insert(key, declared);
        Ok(())
    }
}
