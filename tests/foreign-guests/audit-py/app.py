"""An audit layer for remote:machine, in Python (componentize-py, world `middleware`).

Every operation of every exported resource is logged through the host's `log` import (at `info`,
or `warn` when it fails, with the error code) and passed to the layer below unchanged: the same
arguments, the same results, the same errors (`Err` is raised again as it came). Streams (a
command's pipes and the `*-via-stream` functions) are the layer below's, handed through, so bulk
data never enters the interpreter.

Configuration (JSON, optional): `{"prefix": "..."}` starts every log line with that text
(default `audit`).
"""

import json

from wit_world import exports
from componentize_py_types import Err
from wit_world.imports import backend as below_backend
from wit_world.imports import log as host_log
from wit_world.imports import types

_prefix = "audit"


def _describe(args):
    return " ".join(repr(a) if isinstance(a, str) else str(a) for a in args if not isinstance(a, bytes))


def _call(op, fn, *args):
    """Logs `op` with its arguments, runs `fn(*args)` on the layer below, and logs a failure
    with its code before raising it again unchanged."""
    what = f"{_prefix}: {op} {_describe(args)}".rstrip()
    host_log.log(host_log.Level.INFO, what)
    try:
        return fn(*args)
    except Err as e:
        code = e.value.code.name.lower().replace("_", "-") if isinstance(e.value, types.Error) else "?"
        host_log.log(host_log.Level.WARN, f"{what}: {code}")
        raise


class Guest(exports.Guest):
    def configure(self, config: str) -> None:
        global _prefix
        try:
            parsed = json.loads(config)
        except ValueError as e:
            raise Err(f"audit: the configuration is not JSON: {e}")
        if not isinstance(parsed, dict):
            raise Err("audit: the configuration must be a JSON object")
        unknown = set(parsed) - {"prefix"}
        if unknown:
            raise Err(f"audit: unknown configuration keys: {sorted(unknown)}")
        prefix = parsed.get("prefix", _prefix)
        if not isinstance(prefix, str):
            raise Err("audit: `prefix` must be a string")
        _prefix = prefix


class Backend(exports.Backend):
    def open(self, dest: str):
        return AuditedBackend(_call("backend.open", below_backend.open, dest))


class Session(exports.Session):
    pass


class FileClient(exports.FileClient):
    pass


class AuditedBackend:
    def __init__(self, below):
        self.below = below

    def backend_type(self):
        return _call("backend.backend-type", self.below.backend_type)

    def addr(self):
        return _call("backend.addr", self.below.addr)

    def user(self):
        return _call("backend.user", self.below.user)

    def start(self):
        return _call("backend.start", self.below.start)

    def is_connected(self):
        return _call("backend.is-connected", self.below.is_connected)

    def last_err(self):
        return _call("backend.last-err", self.below.last_err)

    def keep_alive_interval(self):
        return _call("backend.keep-alive-interval", self.below.keep_alive_interval)

    def send_keep_alive(self):
        return _call("backend.send-keep-alive", self.below.send_keep_alive)

    def new_session(self):
        return AuditedSession(_call("backend.new-session", self.below.new_session))

    def files(self):
        return AuditedClient(_call("backend.files", self.below.files))

    def upload_agent(self, local, remote, mode):
        return _call("backend.upload-agent", self.below.upload_agent, local, remote, mode)

    def detect_platform(self):
        return _call("backend.detect-platform", self.below.detect_platform)

    def close(self):
        return _call("backend.close", self.below.close)


class AuditedSession:
    def __init__(self, below):
        self.below = below

    def stdin(self):
        return _call("session.stdin", self.below.stdin)

    def stdout(self):
        return _call("session.stdout", self.below.stdout)

    def stderr(self):
        return _call("session.stderr", self.below.stderr)

    def setenv(self, name, value):
        return _call("session.setenv", self.below.setenv, name, value)

    def start(self, cmd):
        return _call("session.start", self.below.start, cmd)

    def wait(self):
        return _call("session.wait", self.below.wait)

    def close(self):
        return _call("session.close", self.below.close)


class AuditedClient:
    def __init__(self, below):
        self.below = below

    def open(self, path):
        return AuditedRead(_call("client.open", self.below.open, path))

    def create(self, path):
        return AuditedWrite(_call("client.create", self.below.create, path))

    def open_file(self, path, flags, mode):
        return AuditedWrite(_call("client.open-file", self.below.open_file, path, flags, mode))

    def stat(self, path):
        return _call("client.stat", self.below.stat, path)

    def lstat(self, path):
        return _call("client.lstat", self.below.lstat, path)

    def read_dir(self, path):
        return _call("client.read-dir", self.below.read_dir, path)

    def readlink(self, path):
        return _call("client.readlink", self.below.readlink, path)

    def mkdir(self, path, mode):
        return _call("client.mkdir", self.below.mkdir, path, mode)

    def mkdir_all(self, path, mode):
        return _call("client.mkdir-all", self.below.mkdir_all, path, mode)

    def remove(self, path):
        return _call("client.remove", self.below.remove, path)

    def rename(self, old, new):
        return _call("client.rename", self.below.rename, old, new)

    def symlink(self, target, link):
        return _call("client.symlink", self.below.symlink, target, link)

    def link(self, old, new):
        return _call("client.link", self.below.link, old, new)

    def chmod(self, path, mode):
        return _call("client.chmod", self.below.chmod, path, mode)

    def chown(self, path, uid, gid):
        return _call("client.chown", self.below.chown, path, uid, gid)

    def chtimes(self, path, atime, mtime):
        return _call("client.chtimes", self.below.chtimes, path, atime, mtime)

    def truncate(self, path, size):
        return _call("client.truncate", self.below.truncate, path, size)

    def statfs(self, path):
        return _call("client.statfs", self.below.statfs, path)

    def getwd(self):
        return _call("client.getwd", self.below.getwd)


class AuditedRead:
    def __init__(self, below):
        self.below = below

    def read(self, len):
        return _call("read-handle.read", self.below.read, len)

    def read_at(self, offset, len):
        return _call("read-handle.read-at", self.below.read_at, offset, len)

    def read_via_stream(self, offset):
        return _call("read-handle.read-via-stream", self.below.read_via_stream, offset)

    def sync(self):
        return _call("read-handle.sync", self.below.sync)

    def close(self):
        return _call("read-handle.close", self.below.close)


class AuditedWrite:
    def __init__(self, below):
        self.below = below

    def write(self, data):
        return _call("write-handle.write", self.below.write, data)

    def read_at(self, offset, len):
        return _call("write-handle.read-at", self.below.read_at, offset, len)

    def write_at(self, offset, data):
        return _call("write-handle.write-at", self.below.write_at, offset, data)

    def write_via_stream(self, offset):
        return _call("write-handle.write-via-stream", self.below.write_via_stream, offset)

    def append_via_stream(self):
        return _call("write-handle.append-via-stream", self.below.append_via_stream)

    def stat(self):
        return _call("write-handle.stat", self.below.stat)

    def truncate(self, size):
        return _call("write-handle.truncate", self.below.truncate, size)

    def sync(self):
        return _call("write-handle.sync", self.below.sync)

    def close(self):
        return _call("write-handle.close", self.below.close)
