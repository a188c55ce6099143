//! Sandbox configuration: what to load, the limits, the deadlines and which layers to apply.
//!
//! [`SandboxConfig`] is what a host builds (through [`SandboxConfig::builder`]); the part the
//! runner needs travels to it as [`RunnerConfig`], serialised as JSON in its argv.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use sbx_contract::config::{
    DEFAULT_PAYLOAD_WINDOW, Layers, Limits, MAX_FRAME_OUTPUT, NOBODY, PER_PLUGIN_ID_BASE,
    RunnerConfig, Strictness, UnprivilegedId,
};

use crate::broker::BrokerConfig;
use crate::sealed::SealedPlugin;

/// Wall-clock deadlines, one per lifecycle phase and one per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// From spawn until the plugin is loaded (confinement, dlopen, constructors).
    pub load: Duration,
    /// `sbx_plugin_init`.
    pub init: Duration,
    /// Each `sbx_plugin_invoke`.
    pub call: Duration,
    /// Graceful shutdown before the host kills the process.
    pub shutdown: Duration,
    /// Answer to a heartbeat.
    pub heartbeat: Duration,
    /// Stopping or continuing the process on pause and resume.
    pub pause: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            load: Duration::from_secs(10),
            init: Duration::from_secs(5),
            call: Duration::from_secs(5),
            shutdown: Duration::from_secs(2),
            heartbeat: Duration::from_secs(2),
            pause: Duration::from_secs(2),
        }
    }
}

/// The host-side configuration of one sandboxed plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// The plugin's name: in audit records, and the key of its storage. By default the file
    /// name of the shared object without its extension.
    pub name: String,
    /// The plugin shared object. With [`SandboxConfig::sealed`] it only names the plugin
    /// in messages: the sealed bytes are what runs.
    pub plugin: PathBuf,
    /// Verified bytes sealed in a memfd, loaded instead of `plugin` (see [`SealedPlugin`]).
    pub sealed: Option<SealedPlugin>,
    /// What the capability broker grants and the quotas it keeps.
    pub broker: BrokerConfig,
    /// Memory cap in MiB enforced by a cgroup (see [`crate::cgroup`]); `None`: RLIMIT_AS only.
    pub memory_cap_mib: Option<u64>,
    /// CPU rate cap, in percent of one CPU, enforced by a cgroup's CPU controller (see
    /// [`crate::cgroup`]); `None`: no rate cap (RLIMIT_CPU still bounds the total).
    pub cpu_rate_percent: Option<u32>,
    /// The runner binary (`sbx-runner`).
    pub runner: PathBuf,
    /// Where the host finds the kernel's interfaces (cgroups, /proc).
    pub host_paths: HostPaths,
    /// Resource limits.
    pub limits: Limits,
    /// Wall-clock deadlines.
    pub deadlines: Deadlines,
    /// Layers to apply.
    pub layers: Layers,
    /// Behaviour when a layer is unavailable.
    pub strictness: Strictness,
    /// uid/gid used when the host is root.
    pub unprivileged_id: UnprivilegedId,
    /// Read-only paths for the dynamic loader.
    pub loader_paths: Vec<PathBuf>,
    /// Bytes in each half (input, output) of the payload window, the memory file that
    /// carries inputs and outputs larger than a frame; 0: none, and both are bounded by a
    /// frame. Default [`DEFAULT_PAYLOAD_WINDOW`].
    pub payload_window: u64,
    /// Frames after the load go through shared-memory rings instead of the socket
    /// ([`sbx_contract::ring`]): while the plugin is busy a call wakes nobody, the plugin's
    /// side makes no system call and the host one non-blocking read of the socket, at the
    /// cost of a short spin on each side after each frame. The plugin's spin is
    /// its process's CPU time, which its CPU limit counts: a plugin called back to back is
    /// on its CPU all along. Default off.
    pub low_latency: bool,
    /// Mitigations the plugin's binary must show it was built with (RELRO, BIND_NOW, ...):
    /// checked before each activation, a binary without one refused with what it lacks
    /// ([`crate::hardening`]). Default none.
    pub require_hardening: Vec<sbx_package::hardening::Hardening>,
    /// The development mode: the same layers, but a system call the filter refuses is
    /// reported ([`crate::development`]) and fails with `EPERM`, and the plugin goes on.
    /// Its enforcement report says so (`seccomp.refusal`, partial); refused with
    /// [`Strictness::Strict`]. Default off.
    pub development: bool,
}

