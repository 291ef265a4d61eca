#include "commands.h"

#include <filesystem>

#include "mimamori/core/log.h"
#include "mimamori/net/rules/control_socket.h"

namespace mimamori::sensor {

std::unique_ptr<net::EveSink> open_eve_sink(const core::Config& config, const std::string& log_dir,
                                            bool uplink, std::string& where) {
  std::string filetype = config.get<std::string>("outputs.eve.filetype", "regular");
  if (!config.get<bool>("outputs.eve.enabled", true)) {
    if (!uplink)
      throw core::ConfigError(
          "outputs.eve.enabled is false and no uplink is configured: "
          "the sensor would write its events nowhere");
    where = "no EVE file";
    return nullptr;
  }
  if (filetype == "stdout") {
    where = "standard output";
    return net::make_stdout_sink();
  }
  if (filetype == "unix_stream") {
    where = config.get<std::string>("outputs.eve.filename", "eve.sock");
    auto s = net::open_unix_sink(where);
    if (!s) throw core::ConfigError(s.error().message);
    return std::move(*s);
  }
  if (filetype == "regular") {
    where = (std::filesystem::path(log_dir) /
             config.get<std::string>("outputs.eve.filename", "eve.json"))
                .string();
    auto s = net::open_file_sink(where, config.get<uint64_t>("outputs.eve.rotate-size", 0),
                                 config.get<int>("outputs.eve.rotate-keep", 5));
    if (!s) throw core::ConfigError(s.error().message);
    return std::move(*s);
  }
  throw core::ConfigError("outputs.eve.filetype: expected regular, stdout or unix_stream, got '" +
                          filetype + "'");
}

void print_summary(std::FILE* out, const std::vector<std::string>& sources,
                   const net::PipelineStats& total, const std::string& where) {
  const auto& d = total.decode;
  std::string inputs = sources.size() == 1 ? sources[0] : std::to_string(sources.size()) + " files";
  std::fprintf(out,
               "%s: %llu packets, %llu bytes, %llu invalid, %llu flows (tcp %llu, udp %llu), "
               "%llu alerts, %llu drops, %llu events\n",
               inputs.c_str(), static_cast<unsigned long long>(d.pkts),
               static_cast<unsigned long long>(d.bytes), static_cast<unsigned long long>(d.invalid),
               static_cast<unsigned long long>(total.flows_created),
               static_cast<unsigned long long>(total.flows_tcp),
               static_cast<unsigned long long>(total.flows_udp),
               static_cast<unsigned long long>(total.alerts),
               static_cast<unsigned long long>(total.drops),
               static_cast<unsigned long long>(total.events));
  std::fprintf(out, "app-layer flows: http %llu, dns %llu, tls %llu, ssh %llu; wrote %s\n",
               static_cast<unsigned long long>(total.app_flows[1]),
               static_cast<unsigned long long>(total.app_flows[2]),
               static_cast<unsigned long long>(total.app_flows[3]),
               static_cast<unsigned long long>(total.app_flows[4]), where.c_str());
}

// `rules update`: prints what was installed, or logs the failing step.
int rules_update(const core::Config& config, const net::rules::RulesUpdateOptions& options) {
  auto r = net::rules::update_rules(config, options);
  if (!r) {
    spdlog::error("rules update: {}; the installed rules are unchanged", r.error().message);
    return 1;
  }
  std::printf(
      "rules update: %zu of %zu enabled rules load (%zu rule files) from %s; installed in %s\n",
      r->loaded, r->enabled, r->rule_files, options.url.c_str(), r->folder.c_str());
  std::printf("send SIGHUP or `--control SOCKET reload-rules` to a running sensor to use them\n");
  return 0;
}

// `--control SOCKET COMMAND`: sends the command to a running sensor and prints its answer.
int send_command(const std::string& path, const std::string& command) {
  auto answer = net::rules::send_control(path, command);
  if (!answer) {
    std::fprintf(stderr, "mimamori-sensor: %s\n", answer.error().message.c_str());
    return 1;
  }
  std::fputs(answer->c_str(), stdout);
  return answer->starts_with("ok") ? 0 : 1;
}

}  // namespace mimamori::sensor
