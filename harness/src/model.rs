//! The result model: what a conformance run found, typed and versioned.
//!
//! Every report (the terminal table, the JSON file, the documentation tables, later HTML,
//! JUnit and TAP) is a rendering of these types and nothing else. Bump
//! [`RESULT_SCHEMA_VERSION`] on any change a reader could notice.
//!
//! Version 2: harm kind `ran_after_revocation`, feature `key_revocation`, and the figures a
//! pass rests on in a case's `notes` (the CPU rate of a capped call).
//! Version 3: harm kinds `host_environment_handed` and `host_arguments_handed`; a case's `also_seen` (harm judged against other
//! requirements than the case's own); requirement verdicts judged per requirement.
//! Version 4: feature `exceptions` (time-bound grants in the policy).
//! Version 5: the run's facts (the harness's source, each machine's start, end and host),
//! each sandbox's binaries with their sha256, each sandbox's `held_back_by`, each requirement's `title`, a case's `audit`
//! records.
//! Version 6: a sandbox's `unavailable` (its tool cannot run on the machine).
//! Version 7: feature `updates`; harm kinds `update_not_installed`,
//! `update_not_rolled_back`, `update_storage_lost` and `refused_update_ran`.
//!
//! The model's JSON Schema is `reports/result.schema.json`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::protocol::{Feature, Termination};

/// Version of the serialised result model.
pub const RESULT_SCHEMA_VERSION: u32 = 7;

/// The verdict of a case or of a requirement.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Attempted, and the harness observed no harm and every expected reaction.
    Pass,
    /// Harm observed, or the sandbox reacted otherwise than required.
    Fail,
    /// The adapter declared it lacks a feature the case needs.
    NotApplicable,
    /// The harness or the adapter failed (malformed or missing output): no judgement.
    Error,
    /// Not run (filtered out, or the harness could not run it safely here).
    Skipped,
}

impl Verdict {
    /// The word used in files and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NotApplicable => "not_applicable",
            Verdict::Error => "error",
            Verdict::Skipped => "skipped",
        }
    }
}