/// Where the host finds the kernel's interfaces: written nowhere else, so that a test can
/// point the host at a fake tree and a host with another layout can say where its are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPaths {
    /// Where the cgroup hierarchies are mounted (the v2 hierarchy, and in hybrid mode
    /// `unified/` and the v1 controllers beside it).
    pub cgroup_root: PathBuf,
    /// Where procfs is mounted: the host reads its runners' state, CPU time and memory there.
    pub proc_root: PathBuf,
}

impl Default for HostPaths {
    fn default() -> Self {
        HostPaths {
            cgroup_root: PathBuf::from(crate::cgroup::CGROUP_ROOT),
            proc_root: PathBuf::from("/proc"),
        }
    }
}

/// The largest payload window half: `InvokeShared` and `ResultShared` name lengths in 32 bits.
pub const MAX_PAYLOAD_WINDOW: u64 = u32::MAX as u64;

/// Paths the dynamic loader reads on Debian-like and most other distributions.
pub const DEFAULT_LOADER_PATHS: &[&str] = &[
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/etc/ld.so.cache",
];

/// A configuration error found before anything is spawned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No plugin path was given.
    #[error("no plugin given")]
    NoPlugin,
    /// The plugin path does not name a readable regular file.
    #[error("plugin {path}: {source}")]
    Plugin {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The runner binary could not be found.
    #[error(
        "runner binary not found (looked at {looked}); set it with SandboxConfigBuilder::runner or SBX_RUNNER"
    )]
    RunnerNotFound { looked: String },
    /// The development mode was asked for together with strictness: a mode that lets a
    /// refused call go on is never every layer in force.
    #[error("the development mode is refused in strict mode")]
    DevelopmentInStrictMode,
    /// A limit is zero or exceeds what the channel can carry.
    #[error("invalid limit {name} = {value}: {why}")]
    InvalidLimit {
        name: &'static str,
        value: u64,
        why: &'static str,
    },
}

impl SandboxConfig {
    /// A builder with every layer on and default limits.
    pub fn builder(plugin: impl Into<PathBuf>) -> SandboxConfigBuilder {
        SandboxConfigBuilder {
            name: None,
            memory_cap_mib: None,
            cpu_rate_percent: None,
            sealed: None,
            broker: BrokerConfig::default(),
            plugin: plugin.into(),
            runner: None,
            host_paths: HostPaths::default(),
            limits: Limits::default(),
            deadlines: Deadlines::default(),
            layers: Layers::ALL,
            strictness: Strictness::BestEffort,
            unprivileged_id: UnprivilegedId::default(),
            loader_paths: DEFAULT_LOADER_PATHS.iter().map(PathBuf::from).collect(),
            payload_window: DEFAULT_PAYLOAD_WINDOW,
            low_latency: false,
            require_hardening: Vec::new(),
            development: false,
        }
    }

    /// A configuration that runs a verified package: its bytes sealed in a memfd, its
    /// manifest name as the plugin's name. Limits and grants are the caller's (the policy's).
    pub fn for_package(
        package: &sbx_package::VerifiedPackage,
    ) -> std::io::Result<SandboxConfigBuilder> {
        let sealed = SealedPlugin::seal(&package.manifest.name, &package.binary)?;
        Ok(
            SandboxConfig::builder(package.source.join(sbx_package::PLUGIN_FILE))
                .name(package.manifest.name.clone())
                .sealed(sealed),
        )
    }

    /// The bytes that run: the sealed ones, or the file's, within a package binary's bound.
    pub fn binary(&self) -> std::io::Result<Vec<u8>> {
        let bound = sbx_package::MAX_BINARY_LEN;
        let too_large = || {
            std::io::Error::other(format!(
                "larger than a plugin binary may be ({bound} bytes)"
            ))
        };
        match &self.sealed {
            Some(sealed) => {
                let file = std::fs::File::from(sealed.fd().try_clone_to_owned()?);
                let len = file.metadata()?.len();
                if len > bound {
                    return Err(too_large());
                }
                let mut bytes = vec![0; len as usize];
                std::os::unix::fs::FileExt::read_exact_at(&file, &mut bytes, 0)?;
                Ok(bytes)
            }
            None => {
                let bytes = sbx_package::read_prefix(&self.plugin, bound + 1)?;
                if bytes.len() as u64 > bound {
                    return Err(too_large());
                }
                Ok(bytes)
            }
        }
    }

