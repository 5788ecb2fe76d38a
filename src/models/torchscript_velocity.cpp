#include "models/torchscript_velocity.h"

#include <torch/script.h>

#include <exception>
#include <filesystem>
#include <utility>

#include "core/error.h"

namespace jointflow {

struct TorchScriptVelocity::Module {
  torch::jit::Module module;
};

namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

TorchScriptVelocity::TorchScriptVelocity(const std::string& path, std::vector<int64_t> sample_shape,
                                         at::ScalarType dtype, at::Device device)
    : path_(path), sample_shape_(std::move(sample_shape)) {
  std::error_code error;
  JF_CHECK(std::filesystem::is_regular_file(path, error), "model.path = '", path,
           "' does not exist: export a TorchScript module with torch.jit.save (model.kind = "
           "torchscript)");
  module_ = std::make_unique<Module>();
  try {
    module_->module = torch::jit::load(path, device);
  } catch (const std::exception& failure) {
    throw Error(detail::concat("cannot load the TorchScript module '", path,
                               "': ", first_line(failure.what()),
                               "; save it with torch.jit.save(torch.jit.script(model), path)"));
  }
  module_->module.to(dtype);
  module_->module.eval();
  for (at::Tensor parameter : module_->module.parameters()) parameter.requires_grad_(false);
  if (sample_shape_.empty()) {
    JF_CHECK(module_->module.hasattr("sample_shape"), "the TorchScript module '", path,
             "' has no attribute sample_shape: set model.sample_shape (e.g. 8 or 1,28,28) or give "
             "the module an attribute `sample_shape: List[int]`");
    const c10::IValue shape = module_->module.attr("sample_shape");
    JF_CHECK(shape.isIntList(), "the attribute sample_shape of the TorchScript module '", path,
             "' is not a list of integers");
    sample_shape_ = shape.toIntVector();
  }
  JF_CHECK(!sample_shape_.empty(), "the TorchScript module '", path, "' has an empty sample shape");
}

TorchScriptVelocity::~TorchScriptVelocity() = default;

at::Tensor TorchScriptVelocity::velocity(const at::Tensor& x, const at::Tensor& t) const {
  const int64_t n = x.size(0);
  const at::Tensor time = t.to(x.options()).expand({n}).contiguous();
  c10::IValue output;
  try {
    output = module_->module.forward({x, time});
  } catch (const std::exception& failure) {
    throw Error(detail::concat("the TorchScript module '", path_, "' failed on x of shape ",
                               x.sizes(), ": ", first_line(failure.what())));
  }
  JF_CHECK(output.isTensor(), "the TorchScript module '", path_,
           "' must return one tensor from forward(x, t)");
  at::Tensor v = output.toTensor();
  JF_CHECK(v.sizes() == x.sizes(), "the TorchScript module '", path_, "' returned shape ",
           v.sizes(), " for x of shape ", x.sizes(), "; forward(x, t) must return v of x's shape");
  return v;
}

}  // namespace jointflow
