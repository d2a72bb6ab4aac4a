//! `moved` blocks as the deployment carries them: the address an object of
//! the stack had, and the one it has now. Addresses are text; the planner
//! follows them from the `io.stackc.address` label an object was made with.
//!
//! An address names a resource (`volume.data`, `postgres.db.volume.data`)
//! or a module instance (`postgres.db`: every resource inside it).

use serde::{Deserialize, Serialize};

use super::Kind;

/// One `moved` block, with addresses made absolute (a block in a module is
/// written relative to each of its instances).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moved {
    pub from: String,
    pub to: String,
}

/// What an address names, read from its text alone: `kind.name` after any
/// number of `alias.instance` pairs is a resource; pairs alone, an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressed {
    Resource(Kind),
    Instance,
}

/// What `address` names, if it is an address at all.
pub fn addressed(address: &str) -> Option<Addressed> {
    let segments: Vec<&str> = address.split('.').collect();
    if segments.len() < 2
        || !segments.len().is_multiple_of(2)
        || segments.iter().any(|s| s.is_empty())
    {
        return None;
    }
    let pairs: Vec<&[&str]> = segments.chunks(2).collect();
    let (last, instances) = pairs.split_last()?;
    // Instances are of imported modules: their alias is never a kind.
    if instances.iter().any(|p| Kind::parse(p[0]).is_some()) {
        return None;
    }
    Some(match Kind::parse(last[0]) {
        Some(kind) => Addressed::Resource(kind),
        None => Addressed::Instance,
    })
}

/// The Docker name stackc gives a volume or network at `address` unless
/// the source chooses one: `<stack>-<instance>…-<name>`.
pub fn default_docker_name(stack: &str, address: &str) -> String {
    let mut name = stack.to_string();
    for pair in address.split('.').collect::<Vec<_>>().chunks(2) {
        if let [_, n] = pair {
            name.push('-');
            name.push_str(n);
        }
    }
    name
}

/// `address` with the move applied, if the move names it: the address
/// itself, or one inside a moved module instance.
pub fn apply(m: &Moved, address: &str) -> Option<String> {
    if address == m.from {
        return Some(m.to.clone());
    }
    let rest = address.strip_prefix(&m.from)?.strip_prefix('.')?;
    Some(format!("{}.{rest}", m.to))
}

/// `address` with the move undone, if it lies where the move leads.
pub fn undo(m: &Moved, address: &str) -> Option<String> {
    apply(
        &Moved {
            from: m.to.clone(),
            to: m.from.clone(),
        },
        address,
    )
}

/// Where an object labelled `address` is now, following every move in
/// turn (`a → b`, then `b → c`); `None` when no move names it. Bounded by
/// the number of moves, so a cycle (refused by the compiler) cannot loop.
pub fn follow(moves: &[Moved], address: &str) -> Option<String> {
    let mut now = address.to_string();
    let mut moved = false;
    for _ in 0..moves.len() {
        match moves.iter().find_map(|m| apply(m, &now)) {
            Some(next) => {
                now = next;
                moved = true;
            }
            None => break,
        }
    }
    moved.then_some(now)
}

/// The first address of the object now at `address`, following the moves
/// backwards; `None` when no move leads to it.
pub fn origin(moves: &[Moved], address: &str) -> Option<String> {
    let mut now = address.to_string();
    let mut moved = false;
    for _ in 0..moves.len() {
        match moves.iter().find_map(|m| undo(m, &now)) {
            Some(earlier) => {
                now = earlier;
                moved = true;
            }
            None => break,
        }
    }
    moved.then_some(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(from: &str, to: &str) -> Moved {
        Moved {
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn addresses_are_read_from_their_text() {
        assert_eq!(
            addressed("volume.data"),
            Some(Addressed::Resource(Kind::Volume))
        );
        assert_eq!(
            addressed("postgres.db.volume.data"),
            Some(Addressed::Resource(Kind::Volume))
        );
        assert_eq!(addressed("postgres.db"), Some(Addressed::Instance));
        assert_eq!(addressed("volume"), None);
        assert_eq!(addressed("volume.data.x"), None);
        assert_eq!(addressed("volume.data.volume.x"), None);
        assert_eq!(addressed("volume..x"), None);
    }

    #[test]
    fn docker_names_follow_the_instances() {
        assert_eq!(default_docker_name("shop", "volume.data"), "shop-data");
        assert_eq!(
            default_docker_name("shop", "postgres.db.volume.data"),
            "shop-db-data"
        );
    }

    #[test]
    fn moves_chain_and_reach_into_instances() {
        let moves = [mv("volume.data", "pg.a.volume.data"), mv("pg.a", "pg.b")];
        assert_eq!(
            follow(&moves, "volume.data").as_deref(),
            Some("pg.b.volume.data")
        );
        assert_eq!(
            origin(&moves, "pg.b.volume.data").as_deref(),
            Some("volume.data")
        );
        assert_eq!(follow(&moves, "volume.other"), None);
        // `pg.ab` is not inside `pg.a`.
        assert_eq!(follow(&moves, "pg.ab.volume.x"), None);
        // A cycle ends after as many steps as there are moves.
        let cycle = [mv("volume.a", "volume.b"), mv("volume.b", "volume.a")];
        assert!(follow(&cycle, "volume.a").is_some());
    }
}
