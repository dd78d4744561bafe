/** Sampled responses: the tokens that end one, and its text. */
import { Model } from '../model/model';
import { Tokenizer } from '../text/tokenizer';
import { invalidArgument } from '../errors';

/**
 * The model's eos ids (config.json and generation_config.json) and the tokenizer's eos token: for chat models the
 * latter is the end-of-turn token, which some configs leave out.
 */
export function endOfResponseIds(model: Model, tokenizer: Tokenizer): number[] {
  Model.handleOf(model, 'model');
  Tokenizer.check(tokenizer);
  return [...new Set([...model.config.eosTokenIds, ...tokenizer.eosTokenIds])];
}

/** The token a training response ends with: the tokenizer's end of turn, else the model's first eos. */
export function endOfTurnId(model: Model, tokenizer: Tokenizer): number | undefined {
  return tokenizer.eosTokenIds[0] ?? model.config.eosTokenIds[0];
}

/**
 * The text of sampled tokens, special tokens (the EOS that ended them) left out. Ids past the tokenizer's
 * vocabulary (rows of a padded embedding, which a model can still sample) name no token and add no text.
 */
export function responseText(tokenizer: Tokenizer, tokens: Int32Array): string {
  Tokenizer.check(tokenizer);
  if (!ArrayBuffer.isView(tokens) && !Array.isArray(tokens)) invalidArgument('tokens', "a sample's token ids");
  return tokenizer.decode(
    tokens.filter((id) => id < tokenizer.vocabSize),
    { skipSpecialTokens: true },
  );
}
