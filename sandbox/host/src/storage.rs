//! A plugin's persistent key-value storage: one directory per plugin, one file per key.
//!
//! File names are the key in unpadded base64url, so no key can name a path outside the
//! directory, whatever bytes it holds (the broker also refuses unusual keys before they get
//! here), and the longest key (`SBX_MAX_KEY_LEN`, 128 bytes) still names a file (173 bytes,
//! within the 255 a file name may have; its hex, the names of stores written before, would
//! be 258). A store written before is renamed to base64url when it opens. Each
//! write goes to a temporary file that is synced and then renamed over the old one, and the
//! directory is synced after: a plugin or a host killed mid-write leaves the old value or the
//! new one, never a torn one. Leftover temporary files are removed when the storage opens.
//!
//! The quota counts key and value bytes; the number of keys is bounded too
//! ([`MAX_KEYS`]): every key is a file, and a plugin storing empty values under a
//! million one-byte keys would otherwise spend the file system's inodes, not its bytes.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A value's file: the prefix and the key in unpadded base64url.
const VALUE_PREFIX: &str = "k-";
/// A value's file in stores written before: the prefix and the key in hex.
const HEX_VALUE_PREFIX: &str = "v-";
const TEMP_PREFIX: &str = "t-";

/// Most keys one plugin may hold, whatever its byte quota.
pub const MAX_KEYS: u64 = 4096;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The write would take the plugin past its quota; nothing was written.
    #[error("storage quota: {used} bytes used + {adding} would exceed {quota}")]
    Quota {
        /// Bytes stored now.
        used: u64,
        /// Net bytes the write adds.
        adding: u64,
        /// The quota.
        quota: u64,
    },
    /// The write would add a key beyond [`MAX_KEYS`]; nothing was written.
    #[error("storage keys: {keys} held, at most {max}")]
    TooManyKeys {
        /// Keys held now.
        keys: u64,
        /// The bound.
        max: u64,
    },
    /// The file system failed.
    #[error("storage {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// One plugin's storage directory and its quota.
#[derive(Debug)]
pub struct Storage {
    dir: PathBuf,
    quota: u64,
    used: u64,
    keys: u64,
    /// Keys it may hold: at most [`MAX_KEYS`].
    max_keys: u64,
}

/// The file of `key`'s value in `dir`.
fn value_path(dir: &Path, key: &[u8]) -> PathBuf {
    dir.join(format!("{VALUE_PREFIX}{}", URL_SAFE_NO_PAD.encode(key)))
}

impl StorageError {
    /// The kind of the file system's error (`Other` for a quota): what may be said of a
    /// failure without the path, which names the key.
    pub fn io_kind(&self) -> std::io::ErrorKind {
        match self {
            StorageError::Io { source, .. } => source.kind(),
            _ => std::io::ErrorKind::Other,
        }
    }
}

