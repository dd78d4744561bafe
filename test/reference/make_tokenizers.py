"""Builds the two test tokenizers, since no real one can be downloaded here.

Reads {"out": dir} on stdin and writes, with transformers' save_pretrained (so the files are exactly what
transformers writes for such models):
  dir/byte-level:    a Qwen2-style byte-level BPE (NFC, GPT-2/Qwen regex split, ByteLevel) with a ChatML
                     template like Qwen2.5's, saved the current way (chat_template.jinja beside the config);
  dir/sentencepiece: a Llama-2-style BPE (Metaspace, byte fallback, <s> </s> <unk>, BOS added) with the
                     Llama-2 [INST] template, saved the legacy way (chat_template inside tokenizer_config.json).
Prints {"byteLevel": path, "sentencePiece": path}.
"""
import json
import os
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

# Varied text so that merges cover English words, numbers, math notation, code and some non-Latin
# scripts; characters outside it (most emoji, most CJK) exercise byte-level / byte-fallback paths.
CORPUS = [
    "The quick brown fox jumps over the lazy dog. The dog did not mind; it was asleep in the sun.",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
    "How many clips did Natalia sell altogether in April and May? She sold 48 / 2 = 24 clips in May.",
    "Natalia sold 48 + 24 = 72 clips altogether in April and May. The answer is 72.",
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting.",
    "Step 1: Let x be the number of apples. Step 2: Then 3x + 5 = 20, so 3x = 15 and x = 5.",
    "Step 3: Therefore the answer is \\boxed{5}. We verify: 3 * 5 + 5 = 20, which is correct.",
    "If f(x) = x^2 - 4x + 4, then f(x) = (x - 2)^2 and the minimum value is 0 at x = 2.",
    "The sum of the first n positive integers is n(n+1)/2; for n = 100 it is 5050.",
    "Let a, b, c be real numbers with a + b + c = 0. Prove that a^3 + b^3 + c^3 = 3abc.",
    "∑_{k=1}^{n} k² = n(n+1)(2n+1)/6, and ∫_0^1 x² dx = 1/3. Also √2 ≈ 1.41421 and π ≈ 3.14159.",
    "For all ε > 0 there exists δ > 0 such that |x − a| < δ implies |f(x) − f(a)| < ε.",
    "α, β, γ are the angles of a triangle, so α + β + γ = 180°. ∀x ∈ ℝ: x² ≥ 0.",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))  # prints 5\n",
    "for (let i = 0; i < 10; i++) {\n\tconsole.log(i * i);\n}\n",
    "Café, naïve, résumé, coöperate, Zürich, São Paulo, Kraków, Ærøskøbing, façade.",
    "Москва — столица России. Привет, мир! Это простой пример текста на русском языке.",
    "日本語のテキストです。東京は日本の首都です。数学は楽しい。",
    "中文文本：北京是中国的首都。我们一起学习数学和编程。",
    "Emoji: 😀 😃 🎉 👍 🚀 — and a family: 👨‍👩‍👧‍👦. Flags: 🇫🇷 🇯🇵.",
    "Question: What is 15% of 80?\nAnswer: 0.15 * 80 = 12.\n\nQuestion: What is 2^10?\nAnswer: 1024.",
    "We're sure they'll say it's fine, but I'd check: you've got to, haven't you? I'm not.",
    "  Indented   text with    runs of spaces,\ttabs\t\tand\r\nWindows line endings.\n\n\n",
    "First, compute the total cost. Second, subtract the discount. Finally, divide by the number of people.",
    "The reasoning steps are:\n\nStep 1: Read the problem.\nStep 2: Solve it.\nStep 3: Check the answer.",
] * 4

QWEN_SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

# Qwen2.5-Instruct's ChatML template (tool branches included: they exercise tojson and loop state).
CHATML_TEMPLATE = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# Llama-2-chat's template: reads bos_token / eos_token and calls raise_exception on bad role order.
LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)


def byte_level(out_dir):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(
        vocab_size=1000,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    # Like Qwen's <tool_call>: an added token that is not special, so skipSpecialTokens keeps it.
    tokenizer.add_tokens([AddedToken("<tool_call>", special=False, normalized=False)])
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        bos_token=None,
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
        chat_template=CHATML_TEMPLATE,
        clean_up_tokenization_spaces=False,
        model_max_length=32768,
    )
    wrapped.save_pretrained(out_dir)


def sentence_piece(out_dir):
    specials = ["<unk>", "<s>", "</s>"]
    trainer_model = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    trainer_model.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    trainer = trainers.BpeTrainer(vocab_size=740, special_tokens=specials, show_progress=False, limit_alphabet=150)
    trainer_model.train_from_iterator(CORPUS, trainer=trainer)
    trained = json.loads(trainer_model.to_str())["model"]

    # SentencePiece layout: <unk> <s> </s>, the 256 byte tokens <0x00>..<0xFF>, then the learned pieces.
    pieces = specials + [f"<0x{byte:02X}>" for byte in range(256)]
    pieces += [piece for piece, _ in sorted(trained["vocab"].items(), key=lambda item: item[1]) if piece not in specials]
    vocab = {piece: index for index, piece in enumerate(pieces)}
    merges = [tuple(merge) if isinstance(merge, list) else tuple(merge.split(" ")) for merge in trained["merges"]]

    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tokenizer.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(content=" ", left=1)]
    )
    tokenizer.add_special_tokens([AddedToken(token, normalized=False) for token in specials])
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", vocab["<s>"])]
    )
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        chat_template=LLAMA2_TEMPLATE,
        clean_up_tokenization_spaces=False,
        legacy=False,
    )
    wrapped.save_pretrained(out_dir, save_jinja_files=False)


def main():
    out = json.load(sys.stdin)["out"]
    paths = {"byteLevel": os.path.join(out, "byte-level"), "sentencePiece": os.path.join(out, "sentencepiece")}
    byte_level(paths["byteLevel"])
    sentence_piece(paths["sentencePiece"])
    print(json.dumps(paths))


if __name__ == "__main__":
    main()
