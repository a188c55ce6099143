#!/usr/bin/env python3
"""Example adapter for adapter protocol v1, in Python 3 (standard library only).

An adapter is the bridge between the conformance harness and a sandbox under test. The
harness writes one JSON request per line on our stdin; we answer with one JSON object per
line on stdout: {"id": N, "ok": {...}} or {"id": N, "error": {"kind", "message",
"termination"}}, optionally preceded by events such as {"event": "log", ...}. The Rust
form of the protocol is harness/src/protocol.rs; the plugin C ABI is
sandbox/include/sbx_plugin.h. Nothing here is specific to Python: copy the structure.

The "sandbox" of this example is deliberately simple: each plugin runs in its own forked
child process under a few resource limits, and the parent enforces deadlines and reports
how the child ended. It does NOT filter system calls or hide the file system or network,
so it is a protocol example, not a sandbox to certify.

Parent <-> child talk over two pipes with a private framing: a 4-byte big-endian length,
then a UTF-8 JSON object. The plugin runs inside the child, so it can write anything to
that pipe: the parent treats every frame as untrusted (bounded, validated).
"""

import base64, ctypes, json, math, os, resource, select, signal, struct, sys, threading, time

PROTOCOL = 1
HELLO = {"name": "python example adapter", "version": "1.0", "protocol": PROTOCOL,
         "features": ["termination_reasons"]}
MAX_LOGS = 256        # log records forwarded per plugin; the rest are dropped
MAX_LOG_LEN = 4096    # SBX_MAX_LOG_LEN
SBX_OK, SBX_ERR_INVALID_ARGUMENT, SBX_ERR_UNAVAILABLE, SBX_ERR_LIMIT, SBX_ERR_PROTOCOL = 0, -1, -6, -7, -9
LEVELS = ["error", "warn", "info", "debug"]  # sbx_log_level 0..3

# ---- The plugin ABI in ctypes (sbx_plugin.h) ---------------------------------------------
LOG_FN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t)
# Every service slot returns sbx_status. Our stubs ignore their arguments, so one
# "ctx only" signature serves them all (extra arguments sit unread in registers/stack).
SERVICE_FN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)
SERVICES = ["config_get", "storage_get", "storage_put", "storage_delete", "net_request",
            "clock_now", "notify_user"]

class HostApi(ctypes.Structure):
    _fields_ = ([("abi_version", ctypes.c_uint32), ("size", ctypes.c_uint32),
                 ("ctx", ctypes.c_void_p), ("log", LOG_FN)]
                + [(name, SERVICE_FN) for name in SERVICES] + [("reserved", SERVICE_FN * 8)])

# ---- The private parent <-> child framing --------------------------------------------------
# parent -> child: {"t": "invoke", "method", "input_b64"} | {"t": "shutdown"}
# child -> parent: {"t": "ready"} | {"t": "refused", "message"} | {"t": "log", "level",
#                  "message"} | {"t": "result", "status", "output_b64"}
def frame(obj):
    data = json.dumps(obj).encode()
    return struct.pack(">I", len(data)) + data

def _write_all(fd, data):  # blocking descriptors only
    while data:
        data = data[os.write(fd, data):]

def _read_exact(fd, n):  # the child's reader: the parent is trusted, EOF means "go away"
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            os._exit(0)
        data += chunk
    return data

def emit(obj):
    """One protocol line on stdout, flushed. The only place that writes to stdout."""
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()

class Failure(Exception):
    """An error answer: kind is one of refused/terminated/unsupported/invalid/internal."""
    def __init__(self, kind, message, termination=None):
        super().__init__(message)
        self.body = {"kind": kind, "message": message}
        if termination:
            self.body["termination"] = termination

def ended(termination):
    return Failure("terminated", "plugin ended: " + termination["reason"], termination)

def cpu_seconds_allowed(policy):
    """The policy's CPU time as RLIMIT_CPU's soft limit: whole seconds, at least one."""
    return max(1, math.ceil(policy["limits"]["cpu_ms"] / 1000))

