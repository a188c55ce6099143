//! The facts of a run that a reader of its results needs to reproduce or weigh it: the
//! machine (kernel, architecture, what confinement the kernel offers, whether the harness
//! was root) and the sha256 of the files the sandboxes run. Probed by the harness itself,
//! outside any sandbox.

use std::io::Read;
use std::path::Path;

use sbx_harness::model::{CgroupVersion, FileDigest, HostFacts};
use sha2::{Digest, Sha256};

/// Landlock's `LANDLOCK_CREATE_RULESET_VERSION` flag: the call answers the ABI version.
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;

/// This machine, as the harness sees it.
pub fn facts() -> HostFacts {
    HostFacts {
        kernel: read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default(),
        architecture: std::env::consts::ARCH.to_owned(),
        landlock_abi: landlock_abi(),
        cgroup: cgroup_version(Path::new("/sys/fs/cgroup")),
        user_namespaces: user_namespaces(),
        // SAFETY: geteuid has no preconditions and cannot fail.
        root: unsafe { libc::geteuid() } == 0,
    }
}

/// The current time as RFC 3339 in UTC, to the second.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The sha256 of the file at `path`, read whole (in blocks: a binary can be large).
pub fn digest(path: &Path) -> std::io::Result<FileDigest> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut block)?;
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
    }
    Ok(FileDigest {
        path: std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .to_string_lossy()
            .into_owned(),
        sha256: hex::encode(hasher.finalize()),
    })
}

/// The file a command's first word runs: a path as given, else the first match on `$PATH`.
pub fn executable(program: &str) -> Option<std::path::PathBuf> {
    if program.contains('/') {
        return Some(program.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// The Landlock ABI the kernel answers, `None` when it has none (or disabled it).
fn landlock_abi() -> Option<u32> {
    // SAFETY: with a null attribute pointer, size 0 and the version flag the call reads
    // nothing and only answers a number (or an error).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0 as libc::size_t,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(rc).ok().filter(|&v| v > 0)
}

/// Which hierarchy `root` (normally `/sys/fs/cgroup`) holds.
fn cgroup_version(root: &Path) -> CgroupVersion {
    if root.join("cgroup.controllers").exists() {
        CgroupVersion::V2
    } else if root.join("unified/cgroup.controllers").exists() {
        CgroupVersion::Hybrid
    } else if std::fs::read_dir(root)
        .map(|mut d| d.any(|e| e.is_ok_and(|e| e.path().join("cgroup.procs").exists())))
        .unwrap_or(false)
    {
        CgroupVersion::V1
    } else {
        CgroupVersion::None
    }
}

/// Whether the kernel lets this user create a user namespace: a limit above zero, and for
/// a user other than root, Debian's switch for unprivileged ones not off.
fn user_namespaces() -> bool {
    let limit = read_trimmed("/proc/sys/user/max_user_namespaces")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let unprivileged =
        read_trimmed("/proc/sys/kernel/unprivileged_userns_clone").is_none_or(|v| v != "0");
    limit > 0 && (root || unprivileged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_hierarchies_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(cgroup_version(root), CgroupVersion::None);
        std::fs::create_dir_all(root.join("pids")).unwrap();
        std::fs::write(root.join("pids/cgroup.procs"), "").unwrap();
        assert_eq!(cgroup_version(root), CgroupVersion::V1);
        std::fs::create_dir_all(root.join("unified")).unwrap();
        std::fs::write(root.join("unified/cgroup.controllers"), "").unwrap();
        assert_eq!(cgroup_version(root), CgroupVersion::Hybrid);
        std::fs::write(root.join("cgroup.controllers"), "cpu\n").unwrap();
        assert_eq!(cgroup_version(root), CgroupVersion::V2);
    }

    #[test]
    fn a_digest_is_the_sha256_of_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"abc").unwrap();
        assert_eq!(
            digest(&file).unwrap().sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(digest(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn this_machine_is_described() {
        let facts = facts();
        assert!(!facts.kernel.is_empty());
        assert_eq!(facts.architecture, std::env::consts::ARCH);
    }
}
