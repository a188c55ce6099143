//! `sbx keygen | sign | verify | inspect | host | update | stats | inventory`: keys, signed
//! packages, the multi-plugin host and its updates, and figures read back from an audit log.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use sbx_host::Capability;
use sbx_host::audit::{AuditEvent, AuditLog, read_log};
use sbx_host::host::{Host, HostConfig};
use sbx_host::plugin_policy::PolicyStore;
use sbx_package::hardening::{Hardening, explain, missing};
use sbx_package::{Manifest, PublicKey, SecretKey, TrustStore};

use crate::{Failure, StatsFormat, existing_dir, existing_file};

type Outcome = Result<(), Failure>;

/// What the command was given cannot be used (exit 2): an unreadable file, a value no
/// manifest may hold.
fn usage(msg: impl Into<String>) -> Failure {
    Failure::Usage(msg.into())
}

/// A refusal or a failure (exit 1): a package refused, a plugin that failed, a file whose
/// contents are wrong (a key, trust store, policy or audit log that does not parse).
fn failed(msg: impl std::fmt::Display) -> Failure {
    Failure::Refused(msg.to_string())
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| usage(format!("{}: {e}", path.display())))
}

/// The trust store of `verify` and `host`: a file, the publisher keys given, or both.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct TrustArgs {
    /// A trust store (publishers and revocations).
    #[arg(long, value_name = "FILE", value_parser = existing_file)]
    trust: Option<PathBuf>,
    /// A publisher's public key to trust (repeatable).
    #[arg(long = "pub", value_name = "KEY.pub", value_parser = existing_file)]
    public_keys: Vec<PathBuf>,
}

/// The hardening `sign` and `verify` require of a binary.
#[derive(Debug, Args)]
pub struct HardeningArgs {
    /// Mitigations the plugin's binary must show it was built with, comma-separated:
    /// relro, bind_now, nx_stack, no_text_relocations, stack_protector, fortify, ibt,
    /// shstk. A binary without one is refused, naming each it lacks.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = hardening)]
    require_hardening: Vec<Hardening>,
}

pub(crate) fn capability(name: &str) -> Result<Capability, String> {
    Capability::from_name(name).ok_or_else(|| {
        format!(
            "unknown capability `{name}` (known: {})",
            Capability::ALL.map(Capability::name).join(", ")
        )
    })
}

fn hardening(name: &str) -> Result<Hardening, String> {
    Hardening::from_name(name).ok_or_else(|| {
        format!(
            "unknown mitigation `{name}` (known: {})",
            Hardening::ALL.map(Hardening::name).join(", ")
        )
    })
}

/// `items` joined by commas, or `empty` when there is none.
fn list_or(items: &[impl AsRef<str>], empty: &str) -> String {
    if items.is_empty() {
        return empty.to_owned();
    }
    items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints what `binary` shows of its hardening; refuses it when it lacks one of `required`.
fn report_hardening(binary: &[u8], required: &[Hardening]) -> Outcome {
    let present = match sbx_package::hardening::inspect(binary) {
        Ok(present) => present,
        Err(e) => {
            println!("hardening     unreadable: {e}");
            return if required.is_empty() {
                Ok(())
            } else {
                Err(failed(format!("refused (not_hardened): {e}")))
            };
        }
    };
    let shown: Vec<&str> = present.iter().map(|h| h.name()).collect();
    let absent: Vec<&str> = missing(&present, &Hardening::ALL)
        .into_iter()
        .map(Hardening::name)
        .collect();
    println!(
        "hardening     {}{}",
        list_or(&shown, "none"),
        if absent.is_empty() {
            String::new()
        } else {
            format!(" (not shown: {})", absent.join(", "))
        }
    );
    let lacking = missing(&present, required);
    if lacking.is_empty() {
        return Ok(());
    }
    Err(failed(format!(
        "refused (not_hardened): the binary lacks {}",
        explain(&lacking)
    )))
}

/// The options of `sbx sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The publisher's secret key.
    #[arg(long, value_name = "NAME.key", value_parser = existing_file)]
    key: PathBuf,
    /// The plugin shared object to sign.
    #[arg(long, value_name = "FILE.so", value_parser = existing_file)]
    plugin: PathBuf,
    /// The plugin's name.
    #[arg(long, value_name = "N")]
    name: String,
    /// The plugin's version.
    #[arg(long, value_name = "V")]
    version: String,
    /// A capability the plugin asks for (repeatable): log, config, storage, net, clock,
    /// notify.
    #[arg(long, value_name = "C")]
    capability: Vec<String>,
    /// Memory asked for, MiB.
    #[arg(long, value_name = "N")]
    memory_mib: Option<u64>,
    /// CPU time asked for per process, seconds.
    #[arg(long, value_name = "N")]
    cpu_seconds: Option<u64>,
    /// CPU rate asked for, percent of one CPU.
    #[arg(long, value_name = "N")]
    cpu_percent: Option<u32>,
    /// Storage asked for, bytes.
    #[arg(long, value_name = "N")]
    storage_bytes: Option<u64>,
    /// Host calls per second asked for.
    #[arg(long, value_name = "N")]
    host_calls_per_second: Option<u32>,
    /// The package directory to write.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    hardening: HardeningArgs,
}

