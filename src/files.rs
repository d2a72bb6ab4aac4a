//! Reading the files a stack names. A stack is untrusted input (CI plans pull
//! requests), so every such read goes through [`Confinement`]: the real path
//! (symlinks followed) must lie inside the stack's directory tree or a
//! directory named with `--allow-outside`, and only regular files of bounded
//! size are read. Errors name the path, never the content.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The most a module, a `file()`, a `.dockerignore` or a Dockerfile may hold.
pub const TEXT_LIMIT: u64 = 4 * 1024 * 1024;

/// The most all files of one build context may hold together.
pub const CONTEXT_LIMIT: u64 = 1024 * 1024 * 1024;

/// The directories reads may reach, as real paths.
#[derive(Debug, Clone)]
pub struct Confinement {
    roots: Vec<PathBuf>,
}

/// Why a file may not be read. `path` is the path as the stack wrote it.
#[derive(Debug)]
pub enum FileError {
    Unreadable {
        path: PathBuf,
        source: io::Error,
    },
    Outside {
        path: PathBuf,
    },
    NotRegular {
        path: PathBuf,
        kind: &'static str,
    },
    TooLarge {
        path: PathBuf,
        limit: u64,
    },
    NotText {
        path: PathBuf,
    },
    /// A module that is not a `.stack` file (after following links).
    NotStack {
        path: PathBuf,
    },
}

impl FileError {
    /// What to do about it, when there is something to say.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            FileError::Outside { .. } => Some(
                "a stack reads only inside its directory (symbolic links are followed); \
                 name another directory with `--allow-outside DIR`",
            ),
            FileError::NotRegular { .. } => Some("only regular files can be read"),
            FileError::NotStack { .. } => Some("modules are `.stack` files"),
            _ => None,
        }
    }
}

impl FileError {
    /// The same error, naming `shown` instead of the path (a secret one, say).
    pub fn shown_as(mut self, shown: &Path) -> FileError {
        let (FileError::Unreadable { path, .. }
        | FileError::Outside { path }
        | FileError::NotRegular { path, .. }
        | FileError::TooLarge { path, .. }
        | FileError::NotText { path }
        | FileError::NotStack { path }) = &mut self;
        *path = shown.to_path_buf();
        self
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Unreadable { path, source } => {
                write!(f, "cannot read `{}`: {source}", path.display())
            }
            FileError::Outside { path } => write!(
                f,
                "`{}` is outside the directories this stack may read",
                path.display()
            ),
            FileError::NotRegular { path, kind } => {
                write!(f, "`{}` is {kind}, not a regular file", path.display())
            }
            FileError::TooLarge { path, limit } => {
                const MIB: u64 = 1024 * 1024;
                match limit % MIB {
                    0 => write!(f, "`{}` is larger than {} MiB", path.display(), limit / MIB),
                    _ => write!(f, "`{}` is larger than {limit} bytes", path.display()),
                }
            }
            FileError::NotText { path } => write!(f, "`{}` is not UTF-8 text", path.display()),
            FileError::NotStack { path } => write!(f, "`{}` is not a .stack file", path.display()),
        }
    }
}

impl std::error::Error for FileError {}

