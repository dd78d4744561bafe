/**
 * Tokenizer: a Hugging Face tokenizer directory (tokenizer.json, tokenizer_config.json, chat_template.jinja)
 * read the way transformers reads it. @huggingface/tokenizers does the tokenization and @huggingface/jinja
 * renders the chat template; this class makes both behave like transformers' fast tokenizer.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ErrorCode, GeniusError, badFile, invalidArgument } from '../errors';
import { resolveChatTemplateArgs, strftimeNow, type ChatTemplateArgs } from './chat-template-args';
import { isChatContent, type ChatMessage } from './chat-messages';

export interface ChatTemplateOptions extends ChatTemplateArgs {
  /** End with the opening of an assistant turn, for the model to answer. Default false. */
  addGenerationPrompt?: boolean;
}

/** The named special tokens transformers passes to chat templates (its SPECIAL_TOKENS_ATTRIBUTES). */
const SPECIAL_TOKEN_NAMES = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
] as const;

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The text of a file, or undefined when it does not exist. */
async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return badFile(file, `cannot be read (${(error as Error).message})`, { cause: error });
  }
}

function parseJsonObject(file: string, text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return badFile(file, `malformed JSON (${(error as Error).message})`, { cause: error });
  }
  if (!isObject(value)) badFile(file, 'must hold a JSON object');
  return value;
}

/** A special token entry of tokenizer_config.json: a string, or an AddedToken object with `content`. */
function specialTokenContent(configFile: string, field: string, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return badFile(configFile, `field '${field}' must be a token string or an object with a string 'content'`);
}

/**
 * The chat template as transformers picks it: chat_template.jinja wins over the config's `chat_template`,
 * which is either a string or (legacy multi-template form) a list of {name, template} whose 'default' is used.
 */
function chatTemplateSource(
  configFile: string,
  config: JsonObject,
  jinjaFile: string,
  jinjaText: string | undefined,
): { template: string; source: string } | undefined {
  if (jinjaText !== undefined) return { template: jinjaText, source: jinjaFile };
  const field = config.chat_template;
  const source = `${configFile} field 'chat_template'`;
  if (field === undefined || field === null) return undefined;
  if (typeof field === 'string') return { template: field, source };
  if (Array.isArray(field)) {
    const named = field.find((entry) => isObject(entry) && entry.name === 'default');
    if (isObject(named) && typeof named.template === 'string') return { template: named.template, source };
    return badFile(configFile, "field 'chat_template' is a list without a {name: 'default', template} entry");
  }
  return badFile(configFile, "field 'chat_template' must be a string or a list of {name, template}");
}

/** Numbers all of a template's range() calls may give in one rendering; a chat template's loops need a few. */
const RANGE_BUDGET = 1_000_000;

/**
 * The jinja globals a compiled chat template calls by other names, ours in place of @huggingface/jinja's, which a
 * template's variables cannot shadow: range() within a budget (boundedRange), and strftime_now() at the time the
 * rendering is given (chat-template-args.ts).
 */
const REPLACED_GLOBALS: Readonly<Record<string, string>> = {
  range: 'genius_native_bounded_range',
  strftime_now: 'genius_native_strftime_now',
};

/**
 * Jinja's range(), as @huggingface/jinja has it, within RANGE_BUDGET numbers per rendering: a template's work is
 * bounded by its range() loops and its input, so that a template looping over range(100000000) is refused
 * (ERR_GENIUS_BAD_FILE) instead of rendering for minutes.
 */
function boundedRange(source: string): (start: number, stop?: number, step?: number) => number[] {
  let budget = RANGE_BUDGET;
  return (start, stop, step = 1) => {
    const [from, to] = stop === undefined ? [0, start] : [start, stop];
    if (![from, to, step].every(Number.isFinite) || step === 0) {
      throw new Error(`range(${[start, stop, step].join(', ')}) is not a finite range`);
    }
    const length = Math.max(0, Math.ceil((to - from) / step));
    budget -= length;
    if (budget < 0) {
      badFile(source, `the chat template's range() calls ask for more than ${RANGE_BUDGET} numbers in one rendering`);
    }
    return Array.from({ length }, (_, index) => from + index * step);
  };
}

