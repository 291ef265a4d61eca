#pragma once
// Where the agent's events go: the spool (and from there the server), or a local EVE file.

#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "mimamori/core/eve.h"
#include "mimamori/host/collector.h"
#include "mimamori/uplink/spool.h"
#include "mimamori/uplink/uplink.h"

namespace mimamori::agent {

/// Events into the durable spool; checkpoints committed with them.
class SpoolSink : public host::EventSink {
 public:
  explicit SpoolSink(uplink::Spool& spool) : spool_(spool) {}
  void set_uplink(uplink::Uplink* up) { uplink_ = up; }
  void emit(const core::Event& e) override {
    std::lock_guard lock(mu_);
    line_.clear();
    core::append_eve(e, line_);
    spool_.append(line_);
    ++pending_;
    ++emitted_;
  }
  void checkpoint(std::string_view source, std::string_view pos) override {
    std::lock_guard lock(mu_);
    checkpoints_[std::string(source)] = std::string(pos);
  }
  std::string position(std::string_view source) override { return spool_.checkpoint(source); }
  /// Commits what was emitted (and the checkpoints) in one durable batch.
  void flush() {
    std::lock_guard lock(mu_);
    if (auto st = spool_.commit(checkpoints_); !st) {
      spdlog::error("{}", st.error().message);
      return;
    }
    checkpoints_.clear();
    if (pending_ && uplink_) uplink_->notify();
    pending_ = 0;
  }
  uint64_t emitted() const { return emitted_; }

 private:
  uplink::Spool& spool_;
  uplink::Uplink* uplink_ = nullptr;
  std::mutex mu_;
  std::string line_;
  std::map<std::string, std::string> checkpoints_;
  uint64_t pending_ = 0;
  uint64_t emitted_ = 0;
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