impl Confinement {
    /// Reads confined to `dir` and the `allowed` directories, which must exist.
    pub fn new(dir: &Path, allowed: &[PathBuf]) -> Result<Confinement, FileError> {
        let roots = std::iter::once(dir)
            .chain(allowed.iter().map(PathBuf::as_path))
            .map(|d| {
                d.canonicalize().map_err(|source| FileError::Unreadable {
                    path: d.to_path_buf(),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Confinement { roots })
    }

    /// The real path of `path`, if it lies inside the confinement.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, FileError> {
        let real = path
            .canonicalize()
            .map_err(|source| FileError::Unreadable {
                path: path.to_path_buf(),
                source,
            })?;
        if self.roots.iter().any(|r| real.starts_with(r)) {
            Ok(real)
        } else {
            Err(FileError::Outside {
                path: path.to_path_buf(),
            })
        }
    }

    /// The bytes of the regular file at `path`, at most `limit` of them.
    pub fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
        let real = self.resolve(path)?;
        let unreadable = |source| FileError::Unreadable {
            path: path.to_path_buf(),
            source,
        };
        // Checked before opening: opening a FIFO would block.
        let kind = std::fs::metadata(&real).map_err(unreadable)?.file_type();
        if !kind.is_file() {
            return Err(FileError::NotRegular {
                path: path.to_path_buf(),
                kind: describe(kind),
            });
        }
        let file = std::fs::File::open(&real).map_err(unreadable)?;
        let mut bytes = Vec::new();
        // One byte more than allowed tells a file at the limit from a larger one.
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        if bytes.len() as u64 > limit {
            return Err(FileError::TooLarge {
                path: path.to_path_buf(),
                limit,
            });
        }
        Ok(bytes)
    }

    /// [`Confinement::read`] of a UTF-8 text file.
    pub fn read_text(&self, path: &Path, limit: u64) -> Result<String, FileError> {
        String::from_utf8(self.read(path, limit)?).map_err(|_| FileError::NotText {
            path: path.to_path_buf(),
        })
    }
}

/// What a file that is not a regular file is, for messages.
pub fn describe(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A fresh directory `tree/` with `tree/inside.txt`, and `outside.txt` next to it.
    fn tree(name: &str) -> (PathBuf, Confinement) {
        let base = std::env::temp_dir().join(format!("stackc-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("tree")).unwrap();
        std::fs::write(base.join("tree/inside.txt"), "in").unwrap();
        std::fs::write(base.join("outside.txt"), "SECRET-CONTENT").unwrap();
        let confinement = Confinement::new(&base.join("tree"), &[]).unwrap();
        (base, confinement)
    }

    fn link(target: &Path, at: &Path) {
        #[cfg(unix)]
        std::os::unix::fs::symlink(target, at).unwrap();
    }

    #[test]
    fn reads_regular_files_inside() {
        let (base, c) = tree("inside");
        assert_eq!(
            c.read_text(&base.join("tree/inside.txt"), 10).unwrap(),
            "in"
        );
        // `..` that stays inside is fine.
        std::fs::create_dir(base.join("tree/sub")).unwrap();
        assert!(c.read(&base.join("tree/sub/../inside.txt"), 10).is_ok());
    }

    #[test]
    fn refuses_paths_and_symlinks_leading_outside() {
        let (base, c) = tree("outside");
        let up = base.join("tree/../outside.txt");
        assert!(matches!(c.read(&up, 100), Err(FileError::Outside { .. })));
        link(&base.join("outside.txt"), &base.join("tree/link.txt"));
        link(Path::new("/proc/self/environ"), &base.join("tree/environ"));
        link(&base, &base.join("tree/up"));
        for p in ["tree/link.txt", "tree/environ", "tree/up/outside.txt"] {
            let e = c.read(&base.join(p), 100).unwrap_err();
            assert!(matches!(e, FileError::Outside { .. }), "{p}: {e}");
            assert!(!e.to_string().contains("SECRET"), "{e}");
        }
        assert!(matches!(
            c.read(Path::new("/proc/self/environ"), 100),
            Err(FileError::Outside { .. })
        ));
        // Named with --allow-outside, the directory is readable.
        let allowed = Confinement::new(&base.join("tree"), std::slice::from_ref(&base)).unwrap();
        assert_eq!(allowed.read_text(&up, 100).unwrap(), "SECRET-CONTENT");
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let (base, c) = tree("special");
        let dir = c.read(&base.join("tree"), 100).unwrap_err();
        assert_eq!(
            dir.to_string(),
            format!(
                "`{}` is a directory, not a regular file",
                base.join("tree").display()
            )
        );
        // Devices and FIFOs, even where reading is allowed.
        let everywhere = Confinement::new(Path::new("/"), &[]).unwrap();
        let zero = everywhere.read(Path::new("/dev/zero"), 100).unwrap_err();
        assert!(
            matches!(
                zero,
                FileError::NotRegular {
                    kind: "a device",
                    ..
                }
            ),
            "{zero}"
        );
        let fifo = base.join("tree/fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let e = c.read(&fifo, 100).unwrap_err();
            assert!(
                matches!(e, FileError::NotRegular { kind: "a FIFO", .. }),
                "{e}"
            );
        }
    }

    #[test]
    fn refuses_files_over_the_limit() {
        let (base, c) = tree("limit");
        assert!(c.read(&base.join("tree/inside.txt"), 2).is_ok());
        let e = c.read(&base.join("tree/inside.txt"), 1).unwrap_err();
        assert!(matches!(e, FileError::TooLarge { limit: 1, .. }), "{e}");
        std::fs::write(base.join("tree/binary"), [0xff, 0xfe]).unwrap();
        assert!(matches!(
            c.read_text(&base.join("tree/binary"), 10),
            Err(FileError::NotText { .. })
        ));
    }
}
