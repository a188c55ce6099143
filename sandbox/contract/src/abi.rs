//! The Rust mirror of `include/sbx_plugin.h` (plugin ABI v1). A test checks that the
//! constants agree with the header text, so the two cannot drift apart silently.

use std::ffi::{c_char, c_int, c_void};

/// Status code type (`sbx_status`).
pub type SbxStatus = i32;

/// `SBX_ABI_VERSION`.
pub const ABI_VERSION: u32 = 1;
/// `SBX_OK`.
pub const OK: SbxStatus = 0;
/// `SBX_ERR_INVALID_ARGUMENT`.
pub const ERR_INVALID_ARGUMENT: SbxStatus = -1;
/// `SBX_ERR_UNKNOWN_METHOD`.
pub const ERR_UNKNOWN_METHOD: SbxStatus = -2;
/// `SBX_ERR_BUFFER_TOO_SMALL`.
pub const ERR_BUFFER_TOO_SMALL: SbxStatus = -3;
/// `SBX_ERR_INTERNAL`.
pub const ERR_INTERNAL: SbxStatus = -4;
/// `SBX_ERR_DENIED`.
pub const ERR_DENIED: SbxStatus = -5;
/// `SBX_ERR_UNAVAILABLE`.
pub const ERR_UNAVAILABLE: SbxStatus = -6;
/// `SBX_ERR_LIMIT`.
pub const ERR_LIMIT: SbxStatus = -7;
/// `SBX_ERR_NOT_FOUND`.
pub const ERR_NOT_FOUND: SbxStatus = -8;
/// `SBX_ERR_PROTOCOL`.
pub const ERR_PROTOCOL: SbxStatus = -9;

/// Not part of the header: the code the runner uses in an `Error` frame when the plugin broke
/// the ABI (an output length beyond its buffer). Outside the `sbx_status` range a plugin
/// returns, so a plugin's own error can never be taken for it.
pub const RUNNER_ABI_VIOLATION: SbxStatus = -1000;

/// `SBX_MAX_METHOD_LEN`.
pub const MAX_METHOD_LEN: usize = 256;
/// `SBX_MAX_LOG_LEN`.
pub const MAX_LOG_LEN: usize = 4096;
/// `SBX_MAX_KEY_LEN`.
pub const MAX_KEY_LEN: usize = 128;

/// The `SBX_*` name of a status code.
pub fn status_name(status: SbxStatus) -> &'static str {
    match status {
        OK => "SBX_OK",
        ERR_INVALID_ARGUMENT => "SBX_ERR_INVALID_ARGUMENT",
        ERR_UNKNOWN_METHOD => "SBX_ERR_UNKNOWN_METHOD",
        ERR_BUFFER_TOO_SMALL => "SBX_ERR_BUFFER_TOO_SMALL",
        ERR_INTERNAL => "SBX_ERR_INTERNAL",
        ERR_DENIED => "SBX_ERR_DENIED",
        ERR_UNAVAILABLE => "SBX_ERR_UNAVAILABLE",
        ERR_LIMIT => "SBX_ERR_LIMIT",
        ERR_NOT_FOUND => "SBX_ERR_NOT_FOUND",
        ERR_PROTOCOL => "SBX_ERR_PROTOCOL",
        _ => "unknown status",
    }
}

/// `sbx_plugin_init`.
pub type InitFn = unsafe extern "C" fn(*const HostApi, *const u8, usize) -> SbxStatus;
/// `sbx_plugin_invoke`.
pub type InvokeFn = unsafe extern "C" fn(
    *const c_char,
    usize,
    *const u8,
    usize,
    *mut u8,
    usize,
    *mut usize,
) -> SbxStatus;
/// `sbx_plugin_shutdown`.
pub type ShutdownFn = unsafe extern "C" fn();

/// `log`.
pub type LogFn = unsafe extern "C" fn(*mut c_void, c_int, *const c_char, usize) -> SbxStatus;
/// `config_get` and `storage_get`.
pub type GetFn = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    usize,
    *mut u8,
    usize,
    *mut usize,
) -> SbxStatus;
/// `storage_put`.
pub type PutFn =
    unsafe extern "C" fn(*mut c_void, *const c_char, usize, *const u8, usize) -> SbxStatus;
/// `storage_delete`.
pub type DeleteFn = unsafe extern "C" fn(*mut c_void, *const c_char, usize) -> SbxStatus;
/// `net_request`.
pub type NetFn = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    usize,
    *const u8,
    usize,
    *mut u8,
    usize,
    *mut usize,
) -> SbxStatus;
/// `clock_now`.
pub type ClockFn = unsafe extern "C" fn(*mut c_void, *mut u64) -> SbxStatus;
/// `notify_user`.
pub type NotifyFn = unsafe extern "C" fn(*mut c_void, *const c_char, usize) -> SbxStatus;
/// A reserved slot.
pub type ReservedFn = unsafe extern "C" fn(*mut c_void) -> SbxStatus;

