//! Memoized values, the resources they refer to, and cycles among them.

use std::collections::BTreeSet;
use std::rc::Rc;

use super::value::Value;
use super::{Evaluator, R, Reported, errors};
use crate::source::Span;

/// The addresses of the resources a value refers to.
pub(super) type Deps = Rc<BTreeSet<Rc<str>>>;

#[derive(Clone)]
pub(super) enum Memo {
    Running,
    Done(R<Value>, Deps),
}

/// A node being computed, for naming cycles.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) enum Node<'p> {
    Param(usize, &'p str),
    /// Instance, frame (0 for the top level), name.
    Let(usize, usize, &'p str),
    Output(usize, Rc<str>),
    Resource(Rc<str>),
    Structure(usize),
}

impl<'p> Evaluator<'p> {
    /// Marks `node` as being computed; on a cycle reports it and fails.
    pub(super) fn enter(&mut self, node: Node<'p>, span: Span) -> R<()> {
        if self.active_set.contains(&node) {
            if let Node::Structure(inst) = node {
                let what = self.instance_label(inst);
                return Err(self.error(errors::structure_cycle(&what, span)));
            }
            let pos = self.active.iter().position(|n| *n == node).unwrap_or(0);
            let label = self.label(&node);
            let mut path: Vec<String> = self.active[pos..].iter().map(|n| self.label(n)).collect();
            path.push(label.clone());
            return Err(self.error(errors::value_cycle(&label, &path, span)));
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

    pub(super) fn leave(&mut self) {
        if let Some(node) = self.active.pop() {
            self.active_set.remove(&node);
        }
    }

    /// A memoized value: recorded as a dependency when done, a cycle when running.
    pub(super) fn memo_hit(&mut self, memo: Memo, node: Node<'p>, span: Span) -> R<Value> {
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

    pub(super) fn record(&mut self, deps: &BTreeSet<Rc<str>>) {
        if let Some(top) = self.collectors.last_mut() {
            top.extend(deps.iter().cloned());
        }
    }

    pub(super) fn record_one(&mut self, address: &Rc<str>) {
        if let Some(top) = self.collectors.last_mut() {
            top.insert(address.clone());
        }
    }

    /// Computes a value while collecting the resources it refers to.
    pub(super) fn collecting<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> (T, Deps) {
        self.collectors.push(BTreeSet::new());
        let out = f(self);
        let deps = self.collectors.pop().unwrap_or_default();
        self.record(&deps);
        (out, Rc::new(deps))
    }
}
