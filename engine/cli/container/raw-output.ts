/**
 * The one part of docker's raw terminal that Node's setRawMode leaves out: output processing.
 * libuv's raw mode keeps OPOST/ONLCR, so the container's `\r\n` would reach the screen as
 * `\r\r\n`; docker (cfmakeraw) turns it off. Cleared here through termios (koffi, loaded only
 * for an attached TTY); Node's setRawMode(false) restores the terminal's original settings.
 */
import { endianness } from 'node:os';

const termiosSize = 64; // struct termios is 60 bytes on Linux; c_oflag is the second uint32
const opost = 0x1;
const tcsanow = 0;

export async function disableOutputProcessing(fd: number): Promise<void> {
  const { libc } = await import('../../sys/libc.js');
  const tcgetattr = libc.func('int tcgetattr(int fd, _Out_ uint8_t *termios)');
  const tcsetattr = libc.func('int tcsetattr(int fd, int actions, const uint8_t *termios)');
  const termios = Buffer.alloc(termiosSize);
  if (tcgetattr(fd, termios) !== 0) return;
  const le = endianness() === 'LE';
  const oflag = le ? termios.readUInt32LE(4) : termios.readUInt32BE(4);
  if ((oflag & opost) === 0) return;
  if (le) termios.writeUInt32LE(oflag & ~opost, 4);
  else termios.writeUInt32BE(oflag & ~opost, 4);
  tcsetattr(fd, tcsanow, termios);
}