/// The options of `sbx host`.
#[derive(Debug, Args)]
pub struct HostArgs {
    /// The package directory.
    #[arg(long, value_name = "DIR", value_parser = existing_dir)]
    package: PathBuf,
    #[command(flatten)]
    hosting: HostingArgs,
    /// A capability the user consents to this plugin using (repeatable): what a policy rule
    /// gives only with consent (`consent = [...]`) is granted then.
    #[arg(long, value_name = "C", value_parser = capability)]
    consent: Vec<Capability>,
    /// The method passed to sbx_plugin_invoke.
    #[arg(long, value_name = "NAME")]
    method: String,
    /// The input bytes [default: empty].
    #[arg(long, value_name = "TEXT", default_value = "")]
    input: String,
    /// The configuration passed to sbx_plugin_init.
    #[arg(long, value_name = "TEXT", default_value = "")]
    init: String,
    /// Print the plugin's figures on stderr.
    #[arg(long, value_name = "FORMAT")]
    stats: Option<StatsFormat>,
}

/// What `host` and `update` run their plugins with: the publishers, the policy store,
/// storage, the audit log and the runner.
#[derive(Debug, Args)]
pub struct HostingArgs {
    #[command(flatten)]
    trust: TrustArgs,
    /// The plugin policy store (a rule's `update` sets an update's probation and whether
    /// a downgrade is allowed).
    #[arg(long, value_name = "FILE", value_parser = existing_file)]
    policy: PathBuf,
    /// Where plugins' storage is kept.
    #[arg(long, value_name = "DIR")]
    storage: PathBuf,
    /// The audit log to append to.
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    /// The sbx-runner binary [default: beside sbx, or $SBX_RUNNER].
    #[arg(long, value_name = "FILE", value_parser = existing_file)]
    runner: Option<PathBuf>,
}

/// `sbx update`: the installed package, then the new version in its place, then its
/// probation's calls.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The installed version's package directory.
    #[arg(long, value_name = "DIR", value_parser = existing_dir)]
    installed: PathBuf,
    /// The new version's package directory.
    #[arg(long = "to", value_name = "DIR", value_parser = existing_dir)]
    new: PathBuf,
    #[command(flatten)]
    hosting: HostingArgs,
    /// The method called on the new version, once for each call of its probation.
    #[arg(long, value_name = "NAME")]
    method: String,
    /// The input bytes of each call [default: empty].
    #[arg(long, value_name = "TEXT", default_value = "")]
    input: String,
    /// The configuration passed to the installed version's sbx_plugin_init.
    #[arg(long, value_name = "TEXT", default_value = "")]
    init: String,
    /// The configuration passed to the new version's sbx_plugin_init [default: --init].
    #[arg(long, value_name = "TEXT")]
    new_init: Option<String>,
}

