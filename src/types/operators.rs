//! What the operators accept: for an operator and the shapes of its
//! operands, the shape of the result, or `None` where it does not apply.
//! The checker asks with the operands' types and the evaluator with their
//! values, so the two cannot disagree.

use super::Type;
use crate::syntax::ast::{BinaryOp, UnaryOp};

/// What the operators tell operands apart by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    Bool,
    Int,
    Float,
    String,
    Duration,
    Size,
    List,
    /// Maps and records alike.
    Map,
    /// Null, references, instances: no operator but `==` and `!=` takes them.
    Other,
}

impl Operand {
    /// The shape of the values of a type that is not `any` (nor optional):
    /// ports are ints, secrets and enums strings, records maps.
    pub fn of_type(t: &Type) -> Operand {
        match t {
            Type::Bool => Operand::Bool,
            Type::Int | Type::Port => Operand::Int,
            Type::Float => Operand::Float,
            Type::String | Type::Secret | Type::Enum(_) => Operand::String,
            Type::Duration => Operand::Duration,
            Type::Size => Operand::Size,
            Type::List(_) => Operand::List,
            Type::Map(_) | Type::Record(_) => Operand::Map,
            _ => Operand::Other,
        }
    }
}

/// The shape of `a op b`. Mixed ints and floats give a float; durations and
/// sizes add to their own kind, scale by numbers, and divide into a ratio.
pub fn binary(op: BinaryOp, a: Operand, b: Operand) -> Option<Operand> {
    use Operand::*;
    let number = |o: Operand| matches!(o, Int | Float);
    let arithmetic = || match (a, b) {
        (Int, Int) => Some(Int),
        _ if number(a) && number(b) => Some(Float),
        _ => None,
    };
    match op {
        BinaryOp::Eq | BinaryOp::Ne => Some(Bool),
        BinaryOp::And | BinaryOp::Or => (a == Bool && b == Bool).then_some(Bool),
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let ordered =
                (number(a) && number(b)) || (a == b && matches!(a, String | Duration | Size));
            ordered.then_some(Bool)
        }
        BinaryOp::Add => arithmetic().or(match (a, b) {
            (String, String) | (List, List) | (Map, Map) | (Duration, Duration) | (Size, Size) => {
                Some(a)
            }
            _ => None,
        }),
        BinaryOp::Sub => arithmetic().or(match (a, b) {
            (Duration, Duration) | (Size, Size) => Some(a),
            _ => None,
        }),
        // Scaled by a float, a duration or size is rounded to a whole
        // millisecond or byte.
        BinaryOp::Mul => arithmetic().or(match (a, b) {
            (Duration | Size, Int | Float) => Some(a),
            (Int | Float, Duration | Size) => Some(b),
            _ => None,
        }),
        // A duration or size over another of its kind is their ratio.
        BinaryOp::Div => arithmetic().or(match (a, b) {
            (Duration | Size, Int | Float) => Some(a),
            (Duration, Duration) | (Size, Size) => Some(Float),
            _ => None,
        }),
        BinaryOp::Rem => (a == Int && b == Int).then_some(Int),
        // `??` takes any two values: the checker and the evaluator handle it apart.
        BinaryOp::Coalesce => None,
        // `++`: records and maps only (lists join with `+`).
        BinaryOp::Merge => (a == Map && b == Map).then_some(Map),
    }
}

/// The shape of `!a` or `-a`.
pub fn unary(op: UnaryOp, a: Operand) -> Option<Operand> {
    match (op, a) {
        (UnaryOp::Not, Operand::Bool) => Some(Operand::Bool),
        (UnaryOp::Neg, Operand::Int | Operand::Float | Operand::Duration | Operand::Size) => {
            Some(a)
        }
        _ => None,
    }
}
