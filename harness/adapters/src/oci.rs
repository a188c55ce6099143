//! An OCI bundle for one plugin, run by a container runtime (crun, runc) with the defaults
//! containers get: no network (a network namespace of its own), every namespace but the
//! user's, uid 0 without any capability, `noNewPrivileges`, the usual container seccomp
//! profile (the containers project's, `seccomp.json` from Debian's
//! golang-github-containers-common), the policy's processes and memory as cgroup limits and
//! its descriptors as an rlimit. (No address-space rlimit: the runtime applies it to its own
//! init before it installs the seccomp filter, which then cannot allocate: containers bound
//! memory with the cgroup.)

use std::path::{Path, PathBuf};

use sbx_harness::protocol::Policy;
use serde_json::{Value, json};

/// The containers project's default seccomp profile, as Debian installs it.
pub const CONTAINERS_SECCOMP: &str = "/usr/share/containers/seccomp.json";

/// The architecture the profile is taken for, in its own words and in libseccomp's.
const ARCH: &str = "amd64";

/// A container runtime, as the bundle and its container are made and ended with it.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// Its executable.
    pub executable: PathBuf,
    /// Its options before its command (crun's cgroup manager, runsc's platform).
    pub global: Vec<&'static str>,
    /// The v2 part of a hybrid cgroup hierarchy it must be run without (crun), if any.
    pub without_unified: Option<&'static Path>,
    /// Processes and threads of the runtime's own that the container's cgroup counts
    /// besides the plugin's (gVisor's kernel and file proxy are Go programs in it).
    pub own_tasks: i64,
}

impl Runtime {
    /// The runtime's command with its global options, run as it must be on this machine.
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.executable);
        if let Some(unified) = self.without_unified {
            without_unified(&mut cmd, unified);
        }
        cmd.args(&self.global);
        cmd
    }
}

/// A bundle directory, and the container made from it: both removed when it is dropped.
#[derive(Debug)]
pub struct Bundle {
    /// The directory (config.json, rootfs/).
    pub dir: PathBuf,
    /// The container's id.
    pub id: String,
    runtime: Runtime,
}

impl Drop for Bundle {
    fn drop(&mut self) {
        remove(&self.runtime, &self.id, &self.dir);
    }
}

/// Ends container `id` of `runtime` (one whose runtime was killed may still run), then
/// removes its bundle directory `dir`. Best effort: what is already gone is gone.
fn remove(runtime: &Runtime, id: &str, dir: &Path) {
    let _ = runtime
        .command()
        .args(["delete", "--force", id])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(dir);
}

/// The file of a bundle naming the runtime that runs it.
const RUNTIME_MARK: &str = "runtime";

/// The adapter process that made bundle `id` (`sbx-PID-NAME-NANOS`), if `id` is one's.
fn bundle_owner(id: &str) -> Option<i32> {
    let rest = id.strip_prefix("sbx-")?;
    let (pid, rest) = rest.split_once('-')?;
    let (name, nanos) = rest.rsplit_once('-')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(nanos) && !name.is_empty())
        .then(|| pid.parse().ok())
        .flatten()
}

/// Ends the containers, and removes the bundles, that adapters of `runtime` made in `dir`
/// and were killed before they could clean up (the harness kills an adapter that outlives
/// its case, and no destructor runs then): a bundle whose adapter's process is gone.
pub fn reap_stale(runtime: &Runtime, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(id) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some(pid) = bundle_owner(&id) else {
            continue;
        };
        let ours = std::fs::read(path.join(RUNTIME_MARK))
            .is_ok_and(|mark| mark == runtime.executable.as_os_str().as_encoded_bytes());
        // kill(pid, 0): ESRCH only when no such process is left.
        let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
            == Err(nix::errno::Errno::ESRCH);
        if ours && gone {
            remove(runtime, &id, &path);
        }
    }
}

/// The host's system directories the container sees read-only.
const SYSTEM_DIRS: [&str; 6] = ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"];

