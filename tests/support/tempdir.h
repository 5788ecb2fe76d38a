// A scratch directory for one test, removed with its contents at the end of the scope.
#pragma once

#include <string>

namespace jointflow::testing_support {

class TempDir {
 public:
  // Collective when `shared` is true: rank 0 creates the directory and broadcasts its name.
  explicit TempDir(bool shared = false);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
  bool owner_ = true;
  bool shared_ = false;
};

}  // namespace jointflow::testing_support
