// Trainer checkpoints (DESIGN §6): a LibTorch archive holding the format tag, config hash, step,
// the model's parameters and buffers (by name), the EMA shadow and the optimizer state, followed
// by a 16-byte trailer — "JFCKPT01" and the FNV-1a 64 digest of the archive's bytes — because
// LibTorch's zip reader does not check the stored values. The step is the only random state:
// every draw is keyed by it (counter_rng.h).
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "distributed/agreement.h"
#include "io/result_file.h"
#include "training/trainer.h"

namespace jointflow {

namespace fs = std::filesystem;
using detail::concat;

namespace {

constexpr const char* kFormat = "jointflow checkpoint 1";
constexpr char kTrailerMagic[8] = {'J', 'F', 'C', 'K', 'P', 'T', '0', '1'};
constexpr size_t kTrailerSize = sizeof(kTrailerMagic) + sizeof(uint64_t);

// The archive's bytes followed by the trailer.
void write_with_trailer(const std::string& path, const std::string& archive) {
  const uint64_t digest = fnv1a(archive);
  char trailer[kTrailerSize];
  std::memcpy(trailer, kTrailerMagic, sizeof(kTrailerMagic));
  for (size_t i = 0; i < sizeof(uint64_t); ++i)
    trailer[sizeof(kTrailerMagic) + i] = static_cast<char>(digest >> (8 * i));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(archive.data(), static_cast<std::streamsize>(archive.size()));
  out.write(trailer, kTrailerSize);
  out.close();
  JF_CHECK(out.good(), "cannot write checkpoint file '", path, "' (disk full or not writable?)");
}

// The archive's bytes of a file written by write_with_trailer; `where` names it in errors.
std::string read_verified(const std::string& path, const std::string& where) {
  std::ifstream in(path, std::ios::binary);
  JF_CHECK(in.good(), "cannot resume: ", where, " cannot be opened");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string advice = "; restore a good copy or delete it to start afresh";
  JF_CHECK(bytes.size() >= kTrailerSize && std::memcmp(bytes.data() + bytes.size() - kTrailerSize,
                                                       kTrailerMagic, sizeof(kTrailerMagic)) == 0,
           "cannot resume from ", where,
           ": the file is truncated or not a jointflow checkpoint (no trailer)", advice);
  uint64_t stored = 0;
  for (size_t i = 0; i < sizeof(uint64_t); ++i)
    stored |= uint64_t{static_cast<unsigned char>(bytes[bytes.size() - sizeof(uint64_t) + i])}
              << (8 * i);
  bytes.resize(bytes.size() - kTrailerSize);
  JF_CHECK(fnv1a(bytes) == stored, "cannot resume from ", where,
           ": the file is corrupt (its checksum does not match its content)", advice);
  return bytes;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : "\n") + name;
  return text;
}

// Named tensors as "<prefix>/names" (newline-separated) and "<prefix>/<i>".
void write_tensors(torch::serialize::OutputArchive& archive, const std::string& prefix,
                   const std::vector<std::string>& names, const std::vector<at::Tensor>& tensors) {
  archive.write(prefix + "/names", c10::IValue(joined(names)));
  for (size_t i = 0; i < tensors.size(); ++i)
    archive.write(concat(prefix, "/", i), tensors[i].detach(), /*is_buffer=*/true);
}

// Reads what write_tensors wrote and checks it against the model's tensors `like` (same names,
// shapes and dtypes); `where` names the file in errors.
std::vector<at::Tensor> read_tensors(torch::serialize::InputArchive& archive,
                                     const std::string& prefix,
                                     const std::vector<std::string>& names,
                                     const std::vector<at::Tensor>& like,
                                     const std::string& where) {
  c10::IValue stored_names;
  JF_CHECK(archive.try_read(prefix + "/names", stored_names) && stored_names.isString(), where,
           " has no '", prefix, "' section; it is not a checkpoint of this trainer");
  JF_CHECK(stored_names.toStringRef() == joined(names), where, " holds ", prefix, " named [",
           stored_names.toStringRef(), "] but the model has [", joined(names),
           "]; it was written for another model");
  std::vector<at::Tensor> tensors(like.size());
  for (size_t i = 0; i < like.size(); ++i) {
    JF_CHECK(archive.try_read(concat(prefix, "/", i), tensors[i], /*is_buffer=*/true), where,
             " lacks ", prefix, " '", names[i], "'; the file is corrupt");
    JF_CHECK(
        tensors[i].sizes() == like[i].sizes() && tensors[i].scalar_type() == like[i].scalar_type(),
        where, " holds ", prefix, " '", names[i], "' as ", tensors[i].scalar_type(),
        tensors[i].sizes(), " but the model has ", like[i].scalar_type(), like[i].sizes(),
        "; it was written for another model");
  }
  return tensors;
}

template <typename Dict>
void split(const Dict& dict, std::vector<std::string>& names, std::vector<at::Tensor>& tensors) {
  for (const auto& item : dict) {
    names.push_back(item.key());
    tensors.push_back(item.value());
  }
}

}  // namespace