impl Storage {
    /// Opens (creating, mode 0700) `dir`, removes torn temporary files and counts what is
    /// stored. `quota` bounds the sum of key and value bytes.
    pub fn open(dir: &Path, quota: u64) -> Result<Storage, StorageError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StorageError::Io { path, source }
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
        // Listed first: renaming an old store's files while the directory is read could
        // list a file twice.
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(io(dir))? {
            names.push(entry.map_err(io(dir))?.file_name());
        }
        let mut used = 0;
        let mut keys = 0;
        let mut migrated = false;
        for name in names {
            let Some(name) = name.to_str() else {
                continue;
            };
            let path = dir.join(name);
            let (key, path) = if name.starts_with(TEMP_PREFIX) {
                fs::remove_file(&path).map_err(io(&path))?;
                continue;
            } else if let Some(encoded) = name.strip_prefix(VALUE_PREFIX) {
                match URL_SAFE_NO_PAD.decode(encoded) {
                    Ok(key) => (key, path),
                    Err(_) => continue,
                }
            } else if let Some(key) = name
                .strip_prefix(HEX_VALUE_PREFIX)
                .and_then(|h| hex::decode(h).ok())
            {
                // A store written before: the file takes its base64url name.
                let renamed = value_path(dir, &key);
                fs::rename(&path, &renamed).map_err(io(&renamed))?;
                migrated = true;
                (key, renamed)
            } else {
                continue;
            };
            let len = fs::metadata(&path).map_err(io(&path))?.len();
            used += len + key.len() as u64;
            keys += 1;
        }
        if migrated {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io(dir))?;
        }
        Ok(Storage {
            dir: dir.to_path_buf(),
            quota,
            used,
            keys,
            max_keys: MAX_KEYS,
        })
    }

    /// The same storage holding at most `max` keys (a policy's bound; never more than
    /// [`MAX_KEYS`]). Keys already stored beyond it stay; no new one is added.
    pub fn with_max_keys(mut self, max: u64) -> Storage {
        self.max_keys = max.min(MAX_KEYS);
        self
    }

    /// Keys stored.
    pub fn keys(&self) -> u64 {
        self.keys
    }

    /// Bytes stored (keys and values).
    pub fn used(&self) -> u64 {
        self.used
    }

    /// The quota.
    pub fn quota(&self) -> u64 {
        self.quota
    }

    fn path(&self, key: &[u8]) -> PathBuf {
        value_path(&self.dir, key)
    }

    fn stored_len(&self, key: &[u8]) -> Result<Option<u64>, StorageError> {
        let path = self.path(key);
        match fs::metadata(&path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StorageError::Io { path, source }),
        }
    }

    /// The value of `key`, reading at most `max` bytes (a longer file is returned truncated
    /// to `max + 1` bytes so the caller can tell it did not fit).
    pub fn get(&self, key: &[u8], max: usize) -> Result<Option<Vec<u8>>, StorageError> {
        let path = self.path(key);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StorageError::Io { path, source }),
        };
        let mut value = Vec::new();
        file.take(max as u64 + 1)
            .read_to_end(&mut value)
            .map_err(|source| StorageError::Io { path, source })?;
        Ok(Some(value))
    }

    /// Stores `value` under `key` atomically, within the quota.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        let old = self.stored_len(key)?.map(|v| v + key.len() as u64);
        let new = (value.len() + key.len()) as u64;
        // Saturating: the directory may have been changed behind our back since it was counted.
        let after = self.used.saturating_sub(old.unwrap_or(0)) + new;
        if after > self.quota {
            return Err(StorageError::Quota {
                used: self.used,
                adding: new.saturating_sub(old.unwrap_or(0)),
                quota: self.quota,
            });
        }
        if old.is_none() && self.keys >= self.max_keys {
            return Err(StorageError::TooManyKeys {
                keys: self.keys,
                max: self.max_keys,
            });
        }
        let path = self.path(key);
        let temp = self
            .dir
            .join(format!("{TEMP_PREFIX}{}", URL_SAFE_NO_PAD.encode(key)));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StorageError::Io { path, source }
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(io(&temp))?;
        file.write_all(value).map_err(io(&temp))?;
        // The data is on disk before the name points at it...
        file.sync_all().map_err(io(&temp))?;
        fs::rename(&temp, &path).map_err(io(&path))?;
        // ...and the rename is on disk before the write is acknowledged.
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        self.used = after;
        if old.is_none() {
            self.keys += 1;
        }
        Ok(())
    }

    /// Removes `key`; `false` if it was not there.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool, StorageError> {
        let Some(len) = self.stored_len(key)? else {
            return Ok(false);
        };
        let path = self.path(key);
        fs::remove_file(&path).map_err(|source| StorageError::Io { path, source })?;
        self.used = self.used.saturating_sub(len + key.len() as u64);
        self.keys = self.keys.saturating_sub(1);
        Ok(true)
    }
}

/// A copy of a plugin's storage as it was before an update ([`crate::host::Host::update`]):
/// restoring it puts the directory back as it was, whatever the new version wrote since;
/// discarding it makes the update's writes final. The copy is a hidden sibling of the
/// directory (`.update-copy.<name>`, and `.update-discarded.<name>` while it is put back),
/// which neither another plugin's storage nor another plugin's copy can be: plugin names
/// hold no dot. Taken while no process of the plugin runs, so it is not torn.
#[derive(Debug)]
pub struct Snapshot {
    live: PathBuf,
    copy: PathBuf,
    /// Whether there was a directory to copy: restoring a plugin that had stored nothing
    /// removes what the new version made.
    existed: bool,
}

