//! Saved plans (`plan --out FILE`, `apply FILE`). A plan file holds the
//! deployment with its secrets, so it is written readable by its owner only.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{FORMAT_VERSION, Plan};
use crate::deployment::Deployment;
use crate::engine::Snapshot;

/// What `plan --out` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always `"stackc-plan"`: tells a plan file from anything else.
    pub file: String,
    pub format_version: u32,
    pub stack: String,
    /// The live state the plan was made against, object by object.
    pub snapshot: Snapshot,
    /// The engine it was made against.
    pub engine: String,
    pub plan: Plan,
    /// The deployment to apply, secrets included.
    pub deployment: Deployment,
}

const MARKER: &str = "stackc-plan";

impl SavedPlan {
    pub fn new(
        plan: Plan,
        deployment: Deployment,
        snapshot: Snapshot,
        engine: String,
    ) -> SavedPlan {
        SavedPlan {
            file: MARKER.into(),
            format_version: FORMAT_VERSION,
            stack: deployment.stack.clone(),
            snapshot,
            engine,
            plan,
            deployment,
        }
    }
}

/// Why a plan file could not be written or read.
#[derive(Debug)]
pub enum PlanFileError {
    Encode(serde_json::Error),
    Write(PathBuf, std::io::Error),
    Read(PathBuf, std::io::Error),
    NotAPlan(PathBuf),
    Version(PathBuf, u64),
    Damaged(PathBuf, serde_json::Error),
    /// The plan inside was made for another stack than the file says (edited by hand).
    Inconsistent(PathBuf, String),
}

impl fmt::Display for PlanFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanFileError::Encode(e) => write!(f, "cannot encode the plan: {e}"),
            PlanFileError::Write(path, e) => write!(f, "cannot write `{}`: {e}", path.display()),
            PlanFileError::Read(path, e) => write!(f, "cannot read `{}`: {e}", path.display()),
            PlanFileError::NotAPlan(path) => {
                write!(f, "`{}` is not a stackc plan file", path.display())
            }
            PlanFileError::Version(path, version) => write!(
                f,
                "`{}` is a plan of format version {version}; this stackc reads version {FORMAT_VERSION}: make the plan again",
                path.display()
            ),
            PlanFileError::Damaged(path, e) => {
                write!(f, "`{}` is a damaged plan file: {e}", path.display())
            }
            PlanFileError::Inconsistent(path, stack) => write!(
                f,
                "{} was made for another stack (`{stack}`)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for PlanFileError {}

/// Writes a plan file with mode 0600.
pub fn write_plan_file(path: &Path, saved: &SavedPlan) -> Result<(), PlanFileError> {
    let json = serde_json::to_vec_pretty(saved).map_err(PlanFileError::Encode)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let write_error = |e| PlanFileError::Write(path.to_path_buf(), e);
    let mut file = options.open(path).map_err(write_error)?;
    // An existing file keeps its mode on open: narrow it too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    file.write_all(&json).map_err(write_error)
}

/// Reads a plan file, refusing anything that is not a consistent plan of
/// this format version.
pub fn read_plan_file(path: &Path) -> Result<SavedPlan, PlanFileError> {
    let owned = || path.to_path_buf();
    let text = std::fs::read_to_string(path).map_err(|e| PlanFileError::Read(owned(), e))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| PlanFileError::NotAPlan(owned()))?;
    if value.get("file").and_then(|f| f.as_str()) != Some(MARKER) {
        return Err(PlanFileError::NotAPlan(owned()));
    }
    let version = value
        .get("format_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if version != u64::from(FORMAT_VERSION) {
        return Err(PlanFileError::Version(owned(), version));
    }
    let saved: SavedPlan =
        serde_json::from_value(value).map_err(|e| PlanFileError::Damaged(owned(), e))?;
    if saved.deployment.stack != saved.stack {
        return Err(PlanFileError::Inconsistent(owned(), saved.deployment.stack));
    }
    Ok(saved)
}