void Trainer::save(const std::string& path) {
  run_agreed(comm_, [&] {
    if (!comm_.is_root()) return;
    check_output_path(path, "the checkpoint path");
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(std::string(kFormat)));
    archive.write("config_hash", c10::IValue(config_hash_));
    archive.write("step", c10::IValue(step_));
    archive.write("loss_history", at::tensor(loss_history_, at::kDouble), /*is_buffer=*/true);
    std::vector<std::string> names;
    std::vector<at::Tensor> tensors;
    split(model_.named_parameters(), names, tensors);
    write_tensors(archive, "parameters", names, tensors);
    names.clear();
    tensors.clear();
    split(model_.named_buffers(), names, tensors);
    write_tensors(archive, "buffers", names, tensors);
    if (!ema_.empty()) write_tensors(archive, "ema", names_, ema_);
    torch::serialize::OutputArchive optimizer(archive.compilation_unit());
    optimizer_->save(optimizer);
    archive.write("optimizer", optimizer);

    std::ostringstream bytes;
    try {
      archive.save_to(bytes);
    } catch (const c10::Error& error) {
      throw Error(concat("cannot serialize checkpoint '", path,
                         "': ", first_line(error.what_without_backtrace())));
    }
    const fs::path final_path(path);
    const std::string temporary =
        (final_path.parent_path() / concat(".", final_path.filename().string(), ".tmp-", getpid()))
            .string();
    try {
      write_with_trailer(temporary, bytes.str());
    } catch (const Error&) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw;
    }
    std::error_code renamed;
    fs::rename(temporary, final_path, renamed);
    if (renamed) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw Error(concat("cannot rename checkpoint '", temporary, "' to '", path,
                         "': ", renamed.message()));
    }
    log::debug(options_.label(), ": checkpoint of step ", step_, " written to '", path, "'");
  });
}