/**
 * Points every use of a replaced global in a parsed template at its replacement (REPLACED_GLOBALS); an attribute of
 * the same name, as in `x.range`, is left alone.
 */
function replaceGlobals(node: unknown): void {
  if (typeof node !== 'object' || node === null) return;
  const fields = node as Record<string, unknown>;
  if (
    fields.type === 'Identifier' &&
    typeof fields.value === 'string' &&
    Object.hasOwn(REPLACED_GLOBALS, fields.value)
  ) {
    fields.value = REPLACED_GLOBALS[fields.value];
  }
  for (const [key, child] of Object.entries(fields)) {
    if (!(fields.type === 'MemberExpression' && key === 'property' && fields.computed === false)) replaceGlobals(child);
  }
}

/** The expression a filter, test or slice reads: `message['content'] | selectattr(...)` reads the content. */
function readExpression(node: Record<string, unknown>): Record<string, unknown> {
  const sliced = node.type === 'MemberExpression' && (node.property as { type?: string }).type === 'SliceExpression';
  const inner =
    node.type === 'FilterExpression' || node.type === 'TestExpression' ? node.operand : sliced ? node.object : node;
  return inner === node ? node : readExpression(inner as Record<string, unknown>);
}

/** Whether `node` is a variable's `content`, as `message.content` or `message['content']`. */
function isContentOfVariable(node: Record<string, unknown>): boolean {
  if (node.type !== 'MemberExpression') return false;
  const { object, property, computed } = node as {
    object: { type: string };
    property: { type: string; value: unknown };
    computed: boolean;
  };
  const named = computed ? property.type === 'StringLiteral' : property.type === 'Identifier';
  return object.type === 'Identifier' && named && property.value === 'content';
}

/**
 * Whether a parsed template loops over a message's content, as vLLM detects a template that takes content as a list
 * of parts (its 'openai' content format; Gemma 3's `for item in message['content']`) rather than as a string.
 */
function loopsOverContent(node: unknown): boolean {
  if (typeof node !== 'object' || node === null) return false;
  const fields = node as Record<string, unknown>;
  if (fields.type === 'For' && isContentOfVariable(readExpression(fields.iterable as Record<string, unknown>))) {
    return true;
  }
  return Object.values(fields).some(loopsOverContent);
}

export class Tokenizer {
  /** Number of token ids: one past the largest id of the vocabulary and added tokens. */
  readonly vocabSize: number;
  /** The id of tokenizer_config's eos_token (empty when it names none); generation_config may add more. */
  readonly eosTokenIds: readonly number[];
  /** Named special tokens from tokenizer_config (bos_token, eos_token, pad_token, ...), as token strings. */
  readonly specialTokens: Readonly<Record<string, string>>;
  /** Where the chat template came from (a file, or a file and field); undefined when there is none. */
  readonly chatTemplateSource: string | undefined;

  readonly #model: HfTokenizer;
  readonly #file: string;
  readonly #chatTemplateText: string | undefined;
  #chatTemplate: Template | undefined;
  #takesContentParts: boolean | undefined;
  readonly #cleanUpSpaces: boolean;
  readonly #tokenTexts: (string | undefined)[];
  #anchor: { id: number; text: string } | null | undefined;

