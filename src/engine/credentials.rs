//! Registry credentials, found where the docker CLI keeps them.
//!
//! The docker CLI's configuration is `$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`. For the registry of an image (the part of the
//! reference before the first `/` when it looks like a host: it holds a `.`
//! or a `:`, or is `localhost`; otherwise Docker Hub, whose credentials are
//! kept under `https://index.docker.io/v1/`), the credentials come from the
//! first of:
//!
//! 1. `credHelpers[registry]`: the helper `docker-credential-<name>` is run
//!    as `docker-credential-<name> get` with the registry on its standard
//!    input, and answers `{"Username": …, "Secret": …}` (a `Username` of
//!    `<token>` means the secret is an identity token);
//! 2. `credsStore`: the same, with that helper;
//! 3. `auths[registry]`: `auth` (base64 of `user:password`), else `username`
//!    and `password`, and `identitytoken` / `registrytoken`.
//!
//! As with the docker CLI, the helper that the configuration names is the
//! only source for its registries: its "credentials not found" means none.
//! No file, no entry: no credentials (anonymous access).
//!
//! A secret found here is only ever handed to the engine: it is never
//! printed, and no error message holds it.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use base64::Engine as _;
use bollard::auth::DockerCredentials;

/// The key Docker Hub's credentials are kept under.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";
/// A helper's `Username` saying that the `Secret` is an identity token.
const TOKEN_USERNAME: &str = "<token>";

/// Why the credentials for a registry cannot be had. No message holds a secret.
#[derive(Debug)]
pub enum CredentialError {
    /// The docker CLI's `config.json` cannot be read.
    Unreadable { file: PathBuf, source: io::Error },
    /// `config.json` is no JSON; where, never what: the file holds secrets.
    InvalidJson {
        file: PathBuf,
        line: usize,
        column: usize,
    },
    /// The `auth` of an `auths` entry is not base64 of `user:password`.
    BadAuth {
        registry: String,
        file: PathBuf,
        /// What it is not: `valid base64`, `valid UTF-8`, `` `user:password` in base64 ``.
        not: &'static str,
    },
    /// A helper name that could reach outside the helper path (`../x`).
    HelperName { name: String, whence: String },
    /// `program` is not on the helper path. `whence`, here and below, says
    /// where the configuration names the helper: credsStore in `config.json`, …
    HelperMissing { program: String, whence: String },
    HelperRun {
        program: String,
        whence: String,
        source: io::Error,
    },
    /// The helper failed. What it said is not shown: a helper may echo
    /// the secret in its output, and its error output is no safer.
    HelperFailed {
        program: String,
        whence: String,
        registry: String,
        status: ExitStatus,
    },
    /// The helper succeeded without a JSON answer (its output is not shown).
    HelperAnswer {
        program: String,
        whence: String,
        registry: String,
    },
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialError::Unreadable { file, source } => {
                write!(f, "cannot read `{}`: {source}", file.display())
            }
            CredentialError::InvalidJson { file, line, column } => write!(
                f,
                "`{}` is not valid JSON (line {line}, column {column})",
                file.display()
            ),
            CredentialError::BadAuth {
                registry,
                file,
                not,
            } => write!(
                f,
                "the `auth` of {registry} in `{}` is not {not}",
                file.display()
            ),
            CredentialError::HelperName { name, whence } => write!(
                f,
                "the credential helper name `{name}` ({whence}) is not a plain name"
            ),
            CredentialError::HelperMissing { program, whence } => write!(
                f,
                "the credential helper `{program}` ({whence}) is not installed: it is not on PATH"
            ),
            CredentialError::HelperRun {
                program,
                whence,
                source,
            } => write!(
                f,
                "cannot run the credential helper `{program}` ({whence}): {source}"
            ),
            CredentialError::HelperFailed {
                program,
                whence,
                registry,
                status,
            } => write!(
                f,
                "the credential helper `{program}` ({whence}) failed for {registry} ({status})"
            ),
            CredentialError::HelperAnswer {
                program,
                whence,
                registry,
            } => write!(
                f,
                "the credential helper `{program}` ({whence}) answered something other than JSON credentials for {registry}"
            ),
        }
    }
}

impl std::error::Error for CredentialError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CredentialError::Unreadable { source, .. }
            | CredentialError::HelperRun { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The registry an image reference lives in, as the docker CLI keys its
/// credentials: `127.0.0.1:5000` for `127.0.0.1:5000/app:1`, `localhost`
/// for `localhost/app`, and [`DOCKER_HUB`] for `nginx:1.27`,
/// `team/app` or `docker.io/team/app`.
pub fn registry_of(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            if first == "docker.io" || first == "index.docker.io" {
                DOCKER_HUB.to_string()
            } else {
                first.to_string()
            }
        }
        _ => DOCKER_HUB.to_string(),
    }
}

