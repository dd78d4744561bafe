/**
 * Server-Sent Events on a Fastify reply: the completion streams (OpenAI's `data: {...}` chunks and `data: [DONE]`)
 * and a Genius run's events (`event: <type>`, with an `id` a reconnecting client can resume after).
 */
import type { FastifyReply } from 'fastify';

export interface SseMessage {
  data: unknown;
  event?: string;
  id?: number;
}

export class EventStream {
  readonly #reply: FastifyReply;

  /** Takes the reply over from Fastify and sends the stream's headers. */
  constructor(reply: FastifyReply) {
    this.#reply = reply;
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Proxies such as nginx would otherwise hold events back in their buffers.
      'x-accel-buffering': 'no',
    });
  }

  /** Whether the client is still there to read. */
  get open(): boolean {
    return !this.#reply.raw.destroyed && !this.#reply.raw.writableEnded;
  }

  send(message: SseMessage): void {
    if (!this.open) return;
    const lines = [
      ...(message.id === undefined ? [] : [`id: ${message.id}`]),
      ...(message.event === undefined ? [] : [`event: ${message.event}`]),
      `data: ${typeof message.data === 'string' ? message.data : JSON.stringify(message.data)}`,
    ];
    this.#reply.raw.write(`${lines.join('\n')}\n\n`);
  }

  end(): void {
    if (this.open) this.#reply.raw.end();
  }
}
