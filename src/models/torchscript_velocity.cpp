#include "models/torchscript_velocity.h"

#include <torch/script.h>

#include <exception>
#include <filesystem>
#include <sstream>
#include <string>
#include <utility>

#include "core/error.h"

namespace jointflow {

struct TorchScriptVelocity::Module {
  torch::jit::Module module;
};

namespace {

// One line of a TorchScript exception's text: the line that names the error ("RuntimeError:
// The size of tensor a ..."), which an interpreter failure puts after its traceback, else the
// first line.
std::string cause_line(const std::string& text) {
  std::istringstream lines(text);
  std::string line, first, cause;
  while (std::getline(lines, line)) {
    const size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos) continue;
    if (first.empty()) first = line.substr(start);
    const size_t colon = line.find("Error: ");
    if (colon != std::string::npos && line.find(' ', start) > colon) cause = line.substr(start);
  }
  return cause.empty() ? first : cause;
}

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
                               "': ", cause_line(failure.what()),
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
    throw Error(detail::concat("the TorchScript module '", path_,
                               "' failed in forward(x, t) on x of shape ", x.sizes(), ": ",
                               cause_line(failure.what())));
  }
  JF_CHECK(output.isTensor(), "the TorchScript module '", path_,
           "' must return one tensor from forward(x, t)");
  at::Tensor v = output.toTensor();
  JF_CHECK(v.sizes() == x.sizes(), "the TorchScript module '", path_, "' returned shape ",
           v.sizes(), " for x of shape ", x.sizes(), "; forward(x, t) must return v of x's shape");
  return v;
}

}  // namespace jointflow