/// A kind of harm the harness observed with its own means.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HarmKind {
    /// A canary token appeared in output, logs, events or the adapter's stderr.
    SecretInOutput,
    /// Something outside the allowed area was created, changed or removed.
    FileWritten,
    /// The harness's TCP listener accepted a connection.
    TcpConnection,
    /// The harness's UDP listener received a datagram.
    UdpDatagram,
    /// The harness's abstract unix listener accepted a connection.
    UnixConnection,
    /// A process of the case was alive after its adapter exited.
    ProcessLeft,
    /// The adapter (host) or the case guard received a signal from the plugin.
    HostSignalled,
    /// The adapter (host) died.
    HostCrashed,
    /// The adapter (host) did not answer in time.
    HostHung,
    /// Memory, CPU, processes, descriptors, disk or output beyond the case's limits.
    ResourceExhausted,
    /// The plugin reported a privilege it still held (a `GAINED ` line).
    PrivilegeObserved,
    /// A descriptor of the host reached the plugin.
    DescriptorLeaked,
    /// The adapter's output stream was corrupted.
    ChannelCorrupted,
    /// The benign neighbour plugin was not served after the attack.
    NeighbourNotServed,
    /// Code of a package the sandbox had to refuse (or of bytes swapped in after
    /// verification) ran: a process of the case reached the resident size its constructor
    /// makes, or the sandbox's own answer says it loaded or started it.
    RefusedCodeRan,
    /// The sandbox's audit log lacks a record of what happened in the case (a runner's
    /// end, a refused host call).
    AuditMissing,
    /// The plugin's code ran after its unload was answered: its log records kept coming.
    RanAfterUnload,
    /// The plugin's code ran after its signer's key was revoked: it answered a call, or
    /// its log records kept coming.
    RanAfterRevocation,
    /// Bytes appeared on the terminal the case runs on (input injected with `TIOCSTI`,
    /// echoed by the terminal, or output written to it).
    TerminalInjected,
    /// The process the plugin runs in holds the canary of the host's environment (handed
    /// over, not read by the plugin).
    HostEnvironmentHanded,
    /// The process the plugin runs in holds the canary of the host's arguments.
    HostArgumentsHanded,
    /// The plugin's process was started again more often than the policy's restarts allow
    /// within its window (the harness saw each process that mapped the plugin).
    RestartedBeyondPolicy,
    /// The plugin's process was started again sooner after the call that faulted than the
    /// policy's backoff.
    RestartedWithoutBackoff,
    /// The processes that run the plugin held more threads (and processes) than its policy
    /// allows, beyond the few a host keeps in them of its own.
    ThreadsBeyondPolicy,
    /// An answer of the plugin's carried more output than its policy's `output_bytes`.
    OutputBeyondPolicy,
    /// An audit record of a limit the plugin ran into misstates it: its figure is not past
    /// its bound (or past it by more than one call can add), or its bound is not the
    /// policy's.
    AuditMisstated,
    /// The sandbox's audit log holds more records of the plugin after one case than the
    /// suite allows: a plugin can grow the host's audit without bound.
    AuditFlooded,
    /// The sandbox's figures of the plugin (`figures`) misstate what it did: calls the
    /// harness saw answered, or fewer host calls, refusals, limits or dropped log records
    /// than its call is known to make.
    FiguresMisstated,
    /// The sandbox reported that the plugin died of a signal that sandboxes end processes
    /// with (SIGKILL, SIGTERM), or of a signal it did not name: it ended the plugin and did
    /// not say why.
    EndUnexplained,
    /// The sandbox's inventory of the plugin (`inventory`) misstates it: the process it
    /// names does not run the plugin, its capabilities are not those its policy grants, or
    /// its state is not the one the harness sees.
    InventoryMisstated,
    /// The sandbox's audit log does not tell the plugin's lifecycle: a transition left
    /// out, one that names no state, or an unloaded plugin's last transition not its end.
    TransitionsUnrecorded,
    /// A paused plugin still ran: a thread of its processes was not stopped when the pause
    /// was answered, or its processes used CPU while it was paused.
    PauseNotInForce,
    /// A process that runs the plugin, or one of the sandbox's beside it in its user
    /// namespace (a namespace's init, a process between the host and the plugin), held an
    /// effective capability while the plugin ran.
    CapabilitiesKept,
    /// The sandbox refused a plugin's load without saying why: an empty message, or
    /// (where the reference's reactions are held) one that does not name the cause the
    /// reference names.
    RefusalUnexplained,
    /// A process that runs the plugin without `no_new_privs` sees a mount where set-uid and
    /// set-gid bits count on exec (neither `nosuid` nor `noexec`): a way to a root identity.
    SetuidMount,
    /// After a valid update of a running plugin, the new version did not serve (the update
    /// was refused, or the version answering is the old one).
    UpdateNotInstalled,
    /// After an update whose new version failed (in its init, or in its first calls beyond
    /// the failure budget), the previous version did not serve again.
    UpdateNotRolledBack,
    /// After an update, the plugin's storage was not as the installed version left it (a
    /// failed version's writes not undone, or the data lost).
    UpdateStorageLost,
    /// An update the sandbox had to refuse (another signer, a downgrade) ran: its version
    /// answered, or its init changed the plugin's storage.
    RefusedUpdateRan,
}

