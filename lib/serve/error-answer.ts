/**
 * How the server answers an error: OpenAI's error shape (`{error: {message, type, param, code}}`) with an ERR_GENIUS_*
 * code, and the HTTP status that code maps to. A stream that has begun sends the same body as its last event.
 */
import type { FastifyError } from 'fastify';
import { ErrorCode, GeniusError, type ErrorCode as Code } from '../index';

const STATUS_OF: Partial<Record<Code, number>> = {
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.BodyTooLarge]: 413,
  [ErrorCode.QueueFull]: 429,
  [ErrorCode.Unavailable]: 503,
  // The client left; nobody reads this answer, but it is no server fault either.
  [ErrorCode.Aborted]: 499,
};

/** The HTTP status and body that answer `error`. */
export function errorAnswer(error: unknown): { status: number; body: object } {
  const { status, code, message } = describeError(error);
  return { status, body: errorBody(code, message, status) };
}

/** The status, code and message of an error: ours by their code, Fastify's validation and body errors by theirs. */
function describeError(error: unknown): { status: number; code: Code; message: string } {
  const fastify = error as FastifyError;
  if (fastify.validation) {
    const [first] = fastify.validation;
    const params = first.params as { missingProperty?: string; additionalProperty?: string };
    const at = first.instancePath.slice(1).replaceAll('/', '.');
    const field = [at, params.missingProperty ?? params.additionalProperty].filter(Boolean).join('.');
    const problem = params.missingProperty
      ? 'must be given'
      : params.additionalProperty
        ? 'must be left out (the server does not support it)'
        : (first.message ?? 'must be valid');
    return { status: 400, code: ErrorCode.InvalidArgument, message: `argument '${field || 'body'}' ${problem}` };
  }
  if (fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, code: ErrorCode.BodyTooLarge, message: 'the request body is larger than the limit' };
  }
  if (fastify.statusCode === 400 && fastify.code?.startsWith('FST_ERR_CTP')) {
    return {
      status: 400,
      code: ErrorCode.InvalidArgument,
      message: `argument 'body' must be JSON: ${fastify.message}`,
    };
  }
  const code = (error as { code?: string }).code;
  if (error instanceof GeniusError || code?.startsWith('ERR_GENIUS_')) {
    const known = code as Code;
    return { status: STATUS_OF[known] ?? 500, code: known, message: (error as Error).message };
  }
  return { status: 500, code: ErrorCode.Internal, message: (error as Error).message };
}

/** OpenAI's error shape, with our code; `param` is the argument the message names (lib/errors.ts words them so). */
function errorBody(code: Code, message: string, status: number): object {
  const param = /^argument '([^']+)'/.exec(message)?.[1] ?? null;
  const type = status === 400 ? 'invalid_request_error' : status >= 500 ? 'server_error' : 'request_error';
  return { error: { message, type, param, code } };
}
