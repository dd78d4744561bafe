"""Trains the default model's tokenizer on the SFT corpus and saves it with transformers' save_pretrained.

A byte-level BPE (NFC; GPT-2's split regex, so that a number with its leading space is one pre-token and the
BPE learns the numbers of the corpus as whole tokens; ByteLevel), specials <|endoftext|> (pad), <|im_start|>, <|im_end|> (eos), and a
ChatML chat template like Qwen2.5's (without the tool branches and without a default system turn, to keep
prompts short). transformers 5 writes the template to chat_template.jinja beside tokenizer_config.json.

Usage: python make_tokenizer.py --data data/changes/sft.jsonl --out models/default [--vocab 1024]
Deterministic: the same corpus and vocab size give the same files.
"""
import argparse
import json

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from common import STEP_PREAMBLE

# GPT-2's pre-tokenizer split (case-insensitive contractions). Whole-number tokens turn each arithmetic step
# of the corpus into a lookup from two number tokens at fixed offsets, which a 3M-parameter model learns in
# minutes; digit-by-digit arithmetic with carries (Qwen's split) took it far longer than our budget.
SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# Qwen2.5's ChatML template, without tools and without Qwen's default system message.
CHATML_TEMPLATE = """{%- for message in messages %}
    {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def corpus(path):
    """The SFT corpus as the model sees it: chat turn, Genius preamble, steps (role names get merged too)."""
    with open(path, encoding="utf-8") as file:
        for line in file:
            row = json.loads(line)
            yield f"<|im_start|>user\n{row['instruction']}<|im_end|>\n<|im_start|>assistant\n"
            yield STEP_PREAMBLE + row["response"] + "<|im_end|>"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="SFT corpus (JSONL with instruction and response)")
    parser.add_argument("--out", required=True, help="directory to write the tokenizer files into")
    parser.add_argument("--vocab", type=int, default=1024)
    args = parser.parse_args()

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(
        vocab_size=args.vocab,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=SPECIALS,
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus(args.data), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        bos_token=None,
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
        chat_template=CHATML_TEMPLATE,
        clean_up_tokenization_spaces=False,
        model_max_length=512,
    )
    wrapped.save_pretrained(args.out)
    ids = {token: tokenizer.token_to_id(token) for token in SPECIALS}
    print(json.dumps({"out": args.out, "vocab_size": tokenizer.get_vocab_size(), "special_ids": ids}))


if __name__ == "__main__":
    main()
