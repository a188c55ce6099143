#!/usr/bin/env python3
"""A test adapter that answers every `load_package` with `refused`.

It is the Python example adapter (conformance/adapters/example_adapter.py) with
`load_package` added. With --run-then-refuse it is a liar: it loads the package's
plugin.so (running its constructors), ends the process and then answers `refused` all
the same. Without it, it refuses without running anything. The harness must tell the
two apart from what it measures, not from the answer, which is the same.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "conformance", "adapters"))
import example_adapter as ex  # noqa: E402

RUN_THEN_REFUSE = "--run-then-refuse" in sys.argv[1:]


class RefusingAdapter(ex.Adapter):
    def op_hello(self, req):
        hello = dict(ex.HELLO)
        hello["features"] = hello["features"] + ["signatures"]
        return hello

    def op_load_package(self, req):
        if RUN_THEN_REFUSE:
            name = req["plugin"]
            self.op_load({"plugin": name, "policy": req["policy"],
                          "config_b64": req["config_b64"],
                          "path": os.path.join(req["package"], "plugin.so")})
            self.end(self.plugins.pop(name), "killed_by_host", "refused")
        raise ex.Failure("refused", "the package's signature does not verify")


def main():
    adapter = RefusingAdapter()
    for line in sys.stdin.buffer:
        if not adapter.handle(line):
            break
    adapter.op_bye({})
    return 0


if __name__ == "__main__":
    sys.exit(main())