/// Where credentials are looked up: the docker CLI's configuration
/// directory, and the directories searched for credential helpers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialSource {
    /// `$DOCKER_CONFIG`, else `~/.docker`; `None` when neither is known.
    pub config_dir: Option<PathBuf>,
    /// Searched for `docker-credential-<name>`, like `PATH`; `None` leaves
    /// the search to the operating system (the process's `PATH`).
    pub helper_path: Option<String>,
}

impl CredentialSource {
    /// As the docker CLI finds it: `DOCKER_CONFIG`, else `HOME/.docker`;
    /// helpers on `PATH`. `env` reads an environment variable; empty counts
    /// as unset.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> CredentialSource {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        CredentialSource {
            config_dir: var("DOCKER_CONFIG")
                .map(PathBuf::from)
                .or_else(|| var("HOME").map(|home| Path::new(&home).join(".docker"))),
            helper_path: var("PATH"),
        }
    }

    /// The docker CLI's `config.json`, whether it exists or not.
    pub fn config_file(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join("config.json"))
    }

    /// The credentials for pulling or pushing `reference`.
    pub fn for_image(&self, reference: &str) -> Result<Option<DockerCredentials>, CredentialError> {
        self.lookup(&registry_of(reference))
    }

    /// The credentials for `registry` (as [`registry_of`] names it), or
    /// `None` for anonymous access. Errors never hold a secret.
    pub fn lookup(&self, registry: &str) -> Result<Option<DockerCredentials>, CredentialError> {
        let Some(file) = self.config_file() else {
            return Ok(None);
        };
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CredentialError::Unreadable { file, source }),
        };
        if text.trim().is_empty() {
            return Ok(None);
        }
        // The error says where, never what: the file holds secrets.
        let config: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| CredentialError::InvalidJson {
                file: file.clone(),
                line: e.line(),
                column: e.column(),
            })?;
        let helper_of = config
            .get("credHelpers")
            .and_then(|h| h.get(registry))
            .and_then(|h| h.as_str())
            .filter(|h| !h.is_empty());
        if let Some(helper) = helper_of {
            let whence = format!("credHelpers of {registry} in `{}`", file.display());
            return self.ask_helper(helper, registry, &whence);
        }
        if let Some(store) = config
            .get("credsStore")
            .and_then(|s| s.as_str())
            .filter(|s| !s.is_empty())
        {
            let whence = format!("credsStore in `{}`", file.display());
            return self.ask_helper(store, registry, &whence);
        }
        let Some(auths) = config.get("auths").and_then(|a| a.as_object()) else {
            return Ok(None);
        };
        let entry = auths.get(registry).or_else(|| {
            // Older configurations key entries by URL (`https://host/v1/`).
            let wanted = hostname(registry);
            auths
                .iter()
                .find(|(key, _)| hostname(key) == wanted)
                .map(|(_, entry)| entry)
        });
        match entry {
            Some(entry) => from_auths_entry(entry, registry, &file),
            None => Ok(None),
        }
    }

    /// Runs `docker-credential-<helper> get` for `registry`.
    fn ask_helper(
        &self,
        helper: &str,
        registry: &str,
        whence: &str,
    ) -> Result<Option<DockerCredentials>, CredentialError> {
        let program = format!("docker-credential-{helper}");
        if helper.contains(['/', '\\']) || helper.starts_with('.') {
            return Err(CredentialError::HelperName {
                name: helper.to_string(),
                whence: whence.to_string(),
            });
        }
        let command = self
            .find_helper(&program)
            .ok_or_else(|| CredentialError::HelperMissing {
                program: program.clone(),
                whence: whence.to_string(),
            })?;
        let cannot_run = |source| CredentialError::HelperRun {
            program: program.clone(),
            whence: whence.to_string(),
            source,
        };
        let mut command = Command::new(&command);
        command
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn(&mut command).map_err(cannot_run)?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading is judged by its answer.
            let _ = stdin.write_all(registry.as_bytes());
        }
        let output = child.wait_with_output().map_err(cannot_run)?;
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stdout).trim().to_string();
            if said.contains("credentials not found") {
                return Ok(None);
            }
            return Err(CredentialError::HelperFailed {
                program,
                whence: whence.to_string(),
                registry: registry.to_string(),
                status: output.status,
            });
        }
        let answer: serde_json::Value =
            serde_json::from_slice(&output.stdout).map_err(|_| CredentialError::HelperAnswer {
                program,
                whence: whence.to_string(),
                registry: registry.to_string(),
            })?;
        let field = |name: &str| {
            answer
                .get(name)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let (username, secret) = (field("Username"), field("Secret"));
        let Some(secret) = secret else {
            return Ok(None);
        };
        let mut credentials = DockerCredentials {
            serveraddress: Some(registry.to_string()),
            ..Default::default()
        };
        if username.as_deref() == Some(TOKEN_USERNAME) {
            credentials.identitytoken = Some(secret);
        } else {
            credentials.username = username;
            credentials.password = Some(secret);
        }
        Ok(Some(credentials))
    }

    /// The helper program: the first executable `program` in
    /// [`Self::helper_path`], or just its name when no path is set.
    fn find_helper(&self, program: &str) -> Option<PathBuf> {
        let Some(path) = &self.helper_path else {
            return Some(PathBuf::from(program));
        };
        std::env::split_paths(path)
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable(candidate))
    }
}

