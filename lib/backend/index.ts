export { ensureBackend, describeBackend, BackendInfo, EngineName } from './select';
export { NativeStatus, nativeAddonPath, withPureJsKernels, kernelCalls, KernelCalls } from './native';
export { releaseStats, resetReleaseStats, ReleaseStats } from './buffer_release';
