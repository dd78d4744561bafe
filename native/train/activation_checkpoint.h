// Activation checkpointing: a decoder layer run without keeping its activations, and run again in
// backward to get them, so that training keeps one [B, T, hidden] input per layer instead of every
// intermediate of every layer, for the price of a second forward.
#pragma once

#include "model/transformer.h"

namespace genius::train {

// A Transformer::LayerRunner that checkpoints every layer it runs. Gradients of the layer's weights
// reach their .grad through a nested backward (the "reentrant" scheme of torch.utils.checkpoint), so
// the weights must be leaves; the layer's input must require grad (it does whenever the embedding
// is trained), or no gradient flows into the layer at all.
model::Transformer::LayerRunner CheckpointedLayers();

}  // namespace genius::train