    /// The runner's environment: none, but in the development mode, for a plugin built with
    /// AddressSanitizer (it needs `libasan.so.N`), that runtime preloaded, as ASan requires
    /// of a library loaded at run time.
    pub fn runner_env(&self) -> Vec<String> {
        if !self.development {
            return Vec::new();
        }
        self.sanitizer_runtime()
            .map(|lib| vec![format!("LD_PRELOAD={lib}")])
            .unwrap_or_default()
    }

    /// The AddressSanitizer runtime the plugin needs, if it needs one.
    fn sanitizer_runtime(&self) -> Option<String> {
        let binary = self.binary().ok()?;
        // The soname exactly, `libasan.so.<digits>`: the name is the plugin's, and goes into
        // the runner's environment before it is confined.
        sbx_package::symbols::needed_libraries(&binary)
            .into_iter()
            .find(|lib| {
                lib.strip_prefix("libasan.so.")
                    .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            })
    }

    /// The part of the configuration the runner receives.
    pub fn runner_config(&self, host_pid: u32) -> RunnerConfig {
        let sealed_path = PathBuf::from(format!("/proc/self/fd/{}", sbx_contract::fds::PLUGIN_FD));
        let mut limits = self.limits;
        if self.development && self.sanitizer_runtime().is_some() {
            // AddressSanitizer reserves terabytes of shadow memory at its start: no address
            // space bound can hold it. The memory cap (a cgroup's) still counts what it uses.
            limits.address_space_bytes = u64::MAX;
        }
        RunnerConfig {
            plugin: if self.sealed.is_some() {
                sealed_path
            } else {
                self.plugin.clone()
            },
            plugin_fd: self.sealed.is_some(),
            limits,
            layers: self.layers,
            strictness: self.strictness,
            unprivileged_id: self.unprivileged_id,
            loader_paths: self.loader_paths.clone(),
            host_pid,
            payload_window: self.payload_window,
            await_load: false,
            ring: if self.low_latency {
                sbx_ipc::ring::RING_CAPACITY
            } else {
                0
            },
            development: self.development,
        }
    }
}

/// Builder for [`SandboxConfig`].
#[derive(Debug, Clone)]
pub struct SandboxConfigBuilder {
    name: Option<String>,
    memory_cap_mib: Option<u64>,
    cpu_rate_percent: Option<u32>,
    sealed: Option<SealedPlugin>,
    broker: BrokerConfig,
    plugin: PathBuf,
    runner: Option<PathBuf>,
    host_paths: HostPaths,
    limits: Limits,
    deadlines: Deadlines,
    layers: Layers,
    strictness: Strictness,
    unprivileged_id: UnprivilegedId,
    loader_paths: Vec<PathBuf>,
    payload_window: u64,
    low_latency: bool,
    require_hardening: Vec<sbx_package::hardening::Hardening>,
    development: bool,
}

