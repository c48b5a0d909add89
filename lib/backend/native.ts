/**
 * The native (oneDNN) kernel pack for tfjs's cpu backend.
 *
 * `registerNativeKernels` loads `build/Release/ddtb_native.node` when it was built (scripts/build_native.sh,
 * run by `npm ci` and `npm run setup`) and registers its kernels (kernels/all.ts) over the pure-JS
 * ones. Each original kernel config is kept (`tf.getKernel`) and serves the cases the addon does not
 * cover. When the addon is absent or `DDTB_NATIVE=0`, nothing is registered and `NativeStatus.reason`
 * says why and how to enable it (`ddtb doctor` prints it).
 *
 * Conv algorithm: direct by default; `DDTB_WINOGRAD=1` asks oneDNN for Winograd where it has one
 * (3x3, stride 1), at a float32 error larger than direct's. Conv activations are reordered into
 * oneDNN's blocked layout around each call; `DDTB_CONV_LAYOUT=nhwc` keeps them NHWC in place.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { repoRoot } from '../paths';
import { nativeKernelFactories } from './kernels/all';
import { installBufferRelease, releaseEnabled } from './buffer_release';
import { NativeAddon, kernelCalls, resetKernelCalls, KernelCalls, convLayoutName } from './kernels/native_api';

export { NativeAddon, kernelCalls, resetKernelCalls, KernelCalls };

export interface NativeStatus {
  /** Whether native kernels are registered. */
  readonly loaded: boolean;
  /** Names of the tfjs kernels now served natively. */
  readonly kernels: readonly string[];
  /** Why not, when `loaded` is false, with how to enable them. */
  readonly reason: string | null;
  /** The library behind them, e.g. `oneDNN 2.6.3, 2 OpenMP threads`, when loaded. */
  readonly library?: string;
  /** Whether native outputs are freed when their tensors are disposed (buffer_release.ts). */
  readonly releasesBuffers?: boolean;
}

/** Where the build puts the addon (git-ignored). */
export const nativeAddonPath = path.join(repoRoot, 'build', 'Release', 'ddtb_native.node');

/** Written by scripts/build_native.sh when it did not build the addon: one line, the reason. */
const skippedPath = path.join(repoRoot, 'build', 'native_skipped.txt');

/** The calling convention this TypeScript expects (native/addon.cc `abi`). */
const expectedAbi = 11;

const howToBuild = 'run `bash scripts/build_native.sh` (needs g++ and libdnnl-dev)';

interface Registered {
  readonly backendName: string;
  readonly addon: NativeAddon;
  readonly originals: tf.KernelConfig[];
  readonly natives: tf.KernelConfig[];
  /** `status.kernels`, grown by `adoptNativeKernel`. */
  readonly kernelNames: string[];
  readonly status: NativeStatus;
}

let registered: Registered | null = null;
let lastStatus: NativeStatus | null = null;
/** Nesting depth of `withPureJsKernels` (only the outermost call swaps). */
let pureDepth = 0;

function notLoaded(reason: string): NativeStatus {
  return { loaded: false, kernels: [], reason };
}

function notBuiltReason(): string {
  try {
    // the build script's own words, which say how to enable it
    const line = fs.readFileSync(skippedPath, 'utf8').trim().split('\n')[0];
    if (line) return `addon not built: ${line}`;
  } catch {
    // no record: the build never ran here
  }
  return `addon not built (${path.relative(repoRoot, nativeAddonPath)} missing); to enable, ${howToBuild}`;
}

function loadAddon(): NativeAddon | string {
  let addon: NativeAddon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    addon = require(nativeAddonPath) as NativeAddon;
  } catch (e) {
    return `addon failed to load (${(e as Error).message.split('\n')[0]}); ${howToBuild} again`;
  }
  const abi = typeof addon.info === 'function' ? addon.info().abi : undefined;
  if (abi !== expectedAbi) {
    return `addon is stale (abi ${String(abi)}, expected ${expectedAbi}); ${howToBuild} again`;
  }
  return addon;
}

function swap(from: readonly tf.KernelConfig[], to: readonly tf.KernelConfig[]): void {
  for (const k of from) tf.unregisterKernel(k.kernelName, k.backendName);
  for (const k of to) tf.registerKernel(k);
}

