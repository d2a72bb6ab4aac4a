//! Loading through `load`: import resolution and de-duplication, duplicate
//! and misplaced items, and the static cycles among imports and definitions.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Program, find_cycles, load};
use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::files::Confinement;
use crate::source::{SourceId, SourceMap, Span};

/// A stack on disk, removed when dropped.
struct Stack {
    dir: PathBuf,
}

impl Stack {
    /// `files` as (path below the stack's directory, text); the first is the root.
    fn new(files: &[(&str, &str)]) -> Stack {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "stackc-resolve-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().expect("a directory")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        Stack { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    fn load(&self) -> (Result<Program, Vec<Diagnostic>>, SourceMap) {
        let mut sources = SourceMap::default();
        let files = Confinement::new(&self.dir, &[]).unwrap();
        let program = load(&self.path("main.stack"), &files, &mut sources);
        (program, sources)
    }

    fn program(&self) -> Program {
        match self.load() {
            (Ok(p), _) => p,
            (Err(ds), _) => panic!("errors: {:?}", ds),
        }
    }

    /// The errors, with the source text under each label.
    fn errors(&self) -> Vec<(ErrorCode, String, Vec<String>)> {
        let (result, sources) = self.load();
        let Err(errors) = result else {
            panic!("loads without errors");
        };
        errors
            .iter()
            .map(|d| {
                let labels = d
                    .labels
                    .iter()
                    .map(|l| format!("{}: {}", sources.text(l.span), l.text))
                    .collect();
                (d.code, d.message.clone(), labels)
            })
            .collect()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn single(stack: &Stack) -> (ErrorCode, String, Vec<String>) {
    let mut errors = stack.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.remove(0)
}

// ------------------------------------------------------------ imports

#[test]
fn one_file_imported_by_two_paths_is_one_module() {
    let stack = Stack::new(&[
        (
            "main.stack",
            "import \"./lib/a.stack\" as a\nimport \"./lib/../lib/./a.stack\" as b\nimport \"./lib/b.stack\" as c\n",
        ),
        ("lib/a.stack", "param x: int = 1\n"),
        ("lib/b.stack", "import \"./a.stack\" as a\n"),
    ]);
    let program = stack.program();
    assert_eq!(program.modules.len(), 3, "main, lib/a and lib/b");
    let root = program.root();
    let a = root.imports["a"].module;
    assert_eq!(root.imports["b"].module, a);
    let b = program.module(root.imports["c"].module);
    assert_eq!(b.imports["a"].module, a, "relative to the importing file");
    assert!(program.module(a).params.contains_key("x"));
}

#[test]
fn std_modules_load_once_with_or_without_the_extension() {
    let stack = Stack::new(&[(
        "main.stack",
        "import \"std/postgres\" as pg\nimport \"std/postgres.stack\" as pg2\n",
    )]);
    let program = stack.program();
    assert_eq!(program.modules.len(), 2);
    let root = program.root();
    assert_eq!(root.imports["pg"].module, root.imports["pg2"].module);
    assert_eq!(
        program.module(root.imports["pg"].module).name,
        "std/postgres.stack"
    );
}

#[test]
fn a_bare_import_path_is_e0203_with_both_spellings_suggested() {
    let stack = Stack::new(&[("main.stack", "import \"postgres\" as pg\n")]);
    let (result, _) = stack.load();
    let errors = result.expect_err("a bare path");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, ErrorCode::ImportNotFound);
    assert_eq!(errors[0].message, "cannot import `postgres`");
    assert_eq!(
        errors[0].help.as_deref(),
        Some("write `\"std/postgres\"` for the standard library or `\"./postgres\"` for a file")
    );
}

#[test]
fn an_unknown_std_module_suggests_the_closest_name() {
    let stack = Stack::new(&[("main.stack", "import \"std/postgress\" as pg\n")]);
    let (result, _) = stack.load();
    let errors = result.expect_err("no such module");
    assert_eq!(errors[0].code, ErrorCode::ImportNotFound);
    assert_eq!(
        errors[0].message,
        "no module `std/postgress` in the standard library"
    );
    assert!(
        errors[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("`postgres`")),
        "{:?}",
        errors[0].help
    );
}

#[test]
fn a_missing_file_is_e0203_at_the_import() {
    let stack = Stack::new(&[("main.stack", "import \"./nope.stack\" as n\n")]);
    let (code, message, labels) = single(&stack);
    assert_eq!(code, ErrorCode::ImportNotFound);
    let missing = stack.path("nope.stack");
    assert!(
        message.starts_with(&format!("cannot read `{}`", missing.display())),
        "{message}"
    );
    assert_eq!(labels, ["\"./nope.stack\": imported here"]);
}

#[test]
fn a_diamond_of_imports_is_no_cycle() {
    let stack = Stack::new(&[
        (
            "main.stack",
            "import \"./b.stack\" as b\nimport \"./c.stack\" as c\n",
        ),
        ("b.stack", "import \"./d.stack\" as d\n"),
        ("c.stack", "import \"./d.stack\" as d\n"),
        ("d.stack", "let x = 1\n"),
    ]);
    assert_eq!(stack.program().modules.len(), 4);
}

#[test]
fn an_import_cycle_is_reported_once_with_a_label_per_import() {
    let stack = Stack::new(&[
        ("main.stack", "import \"./a.stack\" as a\n"),
        ("a.stack", "import \"./b.stack\" as b\n"),
        ("b.stack", "import \"./a.stack\" as a\n"),
    ]);
    let (code, message, labels) = single(&stack);
    assert_eq!(code, ErrorCode::ImportCycle);
    let (a, b) = (stack.path("a.stack"), stack.path("b.stack"));
    assert_eq!(
        message,
        format!(
            "modules import each other in a cycle: {} → {} → {}",
            a.display(),
            b.display(),
            a.display()
        )
    );
    assert_eq!(
        labels,
        [
            format!("\"./b.stack\": imports `{}`", b.display()),
            format!("\"./a.stack\": imports `{}`", a.display()),
        ]
    );
}

// ------------------------------------------------------------ duplicates and misplaced items

#[test]
fn a_name_defined_twice_points_at_both_definitions() {
    let stack = Stack::new(&[("main.stack", "param port: int = 1\nlet port = 2\n")]);
    let (code, message, labels) = single(&stack);
    assert_eq!(code, ErrorCode::Duplicate);
    assert_eq!(message, "`port` is defined twice");
    assert_eq!(
        labels,
        [
            "port: let `port` defined again here",
            "port: first defined here"
        ]
    );
    // The first definition is kept.
    let stack = Stack::new(&[("main.stack", "let a = 1\nfn a() = 2\n")]);
    assert_eq!(single(&stack).0, ErrorCode::Duplicate);
}

#[test]
fn an_import_alias_may_not_be_a_kind() {
    let stack = Stack::new(&[
        ("main.stack", "import \"./lib.stack\" as volume\n"),
        ("lib.stack", "let x = 1\n"),
    ]);
    let (code, message, labels) = single(&stack);
    assert_eq!(code, ErrorCode::Duplicate);
    assert_eq!(message, "import alias `volume` hides a built-in kind");
    assert_eq!(labels, ["volume: choose another alias"]);
}

#[test]
fn stack_is_named_once_and_only_in_the_root_file() {
    let stack = Stack::new(&[("main.stack", "stack \"a\"\nstack \"b\"\n")]);
    let (code, message, labels) = single(&stack);
    assert_eq!(code, ErrorCode::Duplicate);
    assert_eq!(message, "the stack is named twice");
    assert_eq!(
        labels,
        ["\"b\": named again here", "\"a\": first named here"]
    );

    let stack = Stack::new(&[
        ("main.stack", "stack \"a\"\nimport \"./lib.stack\" as lib\n"),
        ("lib.stack", "stack \"lib\"\n"),
    ]);
    let (code, message, labels) = single(&stack);
    assert_eq!(code, ErrorCode::MisplacedItem);
    assert_eq!(message, "`stack` is only allowed in the root file");
    assert_eq!(labels, ["\"lib\": in an imported module"]);
}

#[test]
fn declarations_inside_blocks_are_misplaced_at_any_depth() {
    let stack = Stack::new(&[(
        "main.stack",
        "for i in [1] {\n  if true {\n    fn f() = 1\n  } else {\n    param p: int\n  }\n}\n",
    )]);
    let errors = stack.errors();
    let found: Vec<(ErrorCode, &str)> = errors
        .iter()
        .map(|(code, message, _)| (*code, message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                ErrorCode::MisplacedItem,
                "a function is not allowed inside a block"
            ),
            (
                ErrorCode::MisplacedItem,
                "a parameter is not allowed inside a block"
            ),
        ]
    );
}