/// A host for one command's plugins: one call at a time, no warm spares.
fn one_shot_host(args: HostingArgs) -> Result<Host, Failure> {
    let policy = PolicyStore::load(&args.policy).map_err(failed)?;
    let audit = match &args.audit {
        Some(p) => Some(Arc::new(AuditLog::open(p).map_err(failed)?)),
        None => None,
    };
    Ok(Host::new(HostConfig {
        trust: trust(&args.trust)?,
        policy,
        storage_root: args.storage,
        audit,
        runner: args.runner,
        deadlines: sbx_host::Deadlines::default(),
        layers: sbx_host::Layers::ALL,
        host_paths: Default::default(),
        // One call at a time and an unload: no restart would take a spare.
        warm_spares: 0,
        low_latency: false,
    }))
}

/// `sbx update`: loads the installed version, updates it to the new one, and calls the
/// new one through its probation. Exit 0 when the update is final with the new version
/// serving; 1, saying why, when it was refused or rolled back.
pub fn update(args: UpdateArgs) -> Outcome {
    let mut host = one_shot_host(args.hosting)?;
    let name = host
        .load(&args.installed, args.init.as_bytes())
        .map_err(|e| failed(format!("the installed version: {e}")))?;
    let new_init = args.new_init.as_deref().unwrap_or(&args.init);
    let result = host.update(&name, &args.new, new_init.as_bytes());
    let outcome = match result {
        Ok(updated) => {
            eprintln!(
                "{name}: {} -> {}, on probation for {} calls",
                updated.from, updated.to, updated.probation_calls
            );
            for call in 1..=updated.probation_calls {
                let answer = host.invoke(&name, &args.method, args.input.as_bytes());
                let serving = host.version(&name).unwrap_or_default();
                match answer {
                    Ok(output) => {
                        eprintln!("call {call}: {serving} answered {} bytes", output.len())
                    }
                    Err(e) => eprintln!("call {call}: {e}"),
                }
                if serving != updated.to {
                    break;
                }
            }
            match host.version(&name) {
                Some(v) if v == updated.to && !host.on_probation(&name) => {
                    println!("{name} {v}: updated from {}", updated.from);
                    Ok(())
                }
                Some(v) => Err(failed(format!(
                    "{name}: the update to {} was rolled back; {v} serves",
                    updated.to
                ))),
                None => Err(failed(format!("{name}: no version serves"))),
            }
        }
        Err(e) => Err(failed(format!(
            "{e}; {} serves",
            host.version(&name).unwrap_or_default()
        ))),
    };
    let _ = host.unload(&name);
    outcome
}

/// `sbx keygen --out NAME`: NAME.key (secret, mode 0600) and NAME.pub.
pub fn keygen(out: &str) -> Outcome {
    let key = SecretKey::generate().map_err(failed)?;
    let secret = format!("{out}.key");
    let public = format!("{out}.pub");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&secret)
        .and_then(|mut f| writeln!(f, "{}", key.to_hex()))
        .map_err(|e| failed(format!("{secret}: {e}")))?;
    std::fs::write(&public, format!("{}\n", key.public().to_hex()))
        .map_err(|e| failed(format!("{public}: {e}")))?;
    println!("key id {}: {secret} (secret), {public}", key.public().id());
    Ok(())
}

/// `sbx sign`: a signed package of the plugin, asking for the capabilities and limits given.
pub fn sign(args: SignArgs) -> Outcome {
    let key = SecretKey::parse(&read(&args.key)?)
        .map_err(|e| failed(format!("{}: {e}", args.key.display())))?;
    let binary = std::fs::read(&args.plugin)
        .map_err(|e| usage(format!("{}: {e}", args.plugin.display())))?;
    let limits = sbx_package::RequestedLimits {
        memory_mib: args.memory_mib,
        cpu_seconds: args.cpu_seconds,
        cpu_percent: args.cpu_percent,
        storage_bytes: args.storage_bytes,
        host_calls_per_second: args.host_calls_per_second,
    };
    let manifest = Manifest {
        name: args.name,
        version: args.version,
        abi_version: sbx_contract::abi::ABI_VERSION,
        sha256: [0; 32],
        capabilities: args.capability,
        limits,
    };
    // Checked as a verifier will check it, so a bad name never gets signed.
    Manifest::parse(manifest.render().as_bytes()).map_err(|e| usage(e.to_string()))?;
    // A publisher's own policy: nothing is signed that lacks what it requires.
    report_hardening(&binary, &args.hardening.require_hardening)?;
    let out = args.out;
    sbx_package::sign(&manifest, &binary, &key, &out)
        .map_err(|e| failed(format!("{}: {e}", out.display())))?;
    println!(
        "signed {} {} ({}) by {} into {}",
        manifest.name,
        manifest.version,
        sbx_package::hex(&sbx_package::sha256(&binary)),
        key.public().id(),
        out.display()
    );
    Ok(())
}

