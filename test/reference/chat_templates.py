"""Reference for chat-template arguments: transformers' apply_chat_template with **kwargs and a pinned clock.

Reads {"dir", "cases": [{"messages", "kwargs"?, "now"?, "addGenerationPrompt"?}]} on stdin. Per case it prints
{"text": apply_chat_template(messages, tokenize=False, add_generation_prompt, **kwargs),
 "ids": apply_chat_template(..., tokenize=True)} or {"error": message} where the template refuses. With "now"
('YYYY-MM-DDTHH:MM:SS'), the template's strftime_now() reads that time instead of the clock: transformers' strftime_now
calls datetime.now() of its chat_template_utils module, whose datetime is replaced for the case.
"""
import json
import sys
from datetime import datetime

import transformers.utils.chat_template_utils as chat_template_utils
from transformers import AutoTokenizer


class PinnedDatetime(datetime):
    pinned = None

    @classmethod
    def now(cls, tz=None):
        return cls.pinned if cls.pinned is not None else datetime.now(tz)


chat_template_utils.datetime = PinnedDatetime

request = json.load(sys.stdin)
tokenizer = AutoTokenizer.from_pretrained(request["dir"])

results = []
for case in request["cases"]:
    now = case.get("now")
    PinnedDatetime.pinned = datetime.fromisoformat(now) if now is not None else None
    options = {"add_generation_prompt": case.get("addGenerationPrompt", False), **case.get("kwargs", {})}
    try:
        text = tokenizer.apply_chat_template(case["messages"], tokenize=False, **options)
        ids = tokenizer.apply_chat_template(case["messages"], tokenize=True, return_dict=False, **options)
        results.append({"text": text, "ids": ids})
    except Exception as error:  # the template's raise_exception surfaces as a jinja2 TemplateError
        results.append({"error": str(error)})

print(json.dumps(results))
