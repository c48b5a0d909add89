/**
 * A minimal, non-executing Python unpickler (protocols 0-5, the opcodes `torch.save` and `pickle.dump`
 * emit for data), and a small protocol-2 pickle writer for `torch_export.ts`.
 *
 * Nothing from the stream is ever run. A GLOBAL (`module name`) is looked up in a table the caller
 * supplies (`UnpickleHooks.globals`): a known name maps to a TypeScript function that builds the value
 * (e.g. `collections OrderedDict` -> Map). Any other name becomes a `PickleGlobal` placeholder, and
 * REDUCE / NEWOBJ / BUILD on a placeholder make an `OpaqueObject` that records its arguments and state,
 * so a checkpoint holding unknown classes (an argparse.Namespace, numpy scalars) still loads; the caller
 * decides whether a placeholder is acceptable where it sits.
 *
 * Value mapping: None -> null; bool -> boolean; int -> number (bigint beyond 2^53); float -> number;
 * str -> string (Python 2 byte strings decoded as latin-1); bytes -> Uint8Array; list -> mutable array;
 * tuple -> frozen array (`Object.isFrozen` tells them apart); dict -> Map (keeps order and non-string
 * keys); set/frozenset -> Set.
 */

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | readonly PickleValue[]
  | Map<PickleValue, PickleValue>
  | Set<PickleValue>
  | PickleGlobal
  | OpaqueObject
  | PickleCallable
  | object;

/** A GLOBAL the hooks do not know: `module.name`, kept as data. */
export class PickleGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** The result of calling or instantiating an unknown global: nothing is executed, only recorded. */
export class OpaqueObject {
  /** BUILD's argument (usually the instance `__dict__` as a Map), if any. */
  state: PickleValue | undefined = undefined;
  /** Items added by APPEND(S) / SETITEM(S) to an opaque list- or dict-like object. */
  readonly items: PickleValue[] = [];
  constructor(readonly global: PickleGlobal, readonly args: readonly PickleValue[]) {}
}

/** A known global: a TypeScript builder for REDUCE / NEWOBJ. It must not have side effects. */
export class PickleCallable {
  constructor(readonly qualifiedName: string, readonly call: (args: readonly PickleValue[]) => PickleValue) {}
}

/** Raised for a stream that is not a well-formed pickle. `truncated` marks a stream that ends early. */
export class PickleError extends Error {
  constructor(message: string, readonly truncated = false) {
    super(message);
    this.name = 'PickleError';
  }
}

export interface UnpickleHooks {
  /** Known globals by `module name` (e.g. `'collections OrderedDict'`). Others become PickleGlobal. */
  readonly globals?: ReadonlyMap<string, PickleValue>;
  /** Resolves a persistent id (BINPERSID / PERSID): torch uses it for tensor storages. */
  readonly persistentLoad?: (pid: PickleValue) => PickleValue;
}

export interface UnpickleResult {
  readonly value: PickleValue;
  /** Byte offset just after the STOP opcode (the legacy torch format has several pickles in a row). */
  readonly end: number;
}

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

const OPCODE_NAMES: Record<number, string> = {};

/** Unpickles one object from `bytes` starting at `start`. Throws PickleError on malformed input. */
export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks = {}, start = 0): UnpickleResult {
  return new Unpickler(bytes, hooks, start).run();
}

class Unpickler {
  private pos: number;
  private readonly stack: StackItem[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly view: DataView;
  private opcodeAt = 0;

  constructor(private readonly bytes: Uint8Array, private readonly hooks: UnpickleHooks, start: number) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): UnpickleResult {
    for (;;) {
      this.opcodeAt = this.pos;
      const op = this.u8();
      if (op === 0x2e /* . STOP */) {
        const value = this.pop();
        return { value, end: this.pos };
      }
      this.step(op);
    }
  }

