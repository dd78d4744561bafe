"""Reference for lib/text: what Python tokenizers and transformers make of one tokenizer directory.

Reads {"dir", "texts", "conversations", "stops"} on stdin and prints:
  encoded:      per text, ids with and without special tokens (tokenizers.Tokenizer on tokenizer.json);
  decoded:      per text, decode(ids) and decode(ids, skip_special_tokens=True) of the ids with special tokens,
                and transformers' decode(ids) (which follows tokenizer_config's clean_up_tokenization_spaces);
  tokenDecoded: decode([id]) for every id of the vocabulary;
  tokenTexts:   the text each id adds after the anchor token 'a' (what Tokenizer.tokenText promises);
  stopMasks:    per entry of "stops" (a list of stop strings), the ids whose tokenTexts hold one of them;
  chats:        per conversation, transformers' apply_chat_template(tokenize=False) with add_generation_prompt
                False and True (or {"error": message} where the template refuses the conversation), and the ids
                of apply_chat_template(tokenize=True, add_generation_prompt=True);
  vocabSize, eosTokenIds, specialTokens: as transformers reports them.
"""
import json
import sys

from tokenizers import Tokenizer
from transformers import AutoTokenizer

request = json.load(sys.stdin)
tokenizer = Tokenizer.from_file(f"{request['dir']}/tokenizer.json")
hf_tokenizer = AutoTokenizer.from_pretrained(request["dir"])

encoded = []
decoded = []
for text in request.get("texts", []):
    with_special = tokenizer.encode(text, add_special_tokens=True).ids
    encoded.append({"withSpecial": with_special, "plain": tokenizer.encode(text, add_special_tokens=False).ids})
    decoded.append(
        {
            "keep": tokenizer.decode(with_special, skip_special_tokens=False),
            "skip": tokenizer.decode(with_special, skip_special_tokens=True),
            "transformers": hf_tokenizer.decode(with_special),
        }
    )

vocab_size = max(tokenizer.get_vocab(with_added_tokens=True).values()) + 1
token_decoded = [tokenizer.decode([token_id], skip_special_tokens=False) for token_id in range(vocab_size)]
anchor = tokenizer.encode("a", add_special_tokens=False).ids[-1]
anchor_text = tokenizer.decode([anchor], skip_special_tokens=False)
token_texts = []
for token_id in range(vocab_size):
    after_anchor = tokenizer.decode([anchor, token_id], skip_special_tokens=False)
    token_texts.append(
        after_anchor[len(anchor_text) :] if after_anchor.startswith(anchor_text) else token_decoded[token_id]
    )

stop_masks = [
    [token_id for token_id, text in enumerate(token_texts) if any(stop in text for stop in stops)]
    for stops in request.get("stops", [])
]


def render(conversation, **options):
    try:
        return hf_tokenizer.apply_chat_template(conversation, **options)
    except Exception as error:  # the template's raise_exception surfaces as a jinja2 TemplateError
        return {"error": str(error)}


chats = []
for conversation in request.get("conversations", []):
    with_prompt_ids = render(conversation, tokenize=True, return_dict=False, add_generation_prompt=True)
    chats.append(
        {
            "withoutPrompt": render(conversation, tokenize=False, add_generation_prompt=False),
            "withPrompt": render(conversation, tokenize=False, add_generation_prompt=True),
            "withPromptIds": with_prompt_ids,
        }
    )

print(
    json.dumps(
        {
            "encoded": encoded,
            "decoded": decoded,
            "tokenDecoded": token_decoded,
            "tokenTexts": token_texts,
            "stopMasks": stop_masks,
            "chats": chats,
            "vocabSize": vocab_size,
            "eosTokenIds": [hf_tokenizer.eos_token_id] if hf_tokenizer.eos_token_id is not None else [],
            "specialTokens": hf_tokenizer.special_tokens_map,
        }
    )
)