/// A trust store from `--trust FILE`, trusting the `--pub` keys given too.
fn trust(args: &TrustArgs) -> Result<TrustStore, Failure> {
    let mut trust = match &args.trust {
        Some(path) => TrustStore::load(path).map_err(failed)?,
        None => TrustStore::default(),
    };
    for p in &args.public_keys {
        let key =
            PublicKey::parse(&read(p)?).map_err(|e| failed(format!("{}: {e}", p.display())))?;
        trust.publishers.push(sbx_package::Publisher {
            name: p.display().to_string(),
            key,
        });
    }
    Ok(trust)
}

/// `sbx verify (--trust FILE | --pub KEY.pub) [--require-hardening LIST] DIR`.
pub fn verify(args: &TrustArgs, hardening: &HardeningArgs, dir: &Path) -> Outcome {
    let trust = trust(args)?;
    match sbx_package::verify(dir, &trust, sbx_contract::abi::ABI_VERSION) {
        Ok(v) => {
            println!(
                "verified {} {} ({}), signed by {}",
                v.manifest.name,
                v.manifest.version,
                sbx_package::hex(&v.sha256),
                v.signer
            );
            report_hardening(&v.binary, &hardening.require_hardening)
        }
        Err(e) => Err(failed(format!("refused ({}): {e}", e.kind()))),
    }
}

/// `sbx inspect DIR`: the manifest, the binary's hash and the signer, without trusting it.
pub fn inspect(dir: &Path) -> Outcome {
    let text = std::fs::read(dir.join(sbx_package::MANIFEST_FILE))
        .map_err(|e| failed(format!("{}: {e}", dir.display())))?;
    let m = Manifest::parse(&text).map_err(failed)?;
    println!("name          {}", m.name);
    println!("version       {}", m.version);
    println!("abi_version   {}", m.abi_version);
    println!("capabilities  {}", m.capabilities.join(", "));
    let l = &m.limits;
    let asked: Vec<String> = [
        ("memory_mib", l.memory_mib),
        ("cpu_seconds", l.cpu_seconds),
        ("cpu_percent", l.cpu_percent.map(u64::from)),
        ("storage_bytes", l.storage_bytes),
        (
            "host_calls_per_second",
            l.host_calls_per_second.map(u64::from),
        ),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.map(|v| format!("{name} {v}")))
    .collect();
    println!("limits        {}", list_or(&asked, "none asked"));
    println!("sha256        {}", sbx_package::hex(&m.sha256));
    match std::fs::read(dir.join(sbx_package::PLUGIN_FILE)) {
        Ok(b) => {
            let actual = sbx_package::sha256(&b);
            let same = if actual == m.sha256 {
                "matches"
            } else {
                "DIFFERS"
            };
            println!("binary        {} bytes, sha256 {same}", b.len());
            report_hardening(&b, &[])?;
        }
        Err(e) => println!("binary        unreadable: {e}"),
    }
    match std::fs::read_to_string(dir.join(sbx_package::SIGNATURE_FILE)) {
        Ok(t) => match sbx_package::SignatureFile::parse(&t) {
            Ok(s) => println!("signed by     {} (not verified: use sbx verify)", s.key),
            Err(e) => println!("signature     malformed: {e}"),
        },
        Err(_) => println!("signature     none"),
    }
    Ok(())
}

