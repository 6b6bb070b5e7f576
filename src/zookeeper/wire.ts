/**
 * A read-only ZooKeeper session speaking the wire protocol directly, for exports. node-zookeeper-client
 * cannot send multiRead (3.6+: many getData/getChildren in one request) or addWatch (3.6+: one
 * persistent recursive watch for a whole subtree), and those two are what make an export cheap:
 * ZooKeeper's cost is per request, not per byte.
 */
import { Socket } from 'node:net';
import { ZkError, type ZkClient } from './client';

const OP = { getData: 4, getACL: 6, getChildren: 8, exists: 3, ping: 11, getChildren2: 12, multiRead: 22, addWatch: 106, auth: 100, close: -11 } as const;
const XID = { notification: -1, ping: -2, auth: -4 } as const;
export const EVENT = { created: 1, deleted: 2, dataChanged: 3, childrenChanged: 4 } as const;

const CODES: Record<number, string> = {
  [-1]: 'SYSTEM_ERROR', [-2]: 'RUNTIME_INCONSISTENCY', [-3]: 'DATA_INCONSISTENCY', [-4]: 'CONNECTION_LOSS', [-5]: 'MARSHALLING_ERROR',
  [-6]: 'UNIMPLEMENTED', [-7]: 'OPERATION_TIMEOUT', [-8]: 'BAD_ARGUMENTS', [-100]: 'API_ERROR', [-101]: 'NO_NODE', [-102]: 'NO_AUTH',
  [-103]: 'BAD_VERSION', [-108]: 'NO_CHILDREN_FOR_EPHEMERALS', [-110]: 'NODE_EXISTS', [-111]: 'NOT_EMPTY', [-112]: 'SESSION_EXPIRED',
  [-114]: 'INVALID_ACL', [-115]: 'AUTH_FAILED', [-118]: 'SESSION_MOVED', [-121]: 'NO_WATCHER',
};
export const codeName = (err: number): string => CODES[err] ?? `ERROR_${err}`;
const zkErr = (err: number, op: string, path: string): ZkError => new ZkError(`ZooKeeper ${op} ${path}: ${codeName(err)}`, codeName(err));

export interface WireStat {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}
export interface WireAcl {
  perms: number;
  scheme: string;
  id: string;
}
/** One multiRead result: data and stat for getData, children for getChildren, or an error code. */
export type ReadResult = { err: 0; data: Buffer | null; stat: WireStat | null; children: string[] | null } | { err: number };

class Enc {
  private b = Buffer.allocUnsafe(256);
  private o = 4; // length prefix written by done()
  private room(n: number): void {
    if (this.o + n <= this.b.length) return;
    const nb = Buffer.allocUnsafe(Math.max(this.b.length * 2, this.o + n));
    this.b.copy(nb, 0, 0, this.o);
    this.b = nb;
  }
  int(v: number): this {
    this.room(4);
    this.o = this.b.writeInt32BE(v, this.o);
    return this;
  }
  long(v: bigint): this {
    this.room(8);
    this.o = this.b.writeBigInt64BE(v, this.o);
    return this;
  }
  bool(v: boolean): this {
    this.room(1);
    this.o = this.b.writeUInt8(v ? 1 : 0, this.o);
    return this;
  }
  bytes(v: Buffer): this {
    this.int(v.length).room(v.length);
    this.o += v.copy(this.b, this.o);
    return this;
  }
  str(v: string): this {
    return this.bytes(Buffer.from(v, 'utf8'));
  }
  done(): Buffer {
    this.b.writeInt32BE(this.o - 4, 0);
    return this.b.subarray(0, this.o);
  }
}

class Dec {
  constructor(
    readonly b: Buffer,
    public o = 0,
  ) {}
  int(): number {
    const v = this.b.readInt32BE(this.o);
    this.o += 4;
    return v;
  }
  long(): bigint {
    const v = this.b.readBigInt64BE(this.o);
    this.o += 8;
    return v;
  }
  bool(): boolean {
    return this.b[this.o++] !== 0;
  }
  bytes(): Buffer | null {
    const n = this.int();
    if (n < 0) return null;
    const v = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return v;
  }
  str(): string {
    return this.bytes()?.toString('utf8') ?? '';
  }
  strs(): string[] {
    const n = this.int();
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.str());
    return out;
  }
  stat(): WireStat {
    return {
      czxid: this.long(),
      mzxid: this.long(),
      ctime: this.long(),
      mtime: this.long(),
      version: this.int(),
      cversion: this.int(),
      aversion: this.int(),
      ephemeralOwner: this.long(),
      dataLength: this.int(),
      numChildren: this.int(),
      pzxid: this.long(),
    };
  }
}

export interface WireOptions {
  servers: { host: string; port: number }[];
  chroot?: string;
  credentials: { scheme: string; auth: Buffer }[];
  sessionTimeoutMs: number;
  connectTimeoutMs?: number;
}

