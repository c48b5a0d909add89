/**
 * Quantizers (spec sections 2-5): the DDTB activation quantizer and its gates, the gate's min/max
 * quantizer, the weight quantizers, PAMS, observers and the dynamic intensity.
 */
export * from './types';
export { roundSte, detach, straightThrough } from './ste';
export * from './ddtb_act';
export * from './gate';
export * from './minmax_act';
export * from './weight';
export * from './observer';
export * from './pams';
export * from './intensity';
export * from './asymmetry';
export * from './graph';
export { officialRecipe, RecipeOptions } from './recipe';
