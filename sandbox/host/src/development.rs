//! The development mode ([`crate::SandboxConfig::development`]): what a plugin needed that
//! its sandbox refused, said so that its author can act on it. The runner reports each
//! refused system call and lets the plugin go on ([`sbx_contract::development`]); the host
//! names the call and the rule that refused it, explains each host call denied and each
//! limit reached in one line, and sums it all up as the manifest fragment that would ask
//! for what can be asked for. The reports come from the plugin's own process: a diagnosis
//! for its author, never evidence the host acts on.

use std::collections::{BTreeMap, BTreeSet};

use sbx_policy::seccomp::SeccompPolicy;

use crate::broker::Capability;
use crate::event::{AuditEvent, Denial, Limit};

/// Refused calls a plugin's handle keeps, at most: a plugin refused in a loop says no more
/// after that.
pub const MAX_KEPT: usize = 256;

/// Bytes of the runner's stderr a plugin's handle keeps, at most.
pub const MAX_STDERR: usize = 64 << 10;

/// A system call the filter refused, skipped with `EPERM`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RefusedCall {
    /// Its name (`socket`), or its number for a call the policy does not know.
    pub syscall: String,
    /// Its number (x86_64).
    pub nr: i32,
    /// Its arguments.
    pub args: [u64; 6],
    /// Why the filter refused it: the rule, in words.
    pub rule: String,
    /// Offsets into the plugin's image of the words on its stack that point into its code,
    /// innermost first (name them with [`sbx_package::symbols::function_at`]).
    pub frames: Vec<u64>,
}

impl RefusedCall {
    /// The call as written in C: `socket(0x2, 0x1, 0x0, 0x0, 0x0, 0x0)`.
    pub fn call(&self) -> String {
        let args: Vec<String> = self.args.iter().map(|a| format!("{a:#x}")).collect();
        format!("{}({})", self.syscall, args.join(", "))
    }
}

/// The refused calls in `bytes`, read from the violation pipe, each named and explained by
/// the stage the plugin runs in.
pub fn refused_calls(bytes: &[u8]) -> Vec<RefusedCall> {
    let (records, _) = sbx_contract::development::decode(bytes);
    let policy = SeccompPolicy::reference().ok();
    records
        .into_iter()
        .map(|r| {
            let nr = i64::from(r.nr);
            RefusedCall {
                syscall: sbx_policy::syscalls::name(nr)
                    .map_or_else(|| format!("syscall {nr}"), str::to_owned),
                nr: r.nr,
                args: r.args,
                rule: policy.as_ref().map_or_else(
                    || "the policy could not be read".to_owned(),
                    |p| p.explain_refusal("plugin", nr, &r.args),
                ),
                frames: r.frames,
            }
        })
        .collect()
}

/// The capability a host service (`storage_put`) needs.
fn capability_of(service: &str) -> Option<Capability> {
    sbx_ipc::host_call::Service::ALL
        .into_iter()
        .find(|s| s.name() == service)
        .map(Capability::for_service)
}

/// What to do about a host call the broker denied, or a limit the plugin reached, in one
/// line; `None` for any other event.
pub fn explain(event: &AuditEvent) -> Option<String> {
    match event {
        AuditEvent::Denied {
            service,
            reason,
            detail,
        } => {
            let cap = capability_of(service).map_or_else(|| service.clone(), |c| c.to_string());
            Some(match reason {
                Denial::NotGranted => format!(
                    "{service} was denied: the plugin is not granted `{cap}`; ask for it in its \
                     manifest (`sbx sign --capability {cap}`), and have the policy grant it"
                ),
                Denial::Revoked => {
                    format!("{service} was denied: `{cap}` was revoked while the plugin ran")
                }
                Denial::NotAllowlisted => format!(
                    "{service} was denied: {detail}; the policy's net_allowlist must list the \
                     destination, exactly as the plugin names it"
                ),
                Denial::InvalidArgument | Denial::Malformed => {
                    format!("{service} was denied: {detail}")
                }
            })
        }
        AuditEvent::LimitHit {
            limit, value, max, ..
        } => {
            let ask = |what: &str, flag: &str| {
                format!(
                    "{what} of {max} was reached ({value}); ask for more in the manifest \
                     (`sbx sign --{flag} N`), within what the policy allows"
                )
            };
            Some(match limit {
                Limit::StorageBytes => ask("the storage quota in bytes", "storage-bytes"),
                Limit::HostCallRate => {
                    ask("the rate of host calls a second", "host-calls-per-second")
                }
                Limit::CpuRate => ask("the CPU rate cap in percent", "cpu-percent"),
                Limit::StorageKeys => format!(
                    "the storage's {max} keys are all used ({value}); the policy's storage_keys \
                     bounds them: store fewer, larger values"
                ),
                Limit::LogBytesPerSecond => format!(
                    "log records beyond {max} bytes a second were dropped ({value}); log less"
                ),
                Limit::Restarts => return None,
            })
        }
        _ => None,
    }
}

