#include "uplink_output.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace mimamori::sensor {
UplinkSettings UplinkSettings::from_config(const core::Config& cfg) {
  UplinkSettings s;
  if (!cfg.get<bool>("uplink.enabled", cfg.has("uplink.credential"))) return s;
  s.credential = cfg.get<std::string>("uplink.credential", "/etc/mimamori/sensor.credential");
  s.spool_dir = cfg.get<std::string>("uplink.spool_dir", "/var/lib/mimamori-sensor/spool");
  s.spool_max_mb = cfg.get<uint64_t>("uplink.spool_max_mb", 256);
  std::vector<std::string> defaults(std::begin(kDefaultUplinkTypes), std::end(kDefaultUplinkTypes));
  // A YAML list, or (as --set gives it) one string: "alert,dns" or "[alert,dns]".
  for (const auto& t : cfg.list("uplink.event_types", defaults)) {
    if (std::find(std::begin(kDefaultUplinkTypes), std::end(kDefaultUplinkTypes), t) ==
        std::end(kDefaultUplinkTypes))
      spdlog::warn("uplink.event_types: '{}' is not a type the sensor writes", t);
    s.types.insert(t);
  }
  s.commit_interval_ms = cfg.get<int>("uplink.commit_interval_ms", 200);
  s.drain_timeout_s = cfg.get<int>("uplink.drain_timeout_s", 30);
  if (s.spool_max_mb < 1) throw core::ConfigError("uplink.spool_max_mb: expected at least 1");
  if (s.commit_interval_ms < 1 || s.commit_interval_ms > 60000)
    throw core::ConfigError("uplink.commit_interval_ms: expected 1..60000, got " +
                            std::to_string(s.commit_interval_ms));
  if (s.drain_timeout_s < 0) throw core::ConfigError("uplink.drain_timeout_s: expected >= 0");
  return s;
}

core::Result<std::unique_ptr<UplinkOutput>> UplinkOutput::start(
    const UplinkSettings& settings, const core::Config& cfg, std::unique_ptr<net::EveSink> file) {
  auto cred = uplink::load_credential(settings.credential);
  if (!cred) return std::move(cred).error();
  if (cred->kind != "sensor")
    spdlog::warn("credential '{}' was enrolled as '{}', not as a sensor", settings.credential,
                 cred->kind);
  uplink::SpoolOptions so;
  so.dir = settings.spool_dir;
  so.max_bytes = settings.spool_max_mb << 20;
  auto spool = uplink::Spool::open(so);
  if (!spool) return std::move(spool).error();
  auto options = uplink::options_from_config(cfg, "0.1.0");
  options.heartbeat_extra = settings.heartbeat_extra;
  std::unique_ptr<UplinkOutput> out(new UplinkOutput(settings, std::move(file), std::move(*spool)));
  out->uplink_ = std::make_unique<uplink::Uplink>(*cred, *out->spool_, options);
  if (settings.on_config) out->uplink_->on_config(settings.on_config);
  auto s = out->spool_->stats();
  spdlog::info("uplink to {}: spool '{}' holds {} events not yet acknowledged", cred->server_url,
               settings.spool_dir, s.depth);
  uplink::SpoolSink::Options events;
  events.types = settings.types;
  events.buffer_max_bytes = settings.buffer_max_bytes;
  out->events_ = std::make_unique<uplink::SpoolSink>(*out->spool_, out->uplink_.get(), events);
  UplinkOutput* self = out.get();
  self->sender_ = std::thread([self] { self->uplink_->run(self->stop_uplink_); });
  self->events_->start_committer(std::chrono::milliseconds(settings.commit_interval_ms));
  return out;
}

UplinkOutput::UplinkOutput(UplinkSettings settings, std::unique_ptr<net::EveSink> file,
                           std::unique_ptr<uplink::Spool> spool)
    : settings_(std::move(settings)), file_(std::move(file)), spool_(std::move(spool)) {}

UplinkOutput::~UplinkOutput() { finish(); }

void UplinkOutput::write(std::string_view lines) {
  if (file_) file_->write(lines);
  events_->write(lines);
}

void UplinkOutput::flush() {
  if (file_) file_->flush();
  events_->commit();
}

void UplinkOutput::finish(const std::function<bool()>& give_up) {
  if (finished_) return;
  finished_ = true;
  events_->stop_committer();
  flush();
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(settings_.drain_timeout_s);
  if (uint64_t depth = spool_->stats().depth; depth > 0 && settings_.drain_timeout_s > 0)
    spdlog::info(
        "uplink: waiting up to {} s for the server to take {} events (interrupt again "
        "to stop now: they stay in the spool)",
        settings_.drain_timeout_s, depth);
  while (spool_->stats().depth > 0 && std::chrono::steady_clock::now() < deadline) {
    if (give_up && give_up()) break;
    uplink_->notify();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop_uplink_.store(true);
  uplink_->notify();
  if (sender_.joinable()) sender_.join();
  auto s = spool_->stats();
  if (s.depth)
    spdlog::warn("uplink: {} events not yet acknowledged stay in the spool for the next start",
                 s.depth);
}

std::string UplinkOutput::summary() const {
  auto s = spool_->stats();
  auto u = uplink_->stats();
  std::string types = events_->spooled_by_type();
  uint64_t overflow = events_->dropped_pending();
  return "uplink: spooled " + (types.empty() ? std::string("nothing") : types) + "; acknowledged " +
         std::to_string(u.events_acked) + ", spool depth " + std::to_string(s.depth) +
         ", dropped " + std::to_string(s.dropped + overflow);
}

}  // namespace mimamori::sensor
