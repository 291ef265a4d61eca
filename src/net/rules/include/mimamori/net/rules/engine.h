#pragma once
/// RuleEngine: a loaded rule set compiled for matching — one Vectorscan prefilter database per
/// buffer and direction fed with each rule's fast pattern (single packets: per transport,
/// direction, port or ICMP-type group and payload size class), rules without a usable pattern kept
/// in per-context lists, IP-only rules in an address interval index — and RuleDetector, the
/// per-worker net::Detector that evaluates candidates fully and emits alerts.

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mimamori/core/result.h"
#include "mimamori/match/pattern_set.h"
#include "mimamori/net/detect.h"
#include "mimamori/net/rules/loader.h"

namespace mimamori::net::rules {

/// The version of the compiled form; part of the database cache key.
inline constexpr std::string_view kEngineVersion = "mimamori-rules-1";

/// How a RuleEngine is built.
struct EngineOptions {
  /// Folder for serialised prefilter databases (created if missing); empty: no cache.
  std::filesystem::path cache_dir;
  /// Evaluation priority of each action, indexed by Action (lower first): Suricata's
  /// `action-order`, by default pass, drop, reject, alert. A matching pass rule ends the
  /// inspection of the rules after it.
  std::array<uint8_t, 4> action_rank = {3, 1, 2, 0};
  /// Suricata's `packet-alert-max`: alerts written per packet at most (in evaluation order);
  /// the actions of the rest still apply.
  uint32_t packet_alert_max = 15;
};

/// Parses an `action-order` list ("drop", "pass", "reject", "alert", each once; missing ones
/// keep their default order after the named ones) into EngineOptions::action_rank.
core::Result<std::array<uint8_t, 4>> parse_action_order(const std::vector<std::string>& names);

/// Counters of one engine build.
struct EngineStats {
  std::size_t rules = 0;
  std::size_t prefiltered = 0;  ///< rules reached through a fast pattern
  std::size_t always = 0;       ///< rules without a usable pattern (checked in their context)
  std::size_t ip_only = 0;      ///< rules that look at addresses only
  std::size_t databases = 0;
  std::size_t cache_hits = 0;  ///< databases read from the cache instead of compiled
};

/// Where a rule is evaluated.
enum class Context : uint8_t {
  kPacket,  ///< each packet (payload rules on UDP/ICMP, packet-only checks, header rules)
  kStream,  ///< reassembled TCP data
  kApp,     ///< app-layer transactions (rules with sticky buffers or app-layer headers)
  kCount
};

/// A compiled, immutable rule set; shared by the RuleDetector of every worker.
class RuleEngine {
 public:
  /// Compiles `set` (takes its signatures). Errors name the rule or database that failed.
  static core::Result<std::shared_ptr<const RuleEngine>> build(RuleSet set,
                                                               const EngineOptions& options = {});
  ~RuleEngine();

  const std::vector<Signature>& signatures() const { return sigs_; }
  /// The options it was built with.
  const EngineOptions& options() const { return options_; }
  const EngineStats& stats() const { return stats_; }
  std::size_t flowbit_count() const { return flowbit_count_; }
  std::size_t flowint_count() const { return flowint_count_; }

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  RuleEngine();
  std::vector<Signature> sigs_;
  EngineStats stats_;
  EngineOptions options_;
  std::size_t flowbit_count_ = 0, flowint_count_ = 0;
  std::unique_ptr<Impl> impl_;
};

/// The engine in force, shared by every worker's detector; a reload builds a new engine
/// elsewhere and swaps it in here. Detectors pick it up between two packets.
class EngineSlot {
 public:
  explicit EngineSlot(std::shared_ptr<const RuleEngine> engine) : engine_(std::move(engine)) {}
  /// The current engine.
  std::shared_ptr<const RuleEngine> get() const {
    std::lock_guard lock(mu_);
    return engine_;
  }
  /// Replaces the engine; detectors switch on their next packet.
  void set(std::shared_ptr<const RuleEngine> engine) {
    {
      std::lock_guard lock(mu_);
      engine_ = std::move(engine);
    }
    generation_.fetch_add(1, std::memory_order_release);
  }
  /// Bumped by every set().
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const RuleEngine> engine_;
  std::atomic<uint64_t> generation_{0};
};

/// Counters of one detector.
struct DetectorStats {
  uint64_t packets = 0;
  uint64_t candidates = 0;  ///< rules evaluated fully
  uint64_t alerts = 0;
  uint64_t drops = 0;
  uint64_t suppressed = 0;      ///< matches held back by threshold / detection_filter
  uint64_t tagged_packets = 0;  ///< packets tagged by a `tag` option of an earlier alert
};

/// The rule engine as a pipeline detector (one per worker thread).
class RuleDetector : public net::Detector {
 public:
  explicit RuleDetector(std::shared_ptr<const RuleEngine> engine);
  /// A detector that follows `slot` (live reload).
  explicit RuleDetector(std::shared_ptr<const EngineSlot> slot);
  ~RuleDetector() override;

  std::string_view name() const override { return "rules"; }
  void on_packet(const Packet& packet, DetectContext& ctx) override;
  void on_stream(const StreamChunk& chunk, DetectContext& ctx) override;
  void on_app(const AppEvent& event, DetectContext& ctx) override;
  void on_flow_end(Flow& flow) override;

  /// Replaces the engine (live reload); flow state made for the old engine is reset lazily.
  void set_engine(std::shared_ptr<const RuleEngine> engine);
  const DetectorStats& stats() const { return stats_; }

  struct State;

 private:
  void inspect_seam(const StreamChunk& chunk, DetectContext& ctx);
  void handle_tags(const Packet& packet, DetectContext& ctx);

  std::shared_ptr<const RuleEngine> engine_;
  std::shared_ptr<const EngineSlot> slot_;
  uint64_t slot_generation_ = 0;
  std::unique_ptr<State> state_;
  DetectorStats stats_;
};

}  // namespace mimamori::net::rules
