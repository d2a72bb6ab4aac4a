//! Golden tests: every `.stack` file under `tests/cases/` is compiled and its
//! rendered diagnostics (no colour, 100 columns) or its deployment JSON is
//! snapshotted beside it. Regenerate with `cargo insta test --review`.

use std::path::Path;

use stackc::diagnostic::{RenderOptions, render_all};
use stackc::driver::{Options, compile};

use crate::support::{case_vars, redact, root};

fn run_case(path: &Path) -> String {
    let relative = path.strip_prefix(root()).unwrap_or(path);
    let options = Options {
        path: relative.to_path_buf(),
        vars: case_vars(path),
        var_files: Vec::new(),
    };
    let compilation = compile(&options);
    let text = match compilation.result {
        Ok(deployment) => deployment.to_json(false),
        Err(diagnostics) => render_all(&diagnostics, &compilation.sources, RenderOptions::PLAIN),
    };
    redact(&text)
}

#[test]
fn cases() {
    // Tests run from the package root, so diagnostics name files relative to it.
    std::env::set_current_dir(root()).expect("cd to the package root");
    insta::glob!("cases/**/*.stack", |path| {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("case")
            .to_string();
        let dir = path
            .parent()
            .expect("a case has a directory")
            .join("snapshots");
        insta::with_settings!({
            snapshot_path => dir,
            prepend_module_to_snapshot => false,
            omit_expression => true,
            input_file => path,
        }, {
            insta::assert_snapshot!(name, run_case(path));
        });
    });
}
