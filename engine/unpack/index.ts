/** engine/unpack: apply image layers onto a directory, confined to it (DESIGN.md invariant 5). */
export { applyLayer, type ApplyOptions, type ApplyResult, type LayerSource } from './apply.js';
export { compressionOf, zstdAvailable, type Compression } from './decompress.js';
export { UnpackPool } from './pool.js';
export type { Resolver } from './root.js';
export type { ApplyMode } from './writer.js';
