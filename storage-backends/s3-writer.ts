/**
 * Writing S3 objects in pieces, across requests, without copying what is already there.
 *
 * A file lives in one of two states:
 * - a plain object at its key (small files, and every committed file);
 * - an open multipart upload: the object is absent, and `<key>#multipart` (JSON) lists the upload
 *   id, its parts (each >= 5 MiB) and an optional tail object `<key>#tail.<random>` holding the last
 *   bytes (< 5 MiB, too small for a part that is not the last). Writing that record is the point
 *   where a paused write becomes durable; parts uploaded after it and not named in it are ignored.
 *
 * `close()` (an upload paused between PATCH requests) keeps the multipart upload open, so the next
 * request only adds parts: n chunks cost n part uploads, not n growing copies. `commit()` completes
 * it into the plain object and removes the record and the tail. Where both a plain object and a
 * record exist (a process killed between writing the record and deleting the object it took over),
 * the object wins and the record is a leftover.
 */
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import type { FileWriter } from './backend.js';
import { isMissing } from './s3-errors.js';

const MiB = 1024 * 1024;
export const minPartSize = 5 * MiB;
const OPEN_SUFFIX = '#multipart';

export interface UploadedPart {
  PartNumber: number;
  ETag: string;
  Size: number;
}

/** The record of an open multipart upload, kept at `<key>#multipart`. */
export interface OpenUpload {
  uploadId: string;
  parts: UploadedPart[];
  tail?: { key: string; size: number };
  modified: string;
}

/** What the writer needs of its backend. */
export interface S3WriteTarget {
  readonly client: S3Client;
  readonly bucketName: string;
  readonly sse: { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string };
  readonly chunkSize: number;
  copySource(key: string): string;
}

export function openRecordKey(key: string): string {
  return `${key}${OPEN_SUFFIX}`;
}

/** `<key>` for a record's key, or undefined for any other key. */
export function keyOfOpenRecord(recordKey: string): string | undefined {
  return recordKey.endsWith(OPEN_SUFFIX) ? recordKey.slice(0, -OPEN_SUFFIX.length) : undefined;
}

export function sizeOfOpen(open: OpenUpload): number {
  return open.parts.reduce((n, p) => n + p.Size, 0) + (open.tail?.size ?? 0);
}


function isOpenUpload(v: unknown): v is OpenUpload {
  const o = v as OpenUpload;
  return typeof o === 'object' && o !== null && typeof o.uploadId === 'string' && Array.isArray(o.parts)
    && o.parts.every((p) => Number.isInteger(p.PartNumber) && typeof p.ETag === 'string' && Number.isInteger(p.Size))
    && (o.tail === undefined || (typeof o.tail.key === 'string' && Number.isInteger(o.tail.size)));
}

export async function readOpenUpload(t: S3WriteTarget, key: string): Promise<OpenUpload | undefined> {
  let body: Uint8Array;
  try {
    const out = await t.client.send(new GetObjectCommand({ Bucket: t.bucketName, Key: openRecordKey(key) }));
    body = await out.Body!.transformToByteArray();
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  const parsed: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
  if (!isOpenUpload(parsed)) throw new Error(`unreadable multipart record at ${openRecordKey(key)}`);
  return parsed;
}

async function deleteKey(t: S3WriteTarget, key: string): Promise<void> {
  await t.client.send(new DeleteObjectCommand({ Bucket: t.bucketName, Key: key }));
}

/** Abort a multipart upload (its parts go); one already gone is no error. */
export async function abortUpload(t: S3WriteTarget, key: string, uploadId: string): Promise<void> {
  await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucketName, Key: key, UploadId: uploadId })).catch((err: unknown) => {
    if (!isMissing(err)) throw err;
  });
}

/** Drop an open upload: its parts, its tail and its record. */
export async function discardOpenUpload(t: S3WriteTarget, key: string, open: OpenUpload): Promise<void> {
  await abortUpload(t, key, open.uploadId);
  if (open.tail) await deleteKey(t, open.tail.key);
  await deleteKey(t, openRecordKey(key));
}

export class S3Writer implements FileWriter {
  private uploadId: string | undefined;
  private parts: UploadedPart[] = [];
  private buffer: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private wrote = false;
  /** The open upload this writer continues (its record as read), if any. */
  private resumed: OpenUpload | undefined;
  /** A resumed tail not yet read into the buffer. */
  private tailToLoad: { key: string; size: number } | undefined;
  /** Bytes of a plain object being continued; taken over only once new data arrives. */
  private existing = 0;
  /** A plain object is at the key (continued, or an empty placeholder): it goes once a record is written. */
  private plainObject = false;
  size = 0;

  constructor(
    private readonly t: S3WriteTarget,
    private readonly key: string,
  ) {}

  private get client(): S3Client {
    return this.t.client;
  }

  private get bucket(): string {
    return this.t.bucketName;
  }

  /** Continue a plain object of `size` bytes. */
  continueObject(size: number): void {
    this.existing = size;
    this.size = size;
    this.plainObject = true;
  }

  /** Write over the (empty) plain object at the key. */
  overwriteObject(): void {
    this.plainObject = true;
  }

  /** Continue an open multipart upload. */
  continueOpen(open: OpenUpload): void {
    this.resumed = open;
    this.uploadId = open.uploadId;
    this.parts = open.parts.map((p) => ({ ...p }));
    this.tailToLoad = open.tail;
    this.size = sizeOfOpen(open);
  }

