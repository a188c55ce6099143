//! The runner's configuration: what the host decides and the runner applies to itself,
//! sent as JSON in the runner's argv ([`RunnerConfig`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Resource limits applied with `setrlimit` in the runner before any plugin code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// RLIMIT_AS: address space in bytes.
    pub address_space_bytes: u64,
    /// RLIMIT_CPU: CPU seconds (soft; the hard limit is one second more, then SIGKILL).
    pub cpu_seconds: u64,
    /// RLIMIT_NOFILE: open descriptors.
    pub open_files: u64,
    /// RLIMIT_FSIZE: largest file the process may write, in bytes.
    pub file_size_bytes: u64,
    /// RLIMIT_NPROC: processes and threads of the sandbox user (the plugin's threads).
    pub processes: u64,
    /// Largest output one invoke may return, in bytes (bounded by the frame size).
    pub output_bytes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            address_space_bytes: 1 << 30,
            cpu_seconds: 10,
            open_files: 32,
            file_size_bytes: 0,
            processes: 32,
            output_bytes: 512 * 1024,
        }
    }
}

/// The confinement layers. Each can be switched off, which exists so the conformance suite
/// can build mutants of the reference sandbox (one layer missing each) and show that its
/// checks catch them; a production host leaves them all on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layers {
    /// Switch to an unprivileged uid when the host is root.
    pub drop_identity: bool,
    /// New user, pid, net, mount, ipc and uts namespaces.
    pub namespaces: bool,
    /// Empty capability sets and bounding set.
    pub drop_capabilities: bool,
    /// `PR_SET_NO_NEW_PRIVS`.
    pub no_new_privs: bool,
    /// Landlock filesystem, network and scope rules.
    pub landlock: bool,
    /// The rlimits in [`Limits`].
    pub rlimits: bool,
    /// The seccomp policy.
    pub seccomp: bool,
    /// Host calls from plugin threads take the channel one at a time, request and reply
    /// together, so that each reply reaches the thread that asked. (Not a kernel layer:
    /// the runner's own discipline, switched off only by the conformance mutant.)
    #[serde(default = "on")]
    pub serialised_host_calls: bool,
    /// The host closes every descriptor it did not place before it execs the runner.
    #[serde(default = "on")]
    pub host_closes_descriptors: bool,
    /// The runner closes every descriptor above those placed for it, first thing: a
    /// descriptor a host left open does not reach the plugin. (With the host's closing,
    /// each is the other's cover; the conformance suite relaxes one to show the other.)
    #[serde(default = "on")]
    pub runner_closes_descriptors: bool,
}

fn on() -> bool {
    true
}

impl Layers {
    /// Every layer on: the reference sandbox.
    pub const ALL: Layers = Layers {
        drop_identity: true,
        namespaces: true,
        drop_capabilities: true,
        no_new_privs: true,
        landlock: true,
        rlimits: true,
        seccomp: true,
        serialised_host_calls: true,
        host_closes_descriptors: true,
        runner_closes_descriptors: true,
    };
}

impl Default for Layers {
    fn default() -> Self {
        Layers::ALL
    }
}

/// What to do when the kernel cannot apply a layer that is switched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strictness {
    /// Run with what could be applied; the enforcement report says what is missing.
    #[default]
    BestEffort,
    /// Refuse to load the plugin unless every switched-on layer is fully in force.
    Strict,
}

/// Everything the runner needs, sent as JSON in its argv. Contains no secret. A field the
/// runner does not know is refused, not ignored: a runner older than its host would
/// otherwise run without what the host asked for (a warm spare that loads at once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerConfig {
    /// The plugin shared object (a path the runner opens read-only; `/proc/self/fd/6` when
    /// the plugin comes sealed on descriptor 6).
    pub plugin: PathBuf,
    /// The plugin is the sealed memfd on descriptor 6 (kept open until it is loaded).
    pub plugin_fd: bool,
    /// Limits to apply.
    pub limits: Limits,
    /// Layers to apply.
    pub layers: Layers,
    /// What to do with a layer the kernel refuses.
    pub strictness: Strictness,
    /// The uid and gid to switch to when started as root.
    pub unprivileged_id: UnprivilegedId,
    /// Directories and files the dynamic loader may read (Landlock), besides the plugin.
    pub loader_paths: Vec<PathBuf>,
    /// The host's pid: the runner exits if its parent is not this process.
    pub host_pid: u32,
    /// Bytes in each half of the payload window on descriptor 7; 0: no window (inputs and
    /// outputs stay inline, bounded by a frame).
    #[serde(default)]
    pub payload_window: u64,
    /// Wait after the confinement (its `Confined` sent, the liveness thread started) for the
    /// host's `Load` before loading the plugin: a warm spare, confined ahead of need, that
    /// runs no byte of the plugin until it is activated.
    #[serde(default)]
    pub await_load: bool,
    /// Bytes of each direction's ring of the low-latency mode, in the memory file on
    /// descriptor 8; 0: no ring, and every frame goes through the socket.
    #[serde(default)]
    pub ring: u32,
    /// The development mode: a call the filter refuses is reported on the violation pipe
    /// ([`crate::development`]) and fails with `EPERM`, and the plugin goes on (calls the
    /// kill list names still end it). Never in production: the host refuses it with
    /// [`Strictness::Strict`].
    #[serde(default)]
    pub development: bool,
}

