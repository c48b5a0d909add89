/**
 * The project's own seeded pseudo-random generator, for every draw that must be reproducible and
 * resumable (patch positions, augmentations, image order). tfjs's random ops are never used for
 * these: their state cannot be read back, so a run could not be checkpointed and resumed exactly.
 *
 * Algorithm: xoshiro128** (Blackman & Vigna, 2018), 128 bits of state as four uint32 words, period
 * 2^128 - 1. An integer seed is expanded into the four words by splitmix32 (the 32-bit variant of
 * SplitMix with the MurmurHash3 finaliser), so nearby seeds give unrelated streams.
 *
 * Example: `const rng = Prng.fromSeed(1); rng.nextInt(6)` gives 0..5; `Prng.fromState(rng.state())`
 * continues the same stream.
 */
import { UserError } from '../errors';

const TWO_POW_32 = 4294967296;

/** splitmix32 step: advances `s` by the golden-ratio increment and returns (new s, output). */
function splitmix32(s: number): [number, number] {
  const next = (s + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [next, z >>> 0];
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A xoshiro128** stream. Not safe to share between independent consumers that must not interact. */
export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(words: readonly number[]) {
    this.s0 = words[0] | 0;
    this.s1 = words[1] | 0;
    this.s2 = words[2] | 0;
    this.s3 = words[3] | 0;
  }

  /**
   * A generator from an integer seed (any safe integer, negative included): the low and high
   * 32 bits of the seed are fed through splitmix32 to fill the four state words.
   */
  static fromSeed(seed: number): Prng {
    if (!Number.isSafeInteger(seed)) throw new UserError(`prng: seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    let s = lo ^ Math.imul(hi, 0x632be5ab);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(s);
      s = next;
      words.push(out);
    }
    // All-zero is xoshiro's one forbidden state; splitmix32 cannot emit four zeros in a row, but be explicit.
    if (words.every((w) => w === 0)) words[0] = 1;
    return new Prng(words);
  }

  /** Resumes from `state()` output: four uint32 words, not all zero. */
  static fromState(state: readonly number[]): Prng {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_POW_32)) {
      throw new UserError(`prng: state must be 4 uint32 words, got ${JSON.stringify(state)}`);
    }
    if (state.every((w) => w === 0)) throw new UserError('prng: state [0,0,0,0] is not a valid xoshiro128** state');
    return new Prng(state);
  }

  /** The four state words as uint32 numbers (JSON-safe), for checkpoints. */
  state(): number[] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** A copy at the same position (the copy and this generator then advance independently). */
  clone(): Prng {
    return new Prng(this.state());
  }

  /** Next uint32, uniform on 0 .. 2^32 - 1. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution (one uint32 / 2^32). */
  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /**
   * Uniform integer in 0 .. n - 1 without modulo bias: draws above the largest multiple of n that
   * fits in 2^32 are rejected and redrawn. n: integer, 1 .. 2^32.
   */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw new RangeError(`prng.nextInt: n must be an integer in 1..2^32, got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** A uniformly random permutation of 0 .. n - 1 (Fisher-Yates, drawing n - 1 integers). */
  permutation(n: number): number[] {
    const out = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }
}