  // ---- reading ------------------------------------------------------------------------------

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) {
      throw new PickleError(`stream ends at byte ${this.bytes.length} inside ${this.opName()} at byte ${this.opcodeAt}`, true);
    }
  }
  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }
  private u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleError(`length ${v} too large in ${this.opName()} at byte ${this.opcodeAt}`);
    return Number(v);
  }
  private take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** A text line (protocol 0 arguments), without the trailing newline. */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) throw new PickleError(`stream ends inside ${this.opName()} at byte ${this.opcodeAt} (no newline)`, true);
    const s = latin1(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
  private opName(): string {
    if (this.opcodeAt >= this.bytes.length) return 'the next opcode';
    const op = this.bytes[this.opcodeAt];
    return OPCODE_NAMES[op] ?? `opcode 0x${op.toString(16).padStart(2, '0')}`;
  }

  // ---- stack --------------------------------------------------------------------------------

  private push(v: PickleValue): void {
    this.stack.push(v);
  }
  private pop(): PickleValue {
    const v = this.stack.pop();
    if (v === undefined) throw new PickleError(`${this.opName()} at byte ${this.opcodeAt} on an empty stack`);
    if (v === MARK) throw new PickleError(`${this.opName()} at byte ${this.opcodeAt} found a MARK where a value was expected`);
    return v;
  }
  private top(): PickleValue {
    const v = this.stack[this.stack.length - 1];
    if (v === undefined || v === MARK) throw new PickleError(`${this.opName()} at byte ${this.opcodeAt} has no value to work on`);
    return v;
  }
  /** Pops everything down to the topmost MARK (and the MARK). */
  private popMark(): PickleValue[] {
    const i = this.stack.lastIndexOf(MARK);
    if (i < 0) throw new PickleError(`${this.opName()} at byte ${this.opcodeAt} without a MARK`);
    const items = this.stack.splice(i) as PickleValue[];
    items.shift();
    return items;
  }
  private memoGet(i: number): PickleValue {
    if (!this.memo.has(i)) throw new PickleError(`${this.opName()} at byte ${this.opcodeAt} reads memo ${i}, which was never stored`);
    return this.memo.get(i) as PickleValue;
  }

  // ---- objects ------------------------------------------------------------------------------

  private global(module: string, name: string): PickleValue {
    const known = this.hooks.globals?.get(`${module} ${name}`);
    return known !== undefined ? known : new PickleGlobal(module, name);
  }

  private call(fn: PickleValue, args: PickleValue): PickleValue {
    const list = Array.isArray(args) ? (args as PickleValue[]) : [args];
    if (fn instanceof PickleCallable) return fn.call(list);
    if (fn instanceof PickleGlobal) return new OpaqueObject(fn, list);
    if (fn instanceof OpaqueObject) return new OpaqueObject(fn.global, list);
    throw new PickleError(`${this.opName()} at byte ${this.opcodeAt} calls a ${describe(fn)}, which is not callable`);
  }

  private setItems(target: PickleValue, kv: PickleValue[]): void {
    if (kv.length % 2) throw new PickleError(`SETITEMS at byte ${this.opcodeAt} with an odd number of items`);
    if (target instanceof Map) {
      for (let i = 0; i < kv.length; i += 2) target.set(kv[i], kv[i + 1]);
    } else if (target instanceof OpaqueObject) {
      target.items.push(...kv);
    } else {
      throw new PickleError(`${this.opName()} at byte ${this.opcodeAt} on a ${describe(target)}, not a dict`);
    }
  }

  private appendItems(target: PickleValue, items: PickleValue[]): void {
    if (Array.isArray(target) && !Object.isFrozen(target)) (target as PickleValue[]).push(...items);
    else if (target instanceof Set) for (const v of items) target.add(v);
    else if (target instanceof OpaqueObject) target.items.push(...items);
    else throw new PickleError(`${this.opName()} at byte ${this.opcodeAt} on a ${describe(target)}, not a list`);
  }

  // ---- the opcodes --------------------------------------------------------------------------

  private step(op: number): void {
    switch (op) {
      case 0x80: /* PROTO */ {
        const p = this.u8();
        if (p > 5) throw new PickleError(`unsupported pickle protocol ${p}`);
        return;
      }
      case 0x95: /* FRAME */ this.u64(); return;
      case 0x28: /* ( MARK */ this.stack.push(MARK); return;
      case 0x30: /* 0 POP */ {
        const v = this.stack.pop();
        if (v === undefined) throw new PickleError(`POP at byte ${this.opcodeAt} on an empty stack`);
        return;
      }
      case 0x31: /* 1 POP_MARK */ this.popMark(); return;
      case 0x32: /* 2 DUP */ this.push(this.top()); return;

      case 0x4e: /* N NONE */ this.push(null); return;
      case 0x88: /* NEWTRUE */ this.push(true); return;
      case 0x89: /* NEWFALSE */ this.push(false); return;

      case 0x4a: /* J BININT */ this.push(this.i32()); return;
      case 0x4b: /* K BININT1 */ this.push(this.u8()); return;
      case 0x4d: /* M BININT2 */ this.push(this.u16()); return;
      case 0x8a: /* LONG1 */ this.push(decodeLong(this.take(this.u8()))); return;
      case 0x8b: /* LONG4 */ {
        const n = this.i32();
        if (n < 0) throw new PickleError(`LONG4 at byte ${this.opcodeAt} with negative length`);
        this.push(decodeLong(this.take(n)));
        return;
      }
      case 0x49: /* I INT */ {
        const s = this.line();
        if (s === '00') this.push(false);
        else if (s === '01') this.push(true);
        else this.push(parseIntText(s, this.opcodeAt));
        return;
      }
      case 0x4c: /* L LONG */ this.push(parseIntText(this.line().replace(/L$/, ''), this.opcodeAt)); return;
      case 0x47: /* G BINFLOAT */ {
        this.need(8);
        this.push(this.view.getFloat64(this.pos, false));
        this.pos += 8;
        return;
      }
      case 0x46: /* F FLOAT */ {
        const s = this.line();
        const v = Number(s);
        if (Number.isNaN(v) && !/nan/i.test(s)) throw new PickleError(`FLOAT at byte ${this.opcodeAt}: '${s}' is not a number`);
        this.push(v);
        return;
      }

      case 0x58: /* X BINUNICODE */ this.push(utf8(this.take(this.u32()))); return;
      case 0x8c: /* SHORT_BINUNICODE */ this.push(utf8(this.take(this.u8()))); return;
      case 0x8d: /* BINUNICODE8 */ this.push(utf8(this.take(this.u64()))); return;
      case 0x56: /* V UNICODE */ this.push(unescapeRawUnicode(this.line())); return;
      case 0x54: /* T BINSTRING */ {
        const n = this.i32();
        if (n < 0) throw new PickleError(`BINSTRING at byte ${this.opcodeAt} with negative length`);
        this.push(latin1(this.take(n)));
        return;
      }
      case 0x55: /* U SHORT_BINSTRING */ this.push(latin1(this.take(this.u8()))); return;
      case 0x53: /* S STRING */ this.push(parseQuotedString(this.line(), this.opcodeAt)); return;
      case 0x42: /* B BINBYTES */ this.push(this.take(this.u32()).slice()); return;
      case 0x43: /* C SHORT_BINBYTES */ this.push(this.take(this.u8()).slice()); return;
      case 0x8e: /* BINBYTES8 */ this.push(this.take(this.u64()).slice()); return;
      case 0x96: /* BYTEARRAY8 */ this.push(this.take(this.u64()).slice()); return;

      case 0x5d: /* ] EMPTY_LIST */ this.push([]); return;
      case 0x6c: /* l LIST */ this.push(this.popMark()); return;
      case 0x61: /* a APPEND */ {
        const v = this.pop();
        this.appendItems(this.top(), [v]);
        return;
      }
      case 0x65: /* e APPENDS */ {
        const items = this.popMark();
        this.appendItems(this.top(), items);
        return;
      }
      case 0x29: /* ) EMPTY_TUPLE */ this.push(Object.freeze([])); return;
      case 0x74: /* t TUPLE */ this.push(Object.freeze(this.popMark())); return;
      case 0x85: /* TUPLE1 */ this.push(Object.freeze([this.pop()])); return;
      case 0x86: /* TUPLE2 */ {
        const b = this.pop();
        const a = this.pop();
        this.push(Object.freeze([a, b]));
        return;
      }
      case 0x87: /* TUPLE3 */ {
        const c = this.pop();
        const b = this.pop();
        const a = this.pop();
        this.push(Object.freeze([a, b, c]));
        return;
      }
      case 0x7d: /* } EMPTY_DICT */ this.push(new Map()); return;
      case 0x64: /* d DICT */ {
        const m = new Map<PickleValue, PickleValue>();
        this.setItems(m, this.popMark());
        this.push(m);
        return;
      }
      case 0x73: /* s SETITEM */ {
        const v = this.pop();
        const k = this.pop();
        this.setItems(this.top(), [k, v]);
        return;
      }
      case 0x75: /* u SETITEMS */ {
        const kv = this.popMark();
        this.setItems(this.top(), kv);
        return;
      }
      case 0x8f: /* EMPTY_SET */ this.push(new Set()); return;
      case 0x90: /* ADDITEMS */ {
        const items = this.popMark();
        this.appendItems(this.top(), items);
        return;
      }
      case 0x91: /* FROZENSET */ this.push(new Set(this.popMark())); return;

      case 0x63: /* c GLOBAL */ {
        const module = this.line();
        const name = this.line();
        this.push(this.global(module, name));
        return;
      }
      case 0x93: /* STACK_GLOBAL */ {
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new PickleError(`STACK_GLOBAL at byte ${this.opcodeAt} without two strings`);
        this.push(this.global(module, name));
        return;
      }
      case 0x52: /* R REDUCE */ {
        const args = this.pop();
        const fn = this.pop();
        this.push(this.call(fn, args));
        return;
      }
      case 0x81: /* NEWOBJ */ {
        const args = this.pop();
        const cls = this.pop();
        this.push(this.call(cls, args));
        return;
      }
      case 0x92: /* NEWOBJ_EX */ {
        this.pop(); // kwargs
        const args = this.pop();
        const cls = this.pop();
        this.push(this.call(cls, args));
        return;
      }
      case 0x69: /* i INST */ {
        const module = this.line();
        const name = this.line();
        this.push(this.call(this.global(module, name), this.popMark()));
        return;
      }
      case 0x6f: /* o OBJ */ {
        const items = this.popMark();
        const cls = items.shift();
        if (cls === undefined) throw new PickleError(`OBJ at byte ${this.opcodeAt} without a class`);
        this.push(this.call(cls, items));
        return;
      }
      case 0x62: /* b BUILD */ {
        const state = this.pop();
        const target = this.top();
        // A dict subclass's BUILD sets instance attributes (an OrderedDict state dict's `_metadata`):
        // recorded on opaque objects, ignored elsewhere, since no attribute is part of the data.
        if (target instanceof OpaqueObject) target.state = state;
        return;
      }

      case 0x70: /* p PUT */ this.memo.set(parseIntText(this.line(), this.opcodeAt) as number, this.top()); return;
      case 0x71: /* q BINPUT */ this.memo.set(this.u8(), this.top()); return;
      case 0x72: /* r LONG_BINPUT */ this.memo.set(this.u32(), this.top()); return;
      case 0x94: /* MEMOIZE */ this.memo.set(this.memo.size, this.top()); return;
      case 0x67: /* g GET */ this.push(this.memoGet(parseIntText(this.line(), this.opcodeAt) as number)); return;
      case 0x68: /* h BINGET */ this.push(this.memoGet(this.u8())); return;
      case 0x6a: /* j LONG_BINGET */ this.push(this.memoGet(this.u32())); return;

      case 0x51: /* Q BINPERSID */ this.push(this.persistent(this.pop())); return;
      case 0x50: /* P PERSID */ this.push(this.persistent(this.line())); return;

      case 0x82: case 0x83: case 0x84: /* EXT1/2/4 */
        throw new PickleError(`${this.opName()} at byte ${this.opcodeAt}: copyreg extension codes are not supported`);
      case 0x97: case 0x98: /* NEXT_BUFFER, READONLY_BUFFER */
        throw new PickleError(`${this.opName()} at byte ${this.opcodeAt}: out-of-band buffers are not supported`);
      default:
        throw new PickleError(`unknown opcode 0x${op.toString(16).padStart(2, '0')} at byte ${this.opcodeAt}`);
    }
  }

  private persistent(pid: PickleValue): PickleValue {
    if (!this.hooks.persistentLoad) throw new PickleError(`persistent id at byte ${this.opcodeAt}, but no persistent loader`);
    return this.hooks.persistentLoad(pid);
  }
}

