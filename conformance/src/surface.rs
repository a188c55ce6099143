//! What the system offers an attack, probed by the harness itself, outside any sandbox.
//!
//! Some attacks need something the kernel or the loader may simply not have (the x32
//! ABI, port I/O, loadable modules, a loader that maps foreign files). Where it is
//! missing, the attack is inert under every sandbox, the no-isolation control included:
//! the results say so (`inert`) rather than let a clean control run pass for a weak
//! plugin, or a clean candidate run pass for a strong sandbox.

use std::collections::BTreeMap;

use sbx_adversarial_plugins::Surface;

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The surface is there: the attack can do harm on this system.
    pub present: bool,
    /// What the probe did and saw, for the results.
    pub evidence: String,
}

/// Every surface, probed once.
pub fn probe_all() -> BTreeMap<Surface, Probe> {
    Surface::ALL.iter().map(|&s| (s, probe(s))).collect()
}

/// Probes one surface.
pub fn probe(surface: Surface) -> Probe {
    match surface {
        Surface::X32 => x32(),
        Surface::PortIo => port_io(),
        Surface::KernelModules => kernel_modules(),
        Surface::ForeignObjectLoading => foreign_object_loading(),
    }
}

/// A system call's result: `Ok(value)` or `Err(errno)`.
fn syscall_result(rc: libc::c_long) -> Result<libc::c_long, i32> {
    if rc < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(rc)
    }
}

/// Present unless the kernel answers ENOSYS (any other error is a check past the entry).
fn unless_enosys(what: &str, result: Result<libc::c_long, i32>) -> Probe {
    match result {
        Err(libc::ENOSYS) => Probe {
            present: false,
            evidence: format!("{what}: ENOSYS outside any sandbox (the kernel has no such call)"),
        },
        Err(e) => Probe {
            present: true,
            evidence: format!("{what}: {}", std::io::Error::from_raw_os_error(e)),
        },
        Ok(v) => Probe {
            present: true,
            evidence: format!("{what}: {v}"),
        },
    }
}

#[cfg(target_arch = "x86_64")]
fn x32() -> Probe {
    const X32_SYSCALL_BIT: libc::c_long = 0x4000_0000;
    // SAFETY: getpid through its x32 number: no argument, no effect.
    let rc = unsafe { libc::syscall(X32_SYSCALL_BIT | libc::SYS_getpid) };
    unless_enosys("x32 getpid", syscall_result(rc))
}

#[cfg(target_arch = "x86_64")]
fn port_io() -> Probe {
    // SAFETY: iopl(0) asks for the level every process already has: no effect.
    let rc = unsafe { libc::syscall(libc::SYS_iopl, 0 as libc::c_long) };
    unless_enosys("iopl(0)", syscall_result(rc))
}

#[cfg(not(target_arch = "x86_64"))]
fn x32() -> Probe {
    Probe {
        present: false,
        evidence: "not an x86-64 machine".into(),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn port_io() -> Probe {
    Probe {
        present: false,
        evidence: "not an x86 machine".into(),
    }
}

fn kernel_modules() -> Probe {
    let name = c"sbx_conformance_probe_no_such_module";
    // SAFETY: delete_module of a name no module has: ENOENT, EPERM or ENOSYS, no effect.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_delete_module,
            name.as_ptr(),
            libc::O_NONBLOCK as libc::c_long,
        )
    };
    unless_enosys("delete_module of a missing module", syscall_result(rc))
}

fn foreign_object_loading() -> Probe {
    let path =
        std::env::temp_dir().join(format!("sbx-conformance-probe-{}.so", std::process::id()));
    if let Err(e) = std::fs::write(&path, b"not an ELF object\n") {
        return Probe {
            present: true,
            evidence: format!("could not write the probe file: {e}; assumed present"),
        };
    }
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap_or_default();
    // SAFETY: dlopen of a text file: the loader reads its header and refuses it; if it
    // did not, the handle is closed at once (a text file has no constructor to run).
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    let _ = std::fs::remove_file(&path);
    if handle.is_null() {
        Probe {
            present: false,
            evidence: "the system's dynamic loader refused a file that is not an ELF object".into(),
        }
    } else {
        // SAFETY: closing the handle just returned.
        unsafe { libc::dlclose(handle) };
        Probe {
            present: true,
            evidence: "the system's dynamic loader mapped a file that is not an ELF object".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_surface_is_probed_without_harm() {
        let probes = probe_all();
        assert_eq!(probes.len(), Surface::ALL.len());
        // A text file is never an object this machine's loader maps.
        assert!(!probes[&Surface::ForeignObjectLoading].present);
        for p in probes.values() {
            assert!(!p.evidence.is_empty());
        }
    }
}
