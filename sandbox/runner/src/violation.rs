//! Reporting a seccomp violation: the SIGSYS handler.
//!
//! Refused syscalls trap (SECCOMP_RET_TRAP) instead of killing outright so the number of the
//! refused call can reach the host: the handler writes `si_syscall` to the violation pipe,
//! then calls `rt_sigaction(SIGSYS, ...)`, which the kill filter answers by killing the
//! process. The kernel therefore records death by SIGSYS, and a plugin cannot replace this
//! handler (that same call kills it). The host trusts the pipe only for the number, and only
//! when the kernel says the process died of SIGSYS.

use sbx_contract::fds::VIOLATION_FD;

/// Offset of `si_syscall` in `siginfo_t` on x86_64 (after si_signo, si_errno, si_code,
/// padding and the 8-byte `_call_addr`).
const SI_SYSCALL_OFFSET: usize = 24;

/// `si_code` of a SIGSYS raised by a seccomp trap.
const SYS_SECCOMP: i32 = 1;

extern "C" fn on_sigsys(_signal: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for SA_SIGINFO handlers; reading an i32 at
    // the documented offset of si_syscall stays inside it. write and syscall are
    // async-signal-safe.
    unsafe {
        // Only a seccomp trap carries a syscall number; a SIGSYS the plugin raised itself
        // reports none (but ends the process all the same).
        if (*info).si_code == SYS_SECCOMP {
            let nr = info
                .cast::<u8>()
                .add(SI_SYSCALL_OFFSET)
                .cast::<i32>()
                .read_unaligned();
            let bytes = nr.to_le_bytes();
            // Non-blocking (see `install_handler`): a plugin that filled the pipe cannot park
            // this thread here and keep the process alive.
            libc::write(VIOLATION_FD, bytes.as_ptr().cast(), bytes.len());
        }
        // Killed by the kill filter: the process ends here with SIGSYS.
        let dfl: libc::sigaction = std::mem::zeroed();
        libc::syscall(
            libc::SYS_rt_sigaction,
            libc::SIGSYS,
            &dfl as *const libc::sigaction,
            std::ptr::null_mut::<libc::sigaction>(),
            8usize,
        );
        // Only reached when seccomp is switched off (a mutant): end the same way.
        libc::signal(libc::SIGSYS, libc::SIG_DFL);
        libc::raise(libc::SIGSYS);
        libc::_exit(128 + libc::SIGSYS);
    }
}

/// Installs the SIGSYS handler for the whole process and makes the violation pipe
/// non-blocking.
pub fn install_handler() -> std::io::Result<()> {
    // SAFETY: fcntl on our own descriptor 4 with integer arguments.
    if unsafe { libc::fcntl(VIOLATION_FD, libc::F_SETFL, libc::O_NONBLOCK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a zeroed sigaction with a valid handler pointer, SA_SIGINFO and an empty mask.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = on_sigsys as *const () as usize;
        act.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut act.sa_mask);
        if libc::sigaction(libc::SIGSYS, &act, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