  private constructor(
    model: HfTokenizer,
    file: string,
    specialTokens: Record<string, string>,
    eosTokenIds: number[],
    cleanUpSpaces: boolean,
    chatTemplate: { template: string; source: string } | undefined,
  ) {
    if (!(model instanceof HfTokenizer)) invalidArgument('new Tokenizer()', 'not called: use Tokenizer.fromDir(dir)');
    this.#model = model;
    this.#file = file;
    this.specialTokens = Object.freeze(specialTokens);
    this.eosTokenIds = Object.freeze(eosTokenIds);
    this.#cleanUpSpaces = cleanUpSpaces;
    this.#chatTemplateText = chatTemplate?.template;
    this.chatTemplateSource = chatTemplate?.source;
    let largestId = -1;
    for (const id of model.get_vocab(true).values()) largestId = Math.max(largestId, id);
    this.vocabSize = largestId + 1;
    this.#tokenTexts = new Array<string | undefined>(this.vocabSize);
  }

  /**
   * Reads a tokenizer directory as transformers saves it: tokenizer.json (required), tokenizer_config.json
   * (special tokens, chat template; optional) and chat_template.jinja (optional, preferred over the config's).
   */
  static async fromDir(dir: string): Promise<Tokenizer> {
    if (typeof dir !== 'string' || dir === '') invalidArgument('dir', 'a directory path');
    const tokenizerFile = path.join(dir, 'tokenizer.json');
    const configFile = path.join(dir, 'tokenizer_config.json');
    const jinjaFile = path.join(dir, 'chat_template.jinja');
    const [tokenizerText, configText, jinjaText] = await Promise.all([
      readOptional(tokenizerFile),
      readOptional(configFile),
      readOptional(jinjaFile),
    ]);
    if (tokenizerText === undefined) badFile(tokenizerFile, 'not found (a tokenizer directory holds tokenizer.json)');
    const tokenizerJson = parseJsonObject(tokenizerFile, tokenizerText);
    const config = configText === undefined ? {} : parseJsonObject(configFile, configText);

    // transformers cleans up decoded spaces only when the config asks, and never for BPE models unless
    // forced: the clean-up is meant for WordPiece and corrupts BPE text. The JS library defaults it on.
    const modelType = isObject(tokenizerJson.model) ? tokenizerJson.model.type : undefined;
    const cleanUpSpaces =
      config.clean_up_tokenization_spaces === true &&
      (modelType !== 'BPE' || config.clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output === true);

    let model: HfTokenizer;
    try {
      // remove_space, do_lowercase_and_remove_accent and additional_special_tokens are options of slow
      // (Python) tokenizers that the JS library emulates; transformers' fast tokenizer, which this matches,
      // follows tokenizer.json alone, so they are switched off.
      model = new HfTokenizer(tokenizerJson, {
        ...config,
        clean_up_tokenization_spaces: cleanUpSpaces,
        remove_space: false,
        do_lowercase_and_remove_accent: false,
        additional_special_tokens: [],
      });
    } catch (error) {
      return badFile(tokenizerFile, `cannot be loaded (${(error as Error).message})`, { cause: error });
    }

    const specialTokens: Record<string, string> = {};
    // Like transformers, a dict of extra_special_tokens names more tokens (e.g. image_token) for templates.
    const extraNames = isObject(config.extra_special_tokens) ? Object.keys(config.extra_special_tokens) : [];
    for (const name of [...SPECIAL_TOKEN_NAMES, ...extraNames]) {
      const value = name in config ? config[name] : (config.extra_special_tokens as JsonObject | undefined)?.[name];
      const content = specialTokenContent(configFile, name, value);
      if (content !== undefined) specialTokens[name] = content;
    }

    const eosTokenIds: number[] = [];
    if (specialTokens.eos_token !== undefined) {
      const eosId = model.token_to_id(specialTokens.eos_token);
      if (eosId === undefined) {
        badFile(configFile, `field 'eos_token' names '${specialTokens.eos_token}', which tokenizer.json does not hold`);
      }
      eosTokenIds.push(eosId);
    }

    const chatTemplate = chatTemplateSource(configFile, config, jinjaFile, jinjaText);
    return new Tokenizer(model, tokenizerFile, specialTokens, eosTokenIds, cleanUpSpaces, chatTemplate);
  }

