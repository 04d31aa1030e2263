import net from 'node:net';

/**
 * A TCP relay between oned-emu and PostgreSQL that a test can break: `refuse` drops every connection and refuses new
 * ones (the database went away), `blackhole` keeps connections open but relays nothing (a network that drops
 * packets), `up` relays again.
 */
export class TcpProxy {
  private mode: 'up' | 'refuse' | 'blackhole' = 'up';
  private readonly open = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = net.createServer((client) => proxy!.accept(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  private track(socket: net.Socket): void {
    this.open.add(socket);
    socket.on('close', () => this.open.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private accept(client: net.Socket, target: { host: string; port: number }): void {
    this.track(client);
    if (this.mode === 'refuse') { client.destroy(); return; }
    if (this.mode === 'blackhole') { client.pause(); return; }
    const upstream = net.connect(target.port, target.host);
    this.track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** Breaks the link; existing connections are cut (refuse) or silently stalled (blackhole). */
  cut(mode: 'refuse' | 'blackhole'): void {
    this.mode = mode;
    for (const socket of this.open) {
      if (mode === 'refuse') socket.destroy();
      else { socket.unpipe(); socket.pause(); }
    }
  }

  /** Relays again; stalled connections are closed so their owners reconnect. */
  restore(): void {
    this.mode = 'up';
    for (const socket of this.open) if (socket.isPaused()) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