impl HarmKind {
    /// Every kind.
    pub const ALL: &'static [HarmKind] = &[
        HarmKind::SecretInOutput,
        HarmKind::FileWritten,
        HarmKind::TcpConnection,
        HarmKind::UdpDatagram,
        HarmKind::UnixConnection,
        HarmKind::ProcessLeft,
        HarmKind::HostSignalled,
        HarmKind::HostCrashed,
        HarmKind::HostHung,
        HarmKind::ResourceExhausted,
        HarmKind::PrivilegeObserved,
        HarmKind::DescriptorLeaked,
        HarmKind::ChannelCorrupted,
        HarmKind::NeighbourNotServed,
        HarmKind::RefusedCodeRan,
        HarmKind::AuditMissing,
        HarmKind::RanAfterUnload,
        HarmKind::RanAfterRevocation,
        HarmKind::TerminalInjected,
        HarmKind::HostEnvironmentHanded,
        HarmKind::HostArgumentsHanded,
        HarmKind::RestartedBeyondPolicy,
        HarmKind::RestartedWithoutBackoff,
        HarmKind::ThreadsBeyondPolicy,
        HarmKind::OutputBeyondPolicy,
        HarmKind::AuditMisstated,
        HarmKind::AuditFlooded,
        HarmKind::FiguresMisstated,
        HarmKind::EndUnexplained,
        HarmKind::InventoryMisstated,
        HarmKind::TransitionsUnrecorded,
        HarmKind::PauseNotInForce,
        HarmKind::CapabilitiesKept,
        HarmKind::RefusalUnexplained,
        HarmKind::SetuidMount,
        HarmKind::UpdateNotInstalled,
        HarmKind::UpdateNotRolledBack,
        HarmKind::UpdateStorageLost,
        HarmKind::RefusedUpdateRan,
    ];

    /// The word used in metadata and files.
    pub fn as_str(self) -> &'static str {
        match self {
            HarmKind::SecretInOutput => "secret_in_output",
            HarmKind::FileWritten => "file_written",
            HarmKind::TcpConnection => "tcp_connection",
            HarmKind::UdpDatagram => "udp_datagram",
            HarmKind::UnixConnection => "unix_connection",
            HarmKind::ProcessLeft => "process_left",
            HarmKind::HostSignalled => "host_signalled",
            HarmKind::HostCrashed => "host_crashed",
            HarmKind::HostHung => "host_hung",
            HarmKind::ResourceExhausted => "resource_exhausted",
            HarmKind::PrivilegeObserved => "privilege_observed",
            HarmKind::DescriptorLeaked => "descriptor_leaked",
            HarmKind::ChannelCorrupted => "channel_corrupted",
            HarmKind::NeighbourNotServed => "neighbour_not_served",
            HarmKind::RefusedCodeRan => "refused_code_ran",
            HarmKind::AuditMissing => "audit_missing",
            HarmKind::RanAfterUnload => "ran_after_unload",
            HarmKind::RanAfterRevocation => "ran_after_revocation",
            HarmKind::TerminalInjected => "terminal_injected",
            HarmKind::HostEnvironmentHanded => "host_environment_handed",
            HarmKind::HostArgumentsHanded => "host_arguments_handed",
            HarmKind::RestartedBeyondPolicy => "restarted_beyond_policy",
            HarmKind::RestartedWithoutBackoff => "restarted_without_backoff",
            HarmKind::ThreadsBeyondPolicy => "threads_beyond_policy",
            HarmKind::OutputBeyondPolicy => "output_beyond_policy",
            HarmKind::AuditMisstated => "audit_misstated",
            HarmKind::AuditFlooded => "audit_flooded",
            HarmKind::FiguresMisstated => "figures_misstated",
            HarmKind::EndUnexplained => "end_unexplained",
            HarmKind::InventoryMisstated => "inventory_misstated",
            HarmKind::TransitionsUnrecorded => "transitions_unrecorded",
            HarmKind::PauseNotInForce => "pause_not_in_force",
            HarmKind::CapabilitiesKept => "capabilities_kept",
            HarmKind::RefusalUnexplained => "refusal_unexplained",
            HarmKind::SetuidMount => "setuid_mount",
            HarmKind::UpdateNotInstalled => "update_not_installed",
            HarmKind::UpdateNotRolledBack => "update_not_rolled_back",
            HarmKind::UpdateStorageLost => "update_storage_lost",
            HarmKind::RefusedUpdateRan => "refused_update_ran",
        }
    }

    /// The kind a word names.
    pub fn from_word(word: &str) -> Option<HarmKind> {
        HarmKind::ALL.iter().copied().find(|k| k.as_str() == word)
    }
}

/// One observation of harm, with what was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Harm {
    /// Its kind.
    pub kind: HarmKind,
    /// What exactly was seen (the file, the listener, the pid, the figure).
    pub detail: String,
}

/// How the plugin fared, as far as the adapter's answers tell (never used alone to pass).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The load was refused; no plugin code kept running.
    RefusedLoad {
        /// The adapter's message.
        message: String,
    },
    /// The plugin process ended.
    Killed {
        /// How, as the adapter reported it.
        termination: Termination,
    },
    /// The plugin was still answering at the end of the case.
    Survived {
        /// The status of the attack call.
        status: Option<i32>,
    },
    /// The adapter gave no usable answer.
    Unknown,
}

