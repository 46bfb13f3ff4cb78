#include "hub/download_progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <unistd.h>

namespace mxlm::hub {
namespace {

constexpr int kBarWidth = 24;
constexpr size_t kNameWidth = 32;

std::string bar(uint64_t done, uint64_t size) {
  const int filled = size == 0 ? kBarWidth : int(double(std::min(done, size)) / double(size) * kBarWidth);
  std::string text(kBarWidth + 2, '.');
  text.front() = '[';
  text.back() = ']';
  std::fill_n(text.begin() + 1, filled, '#');
  return text;
}

int percent(uint64_t done, uint64_t size) {
  return size == 0 ? 100 : int(double(std::min(done, size)) * 100.0 / double(size));
}

// Long names keep their end, which is the part that tells shards apart.
std::string fit_name(const std::string& name) {
  if (name.size() <= kNameWidth) return name;
  std::string text = "...";
  text.append(name, name.size() - (kNameWidth - 3));
  return text;
}

}  // namespace

std::string format_bytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double v = double(bytes);
  int unit = 0;
  while (v >= 1000.0 && unit < 4) {
    v /= 1000.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, kUnits[unit]);
}

ProgressStyle progress_style_for_stderr() { return isatty(STDERR_FILENO) ? ProgressStyle::kBars : ProgressStyle::kLines; }

DownloadProgress::DownloadProgress(size_t files, uint64_t total_bytes, ProgressStyle style)
    : files_(files), total_bytes_(total_bytes), style_(style), started_(std::chrono::steady_clock::now()) {}

DownloadProgress::~DownloadProgress() {
  std::lock_guard lock(mutex_);
  redraw(true);
}

int DownloadProgress::start(const std::string& name, uint64_t size) {
  std::lock_guard lock(mutex_);
  slots_.push_back({name, size, 0, 0, false, true});
  if (style_ == ProgressStyle::kLines) std::fprintf(stderr, "fetching %s (%s)\n", name.c_str(), format_bytes(size).c_str());
  redraw(true);
  return int(slots_.size() - 1);
}

void DownloadProgress::update(int slot, uint64_t done) {
  std::lock_guard lock(mutex_);
  Slot& s = slots_[size_t(slot)];
  // The first report of a file is what a resume found on disk; speed counts only new bytes.
  if (!s.reported) s.initial = done;
  s.reported = true;
  s.done = done;
  redraw(false);
}

void DownloadProgress::finish(int slot) {
  std::lock_guard lock(mutex_);
  Slot& s = slots_[size_t(slot)];
  s.active = false;
  s.done = s.size;
  ++finished_;
  finished_bytes_ += s.size;
  if (style_ == ProgressStyle::kLines) std::fprintf(stderr, "done %s\n", s.name.c_str());
  redraw(true);
}

void DownloadProgress::note(const std::string& line) {
  std::lock_guard lock(mutex_);
  if (style_ == ProgressStyle::kNone) return;
  clear();
  std::fprintf(stderr, "%s\n", line.c_str());
  redraw(true);
}

void DownloadProgress::clear() {
  if (style_ != ProgressStyle::kBars || lines_drawn_ == 0) return;
  // Up to the first bar line, then erase to the end of the screen.
  std::fprintf(stderr, "\x1b[%dF\x1b[J", lines_drawn_);
  lines_drawn_ = 0;
}

void DownloadProgress::redraw(bool force) {
  if (style_ != ProgressStyle::kBars) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  std::string text;
  uint64_t done = finished_bytes_, fresh = 0;
  int lines = 0;
  for (const Slot& s : slots_) {
    fresh += s.done - std::min(s.initial, s.done);
    if (!s.active) continue;
    done += s.done;
    text += fmt::format("\x1b[2K{:<{}} {} {:3}% {} / {}\n", fit_name(s.name), kNameWidth, bar(s.done, s.size),
                        percent(s.done, s.size), format_bytes(s.done), format_bytes(s.size));
    ++lines;
  }
  const double seconds = std::max(std::chrono::duration<double>(now - started_).count(), 1e-3);
  text += fmt::format("\x1b[2K{:<{}} {} {:3}% {} / {}  {}/s\n", fmt::format("total ({}/{} files)", finished_, files_),
                      kNameWidth, bar(done, total_bytes_), percent(done, total_bytes_), format_bytes(done),
                      format_bytes(total_bytes_), format_bytes(uint64_t(double(fresh) / seconds)));
  ++lines;
  if (lines_drawn_ > 0) std::fprintf(stderr, "\x1b[%dF", lines_drawn_);
  std::fputs(text.c_str(), stderr);
  // Erase lines left over from a taller previous frame.
  std::fputs("\x1b[J", stderr);
  std::fflush(stderr);
  lines_drawn_ = lines;
}

}  // namespace mxlm::hub
