/**
 * Checkpoint I/O: PyTorch `.pt` files in (zip and legacy formats, no Python) and out (zip, under the
 * official names), and our own safetensors checkpoints with string metadata. All tensors are
 * `StateEntry`s in the official PyTorch layout (row-major, NCHW / OIHW as stored).
 */
export { readTorchCheckpoint, parseTorchCheckpoint, TorchTensor } from './torch_import';
export type { TorchCheckpoint } from './torch_import';
export { writeTorchStateDict, encodeTorchStateDict, archiveNameFor } from './torch_export';
export { readSafetensors, writeSafetensors, decodeSafetensors } from './safetensors';
export type { SafetensorsContent } from './safetensors';
export { writeFileAtomic, writeBytesAtomic } from './atomic_write';
export type { ChunkSink } from './atomic_write';
export { OpaqueObject, PickleGlobal } from './pickle';
