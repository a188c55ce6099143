//! `sbx keygen | sign | verify | inspect | host | stats`: keys, signed packages, the
//! multi-plugin host, and figures read back from an audit log.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sbx_host::audit::{AuditEvent, AuditLog, read_log};
use sbx_host::host::{Host, HostConfig};
use sbx_host::plugin_policy::PolicyStore;
use sbx_package::{Manifest, PublicKey, SecretKey, TrustStore};

/// A failed command: message and exit code (1 refused or failed, 2 usage).
pub struct Failure(pub String, pub u8);

type Outcome = Result<(), Failure>;

fn usage(msg: impl Into<String>) -> Failure {
    Failure(msg.into(), 2)
}

fn failed(msg: impl std::fmt::Display) -> Failure {
    Failure(msg.to_string(), 1)
}

/// The value of an optional numeric flag.
fn number<T: std::str::FromStr>(flags: &Flags, flag: &str) -> Result<Option<T>, Failure> {
    flags
        .one(flag)
        .map(|v| {
            v.parse()
                .map_err(|_| usage(format!("{flag} takes a number, not {v:?}")))
        })
        .transpose()
}

/// `--flag value` pairs and repeated flags.
struct Flags(BTreeMap<String, Vec<String>>);

impl Flags {
    fn parse(args: &[String], known: &[&str]) -> Result<Flags, Failure> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if !known.contains(&flag.as_str()) {
                return Err(usage(format!("unknown option `{flag}`")));
            }
            let value = it
                .next()
                .ok_or_else(|| usage(format!("{flag} needs a value")))?;
            map.entry(flag.clone()).or_default().push(value.clone());
        }
        Ok(Flags(map))
    }
    fn one(&self, flag: &str) -> Option<&str> {
        self.0.get(flag).and_then(|v| v.last()).map(String::as_str)
    }
    fn need(&self, flag: &str) -> Result<&str, Failure> {
        self.one(flag)
            .ok_or_else(|| usage(format!("{flag} is required")))
    }
    fn all(&self, flag: &str) -> Vec<String> {
        self.0.get(flag).cloned().unwrap_or_default()
    }
}

fn read(path: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| failed(format!("{path}: {e}")))
}

