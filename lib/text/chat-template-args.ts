/**
 * What a chat template is rendered with besides the messages: the variables transformers' apply_chat_template passes
 * on as **kwargs (Qwen3's enable_thinking, tools, documents, Llama 3's date_string, any other a template reads) and
 * the time its strftime_now() reads.
 *
 * transformers' strftime_now formats the clock, so a template that stamps the date (Llama 3.2's "Today Date: …")
 * renders another prompt each day. A run (an exploration directory, a `train` run) therefore pins the time when it
 * starts and records it with the kwargs: its prompts, and a resumed run's, are those of its first day. The time is a
 * local date and time without a zone, as Python's datetime.now() gives it, formatted by the `strftime` package
 * (Python's directives; %c, %x and %X in its en_US form rather than the C locale's, and %j one day short at
 * midnight).
 */
import strftime from 'strftime';
import { invalidArgument } from '../errors';

export interface ChatTemplateArgs {
  /**
   * Variables for the template, as transformers' apply_chat_template(**kwargs) and vLLM's chat_template_kwargs pass
   * them: JSON values, each under its name (`tools` and `documents` lists of objects). Default {}.
   */
  kwargs?: Readonly<Record<string, unknown>>;
  /**
   * The local time strftime_now() formats, 'YYYY-MM-DDTHH:MM:SS'. Default: the clock at each rendering, as in
   * transformers; a run pins it (pinChatTemplateClock).
   */
  now?: string;
}

/** Chat-template arguments checked, with every field present but the time of an unpinned clock. */
export interface ResolvedChatTemplateArgs {
  kwargs: Readonly<Record<string, unknown>>;
  now?: string;
}

/** The variables a rendering sets itself, which kwargs cannot name (transformers refuses them too). */
const RENDERING_VARIABLES = ['messages', 'add_generation_prompt'];

/** The kwargs that transformers takes as lists of objects (tool schemas, documents). */
const OBJECT_LISTS = ['tools', 'documents'];

/** ChatTemplateArgs.now: how it is written, and its fields. */
const TIME_FORMAT = '%Y-%m-%dT%H:%M:%S';
const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/** Whether `value` is made of JSON values only (what a run's settings file can record). */
function isJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJson);
  return isPlainObject(value) && Object.values(value).every(isJson);
}

/** Throws ERR_GENIUS_INVALID_ARG naming `name` unless `kwargs` are template variables a rendering can take. */
export function checkChatTemplateKwargs(kwargs: unknown, name: string): asserts kwargs is Record<string, unknown> {
  if (!isPlainObject(kwargs)) {
    invalidArgument(name, 'a JSON object of template variables, as {"enable_thinking": false}');
  }
  for (const [key, value] of Object.entries(kwargs)) {
    if (RENDERING_VARIABLES.includes(key)) invalidArgument(`${name}.${key}`, 'left out: the rendering sets it');
    if (!isJson(value)) invalidArgument(`${name}.${key}`, 'a JSON value');
    if (OBJECT_LISTS.includes(key) && value !== null && !(Array.isArray(value) && value.every(isPlainObject))) {
      invalidArgument(`${name}.${key}`, 'a list of objects, or null');
    }
  }
}

/** The local time `date` shows, as ChatTemplateArgs.now holds it. */
function localTime(date: Date = new Date()): string {
  return strftime(TIME_FORMAT, date);
}

/** The time of [year, month, day, hours, minutes, seconds] as a Date whose UTC fields are those. */
const utcDate = ([year, month, day, hours, minutes, seconds]: number[]): Date =>
  new Date(Date.UTC(year, month - 1, day, hours, minutes, seconds));

const formatUtc = strftime.utc();

/** `args` checked, over the defaults; `name` is what an error calls them. */
export function resolveChatTemplateArgs(args: ChatTemplateArgs = {}, name = 'chatTemplate'): ResolvedChatTemplateArgs {
  if (!isPlainObject(args)) invalidArgument(name, 'an object: { kwargs, now }');
  const { kwargs = {}, now, ...rest } = args;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    invalidArgument(`${name}.${unknown[0]}`, "left out: chat-template arguments are 'kwargs' and 'now'");
  checkChatTemplateKwargs(kwargs, `${name}.kwargs`);
  if (now === undefined) return { kwargs };
  const fields = typeof now === 'string' ? LOCAL_TIME.exec(now)?.slice(1).map(Number) : undefined;
  // Date.UTC carries an out-of-range field over (February 30 into March): a real time comes back as it was written.
  if (fields === undefined || formatUtc(TIME_FORMAT, utcDate(fields)) !== now) {
    invalidArgument(`${name}.now`, "a local date and time, 'YYYY-MM-DDTHH:MM:SS'");
  }
  return { kwargs, now };
}

/**
 * The chat-template arguments of a run: `given`, its time pinned to the one `recorded` (the run's settings, when it
 * resumes) holds, else to the present.
 */
export function pinChatTemplateClock(
  given: ResolvedChatTemplateArgs,
  recorded?: ResolvedChatTemplateArgs,
): ResolvedChatTemplateArgs {
  return { ...given, now: given.now ?? recorded?.now ?? localTime() };
}

/** The strftime_now() of a template rendered at `now` (a checked ChatTemplateArgs.now), else at the clock. */
export function strftimeNow(now: string | undefined): (format: string) => string {
  if (now === undefined) return (format) => strftime(String(format));
  const date = utcDate(LOCAL_TIME.exec(now)!.slice(1).map(Number));
  return (format) => formatUtc(String(format), date);
}
