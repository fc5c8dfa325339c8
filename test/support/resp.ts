import { connect } from 'node:net';

/** A decoded RESP2 reply. Error replies become {@link RespErrorReply} values (not thrown). */
export type RespReply = string | number | null | RespErrorReply | RespReply[];

/** An error reply (`-ERR ...`) from the server. */
export class RespErrorReply {
  constructor(readonly message: string) {}
}

/**
 * Sends one command to a Redis-protocol server over a raw socket and resolves with its reply.
 * Support code uses this instead of ioredis so that the helpers that start servers do not depend
 * on the client under test.
 *
 * @param timeoutMs Milliseconds before the socket is destroyed and the call rejects. @default 1_000
 * @throws Error on connection failure, timeout, or a reply this small parser does not know.
 */
export function respCommand(
  port: number,
  args: readonly string[],
  { host = '127.0.0.1', timeoutMs = 1_000 }: { host?: string; timeoutMs?: number } = {},
): Promise<RespReply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host });
    let buffer = Buffer.alloc(0);
    const finish = (error: Error | undefined, reply?: RespReply): void => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply ?? null);
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(`no reply from ${host}:${port} to ${args[0] ?? ''} within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    socket.once('error', (error) => finish(error));
    socket.once('close', () => finish(new Error(`${host}:${port} closed the connection`)));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        const parsed = parseReply(buffer, 0);
        if (parsed !== undefined) finish(undefined, parsed.reply);
      } catch (error: unknown) {
        finish(error as Error);
      }
    });
    socket.write(encodeCommand(args));
  });
}

/** Encodes a command as a RESP array of bulk strings. */
function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(arg, 'utf8');
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Parses one reply at `offset`; `undefined` when `buffer` does not hold all of it yet. */
function parseReply(
  buffer: Buffer,
  offset: number,
): { reply: RespReply; next: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[offset] ?? 0);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case '+':
      return { reply: line, next: afterLine };
    case '-':
      return { reply: new RespErrorReply(line), next: afterLine };
    case ':':
      return { reply: Number(line), next: afterLine };
    case '$': {
      const length = Number(line);
      if (length < 0) return { reply: null, next: afterLine };
      if (buffer.length < afterLine + length + 2) return undefined;
      return {
        reply: buffer.toString('utf8', afterLine, afterLine + length),
        next: afterLine + length + 2,
      };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: null, next: afterLine };
      const items: RespReply[] = [];
      let next = afterLine;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, next);
        if (item === undefined) return undefined;
        items.push(item.reply);
        next = item.next;
      }
      return { reply: items, next };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}