/// `sbx keygen --out NAME`: NAME.key (secret, mode 0600) and NAME.pub.
pub fn keygen(args: &[String]) -> Outcome {
    let flags = Flags::parse(args, &["--out"])?;
    let out = flags.need("--out")?;
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

/// `sbx sign --key K --plugin SO --name N --version V [--capability C]... [LIMIT N]...
/// --out DIR`, the limits being `--memory-mib`, `--cpu-seconds`, `--cpu-percent`,
/// `--storage-bytes` and `--host-calls-per-second`.
pub fn sign(args: &[String]) -> Outcome {
    let flags = Flags::parse(
        args,
        &[
            "--key",
            "--plugin",
            "--name",
            "--version",
            "--capability",
            "--memory-mib",
            "--cpu-seconds",
            "--cpu-percent",
            "--storage-bytes",
            "--host-calls-per-second",
            "--out",
        ],
    )?;
    let key = SecretKey::parse(&read(flags.need("--key")?)?).map_err(failed)?;
    let plugin = flags.need("--plugin")?;
    let binary = std::fs::read(plugin).map_err(|e| failed(format!("{plugin}: {e}")))?;
    let limits = sbx_package::RequestedLimits {
        memory_mib: number(&flags, "--memory-mib")?,
        cpu_seconds: number(&flags, "--cpu-seconds")?,
        cpu_percent: number(&flags, "--cpu-percent")?,
        storage_bytes: number(&flags, "--storage-bytes")?,
        host_calls_per_second: number(&flags, "--host-calls-per-second")?,
    };
    let manifest = Manifest {
        name: flags.need("--name")?.to_owned(),
        version: flags.need("--version")?.to_owned(),
        abi_version: sbx_contract::abi::ABI_VERSION,
        sha256: [0; 32],
        capabilities: flags.all("--capability"),
        limits,
    };
    // Checked as a verifier will check it, so a bad name never gets signed.
    Manifest::parse(manifest.render().as_bytes()).map_err(|e| usage(e.to_string()))?;
    let out = PathBuf::from(flags.need("--out")?);
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

/// A trust store from `--trust FILE`, or one trusting the `--pub` keys given.
fn trust(flags: &Flags) -> Result<TrustStore, Failure> {
    let mut trust = match flags.one("--trust") {
        Some(path) => TrustStore::load(Path::new(path)).map_err(failed)?,
        None => TrustStore::default(),
    };
    for p in flags.all("--pub") {
        let key = PublicKey::parse(&read(&p)?).map_err(|e| failed(format!("{p}: {e}")))?;
        trust
            .publishers
            .push(sbx_package::Publisher { name: p, key });
    }
    if trust.publishers.is_empty() {
        return Err(usage("give --trust FILE or --pub KEY.pub"));
    }
    Ok(trust)
}

/// `sbx verify (--trust FILE | --pub KEY.pub) DIR`.
pub fn verify(args: &[String]) -> Outcome {
    let (dir, rest) = args
        .split_last()
        .ok_or_else(|| usage("verify needs a package directory"))?;
    let flags = Flags::parse(rest, &["--trust", "--pub"])?;
    let trust = trust(&flags)?;
    match sbx_package::verify(Path::new(dir), &trust, sbx_contract::abi::ABI_VERSION) {
        Ok(v) => {
            println!(
                "verified {} {} ({}), signed by {}",
                v.manifest.name,
                v.manifest.version,
                sbx_package::hex(&v.sha256),
                v.signer
            );
            Ok(())
        }
        Err(e) => Err(failed(format!("refused ({}): {e}", e.kind()))),
    }
}

/// `sbx inspect DIR`: the manifest, the binary's hash and the signer, without trusting it.
pub fn inspect(args: &[String]) -> Outcome {
    let [dir] = args else {
        return Err(usage("inspect takes one package directory"));
    };
    let dir = Path::new(dir);
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
    println!(
        "limits        {}",
        if asked.is_empty() {
            "none asked".to_owned()
        } else {
            asked.join(", ")
        }
    );
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

/// `sbx host --package DIR (--trust F | --pub K) --policy F --storage DIR [--audit F]
/// --method M [--input T] [--stats]`: verify, decide, run one call, stop.
pub fn host(args: &[String]) -> Outcome {
    let flags = Flags::parse(
        args,
        &[
            "--package",
            "--trust",
            "--pub",
            "--policy",
            "--storage",
            "--audit",
            "--method",
            "--input",
            "--init",
            "--stats",
            "--runner",
        ],
    )?;
    let policy = PolicyStore::load(Path::new(flags.need("--policy")?)).map_err(failed)?;
    let audit = match flags.one("--audit") {
        Some(p) => Some(Arc::new(AuditLog::open(p).map_err(failed)?)),
        None => None,
    };
    let mut host = Host::new(HostConfig {
        trust: trust(&flags)?,
        policy,
        storage_root: PathBuf::from(flags.need("--storage")?),
        audit,
        runner: flags.one("--runner").map(PathBuf::from),
        deadlines: sbx_host::Deadlines::default(),
        layers: sbx_host::Layers::ALL,
    });
    let init = flags.one("--init").unwrap_or("").as_bytes().to_vec();
    let name = host
        .load(Path::new(flags.need("--package")?), &init)
        .map_err(failed)?;
    let method = flags.need("--method")?;
    let input = flags.one("--input").unwrap_or("");
    let result = host.invoke(&name, method, input.as_bytes());
    let stats = host.stats(&name).map_err(failed)?;
    let _ = host.unload(&name);
    let output = result.map_err(failed)?;
    std::io::stdout()
        .write_all(&output)
        .map_err(|e| failed(format!("stdout: {e}")))?;
    if flags.one("--stats").is_some_and(|v| v == "json") {
        eprintln!("{}", serde_json::to_string(&stats).unwrap_or_default());
    }
    Ok(())
}

/// `sbx stats AUDIT_LOG`: per-plugin figures and event counts from an audit log.
pub fn stats(args: &[String]) -> Outcome {
    let [path] = args else {
        return Err(usage("stats takes one audit log"));
    };
    let records = read_log(Path::new(path)).map_err(failed)?;
    let mut gaps = 0;
    for pair in records.windows(2) {
        gaps += u64::from(pair[1].seq != pair[0].seq + 1);
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
