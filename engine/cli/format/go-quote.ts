/**
 * Go's strconv.Quote (how `docker ps` prints COMMAND): double quotes, backslash escapes for
 * quotes, backslashes and control characters, printable Unicode kept as it is.
 */
const named: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\' };

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function isPrintable(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const escaped = named[ch];
    if (escaped) {
      out += escaped;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    if (isPrintable(ch)) out += ch;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** docker's Ellipsis: at most `max` characters, the last one `…` when cut. */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  if (max <= 0) return '';
  if (chars.length <= max) return text;
  if (max === 1) return chars[0]!;
  return `${chars.slice(0, max - 1).join('')}…`;
}