/**
 * Loads the addon and registers its kernels for `backendName` (only `cpu` is served), once;
 * later calls return the same status. Called by `ensureBackend()`.
 */
export function registerNativeKernels(backendName: string): NativeStatus {
  if (registered) return registered.status;
  if (lastStatus) return lastStatus;
  if (process.env.DDTB_NATIVE === '0') {
    lastStatus = notLoaded('DDTB_NATIVE=0 (unset it to use the native kernels)');
    return lastStatus;
  }
  if (backendName !== 'cpu') return notLoaded(`native kernels serve tfjs's cpu backend, not ${backendName}`);
  if (!fs.existsSync(nativeAddonPath)) {
    lastStatus = notLoaded(notBuiltReason());
    return lastStatus;
  }
  const addon = loadAddon();
  if (typeof addon === 'string') {
    lastStatus = notLoaded(addon);
    return lastStatus;
  }
  const originals: tf.KernelConfig[] = [];
  const natives: tf.KernelConfig[] = [];
  for (const [name, make] of nativeKernelFactories) {
    const original = tf.getKernel(name, backendName);
    if (!original) continue;
    originals.push(original);
    natives.push(make(addon, original));
  }
  try {
    swap(originals, natives);
  } catch (e) {
    // put back whatever was replaced
    for (const k of natives) {
      if (tf.getKernel(k.kernelName, backendName) === k) tf.unregisterKernel(k.kernelName, backendName);
    }
    for (const k of originals) if (!tf.getKernel(k.kernelName, backendName)) tf.registerKernel(k);
    lastStatus = notLoaded(`registering native kernels failed (${(e as Error).message})`);
    return lastStatus;
  }
  const info = addon.info();
  const kernelNames = natives.map((k) => k.kernelName);
  const instance = releaseEnabled() ? tf.findBackend(backendName) : null;
  if (instance) installBufferRelease(instance as unknown as Parameters<typeof installBufferRelease>[0], (b, cap) => addon.release(b, cap));
  registered = {
    backendName, addon, originals, natives, kernelNames,
    status: {
      loaded: true, kernels: kernelNames, reason: null,
      library: `oneDNN ${info.onednn} (${info.isa}), ${info.threads} OpenMP threads; convs: ${convLayoutName(info.isa)}`,
      releasesBuffers: instance !== null,
    },
  };
  return registered.status;
}

/**
 * Serves `kernelName` natively when the pack is registered and has a factory for it, but the kernel
 * was registered for the cpu backend only afterwards (a composite kernel, `composite.ts`, defined
 * after `ensureBackend()` ran); the kernel then joins `status.kernels` and `withPureJsKernels`.
 */
export function adoptNativeKernel(kernelName: string): void {
  if (!registered) return;
  const r = registered;
  const entry = nativeKernelFactories.find(([name]) => name === kernelName);
  const original = tf.getKernel(kernelName, r.backendName);
  if (!entry || !original || r.natives.some((k) => k.kernelName === kernelName)) return;
  const native = entry[1](r.addon, original);
  // inside withPureJsKernels the originals are in place; its exit swaps this one in with the rest
  if (pureDepth === 0) swap([original], [native]);
  r.originals.push(original);
  r.natives.push(native);
  r.kernelNames.push(kernelName);
}

/** The loaded addon, for kernels registered elsewhere in lib/backend; null when not registered. */
export function nativeAddon(): NativeAddon | null {
  return registered ? registered.addon : null;
}

/**
 * Runs `fn` with the original pure-JS kernels registered in place of the native ones, then puts the
 * native ones back (also on a throw). For parity tests and benchmarks; without native kernels it
 * simply runs `fn`. Synchronous `fn` only: the swap is global, so a promise it returns would
 * settle after the native kernels are back.
 */
export function withPureJsKernels<T>(fn: () => T): T {
  if (!registered || pureDepth > 0) return fn();
  const { originals, natives } = registered;
  swap(natives, originals);
  pureDepth++;
  try {
    return fn();
  } finally {
    pureDepth--;
    swap(originals, natives);
  }
}
