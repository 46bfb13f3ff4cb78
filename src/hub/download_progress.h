// Progress of a multi-file download, shown on stderr: on a terminal, one bar per file in
// flight and a total bar, redrawn in place at most ten times a second; otherwise (logs, CI)
// one plain line when a file starts and when it ends. Safe to call from several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace mxlm::hub {

// "1.5 GB", "320 kB", "12 B": decimal units, as the hub shows sizes.
std::string format_bytes(uint64_t bytes);

enum class ProgressStyle {
  kNone,   // say nothing (tests, library callers with their own display)
  kLines,  // one line per file started and finished (not a terminal)
  kBars,   // bars redrawn in place (a terminal)
};

// kBars when stderr is a terminal, else kLines.
ProgressStyle progress_style_for_stderr();

class DownloadProgress {
 public:
  // `total_bytes`: the sum of the sizes of the files to fetch.
  DownloadProgress(size_t files, uint64_t total_bytes, ProgressStyle style);
  ~DownloadProgress();

  // Returns a slot id for update/finish.
  int start(const std::string& name, uint64_t size);
  void update(int slot, uint64_t done);
  void finish(int slot);
  // A line printed above the bars (retries, warnings).
  void note(const std::string& line);

 private:
  struct Slot {
    std::string name;
    uint64_t size = 0;
    uint64_t done = 0;
    uint64_t initial = 0;  // bytes already on disk when it started (a resume)
    bool reported = false;
    bool active = false;
  };
  void redraw(bool force);  // with mutex_ held
  void clear();             // with mutex_ held

  std::mutex mutex_;
  std::vector<Slot> slots_;
  size_t files_ = 0;
  size_t finished_ = 0;
  uint64_t total_bytes_ = 0;
  uint64_t finished_bytes_ = 0;
  ProgressStyle style_;
  int lines_drawn_ = 0;
  std::chrono::steady_clock::time_point started_, last_draw_;
};

}  // namespace mxlm::hub
