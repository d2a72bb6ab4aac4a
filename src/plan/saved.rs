//! Saved plans (`plan --out FILE`, `apply FILE`). A plan file holds the
//! deployment with its secrets, so it is written readable by its owner only.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{FORMAT_VERSION, Plan};
use crate::deployment::Deployment;

/// What `plan --out` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always `"stackc-plan"`: tells a plan file from anything else.
    pub file: String,
    pub format_version: u32,
    pub stack: String,
    /// The live state the plan was made against (`LiveState::fingerprint`).
    pub fingerprint: String,
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
        fingerprint: String,
        engine: String,
    ) -> SavedPlan {
        SavedPlan {
            file: MARKER.into(),
            format_version: FORMAT_VERSION,
            stack: deployment.stack.clone(),
            fingerprint,
            engine,
            plan,
            deployment,
        }
    }
}

/// Writes a plan file with mode 0600.
pub fn write_plan_file(path: &Path, saved: &SavedPlan) -> Result<(), String> {
    let json =
        serde_json::to_vec_pretty(saved).map_err(|e| format!("cannot encode the plan: {e}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    // An existing file keeps its mode on open: narrow it too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    file.write_all(&json)
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

/// Reads a plan file, refusing anything that is not a plan of this format version.
pub fn read_plan_file(path: &Path) -> Result<SavedPlan, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|_| format!("`{}` is not a stackc plan file", path.display()))?;
    if value.get("file").and_then(|f| f.as_str()) != Some(MARKER) {
        return Err(format!("`{}` is not a stackc plan file", path.display()));
    }
    let version = value
        .get("format_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if version != u64::from(FORMAT_VERSION) {
        return Err(format!(
            "`{}` is a plan of format version {version}; this stackc reads version {FORMAT_VERSION}: make the plan again",
            path.display()
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| format!("`{}` is a damaged plan file: {e}", path.display()))
}
