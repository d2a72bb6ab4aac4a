//! Build contexts: the files an image build sends to the engine, and the
//! content hash that decides whether an image must be rebuilt.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// One file (or symlink) of a build context.
#[derive(Debug, Clone)]
pub struct ContextFile {
    /// Path relative to the context root, with `/` separators.
    pub relative: String,
    pub path: PathBuf,
    pub executable: bool,
    /// The link target, for symbolic links.
    pub link: Option<String>,
}

/// Every file under `root`, sorted by relative path.
pub fn files(root: &Path) -> Result<Vec<ContextFile>, String> {
    let meta =
        fs::metadata(root).map_err(|e| format!("build context `{}`: {e}", root.display()))?;
    if !meta.is_dir() {
        return Err(format!(
            "build context `{}` is not a directory",
            root.display()
        ));
    }
    let mut out = Vec::new();
    let mut dirs = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = dirs.pop() {
        let entries =
            fs::read_dir(&dir).map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let path = entry.path();
            let meta = fs::symlink_metadata(&path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            if meta.is_dir() {
                dirs.push((path, relative));
            } else if meta.file_type().is_symlink() {
                let link = fs::read_link(&path)
                    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
                out.push(ContextFile {
                    relative,
                    path,
                    executable: false,
                    link: Some(link.to_string_lossy().into_owned()),
                });
            } else {
                out.push(ContextFile {
                    relative,
                    path,
                    executable: is_executable(&meta),
                    link: None,
                });
            }
        }
    }
    out.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(out)
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}

/// SHA-256 (hex) of the build inputs: every context file's path, mode and
/// content, the Dockerfile path, the build args and the target.
pub fn hash(
    root: &Path,
    dockerfile: &str,
    args: &BTreeMap<String, String>,
    target: Option<&str>,
) -> Result<String, String> {
    let files = files(root)?;
    let dockerfile_path = root.join(dockerfile);
    if !dockerfile_path.is_file() {
        return Err(format!("no Dockerfile at `{}`", dockerfile_path.display()));
    }
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(dockerfile.as_bytes());
    for (k, v) in args {
        field(k.as_bytes());
        field(v.as_bytes());
    }
    field(target.unwrap_or("").as_bytes());
    for f in &files {
        field(f.relative.as_bytes());
        match &f.link {
            Some(link) => {
                field(b"link");
                field(link.as_bytes());
            }
            None => {
                field(if f.executable { b"exec" } else { b"file" });
                let content = fs::read(&f.path)
                    .map_err(|e| format!("cannot read `{}`: {e}", f.path.display()))?;
                field(&content);
            }
        }
    }
    Ok(crate::eval::builtins::hex(&h.finalize()))
}

/// The build context as a tar archive, as the engine's build API takes it:
/// every file under `root` (symbolic links kept as links), with fixed
/// owners, times and modes (0644, or 0755 for executables) so that the same
/// content always makes the same archive.
pub fn tar(root: &Path) -> Result<Vec<u8>, String> {
    let files = files(root)?;
    let mut archive = tar::Builder::new(Vec::new());
    archive.mode(tar::HeaderMode::Deterministic);
    archive.follow_symlinks(false);
    for f in &files {
        archive
            .append_path_with_name(&f.path, &f.relative)
            .map_err(|e| {
                format!(
                    "cannot add `{}` to the build context: {e}",
                    f.path.display()
                )
            })?;
    }
    archive.into_inner().map_err(|e| {
        format!(
            "cannot write the build context of `{}`: {e}",
            root.display()
        )
    })
}
