//! Reporting a seccomp violation: the SIGSYS handler.
//!
//! Refused syscalls trap (SECCOMP_RET_TRAP) instead of killing outright so the number of the
//! refused call can reach the host: the handler writes `si_syscall` to the violation pipe,
//! then calls `rt_sigaction(SIGSYS, ...)`, which the kill filter answers by killing the
//! process. The kernel therefore records death by SIGSYS, and a plugin cannot replace this
//! handler (that same call kills it). The host trusts the pipe only for the number, and only
//! when the kernel says the process died of SIGSYS.
//!
//! In the development mode (`install_handler(true)`) another handler is installed, which
//! instead writes a record of the refused call ([`sbx_contract::development`]: its number, its arguments, the words on
//! the stack that point into the plugin's code), makes it fail with `EPERM`, and returns:
//! the call is skipped and the plugin goes on. The kill list still kills.

use std::sync::atomic::{AtomicU64, Ordering};

use sbx_contract::development::{self, MAX_FRAMES};
use sbx_contract::fds::VIOLATION_FD;

/// Where the plugin is loaded, and the bounds of its code: 0 until it is loaded.
static PLUGIN_BASE: AtomicU64 = AtomicU64::new(0);
static PLUGIN_TEXT_START: AtomicU64 = AtomicU64::new(0);
static PLUGIN_TEXT_END: AtomicU64 = AtomicU64::new(0);

/// Stack words the handler looks at above the refused call's stack pointer: 512 bytes, well
/// within any thread's stack (a new thread's starts below its descriptor and its start
/// routine's frame).
const STACK_WORDS: usize = 64;

/// Records where the plugin is loaded (`base`) and where its code lies, so that a report
/// names offsets in its image.
pub fn set_plugin_image(base: u64, text: (u64, u64)) {
    PLUGIN_BASE.store(base, Ordering::SeqCst);
    PLUGIN_TEXT_START.store(text.0, Ordering::SeqCst);
    PLUGIN_TEXT_END.store(text.1, Ordering::SeqCst);
}

/// Writes the development record of refused call `nr` in the context `uc`, and makes the
/// call return `-EPERM` once the handler returns.
///
/// # Safety
/// `uc` is the `ucontext_t` the kernel passed to a SA_SIGINFO handler of this thread.
unsafe fn report_and_skip(nr: i32, uc: *mut libc::ucontext_t) {
    // SAFETY: the caller's contract: `uc` is this handler's live ucontext.
    let gregs = unsafe { &mut (*uc).uc_mcontext.gregs };
    let reg = |r: libc::c_int| gregs[r as usize] as u64;
    let args = [
        reg(libc::REG_RDI),
        reg(libc::REG_RSI),
        reg(libc::REG_RDX),
        reg(libc::REG_R10),
        reg(libc::REG_R8),
        reg(libc::REG_R9),
    ];
    let base = PLUGIN_BASE.load(Ordering::Relaxed);
    let (start, end) = (
        PLUGIN_TEXT_START.load(Ordering::Relaxed),
        PLUGIN_TEXT_END.load(Ordering::Relaxed),
    );
    let mut frames = [0u64; MAX_FRAMES];
    let mut count = 0;
    let mut consider = |word: u64| {
        if count < MAX_FRAMES && start < end && (start..end).contains(&word) {
            frames[count] = word.wrapping_sub(base);
            count += 1;
        }
    };
    consider(reg(libc::REG_RIP));
    let sp = reg(libc::REG_RSP) as *const u64;
    for i in 0..STACK_WORDS {
        // SAFETY: the interrupted thread's stack above its stack pointer, which is mapped
        // for at least these 512 bytes (see STACK_WORDS); read as plain words.
        consider(unsafe { sp.add(i).read_volatile() });
    }
    let record = development::encode(nr, &args, &frames, count);
    // SAFETY: write of a local buffer on our descriptor 4; async-signal-safe. Non-blocking:
    // a full pipe drops the record rather than park the plugin here.
    unsafe { libc::write(VIOLATION_FD, record.as_ptr().cast(), record.len()) };
    gregs[libc::REG_RAX as usize] = -i64::from(libc::EPERM);
}

/// Offset of `si_syscall` in `siginfo_t` on x86_64 (after si_signo, si_errno, si_code,
/// padding and the 8-byte `_call_addr`).
const SI_SYSCALL_OFFSET: usize = 24;

/// `si_code` of a SIGSYS raised by a seccomp trap.
const SYS_SECCOMP: i32 = 1;

/// The number of the call a seccomp trap refused, from the signal's `info`; `None` for a
/// SIGSYS the plugin raised itself.
///
/// # Safety
/// `info` is the siginfo_t the kernel passed to a SA_SIGINFO handler.
unsafe fn trapped_call(info: *const libc::siginfo_t) -> Option<i32> {
    // SAFETY: the caller's contract; an i32 at the documented offset of si_syscall stays
    // inside the siginfo_t.
    unsafe {
        ((*info).si_code == SYS_SECCOMP).then(|| {
            info.cast::<u8>()
                .add(SI_SYSCALL_OFFSET)
                .cast::<i32>()
                .read_unaligned()
        })
    }
}

/// The development mode's handler: reports the refused call and skips it. Installed only
/// in that mode, and never replaced: which handler runs is fixed when the filter goes in
/// (`rt_sigaction(SIGSYS)` is on the kill list), not by any data a plugin could write.
extern "C" fn on_sigsys_reporting(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    ctx: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo_t, and this thread's ucontext as `ctx`, to
    // SA_SIGINFO handlers.
    unsafe {
        match trapped_call(info) {
            Some(nr) if !ctx.is_null() => report_and_skip(nr, ctx.cast::<libc::ucontext_t>()),
            _ => on_sigsys(signal, info, ctx),
        }
    }
}

extern "C" fn on_sigsys(_signal: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to SA_SIGINFO handlers; write and
    // syscall are async-signal-safe.
    unsafe {
        // Only a seccomp trap carries a syscall number; a SIGSYS the plugin raised itself
        // reports none (but ends the process all the same).
        if let Some(nr) = trapped_call(info) {
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

/// Installs the SIGSYS handler for the whole process (in the `development` mode, the one
/// that reports and skips) and makes the violation pipe non-blocking.
pub fn install_handler(development: bool) -> std::io::Result<()> {
    let handler = if development {
        on_sigsys_reporting as *const () as usize
    } else {
        on_sigsys as *const () as usize
    };
    // SAFETY: fcntl on our own descriptor 4 with integer arguments.
    if unsafe { libc::fcntl(VIOLATION_FD, libc::F_SETFL, libc::O_NONBLOCK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a zeroed sigaction with a valid handler pointer, SA_SIGINFO and an empty mask.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = handler;
        act.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut act.sa_mask);
        if libc::sigaction(libc::SIGSYS, &act, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