void Trainer::resume(const std::string& path) {
  const std::string where = concat("checkpoint '", path, "'");
  std::vector<std::string> parameter_names, buffer_names;
  std::vector<at::Tensor> parameters, buffers;
  split(model_.named_parameters(), parameter_names, parameters);
  split(model_.named_buffers(), buffer_names, buffers);
  std::vector<at::Tensor> loaded_parameters, loaded_buffers, loaded_ema;
  int64_t loaded_step = 0;
  std::vector<double> loaded_history;
  std::unique_ptr<torch::optim::Optimizer> loaded_optimizer = make_optimizer();

  // Everything is read and checked before anything changes, on every rank.
  run_agreed(comm_, [&] {
    std::error_code error;
    JF_CHECK(fs::is_regular_file(path, error), "cannot resume: ", where,
             " does not exist or is not a file");
    std::istringstream bytes(read_verified(path, where));
    torch::serialize::InputArchive archive;
    try {
      archive.load_from(bytes, trained_[0].device());
    } catch (const c10::Error& failure) {
      throw Error(concat("cannot resume from ", where, ": the file is corrupt (",
                         first_line(failure.what_without_backtrace()),
                         "); restore a good copy or delete it to start afresh"));
    }
    try {
      c10::IValue format, hash, step;
      JF_CHECK(archive.try_read("format", format) && format.isString() &&
                   format.toStringRef() == kFormat,
               "cannot resume: ", where, " is not a jointflow checkpoint (format '", kFormat, "')");
      JF_CHECK(archive.try_read("config_hash", hash) && hash.isString(), where,
               " has no config hash; the file is corrupt");
      JF_CHECK(hash.toStringRef() == config_hash_, "cannot resume: ", where,
               " was written for configuration hash '", hash.toStringRef(), "' but this run's is '",
               config_hash_,
               "'; resume with the same configuration, or delete the checkpoint to start afresh");
      JF_CHECK(archive.try_read("step", step) && step.isInt() && step.toInt() >= 0, where,
               " has no valid step; the file is corrupt");
      loaded_step = step.toInt();
      JF_CHECK(loaded_step <= options_.steps(), "cannot resume: ", where, " is at step ",
               loaded_step, ", past the ", options_.steps(),
               " steps of this run; train longer (train.steps, train.epochs) or start afresh");
      at::Tensor history;
      if (archive.try_read("loss_history", history, /*is_buffer=*/true)) {
        JF_CHECK(history.dim() == 1 && history.size(0) == loaded_step &&
                     history.scalar_type() == at::kDouble,
                 where, " holds a loss history of ", history.numel(), " steps at step ",
                 loaded_step, "; the file is corrupt");
        history = history.cpu().contiguous();
        loaded_history.assign(history.data_ptr<double>(), history.data_ptr<double>() + loaded_step);
      } else {
        loaded_history.assign(loaded_step, std::nan(""));  // written before histories were kept
      }
      loaded_parameters = read_tensors(archive, "parameters", parameter_names, parameters, where);
      loaded_buffers = read_tensors(archive, "buffers", buffer_names, buffers, where);
      if (!ema_.empty()) loaded_ema = read_tensors(archive, "ema", names_, ema_, where);
      torch::serialize::InputArchive optimizer;
      JF_CHECK(archive.try_read("optimizer", optimizer), where,
               " has no optimizer state; the file is corrupt");
      loaded_optimizer->load(optimizer);
    } catch (const c10::Error& failure) {
      throw Error(concat("cannot resume from ", where, ": the file is corrupt (",
                         first_line(failure.what_without_backtrace()), ")"));
    }
  });

  at::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(loaded_parameters[i]);
  for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(loaded_buffers[i]);
  for (size_t i = 0; i < ema_.size(); ++i) ema_[i].copy_(loaded_ema[i]);
  optimizer_ = std::move(loaded_optimizer);
  step_ = loaded_step;
  loss_history_ = std::move(loaded_history);
  log::info(options_.label(), ": resumed from '", path, "' at step ", step_);
}

void load_trained_model(const std::string& path, torch::nn::Module& model, bool use_ema) {
  const std::string where = concat("checkpoint '", path, "'");
  std::error_code error;
  JF_CHECK(fs::is_regular_file(path, error), where,
           " does not exist: train the model first (or fix the path)");
  std::vector<std::string> parameter_names, buffer_names;
  std::vector<at::Tensor> parameters, buffers;
  split(model.named_parameters(), parameter_names, parameters);
  split(model.named_buffers(), buffer_names, buffers);
  JF_CHECK(!parameters.empty(), "internal: loading ", where, " into a model without parameters");
  std::istringstream bytes(read_verified(path, where));
  torch::serialize::InputArchive archive;
  std::vector<at::Tensor> loaded_parameters, loaded_buffers;
  try {
    archive.load_from(bytes, parameters[0].device());
    c10::IValue format;
    JF_CHECK(
        archive.try_read("format", format) && format.isString() && format.toStringRef() == kFormat,
        where, " is not a jointflow checkpoint (format '", kFormat, "')");
    loaded_parameters =
        read_tensors(archive, use_ema ? "ema" : "parameters", parameter_names, parameters, where);
    loaded_buffers = read_tensors(archive, "buffers", buffer_names, buffers, where);
  } catch (const c10::Error& failure) {
    throw Error(concat("cannot load ", where, ": the file is corrupt (",
                       first_line(failure.what_without_backtrace()), ")"));
  }
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(loaded_parameters[i]);
  for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(loaded_buffers[i]);
}

}  // namespace jointflow