/** Where and as whom a node-zookeeper-client session is connected, to open a sibling session. */
export function wireOptionsOf(client: ZkClient): WireOptions {
  const cm = (client as unknown as { connectionManager: { connectionStringParser: { getServers(): { host: string; port: number | string }[] }; chrootPath?: string; credentials: { scheme: string; auth: Buffer }[]; sessionTimeout: number } }).connectionManager;
  return {
    servers: cm.connectionStringParser.getServers().map((s) => ({ host: s.host, port: Number(s.port) })),
    chroot: cm.chrootPath || undefined,
    credentials: [...cm.credentials],
    sessionTimeoutMs: cm.sessionTimeout || 30_000,
  };
}

interface Pending {
  resolve: (d: Dec) => void;
  reject: (e: Error) => void;
  op: string;
  path: string;
}

export class ZkWire {
  /** Watch notifications (absolute paths, chroot removed). */
  onEvent: (type: number, path: string) => void = () => {};
  /** The zxid of the latest reply: the server's last processed zxid when it answered. */
  lastZxid = 0n;
  private readonly pending = new Map<number, Pending>();
  private readonly authWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private xid = 1;
  private out: Buffer[] = [];
  private flushQueued = false;
  private chunks: Buffer[] = [];
  private have = 0;
  private need = 4;
  private failure: ZkError | null = null;
  private connected!: (d: Dec) => void;
  private ping: NodeJS.Timeout | undefined;

  private constructor(
    private readonly sock: Socket,
    private readonly chroot: string,
  ) {}

  static async open(o: WireOptions): Promise<ZkWire> {
    let last: unknown;
    for (const s of o.servers) {
      try {
        return await ZkWire.openOne(s.host, s.port, o);
      } catch (e) {
        last = e;
      }
    }
    throw last ?? new ZkError('ZooKeeper: no servers', 'CONNECTION_LOSS');
  }

  private static async openOne(host: string, port: number, o: WireOptions): Promise<ZkWire> {
    const sock = new Socket();
    const w = new ZkWire(sock, (o.chroot ?? '').replace(/\/+$/, ''));
    const timeoutMs = o.connectTimeoutMs ?? 15_000;
    const handshake = new Promise<Dec>((resolve, reject) => {
      const t = setTimeout(() => reject(new ZkError(`could not connect to ZooKeeper at ${host}:${port} within ${timeoutMs / 1000}s`, 'CONNECTION_LOSS')), timeoutMs);
      w.connected = (d) => {
        clearTimeout(t);
        resolve(d);
      };
      sock.once('error', (e) => {
        clearTimeout(t);
        reject(new ZkError(`ZooKeeper ${host}:${port}: ${e.message}`, 'CONNECTION_LOSS'));
      });
    });
    sock.setNoDelay(true);
    sock.on('data', (c: Buffer) => w.onData(c));
    sock.on('close', () => w.fail(new ZkError(`ZooKeeper connection to ${host}:${port} closed`, 'CONNECTION_LOSS')));
    sock.on('error', () => {}); // 'close' follows
    sock.connect(port, host, () => {
      sock.write(new Enc().int(0).long(0n).int(o.sessionTimeoutMs).long(0n).bytes(Buffer.alloc(16)).bool(false).done());
    });
    try {
      const d = await handshake;
      d.int(); // protocol version
      const timeout = d.int();
      if (timeout <= 0) throw new ZkError('ZooKeeper refused the session', 'SESSION_EXPIRED');
      w.ping = setInterval(() => w.write(new Enc().int(XID.ping).int(OP.ping).done()), Math.max(500, Math.floor(timeout / 3)));
      w.ping.unref();
      await Promise.all(
        o.credentials.map(
          (c) =>
            new Promise<void>((resolve, reject) => {
              w.authWaiters.push({ resolve, reject });
              w.write(new Enc().int(XID.auth).int(OP.auth).int(0).str(c.scheme).bytes(c.auth).done());
            }),
        ),
      );
      return w;
    } catch (e) {
      w.destroy();
      throw e;
    }
  }

