"""How much can an unsupervised method gain on this model? A quick probe, with no training.

For each eval problem: the greedy answer, and n samples at temperature T with their mean token log-prob (the
Genius foresight score of a whole response). Reports greedy accuracy, mean sample accuracy, majority-vote
accuracy, the accuracy of the most confident sample (highest mean log-prob: what Genius's re-sampling
prefers) and the AUC of the mean log-prob as a predictor of correctness. Genius has something to learn
when the most confident sample beats greedy and the AUC is well above 0.5.

Usage: python probe_headroom.py --model DIR --eval eval.jsonl [--n 8 --temperature 1.0 --limit 100 --seed 0]
"""
import argparse
import collections
import json
import os
import sys

import torch
from transformers import AutoTokenizer, LlamaForCausalLM

sys.path.insert(0, os.path.dirname(__file__))
from common import boxed_answer, greedy_eval, prompt_text, read_jsonl  # noqa: E402


def auc(scores_correct, scores_wrong):
    if not scores_correct or not scores_wrong:
        return float("nan")
    wins = sum((c > w) + 0.5 * (c == w) for c in scores_correct for w in scores_wrong)
    return wins / (len(scores_correct) * len(scores_wrong))


@torch.no_grad()
def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--eval", required=True)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = LlamaForCausalLM.from_pretrained(args.model).eval()
    eos_id, pad_id = tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.convert_tokens_to_ids("<|endoftext|>")
    rows = read_jsonl(args.eval)[: args.limit]
    greedy_accuracy, greedy_outputs = greedy_eval(model, tokenizer, rows, [eos_id, pad_id], pad_id)

    tokenizer.padding_side = "left"
    stats = collections.Counter()
    right_scores, wrong_scores = [], []
    for start in range(0, len(rows), 25):
        chunk = rows[start : start + 25]
        encoded = tokenizer([prompt_text(tokenizer, r["instruction"]) for r in chunk], return_tensors="pt", padding=True,
                            add_special_tokens=False)
        out = model.generate(**encoded, max_new_tokens=96, do_sample=True, temperature=args.temperature, top_k=0,
                             num_return_sequences=args.n, eos_token_id=[eos_id, pad_id], pad_token_id=pad_id,
                             output_scores=True, return_dict_in_generate=True)
        # Untempered log-probs of the sampled tokens (foresight uses the model's own distribution).
        logits = torch.stack(out.scores, 1) * args.temperature
        tokens = out.sequences[:, encoded["input_ids"].size(1) :]
        logprobs = torch.log_softmax(logits.float(), -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        alive = torch.ones_like(tokens, dtype=torch.bool)
        ended = torch.zeros(tokens.size(0), dtype=torch.bool)
        for t in range(tokens.size(1)):
            alive[:, t] = ~ended
            ended |= (tokens[:, t] == eos_id) | (tokens[:, t] == pad_id)
        mean_logprob = (logprobs * alive).sum(1) / alive.sum(1)
        for i, row in enumerate(chunk):
            truth = boxed_answer(row["response"])
            answers, scores = [], []
            for j in range(args.n):
                k = i * args.n + j
                text = tokenizer.decode(tokens[k], skip_special_tokens=True)
                answer = boxed_answer(text)
                answers.append(answer)
                scores.append(mean_logprob[k].item())
                (right_scores if answer == truth else wrong_scores).append(scores[-1])
            stats["sample_correct"] += sum(a == truth for a in answers)
            votes = collections.Counter(a for a in answers if a is not None)
            stats["majority"] += bool(votes) and votes.most_common(1)[0][0] == truth
            stats["most_confident"] += answers[max(range(args.n), key=lambda j: scores[j])] == truth
            stats["any"] += truth in answers
    n = len(rows)
    print(json.dumps({
        "model": args.model, "problems": n, "n": args.n, "temperature": args.temperature,
        "greedy": greedy_accuracy, "sample_mean": stats["sample_correct"] / (n * args.n),
        "majority_vote": stats["majority"] / n, "most_confident": stats["most_confident"] / n,
        "pass_at_n": stats["any"] / n, "auc_mean_logprob": auc(right_scores, wrong_scores),
    }))


if __name__ == "__main__":
    main()
