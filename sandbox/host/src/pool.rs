//! Warm activation: spare runners of one plugin, spawned and confined ahead of need.
//!
//! A [`WarmPool`] keeps up to `spares` processes of one [`SandboxConfig`], each made ready
//! one of two ways ([`Spare`]):
//!
//! - [`Spare::Loaded`]: exec, every confinement layer, the loader and the plugin's
//!   constructors are behind it; an activation is only its `init` and first answer. The
//!   plugin's code has then run before anyone asked for it: a restart budget or a backoff
//!   that bounds how often a faulting plugin runs again does not bound its spares.
//! - [`Spare::Confined`]: exec and every confinement layer are behind it, and its runner
//!   waits for the host's `Load`; no byte of the plugin runs until it is activated, which
//!   then loads it (constructors included) before its `init`. What [`crate::host::Host`]
//!   keeps for restarts.
//!
//! [`WarmPool::take`] hands one out as the plugin's process (a broker of its own, its
//! storage opened then, its events recorded to the caller's audit log), or spawns one cold
//! when none is ready. **A spare serves one activation and is never given back**: the pool
//! has no way to take a process in again, so nothing of one activation (memory, threads,
//! descriptors, environment) can reach the next.
//!
//! A spare waits without its storage: opening a store cleans up after writes that never
//! finished, which must not happen under a process of the plugin still writing.
//!
//! Spares are spawned by [`WarmPool::fill`] on the calling thread, or, once
//! [`WarmPool::refill_in_background`] is called, by a thread of the pool's own after each
//! take. Dropping the pool stops that thread and kills and reaps every spare.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::audit::Audit;
use crate::broker::Capability;
use crate::config::SandboxConfig;
use crate::supervisor::{Plugin, SandboxError};

/// How long the background filler waits after a spawn failed before it tries again: a
/// plugin whose spares cannot start must not have the host spawn it in a loop.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// How far a spare is made ready before it is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spare {
    /// Confined, and waiting to load the plugin: no plugin code runs before the take.
    Confined,
    /// Confined and loaded: the plugin's constructors ran; the take is its `init` away.
    Loaded,
}

/// Spares of one plugin, ready to be activated. See the module documentation.
pub struct WarmPool {
    shared: Arc<Shared>,
    filler: Option<JoinHandle<()>>,
}

struct Shared {
    /// The plugin's configuration.
    config: SandboxConfig,
    /// What a spare is spawned with: the configuration less its storage.
    spare: SandboxConfig,
    kind: Spare,
    wanted: usize,
    ready: Mutex<Ready>,
    /// Wakes the filler: a spare was taken, or the pool is closing.
    wake: Condvar,
}

#[derive(Default)]
struct Ready {
    spares: VecDeque<Plugin>,
    closing: bool,
    /// Why the last spawn of a spare failed, if it did.
    last_failure: Option<String>,
}

impl WarmPool {
    /// A pool of up to `spares` processes of `config`'s plugin, made ready as `kind` says;
    /// none is spawned yet.
    pub fn new(config: &SandboxConfig, spares: usize, kind: Spare) -> WarmPool {
        let mut spare = config.clone();
        spare.broker.storage_dir = None;
        WarmPool {
            shared: Arc::new(Shared {
                config: config.clone(),
                spare,
                kind,
                wanted: spares,
                ready: Mutex::new(Ready::default()),
                wake: Condvar::new(),
            }),
            filler: None,
        }
    }

    /// Spawns spares on the calling thread until the pool holds as many as it keeps.
    pub fn fill(&self) -> Result<(), SandboxError> {
        while self.shared.lock().spares.len() < self.shared.wanted {
            let spare = self.shared.spawn_spare()?;
            self.shared.lock().spares.push_back(spare);
        }
        Ok(())
    }

