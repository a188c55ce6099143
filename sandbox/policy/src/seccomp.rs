//! The seccomp policy file (`sandbox/policy/seccomp.toml`) and its compilation to BPF.
//!
//! The file is data: stages of allow rules, a kill list and an errno list, every rule with
//! a `why`. Parsing is total (every input gives a policy or a typed [`PolicyError`]);
//! compiling resolves syscall names and symbolic argument values and produces one BPF
//! program per stacked filter, in the order they must be installed.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use serde::Deserialize;

use crate::syscalls;

/// The reference policy, embedded in the binary so the runner needs no file access.
pub const REFERENCE_POLICY: &str = include_str!("../seccomp.toml");

/// Largest policy file accepted, so a hostile policy cannot make the parser allocate without bound.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;

/// A failure to read or compile a seccomp policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file is larger than [`MAX_POLICY_BYTES`].
    #[error("seccomp policy is {len} bytes, more than the {MAX_POLICY_BYTES} accepted")]
    TooLarge { len: usize },
    /// The file is not valid TOML of the expected shape.
    #[error("seccomp policy is malformed: {0}")]
    Malformed(#[from] toml::de::Error),
    /// The file declares a version this build does not understand.
    #[error("seccomp policy version {found} is not supported (expected 1)")]
    UnsupportedVersion { found: u32 },
    /// A rule names a syscall that does not exist on x86_64.
    #[error("unknown syscall `{name}` in {place}")]
    UnknownSyscall { name: String, place: String },
    /// A rule uses a symbolic value the runner does not know.
    #[error("unknown symbol `{symbol}` in rule for `{syscall}`")]
    UnknownSymbol { symbol: String, syscall: String },
    /// A rule is structurally wrong (bad argument index, missing mask...).
    #[error("invalid rule for `{syscall}`: {detail}")]
    InvalidRule { syscall: String, detail: String },
    /// A stage named by the caller or by `extends` does not exist, or `extends` loops.
    #[error("unknown or cyclic seccomp stage `{name}`")]
    UnknownStage { name: String },
    /// seccompiler refused the filter.
    #[error("cannot compile stage `{stage}`: {source}")]
    Compile {
        stage: String,
        #[source]
        source: seccompiler::BackendError,
    },
}

/// A parsed seccomp policy file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeccompPolicy {
    /// Format version; only 1 exists.
    pub version: u32,
    /// Calls that kill the process whatever the stage.
    #[serde(default)]
    pub kill: Vec<Rule>,
    /// Calls answered with an errno whatever the stage.
    #[serde(default)]
    pub errno: Vec<ErrnoRule>,
    /// Allowlists by stage name.
    pub stages: BTreeMap<String, Stage>,
}

/// One stage's allowlist.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Why the stage exists and when it is in force.
    pub why: String,
    /// Another stage whose rules this one includes.
    pub extends: Option<String>,
    /// Allowed calls; everything else traps.
    pub allow: Vec<Rule>,
    /// Calls answered with an errno from this stage on. Each must also be allowed by the
    /// stage, or its trap would win; a stage that extends this one inherits neither the
    /// errno nor that allow rule.
    #[serde(default)]
    pub errno: Vec<ErrnoRule>,
}

/// A syscall with optional argument conditions (all must hold).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Syscall name as in `asm/unistd_64.h`.
    pub syscall: String,
    /// Conditions on arguments, all of which must hold.
    #[serde(default)]
    pub args: Vec<ArgCondition>,
    /// Why the rule exists.
    pub why: String,
}

/// A syscall that fails with an errno.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrnoRule {
    /// Syscall name.
    pub syscall: String,
    /// Conditions on arguments, all of which must hold (a stage's rules only).
    #[serde(default)]
    pub args: Vec<ArgCondition>,
    /// Errno name or number.
    pub errno: Value,
    /// Why.
    pub why: String,
}

