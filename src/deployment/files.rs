//! Files copied into a container before it starts (`files`): their shape in
//! the deployment, and what of them labels, plans and hashes may hold.
//!
//! A file's content travels in the deployment (compile output, saved plans),
//! since it is what is uploaded; labels, plans and the hash see only its
//! size and SHA-256. A secret content has neither: its digest would let a
//! short secret be guessed offline, so it is compared with the file read
//! back from the live container instead.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// One file to copy into a container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Absolute path in the container.
    pub target: String,
    /// Permission bits in octal, four digits: `"0644"`.
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    /// Bytes; absent for a secret (its length is secret too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// SHA-256 of the content; absent for a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The content: text, or base64 when `encoding` is `"base64"` (a
    /// `source` file that is not UTF-8). Left out of labels and plans
    /// unless secret, where it shows as `(secret)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// The mode of a file when none is given.
pub const DEFAULT_MODE: u32 = 0o644;

impl FileSpec {
    /// A file with a content that is shown (sized and digested) or secret.
    pub fn new(
        target: String,
        bytes: Vec<u8>,
        secret: bool,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Self {
        let (size, sha256) = if secret {
            (None, None)
        } else {
            (
                Some(bytes.len() as u64),
                Some(crate::digest::sha256_hex(&bytes)),
            )
        };
        let (content, encoding) = match String::from_utf8(bytes) {
            Ok(text) => (text, None),
            Err(e) => (
                base64::engine::general_purpose::STANDARD.encode(e.as_bytes()),
                Some("base64".to_string()),
            ),
        };
        FileSpec {
            target,
            mode: format!("{mode:04o}"),
            uid,
            gid,
            size,
            sha256,
            content: Some(content),
            encoding,
        }
    }

    /// Whether the content is secret (it has no digest).
    pub fn is_secret(&self) -> bool {
        self.sha256.is_none()
    }

    /// The bytes to write; `None` when the content is missing or damaged
    /// (a saved plan edited by hand).
    pub fn bytes(&self) -> Option<Vec<u8>> {
        let content = self.content.as_ref()?;
        match self.encoding.as_deref() {
            None => Some(content.as_bytes().to_vec()),
            Some("base64") => base64::engine::general_purpose::STANDARD
                .decode(content)
                .ok(),
            Some(_) => None,
        }
    }

    /// The permission bits.
    pub fn mode_bits(&self) -> u32 {
        u32::from_str_radix(&self.mode, 8).unwrap_or(DEFAULT_MODE)
    }
}

/// Removes the content of every file that is not secret from a spec's JSON
/// (its size and digest stay): labels and plans never hold file contents.
pub fn strip_shown_contents(spec: &mut serde_json::Value) {
    let Some(files) = spec.get_mut("files").and_then(|f| f.as_array_mut()) else {
        return;
    };
    for file in files.iter_mut().filter_map(|f| f.as_object_mut()) {
        if file.contains_key("sha256") {
            file.remove("content");
            file.remove("encoding");
        }
    }
}

/// The targets of a spec's secret files, from a label (masked): those
/// whose content is there, as `(secret)`. What an engine reads back.
pub fn secret_targets(label: &serde_json::Value) -> Vec<String> {
    label
        .get("files")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .filter(|f| f.get("sha256").is_none() && f.get("content").is_some())
        .filter_map(|f| f.get("target")?.as_str().map(str::to_string))
        .collect()
}