  private write(b: Buffer): void {
    this.out.push(b);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // One write per tick: thousands of small requests become a few large writes.
    setImmediate(() => {
      this.flushQueued = false;
      const bufs = this.out;
      this.out = [];
      if (!this.sock.destroyed) this.sock.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs));
    });
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (this.have < this.need) return; // a large reply still arriving: concatenate once, at the end
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.have);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readInt32BE(off);
      if (buf.length - off < 4 + len) break;
      this.frame(new Dec(buf.subarray(off + 4, off + 4 + len)));
      off += 4 + len;
    }
    const rest = buf.subarray(off);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.have = rest.length;
    this.need = rest.length >= 4 ? 4 + rest.readInt32BE(0) : 4;
  }

  private frame(d: Dec): void {
    if (this.connected) {
      const c = this.connected;
      this.connected = undefined as unknown as (d: Dec) => void;
      return c(d);
    }
    const xid = d.int();
    const zxid = d.long();
    const err = d.int();
    if (zxid > this.lastZxid) this.lastZxid = zxid;
    if (xid === XID.notification) {
      const type = d.int();
      d.int(); // keeper state
      const p = d.str();
      const path = this.chroot && p.startsWith(this.chroot) ? p.slice(this.chroot.length) || '/' : p;
      this.onEvent(type, path);
      return;
    }
    if (xid === XID.ping) return;
    if (xid === XID.auth) {
      const w = this.authWaiters.shift();
      if (err === 0) w?.resolve();
      else w?.reject(zkErr(err, 'auth', ''));
      return;
    }
    const p = this.pending.get(xid);
    if (!p) return;
    this.pending.delete(xid);
    if (err !== 0) p.reject(zkErr(err, p.op, p.path));
    else p.resolve(d);
  }

  private fail(e: ZkError): void {
    if (this.ping) clearInterval(this.ping);
    if (!this.failure) this.failure = e;
    for (const p of this.pending.values()) p.reject(new ZkError(`ZooKeeper ${p.op} ${p.path}: ${e.code}`, e.code));
    this.pending.clear();
    for (const w of this.authWaiters.splice(0)) w.reject(e);
  }

  private abs(path: string): string {
    return this.chroot ? (path === '/' ? this.chroot : this.chroot + path) : path;
  }

  private call<T>(type: number, opName: string, path: string, body: (e: Enc) => void, parse: (d: Dec) => T): Promise<T> {
    if (this.failure) return Promise.reject(new ZkError(`ZooKeeper ${opName} ${path}: ${this.failure.code}`, this.failure.code));
    const xid = this.xid++;
    const e = new Enc().int(xid).int(type);
    body(e);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(xid, { resolve: (d) => resolve(parse(d)), reject, op: opName, path });
      this.write(e.done());
    });
  }

  getData(path: string): Promise<{ data: Buffer | null; stat: WireStat }> {
    return this.call(OP.getData, 'getData', path, (e) => e.str(this.abs(path)).bool(false), (d) => ({ data: d.bytes(), stat: d.stat() }));
  }

  getChildren(path: string): Promise<string[]> {
    return this.call(OP.getChildren2, 'getChildren', path, (e) => e.str(this.abs(path)).bool(false), (d) => d.strs());
  }

  exists(path: string): Promise<WireStat | null> {
    return this.call(OP.exists, 'exists', path, (e) => e.str(this.abs(path)).bool(false), (d) => d.stat()).catch((e: unknown) => {
      if (e instanceof ZkError && e.code === 'NO_NODE') return null;
      throw e;
    });
  }

  getACL(path: string): Promise<WireAcl[]> {
    return this.call(OP.getACL, 'getACL', path, (e) => e.str(this.abs(path)), (d) => {
      const n = d.int();
      const acl: WireAcl[] = [];
      for (let i = 0; i < n; i++) acl.push({ perms: d.int(), scheme: d.str(), id: d.str() });
      return acl;
    });
  }

  /** ZooKeeper 3.6+: reads many nodes in one request; each op answers on its own (NO_NODE for one does not fail the rest). */
  multiRead(ops: { op: 'getData' | 'getChildren'; path: string }[]): Promise<ReadResult[]> {
    const body = (e: Enc) => {
      for (const o of ops) e.int(o.op === 'getData' ? OP.getData : OP.getChildren).bool(false).int(-1).str(this.abs(o.path)).bool(false);
      e.int(-1).bool(true).int(-1);
    };
    return this.call(OP.multiRead, 'multiRead', ops[0]?.path ?? '', body, (d) => {
      const out: ReadResult[] = [];
      for (;;) {
        const type = d.int();
        const done = d.bool();
        const err = d.int();
        if (done) break;
        if (type === OP.getData) out.push({ err: 0, data: d.bytes(), stat: d.stat(), children: null });
        else if (type === OP.getChildren) out.push({ err: 0, data: null, stat: null, children: d.strs() });
        else out.push({ err: (d.int(), err) });
      }
      return out;
    });
  }

  /** ZooKeeper 3.6+: one persistent recursive watch on a subtree (fires created, deleted and data-changed for every node below). */
  addRecursiveWatch(path: string): Promise<void> {
    return this.call(OP.addWatch, 'addWatch', path, (e) => e.str(this.abs(path)).int(1), () => undefined);
  }

  /** A round trip: afterwards every notification for changes up to the returned zxid has been delivered. */
  async sync(): Promise<bigint> {
    await this.exists('/');
    return this.lastZxid;
  }

  /** Closes the session (which removes its watches). */
  async close(): Promise<void> {
    if (!this.failure) {
      await Promise.race([this.call(OP.close, 'closeSession', '', () => {}, () => undefined).catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    this.destroy();
  }

  private destroy(): void {
    if (this.ping) clearInterval(this.ping);
    this.sock.destroy();
  }
}