  /** Throws ERR_GENIUS_INVALID_ARG naming the argument `name` unless `value` is a Tokenizer. */
  static check(value: unknown, name = 'tokenizer'): asserts value is Tokenizer {
    const label = typeof name === 'string' ? name : 'tokenizer';
    if (!(value instanceof Tokenizer)) invalidArgument(label, 'a Tokenizer (Tokenizer.fromDir)');
  }

  /**
   * Checks that every id this tokenizer gives is a row of the model's embedding: a tokenizer.json beyond the
   * model's vocabulary is refused when the two meet, naming the file, not when a prompt first holds such an id.
   */
  checkFits(model: { dir: string; config: { vocabSize: number } }): void {
    if (this.vocabSize > model.config.vocabSize) {
      badFile(
        this.#file,
        `holds token ids up to ${this.vocabSize - 1}, beyond the vocabulary of the model in ${model.dir} ` +
          `(${model.config.vocabSize} ids, its config.json's vocab_size)`,
      );
    }
  }

  /** Token ids of `text`; addSpecialTokens (default true, as in transformers) runs the post-processor (e.g. BOS). */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    if (typeof text !== 'string') invalidArgument('text', 'a string');
    return this.#model.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /** The text of `ids`; skipSpecialTokens drops the tokens tokenizer.json marks special. */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    // Like Python tokenizers, ids that name no token (gaps in a vocabulary) add nothing; the JS library
    // would decode them as the unknown token.
    const known = this.#checkIds(ids).filter((id) => this.#model.id_to_token(id) !== undefined);
    // The JS library refuses an empty list; transformers decodes it to ''.
    if (known.length === 0) return '';
    return this.#model.decode(known, {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: this.#cleanUpSpaces,
    });
  }

  /** The id of a token string (vocabulary or added token), or undefined. */
  tokenToId(token: string): number | undefined {
    if (typeof token !== 'string') invalidArgument('token', 'a string');
    return this.#model.token_to_id(token);
  }

  /** The vocabulary string of a token id (e.g. 'Ġthe', '▁the', '<0x0A>'), or undefined for an unused id. */
  idToToken(id: number): string | undefined {
    this.#checkIds([id], 'id');
    return this.#model.id_to_token(id);
  }

  /**
   * The text token `id` adds when it follows other text, as the stop masks need it. Decoders depend on
   * context (SentencePiece-style ones drop the leading space of the first token; byte tokens fuse with
   * their neighbours), so the token is decoded after an anchor token and the anchor's text cut off: '▁the'
   * gives ' the', '<0x0A>' gives '\n'. A token holding part of a UTF-8 character decodes, like in Python
   * tokenizers, with U+FFFD in place of the incomplete bytes. Special tokens give their content.
   */
  tokenText(id: number): string {
    this.#checkIds([id], 'id');
    const cached = this.#tokenTexts[id];
    if (cached !== undefined) return cached;
    const anchor = this.#textAnchor();
    const decodeRaw = (ids: number[]): string => this.#model.decode(ids, { clean_up_tokenization_spaces: false });
    // An id that names no token (a gap in the vocabulary) adds no text, as in decode.
    let text = this.#model.id_to_token(id) === undefined ? '' : undefined;
    if (text === undefined && anchor !== null) {
      const withAnchor = decodeRaw([anchor.id, id]);
      if (withAnchor.startsWith(anchor.text)) text = withAnchor.slice(anchor.text.length);
    }
    text ??= decodeRaw([id]);
    this.#tokenTexts[id] = text;
    return text;
  }

  /**
   * Renders `messages` with the chat template exactly like transformers'
   * `apply_chat_template(messages, tokenize=False, add_generation_prompt=..., **kwargs)`: same variables (the named
   * special tokens, tools and documents as None unless the kwargs give them, the kwargs over the special tokens),
   * same whitespace control (trim_blocks, lstrip_blocks), and strftime_now() at options.now when given.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (!Array.isArray(messages) || messages.length === 0) invalidArgument('messages', 'a non-empty array');
    messages.forEach((message, index) => {
      if (!isObject(message) || typeof message.role !== 'string' || !isChatContent(message.content)) {
        invalidArgument(
          `messages[${index}]`,
          "an object with a string role and a content that is a string or a list of {type: 'text', text} parts",
        );
      }
    });
    const { addGenerationPrompt = false, ...args } = options ?? {};
    if (typeof addGenerationPrompt !== 'boolean') invalidArgument('addGenerationPrompt', 'a boolean');
    const { kwargs, now } = resolveChatTemplateArgs(args, 'options');
    const template = this.#compiledChatTemplate();
    try {
      return template.render({
        ...this.specialTokens,
        // transformers passes these as None; a template testing `tools is not none` needs them set.
        tools: null,
        documents: null,
        ...kwargs,
        messages,
        add_generation_prompt: addGenerationPrompt,
        [REPLACED_GLOBALS.range]: boundedRange(this.chatTemplateSource!),
        [REPLACED_GLOBALS.strftime_now]: strftimeNow(now),
      });
    } catch (error) {
      if (error instanceof GeniusError) throw error;
      // Mostly the template's raise_exception refusing the messages (roles out of order, say); the JS
      // library throws that as a plain Error like its own failures, so all render errors share this code.
      throw new GeniusError(
        ErrorCode.InvalidArgument,
        `the chat template of ${this.chatTemplateSource} cannot render these messages: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /**
   * Whether the chat template takes a message's content as a list of parts (it loops over them, as Gemma 3's does)
   * rather than as a string, which is what most templates read (Qwen's, Llama's). A server flattens list content for
   * the second kind, as vLLM does.
   */
  get chatTemplateTakesContentParts(): boolean {
    this.#takesContentParts ??= loopsOverContent(this.#compiledChatTemplate().parsed);
    return this.#takesContentParts;
  }

  #compiledChatTemplate(): Template {
    if (this.#chatTemplate !== undefined) return this.#chatTemplate;
    if (this.#chatTemplateText === undefined) {
      throw new GeniusError(
        ErrorCode.BadFile,
        "this tokenizer has no chat template: neither chat_template.jinja nor a 'chat_template' field in tokenizer_config.json",
      );
    }
    try {
      this.#chatTemplate = new Template(this.#chatTemplateText);
      replaceGlobals(this.#chatTemplate.parsed);
    } catch (error) {
      return badFile(this.chatTemplateSource!, `chat template cannot be parsed (${(error as Error).message})`, {
        cause: error,
      });
    }
    return this.#chatTemplate;
  }

  /** A plain token ('a') whose text is known, to decode other tokens after; null if the vocabulary lacks one. */
  #textAnchor(): { id: number; text: string } | null {
    if (this.#anchor === undefined) {
      const id = this.#model.encode('a', { add_special_tokens: false }).ids.at(-1);
      this.#anchor =
        id === undefined ? null : { id, text: this.#model.decode([id], { clean_up_tokenization_spaces: false }) };
    }
    return this.#anchor;
  }

  /** `ids` as a plain array, after checking that each is a token id of this vocabulary. */
  #checkIds(ids: ArrayLike<number>, name = 'ids'): number[] {
    if (!Array.isArray(ids) && !ArrayBuffer.isView(ids)) invalidArgument(name, 'an array of token ids');
    const list = Array.from(ids);
    const bad = list.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= this.vocabSize);
    if (bad >= 0) {
      invalidArgument(
        name === 'ids' ? `ids[${bad}]` : name,
        `a token id in [0, ${this.vocabSize}) (got ${String(list[bad])})`,
      );
    }
    return list;
  }
}
