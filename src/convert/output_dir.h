// The directory a conversion writes. It is checked before any work, filled as a staging
// directory beside it, and moved into place only once every file in it is complete and synced,
// so a failed or interrupted conversion never leaves a partial model under the output's name,
// and replacing an output (--force) keeps the old one until the new one is whole.
#pragma once

#include <filesystem>
#include <string>

namespace mxlm::convert {

class OutputDir {
 public:
  // Throws mxlm::Error when `path` cannot become the output (see check).
  OutputDir(const std::string& path, bool replace, const std::string& source);
  // Removes the staging directory unless it was committed.
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  // `path` made absolute and normal ("out/" and "out/." are "out"). Throws mxlm::Error naming
  // it when it exists (unless `replace`, and then it must be a directory), when it is the
  // directory `source` or holds it, or when the directory it would be created in cannot be
  // written to.
  static std::filesystem::path check(const std::string& path, bool replace, const std::string& source);

  // Creates the missing parent directories and an empty staging directory, and returns it.
  const std::filesystem::path& stage();
  // Syncs the staging directory and moves it to the output's place; an old output is moved
  // aside first and removed once the new one is in place.
  void commit();

 private:
  std::filesystem::path path_, staging_;
  bool replace_ = false, committed_ = false;
};

}  // namespace mxlm::convert