/// A condition on one syscall argument.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgCondition {
    /// Argument index, 0..=5.
    pub index: u8,
    /// Comparison.
    pub op: Op,
    /// Mask for `masked_eq`.
    pub mask: Option<Value>,
    /// Value compared with.
    pub value: Value,
    /// How many bits of the argument are compared (default: the low 32).
    #[serde(default)]
    pub width: Width,
}

/// Bits of an argument a condition compares.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Width {
    /// The low 32 bits: int, flag and descriptor arguments (what the kernel reads of them).
    #[default]
    Dword,
    /// All 64 bits: pointers and sizes.
    Qword,
}

/// Comparison operator of an [`ArgCondition`].
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `arg == value`
    Eq,
    /// `arg != value`
    Ne,
    /// `arg < value`
    Lt,
    /// `arg <= value`
    Le,
    /// `arg > value`
    Gt,
    /// `arg >= value`
    Ge,
    /// `arg & mask == value`
    MaskedEq,
}

/// An integer or a symbol resolved at compile time.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Value {
    /// A literal.
    Number(u64),
    /// A symbolic name (`SIGSYS`, `CLONE_THREAD`, `$pid`...).
    Symbol(String),
}

/// Values that are only known when the filter is built.
#[derive(Debug, Clone, Copy)]
pub struct Substitutions {
    /// The runner's own pid, for rules that allow signals to itself only.
    pub pid: u32,
}

impl SeccompPolicy {
    /// Parses a policy file. Total: any text gives a policy or an error.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge { len: text.len() });
        }
        let policy: SeccompPolicy = toml::from_str(text)?;
        if policy.version != 1 {
            return Err(PolicyError::UnsupportedVersion {
                found: policy.version,
            });
        }
        Ok(policy)
    }

    /// The embedded reference policy.
    pub fn reference() -> Result<Self, PolicyError> {
        Self::parse(REFERENCE_POLICY)
    }

    /// Every allow rule of `stage`, including the stages it extends (but for the calls an
    /// extended stage allows only to answer them with its errno filter).
    pub fn stage_rules(&self, stage: &str) -> Result<Vec<&Rule>, PolicyError> {
        let mut rules = Vec::new();
        let mut name = stage;
        let mut seen = Vec::new();
        loop {
            if seen.contains(&name) {
                return Err(PolicyError::UnknownStage { name: name.into() });
            }
            seen.push(name);
            let stage = self
                .stages
                .get(name)
                .ok_or_else(|| PolicyError::UnknownStage { name: name.into() })?;
            let inherited = seen.len() > 1;
            rules.extend(stage.allow.iter().filter(|rule| {
                // A call a stage allows only to answer it with an errno is not allowed to the
                // stages that extend it: they would let it through.
                !(inherited && stage.errno.iter().any(|e| e.syscall == rule.syscall))
            }));
            match &stage.extends {
                Some(parent) => name = parent,
                None => return Ok(rules),
            }
        }
    }

    /// The filters to install for the first stage of a process, in installation order: the
    /// kill filter and the errno filter (both allow `seccomp`, so they go first), then the
    /// stage's allowlist.
    pub fn compile_first_stage(
        &self,
        stage: &str,
        subst: Substitutions,
    ) -> Result<Vec<BpfProgram>, PolicyError> {
        let mut filters = Vec::new();
        if !self.kill.is_empty() {
            let rules = self.kill.iter().collect::<Vec<_>>();
            filters.push(build(
                "kill",
                &rules,
                SeccompAction::Allow,
                SeccompAction::KillProcess,
                subst,
            )?);
        }
        if self.errno.iter().any(|r| !r.args.is_empty()) {
            return Err(PolicyError::InvalidRule {
                syscall: "errno".into(),
                detail: "the errno list of every stage takes no argument conditions".into(),
            });
        }
        filters.extend(errno_filters("errno", &self.errno, subst)?);
        filters.push(self.compile_stage(stage, subst)?);
        Ok(filters)
    }

    /// The errno filters of `stage` itself (not of the stages it extends), to install with
    /// its allowlist: a matching call fails with its errno instead of trapping.
    pub fn compile_stage_errno(
        &self,
        stage: &str,
        subst: Substitutions,
    ) -> Result<Vec<BpfProgram>, PolicyError> {
        let rules = &self
            .stages
            .get(stage)
            .ok_or_else(|| PolicyError::UnknownStage { name: stage.into() })?
            .errno;
        errno_filters(stage, rules, subst)
    }

    /// The allowlist filter of one stage (everything it does not allow traps).
    pub fn compile_stage(
        &self,
        stage: &str,
        subst: Substitutions,
    ) -> Result<BpfProgram, PolicyError> {
        self.compile_allowlist(stage, SeccompAction::Trap, subst)
    }

    /// The allowlist filter of one stage whose every other call waits for the holder of
    /// the filter's listener (`SECCOMP_RET_USER_NOTIF`; install it with
    /// `SECCOMP_FILTER_FLAG_NEW_LISTENER`).
    pub fn compile_notifying_stage(
        &self,
        stage: &str,
        subst: Substitutions,
    ) -> Result<BpfProgram, PolicyError> {
        // seccompiler has no user-notification action: the filter is built with a trace
        // action no other filter uses, whose return instructions then become notifications.
        let mut filter =
            self.compile_allowlist(stage, SeccompAction::Trace(NOTIFY_PLACEHOLDER), subst)?;
        let placeholder = u32::from(SeccompAction::Trace(NOTIFY_PLACEHOLDER));
        for insn in filter.iter_mut() {
            if insn.code == BPF_RET_K && insn.k == placeholder {
                insn.k = libc::SECCOMP_RET_USER_NOTIF;
            }
        }
        Ok(filter)
    }

    /// The allowlist of `stage`: its rules allow, everything else gets `otherwise`.
    fn compile_allowlist(
        &self,
        stage: &str,
        otherwise: SeccompAction,
        subst: Substitutions,
    ) -> Result<BpfProgram, PolicyError> {
        let rules = self.stage_rules(stage)?;
        build(stage, &rules, otherwise, SeccompAction::Allow, subst)
    }
}