#[test]
fn lets_in_a_block_are_unique_per_block_not_per_file() {
    // The same name in both branches, and at the top level, is fine.
    let ok = Stack::new(&[(
        "main.stack",
        "let x = 0\nif true {\n  let x = 1\n} else {\n  let x = 2\n}\n",
    )]);
    ok.program();
    let twice = Stack::new(&[(
        "main.stack",
        "for i in [1] {\n  let y = 1\n  let y = 2\n}\n",
    )]);
    let (code, message, labels) = single(&twice);
    assert_eq!(code, ErrorCode::Duplicate);
    assert_eq!(message, "`y` is defined twice");
    assert_eq!(labels, ["y: defined again here", "y: first defined here"]);
}

// ------------------------------------------------------------ static cycles

#[test]
fn lets_that_use_each_other_are_a_cycle_labelled_at_each_use() {
    let stack = Stack::new(&[(
        "main.stack",
        "let a = b + 1\nlet b = c * 2\nlet c = a\nlet d = a\n",
    )]);
    let (code, message, labels) = single(&stack);
    assert_eq!(code, ErrorCode::LetCycle);
    assert_eq!(
        message,
        "definitions depend on each other in a cycle: a → b → c → a"
    );
    assert_eq!(
        labels,
        [
            "b: `a` uses `b` here",
            "c: `b` uses `c` here",
            "a: `c` uses `a` here"
        ]
    );
}

