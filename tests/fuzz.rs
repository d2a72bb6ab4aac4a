//! No input may crash the compiler. Every case, example and stdlib module is
//! mutated (deterministically) and compiled; a panic anywhere in the front
//! end fails the test with the input that caused it.
//!
//! `STACKC_FUZZ_MUTANTS=2000 cargo test fuzz` runs a longer campaign.

use std::path::{Path, PathBuf};

use stackc::driver::{Options, compile};

use crate::support::{copy_tree, root, temp_dir};

/// Fragments that stress the lexer, the parser and the evaluator.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "\"\"\"",
    "${",
    ",",
    "=",
    "==",
    "-",
    "!",
    ".",
    ":",
    "?",
    "|",
    "#",
    "\n",
    "\\",
    "\\u",
    "0",
    "-1",
    "1.5",
    "99999999999999999999",
    "10s",
    "1h30m",
    "1GiB",
    "0.5KiB",
    "null",
    "true",
    "for",
    "if",
    "else",
    "then",
    "in",
    "let",
    "param",
    "fn",
    "output",
    "assert",
    "import",
    "stack",
    "container",
    "network",
    "volume",
    "image",
    "service",
    "x",
    "range(3)",
    "container.x",
    "image.x.name",
    "[for i in range(2): i]",
    "{for k, v in {a = 1}: k = v}",
    "\"${1 + }\"",
    "\u{e9}",
    "\u{1F600}",
    "%",
    "/ 0",
    "* 9223372036854775807",
];

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn char_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One random edit: delete a range, insert a token, duplicate or swap lines.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut out = text.to_string();
    for _ in 0..=rng.below(3) {
        let at = char_boundary(&out, rng.below(out.len() + 1));
        match rng.below(4) {
            0 => {
                let end = char_boundary(&out, at + rng.below(12));
                out.replace_range(at..end.max(at), "");
            }
            1 => out.insert_str(at, TOKENS[rng.below(TOKENS.len())]),
            2 => {
                let lines: Vec<&str> = out.lines().collect();
                if !lines.is_empty() {
                    let line = lines[rng.below(lines.len())].to_string();
                    out.insert_str(at, &format!("\n{line}\n"));
                }
            }
            _ => {
                let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
                if lines.len() > 1 {
                    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(a, b);
                    out = lines.join("\n");
                }
            }
        }
    }
    out
}

/// Every `.stack` file of the repository's cases, examples and stdlib.
fn inputs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            inputs(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "stack" || e == "module")
        {
            out.push(path);
        }
    }
}

#[test]
fn mutated_inputs_never_crash_the_compiler() {
    let mutants: usize = std::env::var("STACKC_FUZZ_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    // A private copy of the inputs, so imports and files next to them still resolve.
    let work = temp_dir("fuzz");
    for dir in ["tests/cases", "examples", "stdlib"] {
        copy_tree(&root().join(dir), &work.join(dir));
    }
    let mut files = Vec::new();
    inputs(&work, &mut files);
    files.sort();
    assert!(files.len() > 50, "found only {} inputs", files.len());
    let mut rng = Rng(0x5eed_57ac_c0de_0001);
    let mut crashes = Vec::new();
    for file in &files {
        let original = std::fs::read_to_string(file).unwrap();
        for _ in 0..mutants {
            let mutant = mutate(&original, &mut rng);
            std::fs::write(file, &mutant).unwrap();
            let vars = if original.contains("param db_password") {
                vec!["db_password=x".into()]
            } else {
                Vec::new()
            };
            let options = Options {
                path: file.clone(),
                vars,
                var_files: Vec::new(),
                allow_outside: Vec::new(),
                // The lint must not panic on any input either.
                lint: true,
                ..Default::default()
            };
            let compilation = compile(&options);
            let crashed = compilation.result.as_ref().err().is_some_and(|diags| {
                diags
                    .iter()
                    .any(|d| d.message.starts_with("internal error"))
            });
            if crashed {
                crashes.push(format!("--- {}\n{mutant}", file.display()));
            }
        }
        std::fs::write(file, &original).unwrap();
    }
    let _ = std::fs::remove_dir_all(&work);
    assert!(
        crashes.is_empty(),
        "{} inputs crashed the compiler:\n{}",
        crashes.len(),
        crashes.join("\n")
    );
}