impl SeccompPolicy {
    /// Why the filter of `stage` refuses call `nr` with `args`, in words: that no rule of
    /// the stage names the call, or the conditions its rules allow it under, each with the
    /// argument it compared and what that argument was.
    pub fn explain_refusal(&self, stage: &str, nr: i64, args: &[u64; 6]) -> String {
        let Some(name) = crate::syscalls::name(nr) else {
            return format!("system call {nr} is unknown to the policy: no rule can allow it");
        };
        let rules = match self.stage_rules(stage) {
            Ok(rules) => rules,
            Err(e) => return e.to_string(),
        };
        let named: Vec<&&Rule> = rules.iter().filter(|r| r.syscall == name).collect();
        if named.is_empty() {
            return format!("no rule of the `{stage}` stage allows `{name}`");
        }
        let alternatives: Vec<String> = named
            .iter()
            .map(|rule| {
                let conditions: Vec<String> = rule
                    .args
                    .iter()
                    .map(|c| {
                        let given = args.get(usize::from(c.index)).copied().unwrap_or(0);
                        format!("{} (here {given:#x})", describe(c))
                    })
                    .collect();
                format!("{} ({})", conditions.join(" and "), rule.why)
            })
            .collect();
        format!(
            "the `{stage}` stage allows `{name}` only when {}",
            alternatives.join(", or when ")
        )
    }
}