/// What the plugin needed that it was not granted, as a manifest fragment: the
/// capabilities it was denied (with those `granted`), the limits it reached (at twice the
/// bound it met, a start for the author to adjust), and, as comments, the system calls
/// refused, which no manifest can ask for.
pub fn manifest_fragment(
    refused: &[RefusedCall],
    events: &[AuditEvent],
    granted: &BTreeSet<Capability>,
) -> String {
    let mut needed: BTreeSet<Capability> = BTreeSet::new();
    let mut limits: BTreeMap<&'static str, u64> = BTreeMap::new();
    for event in events {
        match event {
            AuditEvent::Denied {
                service,
                reason: Denial::NotGranted,
                ..
            } => needed.extend(capability_of(service)),
            AuditEvent::LimitHit { limit, max, .. } => {
                let key = match limit {
                    Limit::StorageBytes => "storage_bytes",
                    Limit::HostCallRate => "host_calls_per_second",
                    Limit::CpuRate => "cpu_percent",
                    _ => continue,
                };
                let asked = max.saturating_mul(2);
                limits
                    .entry(key)
                    .and_modify(|v| *v = (*v).max(asked))
                    .or_insert(asked);
            }
            _ => {}
        }
    }
    let mut out = String::new();
    if needed.is_empty() && limits.is_empty() && refused.is_empty() {
        out.push_str("# The plugin needed nothing it was not granted.\n");
        return out;
    }
    out.push_str("# What the plugin needed that it was not granted, as its manifest asks:\n");
    if !needed.is_empty() {
        let all: BTreeSet<&str> = granted
            .iter()
            .chain(&needed)
            .map(|c| c.name())
            .chain(["log"])
            .collect();
        let quoted: Vec<String> = all.iter().map(|c| format!("{c:?}")).collect();
        out.push_str(&format!("capabilities = [{}]\n", quoted.join(", ")));
    }
    if !limits.is_empty() {
        out.push_str("[limits]\n");
        for (key, value) in &limits {
            out.push_str(&format!("{key} = {value}\n"));
        }
    }
    if !refused.is_empty() {
        out.push_str("# System calls refused (no manifest asks for one: do without them):\n");
        let mut counted: BTreeMap<(String, String), usize> = BTreeMap::new();
        for r in refused {
            *counted.entry((r.call(), r.rule.clone())).or_default() += 1;
        }
        for ((call, rule), n) in counted {
            let times = if n == 1 {
                String::new()
            } else {
                format!(" ({n} times)")
            };
            out.push_str(&format!("#   {call}{times}: {rule}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_named_and_explained_and_summed_up() {
        let socket = sbx_policy::syscalls::number("socket").expect("socket") as i32;
        let record =
            sbx_contract::development::encode(socket, &[2, 1, 0, 0, 0, 0], &[0x1130; 8], 1);
        let calls = refused_calls(&[record.as_slice(), record.as_slice()].concat());
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].call(), "socket(0x2, 0x1, 0x0, 0x0, 0x0, 0x0)");
        assert_eq!(
            calls[0].rule,
            "no rule of the `plugin` stage allows `socket`"
        );
        assert_eq!(calls[0].frames, [0x1130]);
        let denied = AuditEvent::Denied {
            service: "storage_put".into(),
            reason: Denial::NotGranted,
            detail: String::new(),
        };
        let quota = AuditEvent::LimitHit {
            limit: Limit::StorageBytes,
            action: crate::event::LimitAction::Refused,
            value: 5000,
            max: 4096,
        };
        assert!(
            explain(&denied)
                .expect("explained")
                .contains("--capability storage")
        );
        assert!(
            explain(&quota)
                .expect("explained")
                .contains("--storage-bytes")
        );
        let fragment = manifest_fragment(
            &calls,
            &[denied, quota],
            &BTreeSet::from([Capability::Clock]),
        );
        assert_eq!(
            fragment,
            "# What the plugin needed that it was not granted, as its manifest asks:\n\
             capabilities = [\"clock\", \"log\", \"storage\"]\n\
             [limits]\n\
             storage_bytes = 8192\n\
             # System calls refused (no manifest asks for one: do without them):\n\
             #   socket(0x2, 0x1, 0x0, 0x0, 0x0, 0x0) (2 times): no rule of the `plugin` stage allows `socket`\n"
        );
        // The fragment's TOML is a manifest's: it parses as one's capabilities and limits.
        let parsed: toml::Value = toml::from_str(&fragment).expect("toml");
        assert_eq!(parsed["limits"]["storage_bytes"].as_integer(), Some(8192));
        assert_eq!(
            manifest_fragment(&[], &[], &BTreeSet::new()),
            "# The plugin needed nothing it was not granted.\n"
        );
    }
}
