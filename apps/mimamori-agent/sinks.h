#pragma once
// Where the agent's events go: the spool (uplink::SpoolSink, and from there the server), or a
// local EVE file.

#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "mimamori/core/eve.h"
#include "mimamori/host/collector.h"
#include "mimamori/uplink/spool.h"
#include "mimamori/uplink/spool_sink.h"
#include "mimamori/uplink/uplink.h"

namespace mimamori::agent {

/// The collectors' view of uplink::SpoolSink: events into the durable spool, checkpoints
/// committed with them, every flush() a durable batch (a failed one retried at the next).
class SpoolEvents : public host::EventSink {
 public:
  SpoolEvents(uplink::Spool& spool, uplink::Uplink& up)
      : sink_(spool, &up,
              {.types = std::nullopt, .buffer_max_bytes = 0, .commit_when_idle = true}) {}
  void emit(const core::Event& e) override { sink_.emit(e); }
  void checkpoint(std::string_view source, std::string_view pos) override {
    sink_.checkpoint(source, pos);
  }
  std::string position(std::string_view source) override { return sink_.position(source); }
  /// Commits what was emitted (and the checkpoints) in one durable batch.
  void flush() { sink_.commit(); }
  uint64_t emitted() const { return sink_.emitted(); }

 private:
  uplink::SpoolSink sink_;
};

/// Events appended to a local EVE file (offline use); checkpoints in a file beside the state.
class EveFileSink : public host::EventSink {
 public:
  EveFileSink(FILE* out, std::filesystem::path checkpoint_file)
      : out_(out), checkpoint_file_(std::move(checkpoint_file)) {
    FILE* f = std::fopen(checkpoint_file_.c_str(), "r");
    if (!f) return;
    char key[4096], value[4096];
    while (std::fscanf(f, "%4095s %4095s", key, value) == 2) checkpoints_[key] = value;
    std::fclose(f);
  }
  void emit(const core::Event& e) override {
    std::lock_guard lock(mu_);
    line_.clear();
    core::append_eve(e, line_);
    line_ += '\n';
    std::fwrite(line_.data(), 1, line_.size(), out_);
    ++emitted_;
  }
  void checkpoint(std::string_view source, std::string_view pos) override {
    std::lock_guard lock(mu_);
    auto& v = checkpoints_[std::string(source)];
    if (v != pos) dirty_ = true;
    v = pos;
  }
  std::string position(std::string_view source) override {
    std::lock_guard lock(mu_);
    auto it = checkpoints_.find(std::string(source));
    return it == checkpoints_.end() ? std::string() : it->second;
  }
  void flush() {
    std::lock_guard lock(mu_);
    std::fflush(out_);
    if (!dirty_) return;
    std::string tmp = checkpoint_file_.string() + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      // Keys and values have no spaces: paths are written as given, cursors are opaque tokens.
      for (const auto& [k, v] : checkpoints_) std::fprintf(f, "%s %s\n", k.c_str(), v.c_str());
      std::fclose(f);
      std::rename(tmp.c_str(), checkpoint_file_.c_str());
    }
    dirty_ = false;
  }
  uint64_t emitted() const { return emitted_; }

 private:
  FILE* out_;
  std::filesystem::path checkpoint_file_;
  std::mutex mu_;
  std::string line_;
  std::map<std::string, std::string> checkpoints_;
  bool dirty_ = false;
  uint64_t emitted_ = 0;
};

}  // namespace mimamori::agent
