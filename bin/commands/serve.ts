/**
 * `genius-native serve`: the HTTP server (lib/serve/server.ts) — OpenAI-compatible completions over one model,
 * Genius runs as jobs, /healthz and /metrics. This command only turns flags into the server's options; SIGTERM and
 * SIGINT shut it down gracefully (requests in flight finish, runs stop at their next safe point, resumable).
 */
import type { CommandModule } from 'yargs';
import type { DType } from '../../lib';
import { DEFAULT_SERVE_OPTIONS, startServer } from '../../lib/serve/server';
import { adapterFlag, type AdapterArgs } from '../lora-flags';
import { MODEL_DTYPES } from '../placement-flags';
import { chatTemplateFlags, chatTemplateKwargsOf, type ChatTemplateFlagArgs } from '../chat-template-flags';

interface ServeArgs extends AdapterArgs, ChatTemplateFlagArgs {
  model?: string;
  host: string;
  port: number;
  'max-batch': number;
  'max-queue': number;
  'api-key'?: string;
  'body-limit': number;
  runs: string;
  device?: string;
  dtype?: DType;
}

const defaults = DEFAULT_SERVE_OPTIONS;

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Serve a model over HTTP: OpenAI-compatible completions, Genius runs as jobs, /healthz, /metrics',
  builder: (yargs) =>
    chatTemplateFlags(adapterFlag(yargs), "every chat request's, under its own chat_template_kwargs")
      .option('model', { type: 'string', describe: 'model directory [default: the embedded model, models/default]' })
      .option('host', { type: 'string', default: defaults.host, describe: 'address to bind (0.0.0.0: every one)' })
      .option('port', { type: 'number', default: defaults.port, describe: '0 picks a free port' })
      .option('max-batch', {
        type: 'number',
        default: defaults.maxBatch,
        describe: 'most sequences (prompts × n) in one native generate call',
      })
      .option('max-queue', {
        type: 'number',
        default: defaults.maxQueue,
        describe: 'most requests waiting for the engine (past it: 429)',
      })
      .option('api-key', { type: 'string', describe: 'require `Authorization: Bearer <key>` (all but /healthz)' })
      .option('body-limit', { type: 'number', default: defaults.bodyLimit, describe: 'largest request body in bytes' })
      .option('runs', { type: 'string', default: defaults.runsDir, describe: 'directory of the Genius runs' })
      .option('device', { type: 'string', describe: 'cpu, cuda or cuda:N [default: cpu]' })
      .option('dtype', { choices: MODEL_DTYPES }),
  handler: async (args) => {
    const server = await startServer({
      model: args.model,
      host: args.host,
      port: args.port,
      maxBatch: args['max-batch'],
      maxQueue: args['max-queue'],
      apiKey: args['api-key'],
      bodyLimit: args['body-limit'],
      runsDir: args.runs,
      chatTemplateKwargs: chatTemplateKwargsOf(args),
      load: { device: args.device, dtype: args.dtype, adapter: args.adapter },
    });
    console.error(`serve: listening on ${server.url}`);
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string): void => {
        console.error(`serve: ${signal}: finishing the requests in flight, stopping runs at their next safe point`);
        resolve();
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
    await server.close();
    console.error('serve: stopped');
  },
};
