/**
 * The native kernel pack, in registration order: the tfjs kernel each entry replaces on the cpu
 * backend and the factory that wraps the addon around the original (saved as the fallback).
 * A new native kernel is one file in this folder and one line here.
 */
import * as tf from '@tensorflow/tfjs';
import { NativeAddon } from './native_api';
import { conv2dConfig } from './conv2d';
import { conv2dBackpropInputConfig } from './conv2d_backprop_input';
import { conv2dBackpropFilterConfig } from './conv2d_backprop_filter';
import { fusedConv2dConfig } from './fused_conv2d';
import { transposeConfig } from './transpose';
import { sliceConfig } from './slice';
import { splitVConfig } from './split_v';
import { sumConfig } from './sum';
import { meanConfig } from './mean';
import { addConfig } from './add';
import { subConfig } from './sub';
import { multiplyConfig } from './multiply';
import { realDivConfig } from './real_div';
import { reluConfig } from './relu';
import { stepConfig } from './step';
import { absConfig } from './abs';
import { negConfig } from './neg';
import { DdtbFakeQuant, DdtbFakeQuantGrad, ddtbFakeQuantConfig, ddtbFakeQuantGradConfig } from './ddtb_fake_quant';
import { PamsFakeQuant, PamsFakeQuantGrad, pamsFakeQuantConfig, pamsFakeQuantGradConfig } from './pams_fake_quant';
import { PreluShared, PreluSharedGrad, preluSharedConfig, preluSharedGradConfig } from './prelu_shared';
import { ConvSameGrad, convSameGradConfig } from './conv_same_grad';
import { ConvSameAdd, convSameAddConfig } from './conv_same_add';
import { TorchSpatialMean, torchSpatialMeanConfig } from './torch_spatial_mean';
import { BatchNormStats, BatchNormApply, BatchNormGrad, batchNormStatsConfig, batchNormApplyConfig, batchNormGradConfig } from './batch_norm';

/** Wraps the addon around the original pure-JS kernel config. */
export type NativeKernelFactory = (addon: NativeAddon, original: tf.KernelConfig) => tf.KernelConfig;

export const nativeKernelFactories: ReadonlyArray<readonly [kernelName: string, make: NativeKernelFactory]> = [
  [tf.Conv2D, conv2dConfig],
  [tf.Conv2DBackpropInput, conv2dBackpropInputConfig],
  [tf.Conv2DBackpropFilter, conv2dBackpropFilterConfig],
  [tf.FusedConv2D, fusedConv2dConfig],
  [tf.Transpose, transposeConfig],
  [tf.Slice, sliceConfig],
  [tf.SplitV, splitVConfig],
  [tf.Sum, sumConfig],
  [tf.Mean, meanConfig],
  [tf.Add, addConfig],
  [tf.Sub, subConfig],
  [tf.Multiply, multiplyConfig],
  [tf.RealDiv, realDivConfig],
  [tf.Relu, reluConfig],
  [tf.Step, stepConfig],
  [tf.Abs, absConfig],
  [tf.Neg, negConfig],
  // no pure-JS originals: these wrap the composites registered by lib/backend/composite.ts
  [DdtbFakeQuant, ddtbFakeQuantConfig],
  [DdtbFakeQuantGrad, ddtbFakeQuantGradConfig],
  [PamsFakeQuant, pamsFakeQuantConfig],
  [PamsFakeQuantGrad, pamsFakeQuantGradConfig],
  [PreluShared, preluSharedConfig],
  [PreluSharedGrad, preluSharedGradConfig],
  [BatchNormStats, batchNormStatsConfig],
  [BatchNormApply, batchNormApplyConfig],
  [BatchNormGrad, batchNormGradConfig],
  [ConvSameGrad, convSameGradConfig],
  [ConvSameAdd, convSameAddConfig],
  [TorchSpatialMean, torchSpatialMeanConfig],
];
