/** SR networks (EDSR, RDN, SRResNet), FP or quantized by a graph, and what surrounds them. */
export * from './types';
export * from './factory';
export { Edsr, edsrBaseline, edsrQuantGraph, remapEdsrFpToQuantized, EdsrConfig, ModelQuantSpec } from './edsr';
export { Rdn, rdnB, rdnQuantGraph, RdnConfig } from './rdn';
export { SrResNet, srResNet16, srResNetQuantGraph, SrResNetConfig } from './srresnet';
export { pixelShuffle } from './pixel_shuffle';
export * from './complexity';
export * from './quant_map';
export * from './dynamic';
export * from './weights';
export * from './checkpoint';
export * from './infer';
export * from './capture';
