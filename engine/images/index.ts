export { ContentStore, type IngestResult } from './content-store.js';
export {
  ImageStore,
  canonicalTag,
  canonicalDigestRef,
  familiar,
  minIdPrefix,
  type DeleteItem,
  type ImageStoreOptions,
  type ResolvedImage,
} from './image-store.js';
export { blobsOfRecord, describeImage, hostPlatform, type ContentRef, type ImageRecord, type NewImage } from './record.js';
export type { HistoryEntry, ImageInspect, ImageSummary } from './views.js';
export { load, save, saveOci, archivePath, type LoadResult } from './archive.js';