for (const [code, name] of Object.entries({
  0x80: 'PROTO', 0x95: 'FRAME', 0x28: 'MARK', 0x4a: 'BININT', 0x4b: 'BININT1', 0x4d: 'BININT2', 0x8a: 'LONG1',
  0x8b: 'LONG4', 0x47: 'BINFLOAT', 0x58: 'BINUNICODE', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8',
  0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8e: 'BINBYTES8',
  0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x52: 'REDUCE', 0x81: 'NEWOBJ', 0x62: 'BUILD', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x68: 'BINGET', 0x6a: 'LONG_BINGET', 0x51: 'BINPERSID', 0x74: 'TUPLE', 0x75: 'SETITEMS',
  0x73: 'SETITEM', 0x65: 'APPENDS', 0x61: 'APPEND', 0x49: 'INT', 0x4c: 'LONG', 0x46: 'FLOAT', 0x70: 'PUT', 0x67: 'GET',
})) OPCODE_NAMES[Number(code)] = name;

/** A short description of a value for error messages. */
export function describe(v: PickleValue): string {
  if (v === null) return 'None';
  if (v instanceof PickleGlobal) return `${v.qualifiedName} (class or function)`;
  if (v instanceof OpaqueObject) return `${v.global.qualifiedName} object`;
  if (v instanceof PickleCallable) return v.qualifiedName;
  if (v instanceof Map) return 'dict';
  if (v instanceof Set) return 'set';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return Object.isFrozen(v) ? 'tuple' : 'list';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return narrow(v);
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseIntText(s: string, at: number): number | bigint {
  if (!/^[-+]?\d+$/.test(s.trim())) throw new PickleError(`integer text '${s}' at byte ${at} is not a number`);
  return narrow(BigInt(s.trim()));
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
function utf8(b: Uint8Array): string {
  try {
    return utf8Decoder.decode(b);
  } catch {
    throw new PickleError('a string is not valid UTF-8');
  }
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

function unescapeRawUnicode(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, a: string, b: string) => String.fromCodePoint(parseInt(a ?? b, 16)));
}

function parseQuotedString(s: string, at: number): string {
  const q = s[0];
  if ((q !== "'" && q !== '"') || s[s.length - 1] !== q) throw new PickleError(`STRING at byte ${at} is not quoted`);
  return s.slice(1, -1).replace(/\\x([0-9a-fA-F]{2})|\\(.)/g, (_, hex: string, c: string) => {
    if (hex) return String.fromCharCode(parseInt(hex, 16));
    return ({ n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' } as Record<string, string>)[c] ?? c;
  });
}

// ---- writer ---------------------------------------------------------------------------------

/**
 * Builds a protocol-2 pickle by hand: each method appends one value's opcodes. No memo is used, so
 * each value is written in full where it appears (a state dict has no shared Python objects).
 */
export class PickleWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  constructor() {
    this.raw(0x80, 2); // PROTO 2
  }

  raw(...bytes: number[]): this {
    return this.bytes(Uint8Array.from(bytes));
  }
  private bytes(b: Uint8Array): this {
    this.chunks.push(b);
    this.size += b.length;
    return this;
  }
  mark(): this {
    return this.raw(0x28);
  }
  none(): this {
    return this.raw(0x4e);
  }
  bool(v: boolean): this {
    return this.raw(v ? 0x88 : 0x89);
  }
  /** An int: BININT1/BININT2/BININT where it fits, LONG1 otherwise. */
  int(v: number | bigint): this {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError(`PickleWriter.int: ${v} is not a safe integer`);
      if (v >= 0 && v < 256) return this.raw(0x4b, v);
      if (v >= 0 && v < 65536) return this.raw(0x4d, v & 0xff, v >> 8);
      if (v >= -0x80000000 && v <= 0x7fffffff) {
        const b = new Uint8Array(5);
        b[0] = 0x4a;
        new DataView(b.buffer).setInt32(1, v, true);
        return this.bytes(b);
      }
    }
    let x = BigInt(v);
    const out: number[] = [];
    // Two's complement, little endian, shortest form that keeps the sign.
    for (;;) {
      const byte = Number(x & 0xffn);
      out.push(byte);
      x >>= 8n;
      if ((x === 0n && !(byte & 0x80)) || (x === -1n && byte & 0x80)) break;
    }
    return this.raw(0x8a, out.length, ...out);
  }
  float(v: number): this {
    const b = new Uint8Array(9);
    b[0] = 0x47;
    new DataView(b.buffer).setFloat64(1, v, false);
    return this.bytes(b);
  }
  str(s: string): this {
    const enc = Buffer.from(s, 'utf8');
    const b = new Uint8Array(5);
    b[0] = 0x58;
    new DataView(b.buffer).setUint32(1, enc.length, true);
    return this.bytes(b).bytes(enc);
  }
  global(module: string, name: string): this {
    return this.raw(0x63).bytes(Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }
  /** TUPLE from the last MARK. */
  tuple(): this {
    return this.raw(0x74);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  /** A tuple of ints. */
  intTuple(values: readonly number[]): this {
    if (values.length === 0) return this.emptyTuple();
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  reduce(): this {
    return this.raw(0x52);
  }
  binpersid(): this {
    return this.raw(0x51);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  stop(): Uint8Array {
    this.raw(0x2e);
    return Buffer.concat(this.chunks, this.size);
  }
}
