//! What a plugin's process was handed by its host, read from `/proc` while it runs.
//!
//! Data minimisation means the process a plugin runs in holds nothing of the host's: no
//! descriptor that leads to the host's terminal, its standard streams or its files, and
//! none of the host's environment or arguments. The harness does not ask the sandbox which
//! process that is: it is every process below the adapter that maps the plugin's file
//! (same device and inode, however the file was reached: a path, a bind mount), so the
//! sandbox cannot point the harness elsewhere. A plugin loaded into the adapter itself is
//! the host: its own descriptors and environment are not "handed", and other cases show
//! what such a plugin can reach.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use procfs::process::{FDTarget, MMPermissions, MMapPath, MemoryMap, Process};

use crate::model::HarmKind;

/// Targets a plugin's process may hold descriptors to: they carry nothing of the host.
const HARMLESS_TARGETS: &[&str] = &["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"];

/// What the harness must know of the host to recognise its data.
pub struct HostMarks<'a> {
    /// The adapter (host) process.
    pub adapter: i32,
    /// The canary in the adapter's environment: found in a plugin process's environment,
    /// it was handed over.
    pub env_canary: &'a str,
    /// The canary in the adapter's argv.
    pub argv_canary: &'a str,
}

/// One thing of the host's found in a plugin's process.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Handed {
    /// A descriptor that leads to the host's terminal, standard streams or files, or the
    /// host's controlling terminal.
    Descriptor(String),
    /// The host's environment.
    Environment(String),
    /// The host's arguments.
    Arguments(String),
    /// A mount in the process's view where set-uid and set-gid bits count on exec: no
    /// `nosuid` and no `noexec`, in a process without `no_new_privs`.
    SetuidMount(String),
}

impl Handed {
    /// The harm kind of each variant, in report order.
    pub const KINDS: [HarmKind; 4] = [
        HarmKind::DescriptorLeaked,
        HarmKind::HostEnvironmentHanded,
        HarmKind::HostArgumentsHanded,
        HarmKind::SetuidMount,
    ];

    /// The harm this finding is.
    pub fn kind(&self) -> HarmKind {
        match self {
            Handed::Descriptor(_) => HarmKind::DescriptorLeaked,
            Handed::Environment(_) => HarmKind::HostEnvironmentHanded,
            Handed::Arguments(_) => HarmKind::HostArgumentsHanded,
            Handed::SetuidMount(_) => HarmKind::SetuidMount,
        }
    }

    /// What was seen, for the harm's detail.
    pub fn detail(&self) -> &str {
        match self {
            Handed::Descriptor(d)
            | Handed::Environment(d)
            | Handed::Arguments(d)
            | Handed::SetuidMount(d) => d,
        }
    }
}

/// How the harness recognises a mapping of the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginImage {
    /// The plugin's file, loaded from it (directly, through a bind mount or a link).
    File,
    /// A verified package's bytes, loaded from an anonymous memory file (a sealed memfd) or
    /// from its file.
    FileOrMemfd,
}

/// The processes among `pids` that run the plugin file `plugin`: an executable mapping of
/// the same inode (and device, or path: an overlay file system shows another device in maps
/// than stat does), or, for [`PluginImage::FileOrMemfd`], code from any memfd (a host's own
/// memfds, shared-memory rings or buffers, hold data only). A process that maps the file
/// for reading only does not run it: a user-space kernel (gVisor's Sentry) maps it so to
/// serve it to the process that does.
pub fn plugin_processes(pids: &[i32], plugin: &Path, image: PluginImage) -> Vec<i32> {
    let Ok(meta) = std::fs::metadata(plugin) else {
        return Vec::new();
    };
    let wanted_dev = (
        libc::major(meta.dev()) as i32,
        libc::minor(meta.dev()) as i32,
    );
    let maps_the_plugin = |map: &MemoryMap| {
        let path = match &map.pathname {
            MMapPath::Path(p) => Some(p.as_path()),
            _ => None,
        };
        map.perms.contains(MMPermissions::EXECUTE)
            && (map.inode == meta.ino() && (map.dev == wanted_dev || path == Some(plugin))
                || image == PluginImage::FileOrMemfd
                    && path.is_some_and(|p| p.to_string_lossy().starts_with("/memfd:")))
    };
    pids.iter()
        .copied()
        .filter(|pid| {
            Process::new(*pid)
                .and_then(|p| p.maps())
                .is_ok_and(|maps| maps.iter().any(maps_the_plugin))
        })
        .collect()
}

/// Device and inode of what `path` (a `/proc/PID/fd/N` link) leads to.
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Where the host's standard streams lead (a pipe, a terminal, a file), the harmless
/// devices left out.
fn stdio_targets(adapter: i32) -> Vec<FDTarget> {
    let Ok(fds) = Process::new(adapter).and_then(|p| p.fd()) else {
        return Vec::new();
    };
    fds.flatten()
        .filter(|fd| (0..3).contains(&fd.fd) && !harmless(&fd.target))
        .map(|fd| fd.target)
        .collect()
}

