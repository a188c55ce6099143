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

/// A bundle directory, and the container made from it: both removed when it is dropped.
#[derive(Debug)]
pub struct Bundle {
    /// The directory (config.json, rootfs/).
    pub dir: PathBuf,
    /// The container's id.
    pub id: String,
    runtime: PathBuf,
    /// The runtime's options before its command (crun's cgroup manager).
    global: Vec<String>,
}

impl Drop for Bundle {
    fn drop(&mut self) {
        // A container whose runtime was killed may still run: end it, then forget it.
        let _ = std::process::Command::new(&self.runtime)
            .args(&self.global)
            .args(["delete", "--force", &self.id])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes the bundle that runs `args` with `plugin` and `me` visible, under `policy`.
pub fn bundle(
    runtime: &Path,
    global: &[&str],
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
        runtime: runtime.to_path_buf(),
        global: global.iter().map(|g| (*g).to_owned()).collect(),
    };
    let config = config(me, plugin, policy, &seccomp_profile()?);
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
fn config(me: &str, plugin: &str, policy: &Policy, seccomp: &Value) -> Value {
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
    for dir in ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"] {
        if Path::new(dir).exists() {
            mounts.push(read_only(dir));
        }
    }
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
                "pids": { "limit": i64::from(limits.threads.max(1)) + 8 },
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

/// Why crun cannot run containers here, if it cannot: it refuses a hybrid cgroup hierarchy
/// (v1 controllers beside a v2 hierarchy that holds controllers too).
pub fn crun_unavailable() -> Option<String> {
    let root = Path::new("/sys/fs/cgroup");
    let unified = std::fs::read_to_string(root.join("unified/cgroup.controllers")).ok()?;
    (!root.join("cgroup.controllers").exists() && !unified.trim().is_empty()).then(|| {
        format!(
            "crun does not run containers on a hybrid cgroup hierarchy whose v2 part holds \
             controllers ({}); runc does",
            unified.trim()
        )
    })
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