/// Writes the bundle that runs `me none --checked` with `plugin` and `me` visible, under
/// `policy`, for `runtime`.
pub fn bundle(
    runtime: &Runtime,
    name: &str,
    me: &str,
    plugin: &str,
    policy: &Policy,
) -> Result<Bundle, String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        return Err(format!(
            "`{name}` is not a plugin name a container can carry"
        ));
    }
    // A fresh directory of this process's only (it fails where anything, a link
    // included, already has the name), holding an empty root.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let id = format!("sbx-{}-{name}-{nanos}", std::process::id());
    let dir = std::env::temp_dir().join(&id);
    let rootfs = dir.join("rootfs");
    {
        use std::os::unix::fs::DirBuilderExt;
        let mut builder = std::fs::DirBuilder::new();
        builder.mode(0o700);
        builder
            .create(&dir)
            .and_then(|()| builder.create(&rootfs))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let bundle = Bundle {
        dir,
        id,
        runtime: runtime.clone(),
    };
    // Whose bundle this is, for a later adapter to clean it up should this one be killed.
    std::fs::write(
        bundle.dir.join(RUNTIME_MARK),
        runtime.executable.as_os_str().as_encoded_bytes(),
    )
    .map_err(|e| format!("{RUNTIME_MARK}: {e}"))?;
    // A system directory that is a link on the host (a merged /usr: /lib64 -> usr/lib64)
    // is the same link in the root, as in an image; gVisor cannot bind a link.
    let mut bound = Vec::new();
    for dir in SYSTEM_DIRS {
        match std::fs::read_link(dir) {
            Ok(target) => std::os::unix::fs::symlink(&target, rootfs.join(&dir[1..]))
                .map_err(|e| format!("{dir} -> {}: {e}", target.display()))?,
            Err(_) if Path::new(dir).is_dir() => bound.push(dir),
            Err(_) => {}
        }
    }
    let config = config(
        (me, plugin),
        &bound,
        policy,
        runtime.own_tasks,
        &seccomp_profile()?,
    );
    std::fs::write(
        bundle.dir.join("config.json"),
        serde_json::to_string_pretty(&config).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("config.json: {e}"))?;
    Ok(bundle)
}

/// The runtime spec. Its root is not an image's: the host's system directories, `/etc`
/// included, bound read-only (so a file there that root may read without a capability, such
/// as `/etc/shadow`, is readable inside).
fn config(
    (me, plugin): (&str, &str),
    system_dirs: &[&str],
    policy: &Policy,
    own_tasks: i64,
    seccomp: &Value,
) -> Value {
    let limits = &policy.limits;
    let read_only = |path: &str| {
        json!({ "destination": path, "type": "bind", "source": path,
                "options": ["rbind", "ro", "nosuid", "nodev"] })
    };
    let mut mounts = vec![
        json!({ "destination": "/proc", "type": "proc", "source": "proc",
                "options": ["nosuid", "noexec", "nodev"] }),
        json!({ "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] }),
        json!({ "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=1777", "size=65536k"] }),
    ];
    mounts.extend(system_dirs.iter().map(|dir| read_only(dir)));
    mounts.push(read_only(me));
    mounts.push(read_only(plugin));
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": [me, "none", "--checked"],
            "env": ["PATH=/usr/bin:/bin"],
            "cwd": "/tmp",
            "capabilities": { "bounding": [], "effective": [], "inheritable": [],
                              "permitted": [], "ambient": [] },
            "rlimits": [
                { "type": "RLIMIT_NOFILE", "hard": limits.open_files.max(16),
                  "soft": limits.open_files.max(16) },
            ],
            "noNewPrivileges": true
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "sbx",
        "mounts": mounts,
        "linux": {
            "namespaces": [ { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
                            { "type": "uts" }, { "type": "mount" }, { "type": "cgroup" } ],
            "resources": {
                "pids": { "limit": i64::from(limits.threads.max(1)) + 8 + own_tasks },
                "memory": { "limit": limits.memory_bytes }
            },
            "seccomp": seccomp,
            "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                            "/proc/scsi", "/sys/firmware"],
            "readonlyPaths": ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq",
                              "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// The v2 part of a hybrid cgroup hierarchy, if this machine has one that holds
/// controllers: crun refuses to run containers there ("cgroups in hybrid mode not supported,
/// drop all controllers from cgroupv2"), as it cannot tell which hierarchy a controller is
/// meant in.
pub fn hybrid_unified() -> Option<&'static Path> {
    let root = Path::new("/sys/fs/cgroup");
    let unified = Path::new("/sys/fs/cgroup/unified");
    let controllers = std::fs::read_to_string(unified.join("cgroup.controllers")).ok()?;
    (!root.join("cgroup.controllers").exists() && !controllers.trim().is_empty()).then_some(unified)
}

/// Runs `cmd` (crun) in a mount namespace of its own without the v2 part of a hybrid
/// hierarchy: crun then sees the cgroup v1 host it supports, and the container's pids and
/// memory limits are set in this machine's v1 controllers. The host's mounts are not
/// touched: the namespace's are made private before the unmount.
pub fn without_unified(cmd: &mut std::process::Command, unified: &'static Path) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    // Built before the fork: the child only makes system calls.
    let target = std::ffi::CString::new(unified.as_os_str().as_bytes())
        .unwrap_or_else(|_| c"/sys/fs/cgroup/unified".to_owned());
    // SAFETY: runs in the child between fork and exec; unshare, mount and umount2 are single
    // system calls, async-signal-safe, on strings built before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let check = |rc: libc::c_int| {
                if rc == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            };
            check(libc::unshare(libc::CLONE_NEWNS))?;
            check(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            check(libc::umount2(target.as_ptr(), libc::MNT_DETACH))
        });
    }
}

