// `-q`: the sensor inline on NFQUEUE queues, an IPS whose every packet gets a verdict.

#include <cstdio>

#include "commands.h"
#include "mimamori/core/log.h"
#include "mimamori/net/workers.h"
#include "run.h"
#include "uplink_output.h"

namespace mimamori::sensor {

int run_inline(const Args& a, const core::Config& config, net::PipelineOptions opt,
               net::EveSink& sink, const std::string& where, UplinkOutput* uplink_out,
               std::FILE* human) {
  auto queues = net::parse_queue_spec(a.queue);
  if (!queues) throw core::ConfigError(queues.error().message);
  opt.ips = true;
  // The kernel has checked what it forwards; offloading leaves checksums unfilled.
  if (a.checksum == "auto") opt.checksums = net::ChecksumMode::kNone;
  opt.in_iface = "nfq";
  auto iopt = net::InlineOptions::from_config(config, *queues);
  net::rules::RuleService rules(config, a.rules);
  Behaviour behaviour(config, opt);
  auto sensor = net::InlineSensor::open(iopt, [&](int i) {
    return std::make_unique<net::Pipeline>(opt, behaviour.detectors(rules, i), &sink);
  });
  if (!sensor) {
    spdlog::error("{}", sensor.error().message);
    return 1;
  }
  RuleControl control(rules, a.control);
  {
    std::lock_guard l(g_inline_mu);
    g_inline = sensor->get();
  }
  core::Timestamp started = core::now();
  auto write_stats = [&](const net::PipelineStats& ps, const net::InlineStats& is) {
    net::CaptureStats cs;
    cs.packets = is.accepted + is.dropped + is.fail_open_accepted + is.handoff_full;
    cs.kernel_drops = is.kernel_queue_dropped + is.kernel_user_dropped;
    core::Fields more;
    is.append_to(more);
    behaviour.append_stats(more);
    net::write_stats_record(sink, ps, cs, started, opt.format, &more);
    sink.flush();  // inline, what was found reaches the disk each interval
  };
  (*sensor)->run(g_stop, config.get<int64_t>("stats.interval", 8) * 1'000'000, write_stats);
  net::PipelineStats total = (*sensor)->pipeline_stats();
  net::InlineStats is = (*sensor)->stats();
  {
    std::lock_guard l(g_inline_mu);
    g_inline = nullptr;
    g_inline_final = is.json_member();
  }
  sensor->reset();  // unbinds the queues: the firewall's bypass takes over
  write_stats(total, is);
  sink.flush();
  if (uplink_out) {
    int seen = g_signals.load();
    uplink_out->finish([seen] { return g_signals.load() > seen; });
  }
  spdlog::info("stopped by signal; queues unbound, all output flushed");
  print_summary(human, {"queue " + a.queue}, total, where);
  std::fprintf(
      human,
      "inline: %llu accepted, %llu dropped (%llu rejected, %llu flows marked), %llu "
      "fail-open events\n",
      static_cast<unsigned long long>(is.accepted), static_cast<unsigned long long>(is.dropped),
      static_cast<unsigned long long>(is.rejected), static_cast<unsigned long long>(is.flow_marked),
      static_cast<unsigned long long>(is.fail_open_events));
  if (uplink_out) std::fprintf(human, "%s\n", uplink_out->summary().c_str());
  return 0;
}

}  // namespace mimamori::sensor
