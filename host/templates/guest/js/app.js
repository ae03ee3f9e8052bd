// {{name}}: a middleware guest of `remote` (world `middleware` of `wit/`), in JavaScript, that
// passes every operation through to the layer below unchanged.
//
// Each exported resource class holds the imported one it wraps (`below`). Change a method to
// rewrite its arguments, refuse it by throwing an error record (usually
// `{code: 'access-denied', op, target, message}`), or record it with `log`. An error from below
// propagates unchanged. Streams (a command's pipes, the `*-via-stream` functions) are the layer
// below's, handed on, so bulk data never passes through the JavaScript engine.
import { open as openBelow } from 'remote:machine/backend@0.1.0';

export const guest = {
  // Accepts any configuration; parse `config` (JSON) here and throw a message to refuse it.
  configure(config) {},
};

class Backend {
  constructor(below) { this.below = below; }
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
  open(dest) { return new Backend(openBelow(dest)); },
};

class Session {
  constructor(below) { this.below = below; }
  stdin() { return this.below.stdin(); }
  stdout() { return this.below.stdout(); }
  stderr() { return this.below.stderr(); }
  setenv(name, value) { return this.below.setenv(name, value); }
  start(cmd) { return this.below.start(cmd); }
  wait() { return this.below.wait(); }
  close() { return this.below.close(); }
}

export const session = { Session };

class Client {
  constructor(below) { this.below = below; }
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
  constructor(below) { this.below = below; }
  read(len) { return this.below.read(len); }
  readAt(offset, len) { return this.below.readAt(offset, len); }
  readViaStream(offset) { return this.below.readViaStream(offset); }
  sync() { return this.below.sync(); }
  close() { return this.below.close(); }
}

class WriteHandle {
  constructor(below) { this.below = below; }
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