/// Figures the harness measured itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Measured {
    /// Wall time of the case, milliseconds (informative: never judged).
    pub wall_ms: u64,
    /// CPU time of every process of the case, milliseconds (case guard's rusage).
    pub cpu_ms: u64,
    /// Peak resident set of the largest process of the case, KiB.
    pub peak_rss_kib: u64,
    /// Bytes the adapter wrote to stdout.
    pub stdout_bytes: u64,
    /// Bytes the adapter wrote to stderr.
    pub stderr_bytes: u64,
}

/// The result of one case against one sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseResult {
    /// Case id (the plugin name).
    pub case: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in one line.
    pub reason: String,
    /// Harm observed.
    pub harm: Vec<Harm>,
    /// The plugin's fate according to the adapter.
    pub outcome: Outcome,
    /// The reference expectation from the plugin's metadata, as text.
    pub expected: Option<String>,
    /// Whether the outcome matched it (`None` when not compared).
    pub expectation_met: Option<bool>,
    /// Adapter protocol errors (malformed, unexpected or late lines).
    pub protocol_errors: Vec<String>,
    /// Harness-side notes (outer limits that could not be applied, ...).
    pub notes: Vec<String>,
    /// The sandbox's audit records of the plugin, one JSON object a line, in the cases that
    /// check them (at most 32, each cut at 400 characters).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit: Vec<String>,
    /// Figures measured by the harness.
    pub measured: Measured,
    /// A known failure or waiver from the sandbox's expectations file matched this case.
    pub waived: Option<String>,
    /// The attack cannot do harm on this system, under any sandbox (what the plugin needs
    /// is missing here, as the harness probed outside any sandbox): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inert: Option<String>,
    /// Harm that bears on none of the requirements the case attacks, each with the
    /// requirements it breaks (`conformance/harms.toml`): the case fails for it, and those
    /// requirements fail, not the case's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_seen: Vec<String>,
    /// A benign plugin was not served (its call failed, answered other than it should, or
    /// its log records were not passed on), whatever else the case saw: it fails the
    /// requirements the case stands for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unserved: bool,
}

/// A requirement's verdict against one sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RequirementResult {
    /// Stable id.
    pub id: String,
    /// The requirement in one sentence (the catalog's title).
    pub title: String,
    /// RFC 2119 level word (`MUST`, `SHOULD`, `MAY`).
    pub rfc: String,
    /// Certification level (1, 2, 3).
    pub level: u8,
    /// The verdict: the worst of its cases, `fail` when it has none (a gap).
    pub verdict: Verdict,
    /// True when no case tests it.
    pub gap: bool,
    /// The cases it was judged on.
    pub cases: Vec<String>,
    /// Why, in one line.
    pub reason: String,
    /// A waiver from the expectations file (never honoured for a MUST at certification).
    pub waived: Option<String>,
}

/// What a sandbox is in a run: the one being certified, a control that shows the attacks do
/// harm, or a mutant of the reference that shows the checks catch a defect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Certified by the run.
    #[default]
    Candidate,
    /// The no-isolation control (and other reference points).
    Control,
    /// A defective reference.
    Mutant,
}

impl Role {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Candidate => "candidate",
            Role::Control => "control",
            Role::Mutant => "mutant",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the sandbox said about itself in the handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SutInfo {
    /// Name used on the command line (`reference`, `none`, a path...).
    pub name: String,
    /// Its role in the run.
    pub role: Role,
    /// Adapter's own name and version, from the handshake.
    pub adapter: String,
    /// Declared features.
    pub features: Vec<Feature>,
    /// The files the sandbox runs (its adapter's executable first), as the harness hashed
    /// them before the run: what a certificate is about.
    pub binaries: Vec<FileDigest>,
}

/// A file and the sha256 of its bytes.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct FileDigest {
    /// Where it was (absolute, on the machine that ran).
    pub path: String,
    /// Lowercase hex sha256 of its contents.
    pub sha256: String,
}

