//! `moved` blocks and Docker-name pins.
//!
//! A volume's or network's Docker name comes from its address
//! (`<stack>-db-data`), and Docker renames neither. So a volume or network
//! a `moved` block leads to keeps the name of the address it started from
//! (the *pin*), unless `docker_name` chooses one: the same object, with
//! its data, under its new address. References see the pinned name, so
//! the containers that mount it keep mounting it. Containers are not
//! pinned: they are made again under their new name (`container_name`
//! keeps one).
//!
//! Once every instance's resources are known, the blocks are checked:
//! `from` gone from the source, `to` in it (or moved on by another block),
//! no two blocks from or to one address, no cycle.

use std::collections::BTreeMap;

use super::Evaluator;
use crate::deployment::Kind;
use crate::deployment::moved::{self, Addressed, Moved};
use crate::diagnostic::{Diagnostic, ErrorCode, did_you_mean};
use crate::resolve::moved::MovedItem;
use crate::source::Span;

impl<'p> Evaluator<'p> {
    /// The Docker name a volume or network at `address` keeps because a
    /// `moved` block leads to it: the default name of the address it
    /// started from. Blocks that can lead into instance `inst` are those of
    /// its module and of every module around it.
    pub(super) fn pinned_name(&self, inst: usize, kind: Kind, address: &str) -> Option<String> {
        if !matches!(kind, Kind::Volume | Kind::Network) {
            return None;
        }
        let mut moves = Vec::new();
        let mut at = Some(inst);
        while let Some(i) = at {
            moves.extend(self.moves_of(i).into_iter().map(|(m, _)| m));
            at = self.instances[i].parent.as_ref().map(|(p, _)| *p);
        }
        let origin = moved::origin(&moves, address)?;
        Some(moved::default_docker_name(&self.stack, &origin))
    }

    /// The `moved` blocks of an instance's module, addresses made absolute.
    fn moves_of(&self, inst: usize) -> Vec<(Moved, &'p MovedItem)> {
        let instance = &self.instances[inst];
        let prefix = &instance.address_prefix;
        instance
            .module
            .moved
            .iter()
            .map(|item| {
                let m = Moved {
                    from: format!("{prefix}{}", item.from.node),
                    to: format!("{prefix}{}", item.to.node),
                };
                (m, item)
            })
            .collect()
    }

    /// Every `moved` block of the stack, checked; sorted for the deployment.
    pub(super) fn check_moves(&mut self) -> Vec<Moved> {
        let all: Vec<(Moved, &'p MovedItem)> = (0..self.instances.len())
            .flat_map(|i| self.moves_of(i))
            .collect();
        let exists = |ev: &Self, address: &str, what: Addressed| match what {
            Addressed::Resource(_) => ev.addresses.contains_key(address),
            Addressed::Instance => ev.instances.iter().any(|i| &*i.address == address),
        };
        let mut errors = Vec::new();
        let mut from_seen: BTreeMap<&str, Span> = BTreeMap::new();
        let mut to_seen: BTreeMap<&str, Span> = BTreeMap::new();
        for (m, item) in &all {
            if exists(self, &m.from, item.what) {
                errors.push(from_exists(m, item, self.declaration(&m.from)));
            }
            // A chain: another block moves it on (itself, or the instance it is in).
            let moved_on = all
                .iter()
                .any(|(other, _)| moved::apply(other, &m.to).is_some());
            if !exists(self, &m.to, item.what) && !moved_on {
                errors.push(self.to_missing(m, item));
            }
            if let Some(first) = from_seen.insert(&m.from, item.from.span) {
                errors.push(ambiguous(
                    format!("two `moved` blocks move `{}`", m.from),
                    item.from.span,
                    first,
                    "an object moves to one address: keep one of the blocks",
                ));
            }
            if let Some(first) = to_seen.insert(&m.to, item.to.span) {
                errors.push(ambiguous(
                    format!("two `moved` blocks lead to `{}`", m.to),
                    item.to.span,
                    first,
                    "only one object can become it: keep one of the blocks",
                ));
            }
        }
        // A cycle: following the blocks from an address comes back to it.
        let moves: Vec<Moved> = all.iter().map(|(m, _)| m.clone()).collect();
        for (m, item) in &all {
            let mut now = m.to.clone();
            for _ in 0..moves.len() {
                if now == m.from {
                    errors.push(
                        Diagnostic::new(
                            ErrorCode::AmbiguousMoves,
                            format!("`moved` blocks lead from `{}` back to itself", m.from),
                        )
                        .label(item.span, "this block is part of a cycle")
                        .help("each block says where an object went; remove the block that undoes another"),
                    );
                    break;
                }
                match moves.iter().find_map(|n| moved::apply(n, &now)) {
                    Some(next) => now = next,
                    None => break,
                }
            }
        }
        self.errors.extend(errors);
        let mut moves = moves;
        moves.sort();
        moves.dedup();
        moves
    }

    /// Where a resource or instance is declared.
    fn declaration(&self, address: &str) -> Option<Span> {
        if let Some(d) = self.addresses.get(address) {
            return Some(d.decl.name.span);
        }
        self.instances
            .iter()
            .find(|i| &*i.address == address)
            .and_then(|i| i.parent.as_ref())
            .map(|(_, d)| d.decl.name.span)
    }

    fn to_missing(&self, m: &Moved, item: &MovedItem) -> Diagnostic {
        let candidates: Vec<&str> = match item.what {
            Addressed::Resource(kind) => self
                .addresses
                .iter()
                .filter(|(_, d)| d.kind == kind)
                .map(|(a, _)| &**a)
                .collect(),
            Addressed::Instance => self.instances.iter().skip(1).map(|i| &*i.address).collect(),
        };
        let mut d = Diagnostic::new(
            ErrorCode::MovedToNothing,
            format!("`moved` to `{}`, which the source does not declare", m.to),
        )
        .label(item.to.span, "not declared");
        d.help = did_you_mean(&m.to, candidates).or_else(|| {
            Some("`to` is the address the object has now: declare it, or remove the block".into())
        });
        d
    }
}

fn from_exists(m: &Moved, item: &MovedItem, declared: Option<Span>) -> Diagnostic {
    let mut d = Diagnostic::new(
        ErrorCode::MovedFromExisting,
        format!("`moved` from `{}`, which the source still declares", m.from),
    )
    .label(item.from.span, "still declared");
    if let Some(span) = declared {
        d = d.label(span, "declared here");
    }
    d.help("`from` is the address the object had: remove its declaration (the object lives on at `to`), or remove the block")
}

fn ambiguous(message: String, here: Span, first: Span, help: &str) -> Diagnostic {
    Diagnostic::new(ErrorCode::AmbiguousMoves, message)
        .label(here, "again here")
        .label(first, "first here")
        .help(help)
}