impl Snapshot {
    /// Copies the storage directory `live` (none yet is a snapshot too). A copy left by a
    /// host that died during an update is replaced.
    pub fn take(live: &Path) -> Result<Snapshot, StorageError> {
        let copy = sibling(live, ".update-copy.");
        remove_dir_if_present(&copy)?;
        let existed = live.is_dir();
        if existed && let Err(e) = copy_values(live, &copy) {
            // No half copy left behind for a later update to take for the whole.
            let _ = remove_dir_if_present(&copy);
            return Err(e);
        }
        Ok(Snapshot {
            live: live.to_path_buf(),
            copy,
            existed,
        })
    }
}

/// Copies the values of the storage directory `live` into a new directory `copy`, each file
/// and the directory synced.
fn copy_values(live: &Path, copy: &Path) -> Result<(), StorageError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StorageError::Io { path, source }
    };
    fs::DirBuilder::new()
        .mode(0o700)
        .create(copy)
        .map_err(io(copy))?;
    for entry in fs::read_dir(live).map_err(io(live))? {
        let entry = entry.map_err(io(live))?;
        let name = entry.file_name();
        // Only the values: a temporary file is a write that never completed.
        let is_value = name.to_str().is_some_and(|n| !n.starts_with(TEMP_PREFIX));
        if !is_value || !entry.file_type().map_err(io(live))?.is_file() {
            continue;
        }
        let to = copy.join(&name);
        fs::copy(entry.path(), &to).map_err(io(&to))?;
        File::open(&to)
            .and_then(|f| f.sync_all())
            .map_err(io(&to))?;
    }
    File::open(copy)
        .and_then(|d| d.sync_all())
        .map_err(io(copy))?;
    Ok(())
}

impl Snapshot {
    /// Puts the directory back as it was when the snapshot was taken: the current one is
    /// moved aside and the copy renamed into its place, then the old one removed.
    pub fn restore(self) -> Result<(), StorageError> {
        let discarded = sibling(&self.live, ".update-discarded.");
        remove_dir_if_present(&discarded)?;
        let rename = |from: &Path, to: &Path| {
            fs::rename(from, to).map_err(|source| StorageError::Io {
                path: to.to_path_buf(),
                source,
            })
        };
        if self.live.exists() {
            rename(&self.live, &discarded)?;
        }
        if self.existed {
            rename(&self.copy, &self.live)?;
        }
        if let Some(parent) = self.live.parent() {
            File::open(parent)
                .and_then(|d| d.sync_all())
                .map_err(|source| StorageError::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
        }
        remove_dir_if_present(&discarded)
    }

    /// Drops the copy: what was written since stands.
    pub fn discard(self) -> Result<(), StorageError> {
        remove_dir_if_present(&self.copy)
    }
}

/// `dir`'s sibling named `prefix` and `dir`'s own name.
fn sibling(dir: &Path, prefix: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(format!("{prefix}{name}"))
}

fn remove_dir_if_present(dir: &Path) -> Result<(), StorageError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StorageError::Io {
            path: dir.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_persist_quota_holds_and_torn_writes_are_cleaned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("plugin");
        let mut s = Storage::open(&root, 20).expect("open");
        s.put(b"k", b"0123456789").expect("put");
        assert_eq!(s.used(), 11);
        assert!(matches!(
            s.put(b"j", b"0123456789"),
            Err(StorageError::Quota { used: 11, .. })
        ));
        // Replacing a value counts only the difference.
        s.put(b"k", b"0123456789abcdef")
            .expect("replace within quota");
        assert_eq!(
            s.get(b"k", 100).expect("get"),
            Some(b"0123456789abcdef".to_vec())
        );
        assert_eq!(s.get(b"k", 4).expect("get").map(|v| v.len()), Some(5));
        // A torn write from a killed process: the temporary file is there, the value is old.
        std::fs::write(root.join("t-6b"), b"torn").expect("write");
        let mut s = Storage::open(&root, 20).expect("reopen");
        assert_eq!(s.used(), 17);
        assert_eq!(
            s.get(b"k", 100).expect("get"),
            Some(b"0123456789abcdef".to_vec())
        );
        assert!(!root.join("t-6b").exists());
        assert!(s.delete(b"k").expect("delete"));
        assert!(!s.delete(b"k").expect("delete again"));
        assert_eq!(s.used(), 0);
        // Keys are base64url on disk: a traversal key stays inside.
        s.put(b"../../etc/x", b"v").expect("put");
        assert!(root.join("k-Li4vLi4vZXRjL3g").exists());
    }

