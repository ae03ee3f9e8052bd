// A command policy for remote:machine, in JavaScript (jco componentize / ComponentizeJS, world
// `middleware`).
//
// Configuration (JSON): `{"deny": ["rm", "/sbin/reboot", ...]}`. A command whose program, or the
// program of any part of it (split at `;`, `&`, `|`, newlines, parentheses, backquotes and `$(`),
// is named in `deny` (by its name or its full path) is refused at `session.start` with
// `access-denied`. The split is a word-level check, not a shell parser: the Rust `policy` guest is
// the one to use where a command must not get past. Everything else passes through to the layer
// below unchanged, streams included.
import { open as openBelow } from 'remote:machine/backend@0.1.0';
import { log } from 'remote:machine/log@0.1.0';

let denied = new Set();

// The programs a shell command runs: the first word of each part that is not a variable
// assignment, with any quotes around it dropped.
function programs(cmd) {
  return cmd
    .split(/\$\(|[;&|\n()`]/)
    .map((part) => part.trim().split(/\s+/).filter((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w))[0])
    .filter((word) => word)
    .map((word) => word.replace(/^['"]|['"]$/g, ''));
}

function refusal(cmd) {
  for (const program of programs(cmd)) {
    const base = program.slice(program.lastIndexOf('/') + 1);
    if (denied.has(program) || denied.has(base)) {
      return program;
    }
  }
  return null;
}

export const guest = {
  configure(config) {
    let parsed;
    try {
      parsed = JSON.parse(config);
    } catch (e) {
      throw `policy-js: the configuration is not JSON: ${e.message}`;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw 'policy-js: the configuration must be a JSON object';
    }
    const unknown = Object.keys(parsed).filter((k) => k !== 'deny');
    if (unknown.length > 0) {
      throw `policy-js: unknown configuration keys: ${unknown.join(', ')}`;
    }
    const deny = parsed.deny ?? [];
    if (!Array.isArray(deny) || !deny.every((p) => typeof p === 'string' && p !== '')) {
      throw 'policy-js: `deny` must be a list of program names';
    }
    denied = new Set(deny);
  },
};

class Backend {
  constructor(below) {
    this.below = below;
  }
  backendType() { return this.below.backendType(); }
  addr() { return this.below.addr(); }
  user() { return this.below.user(); }
  start() { return this.below.start(); }
  isConnected() { return this.below.isConnected(); }
  lastErr() { return this.below.lastErr(); }
  keepAliveInterval() { return this.below.keepAliveInterval(); }
  sendKeepAlive() { return this.below.sendKeepAlive(); }
  newSession() { return new Session(this.below.newSession()); }
  files() { return new Client(this.below.files()); }
  uploadAgent(local, remote, mode) { return this.below.uploadAgent(local, remote, mode); }
  detectPlatform() { return this.below.detectPlatform(); }
  close() { return this.below.close(); }
}

export const backend = {
  Backend,
  open(dest) {
    return new Backend(openBelow(dest));
  },
};

class Session {
  constructor(below) {
    this.below = below;
  }
  stdin() { return this.below.stdin(); }
  stdout() { return this.below.stdout(); }
  stderr() { return this.below.stderr(); }
  setenv(name, value) { return this.below.setenv(name, value); }
  start(cmd) {
    const program = refusal(cmd);
    if (program !== null) {
      log('warn', `policy-js: refused ${JSON.stringify(cmd)}: ${program} is denied`);
      throw {
        code: 'access-denied',
        op: 'start',
        target: cmd,
        message: `policy-js: the program ${program} is denied`,
      };
    }
    return this.below.start(cmd);
  }
  wait() { return this.below.wait(); }
  close() { return this.below.close(); }
}

export const session = { Session };

class Client {
  constructor(below) {
    this.below = below;
  }
  open(path) { return new ReadHandle(this.below.open(path)); }
  create(path) { return new WriteHandle(this.below.create(path)); }
  openFile(path, flags, mode) { return new WriteHandle(this.below.openFile(path, flags, mode)); }
  stat(path) { return this.below.stat(path); }
  lstat(path) { return this.below.lstat(path); }
  readDir(path) { return this.below.readDir(path); }
  readlink(path) { return this.below.readlink(path); }
  mkdir(path, mode) { return this.below.mkdir(path, mode); }
  mkdirAll(path, mode) { return this.below.mkdirAll(path, mode); }
  remove(path) { return this.below.remove(path); }
  rename(from, to) { return this.below.rename(from, to); }
  symlink(target, link) { return this.below.symlink(target, link); }
  link(from, to) { return this.below.link(from, to); }
  chmod(path, mode) { return this.below.chmod(path, mode); }
  chown(path, uid, gid) { return this.below.chown(path, uid, gid); }
  chtimes(path, atime, mtime) { return this.below.chtimes(path, atime, mtime); }
  truncate(path, size) { return this.below.truncate(path, size); }
  statfs(path) { return this.below.statfs(path); }
  getwd() { return this.below.getwd(); }
}

class ReadHandle {
  constructor(below) {
    this.below = below;
  }
  read(len) { return this.below.read(len); }
  readAt(offset, len) { return this.below.readAt(offset, len); }
  readViaStream(offset) { return this.below.readViaStream(offset); }
  sync() { return this.below.sync(); }
  close() { return this.below.close(); }
}

class WriteHandle {
  constructor(below) {
    this.below = below;
  }
  write(data) { return this.below.write(data); }
  readAt(offset, len) { return this.below.readAt(offset, len); }
  writeAt(offset, data) { return this.below.writeAt(offset, data); }
  writeViaStream(offset) { return this.below.writeViaStream(offset); }
  appendViaStream() { return this.below.appendViaStream(); }
  stat() { return this.below.stat(); }
  truncate(size) { return this.below.truncate(size); }
  sync() { return this.below.sync(); }
  close() { return this.below.close(); }
}

export const fileClient = { Client, ReadHandle, WriteHandle };