/// The result of one sandbox's run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SutResult {
    /// The sandbox.
    pub sut: SutInfo,
    /// The protocol self-test of its adapter (see `selftest`); a failed check withholds
    /// certification whatever the cases say.
    pub self_test: Vec<crate::selftest::Check>,
    /// Highest certification level whose every MUST passed (0: none).
    pub certified_level: u8,
    /// The MUST requirements that keep the next level out of reach (of the next level and
    /// below, not passed), by id; empty at the highest level, and for a partial run (a
    /// filter, a shard) where no level is certified. A failed check of the protocol
    /// self-test withholds every level besides (`self_test`).
    pub held_back_by: Vec<String>,
    /// Why the sandbox could not run on this machine, as its adapter said in its handshake
    /// (the tool missing, root or user namespaces needed): then every case is skipped with
    /// this reason and no level is certified, and the run does not count it as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Requirement verdicts, in catalog order.
    pub requirements: Vec<RequirementResult>,
    /// Case results, in case order.
    pub cases: Vec<CaseResult>,
}

impl SutResult {
    /// Its MUST requirements of `level` or below that did not pass: what keeps that level
    /// out of reach.
    pub fn failing_musts(&self, level: u8) -> Vec<&RequirementResult> {
        failing_musts(&self.requirements, level)
    }
}

/// The MUST requirements of `level` or below among `requirements` that did not pass: what
/// keeps that level out of reach.
pub fn failing_musts(requirements: &[RequirementResult], level: u8) -> Vec<&RequirementResult> {
    requirements
        .iter()
        .filter(|r| r.rfc == "MUST" && r.level <= level && r.verdict != Verdict::Pass)
        .collect()
}

/// A whole run (one or several sandboxes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunResult {
    /// The version of this model ([`RESULT_SCHEMA_VERSION`]); a reader refuses others.
    pub schema_version: u32,
    /// Version of the tool.
    pub tool_version: String,
    /// Requested certification level.
    pub level: u8,
    /// Filter applied, if any.
    pub filter: Option<String>,
    /// Shard `i/n`, if any.
    pub shard: Option<String>,
    /// The harness's source: the commit of its checkout (with `-dirty` when it had
    /// changes), when it ran from one.
    pub source: Option<String>,
    /// Where and when the suite ran: one machine for a whole run, one per shard for a
    /// merged one.
    pub executions: Vec<Execution>,
    /// One result per sandbox, in the order asked.
    pub suts: Vec<SutResult>,
}

/// One machine's run of the suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Execution {
    /// The shard it ran (`i/n`), if the run was split.
    pub shard: Option<String>,
    /// The sandboxes it ran, by name.
    pub sandboxes: Vec<String>,
    /// The harness's binaries on that machine (the program that ran the suite, the case
    /// guard), as it hashed them.
    pub harness: Vec<FileDigest>,
    /// When it started (RFC 3339, UTC).
    pub started: String,
    /// When it ended (RFC 3339, UTC).
    pub ended: String,
    /// The machine.
    pub host: HostFacts,
}

/// What the machine offered the sandboxes, probed by the harness outside any of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HostFacts {
    /// The kernel's release (`uname -r`).
    pub kernel: String,
    /// The machine's architecture, as Rust names it (`x86_64`, `aarch64`).
    pub architecture: String,
    /// The Landlock ABI version the kernel offers; `None` without Landlock.
    pub landlock_abi: Option<u32>,
    /// Which cgroup hierarchy is mounted.
    pub cgroup: CgroupVersion,
    /// Whether a process of the harness's user can create a user namespace.
    pub user_namespaces: bool,
    /// Whether the harness ran as root (effective uid 0).
    pub root: bool,
}

/// Which cgroup hierarchy a machine mounts at `/sys/fs/cgroup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CgroupVersion {
    /// The unified (v2) hierarchy alone.
    V2,
    /// v1 controllers with the v2 hierarchy beside them (`unified`).
    Hybrid,
    /// v1 controllers alone.
    V1,
    /// No cgroup hierarchy.
    None,
}

impl CgroupVersion {
    /// The word used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupVersion::V2 => "v2",
            CgroupVersion::Hybrid => "hybrid",
            CgroupVersion::V1 => "v1",
            CgroupVersion::None => "none",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup_version_is_named_in_files_as_serde_names_it() {
        for version in [
            CgroupVersion::V2,
            CgroupVersion::Hybrid,
            CgroupVersion::V1,
            CgroupVersion::None,
        ] {
            assert_eq!(
                serde_json::to_value(version).unwrap(),
                serde_json::Value::from(version.as_str())
            );
        }
    }
}
