#include "mimamori/uplink/spool_sink.h"

#include <spdlog/spdlog.h>

#include "mimamori/core/eve.h"

namespace mimamori::uplink {
namespace {

// The value of "event_type" in one EVE line (the writer puts it near the front), or empty.
std::string_view event_type_of(std::string_view line) {
  constexpr std::string_view kKey = "\"event_type\":\"";
  auto k = line.find(kKey);
  if (k == std::string_view::npos) return {};
  auto b = k + kKey.size();
  auto e = line.find('"', b);
  return e == std::string_view::npos ? std::string_view{} : line.substr(b, e - b);
}

}  // namespace

SpoolSink::SpoolSink(Spool& spool, Uplink* uplink, Options options)
    : spool_(spool), uplink_(uplink), options_(std::move(options)) {
  buffer_.reserve(1 << 16);
  moving_.reserve(1 << 16);
}

SpoolSink::~SpoolSink() { stop_committer(); }

// Called with mu_ held.
void SpoolSink::append_line(std::string_view type, std::string_view line) {
  if (options_.types && !options_.types->contains(type)) return;
  if (options_.buffer_max_bytes && buffer_.size() + line.size() + 1 > options_.buffer_max_bytes) {
    // The disk is far behind: count what cannot wait rather than grow without bound.
    ++overflow_dropped_;
    return;
  }
  buffer_.append(line);
  buffer_.push_back('\n');
  ++emitted_;
  auto it = spooled_.find(type);
  if (it == spooled_.end()) it = spooled_.emplace(std::string(type), 0).first;
  ++it->second;
}

void SpoolSink::write(std::string_view lines) {
  std::lock_guard lock(mu_);
  while (!lines.empty()) {
    auto nl = lines.find('\n');
    std::string_view line = lines.substr(0, nl);
    lines.remove_prefix(nl == std::string_view::npos ? lines.size() : nl + 1);
    if (line.empty()) continue;
    append_line(event_type_of(line), line);
  }
}

void SpoolSink::emit(const core::Event& e) {
  std::lock_guard lock(mu_);
  line_.clear();
  core::append_eve(e, line_);
  append_line(e.event_type, line_);
}

void SpoolSink::checkpoint(std::string_view source, std::string_view position) {
  std::lock_guard lock(mu_);
  checkpoints_[std::string(source)] = std::string(position);
}

std::string SpoolSink::position(std::string_view source) const { return spool_.checkpoint(source); }

void SpoolSink::commit() {
  std::lock_guard commit_lock(commit_mu_);
  uint64_t lost = 0;
  std::map<std::string, std::string> checkpoints;
  {
    std::lock_guard lock(mu_);
    lost = overflow_dropped_ - overflow_reported_;
    overflow_reported_ = overflow_dropped_;
    if (!buffer_.empty()) buffer_.swap(moving_);
    checkpoints.swap(checkpoints_);
  }
  if (lost) {
    // Into the spool's loss counter, so the next heartbeat tells the server, not just the log.
    spool_.count_lost(lost);
    spdlog::warn("uplink: {} events dropped: the buffer before the spool was full ({} MB)", lost,
                 options_.buffer_max_bytes >> 20);
  }
  if (moving_.empty() && checkpoints.empty() && !options_.commit_when_idle) return;
  bool events = !moving_.empty();
  std::string_view rest = moving_;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    spool_.append(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  moving_.clear();
  if (auto st = spool_.commit(checkpoints); !st) {
    // The batch stays pending in the spool and is retried with the next commit; so do the
    // checkpoints (unless a newer one came meanwhile).
    spdlog::error("{}", st.error().message);
    std::lock_guard lock(mu_);
    checkpoints_.merge(checkpoints);
    return;
  }
  if (events && uplink_) uplink_->notify();
}

void SpoolSink::start_committer(std::chrono::milliseconds interval) {
  committer_ = std::thread([this, interval] {
    std::unique_lock lock(wake_mu_);
    while (!stop_) {
      wake_.wait_for(lock, interval, [this] { return stop_; });
      lock.unlock();
      commit();
      lock.lock();
    }
  });
}

void SpoolSink::stop_committer() {
  {
    std::lock_guard lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (committer_.joinable()) committer_.join();
}

uint64_t SpoolSink::emitted() const {
  std::lock_guard lock(mu_);
  return emitted_;
}

std::string SpoolSink::spooled_by_type() const {
  std::lock_guard lock(mu_);
  std::string types;
  for (const auto& [t, n] : spooled_)
    types += (types.empty() ? "" : ", ") + t + " " + std::to_string(n);
  return types;
}

uint64_t SpoolSink::dropped_pending() const {
  std::lock_guard lock(mu_);
  return overflow_dropped_ - overflow_reported_;
}

}  // namespace mimamori::uplink
