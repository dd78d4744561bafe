/**
 * Mistakes in a command line (a missing or conflicting flag): coded errors like every other genius-native error,
 * which cli.ts prints as one line with one line of help after it, not as a stack trace or the whole help text.
 */
import { ErrorCode, GeniusError } from '../lib';

export class UsageError extends GeniusError {
  constructor(message: string) {
    super(ErrorCode.InvalidArgument, message);
    this.name = 'UsageError';
  }
}
