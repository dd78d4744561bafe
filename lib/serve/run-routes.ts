/**
 * The Genius run routes: POST /v1/genius/runs starts a run (runPipeline's settings, the CLI `train` flags under the
 * library's names; queries and the evaluation set inline or as files), GET lists runs or gives one's state, GET
 * .../events streams its events as Server-Sent Events (all of them from the start, or after Last-Event-ID), DELETE
 * aborts it at its next safe point, and POST .../resume continues a stopped or interrupted one.
 */
import type { FastifyInstance } from 'fastify';
import { DEFAULT_EXPLORE_OPTIONS, DEFAULT_TRAIN_OPTIONS } from '../index';
import type { GeniusRuns, RunRequest } from './genius-runs';
import { EventStream } from './sse';

/** A JSON schema of an options object: each key of `defaults` with the JSON type of its default, nothing else. */
function optionsSchema(defaults: object, leaveOut: string[]): object {
  const entries = Object.entries(defaults).filter(([name]) => !leaveOut.includes(name));
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(entries.map(([name, value]) => [name, { type: typeof value }])),
  };
}

const id = { anyOf: [{ type: 'string' }, { type: 'integer' }] };

const runSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model: { type: 'string', minLength: 1 },
    queries: {
      anyOf: [
        { type: 'string', minLength: 1 },
        {
          type: 'array',
          minItems: 1,
          items: {
            anyOf: [
              { type: 'string', minLength: 1 },
              {
                type: 'object',
                required: ['instruction'],
                additionalProperties: false,
                properties: { instruction: { type: 'string', minLength: 1 }, id },
              },
            ],
          },
        },
      ],
    },
    eval: {
      anyOf: [
        { type: 'string', minLength: 1 },
        { type: 'null' },
        {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['instruction', 'response'],
            additionalProperties: false,
            properties: {
              instruction: { type: 'string', minLength: 1 },
              response: { anyOf: [{ type: 'string' }, { type: 'number' }] },
              id,
            },
          },
        },
      ],
    },
    preset: { type: 'string' },
    iterations: { type: 'integer', minimum: 1 },
    seed: { type: 'integer', minimum: 0 },
    maxLength: { type: 'integer', minimum: 1 },
    updateReference: { type: 'boolean' },
    chatTemplate: {
      type: 'object',
      additionalProperties: false,
      properties: { kwargs: { type: 'object' }, now: { type: 'string' } },
    },
    // The run's seed is `seed`, its chat template's arguments `chatTemplate`: the sections have none of their own.
    explore: optionsSchema(DEFAULT_EXPLORE_OPTIONS, ['seed', 'chatTemplate']),
    train: optionsSchema(DEFAULT_TRAIN_OPTIONS, ['seed']),
    evaluation: optionsSchema({ samples: 0, temperature: 0, maxTokens: 0, batchSize: 0 }, []),
  },
};

interface RunParams {
  id: string;
}

export function registerRunRoutes(app: FastifyInstance, runs: GeniusRuns): void {
  app.post<{ Body: RunRequest }>('/v1/genius/runs', { schema: { body: runSchema } }, async (request, reply) => {
    reply.status(201);
    return runs.create(request.body);
  });

  app.get('/v1/genius/runs', async () => ({ object: 'list', data: runs.list() }));

  app.get<{ Params: RunParams }>('/v1/genius/runs/:id', async (request) => runs.get(request.params.id).info);

  app.delete<{ Params: RunParams }>('/v1/genius/runs/:id', async (request) => runs.abort(request.params.id));

  app.post<{ Params: RunParams }>('/v1/genius/runs/:id/resume', async (request) => runs.resume(request.params.id));

  app.get<{ Params: RunParams }>('/v1/genius/runs/:id/events', async (request, reply) => {
    const run = runs.get(request.params.id);
    const lastEventId = Number(request.headers['last-event-id'] ?? -1);
    const after = Number.isInteger(lastEventId) ? lastEventId : -1;
    const gone = new AbortController();
    reply.raw.on('close', () => gone.abort());
    const stream = new EventStream(reply);
    for await (const event of run.follow(after, gone.signal)) {
      stream.send({ id: event.id, event: event.type, data: event });
    }
    stream.end();
  });
}