/// `sbx host`: verify, decide, run one call, stop.
pub fn host(args: HostArgs) -> Outcome {
    let mut host = one_shot_host(args.hosting)?;
    if !args.consent.is_empty() {
        // Given to the plugin the package names; counted only if the verified package is it.
        // Read within the manifest's bound, as the verifier reads it: nothing is verified yet.
        let text = sbx_package::read_prefix(
            &args.package.join(sbx_package::MANIFEST_FILE),
            sbx_package::MAX_MANIFEST_LEN as u64 + 1,
        )
        .map_err(|e| failed(format!("{}: {e}", args.package.display())))?;
        let manifest = Manifest::parse(&text).map_err(failed)?;
        for c in &args.consent {
            host.set_consent(&manifest.name, *c, true);
        }
    }
    let name = host
        .load(&args.package, args.init.as_bytes())
        .map_err(failed)?;
    let result = host.invoke(&name, &args.method, args.input.as_bytes());
    let stats = host.stats(&name).map_err(failed)?;
    let _ = host.unload(&name);
    let output = result.map_err(failed)?;
    std::io::stdout()
        .write_all(&output)
        .map_err(|e| failed(format!("stdout: {e}")))?;
    if args.stats == Some(StatsFormat::Json) {
        eprintln!("{}", serde_json::to_string(&stats).unwrap_or_default());
    }
    Ok(())
}

/// Records missing from `records`: gaps in their sequence numbers.
fn gaps(records: &[sbx_host::AuditRecord]) -> u64 {
    records
        .windows(2)
        .map(|pair| u64::from(pair[1].seq != pair[0].seq + 1))
        .sum()
}

/// One plugin as an audit log tells it, for `sbx inventory`.
#[derive(Default)]
struct Installed {
    version: String,
    signer: String,
    sha256: String,
    granted: Vec<String>,
    withheld: Vec<String>,
    limits: Option<sbx_host::plugin_policy::DecidedLimits>,
    require_hardening: Vec<String>,
    state: String,
    restarts: u64,
    last_failure: Option<String>,
}

/// `sbx inventory AUDIT_LOG`: every plugin the log names, with what its last load and
/// process left in it.
pub fn inventory(path: &Path) -> Outcome {
    let records = read_log(path).map_err(failed)?;
    let mut plugins: BTreeMap<&str, Installed> = BTreeMap::new();
    for r in records.iter().filter(|r| !r.plugin.is_empty()) {
        let p = plugins.entry(r.plugin.as_str()).or_default();
        match &r.event {
            AuditEvent::PackageVerified {
                version,
                sha256,
                signer,
            } => {
                (p.version, p.sha256, p.signer) = (version.clone(), sha256.clone(), signer.clone());
                p.state = "verified".into();
            }
            AuditEvent::PolicyDecision {
                granted,
                withheld,
                limits,
                require_hardening,
                ..
            } => {
                (p.granted, p.withheld) = (granted.clone(), withheld.clone());
                (p.limits, p.require_hardening) = (*limits, require_hardening.clone());
            }
            AuditEvent::State { to, .. } => p.state = to.clone(),
            AuditEvent::Restart { .. } => p.restarts += 1,
            AuditEvent::Quarantined { .. } => p.state = "quarantined".into(),
            AuditEvent::Terminated { reason, detail } if reason.is_abnormal() => {
                p.last_failure = Some(format!("{reason}: {detail}"));
            }
            AuditEvent::PackageRefused { kind, .. } => {
                p.last_failure = Some(format!("refused: {kind}"))
            }
            // The version serving changes with an update that took, and back with one
            // that was rolled back.
            AuditEvent::UpdateActivated {
                version,
                sha256,
                signer,
                ..
            } => {
                (p.version, p.sha256, p.signer) = (version.clone(), sha256.clone(), signer.clone())
            }
            AuditEvent::UpdateRolledBack {
                from,
                to,
                sha256,
                signer,
                reason,
                ..
            } => {
                (p.version, p.sha256, p.signer) = (to.clone(), sha256.clone(), signer.clone());
                p.last_failure = Some(format!("update to {from} rolled back: {reason}"));
            }
            AuditEvent::UpdateRefused { version, kind, .. } => {
                p.last_failure = Some(format!("update to {version} refused: {kind}"))
            }
            _ => {}
        }
    }
    for (name, p) in &plugins {
        println!("{name}");
        if !p.version.is_empty() {
            println!("  version       {}", p.version);
            println!("  signer        {}", p.signer);
            println!("  sha256        {}", p.sha256);
        }
        println!("  granted       {}", list_or(&p.granted, "none"));
        println!("  withheld      {}", list_or(&p.withheld, "none"));
        if let Some(l) = &p.limits {
            println!(
                "  limits        memory {} MiB, cpu {} s{}, storage {} bytes in {} keys, {} host calls/s, log {} bytes/s, output {} bytes, {} processes",
                l.memory_mib,
                l.cpu_seconds,
                l.cpu_percent
                    .map_or(String::new(), |p| format!(" at {p}% of a CPU")),
                l.storage_bytes,
                l.storage_keys,
                l.host_calls_per_second,
                l.log_bytes_per_second,
                l.output_bytes,
                l.processes
            );
        }
        println!(
            "  hardening     {} required",
            list_or(&p.require_hardening, "none")
        );
        println!("  state         {}", p.state);
        println!("  restarts      {}", p.restarts);
        println!(
            "  last failure  {}",
            p.last_failure.as_deref().unwrap_or("none")
        );
    }
    match gaps(&records) {
        0 => Ok(()),
        n => Err(failed(format!("{n} gaps in the sequence numbers"))),
    }
}