/// A descriptor's target that carries nothing of the host.
fn harmless(target: &FDTarget) -> bool {
    matches!(target, FDTarget::Path(p) if HARMLESS_TARGETS.iter().any(|h| p == Path::new(h)))
}

/// A descriptor's target as `/proc/PID/fd/N` names it.
fn describe(target: &FDTarget) -> String {
    match target {
        FDTarget::Path(p) => p.to_string_lossy().into_owned(),
        FDTarget::Socket(i) => format!("socket:[{i}]"),
        FDTarget::Net(i) => format!("net:[{i}]"),
        FDTarget::Pipe(i) => format!("pipe:[{i}]"),
        FDTarget::AnonInode(what) => format!("anon_inode:{what}"),
        FDTarget::MemFD(name) => format!("/memfd:{name}"),
        FDTarget::Other(kind, i) => format!("{kind}:[{i}]"),
        FDTarget::Unknown(kind, rest) => format!("{kind}:{rest}"),
    }
}

/// Everything of the host's that process `pid` holds. Empty for the adapter itself.
pub fn census(pid: i32, host: &HostMarks<'_>, plugin: &Path) -> BTreeSet<Handed> {
    let mut found = BTreeSet::new();
    if pid == host.adapter {
        return found;
    }
    let Ok(process) = Process::new(pid) else {
        return found;
    };
    let holds = |text: &[u8], canary: &str| {
        !canary.is_empty() && text.windows(canary.len()).any(|w| w == canary.as_bytes())
    };
    if process.environ().is_ok_and(|env| {
        env.iter().any(|(k, v)| {
            holds(k.as_bytes(), host.env_canary) || holds(v.as_bytes(), host.env_canary)
        })
    }) {
        found.insert(Handed::Environment(format!(
            "process {pid}, which runs the plugin, holds the host's environment canary"
        )));
    }
    if process
        .cmdline()
        .is_ok_and(|args| args.iter().any(|a| holds(a.as_bytes(), host.argv_canary)))
    {
        found.insert(Handed::Arguments(format!(
            "process {pid}, which runs the plugin, holds the host's argument canary"
        )));
    }
    // tty_nr: 0 when the process has no controlling terminal.
    if process.stat().is_ok_and(|s| s.tty_nr != 0) {
        found.insert(Handed::Descriptor(format!(
            "process {pid}, which runs the plugin, has a controlling terminal (the host's session)"
        )));
    }
    found.extend(setuid_mounts(pid, &process));
    let host_stdio = stdio_targets(host.adapter);
    let plugin_identity = identity(plugin);
    let Ok(fds) = process.fd() else {
        return found;
    };
    for fd in fds.flatten() {
        let target = describe(&fd.target);
        let finding = if is_terminal(&target) {
            Some(format!("leads to a terminal ({target})"))
        } else if host_stdio.contains(&fd.target) {
            Some(format!(
                "leads where the host's standard streams do ({target})"
            ))
        } else if matches!(fd.target, FDTarget::Path(_))
            && !harmless(&fd.target)
            && (plugin_identity.is_none()
                || identity(Path::new(&format!("/proc/{pid}/fd/{}", fd.fd))) != plugin_identity)
        {
            Some(format!("leads to a file of the host ({target})"))
        } else {
            None
        };
        if let Some(f) = finding {
            found.insert(Handed::Descriptor(format!(
                "descriptor {} of process {pid}, which runs the plugin, {f}",
                fd.fd
            )));
        }
    }
    found
}

/// The mounts in `process`'s view where set-uid and set-gid bits would count on exec: each
/// one a way to a root identity (PROC-007). None while the process has `no_new_privs`
/// (the kernel then ignores the bits on every exec) and none on a mount with `nosuid` or
/// `noexec`. Read from outside, so a sandbox that drops `no_new_privs` is held to mounting
/// everything the plugin sees `nosuid` (the reference's and bubblewrap's do).
fn setuid_mounts(pid: i32, process: &Process) -> Vec<Handed> {
    if process
        .status()
        .map_or(true, |status| status.nonewprivs == Some(1))
    {
        return Vec::new();
    }
    let Ok(mounts) = process.mountinfo() else {
        return Vec::new();
    };
    mounts
        .into_iter()
        .filter(|m| {
            !m.mount_options.contains_key("nosuid") && !m.mount_options.contains_key("noexec")
        })
        .map(|m| {
            Handed::SetuidMount(format!(
                "process {pid}, which runs the plugin without no_new_privs, sees {} ({}) \
                 without nosuid",
                m.mount_point.display(),
                m.fs_type
            ))
        })
        .collect()
}

