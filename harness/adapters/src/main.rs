//! `sbx-adapter`: the built-in adapters of the conformance harness, speaking adapter
//! protocol v1 (`conformance/ADAPTERS.md`) on stdin and stdout.
//!
//!     sbx-adapter reference [--mutant NAME] [--only LAYERS] [--user UID] [--low-latency]
//!                                             the reference sandbox, or one of its mutants;
//!                                             --only: those containment layers alone;
//!                                             --user: run by a host that is not root;
//!                                             --low-latency: calls through the shared-memory
//!                                             rings once a plugin is loaded
//!     sbx-adapter none [--checked]            no isolation: plugins run inside this process
//!                                             (--checked: with a careful host's checks)
//!     sbx-adapter bubblewrap                  each plugin in `bwrap --unshare-all ...`
//!     sbx-adapter firejail                    each plugin in firejail, hardened
//!     sbx-adapter firejail-default            each plugin in firejail's default profile
//!     sbx-adapter gvisor                      each plugin in gVisor (`runsc run`, a bundle)
//!     sbx-adapter crun | runc                 each plugin in a container (an OCI bundle)
//!
//! The harness appends `--sbx-canary=TOKEN` to every adapter's command line; it is ignored.

mod bare;
mod oci;
mod reference;
mod serve;
mod wrapped;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--sbx-canary="))
        .collect();
    let result = match args.first().map(String::as_str) {
        Some("reference") => {
            let mut mutant = None;
            let mut only = None;
            let mut user = None;
            let mut low_latency = false;
            let mut rest = args[1..].iter();
            while let Some(a) = rest.next() {
                let slot = match a.as_str() {
                    "--low-latency" => {
                        low_latency = true;
                        continue;
                    }
                    "--mutant" => &mut mutant,
                    "--only" => &mut only,
                    "--user" => &mut user,
                    other => return usage(&format!("unknown argument `{other}`")),
                };
                match rest.next() {
                    Some(v) => *slot = Some(v.clone()),
                    None => return usage(&format!("{a} needs a value")),
                }
            }
            // Before the backend opens its audit log: the log is the user's.
            if let Some(uid) = &user {
                let Ok(uid) = uid.parse::<u32>() else {
                    return usage(&format!("--user takes a numeric uid, not `{uid}`"));
                };
                if let Err(e) = reference::become_user(uid) {
                    eprintln!("sbx-adapter reference --user {uid}: {e}");
                    return ExitCode::from(69);
                }
            }
            let built = reference::Reference::new(mutant.as_deref())
                .map(|r| r.with_low_latency(low_latency))
                .and_then(|r| match &only {
                    Some(list) => r.isolate(list),
                    None => Ok(r),
                });
            match built {
                Ok(backend) => serve::serve(backend),
                Err(e) => return usage(&e),
            }
        }
        Some("none") if args.get(1).map(String::as_str) == Some("--checked") => {
            bare::alias_channel_descriptor();
            serve::serve(bare::Bare::checked())
        }
        Some("none") => match bare::open_channel() {
            Ok(relay) => {
                let served =
                    serve::serve_from(bare::Bare::naive(), std::io::BufReader::new(bare::Channel));
                relay.finish();
                served
            }
            Err(e) => Err(e),
        },
        Some(name) if wrapped::Tool::from_name(name).is_some() => {
            let tool = wrapped::Tool::from_name(name).expect("matched above");
            match wrapped::Wrapped::new(tool) {
                Ok(backend) => serve::serve(backend),
                // Said in the handshake: the run reports the sandbox as not run here.
                Err(reason) => serve::serve(serve::Unavailable {
                    name: name.to_owned(),
                    reason,
                }),
            }
        }
        _ => return usage("which adapter?"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sbx-adapter: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!(
        "sbx-adapter: {problem}\nusage: sbx-adapter reference [--mutant {}] [--only {}] [--user UID] [--low-latency] | none [--checked] | bubblewrap | firejail | firejail-default | gvisor | crun | runc",
        reference::MUTANTS.join("|"),
        reference::LAYERS.join(",")
    );
    ExitCode::from(64)
}
