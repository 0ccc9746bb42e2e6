/**
 * The detach key sequence of an attached TTY (default ctrl-p,ctrl-q): docker's spelling
 * (`ctrl-a`..`ctrl-z`, `ctrl-@`, `ctrl-[`, `ctrl-\`, `ctrl-]`, `ctrl-^`, `ctrl-_`, or a single
 * character, comma separated) and a scanner that holds back a partial match and lets it through
 * when the next key does not continue it.
 */
export const defaultDetachKeys = Buffer.from([16, 17]);

const controlNames = ['@', ...'abcdefghijklmnopqrstuvwxyz', '[', '\\', ']', '^', '_'];

/** The bytes of a detach-keys spec, or undefined when it is not valid. */
export function parseDetachKeys(spec: string): Buffer | undefined {
  const bytes: number[] = [];
  for (const key of spec.split(',')) {
    if (key.length === 1) {
      bytes.push(key.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/i.exec(key);
    const code = m ? controlNames.indexOf(m[1]!.toLowerCase()) : -1;
    if (code < 0) return undefined;
    bytes.push(code);
  }
  return Buffer.from(bytes);
}

export class DetachScanner {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** The bytes to pass on, and whether the whole sequence has now been typed. */
  scan(chunk: Buffer): { pass: Buffer; detached: boolean } {
    if (this.keys.length === 0) return { pass: chunk, detached: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { pass: Buffer.from(out), detached: true };
        continue;
      }
      // Not the sequence after all: what was held back goes through, then this key.
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i]!);
      this.matched = byte === this.keys[0] ? 1 : 0;
      if (this.matched === 0) out.push(byte);
    }
    return { pass: Buffer.from(out), detached: false };
  }
}
