/** Typed configs: resolution of overrides against a base, validation by path, deep freezing. */
export {
  resolveConfig, parseDottedOptions, deepFreeze, editDistance, closest, isPlainObject, describeValue,
} from './resolve';
export type {
  DeepReadonly, DeepPartial, FieldRule, ConfigSchema, ResolveOptions, DottedOptions, ScalarType,
} from './resolve';
