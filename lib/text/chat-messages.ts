/**
 * Chat messages as chat templates take them: a role and a content that is a string or, as OpenAI's API sends it and
 * Gemma 3's template loops over it, a list of text parts.
 */

/** A piece of a message's content given as a list of parts. */
export interface ChatTextPart {
  type: 'text';
  text: string;
}

export interface ChatMessage {
  role: string;
  /** A string, or a list of text parts (for templates that loop over them: chatTemplateTakesContentParts). */
  content: string | ChatTextPart[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A message's content: a string, or a list of text parts. */
export const isChatContent = (content: unknown): content is ChatMessage['content'] =>
  typeof content === 'string' ||
  (Array.isArray(content) &&
    content.every((part) => isObject(part) && part.type === 'text' && typeof part.text === 'string'));

/**
 * A message's content as one string: a string as it is, a list of text parts as their texts one per line (as vLLM
 * gives them to a template that reads a string); undefined for anything else.
 */
export function contentText(content: unknown): string | undefined {
  if (!isChatContent(content)) return undefined;
  return typeof content === 'string' ? content : content.map((part) => part.text).join('\n');
}