/// A condition in words: `arg1 & CLONE_THREAD == CLONE_THREAD`.
fn describe(c: &ArgCondition) -> String {
    let value = |v: &Value| match v {
        Value::Number(n) => format!("{n:#x}"),
        Value::Symbol(s) => s.clone(),
    };
    let op = match c.op {
        Op::Eq => "==",
        Op::Ne => "!=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::MaskedEq => "==",
    };
    match (&c.op, &c.mask) {
        (Op::MaskedEq, Some(mask)) => {
            format!("arg{} & {} {op} {}", c.index, value(mask), value(&c.value))
        }
        _ => format!("arg{} {op} {}", c.index, value(&c.value)),
    }
}

/// One filter per errno value of `rules` (a filter has a single match action): a matching
/// call fails with its errno, every other is left to the other filters.
fn errno_filters(
    stage: &str,
    rules: &[ErrnoRule],
    subst: Substitutions,
) -> Result<Vec<BpfProgram>, PolicyError> {
    let mut by_errno: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
    for rule in rules {
        let errno = resolve(&rule.errno, &rule.syscall, subst)?;
        let errno = u32::try_from(errno).map_err(|_| PolicyError::InvalidRule {
            syscall: rule.syscall.clone(),
            detail: format!("errno {errno} out of range"),
        })?;
        by_errno.entry(errno).or_default().push(Rule {
            syscall: rule.syscall.clone(),
            args: rule.args.clone(),
            why: rule.why.clone(),
        });
    }
    by_errno
        .iter()
        .map(|(errno, rules)| {
            let rules = rules.iter().collect::<Vec<_>>();
            build(
                stage,
                &rules,
                SeccompAction::Allow,
                SeccompAction::Errno(*errno),
                subst,
            )
        })
        .collect()
}

/// The trace value that marks, in a filter being built, the returns that become
/// notifications ([`SeccompPolicy::compile_notifying_stage`]).
const NOTIFY_PLACEHOLDER: u32 = 0x5bc;

/// A BPF return of a constant (`BPF_RET | BPF_K`).
const BPF_RET_K: u16 = 0x06;

fn build(
    stage: &str,
    rules: &[&Rule],
    mismatch: SeccompAction,
    matched: SeccompAction,
    subst: Substitutions,
) -> Result<BpfProgram, PolicyError> {
    // An unconditional rule for a syscall makes its conditional rules irrelevant; seccompiler
    // expresses "unconditional" as an empty rule list.
    let mut map: BTreeMap<i64, Option<Vec<SeccompRule>>> = BTreeMap::new();
    for rule in rules {
        let nr = syscalls::number(&rule.syscall).ok_or_else(|| PolicyError::UnknownSyscall {
            name: rule.syscall.clone(),
            place: format!("stage `{stage}`"),
        })?;
        let entry = map.entry(nr).or_insert_with(|| Some(Vec::new()));
        if rule.args.is_empty() {
            *entry = None;
            continue;
        }
        let conditions = rule
            .args
            .iter()
            .map(|c| condition(c, &rule.syscall, subst))
            .collect::<Result<Vec<_>, _>>()?;
        let compiled = SeccompRule::new(conditions).map_err(|e| PolicyError::InvalidRule {
            syscall: rule.syscall.clone(),
            detail: e.to_string(),
        })?;
        if let Some(list) = entry {
            list.push(compiled);
        }
    }
    let map = map
        .into_iter()
        .map(|(nr, rules)| (nr, rules.unwrap_or_default()))
        .collect();
    let filter = SeccompFilter::new(map, mismatch, matched, TargetArch::x86_64).map_err(|e| {
        PolicyError::Compile {
            stage: stage.into(),
            source: e,
        }
    })?;
    BpfProgram::try_from(filter).map_err(|e| PolicyError::Compile {
        stage: stage.into(),
        source: e,
    })
}