/// `struct sbx_host_api`, field for field.
#[repr(C)]
pub struct HostApi {
    /// `SBX_ABI_VERSION`.
    pub abi_version: u32,
    /// `sizeof(struct sbx_host_api)`.
    pub size: u32,
    /// Opaque context passed back to every function.
    pub ctx: *mut c_void,
    /// Logging.
    pub log: LogFn,
    /// Read-only configuration.
    pub config_get: GetFn,
    /// Storage read.
    pub storage_get: GetFn,
    /// Storage write.
    pub storage_put: PutFn,
    /// Storage delete.
    pub storage_delete: DeleteFn,
    /// Network through the host.
    pub net_request: NetFn,
    /// Wall clock.
    pub clock_now: ClockFn,
    /// User notification.
    pub notify_user: NotifyFn,
    /// Reserved slots.
    pub reserved: [ReservedFn; 8],
}

// SAFETY: the table is immutable once built and `ctx` is never dereferenced by the host side;
// it is shared with plugin threads only as a read-only pointer.
unsafe impl Sync for HostApi {}
// SAFETY: as above.
unsafe impl Send for HostApi {}

unsafe extern "C" fn get_unavailable(
    _: *mut c_void,
    _: *const c_char,
    _: usize,
    _: *mut u8,
    _: usize,
    _: *mut usize,
) -> SbxStatus {
    ERR_UNAVAILABLE
}
unsafe extern "C" fn put_unavailable(
    _: *mut c_void,
    _: *const c_char,
    _: usize,
    _: *const u8,
    _: usize,
) -> SbxStatus {
    ERR_UNAVAILABLE
}
unsafe extern "C" fn delete_unavailable(_: *mut c_void, _: *const c_char, _: usize) -> SbxStatus {
    ERR_UNAVAILABLE
}
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn net_unavailable(
    _: *mut c_void,
    _: *const c_char,
    _: usize,
    _: *const u8,
    _: usize,
    _: *mut u8,
    _: usize,
    _: *mut usize,
) -> SbxStatus {
    ERR_UNAVAILABLE
}
unsafe extern "C" fn clock_unavailable(_: *mut c_void, _: *mut u64) -> SbxStatus {
    ERR_UNAVAILABLE
}
unsafe extern "C" fn reserved_unavailable(_: *mut c_void) -> SbxStatus {
    ERR_UNAVAILABLE
}

impl HostApi {
    /// A table with `log` wired and every service answering `SBX_ERR_UNAVAILABLE`, the
    /// state of a host without a capability broker.
    pub fn new(log: LogFn) -> HostApi {
        HostApi {
            abi_version: ABI_VERSION,
            size: std::mem::size_of::<HostApi>() as u32,
            ctx: std::ptr::null_mut(),
            log,
            config_get: get_unavailable,
            storage_get: get_unavailable,
            storage_put: put_unavailable,
            storage_delete: delete_unavailable,
            net_request: net_unavailable,
            clock_now: clock_unavailable,
            notify_user: delete_unavailable,
            reserved: [reserved_unavailable; 8],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = include_str!("../../include/sbx_plugin.h");

    fn header_define(name: &str) -> i64 {
        let line = HEADER
            .lines()
            .find(|l| l.starts_with(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} not in header"));
        let value = line[format!("#define {name} ").len()..]
            .split("/*")
            .next()
            .unwrap()
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim_end_matches('u');
        value.parse().unwrap_or_else(|_| panic!("{name}: {value}"))
    }

    #[test]
    fn constants_match_the_header() {
        assert_eq!(header_define("SBX_ABI_VERSION"), i64::from(ABI_VERSION));
        for code in [
            OK,
            ERR_INVALID_ARGUMENT,
            ERR_UNKNOWN_METHOD,
            ERR_BUFFER_TOO_SMALL,
            ERR_INTERNAL,
            ERR_DENIED,
            ERR_UNAVAILABLE,
            ERR_LIMIT,
            ERR_NOT_FOUND,
            ERR_PROTOCOL,
        ] {
            assert_eq!(header_define(status_name(code)), i64::from(code));
        }
        assert_eq!(header_define("SBX_MAX_METHOD_LEN"), MAX_METHOD_LEN as i64);
        assert_eq!(header_define("SBX_MAX_LOG_LEN"), MAX_LOG_LEN as i64);
        assert_eq!(header_define("SBX_MAX_KEY_LEN"), MAX_KEY_LEN as i64);
        assert_eq!(
            header_define("SBX_MAX_VALUE_LEN"),
            sbx_ipc::host_call::MAX_VALUE_LEN as i64
        );
    }

    #[test]
    fn table_layout_is_the_c_layout() {
        // 4 + 4 + 8 + 8 function pointers + 8 reserved, all 8-byte aligned on x86_64.
        assert_eq!(std::mem::size_of::<HostApi>(), 16 + 8 * 8 + 8 * 8);
    }
}
