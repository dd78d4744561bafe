/**
 * An exploration run's directory: explore.json (what the run explores, with which options) and records.jsonl (one
 * record per finished query, appended and fsynced one by one). A resumed run must explore the same thing the same
 * way, so that the records it adds are those an uninterrupted run would have written; it skips the finished
 * queries, and a record cut short by a crash is dropped and explored again. The run pins the time its chat template
 * renders at when it starts (unless its options give one), and a resumed run keeps it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ErrorCode, GeniusError, invalidArgument, writing } from '../errors';
import { checkOutputDirectory, makeDirectory } from '../data/output-directory';
import { JsonLinesAppender, completeLines } from '../data/jsonl';
import type { QueryId } from '../data/queries';
import { parseRecord, type ExplorationRecord } from '../data/records';
import { pinChatTemplateClock, resolveChatTemplateArgs } from '../text/chat-template-args';
import type { ExploreOptions } from './options';

export const RECORDS_FILE = 'records.jsonl';
export const SETTINGS_FILE = 'explore.json';

export interface ExploreSettings {
  /** The model directory and the queries file, as absolute paths, and the queries' field in that file. */
  model: string;
  queries: string;
  queryField: string;
  options: ExploreOptions;
}

export interface ExploreRun extends AsyncDisposable {
  readonly dir: string;
  /** The settings the run explores with, as explore.json holds them (the chat template's time pinned). */
  readonly settings: ExploreSettings;
  readonly recordsFile: string;
  /** The records the directory holds (a resumed run's), in file order. */
  readonly records: readonly ExplorationRecord[];
  /** Ids of the queries whose records the directory holds. */
  readonly finished: QueryId[];
  /** Appends a record durably. */
  append(record: ExplorationRecord): Promise<void>;
  close(): Promise<void>;
}

/** The settings that differ between two runs, as "name: was → now" lines. */
function settingsDifferences(was: ExploreSettings, now: ExploreSettings): string[] {
  const flatten = (settings: ExploreSettings): Record<string, unknown> => ({
    model: settings.model,
    queries: settings.queries,
    queryField: settings.queryField,
    ...settings.options,
  });
  const before = flatten(was);
  const after = flatten(now);
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((key) => !isDeepStrictEqual(before[key], after[key]))
    .map((key) => `${key}: ${JSON.stringify(before[key])} → ${JSON.stringify(after[key])}`);
}

async function readSettings(file: string): Promise<ExploreSettings | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as ExploreSettings;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GeniusError(ErrorCode.BadFile, `${file}: cannot be read (${(error as Error).message})`, { cause: error });
  }
}

/**
 * Opens `dir` for a run with `settings`. A new run needs a directory without records; `resume` continues the run
 * the directory holds, which must have the same settings.
 */
export async function openExploreRun(dir: string, settings: ExploreSettings, resume: boolean): Promise<ExploreRun> {
  await checkOutputDirectory(dir, 'dir');
  if (typeof settings !== 'object' || settings === null) invalidArgument('settings', 'the exploration settings');
  if (typeof resume !== 'boolean') invalidArgument('resume', 'a boolean');
  const recordsFile = path.join(dir, RECORDS_FILE);
  const settingsFile = path.join(dir, SETTINGS_FILE);
  await makeDirectory(dir);
  const saved = await readSettings(settingsFile);
  const chatTemplate = resolveChatTemplateArgs(settings.options?.chatTemplate, 'settings.options.chatTemplate');
  const pinned = {
    ...settings,
    options: { ...settings.options, chatTemplate: pinChatTemplateClock(chatTemplate, saved?.options?.chatTemplate) },
  };
  const records = (await completeLines(recordsFile)).map((value, index) =>
    parseRecord(`${recordsFile} record ${index}`, value),
  );
  if (!resume && (saved !== undefined || records.length > 0)) {
    throw new GeniusError(
      ErrorCode.InvalidArgument,
      `${dir} holds a run already: resume it (--resume) or choose another output directory`,
    );
  }
  if (saved !== undefined) {
    const differences = settingsDifferences(saved, pinned);
    if (differences.length > 0) {
      throw new GeniusError(
        ErrorCode.InvalidArgument,
        `cannot resume ${dir} with other settings than its own:\n  ${differences.join('\n  ')}`,
      );
    }
  } else {
    await writing(settingsFile, 'write', () => fs.writeFile(settingsFile, `${JSON.stringify(pinned, null, 2)}\n`));
  }
  const appender = await JsonLinesAppender.open(recordsFile);
  return {
    dir,
    settings: pinned,
    recordsFile,
    records,
    finished: records.map((record) => record.id),
    append: (record) => appender.append(record),
    close: () => appender.close(),
    [Symbol.asyncDispose]: () => appender.close(),
  };
}