impl RunnerConfig {
    /// Whether the host writes the runner's uid and gid maps, given whether the two run as
    /// root (they share their credentials until the runner changes its own): when a root
    /// host's runner leaves root, it is not dumpable, and its `/proc/self/*_map` are root's,
    /// so it could write them only by making itself dumpable, a window in which any process
    /// of its new uid could attach to it. Instead it stops itself once it has its user
    /// namespace, and the host writes the maps from outside (as bubblewrap and nsjail do
    /// from the parent) and continues it. A runner that stays its host's uid writes its own:
    /// nothing it could be attached by is not already its host.
    pub fn ids_mapped_by_host(&self, root: bool) -> bool {
        root && self.layers.drop_identity && self.layers.namespaces
    }
}

/// The largest output a `Result` frame carries (a frame less its header and fields, rounded
/// down): the output bound of a plugin without a payload window, and the most a runner
/// answers inline.
pub const MAX_FRAME_OUTPUT: u64 = (sbx_ipc::MAX_FRAME_LEN - 64) as u64;

/// The payload window a host gives by default: 16 MiB each way.
pub const DEFAULT_PAYLOAD_WINDOW: u64 = 16 << 20;

/// uid and gid of `nobody`.
pub const NOBODY: u32 = 65534;

/// The first of the ids plugins run under when the host is root, one per plugin: the
/// runner's process id is added to it. Above the ranges that users, `nobody`, subordinate
/// ids and containers' user namespaces are usually given, and below 2^31, which some tools
/// read as a negative number: `0x7100_0000` plus the largest process id Linux allows
/// (2^22) is `0x7140_0000`.
pub const PER_PLUGIN_ID_BASE: u32 = 0x7100_0000;

/// The uid and gid a plugin runs under when the host is root.
///
/// The kernel counts a user's processes and threads for RLIMIT_NPROC across the whole
/// machine. Plugins sharing one id (`nobody`) share that count: one plugin holding its
/// thread cap leaves every other plugin unable to start a thread. An id of its own per
/// plugin makes the cap the plugin's alone, and puts a user boundary between plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnprivilegedId {
    /// `base` plus the runner's process id: no other running plugin of the host has it.
    PerPlugin { base: u32 },
    /// The same id for every plugin; they share one RLIMIT_NPROC count.
    Fixed(u32),
}

impl UnprivilegedId {
    /// The id for the runner with process id `pid`; `None` past `u32::MAX`.
    pub fn for_runner(self, pid: u32) -> Option<u32> {
        match self {
            UnprivilegedId::PerPlugin { base } => base.checked_add(pid),
            UnprivilegedId::Fixed(id) => Some(id),
        }
    }
}

impl Default for UnprivilegedId {
    fn default() -> Self {
        UnprivilegedId::PerPlugin {
            base: PER_PLUGIN_ID_BASE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RunnerConfig {
        RunnerConfig {
            plugin: "/p.so".into(),
            plugin_fd: false,
            limits: Limits::default(),
            layers: Layers::default(),
            strictness: Strictness::default(),
            unprivileged_id: UnprivilegedId::default(),
            loader_paths: Vec::new(),
            host_pid: 1,
            payload_window: 0,
            await_load: true,
            ring: 0,
            development: false,
        }
    }

    #[test]
    fn a_host_that_names_no_descriptor_layer_keeps_both_closings() {
        let mut json = serde_json::to_value(Layers::ALL).expect("serialises");
        let layers = json.as_object_mut().expect("an object");
        layers.remove("host_closes_descriptors");
        layers.remove("runner_closes_descriptors");
        let read: Layers = serde_json::from_value(json).expect("an older host's layers");
        assert!(read.host_closes_descriptors && read.runner_closes_descriptors);
    }

    #[test]
    fn a_field_the_runner_does_not_know_is_refused() {
        let mut json = serde_json::to_value(config()).expect("serialises");
        let back: RunnerConfig = serde_json::from_value(json.clone()).expect("round trip");
        assert_eq!(back, config());
        json["from_a_newer_host"] = serde_json::json!(true);
        let refused = serde_json::from_value::<RunnerConfig>(json).expect_err("refused");
        assert!(
            refused.to_string().contains("from_a_newer_host"),
            "{refused}"
        );
    }
}