def describe(status, rusage, policy):
    """A wait4 status and rusage as a protocol termination."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = "signal %d" % sig
        # RLIMIT_CPU's soft limit sends SIGXCPU, its hard limit (a second on) SIGKILL: a
        # SIGKILL with the CPU time used up is the limit. Say so rather than just "signal".
        used = rusage.ru_utime + rusage.ru_stime
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and used >= cpu_seconds_allowed(policy)):
            return {"reason": "cpu_limit", "detail": "%s after %.1f s of CPU" % (name, used)}
        return {"reason": "signal", "detail": name}
    return {"reason": "exit", "detail": "exit status %d" % os.WEXITSTATUS(status)}

# ---- The child: loads one plugin and serves the parent's commands ------------------------
def child_main(path, policy, config, cmd_r, evt_w):
    # Never touch the protocol channel: stdin and stdout become /dev/null (stderr stays,
    # for diagnostics). Close every other inherited descriptor (other plugins' pipes too).
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    lo = 3
    for fd in sorted({cmd_r, evt_w}) + [os.sysconf("SC_OPEN_MAX")]:
        os.closerange(lo, fd)
        lo = fd + 1
    os.environ.clear()  # scrub the adapter's environment from the plugin's `environ`
    os.setpgid(0, 0)    # own process group: the parent can stop/kill plugin + offspring

    lock = threading.Lock()  # plugin threads may log while the main thread answers
    logs_sent = 0
    def send(obj):
        with lock:
            _write_all(evt_w, frame(obj))

    # Limits, applied before the plugin's code (constructors included) runs. RLIMIT_NOFILE
    # caps descriptor *numbers*: leave room for the ones we hold (0-2 and the pipes).
    limits = policy["limits"]
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    cpu = cpu_seconds_allowed(policy)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL
    nofile = max(cmd_r, evt_w) + 1 + limits["open_files"]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(nofile, hard), min(nofile, hard)))
    # (Threads are not limited: RLIMIT_NPROC counts the whole user, not this process.)

    def refuse(message):
        send({"t": "refused", "message": message})
        os._exit(0)
    try:
        lib = ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
    except OSError as e:
        refuse("dlopen failed: %s" % e)
    try:
        version = ctypes.c_uint32.in_dll(lib, "sbx_plugin_abi_version").value
        init, invoke, shutdown = lib.sbx_plugin_init, lib.sbx_plugin_invoke, lib.sbx_plugin_shutdown
    except (ValueError, AttributeError) as e:
        refuse("missing export: %s" % e)
    if version != 1:
        refuse("ABI version %d, expected 1" % version)
    init.argtypes = [ctypes.POINTER(HostApi), ctypes.c_char_p, ctypes.c_size_t]
    invoke.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
                       ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
    init.restype = invoke.restype = ctypes.c_int32
    shutdown.argtypes, shutdown.restype = [], None

    @LOG_FN
    def host_log(ctx, level, msg, length):
        nonlocal logs_sent
        if not msg or length > MAX_LOG_LEN or not 0 <= level < len(LEVELS):
            return SBX_ERR_INVALID_ARGUMENT
        with lock:
            if logs_sent >= MAX_LOGS:
                return SBX_ERR_LIMIT
            logs_sent += 1
        text = ctypes.string_at(msg, length).decode("utf-8", "replace")
        try:
            send({"t": "log", "level": LEVELS[level], "message": text})
        except OSError:
            return SBX_ERR_PROTOCOL
        return SBX_OK

    unavailable = SERVICE_FN(lambda ctx: SBX_ERR_UNAVAILABLE)
    host = HostApi(1, ctypes.sizeof(HostApi), None, host_log,
                   *[unavailable] * len(SERVICES), (SERVICE_FN * 8)(*[unavailable] * 8))
    rc = init(ctypes.byref(host), config, len(config))
    if rc != SBX_OK:
        refuse("sbx_plugin_init returned %d" % rc)
    send({"t": "ready"})

    cap = limits["output_bytes"]
    while True:  # one command at a time; EOF (the adapter went away) ends the child
        (n,) = struct.unpack(">I", _read_exact(cmd_r, 4))
        cmd = json.loads(_read_exact(cmd_r, n))
        if cmd["t"] == "shutdown":
            shutdown()
            os._exit(0)
        method, data = cmd["method"].encode(), base64.b64decode(cmd["input_b64"])
        out, out_len = ctypes.create_string_buffer(cap), ctypes.c_size_t(0)
        status = invoke(method, len(method), data, len(data), out, cap, ctypes.byref(out_len))
        if status == SBX_OK and out_len.value > cap:
            status = SBX_ERR_PROTOCOL  # claimed more than the buffer: the ABI says discard
        output = out.raw[:min(out_len.value, cap)] if status == SBX_OK else b""
        send({"t": "result", "status": status, "output_b64": base64.b64encode(output).decode()})

# ---- The parent: one Plugin record per loaded handle -------------------------------------
class Plugin:
    def __init__(self, name, pid, to_child, from_child, policy):
        self.name, self.pid, self.to_child, self.from_child = name, pid, to_child, from_child
        self.policy, self.buf, self.logs, self.ended = policy, b"", 0, None
        self.max_frame = 65536 + 2 * policy["limits"]["output_bytes"]
        os.set_blocking(to_child, False)  # so a stuck child cannot block our writes

class Adapter:
    def __init__(self):
        self.plugins = {}

    def pump(self, p, deadline):
        """Reads p's frames until a non-log frame (returned), or "timeout", "eof", "bad".
        Log frames become log events right away (so they precede the answer)."""
        while True:
            if len(p.buf) >= 4:
                (n,) = struct.unpack(">I", p.buf[:4])
                if n > p.max_frame:
                    return "bad"
                if len(p.buf) >= 4 + n:
                    raw, p.buf = p.buf[4:4 + n], p.buf[4 + n:]
                    try:
                        msg = json.loads(raw)
                    except ValueError:
                        return "bad"
                    if not isinstance(msg, dict):
                        return "bad"
                    if msg.get("t") != "log":
                        return msg
                    if p.logs < MAX_LOGS:
                        p.logs += 1
                        emit({"event": "log", "plugin": p.name, "level": str(msg.get("level")),
                              "message": str(msg.get("message"))[:MAX_LOG_LEN]})
                    continue
            ready, _, _ = select.select([p.from_child], [], [], max(0, deadline - time.monotonic()))
            if not ready:
                return "timeout"
            chunk = os.read(p.from_child, 65536)
            if not chunk:
                return "eof"
            p.buf += chunk

    def end(self, p, reason, detail, grace=0.0):
        """Makes sure p's process is gone and records how it ended: its own exit or signal
        if it ends within `grace` seconds, else we kill it and report `reason`."""
        if p.ended:
            return p.ended
        give_up = time.monotonic() + grace
        while True:
            pid, status, rusage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                return self.release(p, describe(status, rusage, p.policy))
            if time.monotonic() >= give_up:
                self.signal(p, signal.SIGKILL)
                os.waitpid(p.pid, 0)
                return self.release(p, {"reason": reason, "detail": detail})
            time.sleep(0.01)

    def release(self, p, termination):
        """Records the termination of p's (reaped) process and frees what it held."""
        p.ended = termination
        self.signal(p, signal.SIGKILL)  # whatever the plugin left behind in its group
        os.close(p.to_child)
        os.close(p.from_child)
        return termination

    def signal(self, p, sig):
        try:
            os.killpg(p.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def exchange(self, p, command, budget_ms):
        """Sends one command (None: just wait) and returns the child's next frame, within
        budget_ms. Any failure ends the child and raises a `terminated` Failure."""
        deadline = time.monotonic() + budget_ms / 1000
        data = frame(command) if command is not None else b""
        try:
            while data:
                if not select.select([], [p.to_child], [], max(0, deadline - time.monotonic()))[1]:
                    raise ended(self.end(p, "wall_timeout", "no answer in %d ms" % budget_ms))
                try:
                    data = data[os.write(p.to_child, data):]
                except BlockingIOError:
                    pass
        except BrokenPipeError:
            raise ended(self.end(p, "protocol_violation", "channel closed", grace=0.5))
        got = self.pump(p, deadline)
        if got == "timeout":
            raise ended(self.end(p, "wall_timeout", "no answer in %d ms" % budget_ms))
        if got == "eof":  # usually a crash: give the kernel a moment to report it
            raise ended(self.end(p, "protocol_violation", "channel closed", grace=0.5))
        if got == "bad":
            raise ended(self.end(p, "protocol_violation", "malformed frame"))
        return got

    def sweep(self):
        """Before each request: forward pending logs, report plugins that died meanwhile."""
        for p in self.plugins.values():
            if not p.ended:
                while isinstance(self.pump(p, 0), dict):
                    pass  # stray frames (a plugin may write to our pipe) are dropped
                pid, status, rusage = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    t = self.release(p, describe(status, rusage, p.policy))
                    emit({"event": "terminated", "plugin": p.name, "termination": t})

    def live(self, req):
        p = self.plugins.get(req["plugin"])
        if p is None:
            raise Failure("invalid", "no plugin %r" % req["plugin"])
        if p.ended:
            raise ended(p.ended)
        return p

    # ---- Operations: each returns the "ok" object or raises Failure ----
    def op_hello(self, req):
        return HELLO  # always protocol 1: the harness refuses us if it wants another

    def op_load(self, req):
        name, policy = req["plugin"], req["policy"]
        numbers = ([policy["limits"][k] for k in ("memory_bytes", "cpu_ms", "open_files", "output_bytes")]
                   + [policy["deadlines"][k] for k in ("init_ms", "call_ms", "shutdown_ms")])
        if not all(type(n) is int and n >= 0 for n in numbers):  # check before forking
            raise ValueError("policy numbers must be non-negative integers")
        if name in self.plugins and not self.plugins[name].ended:
            raise Failure("invalid", "plugin %r is already loaded" % name)
        config = base64.b64decode(req["config_b64"], validate=True)
        cmd_r, cmd_w = os.pipe()
        evt_r, evt_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns into the request loop
            try:
                child_main(req["path"], policy, config, cmd_r, evt_w)
            except BaseException as e:
                print("example adapter child: %r" % e, file=sys.stderr)
            os._exit(1)
        os.close(cmd_r)
        os.close(evt_w)
        try:
            os.setpgid(pid, pid)  # also done by the child; whichever runs first wins
        except OSError:
            pass
        p = self.plugins[name] = Plugin(name, pid, cmd_w, evt_r, policy)
        try:
            reply = self.exchange(p, None, policy["deadlines"]["init_ms"])
        except Failure:
            del self.plugins[name]
            raise
        if reply.get("t") == "ready":
            return {}
        del self.plugins[name]
        if reply.get("t") == "refused":  # the child exits by itself right after
            self.end(p, "killed_by_host", "refused", grace=1.0)
            raise Failure("refused", str(reply.get("message")))
        raise ended(self.end(p, "protocol_violation", "unexpected frame"))

    def op_invoke(self, req):
        p = self.live(req)
        base64.b64decode(req["input_b64"], validate=True)  # reject bad base64 as invalid
        reply = self.exchange(p, {"t": "invoke", "method": req["method"],
                                  "input_b64": req["input_b64"]}, p.policy["deadlines"]["call_ms"])
        status, out = reply.get("status"), reply.get("output_b64")
        try:  # the child is untrusted: check the shape and the output bound
            ok = (reply.get("t") == "result" and type(status) is int and -2**31 <= status < 2**31
                  and len(base64.b64decode(out, validate=True)) <= p.policy["limits"]["output_bytes"])
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ended(self.end(p, "protocol_violation", "malformed result"))
        return {"status": status, "output_b64": out}

    def op_pause(self, req):
        self.signal(self.live(req), signal.SIGSTOP)
        return {}

    def op_resume(self, req):
        self.signal(self.live(req), signal.SIGCONT)
        return {}

    def op_revoke(self, req):
        raise Failure("unsupported", "this adapter has no capability broker")

    def op_unload(self, req):
        p = self.plugins.pop(req["plugin"], None)
        if p is None:
            raise Failure("invalid", "no plugin %r" % req["plugin"])
        if p.ended:
            raise ended(p.ended)
        self.signal(p, signal.SIGCONT)  # a paused plugin must run to shut down
        budget = p.policy["deadlines"]["shutdown_ms"]
        deadline = time.monotonic() + budget / 1000
        try:
            os.write(p.to_child, frame({"t": "shutdown"}))  # tiny: fits in the idle pipe
        except OSError:
            pass  # the child is gone or stuck: `end` below tells which
        while isinstance(self.pump(p, deadline), dict):
            pass  # forward logs until the child closes its end (or the deadline)
        t = self.end(p, "wall_timeout", "shutdown took over %d ms" % budget,
                     grace=max(0, deadline - time.monotonic()))
        return {"termination": t}

    def op_bye(self, req):
        for p in self.plugins.values():
            self.end(p, "killed_by_host", "session ended")
        self.plugins.clear()
        return {}

    def handle(self, line):
        """Answers one request line; returns False after `bye`."""
        try:
            req = json.loads(line)
            if not isinstance(req, dict) or type(req.get("id")) is not int:
                raise ValueError("not a request object")
        except ValueError as e:  # no id to answer to: id 0 is never used by a harness
            emit({"id": 0, "error": {"kind": "invalid", "message": "malformed request: %s" % e}})
            return True
        handler = getattr(self, "op_%s" % req.get("op"), None)
        try:
            self.sweep()
            if handler is None:
                raise Failure("invalid", "unknown op")
            emit({"id": req["id"], "ok": handler(req)})
        except Failure as f:
            emit({"id": req["id"], "error": f.body})
        except (KeyError, TypeError, ValueError) as e:
            emit({"id": req["id"], "error": {"kind": "invalid", "message": "bad request: %r" % e}})
        except OSError as e:
            emit({"id": req["id"], "error": {"kind": "internal", "message": str(e)}})
        return req.get("op") != "bye"

def main():
    # argv is ignored (the harness appends --sbx-canary=...); never print argv or environ.
    adapter = Adapter()
    for line in sys.stdin.buffer:
        if not adapter.handle(line):
            break
    adapter.op_bye({})  # EOF or bye: no child outlives us
    return 0

if __name__ == "__main__":
    sys.exit(main())
