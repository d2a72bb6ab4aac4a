//! Build contexts: the files an image build sends to the engine, and the
//! content hash that decides whether an image must be rebuilt.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::files::{CONTEXT_LIMIT, Confinement, FileError, TEXT_LIMIT};

/// Why a build context cannot be read, hashed or archived.
#[derive(Debug)]
pub enum BuildContextError {
    /// The context directory itself cannot be read.
    Context {
        root: PathBuf,
        source: io::Error,
    },
    NotADirectory {
        root: PathBuf,
    },
    /// A file of the context may not be read: a link leading outside the
    /// context, a FIFO or device, too much data.
    File(FileError),
    /// A file or directory of the context cannot be read.
    Unreadable {
        path: PathBuf,
        source: io::Error,
    },
    /// A line of the context's `.dockerignore` is no valid pattern.
    Dockerignore {
        path: PathBuf,
        error: IgnorePatternError,
    },
    NoDockerfile {
        path: PathBuf,
    },
    /// A file cannot be added to the archive.
    Archive {
        path: PathBuf,
        source: io::Error,
    },
    /// The archive cannot be finished.
    ArchiveEnd {
        root: PathBuf,
        source: io::Error,
    },
}

impl fmt::Display for BuildContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildContextError::Context { root, source } => {
                write!(f, "build context `{}`: {source}", root.display())
            }
            BuildContextError::NotADirectory { root } => {
                write!(f, "build context `{}` is not a directory", root.display())
            }
            BuildContextError::File(e) => write!(f, "build context: {e}"),
            BuildContextError::Unreadable { path, source } => {
                write!(f, "cannot read `{}`: {source}", path.display())
            }
            BuildContextError::Dockerignore { path, error } => {
                write!(f, "{}: {error}", path.display())
            }
            BuildContextError::NoDockerfile { path } => {
                write!(f, "no Dockerfile at `{}`", path.display())
            }
            BuildContextError::Archive { path, source } => write!(
                f,
                "cannot add `{}` to the build context: {source}",
                path.display()
            ),
            BuildContextError::ArchiveEnd { root, source } => write!(
                f,
                "cannot write the build context of `{}`: {source}",
                root.display()
            ),
        }
    }
}

impl std::error::Error for BuildContextError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildContextError::Context { source, .. }
            | BuildContextError::Unreadable { source, .. }
            | BuildContextError::Archive { source, .. }
            | BuildContextError::ArchiveEnd { source, .. } => Some(source),
            BuildContextError::Dockerignore { error, .. } => Some(error),
            BuildContextError::File(e) => Some(e),
            BuildContextError::NotADirectory { .. } | BuildContextError::NoDockerfile { .. } => {
                None
            }
        }
    }
}

/// A `.dockerignore` line that is no valid pattern. The line is not quoted:
/// a `.dockerignore` may be a link to a file whose text is no one's business.
#[derive(Debug, Clone)]
pub struct IgnorePatternError {
    /// 1-based.
    pub line: usize,
    pub reason: globset::ErrorKind,
}

impl fmt::Display for IgnorePatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: invalid pattern: {}", self.line, self.reason)
    }
}

impl std::error::Error for IgnorePatternError {}

/// The `map_err` of reading `path`.
fn unreadable(path: &Path) -> impl FnOnce(io::Error) -> BuildContextError + '_ {
    move |source| BuildContextError::Unreadable {
        path: path.to_path_buf(),
        source,
    }
}

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

/// The files of a build context: every file under `root` that its
/// `.dockerignore` does not exclude (the Dockerfile and `.dockerignore`
/// themselves are always sent, as Docker sends them), sorted by path.
pub fn files(root: &Path, dockerfile: &str) -> Result<Vec<ContextFile>, BuildContextError> {
    walk(root, dockerfile).map(|(_, files)| files)
}

