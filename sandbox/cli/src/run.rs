//! `sbx run`: one call of a plugin shared object in the sandbox.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use std::collections::BTreeSet;

use clap::{Args, ValueEnum};
use sbx_host::broker::BrokerConfig;
use sbx_host::{
    Capability, Deadlines, Layers, Plugin, SandboxConfig, SandboxError, Strictness, development,
};

use crate::{Failure, existing_file};

/// The options of `sbx run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The plugin shared object.
    #[arg(long, value_name = "FILE.so", value_parser = existing_file)]
    plugin: PathBuf,
    /// The method passed to sbx_plugin_invoke.
    #[arg(long, value_name = "NAME")]
    method: String,
    /// The input bytes [default: empty].
    #[arg(long, value_name = "TEXT", conflicts_with = "input_file")]
    input: Option<String>,
    /// Read the input from FILE instead.
    #[arg(long, value_name = "FILE", value_parser = existing_file)]
    input_file: Option<PathBuf>,
    /// The configuration passed to sbx_plugin_init.
    #[arg(long, value_name = "TEXT", default_value = "")]
    init: String,
    /// The wall-clock deadline of the call, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// Refuse to run unless every layer is fully in force.
    #[arg(long)]
    strict: bool,
    /// Switch layers off (testing only).
    #[arg(long, value_name = "LAYER", value_delimiter = ',')]
    disable: Vec<LayerName>,
    /// Print what confinement is in force on stderr.
    #[arg(long)]
    report: bool,
    /// Print one JSON record (output, logs, enforcement, termination).
    #[arg(long)]
    json: bool,
    /// The sbx-runner binary [default: beside sbx, or $SBX_RUNNER].
    #[arg(long, value_name = "FILE", value_parser = existing_file)]
    runner: Option<PathBuf>,
}

/// A layer `--disable` switches off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LayerName {
    /// The switch to an unprivileged uid.
    Identity,
    /// The new namespaces.
    Namespaces,
    /// The emptied capability sets.
    Capabilities,
    /// PR_SET_NO_NEW_PRIVS.
    #[value(name = "no_new_privs")]
    NoNewPrivs,
    /// The Landlock rules.
    Landlock,
    /// The rlimits.
    Rlimits,
    /// The seccomp policy.
    Seccomp,
}

impl RunArgs {
    fn layers(&self) -> Layers {
        let mut layers = Layers::ALL;
        for layer in &self.disable {
            match layer {
                LayerName::Identity => layers.drop_identity = false,
                LayerName::Namespaces => layers.namespaces = false,
                LayerName::Capabilities => layers.drop_capabilities = false,
                LayerName::NoNewPrivs => layers.no_new_privs = false,
                LayerName::Landlock => layers.landlock = false,
                LayerName::Rlimits => layers.rlimits = false,
                LayerName::Seccomp => layers.seccomp = false,
            }
        }
        layers
    }

    fn input(&self) -> Result<Vec<u8>, Failure> {
        match (&self.input, &self.input_file) {
            (Some(text), _) => Ok(text.clone().into_bytes()),
            (None, Some(file)) => std::fs::read(file)
                .map_err(|e| Failure::Usage(format!("--input-file {}: {e}", file.display()))),
            (None, None) => Ok(Vec::new()),
        }
    }
}

impl RunArgs {
    /// The configuration these options ask for.
    fn builder(&self) -> sbx_host::SandboxConfigBuilder {
        let mut builder = SandboxConfig::builder(&self.plugin)
            .layers(self.layers())
            .deadlines(Deadlines {
                call: Duration::from_millis(self.timeout_ms),
                ..Deadlines::default()
            })
            .strictness(if self.strict {
                Strictness::Strict
            } else {
                Strictness::BestEffort
            });
        if let Some(r) = &self.runner {
            builder = builder.runner(r);
        }
        builder
    }
}

/// `sbx run`: spawn, init, start, invoke, shut down.
pub fn run(args: RunArgs) -> Result<(), Failure> {
    let input = args.input()?;
    let config = args
        .builder()
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let mut plugin = match Plugin::spawn(&config) {
        Ok(p) => p,
        Err(e) => return Err(failure(&args, None, e)),
    };
    if args.report {
        eprint!("{}", plugin.enforcement().table());
    }
    let result = plugin
        .init(args.init.as_bytes())
        .and_then(|()| plugin.start())
        .and_then(|()| plugin.invoke(&args.method, &input));
    if !args.json {
        for log in plugin.logs() {
            eprintln!("[plugin {}] {}", log.level, log.message);
        }
    }
    match result {
        Ok(output) => {
            let logs: Vec<_> = plugin.logs().cloned().collect();
            let enforcement = plugin.enforcement().clone();
            let stats = plugin.stats();
            let termination = plugin.shutdown().ok();
            if args.json {
                let record = serde_json::json!({
                    "ok": true,
                    "output": String::from_utf8_lossy(&output),
                    "logs": logs,
                    "stats": stats,
                    "enforcement": enforcement,
                    "termination": termination,
                });
                println!("{record}");
            } else {
                std::io::stdout()
                    .write_all(&output)
                    .map_err(|e| Failure::Refused(format!("stdout: {e}")))?;
            }
            Ok(())
        }
        Err(e) => {
            let enforcement = plugin.enforcement().clone();
            let logs: Vec<_> = plugin.logs().cloned().collect();
            drop(plugin);
            Err(failure(&args, Some((enforcement, logs)), e))
        }
    }
}