  private async ensureUpload(): Promise<string> {
    if (!this.uploadId) {
      const out = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ...this.t.sse }));
      this.uploadId = out.UploadId!;
    }
    return this.uploadId;
  }

  private nextPartNumber(): number {
    return this.parts.reduce((n, p) => Math.max(n, p.PartNumber), 0) + 1;
  }

  private async readObject(key: string): Promise<Buffer> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  private pushBuffered(bytes: Buffer): void {
    this.buffer.push(bytes);
    this.buffered += bytes.length;
  }

  /** Bring the plain object being continued into the upload: a server-side copy, or (small) its bytes. */
  private async takeOverObject(): Promise<void> {
    const size = this.existing;
    this.existing = 0;
    if (size < minPartSize) {
      this.pushBuffered(await this.readObject(this.key));
      return;
    }
    const UploadId = await this.ensureUpload();
    // A single copied part may be at most 5 GiB: larger objects are copied in ranges.
    const step = 5 * 1024 * MiB;
    for (let start = 0; start < size; start += step) {
      const end = Math.min(size, start + step) - 1;
      const PartNumber = this.nextPartNumber();
      const out = await this.client.send(
        new UploadPartCopyCommand({
          Bucket: this.bucket, Key: this.key, UploadId, PartNumber,
          CopySource: this.t.copySource(this.key), CopySourceRange: `bytes=${start}-${end}`,
        }),
      );
      this.parts.push({ PartNumber, ETag: out.CopyPartResult?.ETag ?? '', Size: end - start + 1 });
    }
  }

  private async loadTail(): Promise<void> {
    const tail = this.tailToLoad;
    if (!tail) return;
    this.tailToLoad = undefined;
    const bytes = await this.readObject(tail.key);
    if (bytes.length !== tail.size) throw new Error(`multipart tail ${tail.key} has ${bytes.length} bytes, its record says ${tail.size}`);
    // The tail comes first: nothing was buffered before it.
    this.buffer.unshift(bytes);
    this.buffered += bytes.length;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.done) throw new Error('write after close');
    if (this.existing > 0) await this.takeOverObject();
    if (this.tailToLoad) await this.loadTail();
    this.wrote = true;
    this.pushBuffered(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.size += chunk.length;
    while (this.buffered >= this.t.chunkSize) await this.uploadPart(this.t.chunkSize);
  }

  private takeBuffered(n: number): Buffer {
    const all = this.buffer.length === 1 ? this.buffer[0]! : Buffer.concat(this.buffer, this.buffered);
    const body = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffer = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return body;
  }

  private async uploadPart(n: number): Promise<void> {
    const UploadId = await this.ensureUpload();
    const Body = this.takeBuffered(n);
    const PartNumber = this.nextPartNumber();
    const out = await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId, PartNumber, Body, ContentLength: Body.length }));
    this.parts.push({ PartNumber, ETag: out.ETag ?? '', Size: Body.length });
  }

  private async putObject(key: string, Body: Buffer): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body, ContentLength: Body.length, ...this.t.sse }));
  }

  /** Pause: keep the multipart upload open and record it; small files stay one plain object. */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (!this.wrote) return; // nothing new: the file is what it was
    if (!this.uploadId) {
      await this.putObject(this.key, this.takeBuffered(this.buffered));
      return;
    }
    let tail: OpenUpload['tail'];
    if (this.buffered >= minPartSize) await this.uploadPart(this.buffered);
    else if (this.buffered > 0) {
      tail = { key: `${this.key}#tail.${randomBytes(8).toString('hex')}`, size: this.buffered };
      await this.putObject(tail.key, this.takeBuffered(this.buffered));
    }
    const record: OpenUpload = { uploadId: this.uploadId, parts: this.parts, ...(tail ? { tail } : {}), modified: new Date().toISOString() };
    await this.putObject(openRecordKey(this.key), Buffer.from(JSON.stringify(record)));
    if (this.plainObject) await deleteKey(this.t, this.key);
    const oldTail = this.resumed?.tail;
    if (oldTail) await deleteKey(this.t, oldTail.key).catch(() => undefined);
  }

  private async complete(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (this.existing > 0) return; // a plain object continued without new data is already complete
    if (this.tailToLoad) await this.loadTail();
    if (!this.uploadId) {
      await this.putObject(this.key, this.takeBuffered(this.buffered));
      return;
    }
    if (this.buffered > 0) await this.uploadPart(this.buffered);
    if (this.parts.length === 0) {
      await this.abortUpload();
      await this.putObject(this.key, Buffer.alloc(0));
    } else {
      const Parts = this.parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag }));
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, MultipartUpload: { Parts } }));
    }
    // The object is complete and wins over any record left here; the rest is tidying.
    if (this.resumed) {
      await deleteKey(this.t, openRecordKey(this.key)).catch(() => undefined);
      if (this.resumed.tail) await deleteKey(this.t, this.resumed.tail.key).catch(() => undefined);
    }
  }

  async commit(): Promise<void> {
    try {
      await this.complete();
    } catch (err) {
      await this.undo();
      throw err;
    }
  }

  private async abortUpload(): Promise<void> {
    if (this.uploadId) await abortUpload(this.t, this.key, this.uploadId).catch(() => undefined);
  }

  /**
   * Forget this writer's bytes. A multipart upload it started is aborted; one it continued stays
   * as its record describes (parts uploaded since are not in the record, so they do not count).
   */
  private async undo(): Promise<void> {
    this.done = true;
    this.buffer = [];
    this.buffered = 0;
    if (!this.resumed) await this.abortUpload();
  }

  async abandon(): Promise<void> {
    await this.undo();
  }

  async cancel(): Promise<void> {
    await this.undo();
    if (this.resumed) await discardOpenUpload(this.t, this.key, this.resumed).catch(() => undefined);
    await deleteKey(this.t, this.key).catch(() => undefined);
  }
}
