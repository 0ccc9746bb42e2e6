import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONTROL, encodeControl, encodeFrame, FrameDecoder, STDERR, STDOUT, type FrameType } from './frames.js';

test("docker's 8-byte header; frames survive any chunking; bad headers are refused", () => {
  const f = encodeFrame(STDOUT, 'hi');
  assert.deepEqual([...f], [1, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]);
  const stream = Buffer.concat([f, encodeFrame(STDERR, Buffer.alloc(70000, 1)), encodeControl({ exit: { exitCode: 3 } }), encodeFrame(STDOUT, '')]);
  for (const step of [1, 7, 8, 9, 4096, stream.length]) {
    const got: Array<[FrameType, number]> = [];
    let control: unknown;
    const d = new FrameDecoder((type, payload) => {
      got.push([type, payload.length]);
      if (type === CONTROL) control = JSON.parse(payload.toString());
    });
    for (let i = 0; i < stream.length; i += step) d.push(stream.subarray(i, i + step));
    assert.deepEqual(got, [[STDOUT, 2], [STDERR, 70000], [CONTROL, 23], [STDOUT, 0]], `chunks of ${step}`);
    assert.deepEqual(control, { exit: { exitCode: 3 } });
  }
  assert.throws(() => new FrameDecoder(() => {}).push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0])), /bad frame header/);
  assert.throws(() => new FrameDecoder(() => {}).push(Buffer.from([1, 0, 0, 0, 0x7f, 0, 0, 0])), /bad frame header/);
});