/// A plugin that failed: with `--json` its record on stdout, else its termination record
/// on stderr; the failure to exit with.
fn failure(
    args: &RunArgs,
    context: Option<(sbx_host::EnforcementReport, Vec<sbx_host::LogRecord>)>,
    e: SandboxError,
) -> Failure {
    let termination = match &e {
        SandboxError::Ended(t) => Some((**t).clone()),
        SandboxError::ActivationFailed { termination, .. } => Some((**termination).clone()),
        _ => None,
    };
    if args.json {
        let (enforcement, logs) = context.unzip();
        let record = serde_json::json!({
            "ok": false,
            "error": e.to_string(),
            "logs": logs,
            "enforcement": enforcement,
            "termination": termination,
        });
        println!("{record}");
    } else if let Some(t) = &termination {
        eprintln!(
            "sbx: termination: {}",
            serde_json::to_string(t).unwrap_or_default()
        );
    }
    Failure::Refused(e.to_string())
}

/// The options of `sbx dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    #[command(flatten)]
    run: RunArgs,
    /// A host service the plugin is granted (repeatable; `log` always is): a call of
    /// another is denied, and the denial explained.
    #[arg(long, value_name = "CAPABILITY", value_parser = crate::package::capability)]
    grant: Vec<Capability>,
    /// The plugin's storage directory [default: none, and storage calls fail].
    #[arg(long, value_name = "DIR")]
    storage: Option<PathBuf>,
}

/// `sbx dev`: `sbx run` in the development mode. The plugin's output goes to stdout; on
/// stderr, each system call the filter refused (its arguments, the rule, the plugin's
/// frames), each host call denied and limit reached with what to ask for, and a summary:
/// what the plugin needed that it was not granted, as a manifest fragment.
pub fn dev(args: DevArgs) -> Result<(), Failure> {
    let input = args.run.input()?;
    let grants: BTreeSet<Capability> = args
        .grant
        .iter()
        .copied()
        .chain([Capability::Log])
        .collect();
    let config = args
        .run
        .builder()
        .broker(BrokerConfig {
            grants: grants.clone(),
            storage_dir: args.storage.clone(),
            ..BrokerConfig::default()
        })
        .development(true)
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let mut plugin = match Plugin::spawn(&config) {
        Ok(p) => p,
        Err(e) => return Err(failure(&args.run, None, e)),
    };
    eprintln!(
        "sbx dev: the development mode: a refused system call is reported and fails with EPERM, \
         and the plugin goes on; not for production"
    );
    if args.run.report {
        eprint!("{}", plugin.enforcement().table());
    }
    let result = plugin
        .init(args.run.init.as_bytes())
        .and_then(|()| plugin.start())
        .and_then(|()| plugin.invoke(&args.run.method, &input));
    for log in plugin.logs() {
        eprintln!("[plugin {}] {}", log.level, log.message);
    }
    // What the plugin's process wrote on its stderr: a sanitizer's reports.
    for line in String::from_utf8_lossy(plugin.stderr()).lines() {
        eprintln!("[plugin stderr] {line}");
    }
    let binary = std::fs::read(&args.run.plugin).unwrap_or_default();
    let refused = plugin.refused_calls().to_vec();
    for call in &refused {
        eprintln!("refused {}: {}", call.call(), call.rule);
        let mut frames: Vec<String> = call
            .frames
            .iter()
            .filter_map(
                |&offset| match sbx_package::symbols::function_at(&binary, offset) {
                    // A function's first byte is a pointer to it left on the stack, never where a
                    // call returns to.
                    Some((_, 0)) => None,
                    Some((name, into)) => Some(format!("{name}+{into:#x}")),
                    None => Some(format!("plugin+{offset:#x}")),
                },
            )
            .collect();
        frames.dedup();
        if !frames.is_empty() {
            eprintln!("    at {}", frames.join(" < "));
        }
    }
    let events = plugin.events();
    for line in events.iter().filter_map(development::explain) {
        eprintln!("{line}");
    }
    eprint!(
        "summary:\n{}",
        development::manifest_fragment(&refused, &events, &grants)
    );
    match result {
        Ok(output) => {
            let _ = plugin.shutdown();
            std::io::stdout()
                .write_all(&output)
                .map_err(|e| Failure::Refused(format!("stdout: {e}")))
        }
        Err(e) => {
            drop(plugin);
            Err(failure(&args.run, None, e))
        }
    }
}