    #[test]
    fn the_longest_key_names_a_file_and_an_old_store_is_renamed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("plugin");
        let mut s = Storage::open(&root, 1 << 20).expect("open");
        // SBX_MAX_KEY_LEN bytes: its hex would be a 258-byte name, past the file system's 255.
        let longest = vec![b'k'; sbx_contract::abi::MAX_KEY_LEN];
        s.put(&longest, b"value")
            .expect("the longest key is stored");
        assert_eq!(s.get(&longest, 100).expect("get"), Some(b"value".to_vec()));
        // A store written before: values under `v-` and the key in hex.
        let old = dir.path().join("old");
        std::fs::create_dir_all(&old).expect("dir");
        std::fs::write(old.join("v-6b6579"), b"kept").expect("write");
        std::fs::write(old.join("v-zz"), b"not a key").expect("write");
        let s = Storage::open(&old, 100).expect("open");
        assert_eq!(s.get(b"key", 100).expect("get"), Some(b"kept".to_vec()));
        assert_eq!((s.keys(), s.used()), (1, 7));
        assert!(!old.join("v-6b6579").exists());
        // Opened again, it is counted once.
        let s = Storage::open(&old, 100).expect("reopen");
        assert_eq!((s.keys(), s.used()), (1, 7));
    }

    #[test]
    fn the_number_of_keys_is_bounded_whatever_the_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("plugin");
        let mut s = Storage::open(&root, u64::MAX).expect("open");
        for i in 0..MAX_KEYS {
            s.put(&i.to_le_bytes(), b"").expect("put");
        }
        assert!(matches!(
            s.put(b"one more", b""),
            Err(StorageError::TooManyKeys { keys: MAX_KEYS, .. })
        ));
        // Replacing a value adds no key; deleting one makes room.
        s.put(&0u64.to_le_bytes(), b"x").expect("replace");
        assert!(s.delete(&1u64.to_le_bytes()).expect("delete"));
        s.put(b"one more", b"").expect("room again");
        // Counted from the directory when it opens again.
        assert_eq!(
            Storage::open(&root, u64::MAX).expect("reopen").keys(),
            MAX_KEYS
        );
    }

    /// A snapshot restored puts back every value as it was and removes what was written
    /// since, keys added too; one discarded leaves the new values; a plugin that had stored
    /// nothing gets nothing back.
    #[test]
    fn a_snapshot_restores_the_storage_as_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("plugin");
        let mut s = Storage::open(&root, 1 << 20).expect("open");
        s.put(b"state", b"old").expect("put");
        let snapshot = Snapshot::take(&root).expect("snapshot");
        s.put(b"state", b"corrupted").expect("put");
        s.put(b"added", b"by the new version").expect("put");
        snapshot.restore().expect("restore");
        let s = Storage::open(&root, 1 << 20).expect("reopen");
        assert_eq!(s.get(b"state", 100).expect("get"), Some(b"old".to_vec()));
        assert_eq!(s.get(b"added", 100).expect("get"), None);
        assert_eq!(s.keys(), 1);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("plugin")]);

        let mut s = s;
        let snapshot = Snapshot::take(&root).expect("snapshot");
        s.put(b"state", b"new").expect("put");
        snapshot.discard().expect("discard");
        assert_eq!(s.get(b"state", 100).expect("get"), Some(b"new".to_vec()));
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);

        // The copies of two plugins never meet, whatever their names: one's restore leaves the
        // other's copy.
        let x = dir.path().join("x");
        let other = dir.path().join("discarded-x");
        Storage::open(&other, 100)
            .expect("open")
            .put(b"k", b"kept")
            .expect("put");
        Storage::open(&x, 100)
            .expect("open")
            .put(b"k", b"x")
            .expect("put");
        let of_other = Snapshot::take(&other).expect("snapshot");
        Snapshot::take(&x)
            .expect("snapshot")
            .restore()
            .expect("restore");
        Storage::open(&other, 100)
            .expect("open")
            .put(b"k", b"changed")
            .expect("put");
        of_other.restore().expect("restore");
        assert_eq!(
            Storage::open(&other, 100)
                .expect("open")
                .get(b"k", 10)
                .expect("get"),
            Some(b"kept".to_vec())
        );

        let never = dir.path().join("never-stored");
        let snapshot = Snapshot::take(&never).expect("snapshot of nothing");
        Storage::open(&never, 100)
            .expect("open")
            .put(b"k", b"v")
            .expect("put");
        snapshot.restore().expect("restore");
        assert!(!never.exists());
    }
}
