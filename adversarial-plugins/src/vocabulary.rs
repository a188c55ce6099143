//! The words of the metadata files, as enums.
//!
//! This file is the one definition of the vocabulary: `build.rs` includes it to
//! validate the metadata, and the library re-exports it, so the two cannot drift.

/// Defines a closed vocabulary: an enum, its words (`as_str`), `ALL` and `from_word`.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The word used for this value in the metadata files.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $word, )+
                }
            }

            /// The value a metadata word names, if any.
            pub fn from_word(word: &str) -> Option<Self> {
                match word {
                    $( $word => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// The group a plugin belongs to; also the directory its source lives in.
    Family {
        /// Reads or writes files outside the plugin's reach.
        Filesystem = "filesystem",
        /// Opens sockets or reaches other hosts or local services.
        Network = "network",
        /// Creates, signals, traces or changes processes and privileges.
        Process = "process",
        /// Uses kernel interfaces no plugin needs, or unusual system call entries.
        Syscall = "syscall",
        /// Exhausts memory, CPU, descriptors, disk, output or logs.
        Resources = "resources",
        /// Dies in every way a native plugin can die.
        Crashes = "crashes",
        /// Attacks the channel between the runner and the host.
        Ipc = "ipc",
        /// Is malformed as a shared object, or attacks while being loaded.
        Loading = "loading",
        /// Misuses the host API table: ungranted services, traversal, quotas.
        Capabilities = "capabilities",
        /// Hangs or crashes at lifecycle transitions.
        Lifecycle = "lifecycle",
        /// Tries to read what the host keeps to itself.
        Leaks = "leaks",
        /// Well-behaved plugins: the sandbox must run them unharmed.
        Benign = "benign",
        /// The template plugins plugin authors copy (`sandbox/templates`).
        Template = "template",
        /// The sandbox's own test probe (`sandbox/host/tests/probe`): attempts one forbidden
        /// operation on request, so tests can prove each confinement layer from inside.
        Probe = "probe",
    }
}

vocabulary! {
    /// The language a plugin is written in.
    Language {
        /// C11.
        C = "c",
        /// C++17.
        Cpp = "c++",
    }
}

vocabulary! {
    /// When the attack runs.
    Stage {
        /// While the shared object is loaded (constructor, static initializer, IFUNC resolver).
        Constructor = "constructor",
        /// In `sbx_plugin_init`.
        Init = "init",
        /// In `sbx_plugin_invoke`, or in what it leaves running.
        Invoke = "invoke",
        /// In `sbx_plugin_shutdown`.
        Shutdown = "shutdown",
    }
}

vocabulary! {
    /// What the harness observes from outside when an attack WORKED.
    Evidence {
        /// A canary token appears in the plugin's output or logs.
        SecretInOutput = "secret_in_output",
        /// Something appeared or changed in the forbidden directory or outside the allowed area.
        FileWritten = "file_written",
        /// The harness's TCP listener accepted a connection.
        TcpConnection = "tcp_connection",
        /// The harness's UDP listener received a datagram.
        UdpDatagram = "udp_datagram",
        /// The harness's abstract unix listener accepted a connection.
        UnixConnection = "unix_connection",
        /// A process of the plugin outlives the case.
        ProcessLeft = "process_left",
        /// The host or adapter process received a signal or died.
        HostSignalled = "host_signalled",
        /// The host process died (under no isolation the plugin runs inside it).
        HostCrashed = "host_crashed",
        /// The host stopped answering.
        HostHung = "host_hung",
        /// Memory, CPU, descriptors or disk beyond the limit, as measured by the harness.
        ResourceExhausted = "resource_exhausted",
        /// The output holds a `GAINED ` line: the plugin still had a privilege.
        PrivilegeObserved = "privilege_observed",
        /// Code of a package the sandbox had to refuse ran (the memory its constructor makes
        /// resident shows).
        RefusedCodeRan = "refused_code_ran",
        /// The sandbox's audit log lacks the record of what the case did.
        AuditMissing = "audit_missing",
        /// A descriptor of the host reached the plugin.
        DescriptorLeaked = "descriptor_leaked",
        /// The host received garbage or forged frames and acted on them.
        ChannelCorrupted = "channel_corrupted",
        /// The plugin's log records kept coming after its unload was answered.
        RanAfterUnload = "ran_after_unload",
        /// The plugin still ran after its signer's key was revoked: it answered a call, or
        /// its log records kept coming.
        RanAfterRevocation = "ran_after_revocation",
        /// Input was injected into (or output written to) the terminal the case runs on.
        TerminalInjected = "terminal_injected",
        /// The process the plugin runs in holds the host's environment.
        HostEnvironmentHanded = "host_environment_handed",
        /// The process the plugin runs in holds the host's arguments.
        HostArgumentsHanded = "host_arguments_handed",
        /// The benign neighbour plugin was not served: its call failed, or it could no
        /// longer start a thread while the plugin held its own.
        NeighbourNotServed = "neighbour_not_served",
        /// The plugin's process was started again more often than the policy's restarts
        /// allow within its window, or after a fault the policy never restarts.
        RestartedBeyondPolicy = "restarted_beyond_policy",
        /// The plugin's process was started again sooner after a fault than the policy's
        /// backoff.
        RestartedWithoutBackoff = "restarted_without_backoff",
        /// The processes that run the plugin held more threads than its policy allows.
        ThreadsBeyondPolicy = "threads_beyond_policy",
        /// An answer carried more output than the policy's output bound.
        OutputBeyondPolicy = "output_beyond_policy",
        /// An audit record of a limit the plugin ran into misstates it: the figure that
        /// went past the bound, or the bound, not the policy's.
        AuditMisstated = "audit_misstated",
        /// The sandbox's audit log holds more records of the plugin after one case than a
        /// host that records each kind of event once per run of it writes.
        AuditFlooded = "audit_flooded",
        /// The sandbox's figures of the plugin misstate the calls it saw answered, or count
        /// fewer host calls, refusals, limits or dropped log records than the plugin caused.
        FiguresMisstated = "figures_misstated",
        /// A paused plugin still ran: a thread not stopped when the pause was answered, or
        /// CPU used while it was paused.
        PauseNotInForce = "pause_not_in_force",
        /// After a valid update, the new version did not serve.
        UpdateNotInstalled = "update_not_installed",
        /// After an update that failed, the previous version did not serve again.
        UpdateNotRolledBack = "update_not_rolled_back",
        /// After an update, the plugin's storage was not as the installed version left it.
        UpdateStorageLost = "update_storage_lost",
        /// An update the sandbox had to refuse ran: its version answered, or its init
        /// changed the storage.
        RefusedUpdateRan = "refused_update_ran",
    }
}

vocabulary! {
    /// What the reference sandbox must do with a plugin.
    Outcome {
        /// The runner is terminated (see [`Termination`]).
        Killed = "killed",
        /// The attempts are refused; the plugin goes on and answers.
        Denied = "denied",
        /// The plugin hits a quota, is refused beyond it, and goes on.
        SurvivedLimit = "survived_limit",
        /// The plugin is never started (load or init refused).
        RefusedLoad = "refused_load",
        /// The plugin runs to completion; nothing it did reaches beyond it.
        CompletedHarmless = "completed_harmless",
    }
}

vocabulary! {
    /// Why a killed runner ended.
    Termination {
        /// It exited on its own (exit, _exit) in the middle of the protocol.
        Exit = "exit",
        /// A fatal signal of its own making (SIGSEGV, SIGABRT, SIGILL, SIGFPE...).
        Signal = "signal",
        /// The system call filter killed it.
        SeccompViolation = "seccomp_violation",
        /// Its CPU time limit.
        CpuLimit = "cpu_limit",
        /// Its memory limit.
        MemoryLimit = "memory_limit",
        /// The wall-clock deadline of the call.
        WallTimeout = "wall_timeout",
        /// The host killed it for another reason.
        KilledByHost = "killed_by_host",
        /// The host killed it for breaking the channel protocol.
        ProtocolViolation = "protocol_violation",
    }
}

vocabulary! {
    /// A host service the harness grants the plugin for its case (`log` is always granted).
    Grant {
        /// `config_get`.
        Config = "config",
        /// `storage_get`, `storage_put`, `storage_delete`.
        Storage = "storage",
        /// `net_request`.
        Net = "net",
        /// `clock_now`.
        Clock = "clock",
        /// `notify_user`.
        Notify = "notify",
    }
}

vocabulary! {
    /// How the harness packages a plugin for the signature cases (`package = ...`): signed
    /// by a fresh key, with exactly one defect (see `sbx_harness::package`).
    Package {
        /// No signature file.
        Unsigned = "unsigned",
        /// A signature with one bit flipped.
        BadSignature = "bad_signature",
        /// Signed by a key outside the trust store.
        UntrustedSigner = "untrusted_signer",
        /// The binary changed after signing.
        TamperedBinary = "tampered_binary",
        /// Signed by a revoked key.
        RevokedKey = "revoked_key",
        /// Signed by a key revoked by its whole public key.
        RevokedPublicKey = "revoked_public_key",
        /// Its hash is on the revocation list.
        RevokedPlugin = "revoked_plugin",
        /// Valid; the binary on disk is overwritten once the load is answered.
        SwappedAfterLoad = "swapped_after_load",
        /// Valid; each reader of the binary during the load is shown what tests it.
        SwappedDuringLoad = "swapped_during_load",
        /// Valid; its signer's key is revoked (`revoke_key`) while the plugin runs.
        KeyRevokedWhileRunning = "key_revoked_while_running",
        /// Valid, and nothing else done to it: loaded through signed loading.
        Signed = "signed",
        /// Valid; its manifest asks for every capability and limits beyond any policy.
        Overreaching = "overreaching",
        /// An update: the installed version (`update_installed`, 1.0.0) is loaded as a
        /// package, then this plugin offered in its place as 1.1.0 by the same publisher;
        /// it must take over, with the storage the installed version left.
        UpdateValid = "update_valid",
        /// An update whose new version (1.1.0) fails in its init: rolled back.
        UpdateFailsInit = "update_fails_init",
        /// An update whose new version (1.1.0) starts, then faults in its first calls
        /// beyond the policy's failure budget: rolled back.
        UpdateFailsCalls = "update_fails_calls",
        /// An update (1.1.0) signed by a key the trust store does not hold: refused.
        UpdateOtherSigner = "update_other_signer",
        /// An update to an older version (0.9.0) under a policy without downgrades:
        /// refused.
        UpdateDowngrade = "update_downgrade",
    }
}

vocabulary! {
    /// Something the system must offer for an attack to do harm at all (`inert_unless =
    /// ...`). The harness probes it outside any sandbox: where it is missing, the attack
    /// is inert under every sandbox, the no-isolation control included, and the results
    /// say so instead of counting the control's clean run against the plugin.
    Surface {
        /// The x32 system call ABI (kernels built with `CONFIG_X86_X32_ABI`, not disabled).
        X32 = "x32",
        /// Port I/O (`iopl`, `ioperm`: `CONFIG_X86_IOPL_IOPERM`).
        PortIo = "port_io",
        /// Loadable kernel modules (`CONFIG_MODULES`).
        KernelModules = "kernel_modules",
        /// A dynamic loader that maps a file which is not an ELF object for this machine.
        ForeignObjectLoading = "foreign_object_loading",
    }
}

vocabulary! {
    /// What the build makes of the source.
    Artifact {
        /// A shared object compiled from the source (the normal case).
        SharedObject = "shared_object",
        /// The source text itself, copied as the `.so`: not an ELF file at all.
        SourceText = "source_text",
        /// The compiled shared object cut to half its size.
        Truncated = "truncated",
        /// The compiled shared object with its ELF machine changed to AArch64.
        WrongMachine = "wrong_machine",
    }
}