/// Spawns `command`, trying again for a moment while the program is "busy":
/// a script just written is, as long as a process forked meanwhile (by
/// another thread) still holds it open for writing.
fn spawn(command: &mut Command) -> std::io::Result<std::process::Child> {
    /// `ETXTBSY` on Linux and the BSDs.
    const TEXT_FILE_BUSY: i32 = 26;
    let mut tries = 0;
    loop {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(TEXT_FILE_BUSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            spawned => return spawned,
        }
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// `https://host:5000/v1/` → `host:5000`, as the docker CLI compares keys.
fn hostname(key: &str) -> &str {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest)
}

/// An `auths` entry of `config.json`.
fn from_auths_entry(
    entry: &serde_json::Value,
    registry: &str,
    file: &Path,
) -> Result<Option<DockerCredentials>, CredentialError> {
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let mut credentials = DockerCredentials {
        serveraddress: Some(registry.to_string()),
        identitytoken: field("identitytoken"),
        registrytoken: field("registrytoken"),
        ..Default::default()
    };
    if let Some(auth) = field("auth") {
        let bad = |not| CredentialError::BadAuth {
            registry: registry.to_string(),
            file: file.to_path_buf(),
            not,
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad("valid base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad("valid UTF-8"))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| bad("`user:password` in base64"))?;
        credentials.username = Some(user.to_string());
        credentials.password = Some(password.to_string());
    } else {
        credentials.username = field("username");
        credentials.password = field("password");
    }
    let any = credentials.username.is_some()
        || credentials.password.is_some()
        || credentials.identitytoken.is_some()
        || credentials.registrytoken.is_some();
    Ok(any.then_some(credentials))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory of its own under the system's temporary directory.
    fn temp_dir(what: &str) -> PathBuf {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "stackc-credentials-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A configuration directory holding `config`, and an empty helper path.
    fn source(config: &str) -> CredentialSource {
        let dir = temp_dir("config");
        std::fs::write(dir.join("config.json"), config).unwrap();
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        CredentialSource {
            config_dir: Some(dir),
            helper_path: Some(bin.to_string_lossy().into_owned()),
        }
    }

    /// Puts `docker-credential-<name>` (a shell script) on the source's helper path.
    #[cfg(unix)]
    fn helper(source: &CredentialSource, name: &str, script: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let bin = PathBuf::from(source.helper_path.as_ref().unwrap());
        let path = bin.join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{script}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// A helper that knows one registry, writes what it was asked to
    /// `asked` next to itself, and says "not found" for others (exit 1,
    /// as docker-credential-helpers do).
    #[cfg(unix)]
    const FAKE: &str = r#"[ "$1" = get ] || exit 3
read -r server || true
dir=$(dirname "$0")
printf '%s' "$server" > "$dir/asked"
case "$server" in
  127.0.0.1:5000) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}' "$server" ;;
  registry.example:443) printf '{"ServerURL":"%s","Username":"<token>","Secret":"a-token"}' "$server" ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hub-user","Secret":"hub-secret"}' "$server" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"#;

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn user_password(c: &DockerCredentials) -> (Option<&str>, Option<&str>) {
        (c.username.as_deref(), c.password.as_deref())
    }

    #[test]
    fn registry_is_the_first_component_when_it_looks_like_a_host() {
        assert_eq!(registry_of("127.0.0.1:5000/app:1"), "127.0.0.1:5000");
        assert_eq!(registry_of("localhost/app"), "localhost");
        assert_eq!(registry_of("localhost:5000/team/app:1"), "localhost:5000");
        assert_eq!(registry_of("ghcr.io/team/app@sha256:abc"), "ghcr.io");
        assert_eq!(registry_of("nginx:1.27"), DOCKER_HUB);
        assert_eq!(registry_of("nginx"), DOCKER_HUB);
        assert_eq!(registry_of("team/app:1"), DOCKER_HUB);
        assert_eq!(registry_of("docker.io/library/nginx"), DOCKER_HUB);
        assert_eq!(registry_of("index.docker.io/team/app"), DOCKER_HUB);
    }

    #[test]
    fn config_dir_is_docker_config_else_home() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let s = CredentialSource::from_env(&env(&[
            ("DOCKER_CONFIG", "/etc/dc"),
            ("HOME", "/home/u"),
            ("PATH", "/bin:/usr/bin"),
        ]));
        assert_eq!(s.config_file(), Some(PathBuf::from("/etc/dc/config.json")));
        assert_eq!(s.helper_path.as_deref(), Some("/bin:/usr/bin"));
        let s = CredentialSource::from_env(&env(&[("DOCKER_CONFIG", " "), ("HOME", "/home/u")]));
        assert_eq!(
            s.config_file(),
            Some(PathBuf::from("/home/u/.docker/config.json"))
        );
        assert_eq!(s.helper_path, None);
        let s = CredentialSource::from_env(&env(&[]));
        assert_eq!(s.config_file(), None);
        assert_eq!(s.lookup("127.0.0.1:5000").unwrap(), None);
    }

    #[test]
    fn no_file_or_no_entry_means_anonymous() {
        let s = CredentialSource {
            config_dir: Some(temp_dir("none")),
            helper_path: None,
        };
        assert_eq!(s.lookup("127.0.0.1:5000").unwrap(), None);
        assert_eq!(source("").lookup(DOCKER_HUB).unwrap(), None);
        assert_eq!(source("{}").lookup(DOCKER_HUB).unwrap(), None);
        let s = source(r#"{"auths": {"other:5000": {"auth": "dTpw"}, "127.0.0.1:5000": {}}}"#);
        assert_eq!(s.lookup("127.0.0.1:5000").unwrap(), None);
        assert_eq!(s.for_image("nginx:1.27").unwrap(), None);
    }

    #[test]
    fn auths_auth_is_base64_user_colon_password() {
        let config = format!(
            r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{}"}}, "https://index.docker.io/v1/": {{"auth": "{}"}}}}}}"#,
            b64("alice:pa:ss~?"),
            b64("hubuser:hubpass")
        );
        let s = source(&config);
        let c = s.for_image("127.0.0.1:5000/app:1").unwrap().unwrap();
        assert_eq!(user_password(&c), (Some("alice"), Some("pa:ss~?")));
        assert_eq!(c.serveraddress.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(c.auth, None, "the engine is given user and password");
        let c = s.for_image("team/app").unwrap().unwrap();
        assert_eq!(user_password(&c), (Some("hubuser"), Some("hubpass")));
        assert_eq!(c.serveraddress.as_deref(), Some(DOCKER_HUB));
    }

    #[test]
    fn auths_username_password_and_tokens() {
        let s = source(
            r#"{"auths": {
                "a.example": {"username": "bob", "password": "pw"},
                "b.example": {"identitytoken": "idt"},
                "c.example": {"registrytoken": "rt"}
            }}"#,
        );
        let c = s.lookup("a.example").unwrap().unwrap();
        assert_eq!(user_password(&c), (Some("bob"), Some("pw")));
        let c = s.lookup("b.example").unwrap().unwrap();
        assert_eq!(c.identitytoken.as_deref(), Some("idt"));
        assert_eq!(user_password(&c), (None, None));
        let c = s.lookup("c.example").unwrap().unwrap();
        assert_eq!(c.registrytoken.as_deref(), Some("rt"));
    }

    #[test]
    fn auths_keyed_by_url_match_their_host() {
        let config = format!(
            r#"{{"auths": {{"https://registry.example:5000/v1/": {{"auth": "{}"}}}}}}"#,
            b64("u:p")
        );
        let c = source(&config)
            .for_image("registry.example:5000/app")
            .unwrap()
            .unwrap();
        assert_eq!(user_password(&c), (Some("u"), Some("p")));
        assert_eq!(c.serveraddress.as_deref(), Some("registry.example:5000"));
    }

    #[test]
    fn bad_auth_and_bad_json_are_errors_without_the_secret() {
        let s = source(r#"{"auths": {"127.0.0.1:5000": {"auth": "not base64 s3cr3t!"}}}"#);
        let e = s.lookup("127.0.0.1:5000").unwrap_err().to_string();
        assert!(e.contains("is not valid base64"), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
        let config = format!(
            r#"{{"auths": {{"h.example": {{"auth": "{}"}}}}}}"#,
            b64("nocolon-s3cr3t")
        );
        let e = source(&config).lookup("h.example").unwrap_err().to_string();
        assert!(e.contains("`user:password`"), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
        let e = source(r#"{"auths": {"h": {"auth": "s3cr3t"#)
            .lookup("h")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not valid JSON"), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn cred_helpers_are_asked_with_the_server_on_stdin() {
        let s = source(
            r#"{"credHelpers": {"127.0.0.1:5000": "fake", "registry.example:443": "fake", "other.example": "fake"},
                "auths": {"127.0.0.1:5000": {"username": "file-user", "password": "file-pw"}}}"#,
        );
        let script = helper(&s, "fake", FAKE);
        let asked = script.with_file_name("asked");
        let c = s.for_image("127.0.0.1:5000/app:1").unwrap().unwrap();
        assert_eq!(
            user_password(&c),
            (Some("helper-user"), Some("helper-secret")),
            "credHelpers comes before auths"
        );
        assert_eq!(std::fs::read_to_string(&asked).unwrap(), "127.0.0.1:5000");
        let c = s.for_image("registry.example:443/app").unwrap().unwrap();
        assert_eq!(c.identitytoken.as_deref(), Some("a-token"));
        assert_eq!(user_password(&c), (None, None), "`<token>` is no user name");
        // "credentials not found": none, and no error.
        assert_eq!(s.for_image("other.example/app").unwrap(), None);
        // A registry without a helper of its own and no credsStore: auths.
        assert_eq!(s.for_image("nginx").unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn creds_store_serves_every_registry_without_a_helper_of_its_own() {
        let s = source(
            r#"{"credsStore": "fake", "credHelpers": {"127.0.0.1:5000": "other"},
                "auths": {"unknown.example": {"username": "file-user", "password": "file-pw"}}}"#,
        );
        helper(&s, "fake", FAKE);
        helper(
            &s,
            "other",
            r#"printf '{"Username":"other-user","Secret":"other-secret"}'"#,
        );
        let c = s.for_image("nginx:1.27").unwrap().unwrap();
        assert_eq!(user_password(&c), (Some("hub-user"), Some("hub-secret")));
        assert_eq!(c.serveraddress.as_deref(), Some(DOCKER_HUB));
        let c = s.for_image("127.0.0.1:5000/app").unwrap().unwrap();
        assert_eq!(
            user_password(&c),
            (Some("other-user"), Some("other-secret"))
        );
        // The store is the source for what it does not know, as with the docker CLI.
        assert_eq!(s.for_image("unknown.example/app").unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn failing_or_missing_helpers_are_errors_without_the_secret() {
        let s = source(
            r#"{"credHelpers": {"a.example": "broken", "b.example": "liar", "c.example": "absent", "d.example": "../x"}}"#,
        );
        // A failing helper may echo the secret on either output: neither is shown.
        helper(
            &s,
            "broken",
            "echo 'token s3cr3t rejected'; echo 'Secret: s3cr3t' >&2; exit 2\n",
        );
        helper(&s, "liar", "echo 'Secret: s3cr3t, not JSON'\n");
        let e = s.lookup("a.example").unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "the credential helper `docker-credential-broken` (credHelpers of a.example in `{}`) failed for a.example (exit status: 2)",
                s.config_file().unwrap().display()
            )
        );
        let e = s.lookup("b.example").unwrap_err().to_string();
        assert!(e.contains("something other than JSON"), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
        let e = s.lookup("c.example").unwrap_err().to_string();
        assert!(
            e.contains("`docker-credential-absent`") && e.contains("not installed"),
            "{e}"
        );
        assert!(e.contains("credHelpers of c.example"), "{e}");
        let e = s.lookup("d.example").unwrap_err().to_string();
        assert!(e.contains("not a plain name"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_helper_without_a_secret_gives_none() {
        let s = source(r#"{"credsStore": "empty"}"#);
        helper(&s, "empty", r#"printf '{"Username":"","Secret":""}'"#);
        assert_eq!(s.lookup("x.example").unwrap(), None);
    }
}
