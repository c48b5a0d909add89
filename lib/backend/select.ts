/**
 * The one place that chooses and reports the tfjs backend.
 *
 * Order of preference:
 *  1. `tensorflow` from @tensorflow/tfjs-node, when that optional dependency installed and loads
 *     (it needs libtensorflow, which its install script downloads; offline it is simply absent);
 *  2. tfjs's `cpu` backend, with this project's native kernels registered over the pure-JS ones
 *     where the native addon is built (see `native.ts`), else pure JS.
 *
 * Set `DDTB_BACKEND=cpu` to skip tfjs-node, and `DDTB_NATIVE=0` to keep the pure-JS kernels.
 * Nothing outside `lib/backend` names a backend.
 */
import * as tf from '@tensorflow/tfjs';
import * as os from 'os';
import { registerNativeKernels, NativeStatus } from './native';
import { convAlgorithm } from './kernels/native_api';

export type EngineName = 'tfjs-node' | 'tfjs-cpu';

export interface BackendInfo {
  /** tfjs backend name in use (`tensorflow` or `cpu`). */
  readonly backend: string;
  /** Which engine provides it. */
  readonly engine: EngineName;
  /** @tensorflow/tfjs-core version. */
  readonly tfjsVersion: string;
  /** Why tfjs-node is not used, when it is not. */
  readonly tfjsNodeReason: string | null;
  /** Native kernel pack for the cpu backend (empty when unused). */
  readonly native: NativeStatus;
  /** Threads available to native code (OMP_NUM_THREADS, else the core count). */
  readonly threads: number;
}

let chosen: BackendInfo | null = null;

function tryTfjsNode(): string | null {
  if (process.env.DDTB_BACKEND === 'cpu') return 'DDTB_BACKEND=cpu';
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require('@tensorflow/tfjs-node');
    return null;
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    return /Cannot find module '@tensorflow\/tfjs-node'/.test(msg)
      ? 'not installed (optional; its install downloads libtensorflow)'
      : `failed to load: ${msg}`;
  }
}

/**
 * Chooses the backend once and returns what was chosen; later calls return the same answer.
 * Synchronous: both candidate backends initialise synchronously.
 */
export function ensureBackend(): BackendInfo {
  if (chosen) return chosen;
  const nodeReason = tryTfjsNode();
  const threads = Number(process.env.OMP_NUM_THREADS) || os.cpus().length;
  if (nodeReason === null && tf.findBackend('tensorflow')) {
    void tf.setBackend('tensorflow');
    chosen = {
      backend: 'tensorflow', engine: 'tfjs-node', tfjsVersion: tf.version_core,
      tfjsNodeReason: null, native: { loaded: false, kernels: [], reason: 'tfjs-node in use' }, threads,
    };
    return chosen;
  }
  void tf.setBackend('cpu');
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  // The cpu backend's first write prints an advert for tfjs-node; `ddtb doctor` reports the
  // backend and the reason instead.
  if ('firstUse' in backend) backend.firstUse = false;
  const native = registerNativeKernels('cpu');
  chosen = {
    backend: 'cpu', engine: 'tfjs-cpu', tfjsVersion: tf.version_core,
    tfjsNodeReason: nodeReason, native, threads,
  };
  return chosen;
}

/** One line for logs and notebooks, e.g. `cpu (tfjs 4.22.0, pure JS: addon not built)`. */
export function describeBackend(info: BackendInfo = ensureBackend()): string {
  const kernels = info.engine === 'tfjs-node'
    ? 'libtensorflow'
    : info.native.loaded
      ? `native kernels: ${info.native.kernels.length}${convAlgorithm() === 1 ? ', Winograd convs (DDTB_WINOGRAD=1)' : ''}`
      : `pure JS: ${info.native.reason}`;
  return `${info.backend} (tfjs ${info.tfjsVersion}, ${kernels}, ${info.threads} threads)`;
}