/// The containers project's default profile, as the runtime spec takes it: the rules for
/// this architecture, for a process that holds no capability (a rule that needs one is
/// left out, one that applies without it is kept).
fn seccomp_profile() -> Result<Value, String> {
    let text = std::fs::read_to_string(CONTAINERS_SECCOMP).map_err(|e| {
        format!("{CONTAINERS_SECCOMP}: {e} (Debian package golang-github-containers-common)")
    })?;
    let profile: Value =
        serde_json::from_str(&text).map_err(|e| format!("{CONTAINERS_SECCOMP}: {e}"))?;
    Ok(to_runtime_spec(&profile))
}

fn to_runtime_spec(profile: &Value) -> Value {
    let listed = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<String>>()
            })
            .unwrap_or_default()
    };
    let applies = |rule: &Value| {
        let includes = rule.get("includes").cloned().unwrap_or(Value::Null);
        let excludes = rule.get("excludes").cloned().unwrap_or(Value::Null);
        let arches = listed(&includes, "arches");
        listed(&includes, "caps").is_empty()
            && (arches.is_empty() || arches.iter().any(|a| a == ARCH))
            && !listed(&excludes, "arches").iter().any(|a| a == ARCH)
    };
    let syscalls: Vec<Value> = profile
        .get("syscalls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|rule| applies(rule))
        .map(|rule| {
            let mut out = json!({ "names": rule["names"], "action": rule["action"] });
            if let Some(args) = rule
                .get("args")
                .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
            {
                out["args"] = args.clone();
            }
            if let Some(errno) = rule.get("errnoRet").filter(|e| !e.is_null()) {
                out["errnoRet"] = errno.clone();
            }
            out
        })
        .collect();
    let mut architectures = vec![json!("SCMP_ARCH_X86_64")];
    if let Some(map) = profile.get("archMap").and_then(Value::as_array) {
        for entry in map
            .iter()
            .filter(|e| e["architecture"] == "SCMP_ARCH_X86_64")
        {
            architectures.extend(
                entry["subArchitectures"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
    }
    let mut spec = json!({
        "defaultAction": profile["defaultAction"],
        "architectures": architectures,
        "syscalls": syscalls,
    });
    if let Some(errno) = profile.get("defaultErrnoRet").filter(|e| !e.is_null()) {
        spec["defaultErrnoRet"] = errno.clone();
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_name_says_which_adapter_made_it() {
        assert_eq!(bundle_owner("sbx-4242-target-123"), Some(4242));
        assert_eq!(bundle_owner("sbx-4242-a-b-c-123"), Some(4242));
        for other in [
            "sbx-conformance-32294",
            "sbx-4242--123",
            "sbx-4242-target-",
            "sbx-x-target-1",
            "sbx-unpriv.0LbbYU",
            "crun-4242-target-1",
        ] {
            assert_eq!(bundle_owner(other), None, "{other}");
        }
    }

    #[test]
    fn only_the_bundles_of_gone_adapters_of_the_same_runtime_are_reaped() {
        let dir = tempfile::tempdir().expect("a directory");
        let runtime = Runtime {
            executable: "/bin/true".into(),
            global: Vec::new(),
            without_unified: None,
            own_tasks: 0,
        };
        // pid_max is at most 2^22: this pid is no process's.
        let gone = dir.path().join("sbx-4194305-target-1");
        let alive = dir
            .path()
            .join(format!("sbx-{}-target-2", std::process::id()));
        let other = dir.path().join("sbx-4194305-target-3");
        for (bundle, mark) in [
            (&gone, "/bin/true"),
            (&alive, "/bin/true"),
            (&other, "/usr/bin/crun"),
        ] {
            std::fs::create_dir(bundle).expect("made");
            std::fs::write(bundle.join(RUNTIME_MARK), mark).expect("written");
        }
        reap_stale(&runtime, dir.path());
        assert!(!gone.exists());
        assert!(alive.exists(), "a running adapter's bundle");
        assert!(other.exists(), "another runtime's bundle");
    }

    #[test]
    fn a_rule_that_needs_a_capability_or_another_architecture_is_left_out() {
        let profile = json!({
            "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
            "archMap": [{ "architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"] }],
            "syscalls": [
                { "names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {}, "excludes": {} },
                { "names": ["chroot"], "action": "SCMP_ACT_ALLOW", "includes": { "caps": ["CAP_SYS_CHROOT"] } },
                { "names": ["chroot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "excludes": { "caps": ["CAP_SYS_CHROOT"] } },
                { "names": ["arm_sync_file_range"], "action": "SCMP_ACT_ALLOW", "includes": { "arches": ["arm64"] } },
                { "names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": { "arches": ["amd64", "x32"] } }
            ]
        });
        let spec = to_runtime_spec(&profile);
        let names: Vec<&str> = spec["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["names"][0].as_str().unwrap())
            .collect();
        assert_eq!(names, ["read", "chroot", "arch_prctl"]);
        assert_eq!(spec["syscalls"][1]["action"], "SCMP_ACT_ERRNO");
        assert_eq!(spec["syscalls"][1]["errnoRet"], 1);
        assert_eq!(spec["defaultErrnoRet"], 38);
        assert_eq!(
            spec["architectures"],
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])
        );
    }
}
