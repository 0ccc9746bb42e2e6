/**
 * The userland proxy (docker-proxy's job, in-process): a listener on the host address that relays
 * each TCP connection, or each UDP client's datagrams, to the container's address. It is what makes
 * a published port reachable on 127.0.0.1 and from the container's own bridge, where DNAT does not
 * apply. Half-closes are forwarded (a client that shuts down writing still gets its answer).
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Protocol } from './ports.js';

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface Proxy {
  protocol: Protocol;
  hostIp: string;
  /** The port actually bound (the kernel's choice when 0 was asked for). */
  hostPort: number;
  close(): Promise<void>;
}

/** UDP clients idle this long are forgotten (docker-proxy's timeout). */
export const udpIdleMs = 90_000;

function relay(client: Socket, target: ProxyTarget, open: Set<Socket>): void {
  const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
  open.add(client);
  open.add(upstream);
  const drop = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', drop).on('close', () => open.delete(client));
  upstream.on('error', drop).on('close', () => {
    open.delete(upstream);
    // Both directions finished (or the container went away): nothing more can flow.
    if (!client.destroyed && client.writableFinished) client.destroy();
  });
  client.pipe(upstream);
  upstream.pipe(client);
}

export function listenTcp(hostIp: string, hostPort: number, target: ProxyTarget): Promise<Proxy> {
  const open = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (client) => relay(client, target, open));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: hostIp, port: hostPort, exclusive: true }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        protocol: 'tcp',
        hostIp,
        hostPort: typeof address === 'object' && address ? address.port : hostPort,
        close: () =>
          new Promise<void>((done) => {
            for (const s of open) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

export function listenUdp(hostIp: string, hostPort: number, target: ProxyTarget): Promise<Proxy> {
  const front = createSocket({ type: 'udp4' });
  const clients = new Map<string, { socket: UdpSocket; timer: NodeJS.Timeout }>();
  const forget = (key: string) => {
    const c = clients.get(key);
    if (!c) return;
    clearTimeout(c.timer);
    c.socket.close();
    clients.delete(key);
  };
  front.on('message', (msg: Buffer, from: RemoteInfo) => {
    const key = `${from.address}:${from.port}`;
    let c = clients.get(key);
    if (!c) {
      const socket = createSocket({ type: 'udp4' });
      socket.on('message', (reply, src) => {
        if (src.address !== target.host || src.port !== target.port) return;
        front.send(reply, from.port, from.address);
        const entry = clients.get(key);
        entry?.timer.refresh();
      });
      socket.on('error', () => forget(key));
      c = { socket, timer: setTimeout(() => forget(key), udpIdleMs).unref() };
      clients.set(key, c);
    }
    c.timer.refresh();
    c.socket.send(msg, target.port, target.host);
  });
  return new Promise((resolve, reject) => {
    front.once('error', reject);
    front.bind({ address: hostIp, port: hostPort, exclusive: true }, () => {
      front.off('error', reject);
      front.on('error', () => {}); // a send error on one datagram must not end the proxy
      resolve({
        protocol: 'udp',
        hostIp,
        hostPort: front.address().port,
        close: () =>
          new Promise<void>((done) => {
            for (const key of [...clients.keys()]) forget(key);
            front.close(() => done());
          }),
      });
    });
  });
}