impl SandboxConfigBuilder {
    /// The runner binary; by default `$SBX_RUNNER`, else `sbx-runner` beside the current executable
    /// or in its parent directory (where cargo puts binaries relative to test executables).
    pub fn runner(mut self, path: impl Into<PathBuf>) -> Self {
        self.runner = Some(path.into());
        self
    }
    /// Where the host finds cgroups and /proc (default: [`HostPaths::default`]).
    pub fn host_paths(mut self, paths: HostPaths) -> Self {
        self.host_paths = paths;
        self
    }
    /// Load these sealed, verified bytes instead of the file at the plugin path.
    pub fn sealed(mut self, sealed: SealedPlugin) -> Self {
        self.sealed = Some(sealed);
        self
    }
    /// Cap the plugin's memory with a cgroup (the best layer available; reported as
    /// `cgroup.memory` in the enforcement report).
    pub fn memory_cap_mib(mut self, mib: u64) -> Self {
        self.memory_cap_mib = Some(mib);
        self
    }
    /// Cap the plugin's CPU rate at `percent` of one CPU with a cgroup (reported as
    /// `cgroup.cpu`); a call that meets the cap is throttled, not killed.
    pub fn cpu_rate_percent(mut self, percent: u32) -> Self {
        self.cpu_rate_percent = Some(percent.max(1));
        self
    }
    /// The plugin's name (see [`SandboxConfig::name`]).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// Capabilities, storage, allowlist and host-call quotas (default: `log` only).
    pub fn broker(mut self, broker: BrokerConfig) -> Self {
        self.broker = broker;
        self
    }
    /// Resource limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Deadlines.
    pub fn deadlines(mut self, deadlines: Deadlines) -> Self {
        self.deadlines = deadlines;
        self
    }
    /// Confinement layers (all on by default).
    pub fn layers(mut self, layers: Layers) -> Self {
        self.layers = layers;
        self
    }
    /// Refuse to run unless every switched-on layer is in force.
    pub fn strictness(mut self, strictness: Strictness) -> Self {
        self.strictness = strictness;
        self
    }
    /// uid/gid to switch to when the host is root (default: one per plugin,
    /// [`PER_PLUGIN_ID_BASE`] plus the runner's process id).
    pub fn unprivileged_id(mut self, id: UnprivilegedId) -> Self {
        self.unprivileged_id = id;
        self
    }
    /// Read-only paths for the dynamic loader (replaces the defaults).
    pub fn loader_paths(mut self, paths: Vec<PathBuf>) -> Self {
        self.loader_paths = paths;
        self
    }
    /// Bytes in each half of the payload window (default [`DEFAULT_PAYLOAD_WINDOW`]); 0:
    /// none, and inputs and outputs are bounded by a frame.
    pub fn payload_window(mut self, bytes: u64) -> Self {
        self.payload_window = bytes;
        self
    }

    /// The low-latency mode ([`SandboxConfig::low_latency`]); default off.
    pub fn low_latency(mut self, on: bool) -> Self {
        self.low_latency = on;
        self
    }

    /// Mitigations the plugin's binary must show (default none; see
    /// [`SandboxConfig::require_hardening`]).
    pub fn require_hardening(mut self, required: Vec<sbx_package::hardening::Hardening>) -> Self {
        self.require_hardening = required;
        self
    }

