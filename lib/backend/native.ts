/**
 * Seam for the native (oneDNN) kernel pack of tfjs's cpu backend.
 *
 * `registerNativeKernels` loads the addon from `build/Release/ddtb_native.node` when it was built
 * and registers its kernels over the pure-JS ones, keeping the originals as fallbacks.
 * Until the addon exists it reports why the pure-JS kernels are in use.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface NativeStatus {
  /** Whether native kernels are registered. */
  readonly loaded: boolean;
  /** Names of the tfjs kernels now served natively. */
  readonly kernels: readonly string[];
  /** Why not, when `loaded` is false. */
  readonly reason: string | null;
}

/** Repository root (this file lives in lib/backend or dist/backend). */
import { repoRoot } from '../paths';
export const nativeAddonPath = path.join(repoRoot, 'build', 'Release', 'ddtb_native.node');

export function registerNativeKernels(backendName: string): NativeStatus {
  if (process.env.DDTB_NATIVE === '0') return { loaded: false, kernels: [], reason: 'DDTB_NATIVE=0' };
  if (!fs.existsSync(nativeAddonPath)) {
    return { loaded: false, kernels: [], reason: `addon not built (${path.relative(repoRoot, nativeAddonPath)} missing)` };
  }
  void backendName;
  return { loaded: false, kernels: [], reason: 'addon present but no kernels are registered yet' };
}