    /// From now on a thread of the pool's own spawns a spare whenever it holds fewer than it
    /// keeps. A spawn that fails is retried a second later, and the failure is told by
    /// [`WarmPool::last_failure`].
    pub fn refill_in_background(&mut self) {
        if self.filler.is_some() {
            return;
        }
        let shared = Arc::clone(&self.shared);
        self.filler = Some(std::thread::spawn(move || shared.keep_filled()));
    }

    /// Spares ready now.
    pub fn ready(&self) -> usize {
        self.shared.lock().spares.len()
    }

    /// The runner pids of the spares ready now: processes kept for the plugin that run no
    /// activation yet (a loaded one has run its constructors; a confined one nothing).
    pub fn spare_pids(&self) -> Vec<i32> {
        self.shared.lock().spares.iter().map(Plugin::pid).collect()
    }

    /// Why the last spawn of a spare failed, if one did.
    pub fn last_failure(&self) -> Option<String> {
        self.shared.lock().last_failure.clone()
    }

    /// The plugin's process, its events recorded to `audit`: a spare when one is ready and
    /// alive (one that ended while it waited is reaped and passed over; a confined one loads
    /// the plugin now), otherwise one spawned now. Either way it is `Loaded`, for its `init`.
    pub fn take(&self, audit: Audit) -> Result<Plugin, SandboxError> {
        self.take_granting(&self.shared.config.broker.grants, audit)
    }

    /// [`WarmPool::take`], with only `grants` of the pool's (a spare holds them all: what
    /// was withdrawn from the plugin since the pool was made is withdrawn from it here).
    pub fn take_granting(
        &self,
        grants: &BTreeSet<Capability>,
        audit: Audit,
    ) -> Result<Plugin, SandboxError> {
        let mut config = self.shared.config.clone();
        config.broker.grants.retain(|c| grants.contains(c));
        loop {
            let spare = self.shared.lock().spares.pop_front();
            self.shared.wake.notify_all();
            let Some(mut plugin) = spare else {
                return Plugin::spawn_audited(&config, audit);
            };
            if plugin.has_ended() {
                // Dropped: killed (already dead) and reaped.
                continue;
            }
            match self.shared.kind {
                Spare::Loaded => plugin.adopt(&config, audit)?,
                // One that could not be told to load ran nothing of the plugin: another is
                // taken, and its failure is not the plugin's.
                Spare::Confined => {
                    if !plugin.load_confined(&config, audit.clone())? {
                        continue;
                    }
                }
            }
            return Ok(plugin);
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Ready> {
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spawn_spare(&self) -> Result<Plugin, SandboxError> {
        match self.kind {
            Spare::Loaded => Plugin::spawn(&self.spare),
            Spare::Confined => Plugin::spawn_confined(&self.spare),
        }
    }

    /// The filler's loop: a spare for every one missing, until the pool closes.
    fn keep_filled(&self) {
        loop {
            {
                let mut ready = self.lock();
                while !ready.closing && ready.spares.len() >= self.wanted {
                    ready = self.wake.wait(ready).unwrap_or_else(|p| p.into_inner());
                }
                if ready.closing {
                    return;
                }
            }
            match self.spawn_spare() {
                Ok(spare) => {
                    let mut ready = self.lock();
                    if ready.closing {
                        // Dropped outside the lock's scope: killed and reaped.
                        drop(ready);
                        drop(spare);
                        return;
                    }
                    ready.spares.push_back(spare);
                }
                Err(e) => {
                    let mut ready = self.lock();
                    ready.last_failure = Some(e.to_string());
                    let (ready, _) = self
                        .wake
                        .wait_timeout_while(ready, RETRY_AFTER_FAILURE, |r| !r.closing)
                        .unwrap_or_else(|p| p.into_inner());
                    if ready.closing {
                        return;
                    }
                }
            }
        }
    }
}

impl Drop for WarmPool {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_all();
        if let Some(filler) = self.filler.take() {
            let _ = filler.join();
        }
        // Each spare's own drop kills and reaps it.
        let spares = std::mem::take(&mut self.shared.lock().spares);
        drop(spares);
    }
}