/// `sbx stats AUDIT_LOG`: per-plugin figures and event counts from an audit log.
pub fn stats(path: &Path, openmetrics: bool) -> Outcome {
    let records = read_log(path).map_err(failed)?;
    let gaps = gaps(&records);
    if openmetrics {
        let figures = sbx_host::metrics::figures_from_log(&records);
        print!("{}", sbx_host::metrics::openmetrics(&figures));
        return match gaps {
            0 => Ok(()),
            n => Err(failed(format!("{n} gaps in the sequence numbers"))),
        };
    }
    let mut per: BTreeMap<String, (BTreeMap<&'static str, u64>, Option<sbx_host::Stats>)> =
        BTreeMap::new();
    for r in &records {
        let entry = per.entry(r.plugin.clone()).or_default();
        *entry.0.entry(r.event.name()).or_default() += 1;
        if let AuditEvent::Stats { stats } = &r.event {
            // Figures of successive processes of one plugin add up; the p99 shown is the
            // worst of them.
            let total = entry.1.get_or_insert_with(Default::default);
            let worst_p99 = total.p99_latency_us.max(stats.p99_latency_us);
            *total = total.followed_by(stats);
            total.p99_latency_us = worst_p99;
        }
    }
    println!(
        "{} records, seq {}",
        records.len(),
        if gaps == 0 {
            "without gaps"
        } else {
            "WITH GAPS"
        }
    );
    for (plugin, (counts, s)) in per {
        let name = if plugin.is_empty() { "(host)" } else { &plugin };
        println!("{name}");
        if let Some(s) = s {
            println!(
                "  invocations {} (errors {}), p99 <= {} us, max {} us, cpu {} us, peak rss {} KiB",
                s.invocations,
                s.errors,
                s.p99_latency_us,
                s.max_latency_us,
                s.cpu_us,
                s.peak_rss_kib
            );
            println!(
                "  host calls {}, denials {}, limit hits {}",
                s.broker.host_calls, s.broker.denials, s.broker.limit_hits
            );
            if s.cpu_throttled_periods > 0 {
                println!(
                    "  cpu rate cap: throttled in {} periods, {} us waited",
                    s.cpu_throttled_periods, s.cpu_throttled_us
                );
            }
        }
        let events: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("  events: {}", events.join(", "));
    }
    if gaps > 0 {
        return Err(failed(format!("{gaps} gaps in the sequence numbers")));
    }
    Ok(())
}
