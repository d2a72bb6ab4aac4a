//! Files copied into a container (`files`) through the engine's archive
//! API: uploaded as a tar built in memory after the container is created
//! and before it starts, and — for secret ones only — read back when the
//! stack is observed, so that a changed secret is found without its digest
//! ever being stored.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::DockerEngine;
use super::error::not_found;
use crate::deployment::FileSpec;
use crate::engine::{EngineError, ErrorKind, SECRET_FILE_MTIME};
use crate::files::TEXT_LIMIT;

impl DockerEngine {
    /// Copies the files into a created container. Missing parent
    /// directories are made by the engine (root's, mode 0755); existing
    /// ones are left as they are, since the archive holds no directories.
    pub(super) async fn upload_files(
        &self,
        id: &str,
        files: &[FileSpec],
        what: &str,
    ) -> Result<(), EngineError> {
        if files.is_empty() {
            return Ok(());
        }
        let tar = archive(files).map_err(|e| {
            EngineError::new(ErrorKind::Other, format!("cannot copy files into it: {e}"))
                .about(what)
        })?;
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(id, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|e| {
                let mut error = self.error(e, what.to_string());
                error.message = format!("cannot copy files into it: {}", error.message);
                error
            })
    }

    /// The content of each of these files in a container, as it is now;
    /// those that are gone, not regular files or too large are left out
    /// (they cannot be compared, and count as unchanged). And those written
    /// since stackc copied them in (their modification time is not
    /// [`SECRET_FILE_MTIME`]).
    pub(super) async fn read_files(
        &self,
        id: &str,
        targets: &[String],
    ) -> Result<(BTreeMap<String, Vec<u8>>, BTreeSet<String>), EngineError> {
        let mut out = BTreeMap::new();
        let mut written = BTreeSet::new();
        for target in targets {
            let options = DownloadFromContainerOptionsBuilder::default()
                .path(target)
                .build();
            let mut stream = self.docker.download_from_container(id, Some(options));
            let mut tar = Vec::new();
            let mut complete = true;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(bytes) => tar.extend_from_slice(&bytes),
                    Err(e) if not_found(&e) => {
                        complete = false;
                        break;
                    }
                    Err(e) => return Err(self.error(e, format!("file {target}"))),
                }
                // A tar adds headers and padding to the largest file there may be.
                if tar.len() as u64 > TEXT_LIMIT + 64 * 1024 {
                    complete = false;
                    break;
                }
            }
            if let Some((content, mtime)) = complete.then(|| first_file(&tar)).flatten() {
                if mtime != SECRET_FILE_MTIME {
                    written.insert(target.clone());
                }
                out.insert(target.clone(), content);
            }
        }
        Ok((out, written))
    }
}

/// An uncompressed tar of the files at their paths (relative to `/`), with
/// their mode and owner; secret ones with the modification time
/// [`SECRET_FILE_MTIME`], which tells them apart from a file written since.
pub(super) fn archive(files: &[FileSpec]) -> Result<Vec<u8>, String> {
    let mut builder = tar::Builder::new(Vec::new());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for f in files {
        let bytes = f
            .bytes()
            .ok_or_else(|| format!("the content of {} is damaged", f.target))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(f.mode_bits());
        header.set_uid(u64::from(f.uid));
        header.set_gid(u64::from(f.gid));
        header.set_mtime(if f.is_secret() {
            SECRET_FILE_MTIME
        } else {
            now
        });
        header.set_entry_type(tar::EntryType::Regular);
        let path = f.target.trim_start_matches('/');
        builder
            .append_data(&mut header, path, bytes.as_slice())
            .map_err(|e| format!("{}: {e}", f.target))?;
    }
    builder.into_inner().map_err(|e| e.to_string())
}

/// The content and modification time of the first regular file in a tar.
fn first_file(tar: &[u8]) -> Option<(Vec<u8>, u64)> {
    let mut archive = tar::Archive::new(tar);
    let mut entry = archive.entries().ok()?.next()?.ok()?;
    if entry.header().entry_type() != tar::EntryType::Regular {
        return None;
    }
    let mtime = entry.header().mtime().ok()?;
    let mut content = Vec::new();
    entry
        .by_ref()
        .take(TEXT_LIMIT + 1)
        .read_to_end(&mut content)
        .ok()?;
    Some((content, mtime))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_holds_each_file_with_its_mode_and_owner() {
        let files = [
            FileSpec::new(
                "/run/secrets/pw".into(),
                b"s3cret".to_vec(),
                true,
                0o400,
                999,
                998,
            ),
            FileSpec::new("/etc/bin".into(), vec![0xff, 0x00], false, 0o644, 0, 0),
        ];
        let tar = archive(&files).unwrap();
        let mut a = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32, u64, u64, Vec<u8>)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let h = e.header().clone();
                let mut content = Vec::new();
                e.read_to_end(&mut content).unwrap();
                let path = e.path().unwrap().display().to_string();
                (
                    path,
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    content,
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("run/secrets/pw".into(), 0o400, 999, 998, b"s3cret".to_vec()),
                ("etc/bin".into(), 0o644, 0, 0, vec![0xff, 0x00]),
            ]
        );
        // The secret one with stackc's time, which no write inside gives.
        assert_eq!(
            first_file(&tar).unwrap(),
            (b"s3cret".to_vec(), SECRET_FILE_MTIME)
        );
    }
}