fn condition(
    c: &ArgCondition,
    syscall: &str,
    subst: Substitutions,
) -> Result<SeccompCondition, PolicyError> {
    let value = resolve(&c.value, syscall, subst)?;
    let op = match c.op {
        Op::Eq => SeccompCmpOp::Eq,
        Op::Ne => SeccompCmpOp::Ne,
        Op::Lt => SeccompCmpOp::Lt,
        Op::Le => SeccompCmpOp::Le,
        Op::Gt => SeccompCmpOp::Gt,
        Op::Ge => SeccompCmpOp::Ge,
        Op::MaskedEq => {
            let mask = c.mask.as_ref().ok_or_else(|| PolicyError::InvalidRule {
                syscall: syscall.into(),
                detail: "masked_eq needs a mask".into(),
            })?;
            SeccompCmpOp::MaskedEq(resolve(mask, syscall, subst)?)
        }
    };
    if c.op != Op::MaskedEq && c.mask.is_some() {
        return Err(PolicyError::InvalidRule {
            syscall: syscall.into(),
            detail: "mask given for an operator other than masked_eq".into(),
        });
    }
    let len = match c.width {
        Width::Dword if value > u64::from(u32::MAX) => {
            return Err(PolicyError::InvalidRule {
                syscall: syscall.into(),
                detail: format!("value {value:#x} does not fit a dword comparison"),
            });
        }
        Width::Dword => SeccompCmpArgLen::Dword,
        Width::Qword => SeccompCmpArgLen::Qword,
    };
    SeccompCondition::new(c.index, len, op, value).map_err(|e| PolicyError::InvalidRule {
        syscall: syscall.into(),
        detail: e.to_string(),
    })
}

fn resolve(value: &Value, syscall: &str, subst: Substitutions) -> Result<u64, PolicyError> {
    match value {
        Value::Number(n) => Ok(*n),
        Value::Symbol(s) if s == "$pid" => Ok(u64::from(subst.pid)),
        Value::Symbol(s) => symbol(s).ok_or_else(|| PolicyError::UnknownSymbol {
            symbol: s.clone(),
            syscall: syscall.into(),
        }),
    }
}

