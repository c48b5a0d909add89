export { ensureBackend, describeBackend, BackendInfo, EngineName } from './select';
export { NativeStatus, nativeAddonPath } from './native';
