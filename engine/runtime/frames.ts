/**
 * The framing of the shim's attach socket, in both directions and with or without a TTY:
 * docker's 8-byte stream header `[type, 0, 0, 0, size (uint32 big-endian)]` followed by `size`
 * bytes. Types: 0 stdin (client -> shim), 1 stdout, 2 stderr (shim -> client; a TTY's output is
 * all stdout), 3 control: one JSON object (both ways, see protocol.ts). The daemon strips the
 * control frames and, for a TTY, the headers, to give docker clients their raw or multiplexed
 * stream.
 */

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const CONTROL = 3;

export type FrameType = typeof STDIN | typeof STDOUT | typeof STDERR | typeof CONTROL;

const HEADER = 8;
/** Larger frames are a protocol error (a control message or one read's worth of output is far smaller). */
export const MAX_FRAME = 16 * 1024 * 1024;

export function encodeFrame(type: FrameType, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(HEADER);
  head[0] = type;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

export function encodeControl(message: object): Buffer {
  return encodeFrame(CONTROL, JSON.stringify(message));
}

/** Splits a byte stream into frames; feed it chunks, it calls `onFrame` per complete frame. */
export class FrameDecoder {
  // Chunks are only joined once a whole frame is there: a large frame in many reads costs one copy.
  private chunks: Buffer[] = [];
  private length = 0;

  constructor(private readonly onFrame: (type: FrameType, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    while (this.length >= HEADER) {
      if (this.chunks[0]!.length < HEADER) this.chunks = [Buffer.concat(this.chunks, this.length)];
      const head = this.chunks[0]!;
      const type = head[0]!;
      const size = head.readUInt32BE(4);
      if (type > CONTROL || size > MAX_FRAME) throw new Error(`attach protocol: bad frame header (type ${type}, size ${size})`);
      if (this.length < HEADER + size) return;
      const all = this.chunks.length === 1 ? head : Buffer.concat(this.chunks, this.length);
      const rest = all.subarray(HEADER + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.length = rest.length;
      this.onFrame(type as FrameType, all.subarray(HEADER, HEADER + size));
    }
  }
}