/// The symbolic constants a policy may use.
pub fn symbol(name: &str) -> Option<u64> {
    let namespaces = libc::CLONE_NEWNS
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWCGROUP
        | libc::CLONE_NEWTIME;
    let v: i64 = match name {
        "SIGSYS" => libc::SIGSYS.into(),
        "ENOSYS" => libc::ENOSYS.into(),
        "EPERM" => libc::EPERM.into(),
        "EACCES" => libc::EACCES.into(),
        "CLONE_THREAD" => libc::CLONE_THREAD.into(),
        "CLONE_NAMESPACES" => namespaces.into(),
        "PROT_EXEC" => libc::PROT_EXEC.into(),
        "AT_EMPTY_PATH" => libc::AT_EMPTY_PATH.into(),
        "TCGETS" => libc::TCGETS as i64,
        "O_WRITE_OR_CREATE" => (libc::O_WRONLY
            | libc::O_RDWR
            | libc::O_CREAT
            | libc::O_TRUNC
            | libc::O_APPEND
            | libc::O_TMPFILE)
            .into(),
        "F_GETFD" => libc::F_GETFD.into(),
        "F_SETFD" => libc::F_SETFD.into(),
        "F_GETFL" => libc::F_GETFL.into(),
        "F_SETFL" => libc::F_SETFL.into(),
        "F_DUPFD_CLOEXEC" => libc::F_DUPFD_CLOEXEC.into(),
        "ENOENT" => libc::ENOENT.into(),
        "SECCOMP_FILTER_FLAG_TSYNC" => libc::SECCOMP_FILTER_FLAG_TSYNC as i64,
        "SECCOMP_FILTER_FLAG_NEW_LISTENER" => libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as i64,
        "PR_SET_NO_NEW_PRIVS" => libc::PR_SET_NO_NEW_PRIVS.into(),
        "SECCOMP_SET_MODE_FILTER" => libc::SECCOMP_SET_MODE_FILTER.into(),
        _ => return None,
    };
    u64::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBST: Substitutions = Substitutions { pid: 4242 };

    #[test]
    fn reference_policy_compiles_every_stage() {
        let policy = SeccompPolicy::reference().expect("reference policy parses");
        for stage in policy.stages.keys() {
            policy
                .compile_first_stage(stage, SUBST)
                .unwrap_or_else(|e| panic!("stage {stage}: {e}"));
        }
    }

    #[test]
    fn plugin_stage_is_narrower_than_loader() {
        let policy = SeccompPolicy::reference().unwrap();
        let plugin: Vec<_> = policy.stage_rules("plugin").unwrap();
        let loader: Vec<_> = policy.stage_rules("loader").unwrap();
        assert!(loader.len() > plugin.len());
        for forbidden in ["seccomp", "execve", "socket", "fork", "ptrace"] {
            assert!(
                plugin.iter().all(|r| r.syscall != forbidden),
                "plugin stage allows {forbidden}"
            );
        }
        // openat only read-only, and only to be answered EACCES by the stage's errno filter.
        let errno = &policy.stages["plugin"].errno;
        for rule in plugin.iter().filter(|r| r.syscall == "openat") {
            assert_eq!(rule.args.len(), 1, "openat allowed beyond read-only");
            assert!(
                errno
                    .iter()
                    .any(|e| e.syscall == "openat" && e.args.len() == rule.args.len()),
                "openat allowed in the plugin stage without its errno answer"
            );
        }
    }

    /// The load guard lets through, without the host, only what the plugin stage really
    /// allows: a call the plugin stage answers with an errno waits for the host.
    #[test]
    fn an_errno_answered_call_is_not_inherited_as_allowed() {
        let policy = SeccompPolicy::reference().unwrap();
        let guard = policy.stage_rules("load_guard").unwrap();
        assert!(guard.iter().all(|r| r.syscall != "openat"));
        let plugin = policy.stage_rules("plugin").unwrap();
        assert!(plugin.iter().any(|r| r.syscall == "openat"));
    }

    /// A stage's errno rule the stage does not allow would trap first: dead.
    #[test]
    fn every_errno_rule_of_a_stage_is_allowed_by_it() {
        let policy = SeccompPolicy::reference().unwrap();
        for (name, stage) in &policy.stages {
            let allowed = policy.stage_rules(name).unwrap();
            for rule in &stage.errno {
                // The same call with the same conditions: an allow rule broader than its
                // errno answer would let the rest through.
                assert!(
                    allowed.iter().any(|a| a.syscall == rule.syscall
                        && format!("{:?}", a.args) == format!("{:?}", rule.args)),
                    "stage {name}: errno rule for {} that the stage traps, or allows more of",
                    rule.syscall
                );
            }
        }
    }

    #[test]
    fn every_rule_says_why() {
        let policy = SeccompPolicy::reference().unwrap();
        for stage in policy.stages.values() {
            assert!(!stage.why.trim().is_empty());
            for rule in &stage.allow {
                assert!(!rule.why.trim().is_empty(), "{} has no why", rule.syscall);
            }
        }
    }

    #[test]
    fn a_notifying_stage_waits_for_the_listener_where_the_stage_traps() {
        let policy = SeccompPolicy::reference().unwrap();
        let returns = |filter: &BpfProgram| {
            filter
                .iter()
                .filter(|i| i.code == BPF_RET_K)
                .map(|i| i.k)
                .collect::<Vec<_>>()
        };
        let trapping = returns(&policy.compile_stage("load_guard", SUBST).unwrap());
        let notifying = returns(&policy.compile_notifying_stage("load_guard", SUBST).unwrap());
        let trap = u32::from(SeccompAction::Trap);
        assert_eq!(trapping.len(), notifying.len());
        assert!(trapping.contains(&trap));
        for (t, n) in trapping.iter().zip(&notifying) {
            let expected = if *t == trap {
                libc::SECCOMP_RET_USER_NOTIF
            } else {
                *t
            };
            assert_eq!(*n, expected, "the stage's other returns stay as they are");
        }
    }

    #[test]
    fn the_load_guard_is_the_plugin_stage_and_the_listener_hand_over() {
        let policy = SeccompPolicy::reference().unwrap();
        let names = |stage| {
            policy
                .stage_rules(stage)
                .unwrap()
                .iter()
                .map(|r| r.syscall.clone())
                .collect::<std::collections::BTreeSet<_>>()
        };
        let extra: Vec<_> = names("load_guard")
            .difference(&names("plugin"))
            .cloned()
            .collect();
        assert_eq!(extra, ["sendmsg"]);
        assert!(names("loader").contains("sendmsg"));
    }

    fn check_err(text: &str, expected: &str) {
        let err = SeccompPolicy::parse(text)
            .and_then(|p| p.compile_first_stage("s", SUBST).map(|_| ()))
            .expect_err("must fail");
        assert!(err.to_string().contains(expected), "{err}");
    }

    #[test]
    fn broken_policies_are_typed_errors() {
        check_err("version = 2\n[stages]", "version 2");
        check_err(
            "version = 1\n[stages.s]\nwhy='x'\nallow=[{syscall='nosuch', why='x'}]",
            "unknown syscall `nosuch`",
        );
        check_err(
            "version = 1\n[stages.s]\nwhy='x'\nallow=[{syscall='read', args=[{index=0, op='eq', value='NOPE'}], why='x'}]",
            "unknown symbol `NOPE`",
        );
        check_err(
            "version = 1\n[stages.s]\nwhy='x'\nallow=[{syscall='read', args=[{index=9, op='eq', value=1}], why='x'}]",
            "invalid rule",
        );
        check_err(
            "version = 1\n[stages.s]\nwhy='x'\nextends='s'\nallow=[]",
            "cyclic",
        );
        check_err(
            "version = 1\n[stages.s]\nwhy='x'\nallow=[{syscall='read', args=[{index=0, op='masked_eq', value=1}], why='x'}]",
            "needs a mask",
        );
        check_err(
            "version = 1\nsurprise = 1\n[stages.s]\nwhy='x'\nallow=[]",
            "malformed",
        );
        check_err(&"#".repeat(MAX_POLICY_BYTES + 1), "more than");
        // A dword comparison sees the low 32 bits: a value above them would never match.
        check_err(
            "version = 1\n[stages.s]\nwhy='x'\nallow=[{syscall='read', args=[{index=0, op='eq', value=0x100000000}], why='x'}]",
            "does not fit a dword",
        );
        let widest = "version = 1\n[stages.s]\nwhy='x'\nallow=[{syscall='read', args=[{index=0, op='eq', value=0xffffffff}], why='x'}]";
        let policy = SeccompPolicy::parse(widest).expect("parses");
        policy
            .compile_first_stage("s", SUBST)
            .expect("u32::MAX fits a dword comparison");
    }

    /// A refusal is explained by the rules of the stage: none for the call, or the
    /// conditions the call's arguments failed.
    #[test]
    fn a_refusal_is_explained_by_the_rules_of_the_stage() {
        let p = SeccompPolicy::reference().expect("policy");
        let socket = crate::syscalls::number("socket").expect("socket");
        assert_eq!(
            p.explain_refusal("plugin", socket, &[2, 1, 0, 0, 0, 0]),
            "no rule of the `plugin` stage allows `socket`"
        );
        let clone = crate::syscalls::number("clone").expect("clone");
        let why = p.explain_refusal("plugin", clone, &[0x11, 0, 0, 0, 0, 0]);
        assert!(
            why.starts_with("the `plugin` stage allows `clone` only when arg0 & CLONE_THREAD == CLONE_THREAD (here 0x11)"),
            "{why}"
        );
        assert!(
            p.explain_refusal("plugin", 100_000, &[0; 6])
                .contains("unknown")
        );
    }
}