/// [`files`], with the confinement their contents are read through: the
/// context's own tree, so a link inside it is sent as a link and its target
/// is never read. Only regular files, at most [`CONTEXT_LIMIT`] together.
fn walk(
    root: &Path,
    dockerfile: &str,
) -> Result<(Confinement, Vec<ContextFile>), BuildContextError> {
    let meta = fs::metadata(root).map_err(|source| BuildContextError::Context {
        root: root.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(BuildContextError::NotADirectory {
            root: root.to_path_buf(),
        });
    }
    let confinement = Confinement::new(root, &[]).map_err(BuildContextError::File)?;
    let ignore = Ignore::read(&confinement, root)?;
    let mut size = 0;
    let dockerfile = clean(dockerfile);
    let mut out = Vec::new();
    let mut dirs = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = dirs.pop() {
        for entry in fs::read_dir(&dir).map_err(unreadable(&dir))? {
            let entry = entry.map_err(unreadable(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).map_err(unreadable(&path))?;
            let always = relative == dockerfile || relative == ".dockerignore";
            if meta.is_dir() {
                // An excluded directory is skipped whole unless an exception may re-include something in it.
                if !ignore.excludes(&relative) || ignore.has_exceptions() {
                    dirs.push((path, relative));
                }
                continue;
            }
            if ignore.excludes(&relative) && !always {
                continue;
            }
            if meta.file_type().is_symlink() {
                let link = fs::read_link(&path).map_err(unreadable(&path))?;
                out.push(ContextFile {
                    relative,
                    path,
                    executable: false,
                    link: Some(link.to_string_lossy().into_owned()),
                });
            } else if !meta.is_file() {
                let kind = crate::files::describe(meta.file_type());
                return Err(BuildContextError::File(FileError::NotRegular {
                    path,
                    kind,
                }));
            } else {
                size += meta.len();
                if size > CONTEXT_LIMIT {
                    return Err(BuildContextError::File(FileError::TooLarge {
                        path: root.to_path_buf(),
                        limit: CONTEXT_LIMIT,
                    }));
                }
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
    Ok((confinement, out))
}

/// A context's `.dockerignore`, read with Docker's rules: one pattern a
/// line, `#` comments, `!` exceptions, Go's glob syntax plus `**`, a
/// leading `/` meaning the context root; the last pattern that matches a
/// path (or one of its parent directories) decides.
#[derive(Debug, Default)]
pub struct Ignore {
    /// (pattern, is an exception).
    patterns: Vec<(globset::GlobMatcher, bool)>,
}

impl Ignore {
    /// The `.dockerignore` of `root`, or nothing when there is none.
    fn read(confinement: &Confinement, root: &Path) -> Result<Ignore, BuildContextError> {
        let path = root.join(".dockerignore");
        match confinement.read_text(&path, TEXT_LIMIT) {
            Ok(text) => Ignore::parse(&text)
                .map_err(|error| BuildContextError::Dockerignore { path, error }),
            Err(FileError::Unreadable { source, .. })
                if source.kind() == io::ErrorKind::NotFound =>
            {
                Ok(Ignore::default())
            }
            Err(e) => Err(BuildContextError::File(e)),
        }
    }

    pub fn parse(text: &str) -> Result<Ignore, IgnorePatternError> {
        let mut patterns = Vec::new();
        for (n, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            let line = line.trim();
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if pattern.is_empty() {
                continue;
            }
            let pattern = clean(pattern);
            let glob = globset::GlobBuilder::new(&pattern)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| IgnorePatternError {
                    line: n + 1,
                    reason: e.kind().clone(),
                })?;
            patterns.push((glob.compile_matcher(), exception));
        }
        Ok(Ignore { patterns })
    }

    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|(_, exception)| *exception)
    }

    /// Whether `relative` (with `/` separators) is left out of the context.
    pub fn excludes(&self, relative: &str) -> bool {
        let parents: Vec<&str> = relative
            .match_indices('/')
            .map(|(i, _)| &relative[..i])
            .collect();
        let mut excluded = false;
        for (glob, exception) in &self.patterns {
            // Only a pattern that could change the outcome is tried.
            if *exception != excluded {
                continue;
            }
            if glob.is_match(relative) || parents.iter().any(|p| glob.is_match(p)) {
                excluded = !exception;
            }
        }
        excluded
    }
}

/// A pattern or path as Go's `filepath.Clean` leaves it, relative to the
/// context root: no `.`, no `a/..`, no doubled, leading or trailing `/`.
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// The content of a regular file of the context.
fn read(confinement: &Confinement, f: &ContextFile) -> Result<Vec<u8>, BuildContextError> {
    confinement
        .read(&f.path, CONTEXT_LIMIT)
        .map_err(BuildContextError::File)
}

/// The text of a build's Dockerfile, which must be a regular file inside its context.
pub fn dockerfile_text(root: &Path, dockerfile: &str) -> Result<String, BuildContextError> {
    let path = root.join(dockerfile);
    let confinement = Confinement::new(root, &[]).map_err(BuildContextError::File)?;
    match confinement.read_text(&path, TEXT_LIMIT) {
        Ok(text) => Ok(text),
        Err(FileError::Unreadable { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            Err(BuildContextError::NoDockerfile { path })
        }
        Err(e) => Err(BuildContextError::File(e)),
    }
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

/// SHA-256 (hex) of the build inputs: every file of the context (after
/// `.dockerignore`) with its path, mode and content, the Dockerfile's path,
/// the build args and the target. A file the build cannot see changes nothing.
///
/// `hashed_dockerfile` is what the Dockerfile's name counts as (the name
/// itself, or `(secret)` when it is secret: the hash names the image).
pub fn hash(
    root: &Path,
    dockerfile: &str,
    hashed_dockerfile: &str,
    args: &BTreeMap<String, String>,
    target: Option<&str>,
) -> Result<String, BuildContextError> {
    let (confinement, files) = walk(root, dockerfile)?;
    // The Dockerfile must be a regular file inside the context; its content is among `files`.
    dockerfile_text(root, dockerfile)?;
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(hashed_dockerfile.as_bytes());
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
                field(&read(&confinement, f)?);
            }
        }
    }
    Ok(crate::digest::hex(&h.finalize()))
}

/// The build context as a tar archive, as the engine's build API takes it:
/// the context's files (see [`files`]; symbolic links kept as links), with fixed
/// owners, times and modes (0644, or 0755 for executables) so that the same
/// content always makes the same archive.
pub fn tar(root: &Path, dockerfile: &str) -> Result<Vec<u8>, BuildContextError> {
    let (confinement, files) = walk(root, dockerfile)?;
    let mut archive = tar::Builder::new(Vec::new());
    archive.mode(tar::HeaderMode::Deterministic);
    archive.follow_symlinks(false);
    for f in &files {
        let archived = match &f.link {
            // A link is archived as a link: its target is not read.
            Some(_) => archive.append_path_with_name(&f.path, &f.relative),
            None => {
                let content = read(&confinement, f)?;
                let meta = fs::metadata(&f.path).map_err(unreadable(&f.path))?;
                let mut header = tar::Header::new_gnu();
                header.set_metadata_in_mode(&meta, tar::HeaderMode::Deterministic);
                header.set_size(content.len() as u64);
                archive.append_data(&mut header, &f.relative, content.as_slice())
            }
        };
        archived.map_err(|source| BuildContextError::Archive {
            path: f.path.clone(),
            source,
        })?;
    }
    archive
        .into_inner()
        .map_err(|source| BuildContextError::ArchiveEnd {
            root: root.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excluded(patterns: &str, paths: &[&str]) -> Vec<String> {
        let ignore = Ignore::parse(patterns).unwrap_or_default();
        paths
            .iter()
            .filter(|p| ignore.excludes(p))
            .map(|p| p.to_string())
            .collect()
    }

    /// The examples of Docker's `.dockerignore` documentation.
    #[test]
    fn dockerignore_follows_dockers_documented_rules() {
        let docs = "# comment\n*/temp*\n*/*/temp*\ntemp?\n";
        let paths = [
            "somedir/temporary.txt",
            "somedir/temp",
            "somedir/subdir/temporary.txt",
            "tempa",
            "tempb",
            "temp",
            "temporary.txt",
            "a/b/c/temp.txt",
        ];
        assert_eq!(
            excluded(docs, &paths),
            [
                "somedir/temporary.txt",
                "somedir/temp",
                "somedir/subdir/temporary.txt",
                "tempa",
                "tempb"
            ]
        );
        // `**` matches any number of directories, including none.
        assert_eq!(
            excluded("**/*.go", &["main.go", "a/b/util.go", "go.mod"]),
            ["main.go", "a/b/util.go"]
        );
        // `!` makes exceptions; the last matching line decides.
        let md = ["README.md", "CHANGES.md", "README-secret.md", "docs/x.md"];
        assert_eq!(
            excluded("*.md\n!README.md\n", &md),
            ["CHANGES.md", "README-secret.md"]
        );
        assert_eq!(
            excluded("*.md\n!README*.md\nREADME-secret.md\n", &md),
            ["CHANGES.md", "README-secret.md"]
        );
        assert_eq!(
            excluded("*.md\nREADME-secret.md\n!README*.md\n", &md),
            ["CHANGES.md"]
        );
        // `*` stays within a directory.
        assert_eq!(
            excluded("*.md", &md),
            ["README.md", "CHANGES.md", "README-secret.md"]
        );
    }

    #[test]
    fn directories_roots_and_cleaning() {
        // A directory excludes everything beneath it; an exception can bring a file back.
        let paths = [
            "node_modules/a/index.js",
            "node_modules/keep.txt",
            "src/node_modules.txt",
        ];
        assert_eq!(
            excluded("node_modules", &paths),
            ["node_modules/a/index.js", "node_modules/keep.txt"]
        );
        assert_eq!(
            excluded("node_modules\n!node_modules/keep.txt", &paths),
            ["node_modules/a/index.js"]
        );
        // A leading `/` is the context root; `./`, `//` and a trailing `/` are cleaned away.
        assert_eq!(
            excluded("/build/", &["build/out.o", "src/build/x"]),
            ["build/out.o"]
        );
        assert_eq!(excluded("./a//b/../c", &["a/c", "a/b/c"]), ["a/c"]);
        // `?` is one character but never `/`; blank lines and surrounding spaces are ignored.
        assert_eq!(
            excluded("\n  log?.txt  \n", &["log1.txt", "log/.txt", "log12.txt"]),
            ["log1.txt"]
        );
        // An exception alone excludes nothing.
        assert!(excluded("!anything", &["anything", "else"]).is_empty());
    }

    #[test]
    fn a_bad_pattern_names_its_line() {
        let e = Ignore::parse("ok\n[unclosed\n").unwrap_err().to_string();
        assert!(e.starts_with("line 2: invalid pattern: "), "{e}");
        assert!(!e.contains("unclosed`"), "the line is not quoted: {e}");
    }

    #[test]
    fn ignored_files_change_neither_the_context_nor_the_hash() {
        let dir = std::env::temp_dir().join(format!("stackc-context-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("logs")).unwrap();
        fs::write(dir.join("Dockerfile"), "FROM scratch\nCOPY app /app\n").unwrap();
        fs::write(dir.join(".dockerignore"), "logs\n*.tmp\nDockerfile\n").unwrap();
        fs::write(dir.join("app"), "v1").unwrap();
        fs::write(dir.join("logs/today.log"), "a").unwrap();
        fs::write(dir.join("scratch.tmp"), "a").unwrap();
        let names: Vec<String> = files(&dir, "Dockerfile")
            .unwrap()
            .into_iter()
            .map(|f| f.relative)
            .collect();
        assert_eq!(
            names,
            [".dockerignore", "Dockerfile", "app"],
            "the Dockerfile is always sent"
        );
        let args = BTreeMap::new();
        let before = hash(&dir, "Dockerfile", "Dockerfile", &args, None).unwrap();
        fs::write(dir.join("logs/today.log"), "b").unwrap();
        fs::write(dir.join("other.tmp"), "b").unwrap();
        assert_eq!(
            before,
            hash(&dir, "Dockerfile", "Dockerfile", &args, None).unwrap(),
            "ignored changes"
        );
        fs::write(dir.join("app"), "v2").unwrap();
        assert_ne!(
            before,
            hash(&dir, "Dockerfile", "Dockerfile", &args, None).unwrap(),
            "a change the build sees"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