#[test]
fn parameter_defaults_take_part_in_cycles() {
    let stack = Stack::new(&[("main.stack", "param p: int = q\nlet q = p\n")]);
    let (code, message, _) = single(&stack);
    assert_eq!(code, ErrorCode::LetCycle);
    assert_eq!(
        message,
        "definitions depend on each other in a cycle: p → q → p"
    );
}

#[test]
fn only_functions_in_a_cycle_is_recursion() {
    let stack = Stack::new(&[(
        "main.stack",
        "fn f(n: int) -> int = g(n)\nfn g(n: int) -> int = f(n)\n",
    )]);
    let (code, message, _) = single(&stack);
    assert_eq!(code, ErrorCode::RecursiveFunction);
    assert_eq!(message, "functions cannot be recursive: f → g → f");
    // A function and a let: a definition cycle.
    let stack = Stack::new(&[("main.stack", "fn f() -> int = a\nlet a = f()\n")]);
    assert_eq!(single(&stack).0, ErrorCode::LetCycle);
}

#[test]
fn names_bound_inside_an_expression_are_no_edges() {
    // `a` in the body is the function's parameter; `x` in the comprehension its variable.
    let stack = Stack::new(&[(
        "main.stack",
        "fn f(a: int) -> int = a + 1\nlet a = f(1)\nlet x = [for x in [1, 2]: x * a]\n",
    )]);
    stack.program();
}

#[test]
fn a_dashed_name_after_a_dot_is_no_use_of_the_name_after_the_dash() {
    // `container.api-b` names the container `api-b`; it does not subtract `b`,
    // so `a` does not use `b` and there is no cycle.
    let stack = Stack::new(&[(
        "main.stack",
        "let a = container.api-b\nlet b = a\ncontainer \"api-b\" { image = \"busybox\" }\n",
    )]);
    stack.program();
    // With spaces it is a subtraction, and so a cycle.
    let stack = Stack::new(&[("main.stack", "let a = x.y - b\nlet b = a\nlet x = {}\n")]);
    let (code, message, _) = single(&stack);
    assert_eq!(code, ErrorCode::LetCycle);
    assert_eq!(
        message,
        "definitions depend on each other in a cycle: a → b → a"
    );
}

#[test]
fn find_cycles_reports_each_elementary_cycle_once() {
    let span = |n: u32| Span {
        source: SourceId(0),
        start: n,
        end: n,
    };
    // 0 → 1 → 2 → 0, 2 → 3, 3 → 3.
    let edges = vec![
        vec![(1, span(1))],
        vec![(2, span(2))],
        vec![(0, span(0)), (3, span(3))],
        vec![(3, span(30))],
    ];
    let cycles: Vec<Vec<usize>> = find_cycles(&edges)
        .iter()
        .map(|c| c.iter().map(|(n, _)| *n).collect())
        .collect();
    assert_eq!(cycles, [vec![0, 1, 2], vec![3]]);
    let spans: Vec<u32> = find_cycles(&edges)[0]
        .iter()
        .map(|(_, s)| s.start)
        .collect();
    assert_eq!(spans, [1, 2, 0], "each node with the edge to the next");
    assert!(find_cycles(&[vec![(1, span(1))], vec![]]).is_empty());
}
