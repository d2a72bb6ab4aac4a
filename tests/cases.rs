//! Golden tests: every `.stack` file under `tests/cases/` is compiled and its
//! rendered diagnostics (no colour, 100 columns) or its deployment JSON is
//! snapshotted beside it. Regenerate with `cargo insta test --review`.

use std::path::Path;

use stackc::deployment::{Deployment, Spec};
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
        Ok(mut deployment) => {
            mask_checkout_hashes(&mut deployment);
            deployment.to_json(false)
        }
        Err(diagnostics) => render_all(&diagnostics, &compilation.sources, RenderOptions::PLAIN),
    };
    redact(&text)
}

/// Absolute paths are redacted to `[ROOT]`, but the hash of a spec holding
/// one (a bind mount's source) still depends on where the repository is
/// checked out: such hashes are masked too. (Image hashes leave out the
/// build context's location, so they need no masking.)
fn mask_checkout_hashes(deployment: &mut Deployment) {
    let root = root().to_string_lossy().into_owned();
    for r in &mut deployment.resources {
        let located = !matches!(r.spec, Spec::Image(_))
            && serde_json::to_string(&r.spec).is_ok_and(|s| s.contains(&root));
        if located {
            r.hash = "[HASH OF A SPEC WITH A CHECKOUT PATH]".to_string();
        }
    }
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
            // `glob!` suffixes names with the path below the common base of all
            // matches (`name@ok__name.stack`) once cases sit in several directories;
            // the snapshot is `snapshots/<stem>.snap` beside its input instead.
            snapshot_suffix => "",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            input_file => path,
        }, {
            insta::assert_snapshot!(name, run_case(path));
        });
    });
}
