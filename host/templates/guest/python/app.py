"""{{name}}: a middleware guest of `remote` (world `middleware` of `wit/`), in Python, that passes
every operation through to the layer below unchanged.

Each exported resource (`Wrapped*`) holds the imported one it wraps (`below`). Change a method to
rewrite its arguments, refuse it by raising `Err(types.Error(...))` (usually with
`types.ErrorCode.ACCESS_DENIED`), or record it with `log.log`. An `Err` from below propagates
unchanged. Streams (a command's pipes, the `*-via-stream` functions) are the layer below's, handed
on, so bulk data never passes through the interpreter.
"""

from wit_world import exports
from wit_world.imports import backend as below


class Guest(exports.Guest):
    def configure(self, config: str) -> None:
        """Accepts any configuration; parse `config` (JSON) here and raise `Err(message)` to
        refuse it."""


class Backend(exports.Backend):
    def open(self, dest: str):
        return WrappedBackend(below.open(dest))


class Session(exports.Session):
    pass


class FileClient(exports.FileClient):
    pass


class WrappedBackend:
    def __init__(self, below):
        self.below = below

    def backend_type(self):
        return self.below.backend_type()

    def addr(self):
        return self.below.addr()

    def user(self):
        return self.below.user()

    def start(self):
        return self.below.start()

    def is_connected(self):
        return self.below.is_connected()

    def last_err(self):
        return self.below.last_err()

    def keep_alive_interval(self):
        return self.below.keep_alive_interval()

    def send_keep_alive(self):
        return self.below.send_keep_alive()

    def new_session(self):
        return WrappedSession(self.below.new_session())

    def files(self):
        return WrappedClient(self.below.files())

    def upload_agent(self, local, remote, mode):
        return self.below.upload_agent(local, remote, mode)

    def detect_platform(self):
        return self.below.detect_platform()

    def close(self):
        return self.below.close()


class WrappedSession:
    def __init__(self, below):
        self.below = below

    def stdin(self):
        return self.below.stdin()

    def stdout(self):
        return self.below.stdout()

    def stderr(self):
        return self.below.stderr()

    def setenv(self, name, value):
        return self.below.setenv(name, value)

    def start(self, cmd):
        return self.below.start(cmd)

    def wait(self):
        return self.below.wait()

    def close(self):
        return self.below.close()


class WrappedClient:
    def __init__(self, below):
        self.below = below

    def open(self, path):
        return WrappedRead(self.below.open(path))

    def create(self, path):
        return WrappedWrite(self.below.create(path))

    def open_file(self, path, flags, mode):
        return WrappedWrite(self.below.open_file(path, flags, mode))

    def stat(self, path):
        return self.below.stat(path)

    def lstat(self, path):
        return self.below.lstat(path)

    def read_dir(self, path):
        return self.below.read_dir(path)

    def readlink(self, path):
        return self.below.readlink(path)

    def mkdir(self, path, mode):
        return self.below.mkdir(path, mode)

    def mkdir_all(self, path, mode):
        return self.below.mkdir_all(path, mode)

    def remove(self, path):
        return self.below.remove(path)

    def rename(self, old, new):
        return self.below.rename(old, new)

    def symlink(self, target, link):
        return self.below.symlink(target, link)

    def link(self, old, new):
        return self.below.link(old, new)

    def chmod(self, path, mode):
        return self.below.chmod(path, mode)

    def chown(self, path, uid, gid):
        return self.below.chown(path, uid, gid)

    def chtimes(self, path, atime, mtime):
        return self.below.chtimes(path, atime, mtime)

    def truncate(self, path, size):
        return self.below.truncate(path, size)

    def statfs(self, path):
        return self.below.statfs(path)

    def getwd(self):
        return self.below.getwd()


class WrappedRead:
    def __init__(self, below):
        self.below = below

    def read(self, len):
        return self.below.read(len)

    def read_at(self, offset, len):
        return self.below.read_at(offset, len)

    def read_via_stream(self, offset):
        return self.below.read_via_stream(offset)

    def sync(self):
        return self.below.sync()

    def close(self):
        return self.below.close()


class WrappedWrite:
    def __init__(self, below):
        self.below = below

    def write(self, data):
        return self.below.write(data)

    def read_at(self, offset, len):
        return self.below.read_at(offset, len)

    def write_at(self, offset, data):
        return self.below.write_at(offset, data)

    def write_via_stream(self, offset):
        return self.below.write_via_stream(offset)

    def append_via_stream(self):
        return self.below.append_via_stream()

    def stat(self):
        return self.below.stat()

    def truncate(self, size):
        return self.below.truncate(size)

    def sync(self):
        return self.below.sync()

    def close(self):
        return self.below.close()
