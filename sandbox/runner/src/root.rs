//! An empty root for the plugin's process: a fresh tmpfs holding only the plugin, the
//! loader's files (bound read-only, at the paths they have on the host) and, for a sealed
//! plugin, `/proc` of the plugin's own pid namespace.
//!
//! Landlock decides what a plugin may open, not what it may see: `stat` and its relatives
//! resolve any path (`newfstatat` with `AT_EMPTY_PATH` and a path that is not empty too),
//! so under the host's root a plugin learns which of the host's files exist, their size,
//! owner and times. Under this root there is nothing of the host's to learn about but the
//! loader's libraries.
//!
//! Built in the plugin's process, in its own mount namespace, while it still holds the
//! capabilities of its user namespace (mount and pivot_root need them, and Landlock forbids
//! both once in force): the new root is a tmpfs mounted over `/tmp` of this mount namespace,
//! which `pivot_root` makes the root; the host's root is then detached.

use std::io;
use std::path::{Component, Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::statvfs::{FsFlags, statvfs};

/// The directory the new root is built on: one every system has. The tmpfs mounted on it
/// becomes the root at once, so that it hides nothing the root is made of (the plugin may
/// live under it).
const BUILD_AT: &str = "/tmp";

/// Where the host's root stays in view while the new one is filled.
const OLD_ROOT: &str = "/.host-root";

/// The tmpfs holds directories, empty files that paths are bound onto, and symlinks.
const TMPFS_OPTIONS: &str = "mode=0755,size=64k,nr_inodes=1024";

/// What the new root holds, for the enforcement report.
pub struct EmptyRoot {
    /// The host paths bound read-only (or recreated as the symlinks they are).
    pub bound: Vec<PathBuf>,
    /// Whether `/proc` of the plugin's pid namespace is mounted in it.
    pub proc: bool,
}

/// Makes a fresh tmpfs the root of this mount namespace, holding only `plugin` and
/// `loader_paths` (read-only, each at its own path; a loader path this system lacks is left
/// out, a missing plugin is an error) and, with `proc`, a `/proc` of the calling process's
/// pid namespace.
pub fn enter_empty_root(
    loader_paths: &[PathBuf],
    plugin: Option<&Path>,
    proc: bool,
) -> Result<EmptyRoot, RootError> {
    let before = |source| RootError {
        switched: false,
        source,
    };
    // Nothing done here may reach the host's mount table.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| before(e.into()))?;
    mount(
        Some("tmpfs"),
        BUILD_AT,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(TMPFS_OPTIONS),
    )
    .map_err(|e| before(e.into()))?;
    let old = Path::new(OLD_ROOT);
    let switched = std::fs::create_dir(Path::new(BUILD_AT).join(&OLD_ROOT[1..]))
        .and_then(|()| nix::unistd::chdir(BUILD_AT).map_err(io::Error::from))
        .and_then(|()| nix::unistd::pivot_root(".", &OLD_ROOT[1..]).map_err(io::Error::from))
        .and_then(|()| nix::unistd::chdir("/").map_err(io::Error::from));
    if let Err(e) = switched {
        // Back where it was: the host's root, nothing of the tmpfs left.
        let _ = nix::unistd::chdir("/");
        let _ = umount2(BUILD_AT, MntFlags::MNT_DETACH);
        return Err(before(e));
    }
    fill(old, loader_paths, plugin, proc).map_err(|source| RootError {
        switched: true,
        source,
    })
}

/// Why the root could not be made, and whether the process is already in the new one
/// (then it holds no more than what was bound so far, and must not go on).
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct RootError {
    /// The switch to the new root was made.
    pub switched: bool,
    /// What failed.
    pub source: io::Error,
}

/// Fills the new root (the current one) from the host's, seen at `old`, then detaches the
/// host's and makes the new one read-only.
fn fill(
    old: &Path,
    loader_paths: &[PathBuf],
    plugin: Option<&Path>,
    proc: bool,
) -> io::Result<EmptyRoot> {
    let mut bound = populate(old, loader_paths, false)?;
    if let Some(plugin) = plugin {
        bound.extend(populate(old, &[plugin.to_path_buf()], true)?);
    }
    if proc {
        std::fs::create_dir_all("/proc")?;
        // Of the caller's pid namespace; mounted while the host's /proc is still in view,
        // as the kernel requires of a user namespace.
        mount(
            Some("proc"),
            "/proc",
            Some("proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None::<&str>,
        )?;
    }
    umount2(old, MntFlags::MNT_DETACH)?;
    std::fs::remove_dir(old)?;
    // Read-only from here on: nothing in it is the plugin's to change.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        None::<&str>,
    )?;
    Ok(EmptyRoot { bound, proc })
}

/// Binds each of `paths`, seen under `old` (the host's root), at its own path, shortest
/// first, so that a directory is bound before anything below it (which it then shows
/// already). A path that does not exist is an error when `required`, left out otherwise.
fn populate(old: &Path, paths: &[PathBuf], required: bool) -> io::Result<Vec<PathBuf>> {
    let mut ordered: Vec<&PathBuf> = paths.iter().collect();
    ordered.sort_by_key(|p| p.components().count());
    let mut bound = Vec::new();
    for host in ordered {
        let (Some(source), Some(inside)) = (beneath(old, host), beneath(Path::new("/"), host))
        else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not an absolute, plain path", host.display()),
            ));
        };
        let meta = match std::fs::symlink_metadata(&source) {
            Ok(meta) => meta,
            Err(e) if required => return Err(e),
            Err(_) => continue, // not on this system (/usr/lib64 on some)
        };
        if inside.symlink_metadata().is_ok() {
            continue; // shown by a directory bound already
        }
        if let Some(parent) = inside.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if meta.file_type().is_symlink() {
            // /lib -> usr/lib: the link itself, whose target is bound in its own right.
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &inside)?;
        } else {
            if meta.is_dir() {
                std::fs::create_dir(&inside)?;
            } else {
                std::fs::File::create(&inside)?;
            }
            bind_read_only(&source, &inside)?;
        }
        bound.push(host.clone());
    }
    Ok(bound)
}

/// `host` under `root`, for an absolute path of plain components only.
fn beneath(root: &Path, host: &Path) -> Option<PathBuf> {
    let mut inside = root.to_path_buf();
    let mut parts = host.components();
    if parts.next() != Some(Component::RootDir) {
        return None;
    }
    for part in parts {
        match part {
            Component::Normal(name) => inside.push(name),
            _ => return None,
        }
    }
    Some(inside)
}

/// Binds `host` onto `target`, then makes the bind read-only. The remount keeps the flags
/// the host's mount is locked with (a user namespace may not lift them).
fn bind_read_only(host: &Path, target: &Path) -> io::Result<()> {
    mount(
        Some(host),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )?;
    let locked = statvfs(host)?.flags();
    let mut flags = MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV;
    for (has, keep) in [
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if locked.contains(has) {
            flags |= keep;
        }
    }
    mount(None::<&str>, target, None::<&str>, flags, None::<&str>)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_plain_paths_have_a_place_beneath_the_root() {
        let root = Path::new("/tmp");
        assert_eq!(
            beneath(root, Path::new("/usr/lib")),
            Some(PathBuf::from("/tmp/usr/lib"))
        );
        assert_eq!(beneath(root, Path::new("usr/lib")), None);
        assert_eq!(beneath(root, Path::new("/usr/../etc")), None);
        assert_eq!(
            beneath(root, Path::new("/usr/./lib")),
            Some(PathBuf::from("/tmp/usr/lib"))
        );
    }
}
