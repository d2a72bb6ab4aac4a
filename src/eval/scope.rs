//! Where an expression is evaluated: its module instance, the frames of the
//! loops and conditions around it, and its expression-local bindings.

use std::cell::RefCell;
use std::rc::Rc;

use super::memo::{Deps, Memo};
use super::value::Value;
use crate::syntax::ast::Let;

/// A scope made by a `for` iteration or an `if` branch.
pub(super) struct Frame<'p> {
    pub id: usize,
    pub parent: Env<'p>,
    pub vars: Vec<(&'p str, Value, Deps)>,
    pub lets: Vec<(&'p Let, RefCell<Option<Memo>>)>,
}

/// The innermost frame; `None` at the top level of a module.
pub(super) type Env<'p> = Option<Rc<Frame<'p>>>;

/// Expression-local bindings: comprehension variables and function
/// parameters, each set innermost last, over those of the enclosing expression.
pub(super) struct Locals<'s, 'p> {
    bound: &'s [(&'p str, Value)],
    outer: Option<&'s Locals<'s, 'p>>,
}

#[derive(Clone, Copy)]
pub(super) struct Scope<'s, 'p> {
    pub inst: usize,
    pub env: &'s Env<'p>,
    locals: Option<&'s Locals<'s, 'p>>,
}

impl<'s, 'p> Scope<'s, 'p> {
    /// The scope of a module instance's top level or of a frame: no locals.
    pub fn new(inst: usize, env: &'s Env<'p>) -> Self {
        Scope {
            inst,
            env,
            locals: None,
        }
    }

    /// Runs `f` in this scope with `bound` over the locals it has.
    pub fn with_locals<T>(
        self,
        bound: &[(&'p str, Value)],
        f: impl FnOnce(Scope<'_, 'p>) -> T,
    ) -> T {
        let locals = Locals {
            bound,
            outer: self.locals,
        };
        f(Scope {
            locals: Some(&locals),
            ..self
        })
    }

    /// The innermost local of that name.
    pub fn local(&self, name: &str) -> Option<&'s Value> {
        let mut locals = self.locals;
        while let Some(l) = locals {
            if let Some((_, v)) = l.bound.iter().rev().find(|(n, _)| *n == name) {
                return Some(v);
            }
            locals = l.outer;
        }
        None
    }
}