    /// The development mode ([`SandboxConfig::development`]); default off.
    pub fn development(mut self, on: bool) -> Self {
        self.development = on;
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<SandboxConfig, ConfigError> {
        if self.plugin.as_os_str().is_empty() {
            return Err(ConfigError::NoPlugin);
        }
        if self.sealed.is_some() {
            // The path only names the plugin; the sealed bytes are what runs.
            let plugin = self.plugin.clone();
            return self.finish(plugin);
        }
        let meta = std::fs::metadata(&self.plugin).map_err(|source| ConfigError::Plugin {
            path: self.plugin.clone(),
            source,
        })?;
        if !meta.is_file() {
            return Err(ConfigError::Plugin {
                path: self.plugin.clone(),
                source: std::io::Error::other("not a regular file"),
            });
        }
        // The runner loads by path after Landlock is in force, so it must be absolute.
        let plugin = std::fs::canonicalize(&self.plugin).map_err(|source| ConfigError::Plugin {
            path: self.plugin.clone(),
            source,
        })?;
        self.finish(plugin)
    }

    fn finish(self, plugin: PathBuf) -> Result<SandboxConfig, ConfigError> {
        if self.development && self.strictness == Strictness::Strict {
            return Err(ConfigError::DevelopmentInStrictMode);
        }
        // With a window an output may fill its half; without, one frame.
        let max_output = self.payload_window.max(MAX_FRAME_OUTPUT);
        let l = &self.limits;
        for (name, value) in [
            ("address_space_bytes", l.address_space_bytes),
            ("cpu_seconds", l.cpu_seconds),
            ("open_files", l.open_files),
            ("processes", l.processes),
            ("output_bytes", u64::from(l.output_bytes)),
        ] {
            if value == 0 {
                return Err(ConfigError::InvalidLimit {
                    name,
                    value,
                    why: "must be at least 1",
                });
            }
        }
        if u64::from(l.output_bytes) > max_output {
            return Err(ConfigError::InvalidLimit {
                name: "output_bytes",
                value: u64::from(l.output_bytes),
                why: "larger than the payload window (or, without one, a frame) can carry",
            });
        }
        if self.payload_window != 0 && self.payload_window < MAX_FRAME_OUTPUT {
            return Err(ConfigError::InvalidLimit {
                name: "payload_window",
                value: self.payload_window,
                why: "smaller than a frame carries: a window must hold whatever would have \
                      travelled inline (0: no window)",
            });
        }
        if self.payload_window > MAX_PAYLOAD_WINDOW {
            return Err(ConfigError::InvalidLimit {
                name: "payload_window",
                value: self.payload_window,
                why: "larger than a frame's length field can name (4 GiB)",
            });
        }
        let runner = match self.runner {
            Some(r) => r,
            None => find_runner()?,
        };
        let name = self.name.unwrap_or_else(|| {
            plugin
                .file_stem()
                .map(|s| s.to_string_lossy().trim_start_matches("lib").to_owned())
                .unwrap_or_default()
        });
        Ok(SandboxConfig {
            name,
            broker: self.broker,
            memory_cap_mib: self.memory_cap_mib,
            cpu_rate_percent: self.cpu_rate_percent,
            sealed: self.sealed,
            plugin,
            runner,
            host_paths: self.host_paths,
            limits: self.limits,
            deadlines: self.deadlines,
            layers: self.layers,
            strictness: self.strictness,
            unprivileged_id: self.unprivileged_id,
            loader_paths: self.loader_paths,
            payload_window: self.payload_window,
            low_latency: self.low_latency,
            require_hardening: self.require_hardening,
            development: self.development,
        })
    }
}

/// Locates `sbx-runner`: `$SBX_RUNNER`, then beside the current executable, then one level up
/// (test binaries live in `target/<profile>/deps`).
pub fn find_runner() -> Result<PathBuf, ConfigError> {
    if let Some(p) = std::env::var_os("SBX_RUNNER") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok();
    let dir = exe.as_deref().and_then(Path::parent);
    let candidates: Vec<PathBuf> = dir
        .into_iter()
        .flat_map(|d| [d.join("sbx-runner"), d.join("../sbx-runner")])
        .collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| ConfigError::RunnerNotFound {
            looked: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The development mode is never all layers in force: strictness refuses it, and the
    /// runner is told of it otherwise.
    #[test]
    fn the_development_mode_is_refused_in_strict_mode() {
        let dev = || {
            SandboxConfig::builder("/bin/true")
                .runner("/bin/true")
                .development(true)
        };
        assert!(matches!(
            dev().strictness(Strictness::Strict).build(),
            Err(ConfigError::DevelopmentInStrictMode)
        ));
        let config = dev().build().expect("best effort");
        assert!(config.runner_config(1).development);
        assert!(
            !SandboxConfig::builder("/bin/true")
                .runner("/bin/true")
                .build()
                .expect("config")
                .runner_config(1)
                .development
        );
    }

    fn with_window(bytes: u64) -> Result<SandboxConfig, ConfigError> {
        // The runner is named, so that the check does not look for one.
        SandboxConfig::builder("/bin/true")
            .runner("/bin/true")
            .payload_window(bytes)
            .build()
    }

    #[test]
    fn a_payload_window_is_none_or_holds_at_least_a_frame() {
        assert!(with_window(0).is_ok());
        assert!(with_window(MAX_FRAME_OUTPUT).is_ok());
        assert!(with_window(DEFAULT_PAYLOAD_WINDOW).is_ok());
        for refused in [1, 64 * 1024, MAX_FRAME_OUTPUT - 1, MAX_PAYLOAD_WINDOW + 1] {
            assert!(
                matches!(
                    with_window(refused),
                    Err(ConfigError::InvalidLimit {
                        name: "payload_window",
                        ..
                    })
                ),
                "a window of {refused} bytes"
            );
        }
    }

    #[test]
    fn the_output_bound_may_reach_the_window_and_no_further() {
        let limits = |output_bytes| Limits {
            output_bytes,
            ..Limits::default()
        };
        let build = |window, output| {
            SandboxConfig::builder("/bin/true")
                .runner("/bin/true")
                .payload_window(window)
                .limits(limits(output))
                .build()
        };
        assert!(build(DEFAULT_PAYLOAD_WINDOW, 16 << 20).is_ok());
        assert!(build(DEFAULT_PAYLOAD_WINDOW, (16 << 20) + 1).is_err());
        assert!(build(0, (2 << 20) as u32).is_err());
    }
}
