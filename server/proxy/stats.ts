/** Counters of the pull-through cache: plain fields, for the metrics endpoint to read. */
export class PullThroughStats {
  /** Reads answered from local storage (blobs, manifests, fresh or HEAD-confirmed tags). */
  hits = 0;
  /** Reads that needed content from an upstream. */
  misses = 0;
  blobHits = 0;
  blobMisses = 0;
  manifestHits = 0;
  manifestMisses = 0;
  /** Tag lookups answered from the cache because the upstream failed. */
  staleServed = 0;
  /** Upstream GETs of content (blobs and manifests). */
  upstreamFetches = 0;
  /** Upstream HEADs that revalidated a tag. */
  upstreamRevalidations = 0;
  /** Upstream failures: unreachable, timeouts, 429, 5xx, refused credentials, corrupt content. */
  upstreamErrors = 0;
  /** Blob bytes stored from upstreams. */
  bytesFetched = 0;

  hit(kind: 'blob' | 'manifest'): void {
    this.hits++;
    if (kind === 'blob') this.blobHits++;
    else this.manifestHits++;
  }

  miss(kind: 'blob' | 'manifest'): void {
    this.misses++;
    if (kind === 'blob') this.blobMisses++;
    else this.manifestMisses++;
  }
}
