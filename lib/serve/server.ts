/**
 * `genius-native serve`: an HTTP server over one model, on Fastify (JSON-schema validation of every body, a body
 * limit, and a fast router and serializer, kept by the OpenJS Foundation). It serves OpenAI-compatible completions
 * through the batching queue (openai-routes.ts, batching-queue.ts), runs Genius as jobs in run directories
 * (genius-runs.ts, run-routes.ts), and answers /healthz and /metrics (metrics.ts).
 *
 * It is the `genius-native/serve` subpath of the package, and drives the model and the loop only through what
 * lib/index.ts exports (lib/index.ts does not import it, so a library user never loads Fastify).
 *
 * Every error is a JSON body in OpenAI's shape whose `code` is an ERR_GENIUS_* code and whose `param` names the
 * field at fault. With an API key, every route but /healthz wants `Authorization: Bearer <key>`.
 */
import { timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import Fastify from 'fastify';
import {
  EMBEDDED_MODEL_DIR,
  ErrorCode,
  GeniusError,
  Model,
  Tokenizer,
  endOfResponseIds,
  readGenerationDefaults,
  type LoadOptions,
} from '../index';
import { invalidArgument } from '../errors';
import { checkChatTemplateKwargs } from '../text/chat-template-args';
import { BatchingQueue } from './batching-queue';
import { errorAnswer } from './error-answer';
import { GeniusRuns } from './genius-runs';
import { ServerMetrics } from './metrics';
import { registerOpenAiRoutes } from './openai-routes';
import { registerRunRoutes } from './run-routes';

export interface ServeOptions {
  /** The model directory to serve. Default: the embedded model (models/default). */
  model?: string;
  /** Default 127.0.0.1: the server is reachable from this machine only unless told otherwise. */
  host?: string;
  /** Default 8000; 0 picks a free port (see GeniusServer.url). */
  port?: number;
  /** Most sequences (prompts × n) in one native generate call. Default 64. */
  maxBatch?: number;
  /** Most generation requests waiting for the engine; past it, 429. Default 256. */
  maxQueue?: number;
  /** When set, requests must bear `Authorization: Bearer <apiKey>` (all but /healthz). */
  apiKey?: string;
  /** Largest request body in bytes; past it, 413. Default 1 MiB. */
  bodyLimit?: number;
  /** Where Genius runs live, one directory each. Default runs/serve. */
  runsDir?: string;
  /**
   * Chat-template variables every chat request renders with, under its own `chat_template_kwargs` (which win key by
   * key, as in vLLM). Default {}.
   */
  chatTemplateKwargs?: Record<string, unknown>;
  load?: Omit<LoadOptions, 'signal'>;
}

export interface GeniusServer {
  /** The address it listens on, e.g. http://127.0.0.1:8000. */
  readonly url: string;
  /**
   * Stops taking requests, lets the requests in flight (and those queued) finish, stops running Genius runs at their
   * next safe point (resumable later), then frees the model.
   */
  close(): Promise<void>;
}

export const DEFAULT_SERVE_OPTIONS = Object.freeze({
  host: '127.0.0.1',
  port: 8000,
  maxBatch: 64,
  maxQueue: 256,
  bodyLimit: 1 << 20,
  runsDir: path.join('runs', 'serve'),
});

/** Loads the model and starts listening. */
export async function startServer(options: ServeOptions = {}): Promise<GeniusServer> {
  const defaults = DEFAULT_SERVE_OPTIONS;
  const settings = {
    host: options.host ?? defaults.host,
    port: options.port ?? defaults.port,
    maxBatch: options.maxBatch ?? defaults.maxBatch,
    maxQueue: options.maxQueue ?? defaults.maxQueue,
    bodyLimit: options.bodyLimit ?? defaults.bodyLimit,
    runsDir: options.runsDir ?? defaults.runsDir,
    apiKey: options.apiKey,
  };
  for (const name of ['maxBatch', 'maxQueue', 'bodyLimit'] as const) {
    if (!Number.isInteger(settings[name]) || settings[name] < 1) invalidArgument(name, 'a positive integer');
  }
  if (!Number.isInteger(settings.port) || settings.port < 0 || settings.port > 65535) {
    invalidArgument('port', 'an integer from 0 to 65535');
  }
  const chatTemplateKwargs = options.chatTemplateKwargs ?? {};
  checkChatTemplateKwargs(chatTemplateKwargs, 'chatTemplateKwargs');
  const modelDir = path.resolve(options.model ?? EMBEDDED_MODEL_DIR);
  const load = options.load ?? {};
  const tokenizer = await Tokenizer.fromDir(modelDir);
  const recommended = readGenerationDefaults(modelDir);
  const model = await Model.load(modelDir, load);
  const metrics = new ServerMetrics();
  const queue = new BatchingQueue(
    model,
    tokenizer,
    { maxBatch: settings.maxBatch, maxQueue: settings.maxQueue },
    metrics,
    endOfResponseIds(model, tokenizer),
  );
  const runs = await GeniusRuns.open(settings.runsDir, { model: modelDir, load }, metrics);

  const app = Fastify({
    bodyLimit: settings.bodyLimit,
    // A body is taken as sent: no type coercion, no silently dropped fields; the first error is reported.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  app.addHook('onRequest', async (request) => {
    if (
      settings.apiKey !== undefined &&
      request.url !== '/healthz' &&
      !bears(request.headers.authorization, settings.apiKey)
    ) {
      throw new GeniusError(ErrorCode.Unauthorized, 'this server wants `Authorization: Bearer <key>`');
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequests.inc({ route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode });
  });
  app.setErrorHandler((error, _request, reply) => {
    const { status, body } = errorAnswer(error);
    if (status >= 500) app.log.error(error);
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(errorAnswer(new GeniusError(ErrorCode.NotFound, `no route ${request.method} ${request.url}`)).body),
  );

  app.get('/healthz', async () => ({ status: 'ok', model: path.basename(modelDir) }));
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.text();
  });
  registerOpenAiRoutes(app, {
    model,
    tokenizer,
    modelName: path.basename(modelDir),
    queue,
    recommended,
    chatTemplateKwargs,
  });
  registerRunRoutes(app, runs);

  const url = await app.listen({ host: settings.host, port: settings.port });
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () =>
      (closing ??= (async () => {
        // Runs first: their event streams end when they stop, and Fastify's close waits for open requests.
        await runs.close();
        // Fastify's close waits for every connection to end, and a keep-alive connection whose last answer was
        // still being written when close began would stay open until its timeout: close such ones as they idle.
        const idle = setInterval(() => app.server.closeIdleConnections(), 50);
        await app.close().finally(() => clearInterval(idle));
        await queue.drained();
        model.dispose();
      })()),
  };
}

/** Whether an Authorization header bears `key`, compared in constant time. */
function bears(header: string | undefined, key: string): boolean {
  const given = Buffer.from(header ?? '');
  const wanted = Buffer.from(`Bearer ${key}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
