#include "train/activation_checkpoint.h"

#include <ATen/core/grad_mode.h>
#include <ATen/core/ivalue.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include "train/autocast_scope.h"

namespace genius::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The layer a checkpointed node recomputes, kept in the node's saved data.
struct SavedLayer : torch::CustomClassHolder {
  explicit SavedLayer(model::Transformer::Layer layer) : layer(std::move(layer)) {}
  model::Transformer::Layer layer;
};

class CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const model::Transformer::Layer& layer) {
    ctx->save_for_backward({input});
    ctx->saved_data["layer"] = c10::IValue::make_capsule(c10::make_intrusive<SavedLayer>(layer));
    // Autocast as the forward found it, to recompute under the same: backward may run on another
    // thread, where autocast (thread-local) is off.
    const at::DeviceType device = input.device().type();
    ctx->saved_data["autocast"] = at::autocast::is_autocast_enabled(device);
    ctx->saved_data["autocastDtype"] = static_cast<int64_t>(at::autocast::get_autocast_dtype(device));
    // Function::forward already runs without grad: nothing inside the layer is kept.
    return layer(input);
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    const at::Tensor input = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    const auto saved = c10::static_intrusive_pointer_cast<SavedLayer>(ctx->saved_data["layer"].toCapsule());
    at::AutoGradMode grad(true);
    const AutocastScope autocast(input.device().type(), ctx->saved_data["autocast"].toBool(),
                                 static_cast<at::ScalarType>(ctx->saved_data["autocastDtype"].toInt()));
    const at::Tensor output = saved->layer(input);
    torch::autograd::backward({output}, {gradOutputs[0]});
    return {input.grad(), at::Tensor()};
  }
};

}  // namespace

model::Transformer::LayerRunner CheckpointedLayers() {
  return [](const model::Transformer::Layer& layer, const at::Tensor& input) {
    return CheckpointedLayer::apply(input, layer);
  };
}

}  // namespace genius::train
