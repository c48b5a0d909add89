/**
 * ddtb-lab's public surface: re-exports only. Notebooks import the compiled form (`../dist/index`).
 * Modules are grouped by role: backend, data, metrics, nn, quant, models, io, train, viz.
 */
export const version: string = require('../package.json').version;
export * as backend from './backend';
export { UserError } from './errors';
export * as image from './data/image';
export * as metrics from './metrics';
export * as data from './data';
export * as nn from './nn/module';
export * as quant from './quant';
export * as io from './io';
export * as viz from './viz';
export * as config from './config';
export * as models from './models';
export * as train from './train';
export * as evaluation from './eval';
export * as presets from './presets';
