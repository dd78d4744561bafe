"""The test suite's Python reference (test/reference/), which the benchmark's Python side shares: the reference
ACO loss, open-instruct's padding of training sequences and the byte-level test tokenizer."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "reference"))
from aco_reference import aco_loss_paper  # noqa: E402, F401
from make_tokenizers import byte_level  # noqa: E402, F401
from train_reference import pad  # noqa: E402, F401