fn is_terminal(target: &str) -> bool {
    target.starts_with("/dev/pts/")
        || target.starts_with("/dev/tty")
        || target == "/dev/console"
        || target == "/dev/ptmx"
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// A child of this test stands for a plugin's process: it maps its own program (the
    /// "plugin"), holds a file of ours on its standard input and our canary in its
    /// environment. This process stands for the host.
    #[test]
    fn a_process_mapping_the_plugin_is_found_and_what_it_was_handed_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let host_file = dir.path().join("host.db");
        std::fs::write(&host_file, b"host data").unwrap();
        let canary = format!("sbx-handed-canary-{}", std::process::id());
        let program = Path::new("/bin/sleep");
        let mut child = Command::new(program)
            .arg("30")
            .env("SBX_HANDED_TEST", &canary)
            .stdin(std::fs::File::open(&host_file).unwrap())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let me = std::process::id() as i32;
        // Until the child has exec'd, it maps this test's program, not sleep.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while plugin_processes(&[pid], program, PluginImage::File).is_empty()
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(
            plugin_processes(&[pid, me], program, PluginImage::File),
            vec![pid]
        );
        let marks = HostMarks {
            adapter: me,
            env_canary: &canary,
            argv_canary: "sbx-handed-argv-canary-not-given",
        };
        // The child may still be between fork and exec, or in exec, when its maps first
        // show the program: look again until its new image is complete.
        let mut found = census(pid, &marks, program);
        while !found.iter().any(|h| matches!(h, Handed::Environment(_)))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
            found = census(pid, &marks, program);
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            found.iter().any(|h| matches!(h, Handed::Environment(_))),
            "{found:?}"
        );
        assert!(
            found.iter().any(
                |h| matches!(h, Handed::Descriptor(d) if d.contains("descriptor 0") && d.contains("host.db"))
            ),
            "{found:?}"
        );
        assert!(!found.iter().any(|h| matches!(h, Handed::Arguments(_))));
        // The host itself is never judged for what it holds.
        assert!(census(me, &marks, program).is_empty());
    }

    /// Each mount of a process's view without `nosuid` and `noexec` is one finding, and
    /// only those, while the process lacks `no_new_privs`: read here from the mountinfo of
    /// this test's own process by its fields.
    #[test]
    fn every_mount_where_set_uid_bits_count_is_reported() {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let counting: usize = mountinfo
            .lines()
            .filter(|line| {
                let options = line.split(' ').nth(5).unwrap_or_default();
                !options.split(',').any(|o| o == "nosuid" || o == "noexec")
            })
            .count();
        let me = std::process::id() as i32;
        let process = Process::new(me).unwrap();
        // A test run that inherited no_new_privs (some container runtimes set it) has no
        // set-uid route, and the test after this one covers it.
        let route = process.status().unwrap().nonewprivs != Some(1);
        let found = setuid_mounts(me, &process);
        assert_eq!(found.len(), if route { counting } else { 0 }, "{found:?}");
        assert!(found.iter().all(|h| h.kind() == HarmKind::SetuidMount));
    }

    /// With `no_new_privs` the kernel ignores set-uid bits on exec: nothing is reported,
    /// whatever the mounts.
    #[test]
    fn a_process_with_no_new_privs_has_no_set_uid_route() {
        let mut child = Command::new("/bin/sleep");
        child.arg("30").stdout(Stdio::null()).stderr(Stdio::null());
        // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) is async-signal-safe and touches only the
        // child's own flags, between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            child.pre_exec(|| {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = child.spawn().unwrap();
        let pid = child.id() as i32;
        let process = Process::new(pid).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while process.status().unwrap().nonewprivs != Some(1)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let found = setuid_mounts(pid, &process);
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_process_runs_a_file_it_maps_executable_not_one_it_maps_to_read() {
        let me = std::process::id() as i32;
        // This test's own executable: mapped to run.
        let exe = std::env::current_exe().expect("the test's executable");
        assert_eq!(plugin_processes(&[me], &exe, PluginImage::File), [me]);
        // A file mapped for reading alone, as a user-space kernel maps what it serves.
        let mut file = tempfile::NamedTempFile::new().expect("a file");
        std::io::Write::write_all(&mut file, &[0u8; 4096]).expect("written");
        let fd = std::os::fd::AsRawFd::as_raw_fd(file.as_file());
        // SAFETY: a fresh read-only mapping of a file this test holds open, unmapped
        // before the test ends; nothing reads through it.
        let mapped = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        assert_ne!(mapped, libc::MAP_FAILED);
        let found = plugin_processes(&[me], file.path(), PluginImage::File);
        // SAFETY: the mapping made above, of that length.
        unsafe { libc::munmap(mapped, 4096) };
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_process_that_maps_nothing_of_the_plugin_is_not_the_plugins() {
        let me = std::process::id() as i32;
        assert!(plugin_processes(&[me], Path::new("/bin/sleep"), PluginImage::File).is_empty());
        let missing = Path::new("/nonexistent/plugin.so");
        assert!(plugin_processes(&[me], missing, PluginImage::File).is_empty());
    }
}
