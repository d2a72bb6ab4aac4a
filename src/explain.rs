//! `stackc explain CODE`: the section of `docs/errors.md` or `docs/lint.md`
//! about a code, as `rustc --explain` prints its index. The docs are built
//! into the binary, so what it prints is what the docs (checked against the
//! golden cases by `tests/errors_catalogue.rs`) say.

use crate::diagnostic::{ErrorCode, did_you_mean};

const ERRORS: &str = include_str!("../docs/errors.md");
const LINT: &str = include_str!("../docs/lint.md");

/// Why there is nothing to explain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCode {
    pub message: String,
    pub help: String,
}

/// The documentation of `code` (`E0302`, `w0003`): its heading and text,
/// without the markers that tie examples to their test cases.
pub fn explain(code: &str) -> Result<String, UnknownCode> {
    let wanted = code.trim().to_ascii_uppercase();
    let known = ErrorCode::ALL.iter().find(|c| c.as_str() == wanted);
    let Some(known) = known else {
        let suggestion = did_you_mean(&wanted, ErrorCode::ALL.iter().map(|c| c.as_str()));
        return Err(UnknownCode {
            message: format!("`{}` is not an error or warning code", code.trim()),
            help: match suggestion {
                Some(s) => format!("{s} Codes are E0001… (errors) and W0001… (warnings)"),
                None => "codes are E0001… (errors, docs/errors.md) and W0001… (warnings, docs/lint.md), as printed above a diagnostic".to_string(),
            },
        });
    };
    let docs = if wanted.starts_with('W') {
        LINT
    } else {
        ERRORS
    };
    let heading = format!("## {}: {}", known.as_str(), known.title());
    let section = docs
        .split_once(&format!("{heading}\n"))
        .map(|(_, rest)| rest.split("\n## ").next().unwrap_or(rest))
        .ok_or_else(|| UnknownCode {
            message: format!("`{wanted}` has no documentation"),
            help: "this is a bug in stackc: please report it".to_string(),
        })?;
    let body: Vec<&str> = section
        .lines()
        .filter(|l| !l.starts_with("<!-- case:"))
        .collect();
    Ok(format!("{heading}\n{}\n", body.join("\n").trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_an_explanation() {
        for code in ErrorCode::ALL {
            let text = explain(code.as_str()).unwrap();
            assert!(text.starts_with(&format!("## {}", code.as_str())), "{text}");
            assert!(!text.contains("<!-- case:"), "{text}");
            assert!(text.lines().count() > 2, "{text}");
        }
    }

    #[test]
    fn unknown_codes_get_a_suggestion() {
        let e = explain("E0320").unwrap_err();
        assert!(e.message.contains("`E0320`"), "{e:?}");
        assert!(e.help.contains("did you mean"), "{e:?}");
        assert!(explain("w0003").unwrap().starts_with("## W0003"));
        assert!(explain("banana").unwrap_err().help.contains("E0001…"));
    }
}
