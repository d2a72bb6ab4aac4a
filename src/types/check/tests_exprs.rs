//! Spreads, `??`, `?.`, narrowed paths and references seen in every branch.

use super::tests::{check, clean, one};
use crate::diagnostic::ErrorCode;

const SVC: &str = "param svc: { name: string, note: string? } = { name = \"a\" }\n\
                   param svcs: list[{ note: string? }] = []\n";

#[test]
fn a_path_proven_present_has_its_type_without_optional() {
    clean(&format!(
        "{SVC}let a: list[string] = if svc.note == null then [] else [svc.note]\n\
         let b: list[string] = [for s in svcs if s.note != null: s.note]\n\
         let c: string = if svc?.note != null then svc?.note else \"\"\n\
         let d: string = if svc[\"note\"] != null then svc[\"note\"] else \"\""
    ));
}

#[test]
fn a_path_is_no_longer_narrowed_once_its_name_is_bound_again() {
    let found = one(&format!(
        "{SVC}let a: list[string] = if svc.note != null then [for svc in svcs: svc.note] else []"
    ));
    assert_eq!(found.0, ErrorCode::TypeMismatch);
    assert_eq!(found.3, "[for svc in svcs: svc.note]");
}

#[test]
fn a_let_first_needed_in_a_narrowed_branch_is_not_narrowed() {
    let found = one(&format!(
        "{SVC}let n = svc.note\nlet s: string = if svc.note != null then n else \"\""
    ));
    assert_eq!((found.0, found.3.as_str()), (ErrorCode::TypeMismatch, "n"));
}

#[test]
fn coalescing_takes_the_present_type_and_the_default() {
    clean(&format!(
        "{SVC}let a: string = svc.note ?? \"none\"\nlet b = svc.note ?? \"x\"\nlet c: string = b"
    ));
    let found = one(&format!("{SVC}let a: int = svc.note ?? 1"));
    assert_eq!(
        (found.0, found.3.as_str()),
        (ErrorCode::TypeMismatch, "svc.note")
    );
    let found = one(&format!("{SVC}let a = svc.name ?? \"x\""));
    assert_eq!(
        (found.0, found.3.as_str()),
        (ErrorCode::NeverNull, "svc.name")
    );
}

#[test]
fn optional_chaining_gives_an_optional() {
    let found = one("param p: { host: string }? = null\nlet h: string = p?.host");
    assert_eq!(found.0, ErrorCode::TypeMismatch);
    assert_eq!(found.1, "expected a string, found a string or null");
    clean("param p: { host: string }? = null\nlet h: string = p?.host ?? \"x\"");
}

#[test]
fn a_spread_record_is_checked_against_the_resource_where_it_is_written() {
    let found =
        one("let base = { image = \"busybox\", memroy = 1GiB }\ncontainer \"c\" { ...base }");
    assert_eq!(found.0, ErrorCode::UnknownField);
    assert_eq!(found.2.as_deref(), Some("did you mean `memory`?"));
    assert_eq!(found.3, "memroy");
    // A field written out is not checked in the spread, which it replaces.
    clean("let base = { image = 5 }\ncontainer \"c\" { ...base, image = \"busybox\" }");
}

#[test]
fn a_spread_known_by_its_type_is_pointed_at() {
    let found = one(
        "param base: { image: string, memory: int } = { image = \"b\", memory = 1 }\n\
         container \"c\" { ...base }",
    );
    assert_eq!(found.0, ErrorCode::TypeMismatch);
    assert_eq!(
        found.1,
        "field `memory` of the spread: expected a size or null, found an int"
    );
    assert_eq!(found.3, "base");
}

#[test]
fn a_spread_supplies_required_fields_and_record_fields() {
    clean("let base = { image = \"busybox\" }\ncontainer \"c\" { ...base }");
    clean("let a: { x: int, y: int } = { ...{ x = 1 }, y = 2 }");
    let found = one("let a: { x: int, y: int } = { ...{ x = 1 } }");
    assert_eq!(found.0, ErrorCode::MissingField);
    // A map's keys are known at evaluation: the check waits for them.
    clean("param m: map[string] = {}\ncontainer \"c\" { ...m }");
}

#[test]
fn references_are_checked_in_every_branch_against_every_branch() {
    clean(
        "param x: string? = null\n\
         if x == null {\n  image \"b\" { ref = \"busybox\" }\n}\n\
         container \"app\" { image = if x == null then image.b else x }\n\
         for i in range(2) {\n  container \"api-${i}\" { image = \"busybox\" }\n}\n\
         output \"o\" = container.api-7.name",
    );
    let found = check(
        "param on: bool = false\n\
         if on {\n  container \"c\" { image = \"busybox\", networks = [network.nope] }\n}\n\
         output \"o\" = if on then container[\"d\"].name else \"\"",
    );
    let under: Vec<&str> = found.iter().map(|f| f.3.as_str()).collect();
    assert_eq!(under, ["network.nope", "container[\"d\"]"]);
    assert!(found.iter().all(|f| f.0 == ErrorCode::UnknownResource));
}
